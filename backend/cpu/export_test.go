package cpu

import (
	"unsafe"

	"github.com/gpuact/gpuact/backend/formula"
)

// RunImplementation runs pass p of act over slices with the named implementation, nt forcing
// non-temporal stores on or off: the kernel-level hook of the tests in cpu_test.
func RunImplementation[T formula.Elem](name string, p formula.Pass, act formula.Activation, out, a, b []T, nt bool) {
	row, err := formula.Lookup(act.Kind(), p)
	if err != nil {
		panic(err)
	}
	for _, im := range implementations {
		if im.name != name {
			continue
		}
		switch o := any(out).(type) {
		case []float32:
			b32, _ := any(b).([]float32)
			im.run32(row.Kernel, formula.Round[float32](act.Alpha()), o, any(a).([]float32), b32, nt)
		case []float64:
			b64, _ := any(b).([]float64)
			im.run64(row.Kernel, formula.Round[float64](act.Alpha()), o, any(a).([]float64), b64, nt)
		case []formula.F16, []formula.BF16:
			dt := formula.DTypeOf[T]()
			im.run16(dt, row.Kernel, float32(dt.Round(act.Alpha())), bitsOf(out), bitsOf(a), bitsOf(b), nt)
		}
		return
	}
	panic("no implementation " + name)
}

// bitsOf returns the 16-bit elements of s as their bit patterns (nil for nil).
func bitsOf[T formula.Elem](s []T) []uint16 {
	if s == nil {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// SetParallel sets the parallel split's thresholds and returns a function restoring them.
func SetParallel(minNS float64, chunk int) (restore func()) {
	m, c := parallelMinNS, chunkMin
	parallelMinNS, chunkMin = minNS, chunk
	return func() { parallelMinNS, chunkMin = m, c }
}

// SetGangMin sets the estimated single-goroutine time (ns) from which calls are split through the gang
// (math.Inf(1): never) and returns a function restoring it.
func SetGangMin(ns float64) (restore func()) {
	g := gangMinNS
	gangMinNS = ns
	return func() { gangMinNS = g }
}

// SetNonTemporalMin sets the call size from which non-temporal stores are used and returns a function
// restoring it.
func SetNonTemporalMin(bytes int) (restore func()) {
	b := ntMinBytes
	ntMinBytes = bytes
	return func() { ntMinBytes = b }
}

// OSAllocMin is the buffer size in bytes from which Alloc maps memory from the operating system.
const OSAllocMin = osAllocMin

// OSMappedBytes is the bytes of buffers currently mapped from the operating system, by every backend.
func OSMappedBytes() int64 { return osBytes.Load() }

// SetMemoryFigures replaces what the system reports as available memory and RAM (0: unknown) and returns
// a function restoring the real figures.
func SetMemoryFigures(available, total int64) (restore func()) {
	f := memoryFigures
	memoryFigures = func() (int64, int64) { return available, total }
	return func() { memoryFigures = f }
}

// MemoryFigures is what the system reports: available memory and RAM in bytes, 0 where unknown.
func MemoryFigures() (available, total int64) { return memoryFigures() }

// Dispatched is the name of the implementation New picks (GPUACT_CPU_DISABLE applied).
func Dispatched() string { return dispatch().name }
