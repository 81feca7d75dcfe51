package cudaemu

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Emu controls the emulated driver loaded in this process (the same library instance the backend uses).
type Emu struct {
	// Path is the library's path.
	Path string

	fail        func(kind int32, nth int64, how int32)
	disarm      func()
	setDelays   func(stream, kernel int64)
	delays      func(stream, kernel *int64)
	count       func(what int32) int64
	setPools    func(supported int32)
	pools       func() int32
	messages    func(buf *byte, n int64) int64
	kernelNames func(buf *byte, n int64) int64

	expectViolations, expectLeaks atomic.Int64
}

// Fault is a kind of call Fail makes fail.
type Fault int32

// The faults: a failed allocation, stream, event or pinned host block is CUDA_ERROR_OUT_OF_MEMORY, a
// failed module load CUDA_ERROR_NO_BINARY_FOR_GPU; launches fail as a LaunchFailure says.
const (
	FaultAlloc     Fault = 1 // cuMemAlloc and cuMemAllocAsync (one count for both)
	FaultLaunch    Fault = 2 // cuLaunchKernel (use FailLaunch)
	FaultModule    Fault = 3 // cuModuleLoadData
	FaultStream    Fault = 4 // cuStreamCreate
	FaultEvent     Fault = 5 // cuEventCreate
	FaultHostAlloc Fault = 6 // cuMemHostAlloc
)

// LaunchFailure is how a failing launch fails.
type LaunchFailure int32

const (
	// AtLaunch: cuLaunchKernel returns CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES and queues nothing.
	AtLaunch LaunchFailure = 1
	// AtSync: the launch succeeds, the kernel does not run, and the next synchronisation in the context
	// returns CUDA_ERROR_LAUNCH_FAILED, once.
	AtSync LaunchFailure = 2
	// Sticky: when the kernel would run, the context fails with CUDA_ERROR_ILLEGAL_ADDRESS, and so does
	// every later call in it until its last release destroys it.
	Sticky LaunchFailure = 3
)

// Fail makes the nth call of kind from now fail (nth = 1: the next one); nth = 0 disarms it.
func (e *Emu) Fail(kind Fault, nth int) { e.fail(int32(kind), int64(nth), int32(AtLaunch)) }

// FailLaunch makes the nth cuLaunchKernel from now fail as how says.
func (e *Emu) FailLaunch(nth int, how LaunchFailure) {
	e.fail(int32(FaultLaunch), int64(nth), int32(how))
}

// Disarm disarms every fault.
func (e *Emu) Disarm() { e.disarm() }

// SetDelays sets the stream delay (every queued item runs no earlier than this after it was queued)
// and the extra time every kernel takes, for work queued from now on. A negative value leaves that one.
func (e *Emu) SetDelays(stream, kernel time.Duration) {
	us := func(d time.Duration) int64 {
		if d < 0 {
			return -1
		}
		return d.Microseconds()
	}
	e.setDelays(us(stream), us(kernel))
}

// Delays reports the stream delay and the extra time per kernel.
func (e *Emu) Delays() (stream, kernel time.Duration) {
	var s, k int64
	e.delays(&s, &k)
	return time.Duration(s) * time.Microsecond, time.Duration(k) * time.Microsecond
}

// SetMemoryPools sets whether the devices support memory pools (CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED;
// GPUACT_CUDAEMU_POOLS=0 switches them off from cuInit on). Without them cuDeviceGetDefaultMemPool,
// cuMemAllocAsync, cuMemFreeAsync and the pool attribute and trim calls return CUDA_ERROR_NOT_SUPPORTED,
// so the backend must fall back to cuMemAlloc. A device never changes it: switch it only while no backend
// is open (no pool allocation live). Require restores it when the test ends.
func (e *Emu) SetMemoryPools(supported bool) {
	v := int32(0)
	if supported {
		v = 1
	}
	e.setPools(v)
}

// MemoryPools reports whether the devices support memory pools.
func (e *Emu) MemoryPools() bool { return e.pools() != 0 }

// Counter is something Count reports.
type Counter int32

