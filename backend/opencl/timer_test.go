package opencl

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/opencl/internal/clshim"
)

// TestTimeDevicePanicStopsRecording: an enqueue function that panics, recovered by the caller, must
// leave the backend not recording. It used to leave the recording on, so that every later command
// created an event that nothing released (RSS grew 12 MiB per 5·10^4 launches).
func TestTimeDevicePanicStopsRecording(t *testing.T) {
	s := useShim(t)
	b := s.open()
	x := upload(t, b, 4096, 1)
	y := upload(t, b, 4096, 2)
	const boom = "enqueue panicked"
	func() {
		defer func() {
			if r := recover(); r != boom {
				t.Fatalf("recovered %v, want the enqueue's panic %q", r, boom)
			}
		}()
		b.TimeDevice(func() error {
			if err := b.Forward(formula.ReLU(), y.buf, x.buf); err != nil {
				t.Error(err)
			}
			panic(boom)
		})
	}()
	ev0 := s.Objects(clshim.Event)
	const launches = 1000
	for range launches {
		if err := b.Forward(formula.ReLU(), y.buf, x.buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	ev := s.Objects(clshim.Event)
	if ev.Created != ev0.Created || ev.Live != s.base[clshim.Event] {
		t.Fatalf("%d launches after a TimeDevice whose enqueue panicked created %d events; %d are live", launches, ev.Created-ev0.Created, ev.Live-s.base[clshim.Event])
	}
	y.want = relu(x.want)
	y.check(t, b, "y")
}

// eventsBalance fails the test unless every event the shim saw created or retained since before was
// released exactly once per reference, and returns how many were created and retained.
func eventsBalance(t *testing.T, s *shimmed, before clshim.Counts) (created, retained int64) {
	t.Helper()
	ev := s.Objects(clshim.Event)
	created, retained = ev.Created-before.Created, ev.Retained-before.Retained
	if released := ev.Released - before.Released; ev.Live != before.Live || released != created+retained {
		t.Errorf("events: %d created, %d retained, %d released, %+d live; want every reference released once", created, retained, released, ev.Live-before.Live)
	}
	return created, retained
}

// TestTimeDeviceEvents times overlapping windows, concurrent and nested, with transfers and copies in
// them as well as launches: each window's events are held once per recording that has them (retained
// for the second), and released exactly once each, by the call that recorded them.
func TestTimeDeviceEvents(t *testing.T) {
	s := useShim(t)
	b := s.open()
	x := upload(t, b, 1<<16, 1)
	y := upload(t, b, 1<<16, 2)
	z := upload(t, b, 1<<16, 3)
	host := make([]float32, 1<<16)
	before := s.Objects(clshim.Event)
	var inner time.Duration
	outer, err := b.TimeDevice(func() error {
		if err := b.Forward(formula.ReLU(), y.buf, x.buf); err != nil {
			return err
		}
		var err error
		inner, err = b.TimeDevice(func() error {
			return errors.Join(b.Copy(z.buf, y.buf), b.Upload(x.buf, core.HostOf(x.want)), b.Download(core.HostOf(host), z.buf))
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if inner <= 0 || outer < inner {
		t.Errorf("outer window %v, inner %v: want 0 < inner <= outer", outer, inner)
	}
	created, retained := eventsBalance(t, s, before)
	// The outer window has four commands, three of them also in the inner window.
	if created != 4 || retained != 3 {
		t.Errorf("nested TimeDevice: %d events created, %d retained; want 4 and 3", created, retained)
	}
	y.want = relu(x.want)
	y.check(t, b, "y")
	data{z.buf, y.want}.check(t, b, "z")

	// Four windows open at once, each with one launch queued while all four are open: each event is
	// in every window, so it is retained three times.
	before = s.Objects(clshim.Event)
	var wg, open, queued sync.WaitGroup
	open.Add(4)
	queued.Add(4)
	for range 4 {
		wg.Go(func() {
			d, err := b.TimeDevice(func() error {
				open.Done()
				open.Wait()
				err := b.Forward(formula.ReLU(), y.buf, x.buf)
				queued.Done()
				queued.Wait()
				return err
			})
			if err != nil || d <= 0 {
				t.Errorf("concurrent TimeDevice: %v, %v", d, err)
			}
		})
	}
	wg.Wait()
	if created, retained := eventsBalance(t, s, before); created != 4 || retained != 12 {
		t.Errorf("four overlapping windows of one launch each: %d events created, %d retained; want 4 and 12", created, retained)
	}
}

// TestTimeDeviceCloseRacing closes the backend while a TimeDevice's enqueue runs: TimeDevice returns
// ErrClosed, and Close released the recording's events, once.
func TestTimeDeviceCloseRacing(t *testing.T) {
	s := useShim(t)
	b := s.open()
	x := upload(t, b, 1<<16, 1)
	y := upload(t, b, 1<<16, 2)
	before := s.Objects(clshim.Event)
	queued, closed := make(chan struct{}), make(chan error)
	go func() {
		<-queued
		closed <- b.Close()
	}()
	_, err := b.TimeDevice(func() error {
		for range 3 {
			if err := b.Forward(formula.ReLU(), y.buf, x.buf); err != nil {
				return err
			}
		}
		close(queued)
		if err := <-closed; err != nil {
			t.Errorf("Close: %v", err)
		}
		return nil
	})
	if !errors.Is(err, core.ErrClosed) {
		t.Fatalf("TimeDevice whose backend closed while its enqueue ran: %v, want ErrClosed", err)
	}
	if created, _ := eventsBalance(t, s, before); created != 3 {
		t.Errorf("%d events created, want 3", created)
	}
}

// TestTimeDeviceFaults fails the calls TimeDevice makes itself: it returns ErrDevice naming the call,
// releases its events, and the next TimeDevice works.
func TestTimeDeviceFaults(t *testing.T) {
	s := useShim(t)
	b := s.open()
	x := upload(t, b, 1<<16, 1)
	y := upload(t, b, 1<<16, 2)
	run := func() error { return b.Forward(formula.ReLU(), y.buf, x.buf) }
	for _, c := range []struct {
		fn     string
		status string
		code   int32
	}{
		{"clFinish", "CL_OUT_OF_RESOURCES", clshim.OutOfResources},
		{"clWaitForEvents", "CL_OUT_OF_RESOURCES", clshim.OutOfResources},
		{"clGetEventProfilingInfo", "CL_OUT_OF_RESOURCES", clshim.OutOfResources},
		{"clEnqueueNDRangeKernel", "CL_OUT_OF_RESOURCES", clshim.OutOfResources}, // in enqueue: its error
	} {
		t.Run(c.fn, func(t *testing.T) {
			before := s.Objects(clshim.Event)
			s.fail(c.fn, 1, 1, c.code)
			_, err := b.TimeDevice(func() error {
				if err := run(); err != nil {
					return err
				}
				return run()
			})
			isCL(t, err, core.ErrDevice, c.fn, c.status, "TimeDevice")
			if s.failed(c.fn) != 1 {
				t.Fatal("the fault was not injected")
			}
			eventsBalance(t, s, before)
			if d, err := b.TimeDevice(run); err != nil || d <= 0 {
				t.Fatalf("TimeDevice after the fault: %v, %v", d, err)
			}
		})
	}
	// clRetainEvent fails for the one command two windows share: the window that lacks it says so, the
	// other is complete.
	t.Run("clRetainEvent", func(t *testing.T) {
		before := s.Objects(clshim.Event)
		s.fail("clRetainEvent", 1, 1, clshim.OutOfHostMemory)
		var innerErr error
		_, outerErr := b.TimeDevice(func() error {
			_, innerErr = b.TimeDevice(run)
			return nil
		})
		if (innerErr == nil) == (outerErr == nil) {
			t.Fatalf("inner TimeDevice: %v; outer: %v; want exactly one to fail", innerErr, outerErr)
		}
		isCL(t, errors.Join(innerErr, outerErr), core.ErrDevice, "clRetainEvent", "CL_OUT_OF_HOST_MEMORY", "TimeDevice")
		eventsBalance(t, s, before)
	})
}
