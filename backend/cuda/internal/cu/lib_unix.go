//go:build (linux || darwin) && (amd64 || arm64)

package cu

import (
	"os"

	"github.com/ebitengine/purego"
	"github.com/gpuact/gpuact/internal/secureexec"
)

var defaultLibraryNames = []string{"libcuda.so.1", "libcuda.so"}

// candidates: the library GPUACT_CUDA_LIBRARY names, alone (also the way to switch CUDA off:
// GPUACT_CUDA_LIBRARY=none), except in a process in secure-execution mode (setuid, setgid, file
// capabilities: see internal/secureexec), which ignores it as the dynamic loader ignores LD_PRELOAD
// there, so that its environment cannot choose the code it loads.
func candidates() []string {
	if p := os.Getenv(LibraryEnv); p != "" && !secureexec.Enabled() {
		return []string{p}
	}
	return libraryNames
}

func openLibrary(name string) (uintptr, error) {
	return purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
}

func lookup(lib uintptr, name string) (uintptr, error) { return purego.Dlsym(lib, name) }
