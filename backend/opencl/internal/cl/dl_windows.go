//go:build windows

package cl

import (
	"syscall"

	"github.com/ebitengine/purego"
)

var defaultNames = []string{"OpenCL.dll"}

func openLibrary(name string) (uintptr, error) {
	h, err := syscall.LoadLibrary(name)
	return uintptr(h), err
}

func lookup(h uintptr, name string) (uintptr, error) {
	return syscall.GetProcAddress(syscall.Handle(h), name)
}

func closeLibrary(h uintptr) { _ = syscall.FreeLibrary(syscall.Handle(h)) }

func bind(fn any, addr uintptr) { purego.RegisterFunc(fn, addr) }
