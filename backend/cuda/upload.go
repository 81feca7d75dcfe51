package cuda

import (
	"errors"
	"runtime"
	"sync"
	"unsafe"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
)

// Upload promises that it has finished reading src when it returns. cuMemcpyHtoDAsync from pageable
// (Go) memory is documented only as "might be synchronous", so Upload never hands src to the driver: it
// copies src into pinned host memory the backend owns and queues the copy from there, so src has been
// read, by Go code, when Upload returns. Waiting on an event recorded after a direct copy would keep the
// promise too, but every Upload would then also wait for all the work queued before it; staging waits
// only when the ring is full, and then for the copy that last used the chunk it needs.
const (
	// stagingChunk is the bytes of one chunk: large enough for a full-speed copy to the device, small
	// enough that copying into one chunk overlaps the device's copy out of the previous.
	stagingChunk = 1 << 20
	// stagingChunks is the ring's length: this many chunk copies may be queued before Upload waits.
	stagingChunks = 4
)

// staging is the ring of pinned chunks Upload copies src through.
type staging struct {
	mu     sync.Mutex // one Upload fills the ring at a time
	chunks [stagingChunks]struct {
		host unsafe.Pointer // stagingChunk bytes of cuMemHostAlloc memory
		done cu.Event       // recorded after the copy out of host: the chunk is free once it completed
	}
	next int
}

// init allocates the ring (Open, with the context current).
func (s *staging) init(d *cu.Driver) error {
	for i := range s.chunks {
		c := &s.chunks[i]
		var err error
		if c.host, err = d.MemHostAlloc(stagingChunk); err != nil {
			return err
		}
		// An event never recorded counts as complete: the first use of a chunk does not wait.
		if c.done, err = d.EventCreate(cu.EventDisableTiming); err != nil {
			return err
		}
	}
	return nil
}

// release frees the ring once the stream has finished (Close, and Open's failure path, with the context
// current).
func (s *staging) release(d *cu.Driver) error {
	var errs []error
	for i := range s.chunks {
		c := &s.chunks[i]
		if c.done != 0 {
			errs = append(errs, d.EventDestroy(c.done))
			c.done = 0
		}
		if c.host != nil {
			errs = append(errs, d.MemFreeHost(c.host))
			c.host = nil
		}
	}
	return errors.Join(errs...)
}

// Upload copies src to dst: it stages src in pinned memory and queues the copies to dst on the stream,
// so it returns once src has been read, before the device has the data.
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
	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	return b.stage(cu.DevPtr(ptr(dst)), unsafe.Slice((*byte)(src.Pointer()), src.Bytes()))
}

// stage copies src through the ring to device address dst.
func (b *Backend) stage(dst cu.DevPtr, src []byte) error {
	s, d := &b.staging, b.drv
	s.mu.Lock()
	defer s.mu.Unlock()
	for off := 0; off < len(src); off += stagingChunk {
		part := src[off:min(off+stagingChunk, len(src))]
		c := &s.chunks[s.next]
		// Wait for the copy that used the chunk last. The driver may report an error of any earlier
		// work here; that is the next synchronising call's to report.
		if err := d.EventSynchronize(c.done); err != nil {
			b.keepAsyncErr(err)
		}
		copy(unsafe.Slice((*byte)(c.host), len(part)), part)
		if err := d.MemcpyHtoDAsync(dst+cu.DevPtr(off), c.host, int64(len(part)), b.stream); err != nil {
			return err
		}
		if err := d.EventRecord(c.done, b.stream); err != nil {
			// Without the event the chunk's next user could not wait for this copy: wait now.
			b.keepAsyncErr(d.StreamSynchronize(b.stream))
			return err
		}
		s.next = (s.next + 1) % stagingChunks
	}
	return nil
}
