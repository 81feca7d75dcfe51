package cudaemu

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// The variables the CUDA backend and its tests read (backend/cuda/internal/cu.LibraryEnv, and the GPU
// check's switch from skipping to failing when no GPU is usable).
const (
	LibraryEnv = "GPUACT_CUDA_LIBRARY"
	RequireEnv = "GPUACT_REQUIRE_CUDA"
)

var (
	getOnce sync.Once
	got     *Emu
)

// Get returns the emulator when it is the CUDA driver of this process (GPUACT_CUDA_LIBRARY names a library
// with the cudaemu controls), else nil.
func Get() *Emu {
	getOnce.Do(func() {
		if p := os.Getenv(LibraryEnv); p != "" && p != "none" {
			got, _ = bind(p)
		}
	})
	return got
}

// Main chooses the CUDA driver of a test process, runs its tests and returns the exit code. Call it from
// TestMain: os.Exit(cudaemu.Main(m)).
//
// GPUACT_CUDA_LIBRARY, when set, names the driver (the GPU check's real one, a developer's, or the
// emulator a parent test process built); otherwise GPUACT_REQUIRE_CUDA=1 means the system's libcuda;
// otherwise Main builds the emulator and points GPUACT_CUDA_LIBRARY at it, failing the run if it cannot
// (no C++ compiler), except on a system it does not support (Windows), where the tests run as they would
// without it. Under the emulator, a violation or leak the tests did not expect, or a handle still
// live after the tests, fails the run with the emulator's messages.
func Main(m *testing.M) int {
	if os.Getenv(LibraryEnv) == "" && os.Getenv(RequireEnv) != "1" {
		switch path, err := Build(); {
		case errors.Is(err, ErrUnsupported): // as before the emulator: the system's driver, if any
			fmt.Fprintf(os.Stderr, "cudaemu: %v: the CUDA tests use the system's driver, or skip\n", err)
		case err != nil:
			fmt.Fprintln(os.Stderr, "FAIL: cudaemu:", err)
			return 1
		default:
			os.Setenv(LibraryEnv, path)
		}
	}
	code := m.Run()
	if e := Get(); e != nil {
		if err := e.check(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}
	return code
}

// Require returns the emulator's controls, or skips tb (saying which driver this process uses) when the
// driver is not the emulator. When tb ends, every fault is disarmed, the delays and memory pool support
// are restored, and tb fails if the emulator counted a violation it did not expect. Tests that call
// Require change state the whole process shares: they must not run in parallel with other CUDA tests.
func Require(tb testing.TB) *Emu {
	tb.Helper()
	e := Get()
	if e == nil {
		tb.Skipf("needs the emulated CUDA driver (its fault injection and counters); this process uses %s", Driver())
	}
	v0, x0 := e.Count(Violations), e.expectViolations.Load()
	stream, kernel := e.Delays()
	pools := e.MemoryPools()
	tb.Cleanup(func() {
		e.Disarm()
		e.SetDelays(stream, kernel)
		e.SetMemoryPools(pools)
		if v, x := e.Count(Violations)-v0, e.expectViolations.Load()-x0; v != x {
			tb.Errorf("the emulated CUDA driver counted %d violations during the test (%d provoked on purpose):\n%s", v, x, e.Messages())
		}
	})
	return e
}

// Driver says which CUDA driver this process uses, for messages.
func Driver() string {
	switch p := os.Getenv(LibraryEnv); {
	case p == "none":
		return "no CUDA driver (GPUACT_CUDA_LIBRARY=none)"
	case p != "" && Get() != nil:
		return "the emulated driver " + p
	case p != "":
		return "the driver " + p + " (GPUACT_CUDA_LIBRARY)"
	}
	return "the system's CUDA driver"
}
