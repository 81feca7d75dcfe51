//go:build (linux || darwin) && (amd64 || arm64)

package cudaemu

import (
	"github.com/ebitengine/purego"
)

// bind opens the library at path (the instance the backend loads too: dlopen returns the same one) and
// binds the controls; a library without them (a real libcuda) gives nil.
func bind(path string) (*Emu, error) {
	lib, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, err
	}
	if p, err := purego.Dlsym(lib, "cudaemu_count"); err != nil || p == 0 {
		return nil, nil
	}
	e := &Emu{Path: path}
	purego.RegisterLibFunc(&e.fail, lib, "cudaemu_fail")
	purego.RegisterLibFunc(&e.disarm, lib, "cudaemu_disarm")
	purego.RegisterLibFunc(&e.setDelays, lib, "cudaemu_set_delays")
	purego.RegisterLibFunc(&e.delays, lib, "cudaemu_delays")
	purego.RegisterLibFunc(&e.count, lib, "cudaemu_count")
	purego.RegisterLibFunc(&e.setPools, lib, "cudaemu_set_pools")
	purego.RegisterLibFunc(&e.pools, lib, "cudaemu_pools")
	purego.RegisterLibFunc(&e.messages, lib, "cudaemu_messages")
	purego.RegisterLibFunc(&e.kernelNames, lib, "cudaemu_kernel_names")
	return e, nil
}
