//go:build (linux || darwin) && (amd64 || arm64)

package cudaemu

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The stream-ordered allocator's tests call the emulated driver directly: backend/cuda's binding
// (backend/cuda/internal/cu) is internal to the backend, and these tests are about the driver's side of
// the contract the backend relies on.

// driver holds the entry points the tests call, bound from the emulator's library.
type driver struct {
	cuInit                    func(flags uint32) int32
	cuGetErrorName            func(r int32, name **byte) int32
	cuDeviceGetAttribute      func(v *int32, attr, dev int32) int32
	cuDevicePrimaryCtxRetain  func(ctx *uint64, dev int32) int32
	cuDevicePrimaryCtxRelease func(dev int32) int32
	cuCtxSetCurrent           func(ctx uint64) int32
	cuCtxSynchronize          func() int32
	cuDeviceGetDefaultMemPool func(pool *uint64, dev int32) int32
	cuMemPoolSetAttribute     func(pool uint64, attr int32, v *uint64) int32
	cuMemPoolGetAttribute     func(pool uint64, attr int32, v *uint64) int32
	cuMemPoolTrimTo           func(pool uint64, keep uintptr) int32
	cuMemAllocAsync           func(p *uint64, bytes uintptr, stream uint64) int32
	cuMemFreeAsync            func(p, stream uint64) int32
	cuMemAlloc                func(p *uint64, bytes uintptr) int32
	cuMemFree                 func(p uint64) int32
	cuMemGetInfo              func(free, total *uintptr) int32
	cuMemsetD8Async           func(p uint64, v uint8, n uintptr, stream uint64) int32
	cuMemcpyDtoHAsync         func(dst unsafe.Pointer, src uint64, n uintptr, stream uint64) int32
	cuPointerGetAttribute     func(data unsafe.Pointer, attr int32, p uint64) int32
	cuStreamCreate            func(s *uint64, flags uint32) int32
	cuStreamDestroy           func(s uint64) int32
	cuStreamSynchronize       func(s uint64) int32
	cuStreamQuery             func(s uint64) int32
	cuEventCreate             func(e *uint64, flags uint32) int32
	cuEventRecord             func(e, s uint64) int32
	cuEventSynchronize        func(e uint64) int32
	cuEventDestroy            func(e uint64) int32
}

// The CUresults, attributes and counters the tests use.
const (
	cudaSuccess        = 0
	errInvalidValue    = 1
	errOutOfMemory     = 2
	errNotReady        = 600
	errNotSupported    = 801
	attrPoolsSupported = 115 // CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED

	poolReleaseThreshold = 4 // CU_MEMPOOL_ATTR_RELEASE_THRESHOLD
	poolReservedCurrent  = 5 // CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT
	poolUsedCurrent      = 7 // CU_MEMPOOL_ATTR_USED_MEM_CURRENT

	ptrContext   = 1  // CU_POINTER_ATTRIBUTE_CONTEXT
	ptrRangeSize = 12 // CU_POINTER_ATTRIBUTE_RANGE_SIZE
)

var (
	bindDriverOnce sync.Once
	boundDriver    *driver
	bindDriverErr  error
)

