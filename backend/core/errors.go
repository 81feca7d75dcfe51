package core

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gpuact/gpuact/backend/formula"
)

// Sentinel errors, one per case of bad input in SEMANTICS §6.2. Every error a Backend returns is an *Error
// whose Kind is one of these (match with errors.Is), with a message that names the backend, the operation,
// the argument and the values involved.
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
	// ErrUnsupported: the backend cannot do what was asked (wrap host memory on a GPU backend, a device
	// pointer on the CPU backend).
	ErrUnsupported = errors.New("gpuact: not supported by this backend")
	// ErrBadSpec: a backend spec (GPUACT_BACKEND, Open's argument) that does not parse.
	ErrBadSpec = errors.New("gpuact: bad backend spec")
	// ErrDevice: the driver reported a failure not covered by the errors above; the message carries its
	// code and name (for example CUDA_ERROR_LAUNCH_FAILED or CL_OUT_OF_RESOURCES).
	ErrDevice = errors.New("gpuact: device error")
)

// kinds are the sentinels, in the order kindOf tries them: the specific ones before ErrDevice.
var kinds = []error{
	ErrLengthMismatch, ErrDTypeMismatch, ErrForeignBuffer, ErrFreed, ErrClosed, ErrNilBuffer, ErrBadSize,
	ErrOutOfRange, ErrOutOfMemory, ErrOverlap, ErrBadActivation, ErrBadAlpha, ErrNegativeAlpha,
	ErrUnsupportedDType, ErrUnsupported, ErrUnavailable, ErrBadSpec, ErrDevice,
}

// Error is the one shape of every error a backend returns: what kind of error it is (Kind, one of the
// sentinels above, matched by errors.Is), where it happened (the backend, the operation and the argument
// it concerns), and what happened (Err, which keeps the driver's own error where one reported it, for
// errors.As). Its message puts them in that order, always:
//
//	gpuact: length mismatch: cpu: forward x: y has 16 elements, x has 15
//	gpuact: out of memory: cuda:0: Alloc: 4294967296 bytes (1073741824 float32): cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory
type Error struct {
	Kind error
	// Backend is the spec of the backend ("cuda:0"), or the one asked for where none opened.
	Backend string
	// Op is what the caller called: a Backend method (Alloc, Upload, Sync ...), a pass by its name
	// (forward, backward-input, backward-output), Open or Slice.
	Op string
	// Arg names the argument the error concerns (x, dy, dst, alpha), if one does.
	Arg string
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	b.WriteString(": ")
	if e.Backend != "" {
		b.WriteString(e.Backend)
		b.WriteString(": ")
	}
	b.WriteString(e.Op)
	if e.Arg != "" {
		b.WriteString(" ")
		b.WriteString(e.Arg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap gives errors.Is the kind and errors.As the cause.
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// Errorf returns the *Error of kind about op on backend and its argument arg (empty for none); what
// happened is formatted as fmt.Errorf does, so a %w in format keeps its cause reachable.
func Errorf(kind error, backend, op, arg, format string, args ...any) error {
	return &Error{Kind: kind, Backend: backend, Op: op, Arg: arg, Err: fmt.Errorf(format, args...)}
}

// Wrap returns err as an *Error about op on backend. Its kind is the first sentinel err matches
// (ErrOutOfMemory for a driver's out-of-memory code, ErrUnavailable for no device), else ErrDevice: a
// failure the driver reported that no sentinel names. An err that is already an *Error, or nil, is
// returned as it is; the sentinel's own words are not repeated in the message.
func Wrap(backend, op string, err error) error {
	if err == nil {
		return nil
	}
	if e := (*Error)(nil); errors.As(err, &e) {
		return err
	}
	kind := ErrDevice
	for _, k := range kinds {
		if errors.Is(err, k) {
			kind = k
			break
		}
	}
	return &Error{Kind: kind, Backend: backend, Op: op, Err: withoutKind(kind, err)}
}

// withoutKind is err with its message's leading "<kind>: " dropped (the *Error prints the kind first);
// it unwraps to err, so nothing is lost to errors.Is and errors.As.
func withoutKind(kind, err error) error {
	msg, ok := strings.CutPrefix(err.Error(), kind.Error()+": ")
	if !ok {
		return err
	}
	return &trimmed{msg: msg, err: err}
}

type trimmed struct {
	msg string
	err error
}

func (t *trimmed) Error() string { return t.msg }
func (t *trimmed) Unwrap() error { return t.err }
