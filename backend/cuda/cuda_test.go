package cuda_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gpuact/gpuact/backend"
	"github.com/gpuact/gpuact/backend/backendtest"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// requireEnv, when "1", turns a machine without a usable CUDA device into a failure instead of a skip:
// the GPU check sets it, so a broken driver cannot pass for a missing one.
const requireEnv = "GPUACT_REQUIRE_CUDA"

// usable returns the usable CUDA devices, or skips (fails under GPUACT_REQUIRE_CUDA=1) with the reason.
func usable(t *testing.T) []core.Device {
	t.Helper()
	var devs []core.Device
	var why []string
	for _, d := range cuda.Devices() {
		if d.Usable {
			devs = append(devs, d)
		} else {
			why = append(why, d.String())
		}
	}
	if len(devs) == 0 {
		msg := "no usable CUDA device: " + strings.Join(why, "; ")
		if os.Getenv(requireEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (this test runs on an NVIDIA GPU: see the README's GPU check)")
	}
	return devs
}

// TestConformance runs the shared conformance suite, unchanged, on every CUDA device.
func TestConformance(t *testing.T) {
	d := usable(t)[0]
	t.Run(d.Spec, func(t *testing.T) { backendtest.Run(t, d.Open) })
}

// TestConformanceOtherDevices runs the suite on every usable device after the first (the emulated
// driver has two): the same code on another ordinal, its own primary context and memory. make test
// runs it after the race run, without the race detector, as the suites on wrapped memory.
func TestConformanceOtherDevices(t *testing.T) {
	devs := usable(t)
	if len(devs) < 2 {
		t.Skip("one usable CUDA device")
	}
	for _, d := range devs[1:] {
		t.Run(d.Spec, func(t *testing.T) { backendtest.Run(t, d.Open) })
	}
}

// TestAsyncErrorSurfaces: an error the driver reports for queued work reaches the next synchronising
// call, and the backend refuses nothing it should accept afterwards. The only way to provoke one
// without memory corruption is out of memory at launch time, which cannot be forced portably; so this
// checks the contract that is checkable: Sync and Download return nil after good work and the results
// are there.
func TestSyncAfterWork(t *testing.T) {
	d := usable(t)[0]
	b, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	x, err := backend.FromSlice(b, []float32{-1, 2, -3, 4})
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if err := b.Forward(backend.ReLU(), x, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := backend.ToSlice[float32](b, x)
	if err != nil || fmt.Sprint(got) != "[0 2 0 4]" {
		t.Fatalf("got %v, %v", got, err)
	}
}

// TestUnavailable runs this test binary again with GPUACT_CUDA_LIBRARY pointing at a missing library,
// at a library whose cuInit reports no device, at one lacking every symbol but cuInit, at one lacking
// only cuMemHostAlloc (whose reason must name it), and (under the emulator) at a
// driver whose cuInit fails and at one with no device: each time the CUDA backend must be unavailable
// with the reason, Auto must fall back to another backend, and nothing may panic.
func TestUnavailable(t *testing.T) {
	dir := t.TempDir()
	type unavailable struct {
		name, lib, want string
		env             []string
	}
	cases := []unavailable{
		{"no library", filepath.Join(dir, "absent", "libcuda.so.1"), "no CUDA driver library", nil},
	}
	// The fake drivers are built from testdata/fakecuda.c, relative to the working directory: the
	// package's folder under go test, the folder the GPU check copies it into when the binary runs there.
	const fakeSource = "testdata/fakecuda.c"
	cc, ccErr := exec.LookPath("cc")
	_, srcErr := os.Stat(fakeSource)
	switch {
	case ccErr != nil:
		t.Logf("no C compiler: only the missing-library case runs (the fake drivers need cc)")
	case srcErr != nil:
		t.Logf("no %s here: only the missing-library case runs (%v)", fakeSource, srcErr)
	default:
		for _, v := range []struct{ name, define, want string }{
			{"no device", "-DNO_DEVICE", "CUDA_ERROR_NO_DEVICE"},
			{"missing symbol", "-DONLY_INIT", "has no symbol"},
			{"missing cuMemHostAlloc", "-DcuMemHostAlloc=renamed_cuMemHostAlloc", "has no symbol cuMemHostAlloc "},
		} {
			lib := filepath.Join(dir, strings.ReplaceAll(v.name, " ", "_"), "libcuda.so.1")
			os.MkdirAll(filepath.Dir(lib), 0o755)
			out, err := exec.Command(cc, "-shared", "-fPIC", v.define, "-o", lib, fakeSource).CombinedOutput()
			if err != nil {
				t.Fatalf("building the fake driver: %v\n%s", err, out)
			}
			cases = append(cases, unavailable{v.name, lib, v.want, nil})
		}
	}
	if e := cudaemu.Get(); e != nil {
		cases = append(cases,
			unavailable{"cuInit fails", e.Path, "CUDA_ERROR_UNKNOWN", []string{"GPUACT_CUDAEMU_FAIL_INIT=999"}},
			unavailable{"zero devices", e.Path, "the driver reports", []string{"GPUACT_CUDAEMU_DEVICES=0"}})
	} else {
		t.Logf("not under the emulated driver (%s): its cuInit-failure and no-device cases do not run", cudaemu.Driver())
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(append(os.Environ(), "GPUACT_CUDA_LIBRARY="+c.lib, childEnv+"="+c.want, backend.EnvVar+"="), c.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(string(out), "child ok") {
				t.Fatalf("the child did not run its checks:\n%s", out)
			}
		})
	}
}

// TestEmulatorConfig runs this test binary again under emulated drivers configured through the
// environment, and checks that the backend reports what the driver says: devices, name, SM count,
// memory, compute capability (a GPU older than the fatbin's sm_50 cannot load the kernels).
func TestEmulatorConfig(t *testing.T) {
	if os.Getenv(configChildEnv) == "1" {
		checkConfig(t)
		return
	}
	cudaemu.Require(t)
	for _, env := range [][]string{
		{"GPUACT_CUDAEMU_DEVICES=3", "GPUACT_CUDAEMU_NAME=Test GPU 9000", "GPUACT_CUDAEMU_SMS=7", "GPUACT_CUDAEMU_MEMORY=123456789", "GPUACT_CUDAEMU_CC=8.6"},
		{"GPUACT_CUDAEMU_DEVICES=1", "GPUACT_CUDAEMU_CC=3.5"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEmulatorConfig$", "-test.v", "-test.count=1")
		cmd.Env = append(append(os.Environ(), configChildEnv+"=1", backend.EnvVar+"="), env...)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestEmulatorConfig") {
			t.Errorf("%v: %v\n%s", env, err, out)
		}
	}
}

const configChildEnv = "GPUACT_CUDA_TEST_CONFIG"

func checkConfig(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GPUACT_CUDAEMU_DEVICES"))
	devs := cuda.Devices()
	if len(devs) != n {
		t.Fatalf("Devices() = %v, want %d", devs, n)
	}
	cc := os.Getenv("GPUACT_CUDAEMU_CC")
	b, err := cuda.Open(n - 1)
	if cc == "3.5" {
		if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "CUDA_ERROR_NO_BINARY_FOR_GPU") {
			t.Fatalf("Open on a compute capability %s GPU: %v, want ErrUnavailable naming CUDA_ERROR_NO_BINARY_FOR_GPU", cc, err)
		}
		b, skipped, err := backend.Choose()
		if err != nil || b.Info().Platform == core.PlatformCUDA || len(skipped) == 0 || !strings.Contains(skipped[0].Reason, "CUDA_ERROR_NO_BINARY_FOR_GPU") {
			t.Fatalf("Choose: %v, skipped %v, %v; want another backend and the reason CUDA was skipped", b, skipped, err)
		}
		b.Close()
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	info := b.Info()
	sms, _ := strconv.Atoi(os.Getenv("GPUACT_CUDAEMU_SMS"))
	mem, _ := strconv.ParseInt(os.Getenv("GPUACT_CUDAEMU_MEMORY"), 10, 64)
	if devs[n-1].Name != os.Getenv("GPUACT_CUDAEMU_NAME") || info.Name != devs[n-1].Name || info.ComputeUnits != sms || info.Memory != mem ||
		info.Details[core.DetailComputeCapability] != cc || info.Details["grid"] != fmt.Sprintf("%d blocks of 256", sms*2048/256) {
		t.Errorf("Info() = %+v, want what the environment configured", info)
	}
	works(t, b, "a configured emulator")
}

const childEnv = "GPUACT_CUDA_TEST_CHILD"

// TestMain runs the checks of TestUnavailable in the child process it starts.
func TestMain(m *testing.M) {
	if want := os.Getenv(childEnv); want != "" {
		if err := childChecks(want); err != nil {
			fmt.Println("child failed:", err)
			os.Exit(1)
		}
		fmt.Println("child ok")
		os.Exit(0)
	}
	os.Exit(cudaemu.Main(m))
}

func childChecks(want string) error {
	devs := cuda.Devices()
	if len(devs) != 1 || devs[0].Usable || !strings.Contains(devs[0].Reason, want) {
		return fmt.Errorf("Devices() = %v, want one unusable entry whose reason mentions %q", devs, want)
	}
	if _, err := cuda.Open(0); !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), want) {
		return fmt.Errorf("cuda.Open(0): %v, want ErrUnavailable mentioning %q", err, want)
	}
	if _, err := backend.Open("cuda"); !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), want) {
		return fmt.Errorf("backend.Open(cuda): %v, want ErrUnavailable mentioning %q", err, want)
	}
	b, skipped, err := backend.Choose()
	if err != nil {
		return fmt.Errorf("backend.Choose: %v", err)
	}
	defer b.Close()
	if b.Info().Platform == core.PlatformCUDA {
		return fmt.Errorf("Auto chose %s", b.Info().Spec)
	}
	listed := false
	for _, d := range backend.List() { // what gpubench -list prints, one line each
		if d.Platform == core.PlatformCUDA && strings.Contains(d.String(), want) {
			listed = true
		}
	}
	if !listed {
		return fmt.Errorf("backend.List() does not say why CUDA is unavailable: %v", backend.List())
	}
	for _, d := range skipped {
		if d.Platform == core.PlatformCUDA && !strings.Contains(d.Reason, want) {
			return fmt.Errorf("Choose skipped %s with reason %q, want it to mention %q", d.Spec, d.Reason, want)
		}
	}
	return nil
}
