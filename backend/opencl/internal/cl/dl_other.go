//go:build !(darwin || linux || netbsd || (freebsd && cgo) || windows)

package cl

var defaultNames = []string{"libOpenCL.so.1"}

func openLibrary(string) (uintptr, error) { return 0, ErrNotSupported }

func lookup(uintptr, string) (uintptr, error) { return 0, ErrNotSupported }

func closeLibrary(uintptr) {}

func bind(any, uintptr) {}
