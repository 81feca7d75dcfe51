package formula

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// Every kind has a row for every pass, exactly one, and every row a tolerance for every dtype.
func TestTableComplete(t *testing.T) {
	for _, k := range Kinds {
		for _, p := range Passes {
			n := 0
			for _, r := range table {
				if r.Kind == k && r.Pass == p {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s %s: %d rows, want 1", k, p, n)
			}
			r, err := Lookup(k, p)
			if err != nil {
				t.Fatalf("Lookup(%s, %s): %v", k, p, err)
			}
			if r.Kernel == "" || r.Formula == "" || r.oracle == nil {
				t.Errorf("%s %s: row lacks a kernel, formula or oracle: %+v", k, p, r)
			}
			if r.UsesAlpha != k.UsesAlpha() {
				t.Errorf("%s %s: UsesAlpha %v, but the kind says %v", k, p, r.UsesAlpha, k.UsesAlpha())
			}
			for _, dt := range DTypes {
				if _, err := r.Tolerance(dt); err != nil {
					t.Error(err)
				}
			}
		}
	}
	if _, err := Lookup(KindELU, BackwardFromOutput); err != nil {
		t.Fatal(err)
	}
	r, _ := Lookup(KindELU, Forward)
	if _, err := r.Tolerance(DType(0)); !errors.Is(err, ErrUnsupportedDType) {
		t.Errorf("tolerance of DType(0): %v, want ErrUnsupportedDType", err)
	}
}

// A kind or pass without a row is an error, never another formula.
func TestLookupUnknown(t *testing.T) {
	for _, c := range []struct {
		k Kind
		p Pass
	}{{0, Forward}, {Kind(99), Forward}, {KindELU, 0}, {KindReLU, Pass(7)}} {
		if r, err := Lookup(c.k, c.p); !errors.Is(err, ErrBadActivation) {
			t.Errorf("Lookup(%d, %d) = %+v, %v; want ErrBadActivation", c.k, c.p, r, err)
		}
	}
	if _, err := Check(Forward, Activation{}); !errors.Is(err, ErrBadActivation) {
		t.Errorf("Check of the zero Activation: %v", err)
	}
}

func TestCheckAlpha(t *testing.T) {
	cases := []struct {
		p    Pass
		act  Activation
		dt   DType
		want error
	}{
		{Forward, ELU(1), Float32, nil},
		{Forward, ELU(math.NaN()), Float32, ErrBadAlpha},
		{Forward, LeakyReLU(math.Inf(-1)), Float64, ErrBadAlpha},
		{Forward, ELU(1e39), Float32, ErrBadAlpha},       // float32(1e39) = +Inf
		{Forward, ELU(-1e39), Float32, ErrBadAlpha},      // -Inf
		{Forward, ELU(1e39), Float64, nil},               // finite in float64
		{Forward, ELU(math.MaxFloat32), Float32, nil},    // the largest float32 itself
		{Forward, LeakyReLU(3.4028235e38), Float32, nil}, // rounds down to MaxFloat32
		{BackwardFromOutput, ELU(-0.5), Float64, ErrNegativeAlpha},
		{BackwardFromOutput, LeakyReLU(-1e-300), Float64, ErrNegativeAlpha},
		{BackwardFromOutput, ELU(0), Float32, nil},
		{BackwardFromInput, ELU(-0.5), Float32, nil},
		{BackwardFromOutput, ReLU(), Float32, nil},
	}
	for _, c := range cases {
		_, err := Check(c.p, c.act)
		if err == nil {
			err = CheckAlpha(c.act, c.dt)
		}
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s %s on %s: %v, want %v", c.p, c.act, c.dt, err, c.want)
		}
	}
}

// Reference (the table's float64 formula, rounded once) and the typed functions the CPU backend's loops
// run give the same bits, for float32 too: the table is the one definition, and the loops agree with it.
func TestReferenceMatchesTypedFunctions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := func() float64 {
		switch rng.IntN(5) {
		case 0:
			return []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1e-40, -1e-40, -88, -104, -745}[rng.IntN(10)]
		case 1:
			return math.Copysign(math.Pow(10, 40*rng.Float64()-20), rng.Float64()-0.5)
		}
		return 30*rng.Float64() - 20
	}
	for _, act := range []Activation{ReLU(), LeakyReLU(0.01), LeakyReLU(-0.3), ELU(1), ELU(0.37), ELU(2.5)} {
		for _, p := range Passes {
			if p == BackwardFromOutput && act.alpha < 0 {
				continue
			}
			ref32, err := Reference[float32](p, act)
			if err != nil {
				t.Fatal(err)
			}
			ref64, _ := Reference[float64](p, act)
			typed32, typed64 := typedFunc[float32](p, act), typedFunc[float64](p, act)
			for range 20000 {
				a, b := vals(), vals()
				if g, w := ref32(float32(a), float32(b)), typed32(float32(a), float32(b)); math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
					t.Fatalf("float32 %s %s (%g, %g): Reference %g, typed %g", p, act, float32(a), float32(b), g, w)
				}
				if g, w := ref64(a, b), typed64(a, b); math.Float64bits(g) != math.Float64bits(w) && !(g != g && w != w) {
					t.Fatalf("float64 %s %s (%g, %g): Reference %g, typed %g", p, act, a, b, g, w)
				}
			}
		}
	}
}

