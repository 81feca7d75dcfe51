package cu

import (
	"errors"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/internal/cudaemu"
	"github.com/gpuact/gpuact/kernels"
)

// The binding's calls against the emulated driver (internal/cudaemu), and the emulator's own checks:
// each misuse the backend must never commit is shown to be counted as a violation.

func TestMain(m *testing.M) { os.Exit(cudaemu.Main(m)) }

// session is a driver with device dev's primary context current on the test's locked OS thread, and a
// stream; it releases everything when the test ends.
type session struct {
	d   *Driver
	dev Device
	ctx Context
	s   Stream
}

func open(t *testing.T, dev int) *session {
	t.Helper()
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	x := &session{d: d, dev: Device(dev)}
	if x.ctx, err = d.PrimaryCtxRetain(x.dev); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.PrimaryCtxRelease(x.dev); err != nil {
			t.Error(err)
		}
	})
	x.current(t)
	if x.s, err = d.StreamCreate(StreamNonBlocking); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		x.current(t)
		if err := d.StreamDestroy(x.s); err != nil {
			t.Error(err)
		}
	})
	return x
}

func (x *session) current(t *testing.T) {
	t.Helper()
	if err := x.d.CtxSetCurrent(x.ctx); err != nil {
		t.Fatal(err)
	}
}

// must is for calls that cannot fail unless the emulator is broken: must(d.MemAlloc(64)). It panics,
// which fails the test run with the error, because Go cannot pass a T and a two-value call together.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func floats(p []float32) unsafe.Pointer { return unsafe.Pointer(&p[0]) }

func TestDevice(t *testing.T) {
	cudaemu.Require(t)
	d := must(Load())
	if n := must(d.DeviceCount()); n < 2 {
		t.Fatalf("%d devices, want the emulator's 2", n)
	}
	dev := must(d.DeviceGet(1))
	if name := must(d.DeviceName(dev)); !strings.Contains(name, "cudaemu") {
		t.Errorf("name %q", name)
	}
	if v := must(d.DriverVersion()); v < 11000 {
		t.Errorf("driver version %d", v)
	}
	for _, a := range []int{AttrMaxThreadsPerBlock, AttrClockRate, AttrMultiprocessorCount, AttrPCIBusID,
		AttrMemoryClockRate, AttrGlobalMemoryBusWidth, AttrL2CacheSize, AttrMaxThreadsPerMultiproc, AttrComputeCapabilityMajor} {
		if v := must(d.DeviceAttribute(dev, a)); v <= 0 {
			t.Errorf("attribute %d = %d", a, v)
		}
	}
	if m := must(d.DeviceTotalMem(dev)); m <= 0 {
		t.Errorf("total memory %d", m)
	}
	_, err := d.DeviceGet(99)
	if !IsCode(err, 101) || !errors.Is(err, core.ErrDevice) || !strings.Contains(err.Error(), "CUDA_ERROR_INVALID_DEVICE") {
		t.Errorf("DeviceGet(99): %v", err)
	}
	if _, err := d.DeviceAttribute(dev, 9999); !IsCode(err, ErrorInvalidValue) {
		t.Errorf("an unknown attribute: %v", err)
	}
}

