package formula

import (
	"fmt"
	"strings"
)

// Pass is one of the three computations an activation offers.
type Pass uint8

// The passes of SEMANTICS §1.1.
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

// passInfo is each pass's name and the names of its buffers in the order Backend methods take them,
// output first.
var passInfo = [...]struct {
	name string
	args []string
}{
	Forward:            {"forward", []string{"y", "x"}},
	BackwardFromInput:  {"backward-input", []string{"dx", "dy", "x"}},
	BackwardFromOutput: {"backward-output", []string{"dx", "dy", "y"}},
}

func (p Pass) String() string {
	if p.Valid() {
		return passInfo[p].name
	}
	return fmt.Sprintf("Pass(%d)", uint8(p))
}

// Valid reports whether p is one of Passes.
func (p Pass) Valid() bool { return int(p) < len(passInfo) && passInfo[p].name != "" }

// Args names the pass's buffers in the order the Backend methods take them, output first: y, x for
// Forward; dx, dy, x or dx, dy, y for the backward passes. Nil for an invalid pass.
func (p Pass) Args() []string {
	if !p.Valid() {
		return nil
	}
	return passInfo[p].args
}

// Arrays is how many arrays of n elements the pass moves through memory: forward reads x and writes y
// (2); backward reads dy and x or y and writes dx (3). Effective bandwidth counts these bytes.
func (p Pass) Arrays() int { return len(p.Args()) }

// ParsePass reads a pass's name as String writes it ("forward", "backward-input", "backward-output";
// case-insensitive, "_" for "-"); "backward-from-input" and "backward-from-output" (PyTorch scripts'
// names) too.
func ParsePass(s string) (Pass, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-") {
	case "forward":
		return Forward, nil
	case "backward-input", "backward-from-input":
		return BackwardFromInput, nil
	case "backward-output", "backward-from-output":
		return BackwardFromOutput, nil
	}
	return 0, fmt.Errorf("%w: %q is not a pass (want forward, backward-input or backward-output)", ErrBadActivation, s)
}
