package cpu

import (
	"errors"
	"sync"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// pool keeps freed buffers for reuse by an Alloc of the same dtype and length: a training loop frees and
// allocates the same tensor sizes every step, and reuse makes an Alloc+Free pair cost a map lookup
// instead of a clear of the whole buffer (make) or a system call (mmap, munmap). It holds at most max
// bytes; Free beyond that releases the memory, Trim (and Close) release everything it holds.
type pool struct {
	mu    sync.Mutex
	free  map[poolKey][]*memory
	bytes int64
	max   int64
}

type poolKey struct {
	dtype formula.DType
	n     int
}

// defaultPoolMax is how much freed memory a CPU backend keeps for reuse: an eighth of the machine's
// RAM, at most 1 GiB.
func defaultPoolMax() int64 {
	return min(machine.totalMemory/8, 1<<30)
}

func newPool(max int64) *pool { return &pool{free: map[poolKey][]*memory{}, max: max} }

// get returns a freed buffer of n elements of dtype, or nil.
func (p *pool) get(dtype formula.DType, n int) *memory {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := poolKey{dtype, n}
	l := p.free[k]
	if len(l) == 0 {
		return nil
	}
	m := l[len(l)-1]
	l[len(l)-1] = nil
	if len(l) == 1 {
		delete(p.free, k)
	} else {
		p.free[k] = l[:len(l)-1]
	}
	p.bytes -= int64(n) * int64(dtype.Size())
	return m
}

// put keeps m for reuse, or releases it when the pool is full. It is the free function of the
// backend's owner.
func (p *pool) put(m *memory) error {
	dtype, n := m.dtypeLen()
	bytes := int64(n) * int64(dtype.Size())
	p.mu.Lock()
	if n > 0 && p.bytes+bytes <= p.max {
		k := poolKey{dtype, n}
		p.free[k] = append(p.free[k], m)
		p.bytes += bytes
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	return freeMemory(m)
}

// trim releases everything the pool holds.
func (p *pool) trim() error {
	p.mu.Lock()
	free := p.free
	p.free, p.bytes = map[poolKey][]*memory{}, 0
	p.mu.Unlock()
	var errs []error
	for _, l := range free {
		for _, m := range l {
			errs = append(errs, freeMemory(m))
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

// Trim releases the memory that freed buffers keep for reuse (Memory().Pooled) back to the Go heap and
// the operating system.
func (b *Backend) Trim() error {
	l, err := b.owner.Begin("Trim")
	if err != nil {
		return err
	}
	defer l.End()
	if err := b.pool.trim(); err != nil {
		return core.Wrap("cpu", "Trim", err)
	}
	return nil
}
