// Package opencl is gpuact's backend for GPUs and other devices through OpenCL 1.2, loaded at run
// time: nothing is linked at build time, and a machine without OpenCL lists the backend as
// unavailable with the reason.
//
// The OpenCL library is the system's ICD loader (libOpenCL.so.1, then libOpenCL.so; OpenCL.dll; the
// macOS framework), or the one GPUACT_OPENCL_LIBRARY names. Devices are "opencl:P:D", device D of
// platform P in the loader's order. The kernels are kernels/activations.cl, built once per device
// (shared by every Backend open on it: deviceProgram) with the vector width and launch shape chosen for
// the device type: see launchGeometry.
//
// A Backend owns one in-order command queue. Passes, Copy and Upload's write are queued and return
// at once (Upload's write is blocking, so the caller's memory is read before it returns); Download
// and Sync wait for the queue, and report errors of the work before them.
//
// Interop (SEMANTICS §4.1, §5): WrapCLMem uses a caller's cl_mem in place, CLMem exposes a buffer's
// cl_mem and byte offset, Context and DeviceID give the handles to create them with, and UseQueue puts
// gpuact's work on a caller's in-order queue, ordered with the caller's commands there. Freed buffers
// are kept for reuse by size in bytes (Memory().Pooled; Trim and Close release them).
package opencl

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
	"unsafe"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/opencl/internal/cl"
)

// Backend runs the activations on one OpenCL device. It is safe for concurrent use.
type Backend struct {
	owner   *core.Owner
	info    core.Info
	program *deviceProgram // the context and built kernels, shared with the other Backends on the device
	lib     *cl.Lib
	pool    *pool // freed buffers kept for reuse (pool.go)

	// qmu guards queue: held for reading while a call queues work on it, for writing by UseQueue,
	// which switches it. queue is ownQueue (created by Open, released by Close) or a caller's queue
	// that UseQueue retained.
	qmu      sync.RWMutex
	queue    cl.Queue
	ownQueue cl.Queue

	// wrapped holds the cl_mem objects of the wrapped allocations (WrapCLMem), each with the one
	// reference gpuact took, dropped by Free or Close.
	wmu     sync.Mutex
	wrapped map[*core.Alloc]cl.Mem

	// mu serialises what touches the kernel objects and the recordings: setting a kernel's arguments
	// and queueing it must not interleave with another launch of that kernel, and a command's event
	// goes to every recording active when it was queued.
	mu      sync.Mutex
	kernels map[string]*kernel
	// recs are the recordings of the TimeDevice calls in progress (see TimeDevice).
	recs map[*recording]struct{}
}

// recording is one TimeDevice call's window: the events of the commands queued while it is active.
// Each event is held once per recording that has it (retained for every recording after the first),
// and released by whoever removes the recording from Backend.recs: the TimeDevice call, or Close.
type recording struct {
	events []cl.Event
	err    error // a command could not be added (clRetainEvent failed): the window is incomplete
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Timer   = (*Backend)(nil)
)

// memory is what a Buffer's allocation holds: its cl_mem (0 for an allocation of zero bytes, which
// OpenCL cannot create) and the cl_mem's size in bytes, the pool's size class.
type memory struct {
	h    cl.Mem
	size int64
}

// noMemory is the handle of every allocation of zero bytes.
var noMemory = &memory{}

// open opens dev with the launch geometry of its type.
func open(l *cl.Lib, dev *deviceInfo) (*Backend, error) { return openWith(l, dev, chooseGeometry(dev)) }

