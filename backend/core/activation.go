package core

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind names an activation function.
type Kind uint8

// The activation functions of SPEC §1.
const (
	KindReLU Kind = iota + 1
	KindLeakyReLU
	KindELU
)

// Kinds lists every Kind, in a stable order.
var Kinds = []Kind{KindReLU, KindLeakyReLU, KindELU}

// Default α of the activations that take one (PyTorch's defaults).
const (
	DefaultLeakyReLUAlpha = 0.01
	DefaultELUAlpha       = 1.0
)

func (k Kind) String() string {
	switch k {
	case KindReLU:
		return "relu"
	case KindLeakyReLU:
		return "leakyrelu"
	case KindELU:
		return "elu"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Default returns the activation of kind k with its default α.
func (k Kind) Default() Activation {
	switch k {
	case KindLeakyReLU:
		return LeakyReLU(DefaultLeakyReLUAlpha)
	case KindELU:
		return ELU(DefaultELUAlpha)
	}
	return Activation{kind: k}
}

// Activation is an activation function with its parameter: a small value type, cheap to copy. Make one
// with ReLU, LeakyReLU, ELU or ParseActivation. The zero Activation is invalid and every pass refuses it
// with ErrBadActivation.
type Activation struct {
	kind  Kind
	alpha float64
}

// ReLU is max(x, 0).
func ReLU() Activation { return Activation{kind: KindReLU} }

// LeakyReLU is x for x > 0 and α·x otherwise. PyTorch's default α is DefaultLeakyReLUAlpha (0.01). α must
// be finite, also once rounded to the buffers' dtype (|α| ≤ math.MaxFloat32 on float32); negative α is
// allowed except for BackwardFromOutput. The check happens when a pass runs (Validate reports a
// non-finite α earlier).
func LeakyReLU(alpha float64) Activation { return Activation{kind: KindLeakyReLU, alpha: alpha} }

// ELU is x for x > 0 and α·expm1(x) otherwise. PyTorch's default α is DefaultELUAlpha (1.0). α must be
// finite, also once rounded to the buffers' dtype; negative α is allowed except for BackwardFromOutput.
func ELU(alpha float64) Activation { return Activation{kind: KindELU, alpha: alpha} }

// Kind is the activation function.
func (a Activation) Kind() Kind { return a.kind }

// Alpha is the activation's parameter (0 for ReLU), as given: backends round it to the buffer's dtype.
func (a Activation) Alpha() float64 { return a.alpha }

// Validate reports an unknown kind (ErrBadActivation) or a non-finite α (ErrBadAlpha). An α that is
// finite but too large for the buffers' dtype is refused when a pass runs, once the dtype is known.
func (a Activation) Validate() error {
	switch a.kind {
	case KindReLU:
		return nil
	case KindLeakyReLU, KindELU:
		if math.IsNaN(a.alpha) || math.IsInf(a.alpha, 0) {
			return fmt.Errorf("%w: %s needs a finite alpha, got %v", ErrBadAlpha, a.kind, a.alpha)
		}
		return nil
	}
	return fmt.Errorf("%w: kind %d is not relu, leakyrelu or elu (use the constructors; the zero Activation is invalid)", ErrBadActivation, uint8(a.kind))
}

// checkIn reports an α that is finite in float64 but not in dtype dt once rounded to it (|α| beyond
// math.MaxFloat32 on float32 buffers): ErrBadAlpha. Validate has already refused NaN and ±Inf.
func (a Activation) checkIn(dt DType) error {
	if a.kind == KindReLU || dt != Float32 {
		return nil
	}
	if r := float32(a.alpha); math.IsInf(float64(r), 0) {
		return fmt.Errorf("%w: %s alpha %v is not representable in %s (it rounds to %v; |alpha| must be at most %v)",
			ErrBadAlpha, a.kind, a.alpha, dt, r, float32(math.MaxFloat32))
	}
	return nil
}

// String formats a as ParseActivation reads it back: "relu", "leakyrelu:0.01", "elu:1".
func (a Activation) String() string {
	if a.kind == KindReLU || !a.kind.valid() {
		return a.kind.String()
	}
	return a.kind.String() + ":" + strconv.FormatFloat(a.alpha, 'g', -1, 64)
}

func (k Kind) valid() bool { return k >= KindReLU && k <= KindELU }

// ParseActivation reads "relu", "leakyrelu", "leakyrelu:0.2", "elu" or "elu:0.5" (case-insensitive;
// "leaky_relu" and "leaky" are accepted too). A missing α is the default.
func ParseActivation(s string) (Activation, error) {
	name, arg, hasArg := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	var k Kind
	switch name {
	case "relu":
		k = KindReLU
	case "leakyrelu", "leaky_relu", "leaky":
		k = KindLeakyReLU
	case "elu":
		k = KindELU
	default:
		return Activation{}, fmt.Errorf("%w: %q is not relu, leakyrelu[:alpha] or elu[:alpha]", ErrBadActivation, s)
	}
	a := k.Default()
	if hasArg {
		if k == KindReLU {
			return Activation{}, fmt.Errorf("%w: relu takes no alpha, got %q", ErrBadActivation, s)
		}
		v, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			return Activation{}, fmt.Errorf("%w: alpha in %q: %v", ErrBadAlpha, s, err)
		}
		a.alpha = v
	}
	return a, a.Validate()
}

// Pass is one of the three computations an activation offers.
type Pass uint8

// The passes of SPEC §1.
const (
	// Forward computes y = f(x).
	Forward Pass = iota + 1
	// BackwardFromInput computes dx = f'(x)·dy from the forward pass's input.
	BackwardFromInput
	// BackwardFromOutput computes dx = f'(x)·dy from the forward pass's output y (needs α ≥ 0).
	BackwardFromOutput
)

// Passes lists every Pass, in a stable order.
var Passes = []Pass{Forward, BackwardFromInput, BackwardFromOutput}

func (p Pass) String() string {
	switch p {
	case Forward:
		return "forward"
	case BackwardFromInput:
		return "backward-input"
	case BackwardFromOutput:
		return "backward-output"
	}
	return fmt.Sprintf("Pass(%d)", uint8(p))
}

// Arrays is how many arrays of n elements the pass moves through memory: forward reads x and writes y
// (2); backward reads dy and x or y and writes dx (3). Effective bandwidth counts these bytes.
func (p Pass) Arrays() int {
	if p == Forward {
		return 2
	}
	return 3
}

// argNames are the names of a pass's buffers in the order Backend methods take them: output first.
func (p Pass) argNames() [3]string {
	switch p {
	case Forward:
		return [3]string{"y", "x", ""}
	case BackwardFromInput:
		return [3]string{"dx", "dy", "x"}
	}
	return [3]string{"dx", "dy", "y"}
}

// Check reports whether pass p may run act: the activation must be valid, and BackwardFromOutput needs
// α ≥ 0, because with a negative α the sign of y no longer tells which branch x was on.
func (p Pass) Check(act Activation) error {
	if p < Forward || p > BackwardFromOutput {
		return fmt.Errorf("%w: pass %d", ErrBadActivation, uint8(p))
	}
	if err := act.Validate(); err != nil {
		return err
	}
	if p == BackwardFromOutput && act.kind != KindReLU && act.alpha < 0 {
		return fmt.Errorf("%w: %s backward from output needs alpha >= 0, got %v (use backward from input)", ErrNegativeAlpha, act.kind, act.alpha)
	}
	return nil
}