func bindDriver(path string) (*driver, error) {
	bindDriverOnce.Do(func() {
		lib, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			bindDriverErr = err
			return
		}
		d := &driver{}
		for name, fn := range map[string]any{
			"cuInit": &d.cuInit, "cuGetErrorName": &d.cuGetErrorName, "cuDeviceGetAttribute": &d.cuDeviceGetAttribute,
			"cuDevicePrimaryCtxRetain": &d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRelease_v2": &d.cuDevicePrimaryCtxRelease,
			"cuCtxSetCurrent": &d.cuCtxSetCurrent, "cuCtxSynchronize": &d.cuCtxSynchronize,
			"cuDeviceGetDefaultMemPool": &d.cuDeviceGetDefaultMemPool, "cuMemPoolSetAttribute": &d.cuMemPoolSetAttribute,
			"cuMemPoolGetAttribute": &d.cuMemPoolGetAttribute, "cuMemPoolTrimTo": &d.cuMemPoolTrimTo,
			"cuMemAllocAsync": &d.cuMemAllocAsync, "cuMemFreeAsync": &d.cuMemFreeAsync,
			"cuMemAlloc_v2": &d.cuMemAlloc, "cuMemFree_v2": &d.cuMemFree, "cuMemGetInfo_v2": &d.cuMemGetInfo,
			"cuMemsetD8Async": &d.cuMemsetD8Async, "cuMemcpyDtoHAsync_v2": &d.cuMemcpyDtoHAsync,
			"cuPointerGetAttribute": &d.cuPointerGetAttribute, "cuStreamQuery": &d.cuStreamQuery,
			"cuStreamCreate": &d.cuStreamCreate, "cuStreamDestroy_v2": &d.cuStreamDestroy,
			"cuStreamSynchronize": &d.cuStreamSynchronize, "cuEventCreate": &d.cuEventCreate, "cuEventRecord": &d.cuEventRecord,
			"cuEventSynchronize": &d.cuEventSynchronize, "cuEventDestroy_v2": &d.cuEventDestroy,
		} {
			purego.RegisterLibFunc(fn, lib, name)
		}
		boundDriver = d
	})
	return boundDriver, bindDriverErr
}

// poolTest is one test's view of the driver: device 0's primary context, current on the test's OS
// thread, and its default pool.
type poolTest struct {
	*driver
	t        *testing.T
	e        *Emu
	ctx      uint64
	pool     uint64
	retained bool
}

// openPool makes device 0's primary context current on the test's goroutine (locked to its OS thread
// until the test ends) and releases it when the test ends; that last release destroys the context.
func openPool(t *testing.T) *poolTest {
	t.Helper()
	e := Require(t)
	d, err := bindDriver(e.Path)
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	p := &poolTest{driver: d, t: t, e: e}
	p.must("cuInit", d.cuInit(0))
	p.must("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain(&p.ctx, 0))
	p.retained = true
	t.Cleanup(p.release)
	p.must("cuCtxSetCurrent", d.cuCtxSetCurrent(p.ctx))
	p.must("cuDeviceGetDefaultMemPool", d.cuDeviceGetDefaultMemPool(&p.pool, 0))
	return p
}

// release releases the primary context (once).
func (p *poolTest) release() {
	if !p.retained {
		return
	}
	p.retained = false
	p.must("cuCtxSetCurrent", p.cuCtxSetCurrent(0))
	p.must("cuDevicePrimaryCtxRelease_v2", p.cuDevicePrimaryCtxRelease(0))
}

func (p *poolTest) must(call string, r int32) {
	p.t.Helper()
	if r != cudaSuccess {
		p.t.Fatalf("%s: CUresult %d\n%s", call, r, p.e.Messages())
	}
}

func (p *poolTest) want(call string, r, want int32) {
	p.t.Helper()
	if r != want {
		p.t.Errorf("%s: CUresult %d, want %d", call, r, want)
	}
}

// stream creates a stream, destroyed (after it drains) when the test ends.
func (p *poolTest) stream() uint64 {
	p.t.Helper()
	var s uint64
	p.must("cuStreamCreate", p.cuStreamCreate(&s, 0))
	p.t.Cleanup(func() {
		p.cuStreamSynchronize(s)
		p.must("cuStreamDestroy_v2", p.cuStreamDestroy(s))
	})
	return s
}

func (p *poolTest) alloc(bytes uintptr, s uint64) uint64 {
	p.t.Helper()
	var a uint64
	p.must("cuMemAllocAsync", p.cuMemAllocAsync(&a, bytes, s))
	return a
}

func (p *poolTest) attr(attr int32) uint64 {
	p.t.Helper()
	var v uint64
	p.must("cuMemPoolGetAttribute", p.cuMemPoolGetAttribute(p.pool, attr, &v))
	return v
}

func (p *poolTest) setThreshold(v uint64) {
	p.t.Helper()
	p.must("cuMemPoolSetAttribute", p.cuMemPoolSetAttribute(p.pool, poolReleaseThreshold, &v))
}

// reserved checks what the pool holds and how much of it is live, by its attributes and the counters.
func (p *poolTest) reserved(when string, reserved, used uint64) {
	p.t.Helper()
	if r, u := p.attr(poolReservedCurrent), p.attr(poolUsedCurrent); r != reserved || u != used {
		p.t.Errorf("%s: the pool reserves %d bytes, %d used; want %d, %d used", when, r, u, reserved, used)
	}
	if r, u := p.e.Count(PoolReserved), p.e.Count(PoolUsed); r != int64(reserved) || u != int64(used) {
		p.t.Errorf("%s: counters PoolReserved %d, PoolUsed %d; want %d, %d", when, r, u, reserved, used)
	}
}

// counts snapshots counters, to check what a test changed.
func (p *poolTest) counts(cs ...Counter) map[Counter]int64 {
	m := map[Counter]int64{}
	for _, c := range cs {
		m[c] = p.e.Count(c)
	}
	return m
}

func (p *poolTest) delta(before map[Counter]int64, c Counter, want int64) {
	p.t.Helper()
	if d := p.e.Count(c) - before[c]; d != want {
		p.t.Errorf("counter %d changed by %d, want %d", c, d, want)
	}
}

// reached waits, without synchronising (which would release freed blocks), until s has run everything
// queued on it.
func (p *poolTest) reached(s uint64) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		switch r := p.cuStreamQuery(s); r {
		case cudaSuccess:
			return
		case errNotReady:
			if time.Now().After(deadline) {
				p.t.Fatal("the stream's work did not finish within 10 s")
			}
			time.Sleep(time.Millisecond)
		default:
			p.t.Fatalf("cuStreamQuery: CUresult %d", r)
		}
	}
}

