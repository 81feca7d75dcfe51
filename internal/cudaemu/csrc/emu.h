// The emulated CUDA driver's shared state (see ../doc.go for what the emulator is and is not).
//
// Everything lives in one State guarded by one mutex: calls are rare next to the work they queue, and a
// single lock keeps the checks (is this pointer live? is that stream of the current context?) simple
// and exact. Stream workers drop the lock while they sleep, copy and run kernels.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

// Only the driver entry points and the cudaemu_* controls are exported (the build hides the rest).
#define CUAPI extern "C" __attribute__((visibility("default")))

typedef int CUresult;
enum : CUresult {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_IMAGE = 200,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_NOT_READY = 600,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
    CUDA_ERROR_CONTEXT_IS_DESTROYED = 709,
    CUDA_ERROR_LAUNCH_FAILED = 719,
    CUDA_ERROR_NOT_SUPPORTED = 801,
    CUDA_ERROR_UNKNOWN = 999,
};

using Clock = std::chrono::steady_clock;

// What cudaemu_fail arms (and GPUACT_CUDAEMU_FAIL_* set): the Nth call of a kind, counted from then.
enum FaultKind { FAULT_ALLOC = 1, FAULT_LAUNCH = 2, FAULT_MODULE = 3, FAULT_STREAM = 4, FAULT_EVENT = 5, FAULT_HOST_ALLOC = 6, FAULT_KINDS };
// How a launch fails: at the call, at the next synchronisation, or stickily when it runs.
enum LaunchFailure { FAIL_AT_LAUNCH = 1, FAIL_ASYNC = 2, FAIL_STICKY = 3 };

// What cudaemu_count reports.
enum Counter {
    COUNT_VIOLATIONS = 0,
    COUNT_LIVE_ALLOCS = 1,       // cuMemAlloc not yet freed (pool allocations are COUNT_LIVE_POOL_ALLOCS)
    COUNT_LIVE_HOST_ALLOCS = 2,  // cuMemHostAlloc not yet freed
    COUNT_LIVE_STREAMS = 3,
    COUNT_LIVE_EVENTS = 4,
    COUNT_LIVE_MODULES = 5,
    COUNT_LIVE_CONTEXTS = 6,
    COUNT_LEAKED = 7,            // handles still live when their context was destroyed (last primary release)
    COUNT_LAUNCHES = 8,          // kernels run to completion
    COUNT_ALLOCS = 9,            // successful cuMemAlloc calls
    COUNT_PAGEABLE_HTOD = 10,    // host-to-device copies from pageable (not cuMemHostAlloc) memory
    COUNT_USED_BYTES = 11,       // device bytes allocated now, all devices: cuMemAlloc's and what pools reserve
    COUNT_FREES = 12,            // successful cuMemFree calls
    COUNT_POOL_RESERVES = 13,    // cuMemAllocAsync calls that reserved new device memory (no freed block to reuse)
    COUNT_POOL_ALLOCS = 14,      // successful cuMemAllocAsync calls
    COUNT_POOL_FREES = 15,       // successful cuMemFreeAsync calls
    COUNT_POOL_RESERVED = 16,    // bytes pools hold from their devices now (live, freeing and freed blocks), all devices
    COUNT_POOL_USED = 17,        // bytes of live pool allocations now, all devices
    COUNT_LIVE_POOL_ALLOCS = 18, // cuMemAllocAsync not yet freed by cuMemFreeAsync
    COUNT_KINDS
};

struct Context;
struct Event;
struct Pool;
struct Stream;

// Mem is one allocation: device memory from cuMemAlloc or a pool's block (cuMemAllocAsync), or pinned host
// memory from cuMemHostAlloc.
struct Mem {
    uint64_t dev = 0;     // the device address handed out (0 for host memory)
    char *host = nullptr; // where the bytes live
    size_t bytes = 0;
    bool pinned = false;
    Context *ctx = nullptr;
    Pool *pool = nullptr; // set: a block of this pool (cuMemAllocAsync), live or not
    int pending = 0;      // queued work items that use it
    // pending by stream: cuMemFreeAsync may leave work of its own stream pending (stream order runs it
    // before the free), not work of another stream.
    std::unordered_map<const Stream *, int> users;
};

// Item is one piece of queued stream work.
struct Item {
    Clock::time_point ready;   // not before: enqueue time + the stream delay
    std::function<void()> run; // the copy or kernel; empty for an event marker
    std::vector<Mem *> uses;   // allocations it touches, pending until it is done
    int fail = 0;              // an injected LaunchFailure
    std::shared_ptr<Event> event;
    uint64_t gen = 0;         // the event's record this marker completes
    Mem *pool_free = nullptr; // a cuMemFreeAsync: the block goes back to its pool when the stream reaches it
    std::string what;         // for messages
};

