package cuda_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gpuact/gpuact/backend"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// TestDevicesAtOnce uses two devices from many goroutines at once. Each device has its own context, and
// a CUDA context is current per OS thread: a call made with the other device's context current (a
// goroutine that moved threads, a missing CtxSetCurrent) is counted by the emulator (checked when the test
// ends) and would use the wrong device on a GPU.
func TestDevicesAtOnce(t *testing.T) {
	devs := usable(t)
	if len(devs) < 2 {
		t.Skipf("needs two CUDA devices; this machine has %d", len(devs))
	}
	if e := cudaemu.Get(); e != nil {
		cudaemu.Require(t)
		releasedAfter(t, e)
	}
	var bs [2]core.Backend
	for i := range bs {
		b, err := devs[i].Open()
		if err != nil {
			t.Fatal(err)
		}
		closeAfter(t, b)
		bs[i] = b
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for r := range 20 {
				b := bs[(g+r)%2]
				in := []float32{float32(g), -float32(r), float32(g * r), -1}
				x, err := backend.FromSlice(b, in)
				if err != nil {
					t.Error(err)
					return
				}
				err = b.Forward(formula.ReLU(), x, x)
				got, err2 := backend.ToSlice[float32](b, x)
				b.Free(x)
				want := []float32{max(in[0], 0), max(in[1], 0), max(in[2], 0), 0}
				if err != nil || err2 != nil || !slices.Equal(got, want) {
					t.Error(fmt.Errorf("goroutine %d round %d on %s: %v, %v, %v; want %v", g, r, b.Info().Spec, got, err, err2, want))
					return
				}
			}
		})
	}
	wg.Wait()
}