func typedFunc[T Float](p Pass, act Activation) func(a, b T) T {
	alpha := Round[T](act.alpha)
	switch {
	case act.kind == KindReLU && p == Forward:
		return func(x, _ T) T { return ReLUForward(x) }
	case act.kind == KindReLU:
		return ReLUBackward[T]
	case act.kind == KindLeakyReLU && p == Forward:
		return func(x, _ T) T { return LeakyReLUForward(alpha, x) }
	case act.kind == KindLeakyReLU:
		return func(dy, x T) T { return LeakyReLUBackward(alpha, dy, x) }
	case p == Forward:
		return func(x, _ T) T { return ELUForward(alpha, x) }
	case p == BackwardFromInput:
		return func(dy, x T) T { return ELUBackwardFromInput(alpha, dy, x) }
	}
	return func(dy, y T) T { return ELUBackwardFromOutput(alpha, dy, y) }
}

func TestParse(t *testing.T) {
	for _, d := range DTypes {
		if got, err := ParseDType(d.String()); got != d || err != nil {
			t.Errorf("ParseDType(%q) = %v, %v", d, got, err)
		}
	}
	if got, err := ParseDType(" F64 "); got != Float64 || err != nil {
		t.Errorf("ParseDType(F64) = %v, %v", got, err)
	}
	if _, err := ParseDType("float16x"); !errors.Is(err, ErrUnsupportedDType) {
		t.Errorf("ParseDType(float16x): %v", err)
	}
	for _, p := range Passes {
		if got, err := ParsePass(p.String()); got != p || err != nil {
			t.Errorf("ParsePass(%q) = %v, %v", p, got, err)
		}
	}
	if got, _ := ParsePass("backward_from_output"); got != BackwardFromOutput {
		t.Errorf("ParsePass(backward_from_output) = %v", got)
	}
	if _, err := ParsePass("sideways"); !errors.Is(err, ErrBadActivation) {
		t.Errorf("ParsePass(sideways): %v", err)
	}
	for _, a := range []Activation{ReLU(), LeakyReLU(0.2), ELU(1), ELU(-0.8)} {
		if got, err := ParseActivation(a.String()); got != a || err != nil {
			t.Errorf("ParseActivation(%q) = %v, %v", a, got, err)
		}
	}
	for s, want := range map[string]error{"relu:1": ErrBadActivation, "elu:x": ErrBadAlpha, "elu:inf": ErrBadAlpha, "gelu": ErrBadActivation} {
		if _, err := ParseActivation(s); !errors.Is(err, want) {
			t.Errorf("ParseActivation(%q): %v, want %v", s, err, want)
		}
	}
	if a, _ := ParseActivation("Leaky_ReLU"); a != LeakyReLU(DefaultLeakyReLUAlpha) {
		t.Errorf("ParseActivation(Leaky_ReLU) = %v", a)
	}
}

func TestDTypeSet(t *testing.T) {
	s := SetOf(Float64, DType(0), DType(200))
	if !s.Has(Float64) || s.Has(Float32) || s.Has(0) || len(s.List()) != 1 || s.String() != "float64" {
		t.Errorf("SetOf(Float64, invalid...) = %v (%d)", s, s)
	}
	all := SetOf(DTypes...)
	if len(all.List()) != len(DTypes) || all.String() != "float32, float64, float16, bfloat16" {
		t.Errorf("SetOf(DTypes...) = %v", all)
	}
	for _, d := range DTypes {
		wantCompute := d
		if d.Size() < 4 {
			wantCompute = Float32 // SEMANTICS §1.6: 16-bit types compute in float32
		}
		if d.Size() == 0 || d.Compute() != wantCompute || !d.Valid() {
			t.Errorf("%s: size %d, compute %s", d, d.Size(), d.Compute())
		}
	}
	if DType(0).Size() != 0 || DType(0).Valid() || !math.IsNaN(DType(0).Round(1)) {
		t.Error("DType(0) is not invalid everywhere")
	}
}
