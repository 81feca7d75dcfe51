package cpu_test

import (
	"runtime"
	"testing"

	"github.com/gpuact/gpuact/backend/backendtest"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
)

// TestConformance runs the conformance suite on the implementation New picks on this machine (the best
// assembly level, or the plain loops), and TestConformanceOtherImplementations on each of the others,
// each forced with cpu.NewImplementation: the suite runs once per implementation. make test runs the
// second without -race (it costs minutes per implementation there): the concurrency the race detector
// watches (owner, ranges, the parallel split) is the same Go code for every implementation, and the
// kernels it calls are assembly the detector does not see into.
func TestConformance(t *testing.T) {
	name := cpu.Dispatched()
	backendtest.Run(t, func() (core.Backend, error) { return cpu.NewImplementation(name) })
}

func TestConformanceOtherImplementations(t *testing.T) {
	picked := cpu.Dispatched()
	for _, name := range cpu.Implementations() {
		if name != picked {
			t.Run(name, func(t *testing.T) {
				backendtest.Run(t, func() (core.Backend, error) { return cpu.NewImplementation(name) })
			})
		}
	}
}

// TestNoHeapGrowth: freed CPU buffers must become garbage. The Go heap after 500 alloc/free cycles of 1
// MiB each stays within a few MiB of where it started.
func TestNoHeapGrowth(t *testing.T) {
	b := cpu.New()
	defer b.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 500 {
		buf, err := b.Alloc(formula.Float32, 1<<18)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Free(buf); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Errorf("heap grew by %d bytes over 500 alloc/free cycles of 1 MiB", grew)
	}
}