struct Stream {
    uint64_t handle = 0; // 0: the context's NULL stream
    Context *ctx = nullptr;
    std::deque<Item> q;
    std::condition_variable qcv;
    uint64_t queued = 0, done = 0; // items enqueued and finished, ever
    bool stop = false;             // destroyed: finish the queue, then exit
    bool discard = false;          // context destroyed: drop the queue
    bool exited = false;
};

struct Event {
    uint64_t handle = 0;
    Context *ctx = nullptr;
    unsigned flags = 0;
    uint64_t gen = 0;     // records so far
    bool complete = true; // a never-recorded event is complete
    Clock::time_point when;
};

struct Kernel; // kernels.cc

struct Module {
    uint64_t handle = 0;
    Context *ctx = nullptr;
    std::map<std::string, uint64_t> functions;
};

struct Function {
    uint64_t handle = 0;
    Module *mod = nullptr;
    const Kernel *kernel = nullptr;
};

struct Context {
    uint64_t handle = 0;
    int device = 0;
    bool dead = false;
    CUresult sticky = 0;      // set: every later call in the context fails with it
    CUresult async_error = 0; // reported (once) by the next synchronisation
    std::shared_ptr<Stream> null_stream;
    std::vector<std::shared_ptr<Stream>> streams; // every stream whose worker may still run
};

struct Device {
    int refs = 0;               // primary context retains
    Context *primary = nullptr; // null while refs == 0
};

// Pool is a device's default memory pool (cuDeviceGetDefaultMemPool), the stream-ordered allocator's:
// cuMemAllocAsync hands out its blocks, device memory of the device's primary context (Mem with pool
// set). A block is live (in State::mem, like a cuMemAlloc allocation), freeing (cuMemFreeAsync was
// called but its stream has not reached the free: dead to new work, and not reusable, as work queued
// before the free may still use it), or freed (the free was reached: reusable by cuMemAllocAsync, and
// released back to the device above the release threshold at a synchronisation, by cuMemPoolTrimTo, or
// when an allocation would not fit otherwise). Every block counts in reserved and in State::used until
// it is released.
struct Pool {
    uint64_t handle = 0;
    int device = 0;
    uint64_t threshold = 0;            // CU_MEMPOOL_ATTR_RELEASE_THRESHOLD
    size_t reserved = 0;               // CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT: bytes of every block
    size_t used = 0;                   // CU_MEMPOOL_ATTR_USED_MEM_CURRENT: bytes of live blocks
    long live = 0;                     // live blocks
    std::unordered_set<Mem *> freeing; // freed, the free not yet reached
    std::deque<Mem *> freed;           // the free reached, oldest first (reused and released first)
};

struct Config {
    int devices = 2;
    std::string name = "gpuact cudaemu (emulated)";
    int sms = 4;
    size_t memory = size_t(1) << 30;
    int cc_major = 9, cc_minor = 0;
    long delay_us = 100;       // every stream item runs no earlier than this after it was queued
    long kernel_delay_us = 0;  // and every kernel takes this much longer
    CUresult fail_init = 0;
    bool pools = true; // CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED; off: the pool calls are CUDA_ERROR_NOT_SUPPORTED
};

struct State {
    std::mutex mu;
    std::condition_variable cv; // a stream item finished or a worker exited
    bool initialized = false;
    Config cfg;
    long fault_nth[FAULT_KINDS] = {}; // 0: disarmed; else fails when it counts down to 1
    int launch_how = FAIL_AT_LAUNCH;
    std::vector<Device> devices;
    std::unordered_map<uint64_t, Context *> contexts; // live ones
    std::map<uint64_t, Mem *> mem;                     // live device allocations by address
    std::map<uint64_t, size_t> freed;                  // freed device ranges, for use-after-free messages
    std::map<uintptr_t, Mem *> pinned;                 // live host allocations by host address
    std::unordered_map<uint64_t, std::shared_ptr<Stream>> streams;
    std::unordered_map<uint64_t, std::shared_ptr<Event>> events;
    std::unordered_map<uint64_t, Module *> modules;
    std::unordered_map<uint64_t, Function *> functions;
    std::vector<size_t> used; // device bytes allocated (by cuMemAlloc and pools), per device
    std::vector<std::unique_ptr<Pool>> pools; // each device's default pool (never moved: blocks point to it)
    uint64_t next_dev = 0;
    uint64_t next_serial = 1;
    long counts[COUNT_KINDS] = {};
    std::vector<std::string> log; // violations and leak reports, the first few hundred
};

// load_config reads the GPUACT_CUDAEMU_* variables (cuInit, once).
void load_config();

// The context current on the calling thread (cuCtxSetCurrent): a handle, 0 for none.
extern thread_local uint64_t tls_ctx;

// S is the one State, never destroyed (stream workers may outlive static destructors at exit).
State &S();

