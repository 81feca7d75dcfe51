package formula

import (
	"math"
)

// The oracle: SEMANTICS §1.1 written out one element at a time, as plainly as Go allows (ReLUForward,
// ELUBackwardFromInput and so on). Every
// implementation in gpuact (the CPU backend's loops and assembly, the OpenCL and CUDA kernels) is tested
// against these, and the CPU backend's portable loops are these functions applied to each element.
//
// alpha is α already rounded to the element type (SEMANTICS §1.3). ReLU and LeakyReLU are evaluated in T,
// so they are bit-exact by construction; ELU is evaluated in float64 with math.Expm1 and math.Exp and
// rounded to T once, which is the float32 oracle of SEMANTICS §2 and, for float64, the function §2
// measures against (with α·exp(x)·dy kept accurate where exp(x) is subnormal: see expTimes).
// testdata/reference.json checks all of them against mpmath. Every branch is a select, never a
// multiply by a 0/1 mask, and a NaN input (x, or y for the from-output passes) always gives NaN.

// Float is the set of Go types the oracle's element functions compute in.
type Float interface{ float32 | float64 }

// Elem is the set of Go types that hold one element of a buffer: host copies, views and the oracle's
// Reference work on these. The 16-bit ones are stored bits, not arithmetic types: convert them with
// ToFloat64/FromFloat64, ToFloat32/FromFloat32 or their Float32 methods.
type Elem interface {
	float32 | float64 | F16 | BF16
}

// DTypeOf returns the DType that holds Go values of type T (0, an invalid DType that every backend
// refuses, for a type added to Elem without a case here).
func DTypeOf[T Elem]() DType {
	var z T
	switch any(z).(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case F16:
		return Float16
	case BF16:
		return BFloat16
	}
	return 0
}

// ReLUForward is x > 0 ? x : +0.
func ReLUForward[T Float](x T) T {
	if x > 0 || x != x {
		return x
	}
	return 0
}

// ReLUBackward is x > 0 ? dy : +0, both backward from input (x is the input) and backward from output
// (pass y as x: y > 0 exactly when x > 0).
func ReLUBackward[T Float](dy, x T) T {
	if x != x {
		return x
	}
	if x > 0 {
		return dy
	}
	return 0
}

// LeakyReLUForward is x > 0 ? x : α·x.
func LeakyReLUForward[T Float](alpha, x T) T {
	if x > 0 || x != x {
		return x
	}
	return alpha * x
}

// LeakyReLUBackward is x > 0 ? dy : α·dy, backward from input and, with y as x and α ≥ 0, from output.
func LeakyReLUBackward[T Float](alpha, dy, x T) T {
	if x != x {
		return x
	}
	if x > 0 {
		return dy
	}
	return alpha * dy
}

// ELUForward is x > 0 ? x : α·expm1(x).
func ELUForward[T Float](alpha, x T) T {
	if x > 0 || x != x {
		return x
	}
	return T(float64(alpha) * math.Expm1(float64(x)))
}

// ELUBackwardFromInput is x > 0 ? dy : α·exp(x)·dy.
func ELUBackwardFromInput[T Float](alpha, dy, x T) T {
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
func ELUBackwardFromOutput[T Float](alpha, dy, y T) T {
	if y != y {
		return y
	}
	if y > 0 {
		return dy
	}
	return T((float64(y) + float64(alpha)) * float64(dy))
}

// Round returns α rounded to T, the value every backend computes with (SEMANTICS §1.3).
func Round[T Elem](alpha float64) T { return FromFloat64[T](alpha) }

// Reference returns the oracle of pass p of act for data of type T, as a function of (a, b) = (x,
// unused) for Forward and (dy, x) or (dy, y) for the backward passes: the table's formula evaluated in
// float64 from α rounded to T, rounded once to T. For ReLU and LeakyReLU that is the formula in T itself
// (a product of two T values is exact in float64, so one rounding gives T's own product). For the 16-bit
// types, too, it is the float64 value rounded once to T (SEMANTICS §1.6). A pass that cannot run act (no
// row, α not finite or not allowed, SEMANTICS §6) is an error.
func Reference[T Elem](p Pass, act Activation) (func(a, b T) T, error) {
	r, err := Check(p, act)
	if err != nil {
		return nil, err
	}
	dt := DTypeOf[T]()
	if err := CheckAlpha(act, dt); err != nil {
		return nil, err
	}
	alpha, f := dt.Round(act.alpha), r.oracle
	return func(a, b T) T { return FromFloat64[T](f(alpha, ToFloat64(a), ToFloat64(b))) }, nil
}
