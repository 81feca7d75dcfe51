// Package clshim builds and drives clshim, an OpenCL library for tests only: it sits between the OpenCL
// backend and the real ICD loader, forwards every call, injects faults on request and counts the
// objects the backend creates, retains and releases. Only _test.go files may import this package; the
// library itself is never part of a gpuact build.
//
// Load compiles csrc/clshim.c (embedded here) with the system C compiler ($CC, else cc), once per
// test process, into a cache directory keyed by a hash of the source (os.UserCacheDir()/gpuact-clshim),
// and returns the library's path, to be named by GPUACT_OPENCL_LIBRARY, and its control functions,
// bound with purego. The shim forwards to libOpenCL.so.1 (GPUACT_CLSHIM_REAL names another loader).
// It runs on Linux; elsewhere Load returns an error.
//
// What it shows: the backend's outcome for each driver failure (the status code at the call it
// chooses) and whether every object is released exactly once. What it cannot show: faults that a
// real driver reports later or differently (an error of asynchronous work surfacing in another call,
// a device lost for good), which only a real device can produce.
package clshim

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

//go:embed csrc/clshim.c
var source []byte

// Kind is a kind of OpenCL object the shim counts.
type Kind int32

// The kinds of object, in the shim's order.
const (
	Context Kind = iota
	Queue
	Mem
	Program
	Kernel
	Event
	numKinds
)

// Kinds lists every kind.
var Kinds = []Kind{Context, Queue, Mem, Program, Kernel, Event}

func (k Kind) String() string {
	if k >= 0 && k < numKinds {
		return [...]string{"context", "queue", "mem", "program", "kernel", "event"}[k]
	}
	return fmt.Sprintf("Kind(%d)", int32(k))
}

// Counts are the objects of one kind that the caller created, retained and released through the
// shim, and the number still live (held by the caller).
type Counts struct {
	Created, Retained, Released, Live int64
}

// OpenCL status codes for injected faults.
const (
	OutOfResources             int32 = -5
	MemObjectAllocationFailure int32 = -4
	BuildProgramFailure        int32 = -11
	InvalidValue               int32 = -30
	OutOfHostMemory            int32 = -6
)

// Shim is the loaded library's control interface. Its state is the process's: every Backend opened
// through the shim shares it, so tests that use it must not run in parallel with each other.
type Shim struct {
	// Path is the library, for GPUACT_OPENCL_LIBRARY.
	Path string

	fail       func(name string, nth, times int64, code int32) int32
	clear      func()
	calls      func(name string, failed *int64) int64
	objects    func(kind int32, out *[4]int64) int32
	violations func(buf *byte, size int64) int64
}

var loaded struct {
	once sync.Once
	s    *Shim
	err  error
}

// Load builds the shim (once per process) and binds its control functions.
func Load() (*Shim, error) {
	loaded.once.Do(func() {
		path, err := build()
		if err != nil {
			loaded.err = err
			return
		}
		loaded.s, loaded.err = bind(path)
	})
	return loaded.s, loaded.err
}

// build compiles the shim into the cache, unless it is there already, and returns its path.
func build() (string, error) {
	if runtime.GOOS != "linux" {
		return "", fmt.Errorf("clshim runs on Linux only, not %s", runtime.GOOS)
	}
	cc := strings.TrimSpace(os.Getenv("CC"))
	if cc == "" {
		cc = "cc"
	}
	ccPath, err := exec.LookPath(cc)
	if err != nil {
		return "", fmt.Errorf("clshim needs a C compiler ($CC or cc): %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s %s\n", runtime.GOOS, runtime.GOARCH, ccPath)
	h.Write(source)
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "gpuact-clshim", hex.EncodeToString(h.Sum(nil))[:16])
	lib := filepath.Join(dir, "libclshim.so")
	if _, err := os.Stat(lib); err == nil {
		return lib, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Another test process may be building the same library: each builds into its own files and
	// renames the result into place, which is atomic.
	src, err := os.CreateTemp(dir, "clshim-*.c")
	if err != nil {
		return "", err
	}
	defer os.Remove(src.Name())
	if _, err := src.Write(source); err != nil {
		src.Close()
		return "", err
	}
	if err := src.Close(); err != nil {
		return "", err
	}
	tmp := strings.TrimSuffix(src.Name(), ".c") + ".so"
	defer os.Remove(tmp)
	out, err := exec.Command(ccPath, "-shared", "-fPIC", "-O2", "-Wall", "-o", tmp, src.Name(), "-ldl", "-lpthread").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building clshim with %s: %v\n%s", ccPath, err, out)
	}
	if err := os.Rename(tmp, lib); err != nil {
		return "", err
	}
	return lib, nil
}

// Fail makes calls nth, nth+1, ..., nth+times-1 of the entry point name (counted from now) fail with
// code; times < 0 fails every call from the nth on. Calls that create or queue something are not
// forwarded when they fail; clFinish, clFlush, clWaitForEvents and the release calls are forwarded
// and their status replaced.
func (s *Shim) Fail(name string, nth, times int, code int32) error {
	if s.fail(name, int64(nth), int64(times), code) != 0 {
		return fmt.Errorf("clshim: no entry point %s", name)
	}
	return nil
}

// ClearFaults removes every fault not yet used up.
func (s *Shim) ClearFaults() { s.clear() }

// Calls returns how many times name was called, and how many of those calls failed by a fault.
func (s *Shim) Calls(name string) (calls, failed int64) {
	calls = s.calls(name, &failed)
	return calls, failed
}

// Objects returns the counts of objects of kind k.
func (s *Shim) Objects(k Kind) Counts {
	var out [4]int64
	s.objects(int32(k), &out)
	return Counts{Created: out[0], Retained: out[1], Released: out[2], Live: out[3]}
}

// Live returns the live objects of every kind that has any, e.g. "event 3, mem 1"; "" when none is.
func (s *Shim) Live() string {
	var parts []string
	for _, k := range Kinds {
		if n := s.Objects(k).Live; n != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return strings.Join(parts, ", ")
}

// Violations returns how many times a handle the caller did not hold was used, retained or released,
// and a description of the first.
func (s *Shim) Violations() (int64, string) {
	buf := make([]byte, 512)
	n := s.violations(&buf[0], int64(len(buf)))
	if i := strings.IndexByte(string(buf), 0); i >= 0 {
		buf = buf[:i]
	}
	return n, string(buf)
}
