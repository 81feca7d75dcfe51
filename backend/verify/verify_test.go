package verify

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/gpuact/gpuact/backend/formula"
)

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
		if got := exactSumTimes(y, a, d); formula.ULPs(got, want) > 1 {
			t.Fatalf("(%v + %v)·%v = %v, math/big %v", y, a, d, got, want)
		}
	}
}
