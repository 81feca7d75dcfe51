// Package verify compares results with the oracle (package formula) within the tolerances of SEMANTICS
// §2. The conformance suite (backend/backendtest) and cmd/gpubench both check every result through it.
package verify

import (
	"fmt"
	"math"

	"github.com/gpuact/gpuact/backend/formula"
)

// Want returns the value SEMANTICS §2 measures pass p of act against, for inputs (a, b) = (x, -) for
// Forward or (dy, x) and (dy, y) for the backward passes. It is the oracle (formula.Reference), except for
// ELU backward on float64: from output §2 measures against (y + α)·dy evaluated exactly, and from input
// against α·math.Exp(x)·dy; Want rounds each once, from a double-double evaluation. (The oracle rounds
// α·exp(x) and then the product with dy: with math.Exp's own error that is up to about 3.5 ULP from
// α·exp(x)·dy, more than the 3 ULP a backend is allowed, so a correctly rounded backend could fail
// against it.) A pass that cannot run act is an error (formula.Reference).
func Want[T formula.Elem](p formula.Pass, act formula.Activation) (func(a, b T) T, error) {
	ref, err := formula.Reference[T](p, act)
	if err != nil {
		return nil, err
	}
	if p == formula.Forward || act.Kind() != formula.KindELU || formula.DTypeOf[T]() != formula.Float64 {
		return ref, nil
	}
	alpha, f64 := formula.Float64.Round(act.Alpha()), formula.ToFloat64[T]
	if p == formula.BackwardFromInput {
		return func(dy, x T) T {
			if xf := f64(x); xf != xf || xf > 0 {
				return ref(dy, x)
			}
			return formula.FromFloat64[T](expTimesOnce(alpha, f64(x), f64(dy), f64(ref(dy, x))))
		}, nil
	}
	return func(dy, y T) T {
		if yf := f64(y); yf != yf || yf > 0 {
			return ref(dy, y)
		}
		return formula.FromFloat64[T](exactSumTimes(f64(y), alpha, f64(dy)))
	}, nil
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
	// Err is why nothing could be compared (no formula for the pass, α not allowed, no tolerance for
	// the dtype); OK is false then.
	Err error
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
	if m.ULPs == formula.Infinite {
		u = "inf"
	}
	return fmt.Sprintf("[%d] inputs (%g, %g): got %g, want %g (%s ULP)", m.Index, m.A, m.B, m.Got, m.Want, u)
}

// OK reports whether the comparison was made and no element was beyond tolerance.
func (r Result) OK() bool { return r.Bad == 0 && r.Err == nil }

func (r Result) String() string {
	if r.Err != nil {
		return "not compared: " + r.Err.Error()
	}
	if r.OK() {
		return fmt.Sprintf("%d elements, max %d ULP (tolerance %d)", r.N, r.MaxULP, r.Tolerance)
	}
	return fmt.Sprintf("%d of %d elements beyond %d ULP, first %v", r.Bad, r.N, r.Tolerance, r.First)
}

// Check compares got with Want for every element. a and b are the inputs as for Want (b is ignored for
// Forward). When denormals is false the device may flush denormal inputs and results to zero: an
// element also passes if it matches the oracle evaluated on flushed inputs, flushed.
func Check[T formula.Elem](p formula.Pass, act formula.Activation, got, a, b []T, denormals bool) Result {
	r := Result{N: len(got)}
	want, err := Want[T](p, act)
	if err == nil {
		r.Tolerance, err = formula.Tolerance(act.Kind(), p, formula.DTypeOf[T]())
	}
	if err != nil {
		r.Err = err
		return r
	}
	for i, g := range got {
		var bi T
		if p != formula.Forward {
			bi = b[i]
		}
		w := want(a[i], bi)
		d := formula.ULPs(g, w)
		if d > r.Tolerance && !denormals {
			d = min(d, formula.ULPs(g, flush(want(flush(a[i]), flush(bi)))))
		}
		r.MaxULP = max(r.MaxULP, d)
		if d > r.Tolerance {
			if r.Bad == 0 {
				f64 := formula.ToFloat64[T]
				r.First = &Mismatch{Index: i, A: f64(a[i]), B: f64(bi), Got: f64(g), Want: f64(w), ULPs: d}
			}
			r.Bad++
		}
	}
	return r
}

// flush returns v with a denormal value replaced by a zero of its sign.
func flush[T formula.Elem](v T) T {
	limit := formula.DTypeOf[T]().SmallestNormal()
	if f := formula.ToFloat64(v); f != 0 && math.Abs(f) < limit {
		return formula.FromFloat64[T](math.Copysign(0, f))
	}
	return v
}
