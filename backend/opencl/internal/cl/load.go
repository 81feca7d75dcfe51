package cl

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gpuact/gpuact/internal/secureexec"
)

// LibraryEnv names the environment variable that, when set, is the only library Load tries: a path
// (a carried ICD loader, say) or a name the dynamic linker searches for.
const LibraryEnv = "GPUACT_OPENCL_LIBRARY"

// ErrNotSupported is returned by Load on operating systems where purego cannot load libraries.
var ErrNotSupported = errors.New("loading shared libraries at run time is not supported on this operating system")

// Candidates returns the libraries Load tries, in order: the value of GPUACT_OPENCL_LIBRARY alone if
// it is set, otherwise the system's OpenCL ICD loader under its usual names. A process in secure-execution
// mode (setuid, setgid, file capabilities: see internal/secureexec) ignores GPUACT_OPENCL_LIBRARY, as the
// dynamic loader ignores LD_PRELOAD there, so that its environment cannot choose the code it loads.
func Candidates() []string {
	if v := strings.TrimSpace(os.Getenv(LibraryEnv)); v != "" && !secureexec.Enabled() {
		return []string{v}
	}
	return defaultNames
}

// Load loads the first of names that opens and binds every entry point the backend uses. A library
// that is missing, or lacks an entry point, is an error that names each library tried and why it
// failed; nothing panics.
func Load(names []string) (*Lib, error) {
	if len(names) == 0 {
		return nil, errors.New("no OpenCL library to try")
	}
	var why []string
	for _, name := range names {
		l, err := loadOne(name)
		if err == nil {
			return l, nil
		}
		msg := err.Error()
		if !strings.Contains(msg, name) { // dlerror names the file already
			msg = name + ": " + msg
		}
		why = append(why, msg)
	}
	return nil, errors.New(strings.Join(why, "; "))
}

func loadOne(name string) (*Lib, error) {
	h, err := openLibrary(name)
	if err != nil {
		return nil, err
	}
	l := &Lib{Path: name}
	syms := l.symbols()
	addrs := make([]uintptr, len(syms))
	for i, s := range syms {
		a, err := lookup(h, s.name)
		if err != nil || a == 0 {
			closeLibrary(h)
			if err == nil {
				err = errors.New("address is 0")
			}
			return nil, fmt.Errorf("missing entry point %s (an OpenCL 1.2 loader is needed): %v", s.name, err)
		}
		addrs[i] = a
	}
	for i, s := range syms {
		bind(s.fn, addrs[i])
	}
	// The library stays loaded for the life of the process: the bound functions point into it.
	return l, nil
}
