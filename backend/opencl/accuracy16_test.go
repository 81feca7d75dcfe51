package opencl

import (
	"fmt"
	"math"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/verify"
)

// TestSixteenBitExhaustive runs every pass on every bit pattern of float16 and bfloat16 as x (forward,
// backward from input) or y (backward from output), each paired with every gradient of dys16 in the
// backward passes, at the α of alphas16 (the non-negative ones from output), and compares with the oracle
// within SEMANTICS §2's tolerance (§1.6: ReLU and LeakyReLU bit-exact, ELU within 1 ULP). It logs
// the largest ULP distance of each dtype, activation kind and pass.
func TestSixteenBitExhaustive(t *testing.T) {
	for _, d := range usableDevices(t) {
		be, err := d.Open()
		if err != nil {
			t.Fatal(err)
		}
		t.Run(d.Spec+"/float16", func(t *testing.T) { exhaustive16[formula.F16](t, be) })
		t.Run(d.Spec+"/bfloat16", func(t *testing.T) { exhaustive16[formula.BF16](t, be) })
		be.Close()
	}
}

// alphas16 are the α of TestSixteenBitExhaustive: zero, negative, exact and inexact in both 16-bit
// types, and one that is not a power of two.
var alphas16 = []float64{0, 0.01, -0.3, 1, 0.37, 2.5}

// dys16 are T's gradients of TestSixteenBitExhaustive: ordinary, the smallest and largest subnormal,
// the largest finite value (so that α·exp(x)·dy is normal where exp(x) is not), -Inf and NaN.
func dys16[T formula.Elem]() []T {
	var subMin, subMax, maxFinite float64
	switch formula.DTypeOf[T]() {
	case formula.Float16:
		subMin, subMax, maxFinite = 0x1p-24, 0x1.ff8p-15, 65504
	case formula.BFloat16:
		subMin, subMax, maxFinite = 0x1p-133, 0x1.fcp-127, 0x1.fep127
	}
	var out []T
	for _, v := range []float64{1, -3.7, subMin, -subMax, maxFinite, math.Inf(-1), math.NaN()} {
		out = append(out, formula.FromFloat64[T](v))
	}
	return out
}

func exhaustive16[T formula.F16 | formula.BF16](t *testing.T, be core.Backend) {
	dt := formula.DTypeOf[T]()
	if !be.Info().DTypes.Has(dt) {
		t.Fatalf("%s does not list %s in Info().DTypes", be.Info().Spec, dt)
	}
	// a: every bit pattern; xs, dy: every bit pattern beside each gradient in turn.
	const patterns = 1 << 16
	dys := dys16[T]()
	all := make([]T, patterns)
	xs := make([]T, 0, patterns*len(dys))
	dy := make([]T, 0, patterns*len(dys))
	for i := range all {
		all[i] = bitsTo[T](uint16(i))
	}
	for _, g := range dys {
		xs = append(xs, all...)
		for range all {
			dy = append(dy, g)
		}
	}
	denormals := be.Info().Denormals
	for _, k := range formula.Kinds {
		for _, p := range formula.Passes {
			worst := uint64(0)
			var seen []string
			for _, alpha := range alphas16 {
				act := k.WithAlpha(alpha)
				if k == formula.KindReLU {
					if alpha != 0 {
						continue // no α: once is enough
					}
					act = formula.ReLU()
				}
				if p == formula.BackwardFromOutput && alpha < 0 {
					continue // refused (SEMANTICS §1.3)
				}
				a, b := all, []T(nil)
				if p != formula.Forward {
					a, b = dy, xs
				}
				got := runPass(t, be, p, act, a, b)
				r := verify.Check(p, act, got, a, b, denormals)
				if !r.OK() {
					t.Errorf("%s %s %s: %v", dt, p, act, r)
				}
				if n, first := signallingNaNs(got); n > 0 {
					if dt == formula.BFloat16 {
						t.Errorf("%s %s %s: %d signalling NaNs out, the first at [%d] (SEMANTICS §1.6: a quiet NaN)", dt, p, act, n, first)
					} else {
						t.Logf("%s %s %s: %d signalling NaNs out, the first at [%d]", dt, p, act, n, first)
					}
				}
				worst = max(worst, r.MaxULP)
				seen = append(seen, fmt.Sprint(act))
			}
			t.Logf("%s %s %s: max %d ULP over %v", dt, k, p, worst, seen)
		}
	}
}

