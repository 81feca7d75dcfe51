// Package secureexec tells whether this process runs in secure-execution mode: started with more
// privilege than whoever set its environment (a setuid or setgid program, one with file capabilities,
// or one an LSM transitioned), the case in which the dynamic loader ignores LD_PRELOAD and
// LD_LIBRARY_PATH. gpuact's driver bindings then ignore GPUACT_CUDA_LIBRARY and GPUACT_OPENCL_LIBRARY
// for the same reason: the environment must not choose the code that such a process runs.
//
// It is a module-level internal package because both binding packages need it
// (backend/cuda/internal/cu, backend/opencl/internal/cl) and each is internal to its own backend; it is
// no part of the public vocabulary in backend/core.
package secureexec

import (
	"os"
	"sync"
)

// Enabled reports whether the process runs in secure-execution mode (decided once):
//   - Linux: as glibc decides it, AT_SECURE in the auxiliary vector, which the kernel sets for setuid and
//     setgid programs, file capabilities and LSM transitions;
//   - darwin and the BSDs: issetugid(2);
//   - everywhere (and alone where neither is available): real and effective user or group ids differ.
//
// Windows has no such mode: there it is always false.
func Enabled() bool {
	if override != nil {
		return *override
	}
	return detected()
}

var detected = sync.OnceValue(func() bool { return decide(systemFacts()) })

// override replaces the decision in tests of the packages that use it (SetForTest).
var override *bool

// SetForTest makes Enabled return v until the returned function is called: for tests of the binding
// packages. Not safe for concurrent use with Enabled.
func SetForTest(v bool) (restore func()) {
	old := override
	override = &v
	return func() { override = old }
}

// facts is what the decision rests on.
type facts struct {
	// secure is the system's own answer (AT_SECURE, issetugid) and known whether there was one.
	secure, known bool
	// The real and effective user and group ids (-1 where the system has none, as on Windows).
	uid, euid, gid, egid int
}

// decide is the decision: the system's flag, or ids that differ.
func decide(f facts) bool {
	if f.known && f.secure {
		return true
	}
	return f.uid != f.euid || f.gid != f.egid
}

func ids(f facts) facts {
	f.uid, f.euid, f.gid, f.egid = os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid()
	return f
}
