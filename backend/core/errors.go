package core

import (
	"errors"

	"github.com/gpuact/gpuact/backend/formula"
)

// Sentinel errors, one per case of bad input in SEMANTICS §6.2. Every error a Backend returns wraps one of these
// (match with errors.Is) and adds a message that names the argument and the values involved.
var (
	// ErrLengthMismatch: the buffers (or a buffer and a host slice) of one call have different lengths.
	ErrLengthMismatch = errors.New("gpuact: length mismatch")
	// ErrDTypeMismatch: the buffers (or a buffer and a host slice) of one call have different dtypes.
	ErrDTypeMismatch = errors.New("gpuact: dtype mismatch")
	// ErrForeignBuffer: a buffer was allocated by another Backend value (another device or backend).
	ErrForeignBuffer = errors.New("gpuact: buffer belongs to another backend")
	// ErrFreed: a buffer was used after Free (or after Close of its backend).
	ErrFreed = errors.New("gpuact: buffer already freed")
	// ErrClosed: the Backend was closed.
	ErrClosed = errors.New("gpuact: backend closed")
	// ErrNilBuffer: a zero Buffer was passed where a buffer is needed.
	ErrNilBuffer = errors.New("gpuact: nil buffer")
	// ErrBadSize: a negative size, or one whose byte count overflows.
	ErrBadSize = errors.New("gpuact: bad size")
	// ErrOutOfRange: Slice bounds outside the buffer.
	ErrOutOfRange = errors.New("gpuact: slice bounds out of range")
	// ErrOutOfMemory: the device cannot hold the allocation. The backend stays usable.
	ErrOutOfMemory = errors.New("gpuact: out of memory")
	// ErrOverlap: an output partially overlaps an input. An output may be exactly an input (in place).
	ErrOverlap = errors.New("gpuact: buffers overlap")
	// The four errors of activations, passes and dtypes are package formula's, where they are found;
	// they are the same values here.

	// ErrBadActivation: the zero Activation, an unknown kind or pass, or an unparsable activation name.
	ErrBadActivation = formula.ErrBadActivation
	// ErrBadAlpha: α is NaN or ±Inf, or beyond the range of the buffers' dtype once rounded to it
	// (|α| > math.MaxFloat32 on float32).
	ErrBadAlpha = formula.ErrBadAlpha
	// ErrNegativeAlpha: BackwardFromOutput with α < 0, where y no longer tells which branch x took.
	ErrNegativeAlpha = formula.ErrNegativeAlpha
	// ErrUnsupportedDType: the device lacks the dtype (float64 without cl_khr_fp64), or the dtype is invalid.
	ErrUnsupportedDType = formula.ErrUnsupportedDType
	// ErrUnavailable: the backend or device cannot be used here (no driver, no device, failed start).
	ErrUnavailable = errors.New("gpuact: backend unavailable")
	// ErrBadSpec: a backend spec (GPUACT_BACKEND, Open's argument) that does not parse.
	ErrBadSpec = errors.New("gpuact: bad backend spec")
	// ErrDevice: the driver reported a failure not covered by the errors above; the message carries its
	// code and name (for example CUDA_ERROR_LAUNCH_FAILED or CL_OUT_OF_RESOURCES).
	ErrDevice = errors.New("gpuact: device error")
)