// openWith opens dev with the kernels built and launched for geometry.
func openWith(l *cl.Lib, dev *deviceInfo, geometry launchGeometry) (*Backend, error) {
	program, err := acquireProgram(l, dev, geometry)
	if err != nil {
		return nil, core.Errorf(core.ErrUnavailable, dev.spec, "Open", "", "%s: %w", dev.name, err)
	}
	q, err := l.CreateQueue(program.ctx, dev.id, true)
	if err != nil {
		program.release()
		return nil, core.Errorf(core.ErrUnavailable, dev.spec, "Open", "", "%s: %w", dev.name, err)
	}
	b := &Backend{program: program, lib: l, queue: q, ownQueue: q, wrapped: map[*core.Alloc]cl.Mem{},
		kernels: map[string]*kernel{}, recs: map[*recording]struct{}{}}
	p := newPool(b.releaseMem, defaultPoolMax(dev.memory))
	b.pool = p
	b.owner = core.NewOwner(dev.spec, dev.dtypes(), func(m any) error {
		if m := m.(*memory); m.h != 0 {
			return p.put(m.h, m.size)
		}
		return nil
	})
	details := map[string]string{}
	for k, v := range dev.details {
		details[k] = v
	}
	if g := program.geometry; g.chunked {
		details[core.DetailPath] = fmt.Sprintf("activations.cl, vectors of %d floats / %d doubles / %d halves or bfloat16s, a contiguous chunk per work-item", g.vwFloat, g.vwDouble, g.vwFloat)
	} else {
		details[core.DetailPath] = fmt.Sprintf("activations.cl, vectors of %d floats / %d doubles / %d halves or bfloat16s, grid-stride loop, work-groups of %d", g.vwFloat, g.vwDouble, g.vwFloat, g.local)
	}
	if program.buildLog != "" {
		details["build log"] = program.buildLog // compiler warnings
	}
	b.info = core.Info{
		Spec:         dev.spec,
		Platform:     core.PlatformOpenCL,
		Type:         dev.typ,
		Name:         dev.name,
		Vendor:       dev.vendor,
		Driver:       dev.driver,
		Memory:       dev.memory,
		ComputeUnits: dev.units,
		DTypes:       dev.dtypes(),
		Denormals:    dev.denormals,
		Details:      details,
	}
	return b, nil
}

// Info describes the device.
func (b *Backend) Info() core.Info { return b.info.Clone() }

// Alloc allocates a device buffer, reusing a freed one of the same size in bytes when the pool has
// one (see Trim). Sizes beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE or the device's memory give ErrOutOfMemory
// without asking the driver (which may allocate lazily and fail only at first use). When the driver is
// out of memory, the pool is given back and the allocation tried once more.
func (b *Backend) Alloc(dtype formula.DType, n int) (core.Buffer, error) {
	buf, err := b.owner.Alloc(dtype, n, func(bytes int64) (any, error) {
		if bytes == 0 {
			return noMemory, nil
		}
		if m := b.pool.get(bytes); m != 0 {
			return &memory{h: m, size: bytes}, nil
		}
		dev := b.program.dev
		if bytes > dev.maxAlloc || bytes > dev.memory {
			return nil, core.Errorf(core.ErrOutOfMemory, dev.spec, "Alloc", "", "%d bytes (%d %s): the device allows %d bytes per buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE) and has %d",
				bytes, n, dtype, dev.maxAlloc, dev.memory)
		}
		m, err := b.lib.CreateBuffer(b.program.ctx, uintptr(bytes))
		if ce := (*cl.Error)(nil); errors.As(err, &ce) && ce.OutOfMemory() && b.pool.pooled() > 0 {
			if err := b.pool.trim(); err != nil {
				return nil, err
			}
			m, err = b.lib.CreateBuffer(b.program.ctx, uintptr(bytes))
		}
		if err != nil {
			if ce := (*cl.Error)(nil); errors.As(err, &ce) && ce.OutOfMemory() {
				return nil, core.Errorf(core.ErrOutOfMemory, dev.spec, "Alloc", "", "%d bytes (%d %s): %w", bytes, n, dtype, err)
			}
			return nil, fmt.Errorf("%d bytes (%d %s): %w", bytes, n, dtype, err)
		}
		return &memory{h: m, size: bytes}, nil
	})
	return buf, b.wrap("Alloc", err)
}

// wrap gives a driver's error the shape of every gpuact error (core.Error): its kind, this backend, the
// operation. Errors that already have it (the argument checks') pass unchanged.
func (b *Backend) wrap(op string, err error) error { return core.Wrap(b.info.Spec, op, err) }

