// The emulator's state, its configuration from the environment, the checks every entry point shares,
// and the cudaemu_* controls the Go tests call (fault injection, delays, counters, messages).
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "emu.h"

State &S() {
    static State *s = new State; // never destroyed: workers may still run while the process exits
    return *s;
}

uint64_t new_handle(uint64_t tag) { return tag << 48 | S().next_serial++; }

static void logf(const char *kind, const char *fmt, va_list ap) {
    State &st = S();
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (st.log.size() < 400) st.log.push_back(std::string(kind) + buf);
}

void violation(const char *fmt, ...) {
    S().counts[COUNT_VIOLATIONS]++;
    va_list ap;
    va_start(ap, fmt);
    logf("violation: ", fmt, ap);
    va_end(ap);
}

void note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    logf("", fmt, ap);
    va_end(ap);
}

bool fault(FaultKind k) {
    long &n = S().fault_nth[k];
    if (n == 0) return false;
    if (--n == 0) return true;
    return false;
}

// ---- configuration ----

static long env_long(const char *name, long def) {
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    long x = strtol(v, &end, 0);
    if (*end) {
        fprintf(stderr, "cudaemu: %s=%s is not a number; using %ld\n", name, v, def);
        return def;
    }
    return x;
}

// load_config reads GPUACT_CUDAEMU_* (cuInit calls it once; see ../doc.go for the list).
void load_config() {
    State &st = S();
    Config &c = st.cfg;
    c.devices = (int)env_long("GPUACT_CUDAEMU_DEVICES", c.devices);
    if (const char *v = getenv("GPUACT_CUDAEMU_NAME"); v && *v) c.name = v;
    c.sms = (int)env_long("GPUACT_CUDAEMU_SMS", c.sms);
    c.memory = (size_t)env_long("GPUACT_CUDAEMU_MEMORY", (long)c.memory);
    if (const char *v = getenv("GPUACT_CUDAEMU_CC"); v && *v) {
        if (sscanf(v, "%d.%d", &c.cc_major, &c.cc_minor) != 2) fprintf(stderr, "cudaemu: GPUACT_CUDAEMU_CC=%s is not major.minor\n", v);
    }
    c.delay_us = env_long("GPUACT_CUDAEMU_DELAY_US", c.delay_us);
    c.kernel_delay_us = env_long("GPUACT_CUDAEMU_KERNEL_DELAY_US", c.kernel_delay_us);
    c.fail_init = (CUresult)env_long("GPUACT_CUDAEMU_FAIL_INIT", 0);
    c.pools = env_long("GPUACT_CUDAEMU_POOLS", c.pools) != 0;
    st.fault_nth[FAULT_ALLOC] = env_long("GPUACT_CUDAEMU_FAIL_ALLOC", 0);
    st.fault_nth[FAULT_MODULE] = env_long("GPUACT_CUDAEMU_FAIL_MODULE", 0);
    st.fault_nth[FAULT_STREAM] = env_long("GPUACT_CUDAEMU_FAIL_STREAM", 0);
    st.fault_nth[FAULT_EVENT] = env_long("GPUACT_CUDAEMU_FAIL_EVENT", 0);
    st.fault_nth[FAULT_HOST_ALLOC] = env_long("GPUACT_CUDAEMU_FAIL_HOST_ALLOC", 0);
    if (const char *v = getenv("GPUACT_CUDAEMU_FAIL_LAUNCH"); v && *v) { // N:how
        long n = 0;
        int how = FAIL_AT_LAUNCH;
        if (sscanf(v, "%ld:%d", &n, &how) < 1) fprintf(stderr, "cudaemu: GPUACT_CUDAEMU_FAIL_LAUNCH=%s is not N[:how]\n", v);
        st.fault_nth[FAULT_LAUNCH] = n;
        st.launch_how = how;
    }
    if (c.devices < 0) c.devices = 0;
    if (c.sms < 1) c.sms = 1;
    st.devices.assign(c.devices, Device{});
    st.used.assign(c.devices, 0);
    st.pools.clear();
    for (int d = 0; d < c.devices; d++) { // made even when unsupported: cudaemu_set_pools may switch them on
        st.pools.emplace_back(new Pool);
        st.pools.back()->handle = new_handle(TAG_POOL);
        st.pools.back()->device = d;
    }
    st.next_dev = DEV_BASE;
}