// TestPoolReuseOnceFreeReached: a freed block is reused only once its stream has reached the free, by
// an allocation of its size, filled with garbage again; without a synchronisation nothing goes back to
// the device.
func TestPoolReuseOnceFreeReached(t *testing.T) {
	p := openPool(t)
	p.e.SetDelays(100*time.Millisecond, -1)
	s := p.stream()
	before := p.counts(PoolReserves, PoolAllocs, PoolFrees, UsedBytes, Allocs, LiveAllocs)
	if v := p.attr(poolReleaseThreshold); v != 0 {
		t.Errorf("the release threshold is %d by default, want 0", v)
	}

	a := p.alloc(4096, s)
	var owner uint64
	var size uintptr
	p.must("cuPointerGetAttribute(CONTEXT)", p.cuPointerGetAttribute(unsafe.Pointer(&owner), ptrContext, a))
	p.must("cuPointerGetAttribute(RANGE_SIZE)", p.cuPointerGetAttribute(unsafe.Pointer(&size), ptrRangeSize, a))
	if owner != p.ctx || size != 4096 {
		t.Errorf("a pool allocation of 4096 bytes reports context %#x and size %d, want %#x and 4096", owner, size, p.ctx)
	}
	p.must("cuMemsetD8Async", p.cuMemsetD8Async(a, 0, 4096, s))
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(a, s))
	b := p.alloc(4096, s) // the stream has not reached the free: a is not reusable yet
	if b == a {
		t.Fatalf("cuMemAllocAsync reused %#x before its stream reached the free", a)
	}
	p.delta(before, PoolReserves, 2)
	p.reserved("before the free is reached", 8192, 4096)
	p.delta(before, UsedBytes, 8192)
	if n := p.e.Count(LivePoolAllocs); n != 1 {
		t.Errorf("%d live pool allocations, want 1", n)
	}
	p.delta(before, LiveAllocs, 0) // cuMemAlloc's only
	p.delta(before, Allocs, 0)

	p.reached(s)
	p.reserved("after the free is reached, without a synchronisation", 8192, 4096)
	if c := p.alloc(8192, s); c == a { // another size: a new block
		t.Errorf("cuMemAllocAsync of 8192 bytes reused the freed block of 4096 at %#x", a)
	} else {
		p.must("cuMemFreeAsync", p.cuMemFreeAsync(c, s))
	}
	c := p.alloc(4096, s)
	if c != a {
		t.Errorf("cuMemAllocAsync gave %#x, want the freed block %#x, which its stream has reached", c, a)
	}
	p.delta(before, PoolReserves, 3)
	got := make([]byte, 4096)
	p.must("cuMemcpyDtoHAsync_v2", p.cuMemcpyDtoHAsync(unsafe.Pointer(&got[0]), c, 4096, s)) // pageable: returns once done
	for i, x := range got {
		if x != 0xff {
			t.Fatalf("byte %d of the reused block is %#x: it still holds what its last owner wrote, want garbage (0xff)", i, x)
		}
	}

	p.must("cuMemFreeAsync", p.cuMemFreeAsync(b, s))
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(c, s))
	p.must("cuStreamSynchronize", p.cuStreamSynchronize(s))
	p.reserved("after cuStreamSynchronize with threshold 0", 0, 0)
	p.delta(before, UsedBytes, 0)
	p.delta(before, PoolAllocs, 4)
	p.delta(before, PoolFrees, 4)
}

