package cuda_test

import (
	"errors"
	"math/rand/v2"
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

// Helpers of the tests that need the emulated driver (internal/cudaemu): they skip, saying why, under a
// real one (the GPU check).

// openEmu opens cuda:0 of the emulated driver. The test fails if anything is left live in the emulator
// after it, or the emulator counted a leak at a context's last release: every test closes what it opens,
// Close included in every failure case.
func openEmu(t *testing.T) (*cudaemu.Emu, *cuda.Backend) {
	t.Helper()
	e := cudaemu.Require(t)
	if live := e.Live(); live != (cudaemu.Live{}) {
		t.Fatalf("before the test the emulator already holds %v", live)
	}
	releasedAfter(t, e)
	b, err := cuda.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	closeAfter(t, b)
	return e, b
}

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

// kept is a buffer with known contents, to show that a fault elsewhere did not change it.
type kept struct {
	buf  core.Buffer
	data []float32
}

func keep(t *testing.T, b core.Backend, n int) kept {
	t.Helper()
	k := kept{data: make([]float32, n)}
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	for i := range k.data {
		k.data[i] = rng.Float32()*20 - 10
	}
	var err error
	if k.buf, err = b.Alloc(formula.Float32, n); err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(k.buf, core.HostOf(k.data)); err != nil {
		t.Fatal(err)
	}
	return k
}

// check fails the test unless k's buffer still holds what was uploaded.
func (k kept) check(t *testing.T, b core.Backend, when string) {
	t.Helper()
	got := make([]float32, len(k.data))
	if err := b.Download(core.HostOf(got), k.buf); err != nil {
		t.Fatalf("%s: Download: %v", when, err)
	}
	if !slices.Equal(got, k.data) {
		t.Errorf("%s: a buffer the call did not name changed", when)
	}
}

// isDriverError fails the test unless err matches want and names the driver's code.
func isDriverError(t *testing.T, err, want error, code, what string) {
	t.Helper()
	if !errors.Is(err, want) || !strings.Contains(err.Error(), code) {
		t.Errorf("%s: got %v, want an error matching %v that names %s", what, err, want, code)
	}
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
	if err := b.Forward(formula.ReLU(), x, x); err != nil {
		t.Fatalf("%s: Forward: %v", when, err)
	}
	got, err := backend.ToSlice[float32](b, x)
	if err != nil || !slices.Equal(got, []float32{0, 2, 0, 4}) {
		t.Fatalf("%s: got %v, %v; want [0 2 0 4]", when, got, err)
	}
}
