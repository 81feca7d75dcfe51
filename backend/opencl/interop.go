package opencl

import (
	"errors"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/opencl/internal/cl"
)

// Interoperation with other OpenCL code in the same process (SEMANTICS §4.1, §5): a Backend uses the
// caller's cl_mem objects in place (WrapCLMem), hands out its own (CLMem), and queues its work on the
// caller's command queue (UseQueue). Handles are the driver's, as uintptr: a cl_mem, cl_context,
// cl_device_id or cl_command_queue from the same OpenCL library, which gpuact loads once per process.

// Context is the cl_context of the backend: a cl_mem to wrap (WrapCLMem) and a queue to use
// (UseQueue) must belong to it. It is shared by every Backend open on the same device and stays valid
// until the last of them is closed; gpuact releases it, so a caller who keeps it longer retains it.
func (b *Backend) Context() uintptr { return uintptr(b.program.ctx) }

// DeviceID is the cl_device_id of the backend's device, for creating a queue to give to UseQueue.
func (b *Backend) DeviceID() uintptr { return uintptr(b.program.dev.id) }

// WrapCLMem returns a buffer of n elements of dtype whose memory is the first n·size bytes of the
// caller's cl_mem mem, used in place: passes read and write it, with no copy. mem must be a buffer of
// the backend's context (Context), readable and writable by kernels, of at least n·dtype.Size() bytes.
// To wrap memory that starts inside a cl_mem, wrap a sub-buffer (clCreateSubBuffer, whose origin the
// device's CL_DEVICE_MEM_BASE_ADDR_ALIGN constrains), or wrap the whole cl_mem and Slice it.
//
// gpuact takes a reference to mem (clRetainMemObject) that Free or Close drops; the caller's own
// reference is never released, so the caller may release it as soon as WrapCLMem returns and the
// memory stays valid for gpuact until Free. Memory().Wrapped counts the buffer's bytes apart from InUse.
// The caller must not use the memory while gpuact's work on it may be running: queue that use behind
// gpuact's on the same in-order queue (UseQueue), or wait for it (Sync, Download).
//
// Misuse is refused before anything is retained, in this order: a closed backend (ErrClosed); a dtype
// the device lacks (ErrUnsupportedDType); n ≤ 0 or beyond 2^48 (ErrBadSize); a NULL mem
// (ErrNilBuffer); a cl_mem of another context (ErrForeignBuffer); a read-only or write-only cl_mem
// (ErrUnsupported); a cl_mem smaller than n elements of dtype (ErrBadSize); a handle the driver does not
// know (released by its owner, where the driver detects it: ErrFreed).
func (b *Backend) WrapCLMem(mem uintptr, dtype formula.DType, n int) (core.Buffer, error) {
	const op = "WrapCLMem"
	m := cl.Mem(mem)
	buf, err := b.owner.Adopt(op, dtype, n, func() (any, error) {
		if m == 0 {
			return nil, core.Errorf(core.ErrNilBuffer, b.info.Spec, op, "mem", "mem is NULL")
		}
		ctx, err := b.lib.MemUint(m, cl.MemContext)
		if err != nil {
			return nil, memError(b.info.Spec, op, err)
		}
		if cl.Context(ctx) != b.program.ctx {
			return nil, core.Errorf(core.ErrForeignBuffer, b.info.Spec, op, "mem", "the cl_mem belongs to context %#x, not to this backend's %#x", ctx, uintptr(b.program.ctx))
		}
		flags, err := b.lib.MemUint(m, cl.MemFlags)
		if err != nil {
			return nil, memError(b.info.Spec, op, err)
		}
		if flags&(cl.MemReadOnly|cl.MemWriteOnly) != 0 {
			return nil, core.Errorf(core.ErrUnsupported, b.info.Spec, op, "mem", "the cl_mem is read-only or write-only for kernels (flags %#x); gpuact's passes read and write their buffers", flags)
		}
		size, err := b.lib.MemUint(m, cl.MemSize)
		if err != nil {
			return nil, memError(b.info.Spec, op, err)
		}
		need := int64(n) * int64(dtype.Size())
		if size < uint64(need) {
			return nil, core.Errorf(core.ErrBadSize, b.info.Spec, op, "n", "%d %s elements need %d bytes; the cl_mem has %d", n, dtype, need, size)
		}
		if err := b.lib.RetainMem(m); err != nil {
			return nil, memError(b.info.Spec, op, err)
		}
		return &memory{h: m, size: need}, nil
	})
	if err != nil {
		return core.Buffer{}, b.wrap(op, err)
	}
	b.wmu.Lock()
	b.wrapped[buf.Alloc()] = m
	b.wmu.Unlock()
	return buf, nil
}

// memError is the error of a driver call about a caller's cl_mem: ErrFreed when the driver no longer
// knows the handle.
func memError(spec, op string, err error) error {
	if ce := (*cl.Error)(nil); errors.As(err, &ce) && ce.Code == cl.InvalidMemObject {
		return core.Errorf(core.ErrFreed, spec, op, "mem", "the driver does not know the cl_mem (released by its owner?): %w", err)
	}
	return err
}

