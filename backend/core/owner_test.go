package core

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestBeginPassAlphaInDType: α is checked after rounding to the buffers' dtype. On float32 buffers an α
// finite in float64 but beyond the float32 range is ErrBadAlpha for every activation that has an α and
// every pass, with a message naming the pass, the value and the dtype; values that round to
// ±math.MaxFloat32 are accepted, and float64 buffers take any finite α.
func TestBeginPassAlphaInDType(t *testing.T) {
	o := NewOwner("test", true, func(any) error { return nil })
	alloc := func(dt DType) Buffer {
		b, err := o.Alloc(dt, 4, func(int64) (any, error) { return struct{}{}, nil })
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Halfway between math.MaxFloat32 and 2^128: rounds to even, which is 2^128, so to +Inf.
	half := math.MaxFloat32 + math.Ldexp(1, 127-24)
	tooLarge := []float64{1e39, -1e39, half, math.Nextafter(half, math.Inf(1)), math.MaxFloat64, -math.MaxFloat64}
	fits := []float64{math.MaxFloat32, -math.MaxFloat32, math.Nextafter(half, 0), 1e-50, 0}
	for _, a := range tooLarge {
		if !math.IsInf(float64(float32(a)), 0) {
			t.Fatalf("table: float32(%v) = %v is finite", a, float32(a))
		}
	}
	for _, a := range fits {
		if math.IsInf(float64(float32(a)), 0) {
			t.Fatalf("table: float32(%v) is infinite", a)
		}
	}
	for _, dt := range DTypes {
		y, dy, x := alloc(dt), alloc(dt), alloc(dt)
		for _, p := range Passes {
			in2 := x
			if p == Forward {
				in2 = Buffer{}
			}
			for _, kind := range []Kind{KindLeakyReLU, KindELU} {
				for _, alpha := range append(tooLarge, fits...) {
					if p == BackwardFromOutput && alpha < 0 {
						continue // ErrNegativeAlpha comes first
					}
					act := Activation{kind: kind, alpha: alpha}
					in1 := x
					if p != Forward {
						in1 = dy
					}
					l, err := o.BeginPass(p, act, y, in1, in2)
					what := fmt.Sprintf("%s %s on %s", p, act, dt)
					refuse := dt == Float32 && slices.Contains(tooLarge, alpha)
					if !refuse {
						if err != nil {
							t.Errorf("%s: %v, want it accepted", what, err)
						}
						l.End()
						continue
					}
					if !errors.Is(err, ErrBadAlpha) {
						t.Errorf("%s: %v, want ErrBadAlpha", what, err)
						l.End() // a lease taken by mistake would block the next call on y
						continue
					}
					for _, w := range []string{p.String(), fmt.Sprint(alpha), "float32"} {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("%s: message %q does not mention %q", what, err, w)
						}
					}
				}
			}
			l, err := o.BeginPass(p, ReLU(), y, map[bool]Buffer{true: x, false: dy}[p == Forward], in2)
			if err != nil {
				t.Errorf("%s relu on %s: %v", p, dt, err)
			}
			l.End()
		}
	}
	// The lease was released on every refusal: Close does not wait.
	if err := o.Close(nil); err != nil {
		t.Fatal(err)
	}
}
