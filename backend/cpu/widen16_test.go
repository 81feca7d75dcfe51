package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpuact/gpuact/backend/formula"
)

// The 16-bit conversions of the widening path agree with formula's (x448/float16 for float16): every
// float16 widened; narrowing on every float32 within 2 ULP of a float16 value or of a midpoint between
// two, and on random bit patterns. NaN need only stay a quiet NaN of its sign.
func TestConversions16(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	wide := make([]float32, len(src))
	widenF16(wide, src)
	for i, h := range src {
		want := formula.F16FromBits(h).Float32()
		if math.Float32bits(wide[i]) != math.Float32bits(want) && !(want != want && wide[i] != wide[i]) {
			t.Fatalf("widen float16 %#04x: %g (%#08x), want %g", h, wide[i], math.Float32bits(wide[i]), want)
		}
	}
	var probe []float32
	for u := range uint32(0x7c00) { // every finite non-negative float16 and the midpoint above it
		a := formula.F16FromBits(uint16(u)).Float32()
		b := formula.F16FromBits(uint16(u + 1)).Float32()
		mid := float32((float64(a) + float64(b)) / 2)
		if u+1 == 0x7c00 {
			mid = 65520
		}
		for _, c := range []float32{a, mid} {
			bits := math.Float32bits(c)
			for d := uint32(0); d <= 4; d++ {
				probe = append(probe, math.Float32frombits(bits+d-2), -math.Float32frombits(bits+d-2))
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1 << 20 {
		probe = append(probe, math.Float32frombits(rng.Uint32()))
	}
	probe = append(probe, float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00000))
	gotH, gotB := make([]uint16, len(probe)), make([]uint16, len(probe))
	narrowF16(gotH, probe)
	narrowBF16(gotB, probe)
	for i, f := range probe {
		wantH, wantB := formula.F16From(f), formula.BF16From(f)
		if f != f {
			sign := uint16(math.Float32bits(f) >> 31)
			if h := formula.F16FromBits(gotH[i]); !h.IsNaN() || gotH[i]&0x200 == 0 || gotH[i]>>15 != sign {
				t.Fatalf("narrow float16 of NaN %#08x: %#04x", math.Float32bits(f), gotH[i])
			}
			if gotB[i] != wantB.Bits() {
				t.Fatalf("narrow bfloat16 of NaN %#08x: %#04x, want %#04x", math.Float32bits(f), gotB[i], wantB.Bits())
			}
			continue
		}
		if gotH[i] != wantH.Bits() || gotB[i] != wantB.Bits() {
			t.Fatalf("narrow %g (%#08x): float16 %#04x want %#04x, bfloat16 %#04x want %#04x", f, math.Float32bits(f), gotH[i], wantH.Bits(), gotB[i], wantB.Bits())
		}
	}
}