// Free releases buf's allocation: it keeps the cl_mem for reuse by the next Alloc of its size (see
// Trim), or releases it when the pool is full. OpenCL keeps the memory until the commands queued on it
// finish. On a wrapped buffer (WrapCLMem) Free drops only the reference gpuact took.
func (b *Backend) Free(buf core.Buffer) error {
	err := b.owner.Free(buf)
	if err == nil && buf.Alloc() != nil && buf.Alloc().External() {
		err = b.unwrap(buf.Alloc())
	}
	return b.wrap("Free", err)
}

func handle(buf core.Buffer) cl.Mem { return buf.Alloc().Mem().(*memory).h }

// withQueue runs f on the queue gpuact's work goes to, which UseQueue cannot switch meanwhile.
func (b *Backend) withQueue(f func(q cl.Queue) error) error {
	b.qmu.RLock()
	defer b.qmu.RUnlock()
	return f(b.queue)
}

func byteOffset(buf core.Buffer) uintptr { return uintptr(buf.Offset()) * uintptr(buf.DType().Size()) }

// Upload copies src into dst. The write is blocking: it is queued behind the work already queued and
// has read src when Upload returns.
func (b *Backend) Upload(dst core.Buffer, src core.Host) (err error) {
	defer func() { err = b.wrap("Upload", err) }()
	l, err := b.owner.BeginCopy(dst, src, true)
	if err != nil {
		return err
	}
	defer l.End()
	if l.N == 0 {
		return nil
	}
	return b.withQueue(func(q cl.Queue) error {
		return b.enqueue(func(ev *cl.Event) error {
			return b.lib.Write(q, handle(dst), true, byteOffset(dst), uintptr(src.Bytes()), src.Pointer(), ev)
		})
	})
}

// Download copies src into dst once the work queued before it has finished: a synchronising call.
func (b *Backend) Download(dst core.Host, src core.Buffer) (err error) {
	defer func() { err = b.wrap("Download", err) }()
	l, err := b.owner.BeginCopy(src, dst, false)
	if err != nil {
		return err
	}
	defer l.End()
	if l.N == 0 {
		return b.finish()
	}
	return b.withQueue(func(q cl.Queue) error {
		return b.enqueue(func(ev *cl.Event) error {
			return b.lib.Read(q, handle(src), true, byteOffset(src), uintptr(dst.Bytes()), dst.Pointer(), ev)
		})
	})
}

// Copy queues clEnqueueCopyBuffer from src to dst.
func (b *Backend) Copy(dst, src core.Buffer) (err error) {
	defer func() { err = b.wrap("Copy", err) }()
	l, err := b.owner.BeginDeviceCopy(dst, src)
	if err != nil {
		return err
	}
	defer l.End()
	if l.N == 0 || (dst.Alloc() == src.Alloc() && dst.Offset() == src.Offset()) {
		return nil // a copy onto itself, which OpenCL refuses as an overlap, changes nothing
	}
	return b.withQueue(func(q cl.Queue) error {
		return b.enqueue(func(ev *cl.Event) error {
			return b.lib.Copy(q, handle(src), handle(dst), byteOffset(src), byteOffset(dst), uintptr(src.Bytes()), ev)
		})
	})
}

// Forward computes y = f(x).
func (b *Backend) Forward(act formula.Activation, y, x core.Buffer) error {
	return b.wrap(formula.Forward.String(), b.run(formula.Forward, act, y, x, core.Buffer{}))
}

// BackwardFromInput computes dx = f'(x)·dy.
func (b *Backend) BackwardFromInput(act formula.Activation, dx, dy, x core.Buffer) error {
	return b.wrap(formula.BackwardFromInput.String(), b.run(formula.BackwardFromInput, act, dx, dy, x))
}

// BackwardFromOutput computes dx = f'(x)·dy from y = f(x).
func (b *Backend) BackwardFromOutput(act formula.Activation, dx, dy, y core.Buffer) error {
	return b.wrap(formula.BackwardFromOutput.String(), b.run(formula.BackwardFromOutput, act, dx, dy, y))
}