// ---- the checks ----

thread_local uint64_t tls_ctx = 0; // the context current on this thread (cuCtxSetCurrent)

Context *current(const char *call, CUresult *err) {
    State &st = S();
    if (!st.initialized) {
        violation("%s before cuInit", call);
        *err = CUDA_ERROR_NOT_INITIALIZED;
        return nullptr;
    }
    if (tls_ctx == 0) {
        violation("%s with no context current on the calling thread", call);
        *err = CUDA_ERROR_INVALID_CONTEXT;
        return nullptr;
    }
    auto it = st.contexts.find(tls_ctx);
    if (it == st.contexts.end()) {
        violation("%s with a destroyed context (%#llx) current", call, (unsigned long long)tls_ctx);
        *err = CUDA_ERROR_CONTEXT_IS_DESTROYED;
        return nullptr;
    }
    return it->second;
}

// containing returns the entry of m whose [start, start+size) holds p, or m.end().
template <typename M, typename K, typename F> static typename M::iterator containing(M &m, K p, F size) {
    auto it = m.upper_bound(p);
    if (it == m.begin()) return m.end();
    --it;
    return p - it->first < size(it->second) ? it : m.end();
}

Mem *dev_range(Context *ctx, const char *call, const char *arg, uint64_t p, size_t bytes, char **host) {
    State &st = S();
    auto it = containing(st.mem, p, [](Mem *m) { return m->bytes; });
    if (it == st.mem.end()) {
        auto f = containing(st.freed, p, [](size_t n) { return n; });
        if (f != st.freed.end())
            violation("%s: %s %#llx is in an allocation already freed (use after free)", call, arg, (unsigned long long)p);
        else
            violation("%s: %s %#llx is not device memory from cuMemAlloc or cuMemAllocAsync", call, arg, (unsigned long long)p);
        return nullptr;
    }
    Mem *m = it->second;
    if (bytes > m->bytes - (p - m->dev)) {
        violation("%s: %s [%#llx, +%zu) runs past the end of its allocation [%#llx, +%zu)", call, arg, (unsigned long long)p, bytes,
                  (unsigned long long)m->dev, m->bytes);
        return nullptr;
    }
    if (m->ctx != ctx) {
        violation("%s: %s %#llx belongs to another context", call, arg, (unsigned long long)p);
        return nullptr;
    }
    *host = m->host + (p - m->dev);
    return m;
}

Mem *host_range(const char *call, const char *arg, const void *p, size_t bytes, bool *bad) {
    State &st = S();
    uintptr_t a = (uintptr_t)p;
    *bad = false;
    if (p == nullptr && bytes > 0) {
        violation("%s: %s is NULL", call, arg);
        *bad = true;
        return nullptr;
    }
    if (a >= DEV_BASE && a < st.next_dev) {
        violation("%s: %s %#llx is a device address, not host memory", call, arg, (unsigned long long)a);
        *bad = true;
        return nullptr;
    }
    auto it = containing(st.pinned, a, [](Mem *m) { return m->bytes; });
    if (it == st.pinned.end()) return nullptr; // pageable
    Mem *m = it->second;
    if (bytes > m->bytes - (a - it->first)) {
        violation("%s: %s [%p, +%zu) runs past the end of its cuMemHostAlloc block", call, arg, p, bytes);
        *bad = true;
        return nullptr;
    }
    return m;
}

// ---- the controls (internal/cudaemu binds them with purego) ----