// TestCopiesAndKernels: memory, copies, a real kernel, events and their timing.
func TestCopiesAndKernels(t *testing.T) {
	e := cudaemu.Require(t)
	x := open(t, 0)
	d := x.d
	const n = 1000
	free0, total := must2(t, d.MemGetInfo)
	p := must(d.MemAlloc(2 * n * 4))
	if free1, _ := must2(t, d.MemGetInfo); free1 != free0-2*n*4 || total <= 0 {
		t.Errorf("free memory %d -> %d after allocating %d bytes", free0, free1, 2*n*4)
	}
	in := make([]float32, n)
	for i := range in {
		in[i] = float32(i) - 500
	}
	nan := make([]float32, n)
	for i := range nan {
		nan[i] = math.Float32frombits(0xffffffff)
	}
	ok(t, d.MemcpyHtoDAsync(p, floats(in), n*4, x.s))
	ok(t, d.MemcpyHtoDAsync(p+n*4, floats(nan), n*4, x.s)) // NaN bits in the output
	ok(t, d.MemcpyDtoDAsync(p+n*4, p, 4, x.s))

	mod := must(d.ModuleLoadData(kernels.CUDAFatbin))
	defer d.ModuleUnload(mod)
	fn := must(d.ModuleGetFunction(mod, "gpuact_relu_fwd_f32_scalar"))
	if v := must(d.FuncAttribute(fn, FuncAttributeMaxThreadsBlock)); v != 256 {
		t.Errorf("max threads per block %d, want the kernels' launch bound 256", v)
	}
	if _, err := d.ModuleGetFunction(mod, "no_such_kernel"); !IsCode(err, 500) {
		t.Errorf("an unknown kernel: %v", err)
	}
	start, end := must(d.EventCreate(EventDefault)), must(d.EventCreate(EventDefault))
	defer d.EventDestroy(start)
	defer d.EventDestroy(end)
	if _, err := d.EventElapsed(start, end); !IsCode(err, 400) {
		t.Errorf("elapsed time of events never recorded: %v, want CUDA_ERROR_INVALID_HANDLE", err)
	}
	e.SetDelays(-1, 20*time.Millisecond)
	ok(t, d.EventRecord(start, x.s))
	// The kernels' parameters: out, a, b, n, α, α's mantissa and exponent, the exp cutoff.
	args := struct {
		out, a, b, n uint64
		alpha, am    float32
		ae           int32
		xcut         float32
	}{uint64(p) + n*4, uint64(p), 0, n, 0, 0, 0, 0}
	params := []unsafe.Pointer{unsafe.Pointer(&args.out), unsafe.Pointer(&args.a), unsafe.Pointer(&args.b), unsafe.Pointer(&args.n),
		unsafe.Pointer(&args.alpha), unsafe.Pointer(&args.am), unsafe.Pointer(&args.ae), unsafe.Pointer(&args.xcut)}
	var pinner runtime.Pinner
	pinner.Pin(&args)
	defer pinner.Unpin()
	ok(t, d.LaunchKernel(fn, 3, 256, x.s, unsafe.Pointer(&params[0])))
	ok(t, d.EventRecord(end, x.s))
	if _, err := d.EventElapsed(start, end); !IsCode(err, ErrorNotReady) {
		t.Errorf("elapsed time before the events completed: %v, want CUDA_ERROR_NOT_READY", err)
	}
	ok(t, d.EventSynchronize(end))
	if dt := must(d.EventElapsed(start, end)); dt < 20*time.Millisecond {
		t.Errorf("a 20 ms kernel timed at %v", dt)
	}
	out := make([]float32, n)
	ok(t, d.MemcpyDtoHAsync(floats(out), p+n*4, n*4, x.s))
	ok(t, d.StreamSynchronize(x.s))
	runtime.KeepAlive(nan) // the emulator reads a pageable source when the stream runs the copy
	for i, v := range out {
		if want := max(in[i], 0); v != want {
			t.Fatalf("relu(%v) = %v", in[i], v)
		}
	}
	if err := d.LaunchKernel(fn, 1, 512, x.s, unsafe.Pointer(&params[0])); !IsCode(err, 701) {
		t.Errorf("a block larger than the kernel's launch bound: %v, want CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", err)
	}
	// Pinned host memory.
	h := must(d.MemHostAlloc(64))
	ok(t, d.MemFreeHost(h))
	ok(t, d.MemFree(p))
}

func must2(t *testing.T, f func() (int64, int64, error)) (int64, int64) {
	t.Helper()
	a, b, err := f()
	ok(t, err)
	return a, b
}

// TestPageableReadLate: the emulator's copy from pageable memory reads its source when the stream runs
// it, not when it is queued (the driver documents only that it "might be synchronous"); this is what
// makes a caller that reuses the source too early fail in the emulator.
func TestPageableReadLate(t *testing.T) {
	e := cudaemu.Require(t)
	x := open(t, 0)
	d := x.d
	e.SetDelays(20*time.Millisecond, -1)
	p := must(d.MemAlloc(4))
	defer d.MemFree(p)
	src := []float32{1}
	ok(t, d.MemcpyHtoDAsync(p, floats(src), 4, x.s))
	src[0] = 2
	got := []float32{0}
	ok(t, d.MemcpyDtoHAsync(floats(got), p, 4, x.s))
	ok(t, d.StreamSynchronize(x.s))
	if got[0] != 2 {
		t.Errorf("the device got %v: the emulator read the source when the copy was queued", got[0])
	}
}

