package cuda

import (
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
)

// TimeDevice holds no lock while the caller's enqueue runs: enqueue calls back into the backend (which
// takes its own leases), may call TimeDevice itself, or may race Close, and a lock held across it would
// deadlock with any of these. So every call takes a pair of events of its own from a pool the backend
// owns, records the start under a short lease, runs enqueue with nothing held, and records the end under
// another lease; Close destroys every pair ever made, and a TimeDevice that finds the backend closed
// after its enqueue returns ErrClosed without touching its events.

// eventPair is one TimeDevice window's events.
type eventPair struct{ start, end cu.Event }

// timers is the pool of event pairs.
type timers struct {
	mu     sync.Mutex
	idle   []eventPair
	all    []eventPair // every pair made, for Close
	closed bool
}

// init makes one pair up front (Open, the context current): the common case makes none later, and a
// driver that cannot make events fails Open, not the middle of a benchmark.
func (t *timers) init(d *cu.Driver) error {
	p, err := t.get(d)
	if err != nil {
		return err
	}
	t.put(p)
	return nil
}

// get returns an idle pair, or makes one (the context current).
func (t *timers) get(d *cu.Driver) (eventPair, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.idle); n > 0 {
		p := t.idle[n-1]
		t.idle = t.idle[:n-1]
		return p, nil
	}
	var p eventPair
	var err error
	if p.start, err = d.EventCreate(cu.EventDefault); err != nil {
		return p, err
	}
	if p.end, err = d.EventCreate(cu.EventDefault); err != nil {
		return p, errors.Join(err, d.EventDestroy(p.start))
	}
	t.all = append(t.all, p)
	return p, nil
}

// put returns a pair to the pool; after Close, whose destroy has released it, it is dropped.
func (t *timers) put(p eventPair) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.idle = append(t.idle, p)
	}
}

// destroy destroys every pair (Close, the context current), in use or not.
func (t *timers) destroy(d *cu.Driver) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	var errs []error
	for _, p := range t.all {
		errs = append(errs, d.EventDestroy(p.start), d.EventDestroy(p.end))
	}
	t.all, t.idle = nil, nil
	return errors.Join(errs...)
}

// TimeDevice waits for queued work, records an event, calls enqueue, records another and returns the
// device time between them (CUDA events, about 0.5 µs resolution). Work other goroutines queue on this
// backend meanwhile is timed too; concurrent and nested calls each time their own window. TimeDevice
// returns ErrClosed if the backend is closed before the window ends, enqueue's error if it fails, and
// lets a panic in enqueue propagate, holding nothing.
func (b *Backend) TimeDevice(enqueue func() error) (time.Duration, error) {
	p, err := b.startWindow()
	if err != nil {
		return 0, b.wrap("TimeDevice", err)
	}
	defer b.timers.put(p) // also when enqueue panics
	if err := enqueue(); err != nil {
		return 0, err // as enqueue returned it: it is the caller's
	}
	d, err := b.endWindow(p)
	return d, b.wrap("TimeDevice", err)
}

// startWindow waits for queued work and records a window's start on a pair of its own.
func (b *Backend) startWindow() (eventPair, error) {
	l, err := b.owner.Begin("TimeDevice")
	if err != nil {
		return eventPair{}, err
	}
	defer l.End()
	if err := b.enter(); err != nil {
		return eventPair{}, err
	}
	defer runtime.UnlockOSThread()
	p, err := b.timers.get(b.drv)
	if err != nil {
		return p, err
	}
	err = b.reportAsync(b.drv.StreamSynchronize(b.stream))
	if err == nil {
		err = b.drv.EventRecord(p.start, b.stream)
	}
	if err != nil {
		b.timers.put(p)
		return eventPair{}, err
	}
	return p, nil
}

// endWindow records the window's end, waits for it and returns its length.
func (b *Backend) endWindow(p eventPair) (time.Duration, error) {
	l, err := b.owner.Begin("TimeDevice") // closed meanwhile: Close has destroyed the events
	if err != nil {
		return 0, err
	}
	defer l.End()
	if err := b.enter(); err != nil {
		return 0, err
	}
	defer runtime.UnlockOSThread()
	if err := b.drv.EventRecord(p.end, b.stream); err != nil {
		return 0, err
	}
	if err := b.reportAsync(b.drv.EventSynchronize(p.end)); err != nil {
		return 0, err
	}
	return b.drv.EventElapsed(p.start, p.end)
}
