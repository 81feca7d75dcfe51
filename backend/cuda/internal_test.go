package cuda

import (
	"math"
	"testing"
)

func TestExactScale(t *testing.T) {
	for _, a := range []float32{0, 1, 2, 0.5, -1, -0.25, 1 << 100 >> 90, math.SmallestNonzeroFloat32} {
		if !exactScale(a) {
			t.Errorf("exactScale(%v) = false", a)
		}
	}
	for _, a := range []float32{0.37, 3, -1.5, 0.01, math.MaxFloat32} {
		if exactScale(a) {
			t.Errorf("exactScale(%v) = true", a)
		}
	}
}
