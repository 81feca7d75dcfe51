package formula

import (
	"math"
	"testing"
)

// TestExpCutoff: at the cutoff the oracle's α·exp(x) is not zero, one representable value below it is.
func TestExpCutoff(t *testing.T) {
	for _, a := range []float64{1, 0.37, 2.5, -0.8, 1e-30, 3e38, math.SmallestNonzeroFloat32, math.MaxFloat64} {
		c := ExpCutoff(a)
		if a*math.Exp(c) == 0 || a*math.Exp(math.Nextafter(c, math.Inf(-1))) != 0 {
			t.Errorf("ExpCutoff[float64](%v) = %v is not the edge", a, c)
		}
		a32 := float32(a)
		if a32 == 0 || math.IsInf(float64(a32), 0) {
			continue
		}
		c32 := ExpCutoff(a32)
		below := math.Nextafter32(c32, float32(math.Inf(-1)))
		if float64(a32)*math.Exp(float64(c32)) == 0 || float64(a32)*math.Exp(float64(below)) != 0 {
			t.Errorf("ExpCutoff[float32](%v) = %v is not the edge", a32, c32)
		}
	}
	if !math.IsInf(ExpCutoff(0.0), 1) || !math.IsInf(float64(ExpCutoff(float32(0))), 1) {
		t.Error("the cutoff for α = 0 must be +Inf (α·exp(x)·Inf is NaN everywhere)")
	}
}

func TestMantissaExponent(t *testing.T) {
	for _, a := range []float64{1, -1, 0.37, 2.5, -3e38, math.SmallestNonzeroFloat32, math.SmallestNonzeroFloat64, math.MaxFloat64} {
		am, ae := MantissaExponent(a)
		if math.Abs(am) < 1 || math.Abs(am) >= 2 || math.Ldexp(am, ae) != a {
			t.Errorf("MantissaExponent(%v) = %v, %d", a, am, ae)
		}
	}
	if am, ae := MantissaExponent(0); am != 0 || ae != 0 {
		t.Errorf("MantissaExponent(0) = %v, %d", am, ae)
	}
}