// TestViolations: each misuse is refused with the driver's error code and counted.
func TestViolations(t *testing.T) {
	e := cudaemu.Require(t)
	x0, x1 := open(t, 0), open(t, 1)
	d := x0.d
	x0.current(t)
	mod := must(d.ModuleLoadData(kernels.CUDAFatbin))
	defer d.ModuleUnload(mod)
	fn := must(d.ModuleGetFunction(mod, "gpuact_relu_fwd_f32_vec"))
	host := make([]float32, 64)
	cases := []struct {
		name string
		code Result
		call func() error
	}{
		{"double free", ErrorInvalidValue, func() error {
			p := must(d.MemAlloc(64))
			ok(t, d.MemFree(p))
			return d.MemFree(p)
		}},
		{"use after free", ErrorInvalidValue, func() error {
			p := must(d.MemAlloc(64))
			ok(t, d.MemFree(p))
			return d.MemcpyHtoDAsync(p, floats(host), 64, x0.s)
		}},
		{"range past the end", ErrorInvalidValue, func() error {
			p := must(d.MemAlloc(64))
			defer d.MemFree(p)
			return d.MemcpyDtoHAsync(floats(host), p+4, 64, x0.s)
		}},
		{"not device memory", ErrorInvalidValue, func() error {
			return d.MemcpyDtoDAsync(DevPtr(uintptr(floats(host))), DevPtr(uintptr(floats(host))), 4, x0.s)
		}},
		{"device address as host memory", ErrorInvalidValue, func() error {
			p := must(d.MemAlloc(64))
			defer d.MemFree(p)
			return d.check("cuMemcpyHtoDAsync_v2", d.syscall(d.fn.cuMemcpyHtoDAsync, uintptr(p), uintptr(p), 4, uintptr(x0.s)))
		}},
		{"stream of another context", 400, func() error {
			p := must(d.MemAlloc(64))
			defer d.MemFree(p)
			return d.MemcpyHtoDAsync(p, floats(host), 4, x1.s)
		}},
		{"memory of another context", ErrorInvalidValue, func() error {
			x1.current(t)
			p := must(d.MemAlloc(64))
			x0.current(t)
			defer func() { x1.current(t); d.MemFree(p); x0.current(t) }()
			return d.MemcpyHtoDAsync(p, floats(host), 4, x0.s)
		}},
		{"no context current", 201, func() error {
			ok(t, d.CtxSetCurrent(0))
			defer x0.current(t)
			_, err := d.MemAlloc(64)
			return err
		}},
		{"a destroyed stream", 400, func() error {
			s := must(d.StreamCreate(0))
			ok(t, d.StreamDestroy(s))
			return d.StreamSynchronize(s)
		}},
		{"a destroyed event", 400, func() error {
			ev := must(d.EventCreate(0))
			ok(t, d.EventDestroy(ev))
			return d.EventRecord(ev, x0.s)
		}},
		{"free under queued work", Success, func() error {
			e.SetDelays(20*time.Millisecond, -1)
			defer e.SetDelays(100*time.Microsecond, -1)
			p := must(d.MemAlloc(64))
			ok(t, d.MemcpyHtoDAsync(p, floats(host), 64, x0.s))
			return d.MemFree(p)
		}},
		{"kernelParams NULL", ErrorInvalidValue, func() error { return d.LaunchKernel(fn, 1, 256, x0.s, nil) }},
		{"kernelParams too short", ErrorInvalidValue, func() error {
			v := uint64(0)
			params := []unsafe.Pointer{unsafe.Pointer(&v), unsafe.Pointer(&v), unsafe.Pointer(&v), unsafe.Pointer(&v), nil}
			var pin runtime.Pinner
			pin.Pin(&v)
			defer pin.Unpin()
			return d.LaunchKernel(fn, 1, 256, x0.s, unsafe.Pointer(&params[0]))
		}},
		{"kernel argument out of range", ErrorInvalidValue, func() error {
			p := must(d.MemAlloc(64))
			defer d.MemFree(p)
			args := [8]uint64{uint64(p), uint64(p), 0, 17} // 17 floats: one past the allocation
			params := make([]unsafe.Pointer, len(args))
			for i := range args {
				params[i] = unsafe.Pointer(&args[i])
			}
			var pin runtime.Pinner
			pin.Pin(&args)
			defer pin.Unpin()
			return d.LaunchKernel(fn, 1, 256, x0.s, unsafe.Pointer(&params[0]))
		}},
		{"another fatbin", 200, func() error {
			img := append([]byte(nil), kernels.CUDAFatbin...)
			img[len(img)/2] ^= 1
			_, err := d.ModuleLoadData(img)
			return err
		}},
		{"not a fatbin", 200, func() error { _, err := d.ModuleLoadData(make([]byte, 64)); return err }},
	}
	for _, c := range cases {
		v := e.Count(cudaemu.Violations)
		err := c.call()
		if c.code == Success && err != nil || c.code != Success && !IsCode(err, c.code) {
			t.Errorf("%s: %v, want code %d", c.name, err, c.code)
		}
		if got := e.Count(cudaemu.Violations) - v; got != 1 {
			t.Errorf("%s: %d violations counted, want 1\n%s", c.name, got, e.Messages())
		}
		e.ExpectViolations(1)
	}
	if err := d.StreamSynchronize(x0.s); err != nil {
		t.Error(err)
	}
}