// TestPoolReleaseThreshold: each synchronisation (stream, event, context) releases freed blocks until
// the pool holds at most the release threshold; live blocks are never released.
func TestPoolReleaseThreshold(t *testing.T) {
	p := openPool(t)
	s := p.stream()
	used := p.e.Count(UsedBytes)
	const half = 512 << 10
	p.setThreshold(1 << 20)
	if v := p.attr(poolReleaseThreshold); v != 1<<20 {
		t.Errorf("the release threshold reads %d after setting %d", v, 1<<20)
	}
	live := p.alloc(half/2, s)
	var blocks []uint64
	for range 4 {
		blocks = append(blocks, p.alloc(half, s))
	}
	for _, b := range blocks {
		p.must("cuMemFreeAsync", p.cuMemFreeAsync(b, s))
	}
	p.reserved("before a synchronisation", 4*half+half/2, half/2)
	p.must("cuStreamSynchronize", p.cuStreamSynchronize(s))
	// 2.25 MiB held: the three oldest freed blocks go, the fourth stays (768 KiB <= 1 MiB).
	p.reserved("after cuStreamSynchronize, threshold 1 MiB", half+half/2, half/2)
	if d := p.e.Count(UsedBytes) - used; d != half+half/2 {
		t.Errorf("the device has %d bytes more in use, want the %d the pool holds", d, half+half/2)
	}

	p.setThreshold(half)
	var ev uint64
	p.must("cuEventCreate", p.cuEventCreate(&ev, 0))
	defer p.cuEventDestroy(ev)
	p.must("cuEventRecord", p.cuEventRecord(ev, s))
	p.must("cuEventSynchronize", p.cuEventSynchronize(ev))
	p.reserved("after cuEventSynchronize, threshold 512 KiB", half/2, half/2) // 768 KiB held: the freed block goes

	p.must("cuMemFreeAsync", p.cuMemFreeAsync(live, s))
	p.reserved("after the last free, before a synchronisation", half/2, 0)
	p.setThreshold(0)
	p.must("cuCtxSynchronize", p.cuCtxSynchronize())
	p.reserved("after cuCtxSynchronize, threshold 0", 0, 0)
	if d := p.e.Count(UsedBytes) - used; d != 0 {
		t.Errorf("the device has %d bytes more in use after the pool released everything", d)
	}

	// The current figures are read-only (a violation each); the attributes not emulated are refused.
	v := uint64(0)
	p.e.ExpectViolations(2)
	p.want("cuMemPoolSetAttribute(RESERVED_MEM_CURRENT)", p.cuMemPoolSetAttribute(p.pool, poolReservedCurrent, &v), errInvalidValue)
	p.want("cuMemPoolSetAttribute(USED_MEM_CURRENT)", p.cuMemPoolSetAttribute(p.pool, poolUsedCurrent, &v), errInvalidValue)
	p.want("cuMemPoolGetAttribute(REUSE_FOLLOW_EVENT_DEPENDENCIES)", p.cuMemPoolGetAttribute(p.pool, 1, &v), errInvalidValue)
}

