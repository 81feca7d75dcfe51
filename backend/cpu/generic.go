package cpu

import "github.com/gpuact/gpuact/backend/core"

// runGeneric applies the reference function of pass p and kind k to every element: out[i] = f(a[i]) for
// Forward, out[i] = f(a[i], b[i]) with a = dy for the backward passes. It is the portable path and the
// oracle's loop; the switch sits outside the loops so each loop inlines its element function.
func runGeneric[T core.Float](p core.Pass, k core.Kind, alpha T, out, a, b []T) {
	a = a[:len(out)]
	if p == core.Forward {
		switch k {
		case core.KindReLU:
			for i, x := range a {
				out[i] = ReLU(x)
			}
		case core.KindLeakyReLU:
			for i, x := range a {
				out[i] = LeakyReLU(alpha, x)
			}
		case core.KindELU:
			for i, x := range a {
				out[i] = ELU(alpha, x)
			}
		}
		return
	}
	b = b[:len(out)]
	switch k {
	case core.KindReLU:
		for i, dy := range a {
			out[i] = ReLUBackward(dy, b[i])
		}
	case core.KindLeakyReLU:
		for i, dy := range a {
			out[i] = LeakyReLUBackward(alpha, dy, b[i])
		}
	case core.KindELU:
		if p == core.BackwardFromInput {
			for i, dy := range a {
				out[i] = ELUBackwardFromInput(alpha, dy, b[i])
			}
		} else {
			for i, dy := range a {
				out[i] = ELUBackwardFromOutput(alpha, dy, b[i])
			}
		}
	}
}
