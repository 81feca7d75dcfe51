package backendtest

import (
	"math"
	"math/rand/v2"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
)

// Sizes are the lengths SPEC §2 asks every pass to be checked at; the last is above 1<<20, large enough
// for every backend's parallel or multi-block path.
var Sizes = []int{0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 1023, 1025, 1<<16 + 3, 1<<20 + 9}

// Edge returns the edge values of SPEC §2 for T, both signs of each: 0, the smallest and largest
// denormal, 1e-8, 88, 700, the largest finite value, infinity; NaN; and values where naive kernels lose
// accuracy: exp(x) near and below the smallest normal (-87.5, -103, -104 for float32; -708, -745 for
// float64), expm1 around -17 (float32) and -37 (float64) where it reaches -1.
func Edge[T core.Float]() []T {
	var mags []float64
	if core.DTypeOf[T]() == core.Float32 {
		mags = []float64{0, math.SmallestNonzeroFloat32, 0x1p-127, 1e-30, 1e-8, 1e-4, 0.5, 1, 17, 87.5, 88, 103, 104, 700, math.MaxFloat32, math.Inf(1)}
	} else {
		mags = []float64{0, math.SmallestNonzeroFloat64, 0x1p-1023, 1e-300, 1e-8, 1e-4, 0.5, 1, 37, 700, 708, 745, 1e300, math.MaxFloat64, math.Inf(1)}
	}
	var out []T
	for _, m := range mags {
		out = append(out, T(m), T(-m))
	}
	// T(-0.0) is +0 in Go (constant arithmetic); make the negative zero explicitly.
	out[1] = T(math.Copysign(0, -1))
	return append(out, T(math.NaN()))
}

// Inputs returns n random values for an activation's input x (or a given y): mostly uniform in
// [-12, 12], with edge values, tiny values down into the denormals and the range where exp(x) leaves
// the normal numbers mixed in, an eighth each.
func Inputs[T core.Float](rng *rand.Rand, n int) []T {
	edge := Edge[T]()
	lowX, lowSpan, tiny := -700.0, 50.0, 320.0
	if core.DTypeOf[T]() == core.Float32 {
		lowX, lowSpan, tiny = -80, 30, 42
	}
	out := make([]T, n)
	for i := range out {
		switch rng.IntN(8) {
		case 0:
			out[i] = edge[rng.IntN(len(edge))]
		case 1: // exp(x) near the smallest normal and below
			out[i] = T(lowX - lowSpan*rng.Float64())
		case 2: // tiny magnitudes, into the denormals
			e := -3 - rng.Float64()*tiny
			out[i] = T(math.Copysign(math.Pow(10, e), rng.Float64()-0.5))
		default:
			out[i] = T(24*rng.Float64() - 12)
		}
	}
	return out
}

// Grads returns n random values for an incoming gradient dy: mostly uniform in [-10, 10], with edge
// values, huge magnitudes (which make α·exp(x)·dy a normal number while exp(x) is denormal) and tiny
// ones mixed in.
func Grads[T core.Float](rng *rand.Rand, n int) []T {
	edge := Edge[T]()
	huge, tiny := 287.0, 300.0
	if core.DTypeOf[T]() == core.Float32 {
		huge, tiny = 18, 40
	}
	out := make([]T, n)
	for i := range out {
		switch rng.IntN(8) {
		case 0:
			out[i] = edge[rng.IntN(len(edge))]
		case 1:
			e := 20 + rng.Float64()*huge
			out[i] = T(math.Copysign(math.Pow(10, e), rng.Float64()-0.5))
		case 2:
			e := -3 - rng.Float64()*tiny
			out[i] = T(math.Copysign(math.Pow(10, e), rng.Float64()-0.5))
		default:
			out[i] = T(20*rng.Float64() - 10)
		}
	}
	return out
}

// Outputs returns values for the y of a backward-from-output pass: the forward pass of act on random
// inputs for even i (what training produces), arbitrary inputs for odd i (any y is valid input).
func Outputs[T core.Float](rng *rand.Rand, act core.Activation, n int) []T {
	x := Inputs[T](rng, n)
	fwd := cpu.Reference[T](core.Forward, act)
	for i := 0; i < n; i += 2 {
		x[i] = fwd(x[i], 0)
	}
	return x
}

// Poison is the bit pattern written around and into outputs before a call: a signalling NaN that no
// pass produces from the inputs above, so an element still holding it was not written.
func Poison[T core.Float]() T {
	if core.DTypeOf[T]() == core.Float32 {
		return T(math.Float32frombits(0x7fa5a5a5))
	}
	return T(math.Float64frombits(0x7ff4a5a5a5a5a5a5))
}

// IsPoison reports whether v holds the Poison bit pattern.
func IsPoison[T core.Float](v T) bool {
	if core.DTypeOf[T]() == core.Float32 {
		return math.Float32bits(float32(v)) == 0x7fa5a5a5
	}
	return math.Float64bits(float64(v)) == 0x7ff4a5a5a5a5a5a5
}

// sameBits reports whether a and b are bit-identical.
func sameBits[T core.Float](a, b T) bool {
	if core.DTypeOf[T]() == core.Float32 {
		return math.Float32bits(float32(a)) == math.Float32bits(float32(b))
	}
	return math.Float64bits(float64(a)) == math.Float64bits(float64(b))
}
