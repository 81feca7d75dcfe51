package formula

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Every 16-bit pattern survives the trip through float64: widening is exact and rounding an exact value
// returns it; NaNs stay NaNs.
func TestHalfRoundTrip(t *testing.T) {
	for u := range 1 << 16 {
		h, b := F16FromBits(uint16(u)), BF16FromBits(uint16(u))
		if got := FromFloat64[F16](ToFloat64(h)); got != h && !(h.IsNaN() && got.IsNaN()) {
			t.Fatalf("float16 %#04x: round trip gives %#04x", u, got.Bits())
		}
		if got := FromFloat64[BF16](ToFloat64(b)); got != b && !(b.IsNaN() && got.IsNaN()) {
			t.Fatalf("bfloat16 %#04x: round trip gives %#04x", u, got.Bits())
		}
	}
}

// Between every two neighbouring finite 16-bit values, FromFloat64 rounds to the nearer, and the exact
// midpoint to the one with an even last bit; past the largest finite value, from its midpoint with the
// next power of two on, to infinity.
func TestHalfRoundsToNearestEven(t *testing.T) {
	check := func(name string, lo, hi uint16, from func(float64) uint16, val func(uint16) float64) {
		t.Helper()
		for u := lo; u < hi; u++ {
			a, b := val(u), val(u+1)
			if math.IsInf(b, 0) {
				b = 2*a - val(u-1) // the next value the format would have
			}
			mid := (a + b) / 2
			even := u
			if u&1 == 1 {
				even = u + 1
			}
			below, above := math.Nextafter(mid, a), math.Nextafter(mid, b)
			if got := from(mid); got != even && !(even == hi && math.IsInf(val(got), 1)) {
				t.Fatalf("%s: midpoint %g of %#04x and %#04x rounds to %#04x, want %#04x", name, mid, u, u+1, got, even)
			}
			if got := from(below); got != u {
				t.Fatalf("%s: %g (just below the midpoint of %#04x and %#04x) rounds to %#04x", name, below, u, u+1, got)
			}
			if got, want := from(above), u+1; got != want && !(u+1 == hi && math.IsInf(val(got), 1)) {
				t.Fatalf("%s: %g (just above the midpoint of %#04x and %#04x) rounds to %#04x, want %#04x", name, above, u, u+1, got, want)
			}
		}
	}
	check("float16", 0, 0x7bff,
		func(v float64) uint16 { return FromFloat64[F16](v).Bits() },
		func(u uint16) float64 { return ToFloat64(F16FromBits(u)) })
	check("bfloat16", 0, 0x7f7f,
		func(v float64) uint16 { return FromFloat64[BF16](v).Bits() },
		func(u uint16) float64 { return ToFloat64(BF16FromBits(u)) })
	if got := FromFloat64[F16](65520); !math.IsInf(ToFloat64(got), 1) {
		t.Errorf("float16(65520) = %v, want +Inf", got)
	}
	if got := FromFloat64[F16](math.Nextafter(65520, 0)); got.Bits() != 0x7bff {
		t.Errorf("float16(65520-) = %v, want 65504", got)
	}
	if got := FromFloat64[BF16](-0x1.ffp127); !math.IsInf(ToFloat64(got), -1) {
		t.Errorf("bfloat16(-0x1.ffp127) = %v, want -Inf", got)
	}
	if got := FromFloat64[F16](math.Copysign(0, -1)); got.Bits() != 0x8000 {
		t.Errorf("float16(-0) = %#04x, want 0x8000", got.Bits())
	}
}

