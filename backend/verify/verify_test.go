package verify

import (
	"math"
	"math/big"
	"math/rand/v2"
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

// TestExactSumTimes checks the double-double evaluation of (y+a)·d against math/big.
func TestExactSumTimes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 20000 {
		y := -rng.Float64() * math.Pow(10, float64(rng.IntN(40)-20))
		a := rng.Float64() * 3
		d := (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(60)-30))
		if i%3 == 0 {
			y = -a * (1 - 1e-9*rng.Float64()) // cancellation
		}
		exact := new(big.Float).SetPrec(4000).SetFloat64(y)
		exact.Add(exact, new(big.Float).SetFloat64(a))
		exact.Mul(exact, new(big.Float).SetFloat64(d))
		want, _ := exact.Float64()
		if got := exactSumTimes(y, a, d); ULPs(got, want) > 1 {
			t.Fatalf("(%v + %v)·%v = %v, math/big %v", y, a, d, got, want)
		}
	}
}
