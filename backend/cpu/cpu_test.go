package cpu_test

import (
	"runtime"
	"testing"

	"github.com/gpuact/gpuact/backend/backendtest"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
)

// TestConformance runs the conformance suite once per implementation this machine has (the assembly
// kernels and the plain loops), each forced with cpu.NewImplementation; New's choice is one of them.
func TestConformance(t *testing.T) {
	forEachImplementation(t, func(t *testing.T, name string) {
		if raceEnabled && name == "generic" && len(cpu.Implementations()) > 1 {
			// Under -race the suite costs minutes per run; the plain Go loops run it without -race here
			// and in make test-purego (CI), and the concurrency the race detector watches (owner,
			// ranges, the parallel split) is the same code for every implementation.
			t.Skip("generic: the suite runs without -race (go test, make test-purego); -race covers the dispatch implementation")
		}
		backendtest.Run(t, func() (core.Backend, error) { return cpu.NewImplementation(name) })
	})
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
