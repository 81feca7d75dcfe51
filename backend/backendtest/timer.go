package backendtest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// hangAfter is how long a TimeDevice or Close may take before the suite calls it hung. Every call
// here does a few milliseconds of work; the margin is for slow, shared CI machines.
const hangAfter = 30 * time.Second

// testTimeDevice checks core.Timer on backends that implement it: the time of real work is positive and
// no longer than the wall time around the call; concurrent calls each return their own window; a call
// from inside another's enqueue returns instead of hanging; an enqueue's error is returned and its
// panic propagates, leaving nothing locked; Close racing TimeDevice makes it return ErrClosed (or its
// result, if it finished first) and hangs nothing. Each check uses backends of its own, so that a hang
// it finds does not stop the rest of the suite: a hung call is reported and its backend abandoned.
func testTimeDevice(t *testing.T, b core.Backend, open Opener) {
	if _, ok := b.(core.Timer); !ok {
		t.Skipf("not applicable: %s does not implement core.Timer", b.Info().Spec)
	}
	t.Run("Time", func(t *testing.T) { testTimeReal(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testTimeConcurrent(t, open) })
	t.Run("Nested", func(t *testing.T) { testTimeNested(t, open) })
	t.Run("EnqueueError", func(t *testing.T) { testTimeEnqueueError(t, open) })
	t.Run("EnqueuePanic", func(t *testing.T) { testTimeEnqueuePanic(t, open) })
	t.Run("CloseRacing", func(t *testing.T) { testTimeCloseRacing(t, open) })
	t.Run("Closed", func(t *testing.T) { testTimeClosed(t, open) })
}

// within runs f and waits at most hangAfter for it; false means f hung (it is left running).
func within(f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(hangAfter):
		return false
	}
}

// openTimer opens a backend for one check; it is closed at the end of the check unless the check
// marked it hung.
type timed struct {
	core.Backend
	core.Timer
	hung atomic.Bool
}

