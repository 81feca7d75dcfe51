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

func widenF16(dst []float32, src []uint16) {
	for i, u := range src {
		dst[i] = formula.F16FromBits(u).Float32()
	}
}

func narrowF16(dst []uint16, src []float32) {
	for i, f := range src {
		dst[i] = formula.F16From(f).Bits()
	}
}

func widenBF16(dst []float32, src []uint16) {
	for i, u := range src {
		dst[i] = math.Float32frombits(uint32(u) << 16)
	}
}

func narrowBF16(dst []uint16, src []float32) {
	for i, f := range src {
		dst[i] = uint16(formula.BF16From(f))
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
