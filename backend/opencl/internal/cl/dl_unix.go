//go:build darwin || linux || netbsd || (freebsd && cgo)

package cl

import (
	"runtime"

	"github.com/ebitengine/purego"
)

var defaultNames = func() []string {
	if runtime.GOOS == "darwin" {
		return []string{"/System/Library/Frameworks/OpenCL.framework/OpenCL", "libOpenCL.dylib"}
	}
	return []string{"libOpenCL.so.1", "libOpenCL.so"}
}()

func openLibrary(name string) (uintptr, error) {
	return purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
}

func lookup(h uintptr, name string) (uintptr, error) { return purego.Dlsym(h, name) }

func closeLibrary(h uintptr) { _ = purego.Dlclose(h) }

func bind(fn any, addr uintptr) { purego.RegisterFunc(fn, addr) }