func openTimer(t *testing.T, open Opener) *timed {
	t.Helper()
	b := mustOpen(t, open)
	tb := &timed{Backend: b, Timer: b.(core.Timer)}
	t.Cleanup(func() {
		if tb.hung.Load() {
			return
		}
		var err error
		if !within(func() { err = b.Close() }) {
			t.Errorf("Close did not return within %v", hangAfter)
		} else if err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tb
}

// timeDevice calls TimeDevice and returns its result and the wall time around it; ok is false (and the
// test failed) when it did not return within hangAfter.
func (tb *timed) timeDevice(t *testing.T, what string, enqueue func() error) (d, wall time.Duration, err error, ok bool) {
	t.Helper()
	ok = within(func() {
		t0 := time.Now()
		d, err = tb.TimeDevice(enqueue)
		wall = time.Since(t0)
	})
	if !ok {
		tb.hung.Store(true)
		t.Errorf("%s: TimeDevice did not return within %v", what, hangAfter)
	}
	return d, wall, err, ok
}

// job is a pass on buffers of its own, whose result can be checked.
type job struct {
	x, y core.Buffer
	xs   []float32
}

const jobN = 1 << 16

func newJob(t *testing.T, b core.Backend, seed int) *job {
	t.Helper()
	xs := make([]float32, jobN)
	for i := range xs {
		xs[i] = float32((i*7919+seed*104729)%2001-1000) / 250
	}
	x, err := b.Alloc(formula.Float32, jobN)
	ok(t, err, "Alloc")
	y, err := b.Alloc(formula.Float32, jobN)
	ok(t, err, "Alloc")
	ok(t, b.Upload(x, core.HostOf(xs)), "Upload")
	return &job{x: x, y: y, xs: xs}
}

// run queues the job's pass (LeakyReLU forward, exact).
func (j *job) run(b core.Backend) error { return b.Forward(formula.LeakyReLU(0.125), j.y, j.x) }

// verify returns an error unless y holds the pass's result.
func (j *job) verify(b core.Backend) error {
	got := make([]float32, jobN)
	if err := b.Download(core.HostOf(got), j.y); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	for i, x := range j.xs {
		if want := formula.LeakyReLUForward(0.125, x); got[i] != want {
			return fmt.Errorf("y[%d] = %v, want %v", i, got[i], want)
		}
	}
	return nil
}

// check fails the test unless y holds the pass's result.
func (j *job) check(t *testing.T, b core.Backend, what string) {
	t.Helper()
	if err := j.verify(b); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// plausible fails the test unless the time of real work d is positive and within the wall time.
func plausible(t *testing.T, what string, d, wall time.Duration) {
	t.Helper()
	if d <= 0 || d > wall {
		t.Errorf("%s: TimeDevice = %v for real work, wall time around the call %v: want 0 < time <= wall", what, d, wall)
	}
}

func testTimeReal(t *testing.T, open Opener) {
	b := openTimer(t, open)
	j := newJob(t, b, 1)
	for _, reps := range []int{1, 4} {
		d, wall, err, done := b.timeDevice(t, fmt.Sprintf("%d passes", reps), func() error {
			for range reps {
				if err := j.run(b); err != nil {
					return err
				}
			}
			return nil
		})
		if !done {
			return
		}
		ok(t, err, "TimeDevice")
		plausible(t, fmt.Sprintf("%d passes", reps), d, wall)
		t.Logf("%d passes of %d elements: %v on the device, %v wall", reps, jobN, d, wall)
	}
	j.check(t, b, "after TimeDevice")
	d, wall, err, done := b.timeDevice(t, "no work", func() error { return nil })
	if done {
		ok(t, err, "TimeDevice with no work")
		if d < 0 || d > wall {
			t.Errorf("TimeDevice with no work = %v, wall %v", d, wall)
		}
	}
}

// testTimeConcurrent runs TimeDevice on four goroutines at once while a fifth queues plain passes:
// each call returns its own time (of work that includes the others', which is allowed) within its
// own wall time, and every result is right.
func testTimeConcurrent(t *testing.T, open Opener) {
	b := openTimer(t, open)
	const goroutines = 4
	jobs := make([]*job, goroutines+1)
	for i := range jobs {
		jobs[i] = newJob(t, b, i)
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for r := range 3 {
				what := fmt.Sprintf("goroutine %d round %d", g, r)
				d, wall, err, done := b.timeDevice(t, what, func() error {
					if err := jobs[g].run(b); err != nil {
						return err
					}
					return jobs[g].run(b)
				})
				if !done {
					return
				}
				if err != nil {
					t.Errorf("%s: %v", what, err)
					return
				}
				plausible(t, what, d, wall)
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if err := jobs[goroutines].run(b); err != nil {
				t.Errorf("a pass beside the TimeDevice calls: %v", err)
				return
			}
		}
	})
	if !within(wg.Wait) {
		b.hung.Store(true)
		t.Fatalf("concurrent TimeDevice calls did not all return within %v", hangAfter)
	}
	if b.hung.Load() {
		return
	}
	for i, j := range jobs {
		j.check(t, b, fmt.Sprintf("job %d", i))
	}
}

// testTimeNested calls TimeDevice from inside another TimeDevice's enqueue: the inner call returns
// the time of its own work, and the outer one a window that includes it.
func testTimeNested(t *testing.T, open Opener) {
	b := openTimer(t, open)
	outer, inner := newJob(t, b, 1), newJob(t, b, 2)
	var din, wallIn time.Duration
	var errIn error
	dout, wallOut, err, done := b.timeDevice(t, "outer", func() error {
		if err := outer.run(b); err != nil {
			return err
		}
		t0 := time.Now()
		din, errIn = b.TimeDevice(func() error { return inner.run(b) })
		wallIn = time.Since(t0)
		if errIn != nil {
			return errIn
		}
		return outer.run(b)
	})
	if !done {
		return
	}
	if errIn != nil {
		t.Fatalf("TimeDevice inside another's enqueue: %v", errIn)
	}
	ok(t, err, "the outer TimeDevice")
	plausible(t, "inner", din, wallIn)
	plausible(t, "outer", dout, wallOut)
	if dout < din {
		t.Errorf("the outer window (%v) is shorter than the inner one (%v) that it contains", dout, din)
	}
	outer.check(t, b, "outer job")
	inner.check(t, b, "inner job")
}

// testTimeEnqueueError: an enqueue that returns an error makes TimeDevice return that error, and the
// backend keeps working, TimeDevice included.
func testTimeEnqueueError(t *testing.T, open Opener) {
	b := openTimer(t, open)
	j := newJob(t, b, 1)
	failed := errors.New("backendtest: the enqueue function failed on purpose")
	_, _, err, done := b.timeDevice(t, "failing enqueue", func() error {
		if err := j.run(b); err != nil {
			return err
		}
		return failed
	})
	if !done {
		return
	}
	if !errors.Is(err, failed) {
		t.Fatalf("TimeDevice whose enqueue fails = %v, want the enqueue's error", err)
	}
	d, wall, err, done := b.timeDevice(t, "after a failed enqueue", func() error { return j.run(b) })
	if !done {
		return
	}
	ok(t, err, "TimeDevice after a failed enqueue")
	plausible(t, "after a failed enqueue", d, wall)
	j.check(t, b, "after a failed enqueue")
}

// testTimeEnqueuePanic: an enqueue that panics makes TimeDevice panic with the same value (recovered
// here), leaving nothing locked or recording: the backend, TimeDevice and Close still work.
func testTimeEnqueuePanic(t *testing.T, open Opener) {
	b := openTimer(t, open)
	j := newJob(t, b, 1)
	type boom struct{ n int }
	want := &boom{42}
	var got any
	if !within(func() {
		defer func() { got = recover() }()
		b.TimeDevice(func() error {
			if err := j.run(b); err != nil {
				return err
			}
			panic(want)
		})
	}) {
		b.hung.Store(true)
		t.Fatalf("TimeDevice whose enqueue panics did not return within %v", hangAfter)
	}
	if got != want {
		t.Fatalf("recovered %v from TimeDevice whose enqueue panicked, want the enqueue's panic value %v", got, want)
	}
	for r := range 3 {
		d, wall, err, done := b.timeDevice(t, "after the panic", func() error { return j.run(b) })
		if !done {
			return
		}
		ok(t, err, "TimeDevice after the panic")
		plausible(t, fmt.Sprintf("TimeDevice %d after the panic", r), d, wall)
	}
	var err error
	if !within(func() { err = j.verify(b) }) {
		b.hung.Store(true)
		t.Fatalf("Download after the panic did not return within %v", hangAfter)
	}
	if err != nil {
		t.Errorf("after the panic: %v", err)
	}
}

// testTimeCloseRacing closes a backend while TimeDevice calls run, at several points of their life:
// before, during and after their enqueue functions. Nothing may hang; each TimeDevice returns its
// result or ErrClosed, and ErrClosed for certain when Close had returned before its enqueue did; Close
// returns nil.
func testTimeCloseRacing(t *testing.T, open Opener) {
	for _, closeAfter := range []time.Duration{0, 20 * time.Millisecond, 60 * time.Millisecond, 250 * time.Millisecond} {
		t.Run(fmt.Sprintf("close-after-%v", closeAfter), func(t *testing.T) {
			b := mustOpen(t, open)
			tm := b.(core.Timer)
			ja, jb := newJob(t, b, 1), newJob(t, b, 2)
			var closed time.Time
			var closeErr error
			var mu sync.Mutex
			type result struct {
				d, wall     time.Duration
				enqueueDone time.Time
				err         error
			}
			var ra, rb result
			timeIt := func(r *result, j *job, sleep time.Duration) {
				t0 := time.Now()
				r.d, r.err = tm.TimeDevice(func() error {
					_ = j.run(b) // errors ignored: TimeDevice itself must say the backend closed
					time.Sleep(sleep)
					_ = j.run(b)
					mu.Lock()
					r.enqueueDone = time.Now()
					mu.Unlock()
					return nil
				})
				r.wall = time.Since(t0)
			}
			var wg sync.WaitGroup
			wg.Go(func() { timeIt(&ra, ja, 100*time.Millisecond) })
			wg.Go(func() {
				time.Sleep(20 * time.Millisecond)
				timeIt(&rb, jb, 50*time.Millisecond)
			})
			wg.Go(func() {
				time.Sleep(closeAfter)
				closeErr = b.Close()
				mu.Lock()
				closed = time.Now()
				mu.Unlock()
			})
			if !within(wg.Wait) {
				t.Fatalf("Close racing two TimeDevice calls: not all returned within %v", hangAfter)
			}
			if closeErr != nil {
				t.Errorf("Close: %v", closeErr)
			}
			for name, r := range map[string]result{"A": ra, "B": rb} {
				switch {
				case r.err == nil:
					if !r.enqueueDone.IsZero() && closed.Before(r.enqueueDone) {
						t.Errorf("TimeDevice %s: Close returned before its enqueue did, yet it returned %v and no error", name, r.d)
					}
					plausible(t, "TimeDevice "+name, r.d, r.wall)
				case !errors.Is(r.err, core.ErrClosed):
					t.Errorf("TimeDevice %s racing Close: %v, want its result or ErrClosed", name, r.err)
				}
			}
		})
	}
}

// testTimeClosed: TimeDevice on a closed backend returns ErrClosed without calling enqueue.
func testTimeClosed(t *testing.T, open Opener) {
	b := mustOpen(t, open)
	ok(t, b.Close(), "Close")
	called := false
	var err error
	if !within(func() { _, err = b.(core.Timer).TimeDevice(func() error { called = true; return nil }) }) {
		t.Fatalf("TimeDevice on a closed backend did not return within %v", hangAfter)
	}
	is(t, err, core.ErrClosed, "TimeDevice after Close")
	if called {
		t.Error("TimeDevice after Close called its enqueue function")
	}
}
