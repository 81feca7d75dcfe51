package cpu

import (
	"math"

	"github.com/gpuact/gpuact/backend/core"
)

// The reference functions: SPEC §1 written out one element at a time, as plainly as Go allows. Every
// other implementation in gpuact (the CPU fast paths, the OpenCL and CUDA kernels) is tested against
// these; the plain loops of this package are these functions applied to each element.
//
// alpha is α already rounded to the element type (SPEC §1). ReLU and LeakyReLU are evaluated in T, so
// they are bit-exact by construction; ELU is evaluated in float64 with math.Expm1 and math.Exp and
// rounded to T once, which is the float32 oracle of SPEC §2 and, for float64, the function SPEC §2
// measures against (with α·exp(x)·dy kept accurate where exp(x) is subnormal: see expTimes).
// testdata/reference.json checks all of them against mpmath. Every branch is a select, never a multiply by a 0/1 mask, and a NaN input (x, or y
// for the from-output passes) always gives NaN.

// ReLU is x > 0 ? x : +0.
func ReLU[T core.Float](x T) T {
	if x > 0 || x != x {
		return x
	}
	return 0
}

// ReLUBackward is x > 0 ? dy : +0, both backward from input (x is the input) and backward from output
// (pass y as x: y > 0 exactly when x > 0).
func ReLUBackward[T core.Float](dy, x T) T {
	if x != x {
		return x
	}
	if x > 0 {
		return dy
	}
	return 0
}

// LeakyReLU is x > 0 ? x : α·x.
func LeakyReLU[T core.Float](alpha, x T) T {
	if x > 0 || x != x {
		return x
	}
	return alpha * x
}

// LeakyReLUBackward is x > 0 ? dy : α·dy, backward from input and, with y as x and α ≥ 0, from output.
func LeakyReLUBackward[T core.Float](alpha, dy, x T) T {
	if x != x {
		return x
	}
	if x > 0 {
		return dy
	}
	return alpha * dy
}

// ELU is x > 0 ? x : α·expm1(x).
func ELU[T core.Float](alpha, x T) T {
	if x > 0 || x != x {
		return x
	}
	return T(float64(alpha) * math.Expm1(float64(x)))
}

// ELUBackwardFromInput is x > 0 ? dy : α·exp(x)·dy.
func ELUBackwardFromInput[T core.Float](alpha, dy, x T) T {
	if x != x {
		return x
	}
	if x > 0 {
		return dy
	}
	return T(expTimes(float64(alpha), float64(x), float64(dy)))
}

// expTimes returns a·exp(x)·d. Evaluated plainly, a·exp(x) loses its digits where it or exp(x) is
// subnormal (x < -708, or a tiny α; with α > 1, exp(x) can be subnormal while a·exp(x) is not)
// although the whole product may be a normal number (d = 1e300): there the factors are kept apart as
// mantissas and powers of two, exp(x) = 2^k·exp(r) with |r| ≤ ln2/2, and the powers of two are
// applied once at the end. Both ways are within 3 ULP of the exact value.
func expTimes(a, x, d float64) float64 {
	e := math.Exp(x)
	p := a * e
	if (e >= 0x1p-1022 && math.Abs(p) >= 0x1p-1022) || a == 0 || d == 0 || math.IsInf(d, 0) || d != d || x < -2200 {
		return p * d // -2200: below it |a·exp(x)·d| < MaxFloat64² · e^-2200 underflows for any a and d
	}
	const ln2Hi, ln2Lo = 6.93147180369123816490e-01, 1.90821492927058770002e-10 // ln2Hi·k is exact
	fa, ea := math.Frexp(a)
	fd, ed := math.Frexp(d)
	k := math.Round(x / math.Ln2)
	r := (x - k*ln2Hi) - k*ln2Lo
	return math.Ldexp(fa*fd*math.Exp(r), int(k)+ea+ed)
}

// ELUBackwardFromOutput is y > 0 ? dy : (y + α)·dy, for α ≥ 0.
func ELUBackwardFromOutput[T core.Float](alpha, dy, y T) T {
	if y != y {
		return y
	}
	if y > 0 {
		return dy
	}
	return T((float64(y) + float64(alpha)) * float64(dy))
}

// Round returns α rounded to T, the value every backend computes with (SPEC §1).
func Round[T core.Float](alpha float64) T { return T(alpha) }

// Reference returns the reference function of pass p for act, for data of type T, as a function of
// (a, b) = (x, unused) for Forward and (dy, x) or (dy, y) for the backward passes.
func Reference[T core.Float](p core.Pass, act core.Activation) func(a, b T) T {
	alpha := Round[T](act.Alpha())
	switch p {
	case core.Forward:
		switch act.Kind() {
		case core.KindReLU:
			return func(x, _ T) T { return ReLU(x) }
		case core.KindLeakyReLU:
			return func(x, _ T) T { return LeakyReLU(alpha, x) }
		case core.KindELU:
			return func(x, _ T) T { return ELU(alpha, x) }
		}
	case core.BackwardFromInput, core.BackwardFromOutput:
		switch act.Kind() {
		case core.KindReLU:
			return ReLUBackward[T]
		case core.KindLeakyReLU:
			return func(dy, x T) T { return LeakyReLUBackward(alpha, dy, x) }
		case core.KindELU:
			if p == core.BackwardFromInput {
				return func(dy, x T) T { return ELUBackwardFromInput(alpha, dy, x) }
			}
			return func(dy, y T) T { return ELUBackwardFromOutput(alpha, dy, y) }
		}
	}
	return nil
}
