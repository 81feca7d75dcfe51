package core

import (
	"unsafe"

	"github.com/gpuact/gpuact/backend/formula"
)

// Host is an untyped view of a Go slice of any element type (formula.Elem), the form in which host memory crosses the
// Backend interface (interfaces cannot have generic methods). Make one with HostOf; it keeps the slice
// alive. The zero Host is an empty view with no dtype.
type Host struct {
	ptr   unsafe.Pointer
	n     int
	dtype formula.DType
}

// HostOf returns a view of s.
func HostOf[T formula.Elem](s []T) Host {
	return Host{ptr: unsafe.Pointer(unsafe.SliceData(s)), n: len(s), dtype: formula.DTypeOf[T]()}
}

// Len is the number of elements in h.
func (h Host) Len() int { return h.n }

// DType is the element type of h.
func (h Host) DType() formula.DType { return h.dtype }

// Pointer is the address of h's first element (nil for an empty view of a nil slice), for backends that
// hand it to a driver. The memory is Go memory: keep h alive until the driver call returns.
func (h Host) Pointer() unsafe.Pointer { return h.ptr }

// Bytes is the size of h in bytes.
func (h Host) Bytes() int { return h.n * h.dtype.Size() }

// Float32s returns h as a []float32, or nil if h holds another dtype.
func (h Host) Float32s() []float32 {
	if h.dtype != formula.Float32 || h.ptr == nil {
		return nil
	}
	return unsafe.Slice((*float32)(h.ptr), h.n)
}

// Float64s returns h as a []float64, or nil if h holds another dtype.
func (h Host) Float64s() []float64 {
	if h.dtype != formula.Float64 || h.ptr == nil {
		return nil
	}
	return unsafe.Slice((*float64)(h.ptr), h.n)
}

// Float16s returns h as a []formula.F16, or nil if h holds another dtype.
func (h Host) Float16s() []formula.F16 {
	if h.dtype != formula.Float16 || h.ptr == nil {
		return nil
	}
	return unsafe.Slice((*formula.F16)(h.ptr), h.n)
}

// BFloat16s returns h as a []formula.BF16, or nil if h holds another dtype.
func (h Host) BFloat16s() []formula.BF16 {
	if h.dtype != formula.BFloat16 || h.ptr == nil {
		return nil
	}
	return unsafe.Slice((*formula.BF16)(h.ptr), h.n)
}
