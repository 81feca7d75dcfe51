// Package verify compares results with the CPU oracle within the tolerances of SPEC §2. The conformance
// suite (backend/backendtest) and cmd/gpubench both check every result through it.
package verify

import (
	"fmt"
	"math"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
)

// Infinite is the ULP distance between a NaN and a number.
const Infinite = math.MaxUint64

// ULPs returns how many representable values of T lie between a and b: 0 for equal values, for +0 and
// -0, and for two NaNs (any payload); Infinite for a NaN and a non-NaN. The largest finite value and
// the infinity of its sign are 1 apart.
func ULPs[T core.Float](a, b T) uint64 {
	if a != a || b != b {
		if a != a && b != b {
			return 0
		}
		return Infinite
	}
	ia, ib := ordered(a), ordered(b)
	if ia > ib {
		return uint64(ia) - uint64(ib)
	}
	return uint64(ib) - uint64(ia)
}

// ordered maps a non-NaN float to an integer that is monotone in its value, with ±0 both 0.
func ordered[T core.Float](v T) int64 {
	var i int64
	if core.DTypeOf[T]() == core.Float32 {
		i = int64(int32(math.Float32bits(float32(v))))
		if i < 0 {
			i = math.MinInt32 - i
		}
		return i
	}
	i = int64(math.Float64bits(float64(v)))
	if i < 0 {
		i = math.MinInt64 - i
	}
	return i
}

// Tolerance is the largest ULP distance SPEC §2 allows for pass p of kind k on dtype dt: 0 (bit-exact)
// for ReLU and LeakyReLU; for ELU 2 on float32 and 3 on float64, and 2 for backward from output.
func Tolerance(p core.Pass, k core.Kind, dt core.DType) uint64 {
	switch {
	case k != core.KindELU:
		return 0
	case p == core.BackwardFromOutput || dt == core.Float32:
		return 2
	}
	return 3
}

// Want returns the value SPEC §2 measures pass p of act against, for inputs (a, b) = (x, -) for Forward
// or (dy, x) and (dy, y) for the backward passes. It is the CPU oracle, except for ELU backward on
// float64: from output SPEC measures against (y + α)·dy evaluated exactly, and from input against
// α·math.Exp(x)·dy; Want rounds each once, from a double-double evaluation. (The oracle rounds α·exp(x)
// and then the product with dy: with math.Exp's own error that is up to about 3.5 ULP from α·exp(x)·dy,
// more than the 3 ULP a backend is allowed, so a correctly rounded backend could fail against it.)
func Want[T core.Float](p core.Pass, act core.Activation) func(a, b T) T {
	ref := cpu.Reference[T](p, act)
	if p == core.Forward || act.Kind() != core.KindELU || core.DTypeOf[T]() != core.Float64 {
		return ref
	}
	alpha := float64(cpu.Round[T](act.Alpha()))
	if p == core.BackwardFromInput {
		return func(dy, x T) T {
			if x != x || x > 0 {
				return ref(dy, x)
			}
			return T(expTimesOnce(alpha, float64(x), float64(dy), float64(ref(dy, x))))
		}
	}
	return func(dy, y T) T {
		if y != y || y > 0 {
			return ref(dy, y)
		}
		return T(exactSumTimes(float64(y), alpha, float64(dy)))
	}
}

// expTimesOnce returns a·math.Exp(x)·d with both products exact (FMA), rounded once. Where exp(x),
// a·exp(x) or the result is not a finite normal number, or d is 0, infinite or NaN, it returns oracle,
// the CPU oracle's value, which keeps those cases right its own way.
func expTimesOnce(a, x, d, oracle float64) float64 {
	e := math.Exp(x)
	p := a * e
	if e < 0x1p-1022 || math.Abs(p) < 0x1p-1022 || math.IsInf(p, 0) || d == 0 || math.IsInf(d, 0) || d != d {
		return oracle // a subnormal exp(x) has lost digits already, even where a·exp(x) is normal (a > 1)
	}
	r := math.FMA(p, d, math.FMA(a, e, -p)*d)
	if math.Abs(r) < 0x1p-1022 || math.IsInf(r, 0) {
		return oracle
	}
	return r
}

// exactSumTimes returns (y+a)·d rounded once (to within a few parts in 2^-100 before rounding): y+a is
// split exactly into s+e (Knuth's TwoSum), s·d into p+q with an FMA, and the small terms summed last.
func exactSumTimes(y, a, d float64) float64 {
	s := y + a
	bb := s - y
	e := (y - (s - bb)) + (a - bb)
	p := s * d
	if math.IsInf(p, 0) || math.IsNaN(p) || p == 0 || math.IsInf(s, 0) {
		return (y + a) * d
	}
	q := math.FMA(s, d, -p)
	return p + (q + e*d)
}

// Result summarises a comparison.
type Result struct {
	// N is the number of elements compared, Bad the number beyond tolerance, MaxULP the largest distance
	// seen (Infinite when a NaN was expected and a number came, or the other way round).
	N, Bad int
	MaxULP uint64
	// Tolerance is the allowed distance; First describes the first element beyond it.
	Tolerance uint64
	First     *Mismatch
}

// Mismatch is one element beyond tolerance.
type Mismatch struct {
	Index     int
	A, B      float64 // the inputs (x, or dy and x/y)
	Got, Want float64
	ULPs      uint64
}

func (m *Mismatch) String() string {
	u := fmt.Sprint(m.ULPs)
	if m.ULPs == Infinite {
		u = "inf"
	}
	return fmt.Sprintf("[%d] inputs (%g, %g): got %g, want %g (%s ULP)", m.Index, m.A, m.B, m.Got, m.Want, u)
}

// OK reports whether no element was beyond tolerance.
func (r Result) OK() bool { return r.Bad == 0 }

func (r Result) String() string {
	if r.OK() {
		return fmt.Sprintf("%d elements, max %d ULP (tolerance %d)", r.N, r.MaxULP, r.Tolerance)
	}
	return fmt.Sprintf("%d of %d elements beyond %d ULP, first %v", r.Bad, r.N, r.Tolerance, r.First)
}

// Check compares got with Want for every element. a and b are the inputs as for Want (b is ignored for
// Forward). When denormals is false the device may flush denormal inputs and results to zero: an
// element also passes if it matches the oracle evaluated on flushed inputs, flushed.
func Check[T core.Float](p core.Pass, act core.Activation, got, a, b []T, denormals bool) Result {
	want := Want[T](p, act)
	r := Result{N: len(got), Tolerance: Tolerance(p, act.Kind(), core.DTypeOf[T]())}
	for i, g := range got {
		var bi T
		if p != core.Forward {
			bi = b[i]
		}
		w := want(a[i], bi)
		d := ULPs(g, w)
		if d > r.Tolerance && !denormals {
			d = min(d, ULPs(g, flush(want(flush(a[i]), flush(bi)))))
		}
		r.MaxULP = max(r.MaxULP, d)
		if d > r.Tolerance {
			if r.Bad == 0 {
				r.First = &Mismatch{Index: i, A: float64(a[i]), B: float64(bi), Got: float64(g), Want: float64(w), ULPs: d}
			}
			r.Bad++
		}
	}
	return r
}

// flush returns v with a denormal value replaced by a zero of its sign.
func flush[T core.Float](v T) T {
	limit := 0x1p-1022
	if core.DTypeOf[T]() == core.Float32 {
		limit = 0x1p-126
	}
	if v != 0 && math.Abs(float64(v)) < limit {
		return T(math.Copysign(0, float64(v)))
	}
	return v
}
