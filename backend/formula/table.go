package formula

import (
	"fmt"
	"math"
)

// Row is one formula: pass Pass of activation Kind, as SEMANTICS §1.1 defines it and §2 bounds its error.
type Row struct {
	Kind Kind
	Pass Pass
	// Formula is the formula as SEMANTICS §1.1 writes it.
	Formula string
	// Kernel names the kernel that computes the row on every device: gpuact_<Kernel>_<suffix>_<vec|scalar>
	// in kernels/activations.cu, <Kernel>_<suffix>[_al] in kernels/activations.cl (suffix: DType.Suffix),
	// and the CPU
	// backend's loops. Rows may share one: ReLU's and LeakyReLU's backward from output is their backward
	// from input with y for x (y > 0 exactly when x > 0).
	Kernel string
	// UsesAlpha reports whether α enters the formula.
	UsesAlpha bool
	// NonNegativeAlpha: the pass is refused for α < 0 (ErrNegativeAlpha), because y no longer tells
	// which branch x took.
	NonNegativeAlpha bool
	// ulp is the largest distance from the oracle each dtype allows, in ULPs of the dtype (SEMANTICS §2).
	ulp map[DType]uint64
	// oracle is the formula evaluated in float64 from α already rounded to the dtype and the inputs
	// (a, b) = (x, unused) for Forward or (dy, x) and (dy, y) for the backward passes; the result,
	// rounded once to the dtype, is the oracle's value (see Reference).
	oracle func(alpha, a, b float64) float64
}

// exact is the tolerance of the select-and-multiply formulas: bit-identical on every dtype.
var exact = map[DType]uint64{Float32: 0, Float64: 0, Float16: 0, BFloat16: 0}

// table is every formula gpuact computes: one row per (kind, pass).
var table = []Row{
	{Kind: KindReLU, Pass: Forward, Formula: "x > 0 ? x : +0", Kernel: "relu_fwd", ulp: exact,
		oracle: func(_, x, _ float64) float64 { return ReLUForward(x) }},
	{Kind: KindReLU, Pass: BackwardFromInput, Formula: "x > 0 ? dy : +0", Kernel: "relu_bwd", ulp: exact,
		oracle: func(_, dy, x float64) float64 { return ReLUBackward(dy, x) }},
	{Kind: KindReLU, Pass: BackwardFromOutput, Formula: "y > 0 ? dy : +0", Kernel: "relu_bwd", ulp: exact,
		oracle: func(_, dy, y float64) float64 { return ReLUBackward(dy, y) }},

	{Kind: KindLeakyReLU, Pass: Forward, Formula: "x > 0 ? x : α·x", Kernel: "leaky_fwd", UsesAlpha: true, ulp: exact,
		oracle: func(a, x, _ float64) float64 { return LeakyReLUForward(a, x) }},
	{Kind: KindLeakyReLU, Pass: BackwardFromInput, Formula: "x > 0 ? dy : α·dy", Kernel: "leaky_bwd", UsesAlpha: true, ulp: exact,
		oracle: func(a, dy, x float64) float64 { return LeakyReLUBackward(a, dy, x) }},
	{Kind: KindLeakyReLU, Pass: BackwardFromOutput, Formula: "y > 0 ? dy : α·dy", Kernel: "leaky_bwd", UsesAlpha: true, NonNegativeAlpha: true, ulp: exact,
		oracle: func(a, dy, y float64) float64 { return LeakyReLUBackward(a, dy, y) }},

	{Kind: KindELU, Pass: Forward, Formula: "x > 0 ? x : α·expm1(x)", Kernel: "elu_fwd", UsesAlpha: true,
		ulp:    map[DType]uint64{Float32: 2, Float64: 3, Float16: 1, BFloat16: 1},
		oracle: func(a, x, _ float64) float64 { return ELUForward(a, x) }},
	{Kind: KindELU, Pass: BackwardFromInput, Formula: "x > 0 ? dy : α·exp(x)·dy", Kernel: "elu_bwd_in", UsesAlpha: true,
		ulp:    map[DType]uint64{Float32: 2, Float64: 3, Float16: 1, BFloat16: 1},
		oracle: func(a, dy, x float64) float64 { return ELUBackwardFromInput(a, dy, x) }},
	{Kind: KindELU, Pass: BackwardFromOutput, Formula: "y > 0 ? dy : (y + α)·dy", Kernel: "elu_bwd_out", UsesAlpha: true, NonNegativeAlpha: true,
		ulp:    map[DType]uint64{Float32: 2, Float64: 2, Float16: 1, BFloat16: 1},
		oracle: func(a, dy, y float64) float64 { return ELUBackwardFromOutput(a, dy, y) }},
}

