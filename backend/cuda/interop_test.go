package cuda_test

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/gpuact/gpuact/backend"
	"github.com/gpuact/gpuact/backend/backendtest"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// other is another user of the driver in this process, as the runtime API would be: it retains device
// ordinal's primary context itself and allocates, copies and frees through the driver directly.
type other struct {
	t   testing.TB
	drv *cu.Driver
	dev cu.Device
	ctx cu.Context
}

func newOther(t testing.TB, ordinal int) *other {
	t.Helper()
	drv, err := cu.Load()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := drv.DeviceGet(ordinal)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := drv.PrimaryCtxRetain(dev)
	if err != nil {
		t.Fatal(err)
	}
	return &other{t: t, drv: drv, dev: dev, ctx: ctx}
}

// do runs f with o's context current on a locked thread.
func (o *other) do(f func(d *cu.Driver) error) {
	o.t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := o.drv.CtxSetCurrent(o.ctx); err != nil {
		o.t.Fatal(err)
	}
	if err := f(o.drv); err != nil {
		o.t.Error(err)
	}
}

func (o *other) alloc(bytes int64) (p cu.DevPtr) {
	o.do(func(d *cu.Driver) (err error) { p, err = d.MemAlloc(bytes); return err })
	return p
}

func (o *other) free(p cu.DevPtr) { o.do(func(d *cu.Driver) error { return d.MemFree(p) }) }

// write copies b to p and waits (on the NULL stream: a pageable source is read when the copy runs).
func (o *other) write(p cu.DevPtr, b []byte) {
	o.do(func(d *cu.Driver) error {
		if err := d.MemcpyHtoDAsync(p, unsafe.Pointer(&b[0]), int64(len(b)), 0); err != nil {
			return err
		}
		return d.StreamSynchronize(0)
	})
}

// read copies n bytes at p (to pageable memory: the call returns once the copy is done).
func (o *other) read(p cu.DevPtr, n int) []byte {
	b := make([]byte, n)
	o.do(func(d *cu.Driver) error { return d.MemcpyDtoHAsync(unsafe.Pointer(&b[0]), p, int64(n), 0) })
	return b
}

func (o *other) release() {
	o.do(func(d *cu.Driver) error { return errors.Join(d.CtxSetCurrent(0), d.PrimaryCtxRelease(o.dev)) })
}

// wrappingCUDA is a CUDA backend whose Alloc hands out device memory that another user of the driver
// allocated (other), wrapped with WrapDevicePtr, so that the whole conformance suite runs on wrapped
// memory. Each allocation has guard bytes on both sides of the wrapped elements; Free and Close check
// that gpuact wrote none of them, then free the memory themselves: had gpuact freed it, that free
// would fail (and the emulator would count a double free).
type wrappingCUDA struct {
	*cuda.Backend
	o      *other
	mu     sync.Mutex
	allocs map[*core.Alloc]cu.DevPtr
	closed sync.Once
}

const devGuard = 256 // bytes

var guardByte = [2]byte{0xA5, 0x5A}

func (w *wrappingCUDA) Alloc(dt formula.DType, n int) (core.Buffer, error) {
	if n <= 0 || n > 1<<24 || !w.Info().DTypes.Has(dt) {
		return w.Backend.Alloc(dt, n) // its own errors and empty buffers: wrapped memory has ≥ 1 element
	}
	size := n * dt.Size()
	p := w.o.alloc(int64(size + 2*devGuard))
	if p == 0 {
		return core.Buffer{}, fmt.Errorf("the driver could not allocate %d bytes", size)
	}
	w.o.write(p, bytes.Repeat(guardByte[:1], devGuard))
	w.o.write(p+cu.DevPtr(devGuard+size), bytes.Repeat(guardByte[1:], devGuard))
	buf, err := w.WrapDevicePtr(uint64(p)+devGuard, dt, n)
	if err != nil {
		w.o.free(p)
		return buf, err
	}
	if !buf.Alloc().External() {
		w.o.t.Errorf("WrapDevicePtr returned an allocation that is not marked external")
	}
	w.mu.Lock()
	w.allocs[buf.Alloc()] = p
	w.mu.Unlock()
	return buf, nil
}

func (w *wrappingCUDA) Free(b core.Buffer) error {
	err := w.Backend.Free(b)
	if !b.IsNil() {
		w.release(b.Alloc())
	}
	return err
}