// Rounding a float32 directly (F16From, BF16From) agrees with rounding its value through float64, on
// random bit patterns of every class; NaN stays NaN, quiet, with its sign.
func TestHalfFromFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		f := math.Float32frombits(rng.Uint32())
		wantH, wantB := FromFloat64[F16](float64(f)), FromFloat64[BF16](float64(f))
		h, b := F16From(f), BF16From(f)
		if f != f {
			if !h.IsNaN() || !b.IsNaN() || h.Bits()&0x0200 == 0 || b.Bits()&0x40 == 0 ||
				h.Bits()>>15 != uint16(math.Float32bits(f)>>31) || b.Bits()>>15 != uint16(math.Float32bits(f)>>31) {
				t.Fatalf("NaN %#08x: float16 %#04x, bfloat16 %#04x: want quiet NaNs of the same sign", math.Float32bits(f), h.Bits(), b.Bits())
			}
			continue
		}
		if h != wantH || b != wantB {
			t.Fatalf("%g (%#08x): F16From %#04x, BF16From %#04x; through float64 %#04x, %#04x", f, math.Float32bits(f), h.Bits(), b.Bits(), wantH.Bits(), wantB.Bits())
		}
	}
	// A NaN whose payload lies in the low bits alone must not become infinity.
	if b := BF16From(math.Float32frombits(0x7f800001)); !b.IsNaN() {
		t.Errorf("BF16From(sNaN 0x7f800001) = %#04x, not a NaN", b.Bits())
	}
}

func TestHalfSlices(t *testing.T) {
	src := []float32{0, 1, -2.5, 65504, 1e-7, float32(math.Inf(-1))}
	h, b := make([]F16, len(src)), make([]BF16, len(src))
	FromFloat32(h, src)
	FromFloat32(b, src)
	back := make([]float32, len(src))
	ToFloat32(back, h)
	if back[2] != -2.5 || back[3] != 65504 || back[4] != 1.1920929e-07 || !math.IsInf(float64(back[5]), -1) {
		t.Errorf("float16 round trip of %v gives %v", src, back)
	}
	ToFloat32(back, b)
	if back[2] != -2.5 || back[3] != 65536 || !math.IsInf(float64(back[5]), -1) {
		t.Errorf("bfloat16 round trip of %v gives %v", src, back)
	}
}

func TestHalfULPs(t *testing.T) {
	one, next := F16From(1), F16FromBits(F16From(1).Bits()+1)
	if u := ULPs(one, next); u != 1 {
		t.Errorf("ULPs(1, next float16) = %d", u)
	}
	if u := ULPs(F16FromBits(0x8001), F16FromBits(0x0001)); u != 2 {
		t.Errorf("ULPs(-tiny, +tiny) float16 = %d, want 2", u)
	}
	if u := ULPs(BF16FromBits(0x7fc0), BF16FromBits(0xffc1)); u != 0 {
		t.Errorf("ULPs(NaN, NaN) bfloat16 = %d, want 0", u)
	}
	if u := ULPs(BF16FromBits(0x7fc0), BF16From(1)); u != Infinite {
		t.Errorf("ULPs(NaN, 1) bfloat16 = %d, want Infinite", u)
	}
	for _, c := range []struct {
		in   string
		want DType
	}{{"float16", Float16}, {"F16", Float16}, {"half", Float16}, {"bfloat16", BFloat16}, {"bf16", BFloat16}} {
		if d, err := ParseDType(c.in); err != nil || d != c.want {
			t.Errorf("ParseDType(%q) = %v, %v", c.in, d, err)
		}
	}
	if Float16.Suffix() != "f16" || BFloat16.Suffix() != "bf16" || Float16.Size() != 2 || Float16.Compute() != Float32 {
		t.Errorf("float16/bfloat16 suffix, size or compute type wrong")
	}
}

// The α limits SEMANTICS §6.2 gives for the 16-bit dtypes.
func TestHalfAlphaLimits(t *testing.T) {
	for _, c := range []struct {
		dt      DType
		ok, bad float64
	}{{Float16, math.Nextafter(65520, 0), 65520}, {BFloat16, math.Nextafter(0x1.ffp127, 0), 0x1.ffp127}} {
		if err := CheckAlpha(ELU(c.ok), c.dt); err != nil {
			t.Errorf("ELU(%v) on %s: %v", c.ok, c.dt, err)
		}
		if err := CheckAlpha(ELU(-c.bad), c.dt); err == nil {
			t.Errorf("ELU(%v) on %s accepted", -c.bad, c.dt)
		}
	}
}
