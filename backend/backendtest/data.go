package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"unsafe"

	"github.com/gpuact/gpuact/backend/formula"
)

// Sizes are the lengths SEMANTICS §3 asks every pass to be checked at; the last is above 1<<20, large
// enough for every backend's parallel or multi-block path.
var Sizes = []int{0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 1023, 1025, 1<<16 + 3, 1<<20 + 9}

// testData is what the data of a dtype's tests are made of (SEMANTICS §3): the magnitudes of its edge
// values; where x makes exp(x) leave the normal numbers (lowX - lowSpan·[0, 1)); how many decades below
// 1e-3 tiny inputs and gradients go (into the denormals) and how many above 1e20 huge gradients go
// (α·exp(x)·dy normal while exp(x) is not), from 10^hugeFrom; and the bits of its poison value.
type testData struct {
	mags                                           []float64
	lowX, lowSpan, tinyX, tinyGrad, hugeFrom, huge float64
	poison                                         uint64
}

var dtypeData = map[formula.DType]testData{
	formula.Float16: {
		// 65504 is the largest finite value, 0x1p-24 and 0x1.ff8p-15 the smallest and largest denormal;
		// 8.3 is where expm1 reaches -1 in float16, 11 where exp(x) leaves its normal numbers.
		mags: []float64{0, 0x1p-24, 0x1.ff8p-15, 1e-4, 1e-3, 0.5, 1, 8.3, 11, 17, 87.5, 104, 700, 65504, math.Inf(1)},
		lowX: -8, lowSpan: 12, tinyX: 5, tinyGrad: 5, hugeFrom: 2, huge: 2.8,
		poison: 0x7d25,
	},
	formula.BFloat16: {
		mags: []float64{0, 0x1p-133, 0x1p-127, 1e-30, 1e-8, 1e-4, 0.5, 1, 17, 87.5, 88, 103, 104, 700, 0x1.fep127, math.Inf(1)},
		lowX: -80, lowSpan: 30, tinyX: 42, tinyGrad: 40, hugeFrom: 20, huge: 18,
		poison: 0x7fa5,
	},
	formula.Float32: {
		mags: []float64{0, math.SmallestNonzeroFloat32, 0x1p-127, 1e-30, 1e-8, 1e-4, 0.5, 1, 17, 87.5, 88, 103, 104, 700, math.MaxFloat32, math.Inf(1)},
		lowX: -80, lowSpan: 30, tinyX: 42, tinyGrad: 40, hugeFrom: 20, huge: 18,
		poison: 0x7fa5a5a5,
	},
	formula.Float64: {
		mags: []float64{0, math.SmallestNonzeroFloat64, 0x1p-1023, 1e-300, 1e-8, 1e-4, 0.5, 1, 37, 700, 708, 745, 1e300, math.MaxFloat64, math.Inf(1)},
		lowX: -700, lowSpan: 50, tinyX: 320, tinyGrad: 300, hugeFrom: 20, huge: 287,
		poison: 0x7ff4a5a5a5a5a5a5,
	},
}

// dataOf returns T's test data; a dtype without any is a bug of the suite, reported as loudly as a test
// helper without an error result can.
func dataOf[T formula.Elem]() testData {
	d, ok := dtypeData[formula.DTypeOf[T]()]
	if !ok {
		panic(fmt.Sprintf("backendtest: no test data for %s", formula.DTypeOf[T]()))
	}
	return d
}

// perDType holds one instance of a generic check per dtype (Go has no generic closures): call byDType.
type perDType struct{ f32, f64, f16, bf16 func() error }

// byDType runs the check written for dt's Go type. A dtype without one is an error, never another
// dtype's check.
func byDType(dt formula.DType, c perDType) error {
	var f func() error
	switch dt {
	case formula.Float32:
		f = c.f32
	case formula.Float64:
		f = c.f64
	case formula.Float16:
		f = c.f16
	case formula.BFloat16:
		f = c.bf16
	}
	if f == nil {
		return fmt.Errorf("backendtest has no checks for %s", dt)
	}
	return f()
}

// of converts v to T, rounding once to nearest even.
func of[T formula.Elem](v float64) T { return formula.FromFloat64[T](v) }

// f64 returns v's value.
func f64[T formula.Elem](v T) float64 { return formula.ToFloat64(v) }

// Edge returns the edge values of SEMANTICS §3 for T, both signs of each: 0, the smallest and largest
// denormal, 1e-8, 88, 700, the largest finite value, infinity; NaN; and values where naive kernels lose
// accuracy: exp(x) near and below the smallest normal (-87.5, -103, -104 for float32; -708, -745 for
// float64), expm1 around -17 (float32) and -37 (float64) where it reaches -1.
func Edge[T formula.Elem]() []T {
	var out []T
	for _, m := range dataOf[T]().mags {
		out = append(out, of[T](m), of[T](-m))
	}
	// -0.0 is +0 in Go (constant arithmetic); make the negative zero explicitly.
	out[1] = of[T](math.Copysign(0, -1))
	return append(out, of[T](math.NaN()))
}

