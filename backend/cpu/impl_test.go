package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpuact/gpuact/backend/backendtest"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/verify"
)

// forEachImplementation runs f once per implementation this machine has (the TestAllImplementations
// helper of STYLE): every fast path and the generic loops see the same cases.
func forEachImplementation(t *testing.T, f func(t *testing.T, name string)) {
	for _, name := range cpu.Implementations() {
		t.Run(name, func(t *testing.T) { f(t, name) })
	}
}

func TestImplementations(t *testing.T) {
	names := cpu.Implementations()
	if len(names) == 0 || names[len(names)-1] != "generic" {
		t.Fatalf("Implementations() = %v, want a list ending in generic", names)
	}
	for _, name := range names {
		b, err := cpu.NewImplementation(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: path %q", name, b.Info().Details["path"])
		b.Close()
	}
	if _, err := cpu.NewImplementation("avx9000"); err == nil {
		t.Error("NewImplementation(avx9000) succeeded")
	}
	t.Logf("New() uses %q", cpu.New().Info().Details["path"])
}

// guard is the number of NaN elements around every slice the kernels see: odd, so that slice ends
// fall at every alignment.
const guard = 37

// guarded returns n elements inside NaN guard bands, starting off elements into an allocation (so at
// every alignment), and the whole allocation.
func guarded[T formula.Elem](n, off int) (view, whole []T) {
	whole = make([]T, off+n+guard)
	for i := range whole {
		whole[i] = backendtest.Poison[T]()
	}
	return whole[off : off+n], whole
}

func alphas(p formula.Pass, k formula.Kind) []formula.Activation {
	switch k {
	case formula.KindReLU:
		return []formula.Activation{formula.ReLU()}
	case formula.KindLeakyReLU:
		acts := []formula.Activation{formula.LeakyReLU(0.01), formula.LeakyReLU(0.2), formula.LeakyReLU(0)}
		if p != formula.BackwardFromOutput {
			acts = append(acts, formula.LeakyReLU(-0.3))
		}
		return acts
	}
	acts := []formula.Activation{formula.ELU(1), formula.ELU(0.37), formula.ELU(2.5), formula.ELU(0), formula.ELU(1e-12), formula.ELU(1e12)}
	if p != formula.BackwardFromOutput {
		acts = append(acts, formula.ELU(-0.8))
	}
	return acts
}

// TestAllImplementations checks every implementation, pass, dtype and α on sizes around the kernels'
// block and vector widths, at every start alignment, with and without non-temporal stores, out of
// place and in place, with NaN guard bands that must stay untouched.
func TestAllImplementations(t *testing.T) {
	forEachImplementation(t, func(t *testing.T, name string) {
		for _, p := range formula.Passes {
			for _, k := range formula.Kinds {
				for _, act := range alphas(p, k) {
					t.Run(fmt.Sprintf("%s/%s/float32", p, act), func(t *testing.T) { checkImpl[float32](t, name, p, act) })
					t.Run(fmt.Sprintf("%s/%s/float64", p, act), func(t *testing.T) { checkImpl[float64](t, name, p, act) })
					t.Run(fmt.Sprintf("%s/%s/bfloat16", p, act), func(t *testing.T) { checkImpl[formula.BF16](t, name, p, act) })
					if formula.CheckAlpha(act, formula.Float16) == nil { // 1e12 is past float16's range: refused
						t.Run(fmt.Sprintf("%s/%s/float16", p, act), func(t *testing.T) { checkImpl[formula.F16](t, name, p, act) })
					}
				}
			}
		}
	})
}

var implSizes = func() []int {
	s := []int{}
	for n := 0; n <= 40; n++ {
		s = append(s, n)
	}
	return append(s, 63, 64, 65, 100, 127, 128, 129, 1000, 4099)
}()

func checkImpl[T formula.Elem](t *testing.T, name string, p formula.Pass, act formula.Activation) {
	rng := rand.New(rand.NewPCG(uint64(p), uint64(act.Kind())))
	for _, n := range implSizes {
		for off := range 4 {
			for _, nt := range []bool{false, true} {
				for _, inPlace := range []int{0, 1, 2} { // out separate, out = a, out = b
					if inPlace == 2 && p == formula.Forward {
						continue
					}
					a, b := inputs[T](rng, p, act, n)
					out, whole := guarded[T](n, off)
					ia, _ := guarded[T](n, (off+1)%4)
					copy(ia, a)
					var ib []T
					if b != nil {
						ib, _ = guarded[T](n, (off+3)%4)
						copy(ib, b)
					}
					switch inPlace {
					case 1:
						out, whole = ia, nil
					case 2:
						out, whole = ib, nil
					}
					cpu.RunImplementation(name, p, act, out, ia, ib, nt)
					if r := verify.Check(p, act, out, a, b, true); !r.OK() {
						t.Fatalf("n=%d off=%d nt=%v inPlace=%d: %v", n, off, nt, inPlace, r)
					}
					for i, v := range whole {
						if (i < off || i >= off+n) && !backendtest.IsPoison(v) {
							t.Fatalf("n=%d off=%d nt=%v: guard element %d written (%v)", n, off, nt, i, v)
						}
					}
				}
			}
		}
	}
}

func inputs[T formula.Elem](rng *rand.Rand, p formula.Pass, act formula.Activation, n int) (a, b []T) {
	switch p {
	case formula.Forward:
		return backendtest.Inputs[T](rng, n), nil
	case formula.BackwardFromInput:
		return backendtest.Grads[T](rng, n), backendtest.Inputs[T](rng, n)
	}
	return backendtest.Grads[T](rng, n), backendtest.Outputs[T](rng, act, n)
}

// TestParallelSplit runs calls large enough to be split across goroutines at small thresholds, so the
// chunk boundaries (and the non-temporal heads of every chunk) are checked against the oracle.
func TestParallelSplit(t *testing.T) {
	defer cpu.SetParallel(0, 300)()
	defer cpu.SetNonTemporalMin(1 << 10)()
	forEachImplementation(t, func(t *testing.T, name string) {
		b, _ := cpu.NewImplementation(name)
		defer b.Close()
		rng := rand.New(rand.NewPCG(5, 6))
		for _, n := range []int{999, 1000, 4321, 100003} {
			for _, p := range formula.Passes {
				for _, k := range formula.Kinds {
					act := k.Default()
					a, c := inputs[float32](rng, p, act, n)
					whole, _ := b.Alloc(formula.Float32, n+3)
					out, _ := whole.Slice(3, n+3)
					in1, _ := b.Alloc(formula.Float32, n)
					in2, _ := b.Alloc(formula.Float32, n)
					b.Upload(in1, core.HostOf(a))
					if c != nil {
						b.Upload(in2, core.HostOf(c))
					}
					if err := core.Run(b, p, act, out, in1, in2); err != nil {
						t.Fatal(err)
					}
					got := make([]float32, n)
					b.Download(core.HostOf(got), out)
					if r := verify.Check(p, act, got, a, c, true); !r.OK() {
						t.Fatalf("n=%d %s %s: %v", n, p, act, r)
					}
					b.Free(whole)
					b.Free(in1)
					b.Free(in2)
				}
			}
		}
	})
}

// ulpStats accumulates the ULP distances of a kernel's results from SEMANTICS §2's reference.
type ulpStats struct {
	n, bad int
	max    uint64
	worst  string
}

func (s *ulpStats) add(d uint64, tol uint64, what func() string) {
	s.n++
	if d > s.max || (d == formula.Infinite && s.worst == "") {
		s.max = d
		s.worst = what()
	}
	if d > tol {
		s.bad++
	}
}

func (s *ulpStats) String() string {
	return fmt.Sprintf("%d values, %d beyond tolerance, max %d ULP at %s", s.n, s.bad, s.max, s.worst)
}

// checkF32Range runs ELU forward and backward from input (dy = 1 and dy = 3·2^20, a mantissa that is
// not a power of two) of every implementation but generic on the float32 values whose bits are
// lo, lo+stride, … < hi, against the oracle, and returns the statistics per pass.
func checkF32Range(t *testing.T, name string, act formula.Activation, lo, hi, stride uint64) (fwd, bwd ulpStats) {
	const batch = 1 << 16
	x := make([]float32, 0, batch)
	out := make([]float32, batch)
	dy := make([]float32, batch)
	fRef, err := verify.Want[float32](formula.Forward, act)
	if err != nil {
		t.Fatal(err)
	}
	bRef, err := verify.Want[float32](formula.BackwardFromInput, act)
	if err != nil {
		t.Fatal(err)
	}
	flush := func() {
		n := len(x)
		cpu.RunImplementation(name, formula.Forward, act, out[:n], x, nil, false)
		for i, v := range out[:n] {
			fwd.add(formula.ULPs(v, fRef(x[i], 0)), 2, func() string {
				return fmt.Sprintf("x=%g (%#x): got %g want %g", x[i], math.Float32bits(x[i]), v, fRef(x[i], 0))
			})
		}
		for _, g := range []float32{1, 3 << 20} {
			for i := range dy[:n] {
				dy[i] = g
			}
			cpu.RunImplementation(name, formula.BackwardFromInput, act, out[:n], dy[:n], x, false)
			for i, v := range out[:n] {
				bwd.add(formula.ULPs(v, bRef(g, x[i])), 2, func() string {
					return fmt.Sprintf("dy=%g x=%g (%#x): got %g want %g", g, x[i], math.Float32bits(x[i]), v, bRef(g, x[i]))
				})
			}
		}
		x = x[:0]
	}
	for bits := lo; bits < hi; bits += stride {
		x = append(x, math.Float32frombits(uint32(bits)))
		if len(x) == batch {
			flush()
		}
	}
	flush()
	return fwd, bwd
}