// Sync waits for every queued command and reports the first error of asynchronous work.
func (b *Backend) Sync() error {
	l, err := b.owner.Begin("Sync")
	if err != nil {
		return err
	}
	defer l.End()
	return b.wrap("Sync", b.finish())
}

func (b *Backend) finish() error { return b.withQueue(b.lib.Finish) }

// Memory reports the device's global memory, its free memory where the driver tells it (AMD's
// cl_amd_device_attribute_query; 0 elsewhere), and this backend's buffers.
func (b *Backend) Memory() (core.MemoryStats, error) {
	l, err := b.owner.Begin("Memory")
	if err != nil {
		return core.MemoryStats{}, err
	}
	defer l.End()
	inUse, n := b.owner.Stats()
	st := core.MemoryStats{Total: b.info.Memory, InUse: inUse, Buffers: n, Wrapped: b.owner.Wrapped(), Pooled: b.pool.pooled()}
	if hasExtension(b.program.dev.extensions, "cl_amd_device_attribute_query") {
		// Two size_t: the total free memory and the largest free block, in KiB.
		if raw, err := b.lib.DeviceBytes(b.program.dev.id, cl.DeviceGlobalFreeMemoryAMD); err == nil && len(raw) >= int(unsafe.Sizeof(uintptr(0))) {
			st.Free = int64(*(*uintptr)(unsafe.Pointer(&raw[0]))) << 10
		}
	}
	return st, nil
}

// Close waits for the queue, frees every buffer, empties the pool, drops gpuact's references to wrapped
// cl_mem objects and to a caller's queue (UseQueue), and releases its own queue, the kernels and (with
// the last Backend on the device) the program and context. A TimeDevice call whose enqueue function is
// running meanwhile loses its recording (Close releases the events) and returns ErrClosed.
func (b *Backend) Close() error {
	return b.wrap("Close", b.owner.Close(func() error {
		errs := []error{b.lib.Finish(b.queue), b.pool.trim()}
		b.wmu.Lock()
		wrapped := b.wrapped
		b.wrapped = map[*core.Alloc]cl.Mem{}
		b.wmu.Unlock()
		for _, m := range wrapped {
			errs = append(errs, b.releaseMem(m))
		}
		b.qmu.Lock()
		if b.queue != b.ownQueue {
			errs = append(errs, b.lib.ReleaseQueue(b.queue))
			b.queue = b.ownQueue
		}
		b.qmu.Unlock()
		b.mu.Lock()
		for r := range b.recs {
			b.releaseEvents(r.events)
			delete(b.recs, r)
		}
		for _, k := range b.kernels {
			errs = append(errs, b.lib.ReleaseKernel(k.k))
		}
		b.kernels = nil
		b.mu.Unlock()
		errs = append(errs, b.lib.ReleaseQueue(b.ownQueue), b.program.release())
		return errors.Join(errs...)
	}))
}

// enqueue runs a call that queues one command (a transfer or copy), passing it an event to fill
// while a TimeDevice call is recording, nil otherwise. b.mu is not held during the call, so a
// blocking transfer does not hold up other goroutines' launches.
func (b *Backend) enqueue(call func(ev *cl.Event) error) error {
	b.mu.Lock()
	recording := len(b.recs) > 0
	b.mu.Unlock()
	if !recording {
		return call(nil)
	}
	var ev cl.Event
	if err := call(&ev); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record(ev)
	return nil
}

// enqueueLocked is enqueue for a caller that holds b.mu (a kernel launch).
func (b *Backend) enqueueLocked(call func(ev *cl.Event) error) error {
	var ev cl.Event
	evp := &ev
	if len(b.recs) == 0 {
		evp = nil
	}
	if err := call(evp); err != nil {
		return err
	}
	if evp != nil {
		b.record(ev)
	}
	return nil
}

