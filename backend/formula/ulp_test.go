package formula

import (
	"math"
	"testing"
)

func TestULPs(t *testing.T) {
	nan32, nan64 := float32(math.NaN()), math.NaN()
	for _, c := range []struct {
		a, b float32
		want uint64
	}{
		{1, 1, 0}, {0, float32(math.Copysign(0, -1)), 0}, {1, math.Nextafter32(1, 2), 1},
		{math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 2}, {math.MaxFloat32, float32(math.Inf(1)), 1},
		{nan32, nan32, 0}, {nan32, 1, Infinite}, {0, nan32, Infinite},
	} {
		if got := ULPs(c.a, c.b); got != c.want {
			t.Errorf("ULPs(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if got := ULPs(1.0, math.Nextafter(math.Nextafter(1, 0), 0)); got != 2 {
		t.Errorf("float64: %d", got)
	}
	if got := ULPs(nan64, math.Inf(-1)); got != Infinite {
		t.Errorf("float64 NaN: %d", got)
	}
}
