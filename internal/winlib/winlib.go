// Package winlib loads the Windows DLLs of gpuact's driver bindings (nvcuda.dll, OpenCL.dll) without
// the DLL search path: LoadLibrary looks in the program's directory, the current directory and PATH
// before or beside the system directory, so a DLL of the same name planted there would run in the
// process. A bare name is loaded from the system directory only; a path (from GPUACT_CUDA_LIBRARY or
// GPUACT_OPENCL_LIBRARY) from that file, with its dependencies from its own directory and the system
// directory. Shared by backend/cuda/internal/cu and backend/opencl/internal/cl, each internal to its
// backend.
package winlib

import "strings"

// LoadLibraryEx flags (winbase.h), repeated here so that the choice is testable on every platform;
// load_windows.go checks them against golang.org/x/sys/windows at compile time.
const (
	searchDLLLoadDir = 0x00000100 // LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR
	searchSystem32   = 0x00000800 // LOAD_LIBRARY_SEARCH_SYSTEM32
)

// isPath reports whether name names a file by path (it has a directory or drive) rather than being a
// bare DLL name.
func isPath(name string) bool { return strings.ContainsAny(name, `\/:`) }

// flags returns the LoadLibraryEx flags for name.
func flags(name string) uintptr {
	if isPath(name) {
		return searchDLLLoadDir | searchSystem32
	}
	return searchSystem32
}
