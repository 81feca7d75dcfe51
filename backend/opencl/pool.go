package opencl

import (
	"errors"
	"sync"

	"github.com/gpuact/gpuact/backend/opencl/internal/cl"
)

// pool keeps freed cl_mem objects for reuse by an Alloc of the same size in bytes: a training loop
// frees and allocates the same tensor sizes every step, and reuse makes an Alloc+Free pair cost a map
// lookup instead of clCreateBuffer and clReleaseMemObject (which, on a GPU, may synchronise with the
// device). A cl_mem is untyped, so the size class is the byte size alone: a float32 buffer of 2n
// elements serves a float64 Alloc of n. It holds at most max bytes; Free beyond that releases the
// buffer, Trim (and Close) release everything it holds.
//
// A pooled buffer may still be used by commands queued before its Free: the next Alloc that gets it
// queues its own commands behind them on the same in-order queue (UseQueue finishes the old queue
// before it switches), so they never run out of order.
type pool struct {
	release func(cl.Mem) error // Backend.releaseMem
	mu      sync.Mutex
	free    map[int64][]cl.Mem
	bytes   int64
	max     int64
}

// defaultPoolMax is how much freed memory an OpenCL backend keeps for reuse: an eighth of the device's
// memory, at most 1 GiB.
func defaultPoolMax(deviceMemory int64) int64 { return min(deviceMemory/8, 1<<30) }

func newPool(release func(cl.Mem) error, max int64) *pool {
	return &pool{release: release, free: map[int64][]cl.Mem{}, max: max}
}

// get returns a freed buffer of size bytes, or 0.
func (p *pool) get(size int64) cl.Mem {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.free[size]
	if len(l) == 0 {
		return 0
	}
	m := l[len(l)-1]
	if len(l) == 1 {
		delete(p.free, size)
	} else {
		p.free[size] = l[:len(l)-1]
	}
	p.bytes -= size
	return m
}

// put keeps m, a buffer of size bytes, for reuse, or releases it when the pool is full.
func (p *pool) put(m cl.Mem, size int64) error {
	p.mu.Lock()
	if size > 0 && p.bytes+size <= p.max {
		p.free[size] = append(p.free[size], m)
		p.bytes += size
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	return p.release(m)
}

// trim releases everything the pool holds.
func (p *pool) trim() error {
	p.mu.Lock()
	free := p.free
	p.free, p.bytes = map[int64][]cl.Mem{}, 0
	p.mu.Unlock()
	var errs []error
	for _, l := range free {
		for _, m := range l {
			errs = append(errs, p.release(m))
		}
	}
	return errors.Join(errs...)
}

// pooled reports the bytes the pool holds.
func (p *pool) pooled() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes
}