func (w *wrappingCUDA) Close() error {
	err := w.Backend.Close()
	w.closed.Do(func() { // a second Close returns nil and releases nothing
		w.release(nil)
		w.o.release()
	})
	return err
}

// release checks the guards of allocation a (nil: of every one) and frees its memory.
func (w *wrappingCUDA) release(a *core.Alloc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, p := range w.allocs {
		if a != nil && k != a {
			continue
		}
		size := k.Len() * k.DType().Size()
		lo, hi := w.o.read(p, devGuard), w.o.read(p+cu.DevPtr(devGuard+size), devGuard)
		if !bytes.Equal(lo, bytes.Repeat(guardByte[:1], devGuard)) || !bytes.Equal(hi, bytes.Repeat(guardByte[1:], devGuard)) {
			w.o.t.Errorf("a guard byte around a wrapped allocation of %d bytes was written", size)
		}
		w.o.free(p) // fails if gpuact freed it
		delete(w.allocs, k)
	}
}

// The whole conformance suite on wrapped device memory: gpuact computes on another library's memory
// exactly as on its own, never writes outside it and never frees it.
func TestConformanceWrapped(t *testing.T) {
	usable(t)
	backendtest.Run(t, func() (core.Backend, error) {
		b, err := cuda.Open(0)
		if err != nil {
			return nil, err
		}
		return &wrappingCUDA{Backend: b, o: newOther(t, 0), allocs: map[*core.Alloc]cu.DevPtr{}}, nil
	})
}

func f32bytes(v []float32) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)) }

func float32s(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	copy(f32bytes(v), b)
	return v
}

