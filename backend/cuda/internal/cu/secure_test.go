//go:build (linux || darwin) && (amd64 || arm64)

package cu

import (
	"slices"
	"testing"

	"github.com/gpuact/gpuact/internal/secureexec"
)

// TestCandidatesSecureExecution: GPUACT_CUDA_LIBRARY is the only candidate in an ordinary process and
// ignored in a secure-execution one (the end-to-end check with a real setuid binary is backend's
// TestLibraryEnvIgnoredWhenSecure).
func TestCandidatesSecureExecution(t *testing.T) {
	const lib = "/nonexistent/libcuda-gpuact-test.so.1"
	t.Setenv(LibraryEnv, lib)
	if got := candidates(); !slices.Equal(got, []string{lib}) {
		t.Errorf("ordinary process: candidates() = %q, want only %q", got, lib)
	}
	defer secureexec.SetForTest(true)()
	if got := candidates(); !slices.Equal(got, libraryNames) {
		t.Errorf("secure-execution process: candidates() = %q, want the system's %q", got, libraryNames)
	}
}
