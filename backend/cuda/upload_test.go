package cuda_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// TestUploadHasReadSrc checks Upload's promise, "has finished reading src when it returns": the caller
// overwrites src at once, and the device must still get what src held. Under the emulator every copy
// runs 20 ms after it was queued and a copy from pageable memory reads its source only then, so an
// Upload that leaves src to the driver fails here; the sizes cover one staging chunk, several, and more
// than the staging ring holds.
func TestUploadHasReadSrc(t *testing.T) {
	usable(t)
	var e *cudaemu.Emu
	var pageable int64
	if cudaemu.Get() != nil {
		e = cudaemu.Require(t)
		releasedAfter(t, e)
		e.SetDelays(20*time.Millisecond, -1)
		pageable = e.Count(cudaemu.PageableHtoD)
	}
	b, err := cuda.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	closeAfter(t, b)
	for _, n := range []int{1, 1000, 1<<18 + 3, 3<<20 + 5} {
		const uploads = 3
		var bufs []core.Buffer
		var want [][]float32
		src := make([]float32, n)
		for u := range uploads {
			buf, err := b.Alloc(formula.Float32, n)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Free(buf)
			for i := range src {
				src[i] = float32(u*n + i)
			}
			if err := b.Upload(buf, core.HostOf(src)); err != nil {
				t.Fatal(err)
			}
			want = append(want, slices.Clone(src))
			for i := range src {
				src[i] = -1 // what the device would get from a copy that reads src late
			}
			bufs = append(bufs, buf)
		}
		for u, buf := range bufs {
			got := make([]float32, n)
			if err := b.Download(core.HostOf(got), buf); err != nil {
				t.Fatal(err)
			}
			if i := firstDiff(got, want[u]); i >= 0 {
				t.Errorf("n=%d, upload %d: element %d is %v, want %v: Upload returned before it had read src", n, u, i, got[i], want[u][i])
			}
		}
	}
	if e != nil {
		if d := e.Count(cudaemu.PageableHtoD) - pageable; d != 0 {
			t.Errorf("Upload made %d copies from pageable memory: its promise then rests on the driver", d)
		}
	}
}

func firstDiff(a, b []float32) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestUploadDoesNotWaitForKernels: Upload returns once src is staged, not after the work queued before
// it (a 300 ms kernel here), so uploads overlap the device's work.
func TestUploadDoesNotWaitForKernels(t *testing.T) {
	e, b := openEmu(t)
	x := keep(t, b, 1000)
	y, err := b.Alloc(formula.Float32, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	e.SetDelays(-1, 300*time.Millisecond)
	if err := b.Forward(formula.ReLU(), y, x.buf); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := b.Upload(x.buf, core.HostOf(x.data)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 150*time.Millisecond {
		t.Errorf("Upload took %v behind a 300 ms kernel: it waits for earlier work", d)
	}
	x.check(t, b, "after the upload")
}
