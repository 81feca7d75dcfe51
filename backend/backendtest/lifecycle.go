package backendtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// testConcurrent uses one backend from 32 goroutines at once, each with its own buffers, sizes and
// passes, and checks every result.
func testConcurrent(t *testing.T, b core.Backend) {
	const goroutines, rounds = 32, 6
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for r := range rounds {
				p := formula.Passes[(g+r)%3]
				acts := activations(p, false)
				act := acts[(g*rounds+r)%len(acts)]
				n := []int{1, 31, 1000, 70000}[(g+r)%4]
				dt := dtypes(b)[g%len(dtypes(b))]
				o := offsetSets[r%4]
				err := byDType(dt, perDType{
					f32:  func() error { return checkPass[float32](b, rng, p, act, n, o) },
					f64:  func() error { return checkPass[float64](b, rng, p, act, n, o) },
					f16:  func() error { return checkPass[formula.F16](b, rng, p, act, n, o) },
					bf16: func() error { return checkPass[formula.BF16](b, rng, p, act, n, o) },
				})
				if err != nil {
					errs <- fmt.Errorf("goroutine %d round %d (%s %s %s n=%d): %w", g, r, dt, p, act, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testFreeWhileInUse frees buffers while other goroutines run passes on them: every call must either
// succeed or return ErrFreed, and the backend must keep working.
func testFreeWhileInUse(t *testing.T, b core.Backend) {
	for range 20 {
		x, err := b.Alloc(formula.Float32, 50000)
		ok(t, err, "Alloc")
		y, err := b.Alloc(formula.Float32, 50000)
		ok(t, err, "Alloc")
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for range 5 {
					var err error
					if g%2 == 0 {
						err = b.Forward(formula.ELU(1), y, x)
					} else {
						err = b.Download(core.HostOf(make([]float32, 50000)), y)
					}
					if err != nil && !errors.Is(err, core.ErrFreed) {
						t.Errorf("call racing with Free: %v", err)
					}
				}
			})
		}
		wg.Go(func() {
			if err := b.Free(x); err != nil {
				t.Errorf("Free: %v", err)
			}
		})
		wg.Wait()
		ok(t, b.Free(y), "Free")
	}
	checkStillWorks(t, b)
}

// testNoGrowth allocates and frees in a loop: the backend's live bytes and buffers must return to
// where they started, and so must the device's free memory where the device reports it exactly.
func testNoGrowth(t *testing.T, b core.Backend) {
	ok(t, b.Sync(), "Sync")
	before, err := b.Memory()
	ok(t, err, "Memory")
	for i := range 2000 {
		dt := dtypes(b)[i%len(dtypes(b))]
		buf, err := b.Alloc(dt, (i*7919)%(1<<16)+1)
		ok(t, err, "Alloc")
		if i%3 == 0 {
			if _, err := buf.Slice(1, buf.Len()); err != nil {
				t.Fatal(err)
			}
		}
		ok(t, b.Free(buf), "Free")
	}
	ok(t, b.Sync(), "Sync")
	after, err := b.Memory()
	ok(t, err, "Memory")
	if after.InUse != before.InUse || after.Buffers != before.Buffers {
		t.Errorf("after 2000 alloc/free cycles the backend holds %d bytes in %d buffers, before %d in %d",
			after.InUse, after.Buffers, before.InUse, before.Buffers)
	}
	// Memory a backend's pool keeps for reuse is not free on the device, but it is not lost either.
	if b.Info().Type == core.DeviceGPU && before.Free > 0 && after.Free+after.Pooled < before.Free+before.Pooled-(4<<20) {
		t.Errorf("device free memory fell from %d (+%d pooled) to %d (+%d pooled) bytes over 2000 alloc/free cycles",
			before.Free, before.Pooled, after.Free, after.Pooled)
	}
}

// testClosed checks that a closed backend refuses every call with ErrClosed and that Free and Close
// stay idempotent.
func testClosed(t *testing.T, open Opener) {
	b := mustOpen(t, open)
	x, err := b.Alloc(formula.Float32, 8)
	ok(t, err, "Alloc")
	y, err := b.Alloc(formula.Float32, 8)
	ok(t, err, "Alloc")
	ok(t, b.Close(), "Close")
	ok(t, b.Close(), "second Close")
	ok(t, b.Free(x), "Free after Close")
	_, err = b.Alloc(formula.Float32, 8)
	is(t, err, core.ErrClosed, "Alloc after Close")
	is(t, b.Upload(x, core.HostOf(make([]float32, 8))), core.ErrClosed, "Upload after Close")
	is(t, b.Download(core.HostOf(make([]float32, 8)), x), core.ErrClosed, "Download after Close")
	for _, p := range formula.Passes {
		is(t, core.Run(b, p, formula.ReLU(), y, x, x), core.ErrClosed, p.String()+" after Close")
	}
	is(t, b.Copy(y, x), core.ErrClosed, "Copy after Close")
	is(t, b.Sync(), core.ErrClosed, "Sync after Close")
	_, err = b.Memory()
	is(t, err, core.ErrClosed, "Memory after Close")
	_ = b.Info() // still describes the device
}

// testCloseWhileInUse closes a backend while goroutines use it: each call must succeed or return
// ErrClosed (or ErrFreed, for a buffer that Close freed between checks), never crash.
func testCloseWhileInUse(t *testing.T, open Opener) {
	for range 5 {
		b := mustOpen(t, open)
		x, err := b.Alloc(formula.Float32, 20000)
		ok(t, err, "Alloc")
		y, err := b.Alloc(formula.Float32, 20000)
		ok(t, err, "Alloc")
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 10 {
					err := b.Forward(formula.ELU(1), y, x)
					if err != nil && !errors.Is(err, core.ErrClosed) {
						t.Errorf("call racing with Close: %v", err)
					}
				}
			})
		}
		wg.Go(func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		wg.Wait()
	}
}
