package formula

import (
	"math"
	"strconv"

	"github.com/x448/float16"
)

// The 16-bit storage types (SEMANTICS §1.6). Their arithmetic runs in float32 and rounds once to the
// storage type when it stores; these are the host-side forms of their elements and the conversions a
// program whose data is float32 or float64 needs.

// F16 is one IEEE 754 binary16 element (1 sign, 5 exponent, 10 fraction bits), as
// github.com/x448/float16 defines it: its Float32 method widens exactly and F16From rounds to nearest
// even.
type F16 = float16.Float16

// BF16 is one bfloat16 element: the top 16 bits of a float32 (1 sign, 8 exponent, 7 fraction bits),
// the same range as float32 with 8 significant bits.
type BF16 uint16

// Float32 widens b to float32, exactly.
func (b BF16) Float32() float32 { return math.Float32frombits(uint32(b) << 16) }

// Bits returns b's bit pattern.
func (b BF16) Bits() uint16 { return uint16(b) }

// IsNaN reports whether b is a NaN.
func (b BF16) IsNaN() bool { return b&0x7f80 == 0x7f80 && b&0x7f != 0 }

// String writes b as its float32 value would be written.
func (b BF16) String() string { return strconv.FormatFloat(float64(b.Float32()), 'g', -1, 32) }

// BF16FromBits returns the element whose bit pattern is u.
func BF16FromBits(u uint16) BF16 { return BF16(u) }

// BF16From rounds f to the nearest bfloat16, ties to even; a NaN stays a NaN, made quiet (its top
// fraction bit set: dropping the low fraction bits could otherwise leave an infinity), with its sign.
func BF16From(f float32) BF16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 { // NaN
		return BF16(u>>16 | 0x40)
	}
	// Add half an ULP of bfloat16, less one if the kept part is even: ties go to the even neighbour.
	// A carry out of the fraction raises the exponent, up to infinity past the largest finite value.
	return BF16((u + 0x7fff + (u>>16)&1) >> 16)
}

// F16From rounds f to the nearest float16, ties to even; beyond 65504 (past 65520) it gives
// infinity, a NaN stays a (quiet) NaN.
func F16From(f float32) F16 { return float16.Fromfloat32(f) }

// F16FromBits returns the element whose bit pattern is u.
func F16FromBits(u uint16) F16 { return float16.Frombits(u) }

// ToFloat32 widens the elements of src into dst (which must be at least as long): exact for every
// element type but float64, which rounds to nearest even.
func ToFloat32[T Elem](dst []float32, src []T) {
	dst = dst[:len(src)]
	switch s := any(src).(type) {
	case []float32:
		copy(dst, s)
	case []float64:
		for i, v := range s {
			dst[i] = float32(v)
		}
	case []F16:
		for i, v := range s {
			dst[i] = v.Float32()
		}
	case []BF16:
		for i, v := range s {
			dst[i] = v.Float32()
		}
	}
}

// FromFloat32 rounds the elements of src into dst (which must be at least as long) to nearest even:
// the way a program whose data is float32 fills a 16-bit buffer.
func FromFloat32[T Elem](dst []T, src []float32) {
	dst = dst[:len(src)]
	switch d := any(dst).(type) {
	case []float32:
		copy(d, src)
	case []float64:
		for i, v := range src {
			d[i] = float64(v)
		}
	case []F16:
		for i, v := range src {
			d[i] = float16.Fromfloat32(v)
		}
	case []BF16:
		for i, v := range src {
			d[i] = BF16From(v)
		}
	}
}

// ToFloat64 returns v's value as a float64, exactly.
func ToFloat64[T Elem](v T) float64 {
	switch x := any(v).(type) {
	case float32:
		return float64(x)
	case float64:
		return x
	case F16:
		return float64(x.Float32())
	case BF16:
		return float64(x.Float32())
	}
	panic("formula: ToFloat64 of an element type without a case") // unreachable: Elem lists the cases
}

// FromFloat64 returns v rounded once to T, to nearest even (overflow to infinity, NaN to a quiet NaN):
// the oracle's last step. Going through float32 would round twice, which can differ in the last place.
func FromFloat64[T Elem](v float64) T {
	var out T
	switch p := any(&out).(type) {
	case *float32:
		*p = float32(v)
	case *float64:
		*p = v
	case *F16:
		// roundTo's result is a float16 value, so the conversion through float32 is exact.
		*p = float16.Fromfloat32(float32(roundTo(v, 11, -14, 65504)))
	case *BF16:
		*p = BF16(math.Float32bits(float32(roundTo(v, 8, -126, 0x1.fep127))) >> 16)
	}
	return out
}

// roundTo rounds v to the nearest number with prec significant bits whose exponent is at least emin
// (below it the numbers are subnormal, with fewer bits), ties to even, and gives ±Inf past maxFinite:
// a binary floating-point format's rounding, computed exactly in float64 for formats narrower than it.
func roundTo(v float64, prec, emin int, maxFinite float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	_, e := math.Frexp(v) // |v| in [2^(e-1), 2^e)
	q := max(e-1, emin) - (prec - 1)
	r := math.Ldexp(math.RoundToEven(math.Ldexp(v, -q)), q)
	if math.Abs(r) > maxFinite {
		return math.Copysign(math.Inf(1), v)
	}
	return r
}
