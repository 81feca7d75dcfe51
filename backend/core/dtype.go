package core

import (
	"fmt"
	"unsafe"
)

// DType is the element type of a buffer.
type DType uint8

// The element types gpuact computes in.
const (
	Float32 DType = iota + 1
	Float64
)

// DTypes lists every DType, in a stable order for loops in tests and benchmarks.
var DTypes = []DType{Float32, Float64}

// Size is the size of one element in bytes (0 for an invalid DType).
func (d DType) Size() int {
	switch d {
	case Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

// Valid reports whether d is Float32 or Float64.
func (d DType) Valid() bool { return d == Float32 || d == Float64 }

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Float is the set of Go element types a buffer can hold.
type Float interface{ float32 | float64 }

// DTypeOf returns the DType that holds Go values of type T.
func DTypeOf[T Float]() DType {
	var z T
	if unsafe.Sizeof(z) == 4 {
		return Float32
	}
	return Float64
}

// Host is an untyped view of a Go slice of float32 or float64, the form in which host memory crosses the
// Backend interface (interfaces cannot have generic methods). Make one with HostOf; it keeps the slice
// alive. The zero Host is an empty view with no dtype.
type Host struct {
	ptr   unsafe.Pointer
	n     int
	dtype DType
}

// HostOf returns a view of s.
func HostOf[T Float](s []T) Host {
	return Host{ptr: unsafe.Pointer(unsafe.SliceData(s)), n: len(s), dtype: DTypeOf[T]()}
}

// Len is the number of elements in h.
func (h Host) Len() int { return h.n }

// DType is the element type of h.
func (h Host) DType() DType { return h.dtype }

// Pointer is the address of h's first element (nil for an empty view of a nil slice), for backends that
// hand it to a driver. The memory is Go memory: keep h alive until the driver call returns.
func (h Host) Pointer() unsafe.Pointer { return h.ptr }

// Bytes is the size of h in bytes.
func (h Host) Bytes() int { return h.n * h.dtype.Size() }

// Float32s returns h as a []float32, or nil if h holds float64.
func (h Host) Float32s() []float32 {
	if h.dtype != Float32 || h.ptr == nil {
		return nil
	}
	return unsafe.Slice((*float32)(h.ptr), h.n)
}

// Float64s returns h as a []float64, or nil if h holds float32.
func (h Host) Float64s() []float64 {
	if h.dtype != Float64 || h.ptr == nil {
		return nil
	}
	return unsafe.Slice((*float64)(h.ptr), h.n)
}
