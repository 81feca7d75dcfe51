//go:build windows

package cl

import (
	"github.com/ebitengine/purego"
	"github.com/gpuact/gpuact/internal/winlib"
	"golang.org/x/sys/windows"
)

var defaultNames = []string{"OpenCL.dll"}

// openLibrary loads OpenCL.dll from the system directory only, never through the DLL search path (the
// program's directory, the current directory, PATH), where a planted OpenCL.dll would be found first;
// a path named in GPUACT_OPENCL_LIBRARY is loaded from that path (see winlib.Load).
func openLibrary(name string) (uintptr, error) {
	h, err := winlib.Load(name)
	return uintptr(h), err
}

func lookup(h uintptr, name string) (uintptr, error) {
	return windows.GetProcAddress(windows.Handle(h), name)
}

func closeLibrary(h uintptr) { _ = windows.FreeLibrary(windows.Handle(h)) }

func bind(fn any, addr uintptr) { purego.RegisterFunc(fn, addr) }