// cudaemu_fail arms a fault: the nth call of kind from now fails (nth 0 disarms it). For launches, how
// is a LaunchFailure.
CUAPI void cudaemu_fail(int kind, long nth, int how) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (kind <= 0 || kind >= FAULT_KINDS) return;
    st.fault_nth[kind] = nth;
    if (kind == FAULT_LAUNCH) st.launch_how = how;
}

// cudaemu_disarm disarms every fault.
CUAPI void cudaemu_disarm(void) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    for (long &n : st.fault_nth) n = 0;
}

// cudaemu_set_delays sets the stream delay and the extra time of every kernel, in microseconds (negative:
// leave as is). They apply to work queued from then on.
CUAPI void cudaemu_set_delays(long stream_us, long kernel_us) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (stream_us >= 0) st.cfg.delay_us = stream_us;
    if (kernel_us >= 0) st.cfg.kernel_delay_us = kernel_us;
}

// cudaemu_delays reports the stream delay and kernel delay, in microseconds.
CUAPI void cudaemu_delays(long *stream_us, long *kernel_us) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    *stream_us = st.cfg.delay_us;
    *kernel_us = st.cfg.kernel_delay_us;
}

// cudaemu_set_pools sets whether devices support memory pools (CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED;
// GPUACT_CUDAEMU_POOLS at cuInit): without them every pool call is CUDA_ERROR_NOT_SUPPORTED, so a caller
// must fall back to cuMemAlloc. A device never changes that: switch it off only while no pool allocation
// is live (no backend open), or cuMemFreeAsync refuses to free it.
CUAPI void cudaemu_set_pools(int supported) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    st.cfg.pools = supported != 0;
}

// cudaemu_pools reports whether devices support memory pools.
CUAPI int cudaemu_pools(void) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    return st.cfg.pools;
}

// cudaemu_count reports one Counter.
CUAPI long cudaemu_count(int what) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    long reserved = 0, used = 0, live = 0;
    for (auto &p : st.pools) {
        reserved += (long)p->reserved;
        used += (long)p->used;
        live += p->live;
    }
    switch (what) {
    case COUNT_LIVE_ALLOCS: return (long)st.mem.size() - live; // st.mem holds live pool blocks too
    case COUNT_POOL_RESERVED: return reserved;
    case COUNT_POOL_USED: return used;
    case COUNT_LIVE_POOL_ALLOCS: return live;
    case COUNT_LIVE_HOST_ALLOCS: return (long)st.pinned.size();
    case COUNT_LIVE_STREAMS: return (long)st.streams.size();
    case COUNT_LIVE_EVENTS: return (long)st.events.size();
    case COUNT_LIVE_MODULES: return (long)st.modules.size();
    case COUNT_LIVE_CONTEXTS: return (long)st.contexts.size();
    case COUNT_USED_BYTES: {
        long n = 0;
        for (size_t u : st.used) n += (long)u;
        return n;
    }
    }
    return what >= 0 && what < COUNT_KINDS ? st.counts[what] : -1;
}

// copy_out copies s into buf (at most len bytes, NUL-terminated) and returns the length s needs.
static long copy_out(const std::string &s, char *buf, long len) {
    if (buf && len > 0) {
        size_t n = std::min((size_t)len - 1, s.size());
        memcpy(buf, s.data(), n);
        buf[n] = 0;
    }
    return (long)s.size() + 1;
}

// cudaemu_messages copies the log (violations and leak reports, one a line) into buf.
CUAPI long cudaemu_messages(char *buf, long len) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    std::string s;
    for (auto &l : st.log) s += l + "\n";
    return copy_out(s, buf, len);
}

// cudaemu_kernel_names copies the names of the kernels the emulator can run, one a line, into buf.
CUAPI long cudaemu_kernel_names(char *buf, long len) { return copy_out(kernel_names(), buf, len); }
