package opencl

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/gpuact/gpuact/backend/backendtest"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/opencl/internal/cl"
)

// requireEnv makes a machine without a usable OpenCL device a test failure instead of a skip: CI sets
// it after installing PoCL, so that the conformance suite cannot silently not run.
const requireEnv = "GPUACT_REQUIRE_OPENCL"

// usableDevices returns the usable OpenCL devices, or skips (fails, under GPUACT_REQUIRE_OPENCL=1)
// with the reason there are none.
func usableDevices(t *testing.T) []core.Device {
	t.Helper()
	var usable, unusable []core.Device
	for _, d := range Devices() {
		if d.Usable {
			usable = append(usable, d)
		} else {
			unusable = append(unusable, d)
		}
	}
	if len(usable) == 0 {
		var why []string
		for _, d := range unusable {
			why = append(why, d.String())
		}
		msg := "no usable OpenCL device, so the OpenCL backend is not tested: " + strings.Join(why, "; ") +
			" (install PoCL to run these tests on the CPU: sudo scripts/setup/opencl-pocl.sh, or apt-get install pocl-opencl-icd ocl-icd-libopencl1)"
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s=1: %s", requireEnv, msg)
		}
		t.Skip(msg)
	}
	return usable
}

// TestConformance runs the conformance suite, unchanged, on every OpenCL device found.
func TestConformance(t *testing.T) {
	for _, d := range usableDevices(t) {
		t.Run(d.Spec, func(t *testing.T) {
			backendtest.Run(t, d.Open)
		})
	}
}

// TestUnavailableLibrary points GPUACT_OPENCL_LIBRARY at a library that does not exist: the backend
// must list itself unusable with the reason, and opening must fail with ErrUnavailable, not panic.
func TestUnavailableLibrary(t *testing.T) {
	t.Setenv(cl.LibraryEnv, "/nonexistent/libOpenCL-gpuact-test.so.1")
	devs := Devices()
	if len(devs) != 1 || devs[0].Usable || devs[0].Spec != "opencl" || devs[0].Open != nil {
		t.Fatalf("Devices() with a missing library = %+v, want one unusable entry with Spec opencl", devs)
	}
	if !strings.Contains(devs[0].Reason, "libOpenCL-gpuact-test") || !strings.Contains(devs[0].Reason, cl.LibraryEnv) {
		t.Errorf("reason %q does not name the library tried and %s", devs[0].Reason, cl.LibraryEnv)
	}
	_, err := Open(0, 0)
	if !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("Open with a missing library: %v, want ErrUnavailable", err)
	}
	t.Logf("reason: %s", devs[0].Reason)
}

// TestLibraryWithoutOpenCL loads a library that exists but is not OpenCL (the C library): the
// missing entry point must be reported, not panic.
func TestLibraryWithoutOpenCL(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses glibc's libc.so.6 as the library that is not OpenCL")
	}
	t.Setenv(cl.LibraryEnv, "libc.so.6")
	devs := Devices()
	if len(devs) != 1 || devs[0].Usable {
		t.Fatalf("Devices() with libc as the OpenCL library = %+v, want one unusable entry", devs)
	}
	if !strings.Contains(devs[0].Reason, "clGetPlatformIDs") && !strings.Contains(devs[0].Reason, "libc.so.6") {
		t.Errorf("reason %q names neither the library nor the missing entry point", devs[0].Reason)
	}
	t.Logf("reason: %s", devs[0].Reason)
}

// TestNoSuchDevice asks for a device index beyond those found.
func TestNoSuchDevice(t *testing.T) {
	usableDevices(t)
	_, err := Open(0, 1<<20)
	if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "no such device") {
		t.Fatalf("Open(0, 1<<20) = %v, want ErrUnavailable naming no such device", err)
	}
}

func TestErrorNames(t *testing.T) {
	for _, c := range []struct {
		code int32
		name string
	}{
		{-5, "CL_OUT_OF_RESOURCES"},
		{-4, "CL_MEM_OBJECT_ALLOCATION_FAILURE"},
		{-11, "CL_BUILD_PROGRAM_FAILURE"},
		{-61, "CL_INVALID_BUFFER_SIZE"},
		{-1001, "CL_PLATFORM_NOT_FOUND_KHR"},
		{-9999, "CL_UNKNOWN_ERROR"},
	} {
		err := error(&cl.Error{Op: "clTest", Code: c.code})
		if !strings.Contains(err.Error(), c.name) || !strings.Contains(err.Error(), "clTest") {
			t.Errorf("code %d: %q lacks %s or the function", c.code, err, c.name)
		}
		if !errors.Is(err, core.ErrDevice) {
			t.Errorf("code %d: %v does not match ErrDevice", c.code, err)
		}
	}
	if !(&cl.Error{Code: cl.MemObjectAllocationFailure}).OutOfMemory() || (&cl.Error{Code: -30}).OutOfMemory() {
		t.Error("OutOfMemory misclassifies CL_MEM_OBJECT_ALLOCATION_FAILURE or CL_INVALID_VALUE")
	}
}

// TestConformanceGPULayout runs the suite again with the kernels and launch shape meant for GPUs
// (float4/double2 vectors, the *_al kernels for aligned views, work-groups of 256, a grid-stride
// loop), so that they are checked on a CPU OpenCL device too.
func TestConformanceGPULayout(t *testing.T) {
	for _, d := range usableDevices(t) {
		if d.Type == core.DeviceGPU {
			continue // TestConformance ran this layout already
		}
		t.Run(d.Spec, func(t *testing.T) {
			backendtest.Run(t, func() (core.Backend, error) {
				b, err := openGPULayout(d.Spec)
				if err != nil {
					return nil, err // not a nil *Backend in a non-nil interface
				}
				if b.program.geometry.chunked {
					t.Fatal("the GPU layout was not used")
				}
				return b, nil
			})
		})
	}
}

// TestPlan checks that every launch shape covers each whole vector exactly once, and that the tail
// (handled by work-item 0) is what is left.
func TestPlan(t *testing.T) {
	for _, g := range []launchGeometry{
		{vwFloat: 8, vwDouble: 4, chunked: true, local: 1, units: 2},
		{vwFloat: 16, vwDouble: 8, aligned: true, chunked: true, local: 1, units: 2},
		{vwFloat: 16, vwDouble: 8, chunked: true, local: 1, units: 64},
		{vwFloat: 4, vwDouble: 2, aligned: true, local: 256, maxItems: 2 * 2048, units: 2},
		{vwFloat: 4, vwDouble: 2, local: 64, maxItems: 64, units: 1},
	} {
		for _, vw := range []int{g.vwFloat, g.vwDouble} {
			for _, n := range []int{0, 1, 7, 8, 9, 4095, 4096, 65539, 1<<20 + 9, 3<<20 + 1} {
				plan := g.plan(n, vw)
				if plan.global == 0 || (plan.local > 0 && plan.global%plan.local != 0) {
					t.Fatalf("%+v n=%d: global %d, local %d", g, n, plan.global, plan.local)
				}
				nvec := uint64(n / vw)
				seen := make([]uint8, nvec)
				for gid := uint64(0); gid < plan.global; gid++ {
					v := gid * plan.itemStride
					for j := uint64(0); j < plan.vecsPerItem && v < nvec; j, v = j+1, v+plan.loopStride {
						seen[v]++
					}
				}
				for v, c := range seen {
					if c != 1 {
						t.Fatalf("%+v n=%d vw=%d (%+v): vector %d handled %d times", g, n, vw, plan, v, c)
					}
				}
			}
		}
	}
}
