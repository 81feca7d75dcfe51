package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend"
)

// corrupt is the CPU backend with a bug: Forward writes a wrong value into the middle element.
type corrupt struct{ backend.Backend }

func (c corrupt) Info() backend.Info {
	i := c.Backend.Info()
	i.Spec, i.Name = "corrupt", "CPU backend with a wrong Forward"
	return i
}

func (c corrupt) Forward(act backend.Activation, y, x backend.Buffer) error {
	if err := c.Backend.Forward(act, y, x); err != nil {
		return err
	}
	return addOne(c.Backend, y)
}

// addOne adds 1 to the middle element of buf.
func addOne(b backend.Backend, buf backend.Buffer) error {
	mid, err := buf.Slice(buf.Len()/2, buf.Len()/2+1)
	if err != nil {
		return err
	}
	switch dt := buf.DType(); dt {
	case backend.Float32:
		return addOneTo[float32](b, mid)
	case backend.Float64:
		return addOneTo[float64](b, mid)
	case backend.Float16:
		return addOneTo[backend.F16](b, mid)
	case backend.BFloat16:
		return addOneTo[backend.BF16](b, mid)
	default:
		return fmt.Errorf("corrupt: no way to add one to a %s element", dt)
	}
}

// addOneTo adds 1 to the one element of buf, a buffer of T.
func addOneTo[T backend.Elem](b backend.Backend, buf backend.Buffer) error {
	v := []T{0}
	if err := backend.Download(b, v, buf); err != nil {
		return err
	}
	v[0] = toStorage[T](fromStorage(v[0]) + 1)
	return backend.Upload(b, buf, v)
}

// fakeGPU is the CPU backend dressed as an asynchronous CUDA device with an event timer and the Detail
// keys a GPU backend reports, so that the GPU code paths run on a machine without one.
type fakeGPU struct {
	backend.Backend
	spec string
}

var _ backend.Timer = fakeGPU{}

func (f fakeGPU) Info() backend.Info {
	i := f.Backend.Info()
	i.Spec, i.Platform, i.Type, i.Name, i.Vendor = f.spec, backend.PlatformCUDA, backend.DeviceGPU, "Fake H100", "NVIDIA"
	i.Details[backend.DetailCacheBytes] = "1048576"
	i.Details[backend.DetailMemoryClockKHz] = "2619000"
	i.Details[backend.DetailMemoryBusBits] = "5120"
	return i
}

// TimeDevice times enqueue on the host: the CPU backend finishes every call before returning.
func (f fakeGPU) TimeDevice(enqueue func() error) (time.Duration, error) {
	if err := f.Sync(); err != nil {
		return 0, err
	}
	t0 := time.Now()
	err := enqueue()
	if err == nil {
		err = f.Sync()
	}
	return time.Since(t0), err
}

// failing is the CPU backend whose BackwardFromInput fails as a lost GPU would.
type failing struct{ backend.Backend }

func (f failing) Info() backend.Info {
	i := f.Backend.Info()
	i.Spec = "failing"
	return i
}

func (f failing) BackwardFromInput(act backend.Activation, dx, dy, x backend.Buffer) error {
	return fmt.Errorf("%w: device lost (test)", backend.ErrDevice)
}

// smallMemory is the CPU backend with little memory: an Alloc of more than limit elements fails with
// ErrOutOfMemory, as a GPU's would.
type smallMemory struct {
	backend.Backend
	limit int
}

func (s smallMemory) Info() backend.Info {
	i := s.Backend.Info()
	i.Spec = "small"
	return i
}

func (s smallMemory) Alloc(dt backend.DType, n int) (backend.Buffer, error) {
	if n > s.limit {
		return backend.Buffer{}, fmt.Errorf("%w: %d elements (test)", backend.ErrOutOfMemory, n)
	}
	return s.Backend.Alloc(dt, n)
}

// testEnv is the real environment with three extra backend specs (corrupt, fakegpu, failing), a fixed
// 1 MiB CPU cache and no progress bar.
func testEnv(stdout, stderr io.Writer) *env {
	e := defaultEnv(stdout, stderr)
	e.progress = false
	e.interrupts = nil // a test that wants them sets its own
	e.llc = func() (int64, bool) { return 1 << 20, true }
	e.open = func(spec string) (backend.Backend, error) {
		wrap := map[string]func(backend.Backend) backend.Backend{
			"corrupt": func(b backend.Backend) backend.Backend { return corrupt{b} },
			"fakegpu": func(b backend.Backend) backend.Backend { return fakeGPU{b, "cuda:7"} },
			"failing": func(b backend.Backend) backend.Backend { return failing{b} },
		}[spec]
		if wrap == nil {
			return backend.Open(spec)
		}
		b, err := backend.Open("cpu")
		if err != nil {
			return nil, err
		}
		return wrap(b), nil
	}
	return e
}

// small keeps a run to a fraction of a second: 2 sizes, 1 ms per timing, no warm-up.
var small = []string{"-n", "1000,2^12", "-time", "1ms", "-warmup", "0"}

type result struct {
	code           int
	stdout, stderr string
}

func runTest(t *testing.T, args ...string) result {
	t.Helper()
	return runEnvTest(t, nil, args...)
}

// runEnvTest runs gpubench in testEnv, changed by edit when it is not nil.
func runEnvTest(t *testing.T, edit func(*env), args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := testEnv(&out, &errb)
	if edit != nil {
		edit(e)
	}
	code := e.run(args)
	return result{code, out.String(), errb.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, strings.TrimSpace(r.stderr))
}
