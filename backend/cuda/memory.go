package cuda

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
	"github.com/gpuact/gpuact/backend/formula"
)

// Alloc allocates device memory, from the pool (pool.go): memory an earlier Free gave back when there
// is some of the size, else new memory. A size the GPU cannot hold gives an error matching
// core.ErrOutOfMemory (after the pooled memory was returned to the device and the allocation tried
// again), and the backend keeps working. The memory is allocated in the order of the backend's stream:
// other CUDA code that uses it (DevicePtr) on another stream orders its work after gpuact's (Sync, or
// UseStream with its stream).
func (b *Backend) Alloc(dtype formula.DType, n int) (core.Buffer, error) {
	buf, err := b.owner.Alloc(dtype, n, func(bytes int64) (any, error) {
		if bytes == 0 {
			return deviceMem{}, nil // cuMemAlloc refuses 0 bytes; nothing is ever read or written
		}
		if err := b.enter(); err != nil {
			return nil, err
		}
		defer runtime.UnlockOSThread()
		p, err := b.allocMem(bytes)
		if err != nil {
			return nil, fmt.Errorf("%d bytes (%d %s): %w", bytes, n, dtype, err)
		}
		return deviceMem{p, bytes}, nil
	})
	return buf, b.wrap("Alloc", err)
}

// free gives one allocation back to the pool. It does not wait for the work queued on the stream that
// may still use it: the pool reuses it only for work queued after that (pool.go). An error of that work
// is kept for the next synchronising call: Free is not where it is reported.
func (b *Backend) free(mem any) error {
	m := mem.(deviceMem)
	if m.p == 0 {
		return nil
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	return b.freeMem(m)
}

// Free gives buf's allocation back to the pool, without waiting for the work queued before it (which
// still runs on the memory; a later Alloc that gets it queues its work behind that). For a wrapped
// device pointer (WrapDevicePtr) it frees nothing and returns once gpuact's queued work is done, so the
// memory's owner may free or reuse it.
func (b *Backend) Free(buf core.Buffer) error {
	err := b.owner.Free(buf)
	if err == nil && !buf.IsNil() && buf.Alloc().External() {
		l, closed := b.owner.Begin("Free")
		if closed != nil {
			return nil // Close waited for the stream
		}
		defer l.End()
		err = b.waitStream()
	}
	return b.wrap("Free", err)
}

// Trim returns the memory the pool keeps for reuse to the device (after the work queued so far, which
// Trim waits for). Memory().Pooled reports how much that is.
func (b *Backend) Trim() error {
	l, err := b.owner.Begin("Trim")
	if err != nil {
		return b.wrap("Trim", err)
	}
	defer l.End()
	if err := b.enter(); err != nil {
		return b.wrap("Trim", err)
	}
	defer runtime.UnlockOSThread()
	return b.wrap("Trim", b.trimLocked())
}

// waitStream waits for the work queued on the stream; an error of that work is kept for the next
// synchronising call. Nothing can be queued on a freed allocation, so after Free has released one this
// wait covers every use of it.
func (b *Backend) waitStream() error {
	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	b.keepAsyncErr(b.drv.StreamSynchronize(b.stream))
	return nil
}

// ptr is the device address of buf's first element.
func ptr(buf core.Buffer) uint64 {
	if buf.IsNil() {
		return 0
	}
	var base cu.DevPtr
	switch m := buf.Alloc().Mem().(type) {
	case deviceMem: // Alloc's
		base = m.p
	case cu.DevPtr: // WrapDevicePtr's
		base = m
	}
	return uint64(base) + uint64(buf.Offset())*uint64(buf.DType().Size())
}

// Download copies src to dst after the work queued before it, and waits: it is a synchronising call and
// reports an error of earlier asynchronous work.
func (b *Backend) Download(dst core.Host, src core.Buffer) (err error) {
	defer func() { err = b.wrap("Download", err) }()
	l, err := b.owner.BeginCopy(src, dst, false)
	if err != nil {
		return err
	}
	defer l.End()
	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	if l.N > 0 {
		if err := b.drv.MemcpyDtoHAsync(dst.Pointer(), cu.DevPtr(ptr(src)), src.Bytes(), b.stream); err != nil {
			return b.reportAsync(err)
		}
	}
	return b.reportAsync(b.drv.StreamSynchronize(b.stream))
}

// Copy copies src to dst on the device, queued on the stream.
func (b *Backend) Copy(dst, src core.Buffer) (err error) {
	defer func() { err = b.wrap("Copy", err) }()
	l, err := b.owner.BeginDeviceCopy(dst, src)
	if err != nil {
		return err
	}
	defer l.End()
	if l.N == 0 || ptr(dst) == ptr(src) {
		return nil
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	return b.drv.MemcpyDtoDAsync(cu.DevPtr(ptr(dst)), cu.DevPtr(ptr(src)), dst.Bytes(), b.stream)
}

// Memory reports the device's free and total memory (cuMemGetInfo), this backend's buffers, and the
// freed memory its pool keeps (Pooled; for the stream-ordered pool, the device default pool's, which other
// libraries in the process may share).
func (b *Backend) Memory() (core.MemoryStats, error) {
	l, err := b.owner.Begin("Memory")
	if err != nil {
		return core.MemoryStats{}, err
	}
	defer l.End()
	if err := b.enter(); err != nil {
		return core.MemoryStats{}, b.wrap("Memory", err)
	}
	defer runtime.UnlockOSThread()
	free, total, err := b.drv.MemGetInfo()
	pooled, perr := b.pooled()
	inUse, n := b.owner.Stats()
	st := core.MemoryStats{Total: total, Free: free, InUse: inUse, Buffers: n, Wrapped: b.owner.Wrapped(), Pooled: pooled}
	return st, b.wrap("Memory", errors.Join(err, perr))
}