func bitsTo[T formula.F16 | formula.BF16](u uint16) T {
	var v T
	switch p := any(&v).(type) {
	case *formula.F16:
		*p = formula.F16FromBits(u)
	case *formula.BF16:
		*p = formula.BF16FromBits(u)
	}
	return v
}

// signallingNaNs counts the NaNs of v whose quiet bit (the top fraction bit) is clear, and returns the
// index of the first.
func signallingNaNs[T formula.F16 | formula.BF16](v []T) (n, first int) {
	first = -1
	for i, x := range v {
		var nan bool
		var u, quiet uint16
		switch e := any(x).(type) {
		case formula.F16:
			nan, u, quiet = e.IsNaN(), e.Bits(), 0x200
		case formula.BF16:
			nan, u, quiet = e.IsNaN(), e.Bits(), 0x40
		}
		if nan && u&quiet == 0 {
			if n == 0 {
				first = i
			}
			n++
		}
	}
	return n, first
}

// TestSixteenBitExhaustiveTail is TestSixteenBitExhaustive's forward passes through the kernels' tail, the
// elements after the last whole vector, which work-item 0 loads and stores one at a time (vload_half,
// vstore_half_rte, the scalar bfloat16 conversions): every bit pattern goes through views shorter than
// one vector.
func TestSixteenBitExhaustiveTail(t *testing.T) {
	for _, d := range usableDevices(t) {
		be, err := d.Open()
		if err != nil {
			t.Fatal(err)
		}
		t.Run(d.Spec+"/float16", func(t *testing.T) { exhaustiveTail16[formula.F16](t, be.(*Backend)) })
		t.Run(d.Spec+"/bfloat16", func(t *testing.T) { exhaustiveTail16[formula.BF16](t, be.(*Backend)) })
		be.Close()
	}
}

func exhaustiveTail16[T formula.F16 | formula.BF16](t *testing.T, be *Backend) {
	dt := formula.DTypeOf[T]()
	const patterns = 1 << 16
	all := make([]T, patterns)
	for i := range all {
		all[i] = bitsTo[T](uint16(i))
	}
	in, err := be.Alloc(dt, patterns)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Free(in)
	out, err := be.Alloc(dt, patterns)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Free(out)
	if err := be.Upload(in, core.HostOf(all)); err != nil {
		t.Fatal(err)
	}
	step := be.program.geometry.vwFloat - 1 // every element of a view this long is in the tail
	for _, act := range []formula.Activation{formula.LeakyReLU(-0.3), formula.ELU(0.37)} {
		for lo := 0; lo < patterns; lo += step {
			hi := min(lo+step, patterns)
			o, err := out.Slice(lo, hi)
			if err != nil {
				t.Fatal(err)
			}
			i, err := in.Slice(lo, hi)
			if err != nil {
				t.Fatal(err)
			}
			if err := be.Forward(act, o, i); err != nil {
				t.Fatal(err)
			}
		}
		got := make([]T, patterns)
		if err := be.Download(core.HostOf(got), out); err != nil {
			t.Fatal(err)
		}
		r := verify.Check(formula.Forward, act, got, all, nil, be.Info().Denormals)
		if !r.OK() {
			t.Errorf("%s forward %s, tail only: %v", dt, act, r)
		} else {
			t.Logf("%s forward %s, tail only: %v", dt, act, r)
		}
		if n, first := signallingNaNs(got); n > 0 && dt == formula.BFloat16 {
			t.Errorf("%s forward %s, tail only: %d signalling NaNs out, the first at [%d]", dt, act, n, first)
		}
	}
}
