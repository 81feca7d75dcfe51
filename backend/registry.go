package backend

import (
	"fmt"
	"os"
	"strings"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/cuda"
	"github.com/gpuact/gpuact/backend/opencl"
)

// EnvVar names the environment variable that overrides Auto's choice: a spec such as "cpu", "cuda:1"
// or "opencl:0:1" (see Spec). An unusable or malformed value makes Auto fail rather than fall back.
const EnvVar = "GPUACT_BACKEND"

// platforms are searched in Auto's order of preference. Each returns every device it found, usable or
// not, or one unusable entry that says why it found none (no library, no driver, no device).
var platforms = []struct {
	p       core.Platform
	devices func() []core.Device
}{
	{core.PlatformCUDA, cuda.Devices},
	{core.PlatformOpenCL, opencl.Devices},
	{core.PlatformCPU, cpu.Devices},
}

// List returns every backend and device gpuact can see, in Auto's order of preference, with the reason
// why each unusable one cannot be used. It loads the GPU libraries the first time (a few milliseconds).
func List() []Device {
	var all []Device
	for _, pl := range platforms {
		all = append(all, pl.devices()...)
	}
	return all
}

func devicesOf(p core.Platform) []Device {
	for _, pl := range platforms {
		if pl.p == p {
			return pl.devices()
		}
	}
	return nil
}

// Auto opens the best backend: the value of GPUACT_BACKEND if it is set (an error if that backend is
// unusable or the value malformed), otherwise the first CUDA device that opens, then the first OpenCL
// GPU or accelerator, then the native CPU backend, which always opens. An OpenCL CPU device is never
// chosen by Auto: the native CPU backend is the better path on a CPU. Choose also reports what was
// skipped and why.
func Auto() (Backend, error) {
	b, _, err := Choose()
	return b, err
}

// Choose is Auto that also returns the devices it considered, in order, each with Usable and Reason
// saying why it was not chosen (the reason of a device that failed to open is its error).
func Choose() (Backend, []Device, error) {
	if s := os.Getenv(EnvVar); s != "" {
		b, err := Open(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%s=%q: %w", EnvVar, s, err)
		}
		return b, nil, nil
	}
	var seen []Device
	for _, d := range List() {
		eligible := d.Usable && (d.Platform != core.PlatformOpenCL || d.Type == core.DeviceGPU || d.Type == core.DeviceAccelerator)
		if !eligible {
			if d.Usable {
				d.Usable, d.Reason = false, "an OpenCL CPU device is used only when named (GPUACT_BACKEND="+d.Spec+"); the native CPU backend is faster"
			}
			seen = append(seen, d)
			continue
		}
		b, err := d.Open()
		if err == nil {
			return b, seen, nil
		}
		d.Usable, d.Reason = false, err.Error()
		seen = append(seen, d)
	}
	// Unreachable while the CPU backend opens unconditionally; kept so a broken build says so.
	return nil, seen, core.Errorf(ErrUnavailable, "auto", "Open", "", "no backend could be opened")
}

// Open opens the backend named by spec (see Spec): "cpu", "cuda", "cuda:N", "opencl", "opencl:P" or
// "opencl:P:D". A bare platform name opens its first usable device; for OpenCL, a GPU or accelerator
// before any other type. A malformed spec gives ErrBadSpec; a device that is absent or unusable gives
// ErrUnavailable with the reason.
func Open(spec string) (Backend, error) {
	sp, err := core.ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	if sp.Platform == core.PlatformCPU {
		return cpu.New(), nil
	}
	devs := devicesOf(sp.Platform)
	var match, preferred []Device
	for _, d := range devs {
		ds, err := core.ParseSpec(d.Spec)
		if err != nil || !hasPrefix(ds.Index, sp.Index) || len(ds.Index) == 0 {
			continue
		}
		match = append(match, d)
		if d.Usable && (d.Type == core.DeviceGPU || d.Type == core.DeviceAccelerator) {
			preferred = append(preferred, d)
		}
	}
	for _, d := range append(preferred, match...) {
		if d.Usable {
			return d.Open()
		}
	}
	var why []string
	for _, d := range devs {
		if !d.Usable {
			why = append(why, d.String())
		}
	}
	if len(match) == 0 {
		var have []string
		for _, d := range devs {
			if d.Usable {
				have = append(have, d.Spec)
			}
		}
		msg := "no such device"
		if len(have) > 0 {
			msg += " (usable: " + strings.Join(have, ", ") + ")"
		}
		if len(why) > 0 {
			msg += "; " + strings.Join(why, "; ")
		}
		return nil, core.Errorf(ErrUnavailable, sp.String(), "Open", "", "%s", msg)
	}
	return nil, core.Errorf(ErrUnavailable, sp.String(), "Open", "", "%s", strings.Join(why, "; "))
}

func hasPrefix(idx, prefix []int) bool {
	if len(prefix) > len(idx) {
		return false
	}
	for i, v := range prefix {
		if idx[i] != v {
			return false
		}
	}
	return true
}
