package cuda_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// TimeDevice holds no lock while the caller's enqueue runs (see core.Timer). These tests run on any CUDA
// driver; under the emulator they also check that no event outlives Close.

// openTimer opens the first usable CUDA device with two buffers for Forward.
func openTimer(t *testing.T) (*cuda.Backend, core.Buffer, core.Buffer) {
	t.Helper()
	usable(t)
	if e := cudaemu.Get(); e != nil {
		releasedAfter(t, e)
	}
	b, err := cuda.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	closeAfter(t, b)
	x, err := b.Alloc(formula.Float32, 4096)
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.Alloc(formula.Float32, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(x, core.HostOf(make([]float32, 4096))); err != nil {
		t.Fatal(err)
	}
	return b, x, y
}

// TestTimeDeviceRacingClose is issue 10's scenario: A times an enqueue that sleeps 200 ms before its
// Forward, B starts timing 50 ms later, C closes the backend 50 ms after that. Each returns: A with
// ErrClosed (its Forward comes after Close), B with its time or ErrClosed, C with nil.
func TestTimeDeviceRacingClose(t *testing.T) {
	b, x, y := openTimer(t)
	var errA, errB, errC error
	within(t, 10*time.Second, "TimeDevice racing Close", func() {
		var wg sync.WaitGroup
		wg.Go(func() {
			_, errA = b.TimeDevice(func() error {
				time.Sleep(200 * time.Millisecond)
				return b.Forward(formula.ReLU(), y, x)
			})
		})
		time.Sleep(50 * time.Millisecond)
		wg.Go(func() { _, errB = b.TimeDevice(func() error { return b.Forward(formula.ReLU(), y, x) }) })
		time.Sleep(50 * time.Millisecond)
		wg.Go(func() { errC = b.Close() })
		wg.Wait()
	})
	if !errors.Is(errA, core.ErrClosed) {
		t.Errorf("A: %v, want ErrClosed", errA)
	}
	if errB != nil && !errors.Is(errB, core.ErrClosed) {
		t.Errorf("B: %v, want nil or ErrClosed", errB)
	}
	if errC != nil {
		t.Errorf("Close: %v", errC)
	}
}

// TestTimeDeviceNested: a TimeDevice inside another's enqueue times its own window; the outer one's
// window holds it.
func TestTimeDeviceNested(t *testing.T) {
	b, x, y := openTimer(t)
	var inner, outer time.Duration
	var errIn, errOut error
	within(t, 10*time.Second, "nested TimeDevice", func() {
		outer, errOut = b.TimeDevice(func() error {
			if err := b.Forward(formula.ReLU(), y, x); err != nil {
				return err
			}
			inner, errIn = b.TimeDevice(func() error { return b.Forward(formula.ELU(1), y, x) })
			return errIn
		})
	})
	if errIn != nil || errOut != nil {
		t.Fatalf("inner: %v, outer: %v", errIn, errOut)
	}
	if inner <= 0 || outer < inner {
		t.Errorf("inner window %v, outer %v: want 0 < inner <= outer", inner, outer)
	}
	within(t, 10*time.Second, "Close after a nested TimeDevice", func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
}

// TestTimeDeviceConcurrent: TimeDevice from many goroutines at once, each timing its own window with
// its own events. Under the emulator every kernel takes 2 ms, so each window is at least that.
func TestTimeDeviceConcurrent(t *testing.T) {
	b, _, _ := openTimer(t)
	least := time.Duration(1)
	if e := cudaemu.Get(); e != nil {
		cudaemu.Require(t).SetDelays(-1, 2*time.Millisecond)
		least = 2 * time.Millisecond
	}
	within(t, 30*time.Second, "concurrent TimeDevice", func() {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				x, err := b.Alloc(formula.Float32, 1000+g)
				if err != nil {
					t.Error(err)
					return
				}
				defer b.Free(x)
				for range 5 {
					d, err := b.TimeDevice(func() error { return b.Forward(formula.ReLU(), x, x) })
					if err != nil || d < least {
						t.Errorf("goroutine %d: TimeDevice = %v, %v; want at least %v", g, d, err, least)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

// TestTimeDeviceEnqueueError: the enqueue's error is TimeDevice's, and the backend keeps working.
func TestTimeDeviceEnqueueError(t *testing.T) {
	b, x, y := openTimer(t)
	mine := errors.New("enqueue failed (test)")
	within(t, 10*time.Second, "TimeDevice with a failing enqueue", func() {
		if _, err := b.TimeDevice(func() error { return mine }); !errors.Is(err, mine) {
			t.Errorf("TimeDevice = %v, want the enqueue's error", err)
		}
		if _, err := b.TimeDevice(func() error { return b.Forward(formula.ReLU(), y, x) }); err != nil {
			t.Errorf("TimeDevice after a failed one: %v", err)
		}
	})
}

// TestTimeDevicePanic: a panic in enqueue propagates, and leaves nothing locked or leaked.
func TestTimeDevicePanic(t *testing.T) {
	b, x, y := openTimer(t)
	within(t, 10*time.Second, "TimeDevice after a panicking one", func() {
		func() {
			defer func() {
				if r := recover(); r != "enqueue panics (test)" {
					t.Errorf("recovered %v, want the enqueue's panic", r)
				}
			}()
			b.TimeDevice(func() error { panic("enqueue panics (test)") })
		}()
		if _, err := b.TimeDevice(func() error { return b.Forward(formula.ReLU(), y, x) }); err != nil {
			t.Errorf("TimeDevice after a panicking one: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// TestTimeDeviceAfterClose: TimeDevice on a closed backend is ErrClosed, and enqueue is not called.
func TestTimeDeviceAfterClose(t *testing.T) {
	b, _, _ := openTimer(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	called := false
	if _, err := b.TimeDevice(func() error { called = true; return nil }); !errors.Is(err, core.ErrClosed) || called {
		t.Errorf("TimeDevice after Close = %v (enqueue called: %v), want ErrClosed without calling it", err, called)
	}
}
