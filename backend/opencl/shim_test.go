package opencl

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/opencl/internal/cl"
	"github.com/gpuact/gpuact/backend/opencl/internal/clshim"
)

// shimmed is one test's use of clshim (see package clshim): GPUACT_OPENCL_LIBRARY names the shim for
// the rest of the test, so discovery and Open go through it, and when the test ends (after the
// backends it opened are closed) every object created through the shim must have been released, and
// no handle used, retained or released that the backend did not hold.
type shimmed struct {
	*clshim.Shim
	t     *testing.T
	p, d  int
	armed map[string]int64 // the failures counted for each entry point when a fault was last armed
	base  map[clshim.Kind]int64
}

func useShim(t *testing.T) *shimmed {
	t.Helper()
	usableDevices(t)
	s, err := clshim.Load()
	if err != nil {
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s=1, but the fault-injection shim cannot be built: %v", requireEnv, err)
		}
		t.Skipf("the fault-injection shim cannot be built here, so OpenCL faults are not tested: %v", err)
	}
	sh := &shimmed{Shim: s, t: t, p: -1, armed: map[string]int64{}, base: map[clshim.Kind]int64{}}
	if live := s.Live(); live != "" {
		t.Logf("objects live through the shim before the test started (an earlier test leaked them), not counted here: %s", live)
	}
	for _, k := range clshim.Kinds {
		sh.base[k] = s.Objects(k).Live
	}
	v0, _ := s.Violations()
	s.ClearFaults()
	t.Setenv(cl.LibraryEnv, s.Path)
	t.Cleanup(func() {
		s.ClearFaults()
		if live := sh.live(); live != "" {
			t.Errorf("objects still live after every backend of the test closed: %s", live)
		}
		if v, first := s.Violations(); v != v0 {
			t.Errorf("%d handles used, retained or released without being held; the first: %s", v-v0, first)
		}
	})
	for _, d := range Devices() {
		if d.Usable {
			if _, err := fmt.Sscanf(d.Spec, "opencl:%d:%d", &sh.p, &sh.d); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if sh.p < 0 {
		t.Fatalf("no usable device through the shim: %v", Devices())
	}
	return sh
}

// live describes the objects live now that were not when the test started, "" when there are none.
func (s *shimmed) live() string {
	var parts []string
	for _, k := range clshim.Kinds {
		if n := s.Objects(k).Live - s.base[k]; n != 0 {
			parts = append(parts, fmt.Sprintf("%s %+d", k, n))
		}
	}
	return strings.Join(parts, ", ")
}

// open opens the device through the shim; it is closed when the test ends, before the leak check.
func (s *shimmed) open() *Backend {
	s.t.Helper()
	b, err := Open(s.p, s.d)
	if err != nil {
		s.t.Fatalf("Open through the shim: %v", err)
	}
	if b.lib.Path != s.Path {
		s.t.Fatalf("the backend loaded %s, not the shim", b.lib.Path)
	}
	s.t.Cleanup(func() { b.Close() })
	return b
}

// fail arms a fault and fails the test if the entry point is unknown.
func (s *shimmed) fail(name string, nth, times int, code int32) {
	s.t.Helper()
	_, s.armed[name] = s.Calls(name)
	if err := s.Fail(name, nth, times, code); err != nil {
		s.t.Fatal(err)
	}
}

// failed reports how many calls of name a fault has failed since it was last armed.
func (s *shimmed) failed(name string) int64 {
	_, f := s.Calls(name)
	return f - s.armed[name]
}

// data is a buffer and what it must hold.
type data struct {
	buf  core.Buffer
	want []float32
}

// upload allocates n float32 on b holding random values in [-4, 4).
func upload(t *testing.T, b core.Backend, n int, seed uint64) data {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(8*rng.Float64() - 4)
	}
	buf, err := b.Alloc(formula.Float32, n)
	if err != nil {
		t.Fatalf("Alloc: %v", err)
	}
	if err := b.Upload(buf, core.HostOf(v)); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	return data{buf, v}
}

// check downloads d and fails the test unless it holds d.want, bit for bit.
func (d data) check(t *testing.T, b core.Backend, what string) {
	t.Helper()
	got := make([]float32, d.buf.Len())
	if err := b.Download(core.HostOf(got), d.buf); err != nil {
		t.Fatalf("Download %s: %v", what, err)
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(d.want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], d.want[i])
		}
	}
}

// relu is what Forward(ReLU) must make of x, exactly.
func relu(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = formula.ReLUForward(v)
	}
	return y
}

