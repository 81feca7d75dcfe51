//go:build windows && (amd64 || arm64)

package cu

import (
	"os"
	"syscall"
)

var defaultLibraryNames = []string{"nvcuda.dll"}

func candidates() []string {
	if p := os.Getenv(LibraryEnv); p != "" {
		return []string{p} // only the named library: also the way to switch CUDA off (GPUACT_CUDA_LIBRARY=none)
	}
	return libraryNames
}

func openLibrary(name string) (uintptr, error) {
	h, err := syscall.LoadLibrary(name)
	return uintptr(h), err
}

func lookup(lib uintptr, name string) (uintptr, error) {
	return syscall.GetProcAddress(syscall.Handle(lib), name)
}
