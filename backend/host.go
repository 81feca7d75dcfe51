package backend

import (
	"errors"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// HostOf returns the view of s that Backend.Upload and Backend.Download take.
func HostOf[T Elem](s []T) Host { return core.HostOf(s) }

// Upload copies src into dst (same length, dtype matching T).
func Upload[T Elem](b Backend, dst Buffer, src []T) error { return b.Upload(dst, core.HostOf(src)) }

// Download copies src into dst (same length, dtype matching T), after the work queued before it.
func Download[T Elem](b Backend, dst []T, src Buffer) error {
	return b.Download(core.HostOf(dst), src)
}

// FromSlice allocates a buffer of len(src) elements on b and copies src into it.
func FromSlice[T Elem](b Backend, src []T) (Buffer, error) {
	buf, err := b.Alloc(formula.DTypeOf[T](), len(src))
	if err != nil {
		return Buffer{}, err
	}
	if err := b.Upload(buf, core.HostOf(src)); err != nil {
		return Buffer{}, errors.Join(err, b.Free(buf))
	}
	return buf, nil
}

// ToSlice downloads src into a new slice. T must match src's dtype.
func ToSlice[T Elem](b Backend, src Buffer) ([]T, error) {
	if src.IsNil() {
		return nil, core.Errorf(ErrNilBuffer, b.Info().Spec, "ToSlice", "src", "src is the zero Buffer")
	}
	if want := formula.DTypeOf[T](); src.DType() != want {
		return nil, core.Errorf(ErrDTypeMismatch, b.Info().Spec, "ToSlice", "src", "src buffer is %s, the slice would be %s", src.DType(), want)
	}
	dst := make([]T, src.Len())
	if err := b.Download(core.HostOf(dst), src); err != nil {
		return nil, err
	}
	return dst, nil
}

// Run runs pass p of act on b: out is y or dx; in1 is x (Forward) or dy; in2 is x (BackwardFromInput),
// y (BackwardFromOutput) or unused (Forward). It is the table-driven form of the three Backend methods.
func Run(b Backend, p Pass, act Activation, out, in1, in2 Buffer) error {
	return core.Run(b, p, act, out, in1, in2)
}

// Wrap returns a buffer on b whose elements are s itself, with no copy: passes read and write s (the
// CPU backend; see core.HostWrapper). So activating data a program already holds, a gonum mat.Dense's
// RawMatrix().Data for instance, costs the pass alone:
//
//	h, _ := backend.Wrap(cpu, dense.RawMatrix().Data)
//	_ = cpu.Forward(backend.ReLU(), h, h) // in place, on gonum's memory
//	_ = cpu.Free(h)                       // gpuact stops using it; the slice stays the caller's
//
// The caller keeps s alive (the buffer holds a reference until Free) and does not read or write it
// while a call that uses the buffer runs (SEMANTICS §4.1). A backend that cannot use host memory in place
// (the GPU backends) returns ErrUnsupported: upload to a buffer of its own instead. An empty s gives
// ErrBadSize.
func Wrap[T Elem](b Backend, s []T) (Buffer, error) {
	w, ok := b.(core.HostWrapper)
	if !ok {
		return Buffer{}, core.Errorf(ErrUnsupported, b.Info().Spec, "Wrap", "s", "this backend cannot use host memory in place; upload it (FromSlice)")
	}
	return w.WrapHost(core.HostOf(s))
}

// Trim gives back the memory b keeps from freed buffers for reuse (Memory().Pooled), where b keeps any
// (core.Trimmer); elsewhere it does nothing.
func Trim(b Backend) error {
	if t, ok := b.(core.Trimmer); ok {
		return t.Trim()
	}
	return nil
}