// TestLeakReport: what is still live at a context's last release is reported, and freed.
func TestLeakReport(t *testing.T) {
	e := cudaemu.Require(t)
	d := must(Load())
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	leaked := e.Count(cudaemu.Leaked)
	ctx := must(d.PrimaryCtxRetain(1))
	ok(t, d.CtxSetCurrent(ctx))
	must(d.MemAlloc(100))
	must(d.EventCreate(0))
	ok(t, d.PrimaryCtxRelease(1))
	e.ExpectLeaks(2)
	if n := e.Count(cudaemu.Leaked) - leaked; n != 2 {
		t.Errorf("%d handles reported leaked, want 2", n)
	}
	if m := e.Messages(); !strings.Contains(m, "leak: cuMemAlloc of 100 bytes") || !strings.Contains(m, "leak: event") {
		t.Errorf("the leak report does not name them:\n%s", m)
	}
	if live := e.Live(); live.Allocs != 0 || live.Events != 0 {
		t.Errorf("the leaked handles were not freed with their context: %v", live)
	}
	// The context is gone: a call with it current is a violation.
	_, err := d.MemAlloc(4)
	if !IsCode(err, 709) {
		t.Errorf("MemAlloc in a destroyed context: %v, want CUDA_ERROR_CONTEXT_IS_DESTROYED", err)
	}
	e.ExpectViolations(1)
	ok(t, d.CtxSetCurrent(0))
}

// TestErrors: the driver's errors carry the code, the driver's name and description, and match the
// sentinels the backend documents.
func TestErrors(t *testing.T) {
	cudaemu.Require(t)
	d := must(Load())
	for _, c := range []struct {
		code Result
		want error
		name string
	}{{ErrorOutOfMemory, core.ErrOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY"}, {ErrorNoDevice, core.ErrUnavailable, "CUDA_ERROR_NO_DEVICE"},
		{700, core.ErrDevice, "CUDA_ERROR_ILLEGAL_ADDRESS"}, {12345, core.ErrDevice, "CUresult 12345"}} {
		err := d.check("cuTest", uintptr(c.code))
		var e *Error
		if !errors.As(err, &e) || e.Code != c.code || !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.name) ||
			!strings.HasPrefix(err.Error(), "cuTest: ") {
			t.Errorf("code %d: %v, want an *Error matching %v naming %s", c.code, err, c.want, c.name)
		}
	}
	if d.check("cuTest", 0) != nil {
		t.Error("CUDA_SUCCESS is an error")
	}
	if IsCode(errors.New("x"), 1) {
		t.Error("IsCode of a non-driver error")
	}
}

// TestLoadFailures: a missing library and a library without the driver's symbols are ErrUnavailable.
func TestLoadFailures(t *testing.T) {
	_, err := load([]string{"/nonexistent/libcuda.so.1"})
	if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "no CUDA driver library") {
		t.Errorf("a missing library: %v", err)
	}
	if _, err := load(nil); !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "none tried") {
		t.Errorf("no candidates: %v", err)
	}
	if runtime.GOOS == "linux" {
		if _, err := load([]string{"libc.so.6"}); !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "has no symbol cuInit") {
			t.Errorf("a library without the driver's symbols: %v", err)
		}
	}
}