// The counters: violations and leaks since the process started, live handles now.
//
// Device memory from the pools (cuMemAllocAsync) counts in UsedBytes, as what the pools reserve: live
// allocations and the freed blocks they keep, which the device cannot hand out either (cuMemGetInfo
// agrees). LiveAllocs, Allocs and Frees count cuMemAlloc and cuMemFree only; the Pool counters and
// LivePoolAllocs count the pools'.
const (
	Violations     Counter = 0  // misuses: bad pointers, double frees, wrong or no context, ...
	LiveAllocs     Counter = 1  // cuMemAlloc not yet freed (not pool allocations)
	LiveHostAllocs Counter = 2  // cuMemHostAlloc not yet freed
	LiveStreams    Counter = 3  // streams not yet destroyed
	LiveEvents     Counter = 4  // events not yet destroyed
	LiveModules    Counter = 5  // modules not yet unloaded
	LiveContexts   Counter = 6  // primary contexts retained
	Leaked         Counter = 7  // handles still live when their context was destroyed
	Launches       Counter = 8  // kernels run to completion
	Allocs         Counter = 9  // successful cuMemAlloc calls
	PageableHtoD   Counter = 10 // host-to-device copies from memory not from cuMemHostAlloc
	UsedBytes      Counter = 11 // device bytes allocated now: cuMemAlloc's and what the pools reserve
	Frees          Counter = 12 // successful cuMemFree calls
	PoolReserves   Counter = 13 // cuMemAllocAsync calls that reserved new device memory (no freed block reused)
	PoolAllocs     Counter = 14 // successful cuMemAllocAsync calls
	PoolFrees      Counter = 15 // successful cuMemFreeAsync calls
	PoolReserved   Counter = 16 // bytes the pools hold from their devices now: live allocations and freed blocks
	PoolUsed       Counter = 17 // bytes of live pool allocations now
	LivePoolAllocs Counter = 18 // cuMemAllocAsync not yet freed by cuMemFreeAsync
)

// Count reports c.
func (e *Emu) Count(c Counter) int64 { return e.count(int32(c)) }

// Live is every live handle, by kind, for messages; zero everywhere means nothing is held. Freed blocks
// a pool keeps are not handles: they go with the context (its last release).
type Live struct{ Allocs, PoolAllocs, HostAllocs, Streams, Events, Modules, Contexts int64 }

// Live reports the live handles.
func (e *Emu) Live() Live {
	return Live{e.Count(LiveAllocs), e.Count(LivePoolAllocs), e.Count(LiveHostAllocs), e.Count(LiveStreams), e.Count(LiveEvents),
		e.Count(LiveModules), e.Count(LiveContexts)}
}

func (l Live) String() string {
	return fmt.Sprintf("%d allocations, %d pool allocations, %d pinned host blocks, %d streams, %d events, %d modules, %d contexts",
		l.Allocs, l.PoolAllocs, l.HostAllocs, l.Streams, l.Events, l.Modules, l.Contexts)
}

// Messages is the emulator's log: every violation and leak report, one a line.
func (e *Emu) Messages() string { return readString(e.messages) }

// KernelNames are the kernels the emulator can run.
func (e *Emu) KernelNames() []string { return strings.Fields(readString(e.kernelNames)) }

// ExpectViolations records that a test provoked n violations on purpose (the emulator's own tests), so
// Main's final check does not count them.
func (e *Emu) ExpectViolations(n int) { e.expectViolations.Add(int64(n)) }

// ExpectLeaks records that a test leaked n handles on purpose.
func (e *Emu) ExpectLeaks(n int) { e.expectLeaks.Add(int64(n)) }

func readString(f func(*byte, int64) int64) string {
	n := f(nil, 0)
	buf := make([]byte, n)
	f(&buf[0], n)
	return string(buf[:n-1])
}

// check is Main's final check: no violation or leak but those expected, and nothing left live.
func (e *Emu) check() error {
	var problems []string
	if v, want := e.Count(Violations), e.expectViolations.Load(); v != want {
		problems = append(problems, fmt.Sprintf("%d violations (%d provoked on purpose)", v, want))
	}
	if l, want := e.Count(Leaked), e.expectLeaks.Load(); l != want {
		problems = append(problems, fmt.Sprintf("%d handles leaked (%d on purpose)", l, want))
	}
	if live := e.Live(); live != (Live{}) {
		problems = append(problems, "still live at exit: "+live.String())
	}
	if problems == nil {
		return nil
	}
	return fmt.Errorf("the emulated CUDA driver reports %s\n%s", strings.Join(problems, "; "), e.Messages())
}
