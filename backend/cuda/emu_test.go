package cuda_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// Helpers of the tests that need the emulated driver (internal/cudaemu): they skip, saying why, under a
// real one (the GPU check).

// closeAfter closes b when the test ends (a no-op if the test closed it), reporting a Close that hangs
// instead of hanging the whole run.
func closeAfter(t *testing.T, b core.Backend) {
	t.Cleanup(func() {
		within(t, 10*time.Second, "Close", func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	})
}

// releasedAfter makes the test fail if the emulator holds anything after it, or reported a leak at a
// context's last release during it.
func releasedAfter(t *testing.T, e *cudaemu.Emu) {
	leaked := e.Count(cudaemu.Leaked)
	t.Cleanup(func() {
		if live := e.Live(); live != (cudaemu.Live{}) {
			t.Errorf("after the test (every backend closed) the emulator still holds %v", live)
		}
		if n := e.Count(cudaemu.Leaked) - leaked; n != 0 {
			t.Errorf("the emulator reported %d handles leaked at a context's last release:\n%s", n, e.Messages())
		}
	})
}

// within runs f and fails the test if f has not returned after d: a hang is reported, not waited out.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s has not returned after %v: it hangs", what, d)
	}
}

// works fails the test unless b still runs a pass correctly.
func works(t *testing.T, b core.Backend, when string) {
	t.Helper()
	x, err := backend.FromSlice(b, []float32{-1, 2, -3, 4})
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	defer b.Free(x)
	if err := b.Forward(core.ReLU(), x, x); err != nil {
		t.Fatalf("%s: Forward: %v", when, err)
	}
	got, err := backend.ToSlice[float32](b, x)
	if err != nil || !slices.Equal(got, []float32{0, 2, 0, 4}) {
		t.Fatalf("%s: got %v, %v; want [0 2 0 4]", when, got, err)
	}
}