// TestPoolTrimTo: cuMemPoolTrimTo releases freed blocks down to what it is told to keep, never live ones
// nor ones whose free the stream has not reached.
func TestPoolTrimTo(t *testing.T) {
	p := openPool(t)
	s := p.stream()
	const mib = 1 << 20
	p.setThreshold(^uint64(0)) // synchronisations keep everything
	a, b, c := p.alloc(mib, s), p.alloc(mib, s), p.alloc(mib, s)
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(a, s))
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(b, s))
	p.must("cuStreamSynchronize", p.cuStreamSynchronize(s))
	p.reserved("after a synchronisation with the threshold at its maximum", 3*mib, mib)
	p.must("cuMemPoolTrimTo", p.cuMemPoolTrimTo(p.pool, 2*mib))
	p.reserved("after cuMemPoolTrimTo(2 MiB)", 2*mib, mib)
	p.must("cuMemPoolTrimTo", p.cuMemPoolTrimTo(p.pool, 0))
	p.reserved("after cuMemPoolTrimTo(0) with one block live", mib, mib)

	p.e.SetDelays(100*time.Millisecond, -1)
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(c, s))
	p.must("cuMemPoolTrimTo", p.cuMemPoolTrimTo(p.pool, 0))
	p.reserved("after cuMemPoolTrimTo(0) before the stream reached the free", mib, 0)
	p.must("cuStreamSynchronize", p.cuStreamSynchronize(s))
	p.reserved("after a synchronisation with the threshold at its maximum", mib, 0)
	p.must("cuMemPoolTrimTo", p.cuMemPoolTrimTo(p.pool, 0))
	p.reserved("after the last cuMemPoolTrimTo(0)", 0, 0)
}

// TestPoolUseAfterFree: from cuMemFreeAsync on, a pointer is dead to new work even before its stream
// reaches the free; frees of what is not a live pool allocation are violations.
func TestPoolUseAfterFree(t *testing.T) {
	p := openPool(t)
	p.e.SetDelays(50*time.Millisecond, -1)
	s := p.stream()
	v0 := p.e.Count(Violations)
	const provoked = 8
	p.e.ExpectViolations(provoked)

	a := p.alloc(256, s)
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(a, s))
	p.want("cuMemsetD8Async after cuMemFreeAsync", p.cuMemsetD8Async(a, 1, 256, s), errInvalidValue)
	p.want("cuMemsetD8Async inside a freed block", p.cuMemsetD8Async(a+16, 1, 16, s), errInvalidValue)
	p.want("cuMemFreeAsync twice", p.cuMemFreeAsync(a, s), errInvalidValue)
	p.want("cuMemFree_v2 after cuMemFreeAsync", p.cuMemFree(a), errInvalidValue)

	var m uint64
	p.must("cuMemAlloc_v2", p.cuMemAlloc(&m, 256))
	p.want("cuMemFreeAsync of a cuMemAlloc allocation", p.cuMemFreeAsync(m, s), errInvalidValue)
	p.must("cuMemFree_v2", p.cuMemFree(m))
	p.want("cuMemFreeAsync of an unknown pointer", p.cuMemFreeAsync(0xdeadbeef00, s), errInvalidValue)
	b := p.alloc(256, s)
	p.want("cuMemFree_v2 of a cuMemAllocAsync allocation", p.cuMemFree(b), errInvalidValue)
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(b, s))
	var z uint64
	p.want("cuMemAllocAsync of 0 bytes", p.cuMemAllocAsync(&z, 0, s), errInvalidValue)

	if n := p.e.Count(Violations) - v0; n != provoked {
		t.Errorf("%d violations counted, want %d:\n%s", n, provoked, p.e.Messages())
	}
	if m := p.e.Messages(); !strings.Contains(m, "use after free") || !strings.Contains(m, "cuMemFreeAsync(") {
		t.Errorf("the messages do not name the use after free and the bad frees:\n%s", m)
	}
	p.must("cuStreamSynchronize", p.cuStreamSynchronize(s))
	p.reserved("at the end", 0, 0)
}