// byKindPass indexes the table by kind and pass (nil: no row), and usesAlpha says which kinds have an α
// in any of their formulas; both are derived from the table once.
var (
	byKindPass [len(kindInfo)][len(passInfo)]*Row
	usesAlpha  [len(kindInfo)]bool
)

func init() {
	for i := range table {
		r := &table[i]
		if !r.Kind.Valid() || !r.Pass.Valid() || byKindPass[r.Kind][r.Pass] != nil {
			panic(fmt.Sprintf("formula: table row %d (%s %s) has no valid kind and pass, or repeats one", i, r.Kind, r.Pass))
		}
		byKindPass[r.Kind][r.Pass] = r
		usesAlpha[r.Kind] = usesAlpha[r.Kind] || r.UsesAlpha
	}
}

// Rows returns every row of the table, in the order of Kinds, then Passes.
func Rows() []Row { return append([]Row(nil), table...) }

// Lookup returns the formula of pass p of kind k. A kind or pass that is unknown, or a pair without a
// row, is an error wrapping ErrBadActivation: never another formula.
func Lookup(k Kind, p Pass) (Row, error) {
	if k.Valid() && p.Valid() {
		if r := byKindPass[k][p]; r != nil {
			return *r, nil
		}
	}
	switch {
	case !k.Valid():
		return Row{}, fmt.Errorf("%w: kind %d is not one of %s", ErrBadActivation, uint8(k), kindNames())
	case !p.Valid():
		return Row{}, fmt.Errorf("%w: pass %d is not forward, backward-input or backward-output", ErrBadActivation, uint8(p))
	}
	return Row{}, fmt.Errorf("%w: %s has no %s pass", ErrBadActivation, k, p)
}

// Check reports whether pass p may run act, and returns its row: the pass and kind must have a row, α
// must be finite, and meet the row's rule (α ≥ 0 backward from output). These are the checks that need
// no buffer (SEMANTICS §6.1); CheckAlpha adds the one that needs the dtype.
func Check(p Pass, act Activation) (Row, error) {
	if err := act.Validate(); err != nil {
		return Row{}, err
	}
	r, err := Lookup(act.kind, p)
	if err != nil {
		return Row{}, err
	}
	if r.NonNegativeAlpha && act.alpha < 0 {
		return Row{}, fmt.Errorf("%w: %s %s needs alpha >= 0, got %v (use backward from input)", ErrNegativeAlpha, act.kind, p, act.alpha)
	}
	return r, nil
}

// CheckAlpha reports whether act's α is still finite once rounded to dt (SEMANTICS §1.3): ELU(1e39) on
// float32 is refused with ErrBadAlpha, because float32(1e39) is +Inf.
func CheckAlpha(act Activation, dt DType) error {
	if !dt.Valid() {
		return fmt.Errorf("%w: %s", ErrUnsupportedDType, dt)
	}
	if !act.kind.UsesAlpha() {
		return nil
	}
	if r := dt.Round(act.alpha); math.IsInf(r, 0) || math.IsNaN(r) {
		return fmt.Errorf("%w: %s: alpha %v is not finite in %s (it rounds to %v)", ErrBadAlpha, act.kind, act.alpha, dt, r)
	}
	return nil
}

// Tolerance is the tolerance of pass p of kind k on dt: Lookup, then Row.Tolerance.
func Tolerance(k Kind, p Pass, dt DType) (uint64, error) {
	r, err := Lookup(k, p)
	if err != nil {
		return 0, err
	}
	return r.Tolerance(dt)
}

// Tolerance is the largest distance from the oracle, in ULPs of dt, that SEMANTICS §2 allows for the row
// on dt (0: bit-identical). A dtype without a tolerance is an error, never 0 or unbounded by default.
func (r Row) Tolerance(dt DType) (uint64, error) {
	u, ok := r.ulp[dt]
	if !ok {
		return 0, fmt.Errorf("%w: %s %s has no tolerance for %s", ErrUnsupportedDType, r.Kind, r.Pass, dt)
	}
	return u, nil
}
