package cuda_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// Every fault the emulated driver can inject, with the outcome the backend documents: the right sentinel
// at the call that meets the fault, no other buffer changed, the backend still usable unless the fault is
// sticky (then a clear error from every call), and Close releasing everything in every case (openEmu
// checks that after each test).

func TestFaultAllocOutOfMemory(t *testing.T) {
	e, b := openEmu(t)
	k := keep(t, b, 5000)
	before, err := b.Memory()
	if err != nil {
		t.Fatal(err)
	}
	// More than the device has: the retry after giving back the pooled memory fails too.
	_, err = b.Alloc(formula.Float64, int(before.Total/8)+1)
	isDriverError(t, err, core.ErrOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", "Alloc of more than the device's memory")
	// One transient out-of-memory: Alloc gives the pool back and tries again, and that succeeds.
	e.Fail(cudaemu.FaultAlloc, 1)
	x, err := b.Alloc(formula.Float64, 100)
	if err != nil {
		t.Errorf("Alloc meeting one injected out-of-memory, retried: %v", err)
	} else {
		b.Free(x)
	}
	e.Fail(cudaemu.FaultAlloc, 0)
	after, err := b.Memory()
	if err != nil {
		t.Fatal(err)
	}
	if after.InUse != before.InUse || after.Buffers != before.Buffers {
		t.Errorf("a failed Alloc changed the backend's use: %+v -> %+v", before, after)
	}
	k.check(t, b, "after a failed Alloc")
	works(t, b, "after a failed Alloc")
}

func TestFaultLaunchAtLaunch(t *testing.T) {
	e, b := openEmu(t)
	x, y := keep(t, b, 3000), keep(t, b, 3000)
	e.FailLaunch(1, cudaemu.AtLaunch)
	err := b.Forward(formula.ELU(1), y.buf, x.buf)
	isDriverError(t, err, core.ErrDevice, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "Forward meeting a failed launch")
	if err := b.Sync(); err != nil {
		t.Errorf("Sync after a launch that failed at the call: %v", err)
	}
	y.check(t, b, "the output of a failed launch")
	x.check(t, b, "the input of a failed launch")
	works(t, b, "after a failed launch")
}

// TestFaultLaunchAtSync: a launch that fails on the device is reported by the next synchronising call
// (Sync or Download), once, whichever calls come in between: Free and Upload may wait for the device
// too, but they are not where the error is reported.
func TestFaultLaunchAtSync(t *testing.T) {
	e, b := openEmu(t)
	x, y, z := keep(t, b, 3000), keep(t, b, 3000), keep(t, b, 10)
	for _, between := range []string{"nothing", "Free", "Upload", "large Upload"} {
		e.FailLaunch(1, cudaemu.AtSync)
		if err := b.Forward(formula.ELU(1), y.buf, x.buf); err != nil {
			t.Fatalf("Forward: %v (the failure is the device's, later)", err)
		}
		switch between {
		case "Free":
			if err := b.Free(z.buf); err != nil {
				t.Errorf("Free: %v", err)
			}
			z = keep(t, b, 10)
		case "Upload":
			if err := b.Upload(z.buf, core.HostOf(z.data)); err != nil {
				t.Errorf("Upload: %v", err)
			}
		case "large Upload": // larger than any staging the backend may keep: it waits for its own copies
			w, err := b.Alloc(formula.Float32, 5<<18)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Upload(w, core.HostOf(make([]float32, 5<<18))); err != nil {
				t.Errorf("Upload: %v", err)
			}
			b.Free(w)
		}
		err := b.Sync()
		isDriverError(t, err, core.ErrDevice, "CUDA_ERROR_LAUNCH_FAILED", "Sync after a failed kernel and "+between)
		if err := b.Sync(); err != nil {
			t.Errorf("a second Sync reports %v: the error was reported already", err)
		}
		y.check(t, b, "the output of a failed kernel")
		x.check(t, b, "the input of a failed kernel")
		z.check(t, b, "a bystander")
	}
	// Download reports it too.
	e.FailLaunch(1, cudaemu.AtSync)
	if err := b.Forward(formula.ReLU(), y.buf, x.buf); err != nil {
		t.Fatal(err)
	}
	err := b.Download(core.HostOf(make([]float32, 10)), z.buf)
	isDriverError(t, err, core.ErrDevice, "CUDA_ERROR_LAUNCH_FAILED", "Download after a failed kernel")
	works(t, b, "after a failed kernel")
}

// TestFaultSticky: after a sticky CUDA_ERROR_ILLEGAL_ADDRESS every call that reaches the driver fails
// with ErrDevice naming it, Close still releases everything, and a new Open gets a fresh context.
func TestFaultSticky(t *testing.T) {
	e, b := openEmu(t)
	x, y := keep(t, b, 3000), keep(t, b, 3000)
	e.FailLaunch(1, cudaemu.Sticky)
	const code = "CUDA_ERROR_ILLEGAL_ADDRESS"
	// The kernel is queued without error; TimeDevice, waiting for it, is the first to hear.
	_, err := b.TimeDevice(func() error { return b.Forward(formula.ELU(1), y.buf, x.buf) })
	isDriverError(t, err, core.ErrDevice, code, "TimeDevice of a kernel meeting an illegal address")
	host := core.HostOf(make([]float32, 3000))
	calls := []struct {
		name string
		call func() error
	}{
		{"Sync", b.Sync},
		{"Alloc", func() error { _, err := b.Alloc(formula.Float32, 10); return err }},
		{"Upload", func() error { return b.Upload(x.buf, host) }},
		{"Download", func() error { return b.Download(host, x.buf) }},
		{"Copy", func() error { return b.Copy(y.buf, x.buf) }},
		{"Memory", func() error { _, err := b.Memory(); return err }},
		{"TimeDevice", func() error { _, err := b.TimeDevice(func() error { return nil }); return err }},
		{"Free", func() error { return b.Free(y.buf) }},
	}
	for _, p := range formula.Passes {
		calls = append(calls, struct {
			name string
			call func() error
		}{p.String(), func() error { return core.Run(b, p, formula.ReLU(), x.buf, x.buf, x.buf) }})
	}
	for _, c := range calls {
		isDriverError(t, c.call(), core.ErrDevice, code, c.name+" after an illegal address")
	}
	isDriverError(t, b.Close(), core.ErrDevice, code, "Close after an illegal address")
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if live := e.Live(); live != (cudaemu.Live{}) {
		t.Errorf("Close after a sticky error left %v", live)
	}
	b2, err := cuda.Open(0)
	if err != nil {
		t.Fatalf("Open after the broken context was released: %v", err)
	}
	defer b2.Close()
	works(t, b2, "a new backend after a sticky error")
}

// TestFaultOpen: a failure of any call Open makes leaves nothing behind, is ErrUnavailable naming the
// driver's error, and the next Open works.
func TestFaultOpen(t *testing.T) {
	e := cudaemu.Require(t)
	releasedAfter(t, e)
	b, err := cuda.Open(0) // how many events and pinned blocks Open makes
	if err != nil {
		t.Fatal(err)
	}
	events, blocks := e.Count(cudaemu.LiveEvents), e.Count(cudaemu.LiveHostAllocs)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	type fault struct {
		call string
		kind cudaemu.Fault
		nth  int
		code string
	}
	faults := []fault{{"cuModuleLoadData", cudaemu.FaultModule, 1, "CUDA_ERROR_NO_BINARY_FOR_GPU"},
		{"cuStreamCreate", cudaemu.FaultStream, 1, "CUDA_ERROR_OUT_OF_MEMORY"}}
	for i := range events {
		faults = append(faults, fault{"cuEventCreate", cudaemu.FaultEvent, int(i) + 1, "CUDA_ERROR_OUT_OF_MEMORY"})
	}
	for i := range blocks {
		faults = append(faults, fault{"cuMemHostAlloc", cudaemu.FaultHostAlloc, int(i) + 1, "CUDA_ERROR_OUT_OF_MEMORY"})
	}
	for _, f := range faults {
		t.Run(fmt.Sprintf("%s#%d", f.call, f.nth), func(t *testing.T) {
			e.Fail(f.kind, f.nth)
			b, err := cuda.Open(0)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded")
			}
			isDriverError(t, err, core.ErrUnavailable, f.code, "Open")
			if live := e.Live(); live != (cudaemu.Live{}) {
				t.Errorf("a failed Open left %v", live)
			}
			b, err = cuda.Open(0)
			if err != nil {
				t.Fatalf("Open after a failed one: %v", err)
			}
			works(t, b, "after a failed Open")
			if err := b.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestFaultTimerEvents: when TimeDevice needs more events than the backend has (concurrent calls) and
// the driver cannot make them, TimeDevice fails with the driver's error and the backend keeps working.
func TestFaultTimerEvents(t *testing.T) {
	e, b := openEmu(t)
	e.Fail(cudaemu.FaultEvent, 1)
	var inner, outer error
	within(t, 10*time.Second, "nested TimeDevice", func() {
		_, outer = b.TimeDevice(func() error {
			_, inner = b.TimeDevice(func() error { return nil }) // needs a second pair of events
			return nil
		})
	})
	if outer != nil {
		t.Errorf("outer TimeDevice: %v", outer)
	}
	isDriverError(t, inner, core.ErrOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", "TimeDevice that cannot make its events")
	works(t, b, "after a TimeDevice without events")
	if _, err := b.TimeDevice(func() error { return nil }); err != nil {
		t.Errorf("TimeDevice after one failed: %v", err)
	}
}

// TestSlowKernels: Free, TimeDevice and Close meet kernels still running (200 ms each): Free returns at
// once and Close waits for them (the emulator counts a violation if memory is freed under queued work),
// TimeDevice's window holds them.
func TestSlowKernels(t *testing.T) {
	e, b := openEmu(t)
	x, y := keep(t, b, 5000), keep(t, b, 5000)
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	const slow = 200 * time.Millisecond
	e.SetDelays(-1, slow)
	if err := b.Forward(formula.ReLU(), y.buf, x.buf); err != nil {
		t.Fatal(err)
	}
	// Free does not wait for the kernel that reads x: the pool reuses x's memory only for work queued
	// after the kernel (the emulator counts a violation if memory is freed or reused under queued work).
	t0 := time.Now()
	if err := b.Free(x.buf); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > slow/2 {
		t.Errorf("Free returned after %v: it waited for the kernel using its buffer", d)
	}
	d, err := b.TimeDevice(func() error { return b.Forward(formula.ReLU(), y.buf, y.buf) })
	if err != nil || d < slow {
		t.Errorf("TimeDevice of a %v kernel = %v, %v", slow, d, err)
	}
	if err := b.Forward(formula.ReLU(), y.buf, y.buf); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close with a kernel in flight: %v", err)
	}
	if !errors.Is(b.Sync(), core.ErrClosed) {
		t.Error("Sync after Close is not ErrClosed")
	}
}
