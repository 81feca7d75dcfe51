package cpu_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/verify"
)

// TestExhaustive16 runs every pass of every kind, on every implementation, over all 65536 bit patterns
// of float16 and of bfloat16 as x (as y for the passes from the output): with dy in a handful of
// values (1, -2.5, 0.3 rounded, the smallest subnormal, minus the largest finite value, +Inf, NaN) for
// the backward passes, and α in {0, 0.01, -0.3, 1, 0.37, 2.5} (non-negative from the output; ReLU has
// none). Every result must be within SEMANTICS §2's tolerance of the oracle (bit-exact for ReLU and
// LeakyReLU, 1 ULP for ELU: §1.6), and every NaN it produces quiet. It logs the largest distance seen
// per implementation, dtype, pass and kind. Under the race detector (make test), whose instrumented
// loops run it ten times slower, it checks the assembly only, with dy in {-2.5, the smallest
// subnormal, minus the largest finite value}: the plain loops get the whole run from go test without
// -race, and with -tags purego, where they are the only implementation.
func TestExhaustive16(t *testing.T) {
	t.Run("float16", func(t *testing.T) { exhaustive16[formula.F16](t) })
	t.Run("bfloat16", func(t *testing.T) { exhaustive16[formula.BF16](t) })
}

// exhaustiveAlphas are the α of TestExhaustive16 (the negative one only where the pass allows it).
var exhaustiveAlphas = []float64{0, 0.01, -0.3, 1, 0.37, 2.5}

func exhaustive16[T formula.F16 | formula.BF16](t *testing.T) {
	dt := formula.DTypeOf[T]()
	quiet, maxFinite := uint16(0x0200), uint16(0x7bff) // float16: top fraction bit, 65504
	if dt == formula.BFloat16 {
		quiet, maxFinite = 0x0040, 0x7f7f
	}
	x := make([]T, 1<<16)
	for i := range x {
		x[i] = fromBits16[T](uint16(i))
	}
	dys := []T{formula.FromFloat64[T](1), formula.FromFloat64[T](-2.5), formula.FromFloat64[T](0.3),
		fromBits16[T](0x0001), fromBits16[T](0x8000 | maxFinite), formula.FromFloat64[T](math.Inf(1)), fromBits16[T](0x7fff)}
	impls := cpu.Implementations()
	if raceEnabled {
		dys = []T{dys[1], dys[3], dys[4]}
		if fast := fastImplementations(); len(fast) > 0 {
			impls = fast
		}
	}
	// The backward passes' inputs: every x with every dy.
	dy, xs := make([]T, 0, len(x)*len(dys)), make([]T, 0, len(x)*len(dys))
	for _, d := range dys {
		for _, v := range x {
			dy, xs = append(dy, d), append(xs, v)
		}
	}
	worst := map[string]uint64{}
	var order []string
	for _, p := range formula.Passes {
		for _, k := range formula.Kinds {
			var acts []formula.Activation
			for _, a := range exhaustiveAlphas {
				switch {
				case k == formula.KindReLU:
					acts = []formula.Activation{formula.ReLU()}
				case a < 0 && p == formula.BackwardFromOutput:
				case k == formula.KindLeakyReLU:
					acts = append(acts, formula.LeakyReLU(a))
				default:
					acts = append(acts, formula.ELU(a))
				}
			}
			key := fmt.Sprintf("%s %s", p, k)
			order = append(order, key)
			tol, err := formula.Tolerance(k, p, dt)
			if err != nil {
				t.Fatal(err)
			}
			for _, act := range acts {
				a, b := x, []T(nil)
				if p != formula.Forward {
					a, b = dy, xs
				}
				want, err := verify.Want[T](p, act)
				if err != nil {
					t.Fatal(err)
				}
				w := make([]T, len(a))
				for i := range a {
					var bi T
					if b != nil {
						bi = b[i]
					}
					w[i] = want(a[i], bi)
				}
				out := make([]T, len(a))
				for _, name := range impls {
					cpu.RunImplementation(name, p, act, out, a, b, false)
					var s ulpStats
					for i, g := range out {
						d := formula.ULPs(g, w[i])
						if d == 0 && isNaN16(g) && bits16(g)&quiet == 0 {
							d = formula.Infinite // a signalling NaN: counted beyond any tolerance
						}
						if d > tol || d > s.max {
							s.add(d, tol, func() string {
								var bi T
								if b != nil {
									bi = b[i]
								}
								return fmt.Sprintf("inputs (%v %#04x, %v %#04x): got %v (%#04x), want %v (%#04x)",
									a[i], bits16(a[i]), bi, bits16(bi), g, bits16(g), w[i], bits16(w[i]))
							})
							s.n--
						}
						s.n++
					}
					if s.bad > 0 {
						t.Errorf("%s %s %s: %v (tolerance %d ULP)", name, p, act, &s, tol)
					}
					worst[name+" "+key] = max(worst[name+" "+key], s.max)
				}
			}
		}
	}
	for _, name := range impls {
		for _, key := range order {
			t.Logf("%s %s %s: max %d ULP over every input and α", name, dt, key, worst[name+" "+key])
		}
	}
}

func fromBits16[T formula.F16 | formula.BF16](u uint16) T {
	var v T
	switch p := any(&v).(type) {
	case *formula.F16:
		*p = formula.F16FromBits(u)
	case *formula.BF16:
		*p = formula.BF16FromBits(u)
	}
	return v
}

func bits16[T formula.F16 | formula.BF16](v T) uint16 {
	switch x := any(v).(type) {
	case formula.F16:
		return x.Bits()
	case formula.BF16:
		return x.Bits()
	}
	return 0
}

func isNaN16[T formula.F16 | formula.BF16](v T) bool {
	switch x := any(v).(type) {
	case formula.F16:
		return x.IsNaN()
	case formula.BF16:
		return x.IsNaN()
	}
	return false
}
