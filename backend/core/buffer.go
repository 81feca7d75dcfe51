package core

import (
	"fmt"
	"sync"

	"github.com/gpuact/gpuact/backend/formula"
)

// Buffer is a view of n consecutive elements of one device allocation: a small value, cheap to copy, like
// a Go slice. Backend.Alloc returns a view of the whole allocation; Slice makes narrower views. The zero
// Buffer is nil: every call refuses it with ErrNilBuffer (and Free ignores it).
type Buffer struct {
	a   *Alloc
	off int
	n   int
}

// Len is the number of elements in b.
func (b Buffer) Len() int { return b.n }

// DType is b's element type (0 for the zero Buffer).
func (b Buffer) DType() formula.DType {
	if b.a == nil {
		return 0
	}
	return b.a.dtype
}

// IsNil reports whether b is the zero Buffer.
func (b Buffer) IsNil() bool { return b.a == nil }

// Offset is the index in b's allocation of b's first element.
func (b Buffer) Offset() int { return b.off }

// Bytes is the size of b in bytes.
func (b Buffer) Bytes() int64 { return int64(b.n) * int64(b.DType().Size()) }

// Slice returns the view of elements [lo, hi) of b, sharing b's memory, like b[lo:hi] for a Go slice.
// Bounds outside 0 ≤ lo ≤ hi ≤ b.Len() give ErrOutOfRange.
func (b Buffer) Slice(lo, hi int) (Buffer, error) {
	if b.a == nil {
		return Buffer{}, Errorf(ErrNilBuffer, "", "Slice", "", "Slice of the zero Buffer")
	}
	if lo < 0 || hi < lo || hi > b.n {
		return Buffer{}, Errorf(ErrOutOfRange, b.a.owner.spec, "Slice", "", "slice [%d:%d] of a buffer of %d elements", lo, hi, b.n)
	}
	return Buffer{a: b.a, off: b.off + lo, n: hi - lo}, nil
}

// Alloc is the allocation b views, for backend implementations (nil for the zero Buffer).
func (b Buffer) Alloc() *Alloc { return b.a }

func (b Buffer) String() string {
	if b.a == nil {
		return "Buffer(nil)"
	}
	return fmt.Sprintf("Buffer(%s %s [%d:%d] of #%d)", b.a.owner.spec, b.a.dtype, b.off, b.off+b.n, b.a.id)
}

// Alloc is one device allocation, shared by every Buffer sliced from it. Backends create it through
// Owner.Alloc and keep their own handle (device pointer, cl_mem, Go slice) in it.
type Alloc struct {
	owner *Owner
	id    uint64 // orders lock acquisition, so calls on the same buffers cannot deadlock
	dtype formula.DType
	n     int

	// mu is held for reading by every call that uses the memory and for writing by Free, so memory is
	// never released under a running call. ranges excludes calls by the elements they write and read.
	mu     sync.RWMutex
	ranges rangeLock
	freed  bool
	mem    any
	// external memory is the caller's (Owner.Adopt): Free forgets it, never frees it.
	external bool
}

// Mem is the backend's handle, as returned by the function given to Owner.Alloc. Backends read it while
// they hold a Lease that covers the allocation.
func (a *Alloc) Mem() any { return a.mem }

// Len is the allocation's size in elements.
func (a *Alloc) Len() int { return a.n }

// DType is the allocation's element type.
func (a *Alloc) DType() formula.DType { return a.dtype }

func (a *Alloc) bytes() int64 { return int64(a.n) * int64(a.dtype.Size()) }

// External reports whether the allocation is memory gpuact uses but does not own (Owner.Adopt).
func (a *Alloc) External() bool { return a.external }
