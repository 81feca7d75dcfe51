//go:build (linux || darwin || windows) && (amd64 || arm64)

package cu

import "github.com/ebitengine/purego"

// syscall calls the C function at fn with integer and pointer arguments and returns its result.
//
// //go:uintptrescapes: callers convert pointers to uintptr in the argument list; this moves their
// targets to the heap and keeps them alive until the call returns, as for syscall.Syscall.
//
//go:uintptrescapes
func (d *Driver) syscall(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}
