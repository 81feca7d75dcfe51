package formula

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind names an activation function.
type Kind uint8

// The activation functions of SEMANTICS §1.1.
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

// kindInfo is each kind's name, other names ParseActivation accepts, and its α when none is given,
// indexed by Kind (an array, not a map: passes read it on every call).
var kindInfo = [...]struct {
	name         string
	aliases      []string
	defaultAlpha float64
}{
	KindReLU:      {"relu", nil, 0},
	KindLeakyReLU: {"leakyrelu", []string{"leaky_relu", "leaky"}, DefaultLeakyReLUAlpha},
	KindELU:       {"elu", nil, DefaultELUAlpha},
}

func (k Kind) String() string {
	if k.Valid() {
		return kindInfo[k].name
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return int(k) < len(kindInfo) && kindInfo[k].name != "" }

// UsesAlpha reports whether k's formulas have a parameter α (ReLU's do not).
func (k Kind) UsesAlpha() bool { return k.Valid() && usesAlpha[k] }

// WithAlpha returns the activation of kind k with parameter alpha (ignored, and 0, for a kind without
// one). It is unchecked, like the constructors: a pass checks it (Check).
func (k Kind) WithAlpha(alpha float64) Activation {
	if !k.UsesAlpha() {
		alpha = 0
	}
	return Activation{kind: k, alpha: alpha}
}

// Default returns the activation of kind k with its default α.
func (k Kind) Default() Activation {
	if !k.Valid() {
		return Activation{kind: k}
	}
	return Activation{kind: k, alpha: kindInfo[k].defaultAlpha}
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
// be finite; negative α is allowed except for BackwardFromOutput. The check happens when a pass runs
// (Validate reports it earlier).
func LeakyReLU(alpha float64) Activation { return Activation{kind: KindLeakyReLU, alpha: alpha} }

// ELU is x for x > 0 and α·expm1(x) otherwise. PyTorch's default α is DefaultELUAlpha (1.0). α must be
// finite; negative α is allowed except for BackwardFromOutput.
func ELU(alpha float64) Activation { return Activation{kind: KindELU, alpha: alpha} }

// Kind is the activation function.
func (a Activation) Kind() Kind { return a.kind }

// Alpha is the activation's parameter (0 for ReLU), as given: backends round it to the buffer's dtype.
func (a Activation) Alpha() float64 { return a.alpha }

// Validate reports an unknown kind (ErrBadActivation) or a non-finite α (ErrBadAlpha).
func (a Activation) Validate() error {
	if !a.kind.Valid() {
		return fmt.Errorf("%w: kind %d is not one of %s (use the constructors; the zero Activation is invalid)", ErrBadActivation, uint8(a.kind), kindNames())
	}
	if a.kind.UsesAlpha() && (math.IsNaN(a.alpha) || math.IsInf(a.alpha, 0)) {
		return fmt.Errorf("%w: %s needs a finite alpha, got %v", ErrBadAlpha, a.kind, a.alpha)
	}
	return nil
}

// String formats a as ParseActivation reads it back: "relu", "leakyrelu:0.01", "elu:1".
func (a Activation) String() string {
	if !a.kind.UsesAlpha() {
		return a.kind.String()
	}
	return a.kind.String() + ":" + strconv.FormatFloat(a.alpha, 'g', -1, 64)
}

func kindNames() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.String()
	}
	return strings.Join(names, ", ")
}

// ParseActivation reads "relu", "leakyrelu", "leakyrelu:0.2", "elu" or "elu:0.5" (case-insensitive;
// "leaky_relu" and "leaky" are accepted too). A missing α is the default.
func ParseActivation(s string) (Activation, error) {
	name, arg, hasArg := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	var k Kind
	for _, kk := range Kinds {
		if name == kk.String() || containsString(kindInfo[kk].aliases, name) {
			k = kk
		}
	}
	if k == 0 {
		return Activation{}, fmt.Errorf("%w: %q is not relu, leakyrelu[:alpha] or elu[:alpha]", ErrBadActivation, s)
	}
	a := k.Default()
	if hasArg {
		if !k.UsesAlpha() {
			return Activation{}, fmt.Errorf("%w: %s takes no alpha, got %q", ErrBadActivation, k, s)
		}
		v, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			return Activation{}, fmt.Errorf("%w: alpha in %q: %v", ErrBadAlpha, s, err)
		}
		a.alpha = v
	}
	return a, a.Validate()
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
