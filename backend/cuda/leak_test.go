package cuda_test

import (
	"testing"

	"github.com/gpuact/gpuact/backend"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// TestNoLeak: over 10^4 alloc/free cycles the device's free memory plus what the pool keeps stays the
// same, and after Trim the device's free memory is what it was; under the emulator, so is the number of
// live allocations.
func TestNoLeak(t *testing.T) {
	d := usable(t)[0]
	b, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	trimmer := b.(core.Trimmer)
	warm, err := b.Alloc(formula.Float32, 1<<20) // let the driver set up its pools first
	if err != nil {
		t.Fatal(err)
	}
	b.Free(warm)
	if err := trimmer.Trim(); err != nil {
		t.Fatal(err)
	}
	before, err := b.Memory()
	if err != nil {
		t.Fatal(err)
	}
	e := cudaemu.Get()
	var allocs int64
	if e != nil {
		allocs = e.Count(cudaemu.LiveAllocs)
	}
	for i := range 10000 {
		buf, err := b.Alloc(formula.Float32, 1+(i*7919)%(1<<22))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Free(buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	after, err := b.Memory()
	if err != nil {
		t.Fatal(err)
	}
	if after.Free+after.Pooled != before.Free+before.Pooled || after.Buffers != before.Buffers {
		t.Errorf("after 10^4 alloc/free cycles: device free memory %d -> %d bytes (pooled %d -> %d), live buffers %d -> %d",
			before.Free, after.Free, before.Pooled, after.Pooled, before.Buffers, after.Buffers)
	}
	if err := trimmer.Trim(); err != nil {
		t.Fatal(err)
	}
	trimmed, err := b.Memory()
	if err != nil {
		t.Fatal(err)
	}
	if trimmed.Free != before.Free || trimmed.Pooled != 0 {
		t.Errorf("after Trim: device free memory %d bytes (before the cycles %d), pooled %d", trimmed.Free, before.Free, trimmed.Pooled)
	}
	if e != nil {
		if n := e.Count(cudaemu.LiveAllocs); n != allocs {
			t.Errorf("after 10^4 alloc/free cycles and Trim the driver holds %d allocations, before %d", n, allocs)
		}
	}
	t.Logf("device free memory %d bytes before, %d (+%d pooled) after 10^4 alloc/free cycles, %d after Trim",
		before.Free, after.Free, after.Pooled, trimmed.Free)
}

// TestOpenCloseNoLeak opens and closes a backend 10^3 times, using every tenth (buffers, a pass, an
// upload, a download, TimeDevice). Under the emulator nothing may be live afterwards and nothing may have
// been reported leaked at a context's release; on a GPU, the device's free memory seen by a backend held
// open meanwhile may not fall by more than the driver's own pools.
func TestOpenCloseNoLeak(t *testing.T) {
	d := usable(t)[0]
	e := cudaemu.Get()
	var holder core.Backend
	var before core.MemoryStats
	if e != nil {
		releasedAfter(t, e)
	} else {
		var err error
		if holder, err = d.Open(); err != nil {
			t.Fatal(err)
		}
		defer holder.Close()
		if before, err = holder.Memory(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1000 {
		b, err := d.Open()
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if i%10 == 0 {
			x, err := backend.FromSlice(b, []float32{-1, 2, -3, 4})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.(core.Timer).TimeDevice(func() error { return b.Forward(formula.ELU(1), x, x) }); err != nil {
				t.Fatal(err)
			}
			if _, err := backend.ToSlice[float32](b, x); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Close(); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
	}
	if e != nil {
		if live := e.Live(); live != (cudaemu.Live{}) {
			t.Errorf("after 10^3 open/close cycles the driver holds %v", live)
		}
		return
	}
	after, err := holder.Memory()
	if err != nil {
		t.Fatal(err)
	}
	if after.Free < before.Free-64<<20 {
		t.Errorf("device free memory fell from %d to %d bytes over 10^3 open/close cycles", before.Free, after.Free)
	}
	t.Logf("device free memory %d bytes before and %d after 10^3 open/close cycles", before.Free, after.Free)
}