// TestPoolFreeAcrossStreams: work of the freeing stream may still be pending at cuMemFreeAsync (stream
// order runs it first); work of another stream may not, as nothing orders it before the free.
func TestPoolFreeAcrossStreams(t *testing.T) {
	p := openPool(t)
	p.e.SetDelays(100*time.Millisecond, -1)
	s1, s2 := p.stream(), p.stream()
	v0 := p.e.Count(Violations)

	a := p.alloc(4096, s1)
	p.must("cuMemsetD8Async", p.cuMemsetD8Async(a, 1, 4096, s1))
	p.must("cuMemFreeAsync while its own stream uses it", p.cuMemFreeAsync(a, s1))
	b := p.alloc(4096, s1)
	p.must("cuMemsetD8Async", p.cuMemsetD8Async(b, 1, 4096, s2))
	p.must("cuStreamSynchronize", p.cuStreamSynchronize(s2))
	p.must("cuMemFreeAsync after the other stream's work is done", p.cuMemFreeAsync(b, s1))
	if n := p.e.Count(Violations) - v0; n != 0 {
		t.Fatalf("%d violations for stream-ordered frees:\n%s", n, p.e.Messages())
	}

	c := p.alloc(4096, s1)
	p.must("cuMemsetD8Async", p.cuMemsetD8Async(c, 1, 4096, s2))
	p.e.ExpectViolations(1)
	p.must("cuMemFreeAsync while another stream uses it", p.cuMemFreeAsync(c, s1))
	if n := p.e.Count(Violations) - v0; n != 1 {
		t.Errorf("%d violations, want 1 for the free while another stream's work is pending:\n%s", n, p.e.Messages())
	}
	if m := p.e.Messages(); !strings.Contains(m, "other streams still use it") {
		t.Errorf("the messages do not name the free across streams:\n%s", m)
	}
	// The block goes back to the pool only once the other stream's work is done, so s1's
	// synchronisation waits for it and then releases everything (threshold 0).
	p.must("cuStreamSynchronize", p.cuStreamSynchronize(s1))
	p.reserved("after synchronising the freeing stream", 0, 0)
}

// TestPoolsUnsupported: on a device without memory pools the attribute says so and every pool call is
// CUDA_ERROR_NOT_SUPPORTED, which is a caller's cue to fall back, not a violation.
func TestPoolsUnsupported(t *testing.T) {
	p := openPool(t)
	s := p.stream()
	var v int32
	p.must("cuDeviceGetAttribute", p.cuDeviceGetAttribute(&v, attrPoolsSupported, 0))
	if v != 1 {
		t.Errorf("MEMORY_POOLS_SUPPORTED is %d by default, want 1", v)
	}
	a := p.alloc(256, s)
	v0 := p.e.Count(Violations)

	p.e.SetMemoryPools(false)
	if p.e.MemoryPools() {
		t.Error("MemoryPools reports true after SetMemoryPools(false)")
	}
	p.must("cuDeviceGetAttribute", p.cuDeviceGetAttribute(&v, attrPoolsSupported, 0))
	if v != 0 {
		t.Errorf("MEMORY_POOLS_SUPPORTED is %d with pools off, want 0", v)
	}
	var h, x uint64
	p.want("cuDeviceGetDefaultMemPool", p.cuDeviceGetDefaultMemPool(&h, 0), errNotSupported)
	p.want("cuMemAllocAsync", p.cuMemAllocAsync(&x, 256, s), errNotSupported)
	p.want("cuMemFreeAsync", p.cuMemFreeAsync(a, s), errNotSupported)
	p.want("cuMemPoolSetAttribute", p.cuMemPoolSetAttribute(p.pool, poolReleaseThreshold, &x), errNotSupported)
	p.want("cuMemPoolGetAttribute", p.cuMemPoolGetAttribute(p.pool, poolReleaseThreshold, &x), errNotSupported)
	p.want("cuMemPoolTrimTo", p.cuMemPoolTrimTo(p.pool, 0), errNotSupported)
	var name *byte
	p.must("cuGetErrorName", p.cuGetErrorName(errNotSupported, &name))
	if got := cString(name); got != "CUDA_ERROR_NOT_SUPPORTED" {
		t.Errorf("cuGetErrorName(801) = %q", got)
	}
	if n := p.e.Count(Violations) - v0; n != 0 {
		t.Errorf("%d violations for calls refused as unsupported:\n%s", n, p.e.Messages())
	}

	p.e.SetMemoryPools(true)
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(a, s))
}