// An external allocation wrapped and activated in place: gpuact allocates nothing for it, frees nothing
// of it (the emulator's counts), and the owner reads the result in its own memory.
func TestWrapDevicePtrActivates(t *testing.T) {
	e, b := openEmu(t)
	o := newOther(t, 0)
	defer o.release()
	x := []float32{-2, -0.5, 0, 0.5, 2, -1, 3, -4}
	p := o.alloc(int64(4 * len(x)))
	defer o.free(p)
	o.write(p, f32bytes(x))
	allocs, frees := e.Count(cudaemu.Allocs), e.Count(cudaemu.Frees)
	buf, err := b.WrapDevicePtr(uint64(p), formula.Float32, len(x))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.DevicePtr(buf); err != nil || got != uint64(p) {
		t.Errorf("DevicePtr of a wrapped pointer %#x = %#x, %v", p, got, err)
	}
	m, err := b.Memory()
	if err != nil || m.Wrapped != 32 || m.InUse != 0 || m.Buffers != 0 {
		t.Errorf("Memory: %+v, %v; want 32 bytes wrapped and nothing owned", m, err)
	}
	if err := b.Forward(formula.ReLU(), buf, buf); err != nil {
		t.Fatal(err)
	}
	if err := b.Free(buf); err != nil { // returns once the pass is done
		t.Fatal(err)
	}
	if got := float32s(o.read(p, 4*len(x))); !slices.Equal(got, []float32{0, 0, 0, 0.5, 2, 0, 3, 0}) {
		t.Errorf("the owner reads %v after ReLU in place on its wrapped memory", got)
	}
	if err := b.Forward(formula.ReLU(), buf, buf); !errors.Is(err, core.ErrFreed) {
		t.Errorf("a pass on a freed wrapped buffer: %v, want ErrFreed", err)
	}
	if m, _ := b.Memory(); m.Wrapped != 0 {
		t.Errorf("Memory after Free: wrapped %d, want 0", m.Wrapped)
	}
	// Wrapped again and left to Close: Close forgets it without freeing it.
	if _, err := b.WrapDevicePtr(uint64(p), formula.Float32, len(x)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if a, f := e.Count(cudaemu.Allocs)-allocs, e.Count(cudaemu.Frees)-frees; a != 0 || f != 0 {
		t.Errorf("wrapping, a pass, Free and Close made %d allocations and %d frees, want none", a, f)
	}
	if got := float32s(o.read(p, 4*len(x))); got[4] != 2 {
		t.Errorf("the owner's memory after Close: %v", got)
	}
}

// A gpuact buffer's device address handed to another consumer: it reads gpuact's result there, and a
// slice's address is the allocation's plus its offset. Another Backend value on the device (the same
// primary context) can wrap it too.
func TestDevicePtrToAnotherConsumer(t *testing.T) {
	usable(t)
	b, err := cuda.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	closeAfter(t, b)
	o := newOther(t, 0)
	defer o.release()
	x, err := backend.FromSlice(b, []float32{-1, 2, -3, 4, -5, 6})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Forward(formula.ReLU(), x, x); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(); err != nil { // the consumer's work is ordered after gpuact's
		t.Fatal(err)
	}
	p, err := b.DevicePtr(x)
	if err != nil || p == 0 {
		t.Fatalf("DevicePtr: %#x, %v", p, err)
	}
	if got := float32s(o.read(cu.DevPtr(p), 24)); !slices.Equal(got, []float32{0, 2, 0, 4, 0, 6}) {
		t.Errorf("the consumer reads %v at the buffer's address", got)
	}
	s, _ := x.Slice(3, 5)
	ps, err := b.DevicePtr(s)
	if err != nil || ps != p+12 {
		t.Errorf("DevicePtr of Slice(3, 5) = %#x, %v; want %#x", ps, err, p+12)
	}
	if got := float32s(o.read(cu.DevPtr(ps), 8)); !slices.Equal(got, []float32{4, 0}) {
		t.Errorf("the consumer reads %v at the slice's address", got)
	}
	b2, err := cuda.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	closeAfter(t, b2)
	w, err := b2.WrapDevicePtr(ps, formula.Float32, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := backend.ToSlice[float32](b2, w); err != nil || !slices.Equal(got, []float32{4, 0}) {
		t.Errorf("another backend value reads %v, %v through the wrapped address", got, err)
	}
	if err := b2.Free(w); err != nil {
		t.Fatal(err)
	}
}

// Misuse of WrapDevicePtr and DevicePtr gets the sentinel errors, and the backend keeps working.
func TestWrapDevicePtrMisuse(t *testing.T) {
	_, b := openEmu(t)
	o := newOther(t, 0)
	defer o.release()
	o1 := newOther(t, 1)
	defer o1.release()
	p := o.alloc(64)
	defer o.free(p)
	p1 := o1.alloc(64)
	defer o1.free(p1)
	f32, f64 := formula.Float32, formula.Float64
	for _, c := range []struct {
		what  string
		ptr   uint64
		dtype formula.DType
		n     int
		want  error
	}{
		{"a nil pointer", 0, f32, 4, core.ErrNilBuffer},
		{"zero elements", uint64(p), f32, 0, core.ErrBadSize},
		{"a negative length", uint64(p), f32, -1, core.ErrBadSize},
		{"an invalid dtype", uint64(p), formula.DType(0), 4, core.ErrUnsupportedDType},
		{"a pointer the driver does not know", 0x1000, f32, 4, core.ErrForeignBuffer},
		{"a pointer of another device", uint64(p1), f32, 4, core.ErrForeignBuffer},
		{"more elements than the allocation holds", uint64(p), f32, 17, core.ErrOutOfRange},
		{"elements past the end from inside", uint64(p) + 32, f64, 5, core.ErrOutOfRange},
		{"a misaligned pointer", uint64(p) + 2, f32, 4, core.ErrUnsupported},
		{"a pointer past the end", uint64(p) + 64, f32, 1, core.ErrForeignBuffer},
	} {
		if _, err := b.WrapDevicePtr(c.ptr, c.dtype, c.n); !errors.Is(err, c.want) {
			t.Errorf("WrapDevicePtr of %s: %v, want %v", c.what, err, c.want)
		}
	}
	whole, err := b.WrapDevicePtr(uint64(p), f32, 16)
	if err != nil {
		t.Fatal(err)
	}
	half, err := b.WrapDevicePtr(uint64(p)+32, f64, 4) // the last 32 bytes, as float64
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := b.Memory(); m.Wrapped != 96 {
		t.Errorf("Memory.Wrapped = %d with 64 + 32 bytes wrapped", m.Wrapped)
	}
	lo, _ := whole.Slice(0, 4)
	if err := b.Forward(formula.ReLU(), lo, half); !errors.Is(err, core.ErrDTypeMismatch) {
		t.Errorf("float32 and float64 wrapped buffers in one pass: %v, want ErrDTypeMismatch", err)
	}
	if _, err := whole.Slice(8, 17); !errors.Is(err, core.ErrOutOfRange) {
		t.Errorf("Slice(8, 17) of 16 wrapped elements: %v, want ErrOutOfRange", err)
	}
	if _, err := b.DevicePtr(core.Buffer{}); !errors.Is(err, core.ErrNilBuffer) {
		t.Errorf("DevicePtr of the zero Buffer: %v, want ErrNilBuffer", err)
	}
	other, err := cuda.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	closeAfter(t, other)
	if err := other.Forward(formula.ReLU(), whole, whole); !errors.Is(err, core.ErrForeignBuffer) {
		t.Errorf("a buffer wrapped by another backend value: %v, want ErrForeignBuffer", err)
	}
	if _, err := other.DevicePtr(whole); !errors.Is(err, core.ErrForeignBuffer) {
		t.Errorf("DevicePtr of another backend value's buffer: %v, want ErrForeignBuffer", err)
	}
	if err := b.Free(half); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DevicePtr(half); !errors.Is(err, core.ErrFreed) {
		t.Errorf("DevicePtr of a freed buffer: %v, want ErrFreed", err)
	}
	works(t, b, "after misuse")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WrapDevicePtr(uint64(p), f32, 4); !errors.Is(err, core.ErrClosed) {
		t.Errorf("WrapDevicePtr after Close: %v, want ErrClosed", err)
	}
	if _, err := b.DevicePtr(whole); !errors.Is(err, core.ErrClosed) {
		t.Errorf("DevicePtr after Close: %v, want ErrClosed", err)
	}
	if err := b.Free(whole); err != nil {
		t.Errorf("Free after Close: %v", err)
	}
}

// UseStream: gpuact's work goes on the caller's stream in call order, so the caller's own work queued
// there after a call sees its result without a Sync; 0 returns to the backend's stream; a stream that is
// not one is refused and the backend keeps its stream.
func TestUseStream(t *testing.T) {
	e, b := openEmu(t)
	o := newOther(t, 0)
	defer o.release()
	var s cu.Stream
	o.do(func(d *cu.Driver) (err error) { s, err = d.StreamCreate(cu.StreamNonBlocking); return err })
	defer o.do(func(d *cu.Driver) error { return d.StreamDestroy(s) })
	own := b.Stream()
	if own == 0 || own == uintptr(s) {
		t.Fatalf("Stream() = %#x before UseStream", own)
	}
	x, err := backend.FromSlice(b, []float32{-1, 2, -3, 4})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free(x)
	if err := b.UseStream(uintptr(s)); err != nil {
		t.Fatal(err)
	}
	if b.Stream() != uintptr(s) {
		t.Errorf("Stream() = %#x after UseStream(%#x)", b.Stream(), s)
	}
	// A slow kernel: a copy on another stream would overtake it.
	_, kernel := e.Delays()
	e.SetDelays(-1, 50*time.Millisecond)
	defer e.SetDelays(-1, kernel)
	if err := b.Forward(formula.ReLU(), x, x); err != nil {
		t.Fatal(err)
	}
	p, _ := b.DevicePtr(x)
	got := make([]float32, 4)
	o.do(func(d *cu.Driver) error { // queued on s after gpuact's kernel; returns once the copy ran
		return d.MemcpyDtoHAsync(unsafe.Pointer(&got[0]), cu.DevPtr(p), 16, s)
	})
	if !slices.Equal(got, []float32{0, 2, 0, 4}) {
		t.Errorf("the caller's copy queued on its stream after Forward read %v: not ordered after gpuact's kernel", got)
	}
	e.SetDelays(-1, kernel)
	e.ExpectViolations(1)
	if err := b.UseStream(0xdead); !errors.Is(err, core.ErrDevice) || b.Stream() != uintptr(s) {
		t.Errorf("UseStream of a handle that is no stream: %v, stream now %#x", err, b.Stream())
	}
	if err := b.UseStream(0); err != nil || b.Stream() != own {
		t.Errorf("UseStream(0): %v, stream %#x, want the backend's own %#x", err, b.Stream(), own)
	}
	works(t, b, "back on its own stream")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Stream() != 0 {
		t.Error("Stream() after Close is not 0")
	}
	if err := b.UseStream(uintptr(s)); !errors.Is(err, core.ErrClosed) {
		t.Errorf("UseStream after Close: %v, want ErrClosed", err)
	}
}
