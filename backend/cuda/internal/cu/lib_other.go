//go:build !((linux || darwin || windows) && (amd64 || arm64))

package cu

import (
	"fmt"
	"runtime"
)

// On platforms where purego cannot call C without cgo, the CUDA backend reports itself unavailable.

var defaultLibraryNames []string

func candidates() []string { return nil }

func openLibrary(name string) (uintptr, error) {
	return 0, fmt.Errorf("loading %s: not supported on %s/%s", name, runtime.GOOS, runtime.GOARCH)
}

func lookup(uintptr, string) (uintptr, error) { return 0, fmt.Errorf("not supported") }

func (d *Driver) syscall(uintptr, ...uintptr) uintptr { return uintptr(ErrorNotInitialized) }
