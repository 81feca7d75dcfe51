package cpu

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// Where the CPU backend's buffers live.
//
// Go's make() cannot fail: when the heap cannot grow, the runtime stops the process with "fatal error:
// runtime: out of memory", which no recover catches, and on 32-bit platforms a slice whose bytes exceed
// the address space panics in makeslice. Alloc must instead return ErrOutOfMemory for every size the
// machine cannot hold, so it never hands make() a size that can fail on its own account:
//
//   - Sizes beyond the address space (2^32 bytes on 32-bit platforms and wasm) are refused outright.
//   - Allocations of osAllocMin bytes or more come from the operating system directly (mmap on unix,
//     VirtualAlloc on Windows: alloc_unix.go, alloc_windows.go), which report failure as an error, and
//     are released by Free and Close, which the backend controls (and, for a backend dropped without
//     Close, by a cleanup when it is garbage collected). Before asking, Alloc compares the size with
//     the memory the system reports available (Linux: MemAvailable; Windows: GlobalMemoryStatusEx),
//     else with the machine's RAM (darwin and the BSDs: sysctl), because with overcommit a mapping
//     larger than memory succeeds and the process is killed when it touches the pages.
//   - Smaller allocations use make(). osAllocMin is the size of one arena of Go's heap (64 MiB on
//     64-bit platforms, 4 MiB on 32-bit ones: runtime/malloc.go's heapArenaBytes, by which the heap
//     grows): any allocation anywhere in the program may need a new arena, so one below that size
//     adds no way to die that the program did not already have. The heap is also the faster place for
//     small buffers: it reuses freed memory without system calls, and the race detector sees it.
//   - Platforms without either system call (js/wasm, wasip1, plan9) use make() for every size, after
//     the address-space check; there a size close to the memory left can still end the process.
type memory struct {
	data any            // []float32 or []float64: what view returns
	sys  unsafe.Pointer // the start of the operating system's mapping, nil for memory from make()
	size uintptr        // the mapping's length in bytes
}

// dtypeLen returns the dtype and length of m's elements (0, 0 once freed).
func (m *memory) dtypeLen() (formula.DType, int) {
	switch d := m.data.(type) {
	case []float32:
		return formula.Float32, len(d)
	case []float64:
		return formula.Float64, len(d)
	case []formula.F16:
		return formula.Float16, len(d)
	case []formula.BF16:
		return formula.BFloat16, len(d)
	}
	return 0, 0
}

// osAllocMin is the size in bytes from which Alloc takes memory from the operating system (see above).
const osAllocMin = 4 << 20 << (4 * (unsafe.Sizeof(uintptr(0)) / 8))

// maxBytes is the largest allocation the address space can hold: 2^32 - 1 bytes on 32-bit platforms and
// on wasm (whose memory is addressed with 32 bits); on 64-bit platforms core.MaxElements is the bound.
var maxBytes = func() uint64 {
	if runtime.GOARCH == "wasm" {
		return 1<<32 - 1
	}
	return uint64(^uintptr(0))
}()

// memoryFigures returns the bytes the system reports available for new allocations and the machine's
// RAM, each 0 where the system does not say. A variable so that tests can take the figures away.
var memoryFigures = func() (available, total int64) { return availableMemory(), machine.totalMemory }

// osBytes counts the bytes currently mapped from the operating system for buffers, for tests.
var osBytes atomic.Int64

// allocate returns zeroed memory for n elements of dtype (bytes in all), or an error wrapping
// core.ErrOutOfMemory.
func allocate(dtype formula.DType, n int, bytes int64) (*memory, error) {
	oom := func(format string, args ...any) error {
		return core.Errorf(core.ErrOutOfMemory, "cpu", "Alloc", "", "%d bytes (%d %s): %s", bytes, n, dtype, fmt.Sprintf(format, args...))
	}
	if uint64(bytes) > maxBytes {
		return nil, oom("more than the %d-byte address space of %s/%s holds", maxBytes, runtime.GOOS, runtime.GOARCH)
	}
	if bytes >= osAllocMin || !haveOSAlloc {
		avail, total := memoryFigures()
		if avail > 0 && bytes > avail {
			return nil, oom("%d bytes available", avail)
		}
		if avail <= 0 && total > 0 && bytes > total {
			return nil, oom("more than the machine's %d bytes of memory", total)
		}
	}
	if bytes >= osAllocMin && haveOSAlloc {
		p, err := osAlloc(uintptr(bytes))
		if err != nil {
			return nil, oom("the system refused it: %v", err)
		}
		osBytes.Add(bytes)
		m := &memory{sys: p, size: uintptr(bytes)}
		switch dtype {
		case formula.Float32:
			m.data = unsafe.Slice((*float32)(p), n)
		case formula.Float64:
			m.data = unsafe.Slice((*float64)(p), n)
		case formula.Float16:
			m.data = unsafe.Slice((*formula.F16)(p), n)
		case formula.BFloat16:
			m.data = unsafe.Slice((*formula.BF16)(p), n)
		default:
			_ = freeMemory(m)
			return nil, unsupported("Alloc", dtype)
		}
		return m, nil
	}
	switch dtype {
	case formula.Float32:
		return &memory{data: make([]float32, n)}, nil
	case formula.Float64:
		return &memory{data: make([]float64, n)}, nil
	case formula.Float16:
		return &memory{data: make([]formula.F16, n)}, nil
	case formula.BFloat16:
		return &memory{data: make([]formula.BF16, n)}, nil
	}
	return nil, unsupported("Alloc", dtype)
}

// freeMemory releases one allocation: the operating system's mapping, or nothing for memory from
// make() (the garbage collector takes it once no view is left). Owner calls it once per allocation,
// under the allocation's lock, after every call using it has finished.
func freeMemory(mem any) error {
	m := mem.(*memory)
	m.data = nil
	if m.sys == nil {
		return nil
	}
	p, size := m.sys, m.size
	m.sys = nil
	if err := osFree(p, size); err != nil {
		return core.Errorf(core.ErrDevice, "cpu", "Free", "", "releasing %d bytes: %w", size, err)
	}
	osBytes.Add(-int64(size))
	return nil
}
