package cpu

import (
	"os"
	"strings"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

//go:generate sh -c "cd _asm && go run . -dir .."

// An implementation computes the nine passes over slices. The backend picks the best one the machine
// supports once (dispatch below); tests run every one of them on the same cases.
type implementation struct {
	// name is the level's name in GPUACT_CPU_DISABLE and NewImplementation; path is what Info reports.
	name, path string
	// builtOn names the level this one extends ("avx512" for "avx512bf16"): disabling that disables
	// this one too. One step only: a level built on one that is itself built on another would need
	// dispatch to follow the chain.
	builtOn string
	// run32 and run64 compute kernel (a formula.Row's Kernel, one hasKernel knows) over out (out[i]
	// from a[i], b[i]). nt asks for non-temporal stores where the implementation has them: the call's
	// arrays are larger than the caches, so writing around them saves the reads a normal store makes.
	run32 func(kernel string, alpha float32, out, a, b []float32, nt bool)
	run64 func(kernel string, alpha float64, out, a, b []float64, nt bool)
	// run16 computes kernel on 16-bit elements of dtype dt (float16 or bfloat16), given as their bits,
	// with α already rounded to dt and widened to float32. nil: through run32 (widen16).
	run16 func(dt formula.DType, kernel string, alpha float32, out, a, b []uint16, nt bool)
	// cost is what one element takes on one goroutine, in ns, for float32 [0], float64 [1] and the
	// 16-bit types [2]: of the passes that only select [0][·] and of ELU forward and backward from
	// input [1][·], which evaluate exp. Measured with BenchmarkPasses at n = 2^20 (in L3) and
	// BenchmarkGang; parallel uses it to decide whether a call is worth a second core.
	cost [2][3]float64
	// costReLU16, when set, replaces cost[0][2] for ReLU's kernels: the assembly computes them on the
	// 16-bit patterns, with no conversion (a quarter of LeakyReLU's time).
	costReLU16 float64
}

// nsPerElement estimates one element of kernel for pass p, for elements of size bytes.
func (im *implementation) nsPerElement(p formula.Pass, kernel string, size int) float64 {
	class := 0
	if expKernel(kernel) {
		class = 1
	}
	col := 0 // float32
	switch size {
	case 8:
		col = 1
	case 2:
		col = 2
	}
	c := im.cost[class][col]
	if size == 2 && im.costReLU16 > 0 && (kernel == "relu_fwd" || kernel == "relu_bwd") {
		c = im.costReLU16
	}
	if p != formula.Forward {
		c *= 1.5 // three arrays instead of two
	}
	return c
}

// generic is the plain Go implementation: the oracle's functions in a loop. It is the last of every
// dispatch chain, and the only one on architectures other than amd64 and with the purego build tag.
var generic = &implementation{
	name: "generic", path: "generic Go",
	cost: [2][3]float64{{0.7, 1.0, 1.4}, {5, 5, 6}},
	run32: func(kernel string, alpha float32, out, a, b []float32, _ bool) {
		runGeneric(kernel, alpha, out, a, b)
	},
	run64: func(kernel string, alpha float64, out, a, b []float64, _ bool) {
		runGeneric(kernel, alpha, out, a, b)
	},
}

// init gives every implementation without 16-bit kernels of its own the widening path.
func init() {
	for _, im := range implementations {
		if im.run16 == nil {
			im.run16 = im.widen16
		}
	}
}

// implementations lists what this build supports on this machine, best first, ending in generic.
// The architecture's file prepends its levels (kernels_amd64.go) after reading the CPU's features.
var implementations = append(simdImplementations(), generic)

// disabled holds the levels named in GPUACT_CPU_DISABLE (comma-separated, e.g. "avx2"), read once:
// New skips them. "all" disables every level but generic.
var disabled = parseDisable(os.Getenv("GPUACT_CPU_DISABLE"))

func parseDisable(s string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
			m[f] = true
		}
	}
	return m
}

// dispatch returns the implementation New uses: the first one not disabled.
func dispatch() *implementation {
	for _, im := range implementations {
		if im == generic || (!disabled[im.name] && !disabled[im.builtOn] && !disabled["all"]) {
			return im
		}
	}
	return generic
}

// Implementations returns the names of the implementations this build can run on this machine, best
// first; the last is always "generic" (plain Go). GPUACT_CPU_DISABLE does not remove names from this
// list: it only changes which one New picks.
func Implementations() []string {
	names := make([]string, len(implementations))
	for i, im := range implementations {
		names[i] = im.name
	}
	return names
}

// NewImplementation returns a CPU backend that uses the named implementation (one of
// Implementations()) whatever GPUACT_CPU_DISABLE says: for tests and benchmarks that compare them.
func NewImplementation(name string) (*Backend, error) {
	for _, im := range implementations {
		if im.name == name {
			return newBackend(im), nil
		}
	}
	return nil, core.Errorf(core.ErrUnavailable, "cpu", "NewImplementation", "name", "implementation %q is not available here (have %s)", name, strings.Join(Implementations(), ", "))
}
