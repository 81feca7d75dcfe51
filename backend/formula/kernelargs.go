package formula

import "math"

// What the GPU kernels of ELU backward from input take besides α (backend/cuda, backend/opencl): α split
// into mantissa and exponent, and the point below which the oracle's α·exp(x) is zero. Both let the
// kernels evaluate α·exp(x)·dy in the dtype's own arithmetic and still agree with the oracle
// (SEMANTICS §1.4, §2), where α·exp(x) alone would not be a normal number.

// MantissaExponent splits a into am·2^ae with 1 <= |am| < 2 (0 and 0 for a = 0).
func MantissaExponent(a float64) (float64, int) {
	if a == 0 {
		return 0, 0
	}
	f, e := math.Frexp(a)
	return 2 * f, e - 1
}

// ExpCutoff returns the smallest x of type T for which the oracle's α·exp(x) (evaluated in float64, see
// ELUBackwardFromInput) is not zero: below it the oracle's α·exp(x)·±Inf is 0·Inf = NaN, above it
// ±Inf. It is +Inf for α = 0, where that product is NaN for every x. alpha is α rounded to T.
func ExpCutoff[T Float](alpha T) T {
	a := float64(alpha)
	if a == 0 {
		return T(math.Inf(1))
	}
	// Bisect over the bit patterns of the magnitude m = -x, which are in the order of the values:
	// α·exp(-m) is not zero at m = 0 and is zero at m = 2000 for every finite α.
	if DTypeOf[T]() == Float32 {
		ok, zero := uint32(0), math.Float32bits(2000)
		for zero-ok > 1 {
			mid := ok + (zero-ok)/2
			if a*math.Exp(-float64(math.Float32frombits(mid))) == 0 {
				zero = mid
			} else {
				ok = mid
			}
		}
		return T(-math.Float32frombits(ok))
	}
	ok, zero := uint64(0), math.Float64bits(2000)
	for zero-ok > 1 {
		mid := ok + (zero-ok)/2
		if a*math.Exp(-math.Float64frombits(mid)) == 0 {
			zero = mid
		} else {
			ok = mid
		}
	}
	return T(-math.Float64frombits(ok))
}
