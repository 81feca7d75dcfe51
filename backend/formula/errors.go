package formula

import "errors"

// The sentinel errors of bad activations, passes and dtypes. Package core re-exports them beside its
// others; every error gpuact returns for these cases wraps one of them (match with errors.Is).
var (
	// ErrBadActivation: the zero Activation, an unknown kind or pass, a (kind, pass) without a formula,
	// or an unparsable activation or pass name.
	ErrBadActivation = errors.New("gpuact: bad activation")
	// ErrBadAlpha: α is NaN or ±Inf, or not finite once rounded to the buffer's dtype (SEMANTICS §1.3).
	ErrBadAlpha = errors.New("gpuact: bad alpha")
	// ErrNegativeAlpha: BackwardFromOutput with α < 0, where y no longer tells which branch x took.
	ErrNegativeAlpha = errors.New("gpuact: backward from output needs alpha >= 0")
	// ErrUnsupportedDType: the device lacks the dtype (float64 without cl_khr_fp64), or the dtype is
	// invalid or unknown.
	ErrUnsupportedDType = errors.New("gpuact: dtype not supported by the device")
)
