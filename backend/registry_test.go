package backend_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpuact/gpuact/backend"
)

func TestOpenCPU(t *testing.T) {
	b, err := backend.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Info().Platform != backend.PlatformCPU || b.Info().Spec != "cpu" {
		t.Errorf("Open(cpu) gave %+v", b.Info())
	}
}

func TestOpenBadSpec(t *testing.T) {
	for _, s := range []string{"", "gpu", "cpu:0", "cuda:x", "cuda:-1", "cuda:0:1", "opencl:0:1:2", "opencl:+1", "rocm"} {
		_, err := backend.Open(s)
		if !errors.Is(err, backend.ErrBadSpec) {
			t.Errorf("Open(%q): got %v, want ErrBadSpec", s, err)
		}
	}
}

func TestOpenUnavailable(t *testing.T) {
	// cuda:99 and opencl:99:99 do not exist on any machine this runs on.
	for _, s := range []string{"cuda:99", "opencl:99:99"} {
		_, err := backend.Open(s)
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("Open(%q): got %v, want ErrUnavailable", s, err)
		}
	}
}

func TestAutoOverride(t *testing.T) {
	t.Setenv(backend.EnvVar, "cpu")
	b, err := backend.Auto()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Info().Spec != "cpu" {
		t.Errorf("GPUACT_BACKEND=cpu gave %s", b.Info().Spec)
	}

	t.Setenv(backend.EnvVar, "cuda:7:7")
	if _, err := backend.Auto(); !errors.Is(err, backend.ErrBadSpec) || !strings.Contains(err.Error(), backend.EnvVar) {
		t.Errorf("malformed override: got %v, want ErrBadSpec naming %s", err, backend.EnvVar)
	}
	t.Setenv(backend.EnvVar, "cuda:99")
	if _, err := backend.Auto(); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("unavailable override: got %v, want ErrUnavailable (never a silent fallback)", err)
	}
}

func TestListAndChoose(t *testing.T) {
	t.Setenv(backend.EnvVar, "")
	list := backend.List()
	seen := map[backend.Platform]bool{}
	for _, d := range list {
		seen[d.Platform] = true
		if !d.Usable && d.Reason == "" {
			t.Errorf("%s is unusable without a reason", d.Spec)
		}
		if d.Usable && d.Open == nil {
			t.Errorf("%s is usable without an Open", d.Spec)
		}
		t.Log(d)
	}
	for _, p := range []backend.Platform{backend.PlatformCUDA, backend.PlatformOpenCL, backend.PlatformCPU} {
		if !seen[p] {
			t.Errorf("List has no entry for %s: every platform must be reported, usable or with a reason", p)
		}
	}
	b, skipped, err := backend.Choose()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, d := range skipped {
		if d.Usable || d.Reason == "" {
			t.Errorf("skipped %s without a reason", d.Spec)
		}
		if d.Spec == b.Info().Spec {
			t.Errorf("%s is both chosen and skipped", d.Spec)
		}
	}
	info := b.Info()
	if info.Platform == backend.PlatformOpenCL && info.Type == backend.DeviceCPU {
		t.Errorf("Auto chose an OpenCL CPU device (%s); it must prefer the native CPU backend", info.Spec)
	}
}

func TestParseActivation(t *testing.T) {
	for in, want := range map[string]string{
		"relu": "relu", "ReLU": "relu", "leakyrelu": "leakyrelu:0.01", "leaky_relu:0.2": "leakyrelu:0.2",
		"elu": "elu:1", "elu:-0.5": "elu:-0.5",
	} {
		a, err := backend.ParseActivation(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseActivation(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	for in, want := range map[string]error{
		"relu:1": backend.ErrBadActivation, "gelu": backend.ErrBadActivation, "elu:x": backend.ErrBadAlpha,
		"elu:nan": backend.ErrBadAlpha, "leakyrelu:inf": backend.ErrBadAlpha,
	} {
		if _, err := backend.ParseActivation(in); !errors.Is(err, want) {
			t.Errorf("ParseActivation(%q): got %v, want %v", in, err, want)
		}
	}
}

func TestHelpers(t *testing.T) {
	b, err := backend.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	buf, err := backend.FromSlice(b, []float64{1, -2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backend.ToSlice[float32](b, buf); !errors.Is(err, backend.ErrDTypeMismatch) {
		t.Errorf("ToSlice[float32] of a float64 buffer: got %v, want ErrDTypeMismatch", err)
	}
	if _, err := backend.ToSlice[float32](b, backend.Buffer{}); !errors.Is(err, backend.ErrNilBuffer) {
		t.Errorf("ToSlice of the zero Buffer: got %v, want ErrNilBuffer", err)
	}
	if err := backend.Run(b, backend.Pass(9), backend.ReLU(), buf, buf, buf); !errors.Is(err, backend.ErrBadActivation) {
		t.Errorf("Run with pass 9: got %v", err)
	}
	if _, err := backend.FromSlice(b, make([]float32, 0)); err != nil {
		t.Errorf("FromSlice of an empty slice: %v", err)
	}
}