// isCL fails the test unless err matches want and names the OpenCL function and status.
func isCL(t *testing.T, err, want error, fn, status, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
	if !strings.Contains(err.Error(), fn) || !strings.Contains(err.Error(), status) {
		t.Errorf("%s: %q does not name %s and %s", what, err, fn, status)
	}
}

// works runs a pass on fresh buffers and checks the result and the buffers in keep.
func works(t *testing.T, b core.Backend, keep ...data) {
	t.Helper()
	x := upload(t, b, 5000, 7)
	y, err := b.Alloc(formula.Float32, 5000)
	if err != nil {
		t.Fatalf("the backend no longer works: Alloc: %v", err)
	}
	if err := b.Forward(formula.ReLU(), y, x.buf); err != nil {
		t.Fatalf("the backend no longer works: Forward: %v", err)
	}
	data{y, relu(x.want)}.check(t, b, "y after the fault")
	for i, d := range keep {
		d.check(t, b, fmt.Sprintf("buffer %d written before the fault", i))
	}
	if err := errors.Join(b.Free(x.buf), b.Free(y), b.Sync()); err != nil {
		t.Fatalf("the backend no longer works: %v", err)
	}
}

// TestShimOnlyInTests: the shim is for tests only; no file of the backend that is not a test imports
// it (only packages under backend/opencl can, being internal).
func TestShimOnlyInTests(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("internal/cl/*.go")
	checked := 0
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		pf, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pf.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasSuffix(p, "/internal/clshim") {
				t.Errorf("%s imports %s, which only tests may", f, p)
			}
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("checked only %d files", checked)
	}
}

