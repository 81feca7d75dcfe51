package cpu

import (
	"math"

	"github.com/gpuact/gpuact/backend/formula"
)

// widenChunk is how many 16-bit elements widen16 converts at a time: three float32 arrays of it (6 KiB)
// stay in L1 between the conversion and the pass.
const widenChunk = 512

// widen16 computes a 16-bit pass through the implementation's float32 kernels: each chunk of elements is
// widened to float32 (exactly), computed by run32, and rounded back once to nearest even (SEMANTICS
// §1.6). ReLU and LeakyReLU come out bit-exact (α·x of two 16-bit values is exact in float32); ELU's
// float32 result, within 2 ULP of float32, is within 1 ULP of the 16-bit oracle after that rounding.
// It is the 16-bit path of every implementation without 16-bit kernels of its own.
func (im *implementation) widen16(dt formula.DType, kernel string, alpha float32, out, a, b []uint16, _ bool) {
	widen, narrow := widenF16, narrowF16
	if dt == formula.BFloat16 {
		widen, narrow = widenBF16, narrowBF16
	}
	var fo, fa, fb [widenChunk]float32
	for lo := 0; lo < len(out); lo += widenChunk {
		hi := min(lo+widenChunk, len(out))
		n := hi - lo
		widen(fa[:n], a[lo:hi])
		var bs []float32
		if b != nil {
			widen(fb[:n], b[lo:hi])
			bs = fb[:n]
		}
		// Non-temporal stores are for the output array, and this one is on the stack.
		im.run32(kernel, alpha, fo[:n], fa[:n], bs, false)
		narrow(out[lo:hi], fo[:n])
	}
}

// widenF16 and narrowF16 convert float16 bits with integer and float32 operations alone, in the manner of
// F. Giesen's half_to_float_fast and float_to_half_fast3_rtne: about 1 ns an element where a call per
// element of a general conversion costs ten. TestConversions16 checks them against formula.F16 on every
// float16 and on every float32 near a float16 rounding boundary.
func widenF16(dst []float32, src []uint16) {
	const magic = 113 << 23 // 2^-14 as float32 bits: renormalises the subnormals
	dst = dst[:len(src)]
	for i, h := range src {
		o := uint32(h&0x7fff) << 13 // exponent and fraction, in float32's place
		e := o & (0x7c00 << 13)
		o += (127 - 15) << 23 // rebias the exponent
		switch e {
		case 0x7c00 << 13: // Inf and NaN: the exponent to all ones (a NaN keeps its payload, so stays NaN)
			o += (128 - 16) << 23
		case 0: // zero and subnormal: let a float32 subtraction normalise it
			o = math.Float32bits(math.Float32frombits(o+1<<23) - math.Float32frombits(magic))
		}
		dst[i] = math.Float32frombits(o | uint32(h&0x8000)<<16)
	}
}

func narrowF16(dst []uint16, src []float32) {
	const (
		inf32       = 255 << 23
		max16       = (127 + 16) << 23                   // 2^16: from here on (after rounding) infinity
		denormMagic = ((127 - 15) + (23 - 10) + 1) << 23 // 0.5 as float16's smallest subnormal unit, in float32
	)
	dst = dst[:len(src)]
	for i, f := range src {
		u := math.Float32bits(f)
		sign := u & 0x80000000
		u ^= sign
		var o uint32
		switch {
		case u >= max16: // overflow to infinity; NaN to a quiet NaN
			o = 0x7c00
			if u > inf32 {
				o = 0x7e00
			}
		case u < 113<<23: // a float16 subnormal or zero: the float32 addition rounds to nearest even
			o = math.Float32bits(math.Float32frombits(u)+math.Float32frombits(denormMagic)) - denormMagic
		default: // normal: rebias, add half an ULP less one, plus the kept part's last bit (ties to even)
			o = (u - (127-15)<<23 + 0xfff + (u>>13)&1) >> 13
		}
		dst[i] = uint16(o | sign>>16)
	}
}

func widenBF16(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, u := range src {
		dst[i] = formula.BF16(u).Float32()
	}
}

func narrowBF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = uint16(formula.BF16From(f)) // inlined: the one bfloat16 rounding, no call per element
	}
}

// oracle16 computes a 16-bit kernel with the oracle itself: each element widened to float64, the
// formula in float64 (runGeneric), rounded once to dt (SEMANTICS §1.6). It is the careful path of the
// 16-bit assembly kernels: the blocks they hand back and the ragged tails they cannot pad.
func oracle16(dt formula.DType, kernel string, alpha float32, out, a, b []uint16) {
	const chunk = 64
	var fo, fa, fb [chunk]float64
	for lo := 0; lo < len(out); lo += chunk {
		hi := min(lo+chunk, len(out))
		n := hi - lo
		widen64(dt, fa[:n], a[lo:hi])
		var bs []float64
		if b != nil {
			widen64(dt, fb[:n], b[lo:hi])
			bs = fb[:n]
		}
		runGeneric(kernel, float64(alpha), fo[:n], fa[:n], bs)
		for i, v := range fo[:n] {
			if dt == formula.Float16 {
				out[lo+i] = formula.FromFloat64[formula.F16](v).Bits()
			} else {
				out[lo+i] = formula.FromFloat64[formula.BF16](v).Bits()
			}
		}
	}
}

func widen64(dt formula.DType, dst []float64, src []uint16) {
	for i, u := range src {
		if dt == formula.Float16 {
			dst[i] = float64(formula.F16FromBits(u).Float32())
		} else {
			dst[i] = float64(math.Float32frombits(uint32(u) << 16))
		}
	}
}