// Handle tags: handles are tag << 48 | serial, never reused and never valid addresses.
enum : uint64_t { TAG_CONTEXT = 0xC7C7, TAG_STREAM = 0x5757, TAG_EVENT = 0xE7E7, TAG_MODULE = 0x3D3D, TAG_FUNCTION = 0xF4F4, TAG_POOL = 0x9090 };
uint64_t new_handle(uint64_t tag); // lock held

// The first device address; addresses are handed out upwards from here, never reused. Bits 48..59 set:
// not a canonical address on x86-64 or arm64, so a Go-side dereference faults instead of passing.
constexpr uint64_t DEV_BASE = 0x0dd0000000000000ull;

// Bytes after every device allocation that must never be written (checked at free).
constexpr size_t REDZONE = 256;
constexpr unsigned char REDZONE_BYTE = 0xA5;

// Logging, with the lock held: a violation is a misuse the tests assert never happens.
void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// fault reports whether the armed fault of kind k fires on this call (lock held).
bool fault(FaultKind k);

// device checks cuInit and the device ordinal dev for call (lock held).
CUresult device(const char *call, int dev);

// current is the calling thread's current context, after cuInit; on misuse it counts a violation, sets
// *err and returns null (lock held).
Context *current(const char *call, CUresult *err);

// dev_range resolves device range [p, p+bytes) of ctx for call; a range outside one live allocation of ctx
// is a violation, and null is returned. *host is where p's bytes live.
Mem *dev_range(Context *ctx, const char *call, const char *arg, uint64_t p, size_t bytes, char **host);

// host_range checks host range [p, p+bytes) for call: it must not be a device address. It returns the
// pinned allocation holding it, or null for pageable memory (*bad set on a violation).
Mem *host_range(const char *call, const char *arg, const void *p, size_t bytes, bool *bad);

// stream_of resolves a stream handle of ctx (0: the NULL stream); null and *err set on misuse.
Stream *stream_of(Context *ctx, const char *call, uint64_t h, CUresult *err);

// enqueue queues item on s (lock held) and returns the sequence number it completes as.
uint64_t enqueue(Stream *s, Item item);

// wait_stream waits, dropping the lock, until s has finished item seq (or the context is sticky).
void wait_stream(std::unique_lock<std::mutex> &lk, Stream *s, uint64_t seq);

// sync_result is what a synchronising call returns once its wait is over: the sticky error, else the
// pending asynchronous error (which it clears).
CUresult sync_result(Context *ctx);

// new_stream makes a stream of ctx with its worker thread (lock held).
std::shared_ptr<Stream> new_stream(Context *ctx, uint64_t handle);

// destroy_context discards the context's queued work, waits for its workers, reports every handle still
// live in it as leaked and frees them (lock held; dropped while waiting).
void destroy_context(std::unique_lock<std::mutex> &lk, Context *ctx);

// new_dev_mem makes a device allocation of ctx, filled with garbage and followed by its red zone, and
// counts it in State::used, without registering it in State::mem (lock held). Null: it does not fit.
Mem *new_dev_mem(Context *ctx, size_t bytes);

// fill_garbage fills a device allocation the way fresh device memory looks, and writes its red zone.
void fill_garbage(Mem *m);

// redzone_intact reports whether nothing was written past m's end (a violation is counted otherwise;
// when says when the check ran, for the message).
bool redzone_intact(Mem *m, const char *when);

// release_mem frees an allocation that no queued work uses any more, a pool's block included: it goes back
// to the device (lock held).
void release_mem(Mem *m);

// The pools (pool.cc), lock held. pool_reached is the stream worker reaching a cuMemFreeAsync (it waits,
// dropping the lock, for work of other streams that still used the block); pool_sync releases the freed
// blocks of ctx's device's pool above its release threshold, as a synchronisation in ctx does; and
// pool_drop_context releases ctx's freeing and freed blocks silently when the context is destroyed
// (its live blocks are leaks, reported with cuMemAlloc's).
void pool_reached(std::unique_lock<std::mutex> &lk, Stream *s, Mem *m);
void pool_sync(Context *ctx);
void pool_drop_context(Context *ctx);

// wait_unused waits, dropping the lock, until no queued work uses m.
void wait_unused(std::unique_lock<std::mutex> &lk, Mem *m);

// The kernels (kernels.cc).
const Kernel *find_kernel(const char *name);
int kernel_max_threads(const Kernel *k);
// launch_kernel checks and copies kernelParams as the driver reads them (count and sizes from the kernel's
// signature), translates device pointers, and returns the work to queue; on misuse it returns an error
// code with a violation counted (lock held).
CUresult prepare_launch(Context *ctx, const Kernel *k, const unsigned grid[3], const unsigned block[3], void **params,
                        Item *item);
std::string kernel_names();