// unwrap drops the reference WrapCLMem took to a's cl_mem, once: a is freed (Free returned), so no
// call uses it any more. Close drops the references of the allocations still wrapped.
func (b *Backend) unwrap(a *core.Alloc) error {
	b.wmu.Lock()
	m, ok := b.wrapped[a]
	delete(b.wrapped, a)
	b.wmu.Unlock()
	if !ok {
		return nil // freed before, or by Close
	}
	// The caller may reuse or release its memory as soon as Free returns: gpuact's queued work on it
	// must be done by then, so Free of a wrapped buffer waits for the queue first.
	return errors.Join(b.finish(), b.releaseMem(m))
}

// CLMem returns the cl_mem that buf views and the byte offset of buf's first element in it, for
// passing buf to other OpenCL code (as a kernel argument with the offset, or through a sub-buffer).
// The cl_mem is gpuact's (or, for a wrapped buffer, the caller's): the caller must not release it
// without retaining it first, and it stays valid until Free or Close of buf's allocation (after which
// gpuact may reuse it for another Alloc). A buffer of zero bytes has no cl_mem: its handle is 0.
// Errors: the zero Buffer (ErrNilBuffer), a buffer of another Backend (ErrForeignBuffer), a freed
// buffer (ErrFreed), a closed backend (ErrClosed).
func (b *Backend) CLMem(buf core.Buffer) (mem uintptr, offsetBytes int64, err error) {
	l, err := b.owner.BeginDeviceCopy(buf, buf) // the checks of a buffer argument, and the lease
	if err != nil {
		return 0, 0, b.wrap("CLMem", err)
	}
	defer l.End()
	return uintptr(handle(buf)), int64(byteOffset(buf)), nil
}

// UseQueue makes the backend queue its work (passes, Copy, Upload, Download, and Sync's wait) on the
// caller's command queue q instead of its own, so that gpuact's work and the caller's are ordered by
// that queue: a command the caller queues on q after a gpuact call returns runs after that call's work,
// and gpuact's work runs after the commands queued on q before it. q must be an in-order queue of the
// backend's context and device (an out-of-order queue would let a pass run before the Upload it reads,
// so it is refused with ErrUnsupported, as are a queue of another context or device). q = 0 returns to
// the backend's own queue.
//
// UseQueue waits for the work queued on the queue it leaves (clFinish), so nothing gpuact queued there
// can run out of order with what follows, and waits for running calls. gpuact retains q until the next
// UseQueue or Close; the caller keeps its own reference. Sync and Close wait for everything on q,
// the caller's commands too. TimeDevice needs a queue created with CL_QUEUE_PROFILING_ENABLE (the
// backend's own queue is); on one without it, it returns ErrDevice (CL_PROFILING_INFO_NOT_AVAILABLE).
func (b *Backend) UseQueue(q uintptr) (err error) {
	const op = "UseQueue"
	defer func() { err = b.wrap(op, err) }()
	l, err := b.owner.Begin(op)
	if err != nil {
		return err
	}
	defer l.End()
	next := cl.Queue(q)
	if next == 0 {
		next = b.ownQueue
	} else {
		if err := b.checkQueue(next); err != nil {
			return err
		}
		if err := b.lib.RetainQueue(next); err != nil {
			return err
		}
	}
	b.qmu.Lock()
	defer b.qmu.Unlock()
	prev := b.queue
	if err := b.lib.Finish(prev); err != nil {
		if next != b.ownQueue {
			err = errors.Join(err, b.lib.ReleaseQueue(next))
		}
		return err
	}
	b.queue = next
	if prev != b.ownQueue {
		return b.lib.ReleaseQueue(prev)
	}
	return nil
}

// checkQueue refuses a queue that gpuact cannot queue its work on.
func (b *Backend) checkQueue(q cl.Queue) error {
	const op = "UseQueue"
	ctx, err := b.lib.QueueUint(q, cl.QueueContext)
	if err != nil {
		return err
	}
	if cl.Context(ctx) != b.program.ctx {
		return core.Errorf(core.ErrUnsupported, b.info.Spec, op, "q", "the queue belongs to context %#x, not to this backend's %#x", ctx, uintptr(b.program.ctx))
	}
	dev, err := b.lib.QueueUint(q, cl.QueueDevice)
	if err != nil {
		return err
	}
	if cl.Device(dev) != b.program.dev.id {
		return core.Errorf(core.ErrUnsupported, b.info.Spec, op, "q", "the queue is for device %#x, not for this backend's %#x (%s)", dev, uintptr(b.program.dev.id), b.info.Name)
	}
	props, err := b.lib.QueueUint(q, cl.QueueProperties)
	if err != nil {
		return err
	}
	if props&cl.QueueOutOfOrder != 0 {
		return core.Errorf(core.ErrUnsupported, b.info.Spec, op, "q", "the queue is out of order (properties %#x): gpuact's commands depend on running in the order they are queued", props)
	}
	return nil
}

// Trim releases the cl_mem objects that freed buffers keep for reuse (Memory().Pooled).
func (b *Backend) Trim() error {
	l, err := b.owner.Begin("Trim")
	if err != nil {
		return err
	}
	defer l.End()
	return b.wrap("Trim", b.pool.trim())
}

var _ core.Trimmer = (*Backend)(nil)
