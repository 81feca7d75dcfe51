package cl

import (
	"slices"
	"testing"

	"github.com/gpuact/gpuact/internal/secureexec"
)

// TestCandidatesSecureExecution: GPUACT_OPENCL_LIBRARY is the only candidate in an ordinary process and
// ignored in a secure-execution one (the end-to-end check with a real setuid binary is backend's
// TestLibraryEnvIgnoredWhenSecure).
func TestCandidatesSecureExecution(t *testing.T) {
	const lib = "/nonexistent/libOpenCL-gpuact-test.so.1"
	t.Setenv(LibraryEnv, lib)
	if got := Candidates(); !slices.Equal(got, []string{lib}) {
		t.Errorf("ordinary process: Candidates() = %q, want only %q", got, lib)
	}
	defer secureexec.SetForTest(true)()
	if got := Candidates(); !slices.Equal(got, defaultNames) {
		t.Errorf("secure-execution process: Candidates() = %q, want the system's %q", got, defaultNames)
	}
}
