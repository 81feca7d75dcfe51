package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/verify"
)

// The ELU kernels' vectorised exp/expm1 against the oracle (SEMANTICS §2: float32 ≤ 2 ULP, float64 ≤ 3 ULP).
// TestELUFloat32Dense samples the float32 values ≤ 0 in CI; GPUACT_EXHAUSTIVE=1 makes it try every one
// of them (2^31 bit patterns: -0, the denormals, every normal, -Inf and the negative NaNs).
// TestELUFloat64Sampled draws float64 inputs; GPUACT_F64_SAMPLES raises its count.

func skipWithoutFast(t *testing.T) {
	if len(fastImplementations()) == 0 {
		t.Skipf("no implementation but generic here (%s; purego tag or no AVX2): nothing to compare with the oracle", runtime.GOARCH)
	}
}

func fastImplementations() []string {
	names := cpu.Implementations()
	return names[:len(names)-1] // all but generic, which is the oracle itself
}

func TestELUFloat32Dense(t *testing.T) {
	skipWithoutFast(t)
	stride := uint64(509) // about 4.2 million values ≤ 0
	if testing.Short() || raceEnabled {
		stride = 4093
	}
	exhaustive := os.Getenv("GPUACT_EXHAUSTIVE") != ""
	if exhaustive {
		stride = 1
	}
	for _, name := range fastImplementations() {
		for _, act := range []formula.Activation{formula.ELU(1), formula.ELU(0.37), formula.ELU(2.5)} {
			stride := stride
			if !exhaustive && act.Alpha() != 1 {
				stride *= 4
			}
			t.Run(name+"/"+act.String(), func(t *testing.T) { checkF32Exhaustive(t, name, act, stride) })
		}
	}
}

// checkF32Exhaustive checks the float32 values ≤ 0 whose bit patterns are multiples of stride apart,
// on all cores.
func checkF32Exhaustive(t *testing.T, name string, act formula.Activation, stride uint64) {
	start := time.Now()
	workers := runtime.GOMAXPROCS(0)
	const lo, hi = 0x80000000, 0x100000000 // sign bit set: -0 … -NaN
	span := (hi - lo) / uint64(workers)
	results := make([][2]ulpStats, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			a := lo + uint64(w)*span
			a += (stride - (a-lo)%stride) % stride
			results[w][0], results[w][1] = checkF32Range(t, name, act, a, min(hi, a+span), stride)
		})
	}
	wg.Wait()
	var fwd, bwd ulpStats
	for _, r := range results {
		fwd.merge(r[0])
		bwd.merge(r[1])
	}
	t.Logf("%s %s float32 x ≤ 0 every %d: forward %v", name, act, stride, &fwd)
	t.Logf("%s %s float32 x ≤ 0 every %d: backward from input (dy = 1, 3·2^20) %v (%v)", name, act, stride, &bwd, time.Since(start).Round(time.Second))
	if fwd.bad > 0 || bwd.bad > 0 {
		t.Errorf("%s %s: beyond 2 ULP", name, act)
	}
}

func (s *ulpStats) merge(o ulpStats) {
	s.n += o.n
	s.bad += o.bad
	if o.max > s.max || s.worst == "" {
		s.max, s.worst = o.max, o.worst
	}
}

func TestELUFloat64Sampled(t *testing.T) {
	skipWithoutFast(t)
	n := 1 << 21
	if testing.Short() || raceEnabled {
		n = 1 << 17
	}
	if s := os.Getenv("GPUACT_F64_SAMPLES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(64, 64))
	x := make([]float64, n)
	dy := make([]float64, n)
	for i := range x {
		switch i % 4 {
		case 0: // uniform over the range where expm1 and exp vary
			x[i] = -40 * rng.Float64()
		case 1: // magnitudes from the denormals to the largest, log-uniform
			x[i] = -math.Pow(2, -1074+2098*rng.Float64())
		case 2: // near 0, where expm1 must keep its relative accuracy
			x[i] = -math.Pow(2, -60*rng.Float64())
		default: // around the reduction's boundaries k·ln2/2
			x[i] = -float64(rng.IntN(80))*math.Ln2/2 + (rng.Float64()-0.5)*1e-6
		}
		dy[i] = math.Copysign(math.Pow(2, 40*rng.Float64()-20)*(1+rng.Float64()), rng.Float64()-0.5)
	}
	out := make([]float64, n)
	for _, name := range fastImplementations() {
		for _, act := range []formula.Activation{formula.ELU(1), formula.ELU(0.37), formula.ELU(2.5)} {
			for _, p := range []formula.Pass{formula.Forward, formula.BackwardFromInput, formula.BackwardFromOutput} {
				a, b := x, []float64(nil)
				if p != formula.Forward {
					a, b = dy, x
				}
				cpu.RunImplementation(name, p, act, out, a, b, false)
				want, err := verify.Want[float64](p, act)
				if err != nil {
					t.Fatal(err)
				}
				tol, err := formula.Tolerance(formula.KindELU, p, formula.Float64)
				if err != nil {
					t.Fatal(err)
				}
				var s ulpStats
				for i, v := range out {
					var bi float64
					if b != nil {
						bi = b[i]
					}
					s.add(formula.ULPs(v, want(a[i], bi)), tol, func() string {
						return fmt.Sprintf("inputs (%g, %g): got %g want %g", a[i], bi, v, want(a[i], bi))
					})
				}
				t.Logf("%s %s %s float64: %v", name, act, p, &s)
				if s.bad > 0 {
					t.Errorf("%s %s %s: beyond %d ULP", name, act, p, tol)
				}
			}
		}
	}
}
