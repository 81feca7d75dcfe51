//go:build (linux || darwin) && (amd64 || arm64)

package cu

import (
	"os"

	"github.com/ebitengine/purego"
)

var defaultLibraryNames = []string{"libcuda.so.1", "libcuda.so"}

func candidates() []string {
	if p := os.Getenv(LibraryEnv); p != "" {
		return []string{p} // only the named library: also the way to switch CUDA off (GPUACT_CUDA_LIBRARY=none)
	}
	return libraryNames
}

func openLibrary(name string) (uintptr, error) {
	return purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
}

func lookup(lib uintptr, name string) (uintptr, error) { return purego.Dlsym(lib, name) }