// TestShimForwards runs work through the shim with no fault: the results are right, every object is
// released once by Close, and the shim really was in the path.
func TestShimForwards(t *testing.T) {
	s := useShim(t)
	b := s.open()
	x := upload(t, b, 70001, 1)
	y := upload(t, b, 70001, 2)
	if err := b.Forward(formula.ReLU(), y.buf, x.buf); err != nil {
		t.Fatal(err)
	}
	y.want = relu(x.want)
	y.check(t, b, "y")
	c, _ := b.Alloc(formula.Float32, 70001)
	if err := b.Copy(c, y.buf); err != nil {
		t.Fatal(err)
	}
	data{c, y.want}.check(t, b, "copy of y")
	before := map[clshim.Kind]clshim.Counts{}
	for _, k := range clshim.Kinds {
		before[k] = s.Objects(k)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []clshim.Kind{clshim.Context, clshim.Queue, clshim.Mem, clshim.Program, clshim.Kernel} {
		c := s.Objects(k)
		if c.Created == 0 || c.Live != 0 {
			t.Errorf("%s: %+v after Close, want some created and none live", k, c)
		}
		t.Logf("%s: live %d before Close, %d after; %d created and %d released in all", k, before[k].Live, c.Live, c.Created, c.Released)
	}
	if n, _ := s.Calls("clEnqueueNDRangeKernel"); n == 0 {
		t.Error("no kernel launch went through the shim")
	}
}

// TestFaultAllocation: the driver cannot create a buffer (CL_MEM_OBJECT_ALLOCATION_FAILURE). Alloc
// returns ErrOutOfMemory, the failed allocation is not counted, the other buffers keep their
// contents, and the backend keeps working.
func TestFaultAllocation(t *testing.T) {
	s := useShim(t)
	b := s.open()
	x := upload(t, b, 4099, 1)
	s.fail("clCreateBuffer", 2, 1, clshim.MemObjectAllocationFailure)
	y, err := b.Alloc(formula.Float32, 1000)
	if err != nil {
		t.Fatalf("the first Alloc after arming: %v", err)
	}
	_, err = b.Alloc(formula.Float32, 1000)
	isCL(t, err, core.ErrOutOfMemory, "clCreateBuffer", "CL_MEM_OBJECT_ALLOCATION_FAILURE", "Alloc failed by the driver")
	if s.failed("clCreateBuffer") != 1 {
		t.Fatal("the fault was not injected")
	}
	if m, _ := b.Memory(); m.Buffers != 2 || m.InUse != 4*(4099+1000) {
		t.Errorf("Memory() = %+v after the failed Alloc, want the 2 buffers that exist", m)
	}
	x.check(t, b, "x")
	if err := b.Free(y); err != nil {
		t.Fatal(err)
	}
	works(t, b, x)
}

// TestFaultLaunch: the driver refuses a kernel launch (CL_OUT_OF_RESOURCES). That call returns
// ErrDevice; nothing was written, not even its output; later calls work, Sync included (the refused
// launch left nothing behind in the queue).
func TestFaultLaunch(t *testing.T) {
	s := useShim(t)
	b := s.open()
	x := upload(t, b, 10000, 1)
	y := upload(t, b, 10000, 2)
	z := upload(t, b, 10000, 3)
	if err := b.Forward(formula.ReLU(), z.buf, x.buf); err != nil { // the kernel exists before the fault
		t.Fatal(err)
	}
	z.want = relu(x.want)
	s.fail("clEnqueueNDRangeKernel", 1, 1, clshim.OutOfResources)
	err := b.Forward(formula.ReLU(), y.buf, x.buf)
	isCL(t, err, core.ErrDevice, "clEnqueueNDRangeKernel", "CL_OUT_OF_RESOURCES", "Forward refused by the driver")
	if errors.Is(err, core.ErrOutOfMemory) {
		t.Errorf("a refused launch is not an allocation: %v matches ErrOutOfMemory", err)
	}
	if err := b.Sync(); err != nil {
		t.Fatalf("Sync after the refused launch: %v", err)
	}
	for i, d := range []data{x, y, z} {
		d.check(t, b, fmt.Sprintf("buffer %d", i))
	}
	works(t, b, x, y, z)
}

// TestFaultFinish: clFinish reports an error. Sync returns ErrDevice; the fault is not sticky, so the
// next Sync succeeds and the buffers hold what they did. A Close whose clFinish fails returns the
// error and still releases everything.
func TestFaultFinish(t *testing.T) {
	s := useShim(t)
	b := s.open()
	x := upload(t, b, 3000, 1)
	y := upload(t, b, 3000, 2)
	if err := b.Forward(formula.ReLU(), y.buf, x.buf); err != nil {
		t.Fatal(err)
	}
	y.want = relu(x.want)
	s.fail("clFinish", 1, 1, clshim.OutOfResources)
	isCL(t, b.Sync(), core.ErrDevice, "clFinish", "CL_OUT_OF_RESOURCES", "Sync")
	if err := b.Sync(); err != nil {
		t.Fatalf("the Sync after: %v", err)
	}
	x.check(t, b, "x")
	y.check(t, b, "y")
	works(t, b, x, y)

	// Download of zero elements synchronises with clFinish too.
	s.fail("clFinish", 1, 1, clshim.OutOfResources)
	empty, _ := b.Alloc(formula.Float32, 0)
	isCL(t, b.Download(core.HostOf([]float32{}), empty), core.ErrDevice, "clFinish", "CL_OUT_OF_RESOURCES", "Download of nothing")

	s.fail("clFinish", 1, 1, clshim.OutOfResources)
	isCL(t, b.Close(), core.ErrDevice, "clFinish", "CL_OUT_OF_RESOURCES", "Close")
	if live := s.live(); live != "" {
		t.Fatalf("Close with a failing clFinish left %s live", live)
	}
	if err := b.Sync(); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Sync after Close: %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestFaultSticky: from some point every launch and every clFinish fail, as on a device that is gone.
// Every pass and every Sync says so with ErrDevice, the transfers still work and the buffers hold what
// they held, and Close reports the failure and still releases everything.
func TestFaultSticky(t *testing.T) {
	s := useShim(t)
	b := s.open()
	x := upload(t, b, 3000, 1)
	y := upload(t, b, 3000, 2)
	s.fail("clEnqueueNDRangeKernel", 1, -1, clshim.OutOfResources)
	s.fail("clFinish", 1, -1, clshim.OutOfResources)
	for i := range 3 {
		for _, p := range formula.Passes {
			err := core.Run(b, p, formula.ELU(1), y.buf, x.buf, x.buf)
			isCL(t, err, core.ErrDevice, "clEnqueueNDRangeKernel", "CL_OUT_OF_RESOURCES", fmt.Sprintf("%s %d after the device failed", p, i))
		}
		isCL(t, b.Sync(), core.ErrDevice, "clFinish", "CL_OUT_OF_RESOURCES", "Sync after the device failed")
	}
	x.check(t, b, "x")
	y.check(t, b, "y")
	isCL(t, b.Close(), core.ErrDevice, "clFinish", "CL_OUT_OF_RESOURCES", "Close after the device failed")
	if s.failed("clEnqueueNDRangeKernel") != 9 || s.failed("clFinish") != 4 {
		t.Errorf("faults injected: %d launches, %d clFinish; want 9 and 4", s.failed("clEnqueueNDRangeKernel"), s.failed("clFinish"))
	}
	if live := s.live(); live != "" {
		t.Fatalf("Close after the device failed left %s live", live)
	}
}

// TestFaultBuild: the driver cannot build the kernels (CL_BUILD_PROGRAM_FAILURE). Open returns
// ErrUnavailable naming the failure, having released the program and context it created; the next
// Open builds again and works.
func TestFaultBuild(t *testing.T) {
	s := useShim(t)
	s.fail("clBuildProgram", 1, 1, clshim.BuildProgramFailure)
	_, err := Open(s.p, s.d)
	isCL(t, err, core.ErrUnavailable, "clBuildProgram", "CL_BUILD_PROGRAM_FAILURE", "Open whose build fails")
	if s.failed("clBuildProgram") != 1 {
		t.Fatal("the fault was not injected")
	}
	if live := s.live(); live != "" {
		t.Fatalf("the failed Open left %s live", live)
	}
	works(t, s.open())
}

// TestFaultOpen fails, in turn, each driver call Open makes after discovery: each gives ErrUnavailable
// and leaves nothing live; a backend already open on the device keeps working throughout.
func TestFaultOpen(t *testing.T) {
	s := useShim(t)
	for _, c := range []struct {
		fn, status string
		code       int32
		withOpen   bool // another backend is open, so the context and program are reused
	}{
		{"clCreateContext", "CL_OUT_OF_HOST_MEMORY", clshim.OutOfHostMemory, false},
		{"clCreateProgramWithSource", "CL_OUT_OF_HOST_MEMORY", clshim.OutOfHostMemory, false},
		{"clCreateCommandQueue", "CL_OUT_OF_RESOURCES", clshim.OutOfResources, false},
		{"clCreateCommandQueue", "CL_OUT_OF_RESOURCES", clshim.OutOfResources, true},
	} {
		t.Run(fmt.Sprintf("%s/other-open=%v", c.fn, c.withOpen), func(t *testing.T) {
			var other *Backend
			var keep data
			if c.withOpen {
				other = s.open()
				keep = upload(t, other, 1000, 5)
			}
			s.fail(c.fn, 1, 1, c.code)
			_, err := Open(s.p, s.d)
			isCL(t, err, core.ErrUnavailable, c.fn, c.status, "Open")
			if s.failed(c.fn) == 0 {
				t.Fatal("the fault was not injected")
			}
			if other != nil {
				works(t, other, keep)
				if err := other.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if live := s.live(); live != "" {
				t.Fatalf("the failed Open left %s live", live)
			}
		})
	}
}

// TestFaultDiscovery fails the queries of discovery: the device (or the platform, or OpenCL as a
// whole) is listed unusable with the failed call in the reason, Open gives ErrUnavailable, and the
// next discovery, without the fault, finds the device again.
func TestFaultDiscovery(t *testing.T) {
	s := useShim(t)
	for _, c := range []struct {
		fn   string
		spec string // the unusable entry
	}{
		{"clGetPlatformIDs", "opencl"},
		{"clGetDeviceIDs", fmt.Sprintf("opencl:%d", s.p)},
		{"clGetDeviceInfo", fmt.Sprintf("opencl:%d:%d", s.p, s.d)},
	} {
		t.Run(c.fn, func(t *testing.T) {
			s.fail(c.fn, 1, -1, clshim.OutOfHostMemory)
			found := false
			for _, d := range Devices() {
				if d.Spec == c.spec {
					found = true
					if d.Usable || d.Open != nil || !strings.Contains(d.Reason, c.fn) || !strings.Contains(d.Reason, "CL_OUT_OF_HOST_MEMORY") {
						t.Errorf("%s failing: %s listed as %+v, want unusable with a reason naming the call and status", c.fn, c.spec, d)
					}
				}
			}
			if !found {
				t.Errorf("%s failing: no entry %s in %v", c.fn, c.spec, Devices())
			}
			if _, err := Open(s.p, s.d); !errors.Is(err, core.ErrUnavailable) {
				t.Errorf("Open while %s fails: %v, want ErrUnavailable", c.fn, err)
			}
			s.ClearFaults()
			works(t, s.open())
		})
	}
}

// TestFaultCommands fails each other call a backend makes once: the call that made it returns ErrDevice
// naming it, the buffers hold what they held, and the backend works afterwards. After the failed
// clSetKernelArg, the kernel's cached arguments must still be what the driver holds: the same pass is
// run again with other buffers and checked.
func TestFaultCommands(t *testing.T) {
	s := useShim(t)
	b := s.open()
	x := upload(t, b, 20000, 1)
	y := upload(t, b, 20000, 2)
	host := make([]float32, 20000)
	for _, c := range []struct {
		fn   string
		call func() error
	}{
		{"clEnqueueWriteBuffer", func() error { return b.Upload(y.buf, core.HostOf(host)) }},
		{"clEnqueueReadBuffer", func() error { return b.Download(core.HostOf(host), y.buf) }},
		{"clEnqueueCopyBuffer", func() error { return b.Copy(y.buf, x.buf) }},
		{"clSetKernelArg", func() error { return b.Forward(formula.LeakyReLU(0.5), y.buf, x.buf) }},
		{"clCreateKernel", func() error { return b.BackwardFromOutput(formula.ELU(1), y.buf, x.buf, x.buf) }},
		{"clGetKernelWorkGroupInfo", func() error { return b.BackwardFromInput(formula.ELU(1), y.buf, x.buf, x.buf) }},
		{"clFlush", nil}, // the launch was queued: its output is written
		{"clReleaseMemObject", nil},
	} {
		t.Run(c.fn, func(t *testing.T) {
			switch c.fn {
			case "clFlush":
				s.fail(c.fn, 1, 1, clshim.OutOfResources)
				isCL(t, b.Forward(formula.ReLU(), y.buf, x.buf), core.ErrDevice, c.fn, "CL_OUT_OF_RESOURCES", "Forward")
				y.want = relu(x.want)
			case "clReleaseMemObject":
				// Free keeps the buffer in the pool; Trim releases it. The driver reports a failure but has
				// released the buffer: Trim says so, and the buffer is gone (the leak check at the end of
				// the test sees it).
				z, _ := b.Alloc(formula.Float32, 100)
				if err := b.Free(z); err != nil {
					t.Fatal(err)
				}
				s.fail(c.fn, 1, 1, clshim.OutOfResources)
				isCL(t, b.Trim(), core.ErrDevice, c.fn, "CL_OUT_OF_RESOURCES", "Trim")
				if err := b.Trim(); err != nil {
					t.Errorf("second Trim: %v", err)
				}
			default:
				s.fail(c.fn, 1, 1, clshim.OutOfResources)
				isCL(t, c.call(), core.ErrDevice, c.fn, "CL_OUT_OF_RESOURCES", "the call")
			}
			if s.failed(c.fn) == 0 {
				t.Fatal("the fault was not injected")
			}
			x.check(t, b, "x")
			y.check(t, b, "y")
			works(t, b, x, y)
		})
	}
	// After the failed clSetKernelArg, the same pass with other buffers and α must still be right.
	z := upload(t, b, 20000, 3)
	if err := b.Forward(formula.LeakyReLU(0.5), z.buf, x.buf); err != nil {
		t.Fatal(err)
	}
	for i, v := range x.want {
		z.want[i] = formula.LeakyReLUForward(0.5, v)
	}
	z.check(t, b, "LeakyReLU(0.5) after a failed clSetKernelArg")
}

// TestNoLeaks allocates and frees 10^4 buffers and opens and closes 200 backends (10 of them the last
// on the device, so the context and program are made and released again) through the shim: nothing
// is live afterwards.
func TestNoLeaks(t *testing.T) {
	s := useShim(t)
	b := s.open()
	m0 := s.Objects(clshim.Mem)
	for i := range 10000 {
		buf, err := b.Alloc(formula.Float32, 1+i%4096)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Free(buf); err != nil {
			t.Fatal(err)
		}
	}
	// 4096 sizes: each is created once and then reused from the pool, which Trim empties.
	if m := s.Objects(clshim.Mem); m.Created-m0.Created != 4096 || m.Live != 4096 {
		t.Fatalf("after 10^4 Alloc/Free of 4096 sizes: mem objects %+v (before: %+v), want 4096 created and pooled", m, m0)
	}
	if err := b.Trim(); err != nil {
		t.Fatal(err)
	}
	if m := s.Objects(clshim.Mem); m.Live != 0 {
		t.Fatalf("after Trim: mem objects %+v", m)
	}
	for i := range 200 {
		o := s.open()
		if i%20 == 0 {
			works(t, o)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := s.open().Close(); err != nil {
			t.Fatal(err)
		}
	}
	if live := s.live(); live != "" {
		t.Fatalf("live after 10^4 Alloc/Free and 210 Open/Close: %s", live)
	}
	q, p := s.Objects(clshim.Queue), s.Objects(clshim.Program)
	t.Logf("queues created %d, released %d; programs created %d, released %d", q.Created, q.Released, p.Created, p.Released)
}
