package cuda_test

import (
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// Every fault the emulated driver can inject, with the outcome the backend documents: the right sentinel
// at the call that meets the fault, no other buffer changed, the backend still usable unless the fault is
// sticky (then a clear error from every call), and Close releasing everything in every case (openEmu
// checks that after each test).

// TestFaultLaunchAtSync: a launch that fails on the device is reported by the next synchronising call
// (Sync or Download), once, whichever calls come in between: Free and Upload may wait for the device
// too, but they are not where the error is reported.
func TestFaultLaunchAtSync(t *testing.T) {
	e, b := openEmu(t)
	x, y, z := keep(t, b, 3000), keep(t, b, 3000), keep(t, b, 10)
	for _, between := range []string{"nothing", "Free", "Upload", "large Upload"} {
		e.FailLaunch(1, cudaemu.AtSync)
		if err := b.Forward(core.ELU(1), y.buf, x.buf); err != nil {
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
			w, err := b.Alloc(core.Float32, 5<<18)
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
	if err := b.Forward(core.ReLU(), y.buf, x.buf); err != nil {
		t.Fatal(err)
	}
	err := b.Download(core.HostOf(make([]float32, 10)), z.buf)
	isDriverError(t, err, core.ErrDevice, "CUDA_ERROR_LAUNCH_FAILED", "Download after a failed kernel")
	works(t, b, "after a failed kernel")
}