// record gives the event of a command just queued to every active recording: the first takes the
// reference the command came with, each other one a reference of its own. With no recording active
// any more (they ended while the command was being queued) the event is released. b.mu is held.
func (b *Backend) record(ev cl.Event) {
	first := true
	for r := range b.recs {
		if !first {
			if err := b.lib.RetainEvent(ev); err != nil {
				r.err = fmt.Errorf("%s: %w", b.info.Spec, err)
				continue
			}
		}
		r.events = append(r.events, ev)
		first = false
	}
	if first {
		b.lib.ReleaseEvent(ev)
	}
}

// releaseEvents drops one reference to each event.
func (b *Backend) releaseEvents(evs []cl.Event) {
	for _, ev := range evs {
		b.lib.ReleaseEvent(ev)
	}
}

// TimeDevice waits for the queue, runs enqueue, waits for the commands queued meanwhile and returns
// the device time from the start of the first to the end of the last, from OpenCL's profiling events.
//
// It holds no lock while enqueue runs, so enqueue may use the backend freely. Each call records its
// own window: every command queued while it is active is timed, including other goroutines' commands
// and those of TimeDevice calls made meanwhile, from enqueue itself too (a nested call returns its own,
// narrower window). If the backend is closed before enqueue returns, TimeDevice returns ErrClosed. An
// error from enqueue is returned as it is; a panic in enqueue propagates, with the recording stopped
// and its events released.
func (b *Backend) TimeDevice(enqueue func() error) (time.Duration, error) {
	d, err := b.timeDevice(enqueue)
	if errors.Is(err, errEnqueue) {
		return 0, errors.Unwrap(err) // enqueue's own error, as it returned it
	}
	return d, b.wrap("TimeDevice", err)
}

// errEnqueue marks, inside timeDevice, an error that came from the caller's enqueue function.
var errEnqueue = errors.New("enqueue failed")

type enqueueError struct{ err error }

func (e enqueueError) Error() string        { return e.err.Error() }
func (e enqueueError) Unwrap() error        { return e.err }
func (e enqueueError) Is(target error) bool { return target == errEnqueue }

func (b *Backend) timeDevice(enqueue func() error) (time.Duration, error) {
	l, err := b.owner.Begin("TimeDevice")
	if err != nil {
		return 0, err
	}
	if err := b.finish(); err != nil {
		l.End()
		return 0, err
	}
	// Registered under the lease, so Close either has not begun (and will see r) or has ended.
	r := &recording{}
	b.mu.Lock()
	b.recs[r] = struct{}{}
	b.mu.Unlock()
	l.End()

	ended := false
	defer func() {
		if !ended { // enqueue panicked
			b.discard(r)
		}
	}()
	err = enqueue()
	ended = true
	if err != nil {
		b.discard(r)
		return 0, enqueueError{err}
	}

	// The lease keeps Close from releasing the queue and context while the events are read.
	if l, err = b.owner.Begin("TimeDevice"); err != nil {
		return 0, err // closed while enqueue ran: Close released r's events
	}
	defer l.End()
	b.mu.Lock()
	delete(b.recs, r)
	b.mu.Unlock()
	defer b.releaseEvents(r.events)
	if r.err != nil {
		return 0, r.err
	}
	if err := b.lib.Wait(r.events); err != nil {
		return 0, err
	}
	start, end := uint64(math.MaxUint64), uint64(0)
	for _, ev := range r.events {
		s, err := b.lib.ProfilingTime(ev, cl.ProfilingCommandStart)
		if err != nil {
			return 0, err
		}
		e, err := b.lib.ProfilingTime(ev, cl.ProfilingCommandEnd)
		if err != nil {
			return 0, err
		}
		start, end = min(start, s), max(end, e)
	}
	if end < start { // no command, or a clock that went backwards
		return 0, nil
	}
	return time.Duration(end - start), nil
}

// discard stops recording r and releases its events, unless Close already has. The events are
// released under b.mu, which Close takes before it releases the queue and context.
func (b *Backend) discard(r *recording) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.recs[r]; ok {
		delete(b.recs, r)
		b.releaseEvents(r.events)
	}
}