// Inputs returns n random values for an activation's input x (or a given y): mostly uniform in
// [-12, 12], with edge values, tiny values down into the denormals and the range where exp(x) leaves
// the normal numbers mixed in, an eighth each.
func Inputs[T formula.Elem](rng *rand.Rand, n int) []T {
	edge := Edge[T]()
	d := dataOf[T]()
	lowX, lowSpan, tiny := d.lowX, d.lowSpan, d.tinyX
	out := make([]T, n)
	for i := range out {
		switch rng.IntN(8) {
		case 0:
			out[i] = edge[rng.IntN(len(edge))]
		case 1: // exp(x) near the smallest normal and below
			out[i] = of[T](lowX - lowSpan*rng.Float64())
		case 2: // tiny magnitudes, into the denormals
			e := -3 - rng.Float64()*tiny
			out[i] = of[T](math.Copysign(math.Pow(10, e), rng.Float64()-0.5))
		default:
			out[i] = of[T](24*rng.Float64() - 12)
		}
	}
	return out
}

// Grads returns n random values for an incoming gradient dy: mostly uniform in [-10, 10], with edge
// values, huge magnitudes (which make α·exp(x)·dy a normal number while exp(x) is denormal) and tiny
// ones mixed in.
func Grads[T formula.Elem](rng *rand.Rand, n int) []T {
	edge := Edge[T]()
	hugeFrom, huge, tiny := dataOf[T]().hugeFrom, dataOf[T]().huge, dataOf[T]().tinyGrad
	out := make([]T, n)
	for i := range out {
		switch rng.IntN(8) {
		case 0:
			out[i] = edge[rng.IntN(len(edge))]
		case 1:
			e := hugeFrom + rng.Float64()*huge
			out[i] = of[T](math.Copysign(math.Pow(10, e), rng.Float64()-0.5))
		case 2:
			e := -3 - rng.Float64()*tiny
			out[i] = of[T](math.Copysign(math.Pow(10, e), rng.Float64()-0.5))
		default:
			out[i] = of[T](20*rng.Float64() - 10)
		}
	}
	return out
}

// Outputs returns values for the y of a backward-from-output pass: the forward pass of act on random
// inputs for even i (what training produces), arbitrary inputs for odd i (any y is valid input).
func Outputs[T formula.Elem](rng *rand.Rand, act formula.Activation, n int) []T {
	x := Inputs[T](rng, n)
	fwd, err := formula.Reference[T](formula.Forward, act)
	if err != nil {
		panic(fmt.Sprintf("backendtest: Outputs of %s: %v", act, err))
	}
	for i := 0; i < n; i += 2 {
		x[i] = fwd(x[i], 0)
	}
	return x
}

// Poison is the bit pattern written around and into outputs before a call: a signalling NaN that no
// pass produces from the inputs above, so an element still holding it was not written.
func Poison[T formula.Elem]() T { return fromBits[T](dataOf[T]().poison) }

// IsPoison reports whether v holds the Poison bit pattern.
func IsPoison[T formula.Elem](v T) bool { return bitsOf(v) == dataOf[T]().poison }

// sameBits reports whether a and b are bit-identical.
func sameBits[T formula.Elem](a, b T) bool { return bitsOf(a) == bitsOf(b) }

// bitsOf and fromBits read and write the bits of a value of any element type, whatever its size: no
// floating-point conversion touches them (one could quiet a signalling NaN).
func bitsOf[T formula.Elem](v T) uint64 {
	switch unsafe.Sizeof(v) {
	case 2:
		return uint64(*(*uint16)(unsafe.Pointer(&v)))
	case 4:
		return uint64(*(*uint32)(unsafe.Pointer(&v)))
	case 8:
		return *(*uint64)(unsafe.Pointer(&v))
	}
	panic(fmt.Sprintf("backendtest: no bits of a %d-byte element", unsafe.Sizeof(v)))
}

func fromBits[T formula.Elem](b uint64) T {
	var v T
	switch unsafe.Sizeof(v) {
	case 2:
		*(*uint16)(unsafe.Pointer(&v)) = uint16(b)
	case 4:
		*(*uint32)(unsafe.Pointer(&v)) = uint32(b)
	case 8:
		*(*uint64)(unsafe.Pointer(&v)) = b
	default:
		panic(fmt.Sprintf("backendtest: no bits of a %d-byte element", unsafe.Sizeof(v)))
	}
	return v
}
