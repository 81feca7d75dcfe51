package cuda

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
)

// pool is where Alloc gets device memory and where Free puts it back. A training loop frees and
// allocates the same tensor sizes every step; cuMemAlloc and cuMemFree are slow (cuMemFree also
// synchronises the device), so freed memory is kept for reuse, in one of two ways:
//
//   - stream-ordered: where the driver and device support it (CUDA 11.2, CU_DEVICE_ATTRIBUTE_MEMORY_
//     POOLS_SUPPORTED), cuMemAllocAsync and cuMemFreeAsync on the device's default pool, queued on the
//     backend's stream. Free returns at once: the driver hands the memory back to the pool when the
//     stream reaches the free, after the work queued before it. The pool's release threshold (the
//     reserved bytes, live ones included, it keeps at a synchronisation instead of returning the rest
//     to the device) is raised to "everything", as PyTorch's cudaMallocAsync allocator does: the
//     default, 0, would give freed memory back at every Sync and make the next Alloc reserve it again.
//     The driver reuses and splits freed blocks across sizes.
//   - caching: elsewhere, freed cuMemAlloc blocks are kept by byte size, up to keepBytes, and handed to
//     a later Alloc of the same size, without waiting: every use of a block by gpuact is queued on the one stream, so the
//     next owner's work runs after the last one's. Only a block that is really freed (the cache is full,
//     Trim, Close) waits for the stream first, as cuMemFree requires.
//
// Either way an Alloc that runs out of memory returns the pooled memory to the device and tries again,
// Trim returns it on request, and Memory reports it as Pooled.
type pool struct {
	ordered   bool       // stream-ordered; false: caching
	mp        cu.MemPool // the device's default pool (ordered)
	keepBytes int64      // caching: the cache's capacity

	mu     sync.Mutex
	cached map[int64][]cu.DevPtr // caching: freed blocks by size
	bytes  int64                 // caching: bytes in cached
}

// defaultKeepBytes is how much freed memory the caching pool keeps: an eighth of the device's memory, at
// most 1 GiB (as the CPU and OpenCL backends): exact sizes strand memory that the driver's pool would
// split and reuse.
func defaultKeepBytes(deviceMemory int64) int64 { return min(deviceMemory/8, 1<<30) }

// deviceMem is an allocation Alloc made: its address and size (for the cache's size classes).
type deviceMem struct {
	p     cu.DevPtr
	bytes int64
}

// initPool chooses the pool's kind. The context is current.
func (b *Backend) initPool(keep int64) error {
	d, p := b.drv, &b.pool
	p.keepBytes = keep
	p.cached = map[int64][]cu.DevPtr{}
	if !d.MemoryPools() {
		return nil
	}
	if ok, err := d.DeviceAttribute(b.dev, cu.AttrMemoryPoolsSupported); err != nil || ok != 1 {
		return nil // a device without pools (or a driver that cannot say): the cache
	}
	mp, err := d.DefaultMemPool(b.dev)
	if err != nil {
		return err
	}
	// The default pool is the process's: a library that allocates from it too keeps its freed memory
	// as well from now on (PyTorch's and JAX's async allocators set the same).
	if err := d.SetMemPoolAttribute(mp, cu.MemPoolReleaseThreshold, math.MaxUint64); err != nil {
		return err
	}
	p.ordered, p.mp = true, mp
	return nil
}

// poolKind describes the pool for Info.Details.
func (p *pool) kind() string {
	if p.ordered {
		return "stream-ordered (cuMemAllocAsync on the device's default pool, freed memory kept)"
	}
	return fmt.Sprintf("caching (cuMemAlloc, up to %d MiB of freed blocks kept)", p.keepBytes>>20)
}

// allocMem returns bytes (> 0) of device memory usable by work queued on the stream from now on. Out of
// memory, it returns the pooled memory to the device and tries once more. The context is current.
func (b *Backend) allocMem(bytes int64) (cu.DevPtr, error) {
	d, p := b.drv, &b.pool
	if p.ordered {
		m, err := d.MemAllocAsync(bytes, b.stream)
		if cu.IsCode(err, cu.ErrorOutOfMemory) && b.trimLocked() == nil {
			m, err = d.MemAllocAsync(bytes, b.stream)
		}
		return m, err
	}
	p.mu.Lock()
	if l := p.cached[bytes]; len(l) > 0 {
		m := l[len(l)-1]
		p.cached[bytes] = l[:len(l)-1]
		p.bytes -= bytes
		p.mu.Unlock()
		return m, nil
	}
	pooled := p.bytes
	p.mu.Unlock()
	m, err := d.MemAlloc(bytes)
	if cu.IsCode(err, cu.ErrorOutOfMemory) && pooled > 0 && b.trimLocked() == nil {
		m, err = d.MemAlloc(bytes)
	}
	return m, err
}

// freeMem gives m back: at once to the stream-ordered pool (in stream order), to the cache when it has
// room, else to the device after the stream's work. The context is current.
func (b *Backend) freeMem(m deviceMem) error {
	d, p := b.drv, &b.pool
	if p.ordered {
		return d.MemFreeAsync(m.p, b.stream)
	}
	p.mu.Lock()
	if p.bytes+m.bytes <= p.keepBytes {
		p.cached[m.bytes] = append(p.cached[m.bytes], m.p)
		p.bytes += m.bytes
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	b.keepAsyncErr(d.StreamSynchronize(b.stream))
	return d.MemFree(m.p)
}

// trimLocked returns every pooled byte it can to the device: it waits for the stream (an error of its
// work is kept for the next synchronising call), so that every free queued so far has happened, then
// trims the stream-ordered pool to 0 or frees the cached blocks. The context is current.
func (b *Backend) trimLocked() error {
	d, p := b.drv, &b.pool
	b.keepAsyncErr(d.StreamSynchronize(b.stream))
	if p.ordered {
		return d.MemPoolTrimTo(p.mp, 0)
	}
	p.mu.Lock()
	cached := p.cached
	p.cached, p.bytes = map[int64][]cu.DevPtr{}, 0
	p.mu.Unlock()
	var errs []error
	for _, l := range cached {
		for _, m := range l {
			errs = append(errs, d.MemFree(m))
		}
	}
	return errors.Join(errs...)
}

// pooled reports the freed bytes the pool keeps: the cache's, or the default pool's reserved bytes
// that no live allocation uses — the process's, which includes other libraries' freed memory when
// they allocate from the same default pool. The context is current.
func (b *Backend) pooled() (int64, error) {
	d, p := b.drv, &b.pool
	if !p.ordered {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.bytes, nil
	}
	reserved, err := d.MemPoolAttribute(p.mp, cu.MemPoolReservedCurrent)
	if err != nil {
		return 0, err
	}
	used, err := d.MemPoolAttribute(p.mp, cu.MemPoolUsedCurrent)
	if err != nil {
		return 0, err
	}
	return int64(reserved - min(used, reserved)), nil
}
