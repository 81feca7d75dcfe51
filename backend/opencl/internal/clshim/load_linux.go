//go:build linux

package clshim

import (
	"fmt"

	"github.com/ebitengine/purego"
)

// bind opens the library (the same instance GPUACT_OPENCL_LIBRARY makes the backend load: dlopen of
// one path gives one copy of its state) and binds the control functions.
func bind(path string) (*Shim, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	s := &Shim{Path: path}
	for _, f := range []struct {
		name string
		fn   any
	}{
		{"clshim_fail", &s.fail},
		{"clshim_clear_faults", &s.clear},
		{"clshim_calls", &s.calls},
		{"clshim_objects", &s.objects},
		{"clshim_violations", &s.violations},
	} {
		addr, err := purego.Dlsym(h, f.name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		purego.RegisterFunc(f.fn, addr)
	}
	return s, nil
}
