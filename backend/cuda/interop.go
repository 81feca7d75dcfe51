package cuda

import (
	"fmt"
	"runtime"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
	"github.com/gpuact/gpuact/backend/formula"
)

// Interop with other CUDA code in the process (SEMANTICS §4.1): gpuact works in the device's primary
// context, the one the runtime API (cudaMalloc, PyTorch, cuBLAS) uses, so their device pointers and
// gpuact's are addresses of one address space and may be handed either way.

// WrapDevicePtr returns a buffer of n elements of dtype at device address ptr, memory that another
// library allocated on this backend's device (cudaMalloc, cuMemAlloc, a tensor's data pointer). gpuact
// uses it in place and never frees it: Free and Close end gpuact's use of it, after the work gpuact
// queued on it has finished, so the owner may free or reuse it once Free returns. Until then the owner
// must keep it allocated and must not write it while gpuact's queued work reads or writes it.
//
// The driver is asked about ptr (cuPointerGetAttribute): a ptr of 0 is ErrNilBuffer, n ≤ 0 ErrBadSize,
// a ptr the driver does not know as device memory, or memory of another device or context,
// ErrForeignBuffer; n elements that run past the end of the allocation holding ptr ErrOutOfRange; a ptr
// not aligned to dtype's size ErrUnsupported (the kernels load whole elements). Memory.Wrapped counts
// wrapped bytes apart from InUse.
func (b *Backend) WrapDevicePtr(ptr uint64, dtype formula.DType, n int) (core.Buffer, error) {
	const op = "WrapDevicePtr"
	spec := b.owner.Spec()
	if ptr == 0 {
		return core.Buffer{}, core.Errorf(core.ErrNilBuffer, spec, op, "ptr", "device pointer 0")
	}
	buf, err := b.owner.Adopt(op, dtype, n, func() (any, error) {
		if size := uint64(dtype.Size()); ptr%size != 0 {
			return nil, core.Errorf(core.ErrUnsupported, spec, op, "ptr", "%#x is not aligned to its %d-byte %s elements", ptr, size, dtype)
		}
		if err := b.enter(); err != nil {
			return nil, err
		}
		defer runtime.UnlockOSThread()
		if err := b.checkDevicePtr(op, ptr, uint64(n)*uint64(dtype.Size())); err != nil {
			return nil, err
		}
		return cu.DevPtr(ptr), nil
	})
	return buf, b.wrap(op, err)
}

// checkDevicePtr checks that [ptr, ptr+bytes) is device memory of this backend's device and context,
// inside one allocation (the context current).
func (b *Backend) checkDevicePtr(op string, ptr, bytes uint64) error {
	spec, d, p := b.owner.Spec(), b.drv, cu.DevPtr(ptr)
	ord, err := d.PointerAttribute(cu.PointerAttrDeviceOrdinal, p)
	if cu.IsCode(err, cu.ErrorInvalidValue) {
		return core.Errorf(core.ErrForeignBuffer, spec, op, "ptr", "%#x is not device memory the CUDA driver knows: %w", ptr, err)
	}
	if err != nil {
		return err
	}
	if int(ord) != b.ordinal {
		return core.Errorf(core.ErrForeignBuffer, spec, op, "ptr", "%#x is memory of device %d, not of this backend's device %d", ptr, ord, b.ordinal)
	}
	// Memory no context owns (virtual memory management, some pools) reports context 0: it is usable
	// from any context of its device.
	ctx, err := d.PointerAttribute(cu.PointerAttrContext, p)
	if err != nil {
		return err
	}
	if ctx != 0 && cu.Context(ctx) != b.ctx {
		return core.Errorf(core.ErrForeignBuffer, spec, op, "ptr", "%#x is memory of another CUDA context (%#x), not of device %d's primary context", ptr, ctx, b.ordinal)
	}
	start, err := d.PointerAttribute(cu.PointerAttrRangeStart, p)
	if err != nil {
		return err
	}
	size, err := d.PointerAttribute(cu.PointerAttrRangeSize, p)
	if err != nil {
		return err
	}
	if ptr < start || bytes > size-(ptr-start) {
		return core.Errorf(core.ErrOutOfRange, spec, op, "n", "%d bytes at %#x run past the end of its allocation [%#x, +%d)", bytes, ptr, start, size)
	}
	return nil
}

// DevicePtr returns the device address of buf's first element, for other CUDA code: a kernel of its own,
// cuBLAS, a framework's tensor. The memory stays gpuact's: the address is valid until buf's allocation
// is freed, and work of others on it must be ordered after gpuact's (Sync, or UseStream with their
// stream) and finish before gpuact's next call on it. A slice's address is its allocation's plus its
// offset times the element size; a buffer of 0 elements that Alloc made has address 0.
func (b *Backend) DevicePtr(buf core.Buffer) (uint64, error) {
	if err := b.owner.Check("DevicePtr", "buf", buf); err != nil {
		return 0, b.wrap("DevicePtr", err)
	}
	return ptr(buf), nil
}

// UseStream makes gpuact queue its work on s, a CUstream of the caller's (cudaStream_t is the same
// handle) created in this device's primary context, instead of on its own stream; s = 0 returns to the
// backend's own stream. It waits for the running calls and for the work already queued on the stream in
// use, then checks s by waiting for it too; an error of the earlier work is kept for the next
// synchronising call, and a bad s is an error, leaving the stream as it was.
//
// The ordering rules (SEMANTICS §4.1): from then on every pass, Upload and Copy is queued on s in call
// order, after whatever the caller queued there before the call and before what it queues after the
// call returns, so the caller's kernels on s may read gpuact's results and feed its inputs without a
// Sync. Download, Sync and TimeDevice synchronise s (waiting for the caller's work on it too); Free
// waits for s before it frees. The caller must not destroy s while the backend uses it: call
// UseStream(0) (or Close) first. Work that the caller queues on other streams is not ordered with
// gpuact's: order it with events, or Sync.
func (b *Backend) UseStream(s uintptr) error {
	const op = "UseStream"
	return b.wrap(op, b.owner.Exclusive(op, func() error {
		if err := b.enter(); err != nil {
			return err
		}
		defer runtime.UnlockOSThread()
		next := cu.Stream(s)
		if next == 0 {
			next = b.own
		}
		if next == b.stream {
			return nil
		}
		if next != b.own {
			if err := b.drv.StreamSynchronize(next); err != nil {
				return fmt.Errorf("stream %#x (a stream of device %d's primary context?): %w", s, b.ordinal, err)
			}
		}
		b.keepAsyncErr(b.drv.StreamSynchronize(b.stream))
		b.stream = next
		return nil
	}))
}

// Stream is the CUstream gpuact queues its work on: the caller's after UseStream, else the backend's
// own (0 once closed).
func (b *Backend) Stream() uintptr {
	l, err := b.owner.Begin("Stream")
	if err != nil {
		return 0
	}
	defer l.End()
	return uintptr(b.stream)
}