// TestPoolOutOfMemory: an allocation that does not fit takes the pool's freed blocks back first, and
// fails only when it still does not fit; the allocation fault covers cuMemAllocAsync.
func TestPoolOutOfMemory(t *testing.T) {
	p := openPool(t)
	s := p.stream()
	before := p.counts(PoolReserves)
	var free, total uintptr
	p.must("cuMemGetInfo_v2", p.cuMemGetInfo(&free, &total))
	p.setThreshold(^uint64(0))
	big := free / 10 * 6 &^ 255
	a := p.alloc(big, s)
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(a, s))
	p.must("cuStreamSynchronize", p.cuStreamSynchronize(s))
	p.reserved("a freed block kept under the threshold", uint64(big), 0)
	var f2 uintptr
	p.must("cuMemGetInfo_v2", p.cuMemGetInfo(&f2, &total))
	if free-f2 != big {
		t.Errorf("cuMemGetInfo: %d bytes free, want %d less than before (what the pool holds)", f2, big)
	}
	// cuMemAlloc does not take memory back from the pool (the driver leaves that to the threshold).
	var m uint64
	p.want("cuMemAlloc_v2 of what only fits without the pool's freed block", p.cuMemAlloc(&m, big+256), errOutOfMemory)

	b := p.alloc(big+256, s) // does not fit beside the freed block, which goes back first
	p.delta(before, PoolReserves, 2)
	p.reserved("after an allocation released the freed block", uint64(big+256), uint64(big+256))
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(b, s))
	p.must("cuStreamSynchronize", p.cuStreamSynchronize(s))
	var x uint64
	p.want("cuMemAllocAsync of more than the device", p.cuMemAllocAsync(&x, total+1, s), errOutOfMemory)
	p.reserved("after a failed allocation released every freed block", 0, 0)

	p.e.Fail(FaultAlloc, 1)
	p.want("cuMemAllocAsync with the allocation fault armed", p.cuMemAllocAsync(&x, 256, s), errOutOfMemory)
	c := p.alloc(256, s)
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(c, s))
}

// TestPoolContextRelease: the context's last release reports live pool allocations as leaks and takes
// the pool's freed and freeing blocks back silently; a new context's pool starts with the defaults.
func TestPoolContextRelease(t *testing.T) {
	p := openPool(t)
	p.e.SetDelays(100*time.Millisecond, -1)
	var s uint64
	p.must("cuStreamCreate", p.cuStreamCreate(&s, 0))
	used, leaked := p.e.Count(UsedBytes), p.e.Count(Leaked)
	p.setThreshold(^uint64(0))
	p.alloc(1000, s) // leaked
	freed := p.alloc(2000, s)
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(freed, s))
	p.must("cuStreamSynchronize", p.cuStreamSynchronize(s))
	freeing := p.alloc(3000, s)
	p.must("cuMemFreeAsync", p.cuMemFreeAsync(freeing, s)) // not reached when the context goes
	p.must("cuStreamDestroy_v2", p.cuStreamDestroy(s))
	p.reserved("before the release", 6000, 1000)

	p.e.ExpectLeaks(1)
	p.release()
	if n := p.e.Count(Leaked) - leaked; n != 1 {
		t.Errorf("%d leaks reported at the last release, want 1 (the live pool allocation)", n)
	}
	if m := p.e.Messages(); !strings.Contains(m, "leak: cuMemAllocAsync of 1000 bytes") {
		t.Errorf("the messages do not report the leaked pool allocation:\n%s", m)
	}
	if d := p.e.Count(UsedBytes) - used; d != 0 {
		t.Errorf("the device has %d bytes more in use after the context's release", d)
	}
	if r, u, n := p.e.Count(PoolReserved), p.e.Count(PoolUsed), p.e.Count(LivePoolAllocs); r != 0 || u != 0 || n != 0 {
		t.Errorf("after the release the pools reserve %d bytes, %d used, %d live allocations; want none", r, u, n)
	}

	p.must("cuDevicePrimaryCtxRetain", p.cuDevicePrimaryCtxRetain(&p.ctx, 0))
	p.retained = true
	p.must("cuCtxSetCurrent", p.cuCtxSetCurrent(p.ctx))
	if v := p.attr(poolReleaseThreshold); v != 0 {
		t.Errorf("a new context's pool has release threshold %d, want the default 0", v)
	}
}

// cString reads a C string.
func cString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
