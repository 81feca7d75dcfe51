//go:build windows && (amd64 || arm64)

package cu

import (
	"os"

	"github.com/gpuact/gpuact/internal/winlib"
	"golang.org/x/sys/windows"
)

var defaultLibraryNames = []string{"nvcuda.dll"}

func candidates() []string {
	if p := os.Getenv(LibraryEnv); p != "" {
		return []string{p} // only the named library: also the way to switch CUDA off (GPUACT_CUDA_LIBRARY=none)
	}
	return libraryNames
}

// openLibrary loads nvcuda.dll from the system directory only, never through the DLL search path (the
// program's directory, the current directory, PATH), where a planted nvcuda.dll would be found first;
// a path named in GPUACT_CUDA_LIBRARY is loaded from that path (see winlib.Load).
func openLibrary(name string) (uintptr, error) {
	h, err := winlib.Load(name)
	return uintptr(h), err
}

func lookup(lib uintptr, name string) (uintptr, error) {
	return windows.GetProcAddress(windows.Handle(lib), name)
}
