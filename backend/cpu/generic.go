package cpu

import "github.com/gpuact/gpuact/backend/formula"

// runGeneric applies the oracle's function of kernel (a formula.Row's Kernel) to every element: out[i] =
// f(a[i]) for the forward kernels, out[i] = f(a[i], b[i]) with a = dy for the backward ones. It is the
// portable path and the loop every other implementation falls back on; the switch sits outside the
// loops so each loop inlines its element function. It reports false, doing nothing, for a kernel it does
// not know.
func runGeneric[T formula.Float](kernel string, alpha T, out, a, b []T) bool {
	a = a[:len(out)]
	switch kernel {
	case "relu_fwd":
		for i, x := range a {
			out[i] = formula.ReLUForward(x)
		}
	case "leaky_fwd":
		for i, x := range a {
			out[i] = formula.LeakyReLUForward(alpha, x)
		}
	case "elu_fwd":
		for i, x := range a {
			out[i] = formula.ELUForward(alpha, x)
		}
	case "relu_bwd":
		b = b[:len(out)]
		for i, dy := range a {
			out[i] = formula.ReLUBackward(dy, b[i])
		}
	case "leaky_bwd":
		b = b[:len(out)]
		for i, dy := range a {
			out[i] = formula.LeakyReLUBackward(alpha, dy, b[i])
		}
	case "elu_bwd_in":
		b = b[:len(out)]
		for i, dy := range a {
			out[i] = formula.ELUBackwardFromInput(alpha, dy, b[i])
		}
	case "elu_bwd_out":
		b = b[:len(out)]
		for i, dy := range a {
			out[i] = formula.ELUBackwardFromOutput(alpha, dy, b[i])
		}
	default:
		return false
	}
	return true
}

// hasKernel reports whether this package computes kernel: the plain Go loops, which every
// implementation falls back on, have it.
func hasKernel(kernel string) bool { return runGeneric[float64](kernel, 0, nil, nil, nil) }

// expKernel reports whether kernel evaluates exp or expm1 (ELU forward and backward from input): the
// costly ones, whose SIMD forms hold only for some α (see kernelAlphaOK).
func expKernel(kernel string) bool { return kernel == "elu_fwd" || kernel == "elu_bwd_in" }
