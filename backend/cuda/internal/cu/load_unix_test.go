//go:build (linux || darwin) && (amd64 || arm64)

package cu

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebitengine/purego"
	"github.com/gpuact/gpuact/backend/core"
)

// unusedSymbols are driver entry points gpuact once required without calling them. A driver may lack
// them (the fake below does) and still loads.
var unusedSymbols = []string{"cuMemcpyHtoD_v2", "cuMemcpyDtoH_v2", "cuCtxSynchronize", "cuStreamQuery", "cuMemsetD8Async"}

// fakeDriver builds backend/cuda/testdata/fakecuda.c with the C compiler ($CC, else cc) and defines, and
// opens it (RTLD_LOCAL, so that its symbols never stand in for another library's, and closed when the
// test ends). It skips the test, saying so, without a C compiler.
func fakeDriver(t *testing.T, defines ...string) (lib uintptr, path string) {
	t.Helper()
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("no C compiler (%s) to build the fake driver: %v", cc, err)
	}
	path = filepath.Join(t.TempDir(), "libcuda.so.1")
	args := append(append([]string{"-shared", "-fPIC"}, defines...), "-o", path, filepath.Join("..", "..", "testdata", "fakecuda.c"))
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("building the fake driver: %s %s: %v\n%s", cc, strings.Join(args, " "), err, out)
	}
	lib, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { purego.Dlclose(lib) })
	return lib, path
}

// TestLoadWithoutUnusedSymbols: a driver that exports the entry points gpuact calls, and none of those
// it does not, loads: its symbols resolve and cuInit is called.
func TestLoadWithoutUnusedSymbols(t *testing.T) {
	lib, path := fakeDriver(t, "-DINIT_RESULT=0")
	for _, s := range unusedSymbols {
		if p, err := lookup(lib, s); err == nil && p != 0 {
			t.Fatalf("the fake driver exports %s, so it cannot show that a driver without it loads", s)
		}
	}
	d, err := bind(lib, path)
	if err != nil {
		t.Fatalf("a driver without %s: %v", strings.Join(unusedSymbols, ", "), err)
	}
	for _, s := range d.fn.symbols() {
		if *s.ptr == 0 {
			t.Errorf("%s was not resolved", s.name)
		}
	}
}

// TestLoadLacksRequiredSymbol: a driver lacking any one entry point gpuact requires is refused with
// ErrUnavailable and a message that names it (the fake exports the symbol under another name); one
// lacking an optional entry point loads, without it.
func TestLoadLacksRequiredSymbol(t *testing.T) {
	for _, s := range (&funcs{}).symbols() {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			lib, path := fakeDriver(t, "-DINIT_RESULT=0", "-D"+s.name+"=renamed_"+s.name)
			d, err := bind(lib, path)
			if optionalSymbols[s.name] {
				if err != nil || d.MemoryPools() {
					t.Errorf("a driver without the optional %s: %v, memory pools %v; want it loaded without pools", s.name, err, err == nil && d.MemoryPools())
				}
				return
			}
			if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "has no symbol "+s.name+" ") {
				t.Errorf("a driver without %s: %v, want ErrUnavailable naming it", s.name, err)
			}
		})
	}
}

// TestLoadWithoutMemoryPools: a driver older than CUDA 11.2 (none of the stream-ordered allocator's entry
// points) loads; MemoryPools is false and the pool calls return CUDA_ERROR_NOT_SUPPORTED without calling.
func TestLoadWithoutMemoryPools(t *testing.T) {
	lib, path := fakeDriver(t, "-DINIT_RESULT=0", "-DNO_MEMORY_POOLS")
	d, err := bind(lib, path)
	if err != nil {
		t.Fatalf("a driver without memory pools: %v", err)
	}
	if d.MemoryPools() {
		t.Error("MemoryPools() is true for a driver without its entry points")
	}
	_, err = d.MemAllocAsync(64, 0)
	if !IsCode(err, ErrorNotSupported) {
		t.Errorf("MemAllocAsync on a driver without it: %v, want CUDA_ERROR_NOT_SUPPORTED", err)
	}
	for name, err := range map[string]error{
		"MemFreeAsync":        d.MemFreeAsync(1, 0),
		"MemPoolTrimTo":       d.MemPoolTrimTo(1, 0),
		"SetMemPoolAttribute": d.SetMemPoolAttribute(1, MemPoolReleaseThreshold, 0),
	} {
		if !IsCode(err, ErrorNotSupported) {
			t.Errorf("%s on a driver without it: %v, want CUDA_ERROR_NOT_SUPPORTED", name, err)
		}
	}
	if _, err := d.DefaultMemPool(0); !IsCode(err, ErrorNotSupported) {
		t.Errorf("DefaultMemPool on a driver without it: %v", err)
	}
	if _, err := d.MemPoolAttribute(1, MemPoolUsedCurrent); !IsCode(err, ErrorNotSupported) {
		t.Errorf("MemPoolAttribute on a driver without it: %v", err)
	}
}
