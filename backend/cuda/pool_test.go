package cuda_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// openPooled opens device 0 of the emulated driver with memory pools supported or not, and checks that
// the backend chose the matching pool.
func openPooled(t *testing.T, pools bool) (*cudaemu.Emu, *cuda.Backend) {
	t.Helper()
	e := cudaemu.Require(t) // restores pool support when the test ends
	e.SetMemoryPools(pools)
	e, b := openEmu(t)
	want := map[bool]string{true: "stream-ordered", false: "caching"}[pools]
	if got := b.Info().Details["memory_pool"]; !strings.HasPrefix(got, want) {
		t.Fatalf("with memory pools supported = %v the backend's pool is %q, want %s", pools, got, want)
	}
	return e, b
}

func memory(t *testing.T, b core.Backend) core.MemoryStats {
	t.Helper()
	st, err := b.Memory()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// With the driver's stream-ordered allocator, a freed buffer's memory goes back to the device's pool
// and serves the next Alloc without reserving more; it stays pooled across Sync (the release
// threshold), and Trim gives it back to the device.
func TestStreamOrderedPool(t *testing.T) {
	e, b := openPooled(t, true)
	const n = 1 << 18 // 1 MiB of float32
	x, err := b.Alloc(formula.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	reserves, frees := e.Count(cudaemu.PoolReserves), e.Count(cudaemu.PoolFrees)
	if err := b.Free(x); err != nil {
		t.Fatal(err)
	}
	if e.Count(cudaemu.PoolFrees) != frees+1 {
		t.Fatal("Free did not give the memory back with cuMemFreeAsync")
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	if st := memory(t, b); st.Pooled != 4*n || st.InUse != 0 {
		t.Errorf("after Free and Sync: pooled %d, in use %d; want %d pooled (the release threshold keeps it)", st.Pooled, st.InUse, 4*n)
	}
	y, err := b.Alloc(formula.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Count(cudaemu.PoolReserves); got != reserves {
		t.Errorf("an Alloc of the size just freed reserved new device memory (%d reservations, before %d)", got, reserves)
	}
	if err := b.Free(y); err != nil {
		t.Fatal(err)
	}
	if err := b.Trim(); err != nil {
		t.Fatal(err)
	}
	if st := memory(t, b); st.Pooled != 0 || e.Count(cudaemu.PoolReserved) != 0 {
		t.Errorf("after Trim: pooled %d, the emulator's pools hold %d bytes", st.Pooled, e.Count(cudaemu.PoolReserved))
	}
	works(t, b, "after Trim")
}

// Without the driver's pools, freed blocks are cached by size: the next Alloc of that size gets one
// without cuMemAlloc, and Trim frees them.
func TestCachingPool(t *testing.T) {
	e, b := openPooled(t, false)
	const n = 1 << 18
	x, err := b.Alloc(formula.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	allocs, frees := e.Count(cudaemu.Allocs), e.Count(cudaemu.Frees)
	if err := b.Free(x); err != nil {
		t.Fatal(err)
	}
	if st := memory(t, b); st.Pooled != 4*n || st.InUse != 0 {
		t.Errorf("after Free: pooled %d, in use %d; want %d pooled", st.Pooled, st.InUse, 4*n)
	}
	y, err := b.Alloc(formula.Float64, n/2) // the same bytes in another dtype
	if err != nil {
		t.Fatal(err)
	}
	z, err := b.Alloc(formula.Float32, n/2) // another size
	if err != nil {
		t.Fatal(err)
	}
	if e.Count(cudaemu.Allocs) != allocs+1 || e.Count(cudaemu.Frees) != frees {
		t.Errorf("cuMemAlloc ran %d times and cuMemFree %d times for an Alloc of the freed size and one of another; want 1 and 0",
			e.Count(cudaemu.Allocs)-allocs, e.Count(cudaemu.Frees)-frees)
	}
	b.Free(y)
	b.Free(z)
	if st := memory(t, b); st.Pooled != 4*n+2*n {
		t.Errorf("after freeing both: pooled %d, want %d", st.Pooled, 6*n)
	}
	live := e.Count(cudaemu.LiveAllocs)
	if err := b.Trim(); err != nil {
		t.Fatal(err)
	}
	if st := memory(t, b); st.Pooled != 0 || e.Count(cudaemu.LiveAllocs) != live-2 {
		t.Errorf("after Trim: pooled %d, %d live allocations (before %d)", st.Pooled, e.Count(cudaemu.LiveAllocs), live)
	}
	works(t, b, "after Trim")
}

// Free does not wait for the work queued on the buffer, and an Alloc right after it may get the same
// memory: the new owner's work is queued behind the old one's, so a slow kernel still reads the values
// it was given, not the ones uploaded into the reused memory. Both pools.
func TestReuseAfterFreeIsOrdered(t *testing.T) {
	for _, pools := range []bool{true, false} {
		t.Run(map[bool]string{true: "stream-ordered", false: "caching"}[pools], func(t *testing.T) {
			e, b := openPooled(t, pools)
			x, err := backend.FromSlice(b, []float32{-1, 2, -3, 4})
			if err != nil {
				t.Fatal(err)
			}
			y, err := b.Alloc(formula.Float32, 4)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Free(y)
			if err := b.Sync(); err != nil {
				t.Fatal(err)
			}
			_, kernel := e.Delays()
			e.SetDelays(-1, 100*time.Millisecond)
			if err := b.Forward(formula.ReLU(), y, x); err != nil {
				t.Fatal(err)
			}
			e.SetDelays(-1, kernel)
			t0 := time.Now()
			if err := b.Free(x); err != nil {
				t.Fatal(err)
			}
			waited := time.Since(t0)
			x2, err := backend.FromSlice(b, []float32{7, 7, 7, 7}) // queued after the kernel
			if err != nil {
				t.Fatal(err)
			}
			defer b.Free(x2)
			got, err := backend.ToSlice[float32](b, y)
			if err != nil || !slices.Equal(got, []float32{0, 2, 0, 4}) {
				t.Errorf("the kernel read %v (%v) from its freed input: the reused memory was written before it ran", got, err)
			}
			if waited > 50*time.Millisecond {
				t.Errorf("Free waited %v for the kernel using its buffer", waited)
			}
		})
	}
}

// Out of device memory, Alloc gives the pooled memory back to the device and tries again: memory that
// Free kept does not make an Alloc fail that would succeed without the pool. Both pools.
func TestPoolGivesBackWhenOutOfMemory(t *testing.T) {
	for _, pools := range []bool{true, false} {
		t.Run(map[bool]string{true: "stream-ordered", false: "caching"}[pools], func(t *testing.T) {
			_, b := openPooled(t, pools)
			total := memory(t, b).Total // 1 GiB on the emulator
			big, err := b.Alloc(formula.Float32, int(total*7/8)/4)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Free(big)
			kept, err := b.Alloc(formula.Float32, int(total/16)/4) // 64 MiB: the cache keeps up to 128
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Free(kept); err != nil {
				t.Fatal(err)
			}
			if err := b.Sync(); err != nil {
				t.Fatal(err)
			}
			if st := memory(t, b); st.Pooled != total/16 {
				t.Fatalf("pooled %d after freeing %d bytes", st.Pooled, total/16)
			}
			// Fits only once the pooled 64 MiB is given back.
			other, err := b.Alloc(formula.Float32, int(total/10)/4)
			if err != nil {
				t.Fatalf("an Alloc that fits once the pool is emptied: %v", err)
			}
			b.Free(other)
		})
	}
}
