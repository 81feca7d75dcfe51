package cpu

import (
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

var _ core.HostWrapper = (*Backend)(nil)

// WrapHost returns a buffer whose elements are h's slice itself: passes read and write the caller's
// memory, with no copy in or out (activating a gonum mat.Dense's data in place costs the pass alone).
// The buffer holds a reference to the slice, so it stays alive until Free or Close; the caller must not
// touch the slice while a call that uses the buffer runs (SEMANTICS §4.1). Free and Close end gpuact's use of
// the slice and never release it. An empty slice is refused with ErrBadSize (nothing to wrap).
func (b *Backend) WrapHost(h core.Host) (core.Buffer, error) {
	return b.owner.Adopt("WrapHost", h.DType(), h.Len(), func() (any, error) {
		var data any
		switch h.DType() {
		case formula.Float32:
			data = h.Float32s()
		case formula.Float64:
			data = h.Float64s()
		case formula.Float16:
			data = h.Float16s()
		case formula.BFloat16:
			data = h.BFloat16s()
		default:
			return nil, unsupported("WrapHost", h.DType())
		}
		return &memory{data: data}, nil
	})
}
