package opencl

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"github.com/gpuact/gpuact/backend/backendtest"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/opencl/internal/cl"
	"github.com/gpuact/gpuact/backend/opencl/internal/clshim"
)

// wrapping is an OpenCL backend whose Alloc hands out wrapped cl_mem objects (WrapCLMem) instead of its
// own, so that the whole conformance suite runs on wrapped memory. Each wrapped cl_mem is a sub-buffer
// in the middle of a larger cl_mem the test created, with guard bytes on both sides (as wide as the
// device's base-address alignment, which a sub-buffer's origin needs); Free and Close read the guards
// back from the larger cl_mem and check that gpuact wrote none of them. The test drops its own
// reference to the sub-buffer at once, so gpuact's reference alone keeps it alive.
type wrapping struct {
	*Backend
	t      *testing.T
	mu     sync.Mutex
	guards map[*core.Alloc]*guarded
}

type guarded struct {
	parent      cl.Mem
	guard, used int64
}

const guardByte = 0xA5

func (w *wrapping) Alloc(dt formula.DType, n int) (core.Buffer, error) {
	if n <= 0 || n > 1<<24 || !w.info.DTypes.Has(dt) {
		return w.Backend.Alloc(dt, n) // its own errors for sizes and dtypes (a wrapped cl_mem has ≥ 1 element)
	}
	// The test's own use of the backend's queue and context below is a call like any other: it must
	// not run on a closed backend (whose queue is gone), and Close waits for it.
	l, err := w.owner.Begin("Alloc")
	if err != nil {
		return w.Backend.Alloc(dt, n) // ErrClosed, from the backend itself
	}
	parent, sub, guard, used, err := w.subBuffer(dt, n)
	l.End()
	if err != nil {
		return core.Buffer{}, err
	}
	buf, err := w.WrapCLMem(uintptr(sub), dt, n)
	if rerr := w.lib.ReleaseMem(sub); rerr != nil {
		w.t.Errorf("releasing the test's reference to the sub-buffer: %v", rerr)
	}
	if err != nil {
		w.lib.ReleaseMem(parent)
		return buf, err
	}
	if !buf.Alloc().External() {
		w.t.Errorf("WrapCLMem returned an allocation that is not marked external")
	}
	w.mu.Lock()
	w.guards[buf.Alloc()] = &guarded{parent: parent, guard: guard, used: used}
	w.mu.Unlock()
	return buf, nil
}

// subBuffer creates a cl_mem with guard bytes on both sides of used bytes, and a sub-buffer of the
// used bytes in its middle.
func (w *wrapping) subBuffer(dt formula.DType, n int) (parent, sub cl.Mem, guard, used int64, err error) {
	guard = max(int64(w.program.dev.baseAlign/8), 128)
	used = int64(n) * int64(dt.Size())
	parent, err = w.lib.CreateBuffer(w.program.ctx, uintptr(2*guard+used))
	if err != nil {
		return 0, 0, 0, 0, err
	}
	fill := make([]byte, 2*guard+used)
	for i := range fill {
		fill[i] = guardByte
	}
	if err := w.withQueue(func(q cl.Queue) error {
		return w.lib.Write(q, parent, true, 0, uintptr(len(fill)), unsafe.Pointer(&fill[0]), nil)
	}); err != nil {
		w.lib.ReleaseMem(parent)
		return 0, 0, 0, 0, err
	}
	sub, err = w.lib.CreateSubBuffer(parent, uintptr(guard), uintptr(used))
	if err != nil {
		w.t.Fatalf("clCreateSubBuffer at byte %d (CL_DEVICE_MEM_BASE_ADDR_ALIGN %d bits): %v", guard, w.program.dev.baseAlign, err)
	}
	return parent, sub, guard, used, nil
}

func (w *wrapping) Free(b core.Buffer) error {
	err := w.Backend.Free(b)
	if b.Alloc() != nil {
		w.checkGuards(b.Alloc())
	}
	return err
}

func (w *wrapping) Close() error {
	w.checkGuards(nil) // while the backend's queue is still there to read them with
	return w.Backend.Close()
}

// checkGuards checks the guards of a (nil: of every allocation), then releases their cl_mem.
func (w *wrapping) checkGuards(a *core.Alloc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, g := range w.guards {
		if a != nil && k != a {
			continue
		}
		delete(w.guards, k)
		got := make([]byte, 2*g.guard+g.used)
		err := w.withQueue(func(q cl.Queue) error {
			return w.lib.Read(q, g.parent, true, 0, uintptr(len(got)), unsafe.Pointer(&got[0]), nil)
		})
		if err != nil {
			w.t.Errorf("reading the guards back: %v", err)
		}
		for i := range g.guard {
			if got[i] != guardByte || got[len(got)-1-int(i)] != guardByte {
				w.t.Errorf("a guard byte around a wrapped cl_mem of %d bytes was written (byte %d before or after it)", g.used, i)
				break
			}
		}
		if err := w.lib.ReleaseMem(g.parent); err != nil {
			w.t.Error(err)
		}
	}
}

// The whole conformance suite on wrapped cl_mem sub-buffers: gpuact computes on the caller's memory
// exactly as on its own, and never writes outside it.
func TestConformanceWrapped(t *testing.T) {
	d := usableDevices(t)[0]
	backendtest.Run(t, func() (core.Backend, error) {
		b, err := d.Open()
		if err != nil {
			return nil, err
		}
		return &wrapping{Backend: b.(*Backend), t: t, guards: map[*core.Alloc]*guarded{}}, nil
	})
}

func openFirst(t *testing.T) *Backend {
	t.Helper()
	b, err := usableDevices(t)[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Backend)
}

// writeMem and readMem move float32s in and out of a cl_mem through the backend's queue.
func writeMem(t *testing.T, b *Backend, m cl.Mem, off int64, v []float32) {
	t.Helper()
	if err := b.lib.Write(b.queue, m, true, uintptr(off), uintptr(4*len(v)), unsafe.Pointer(&v[0]), nil); err != nil {
		t.Fatal(err)
	}
}

func readMem(t *testing.T, b *Backend, q cl.Queue, m cl.Mem, off int64, n int) []float32 {
	t.Helper()
	v := make([]float32, n)
	if err := b.lib.Read(q, m, true, uintptr(off), uintptr(4*n), unsafe.Pointer(&v[0]), nil); err != nil {
		t.Fatal(err)
	}
	return v
}

// A pass on a wrapped cl_mem reads and writes it in place; CLMem hands out the cl_mem and offset of a
// view; Memory counts the wrapped bytes apart; Free ends gpuact's use and leaves the cl_mem the
// caller's, with its values.
func TestWrapCLMem(t *testing.T) {
	b := openFirst(t)
	defer b.Close()
	m, err := b.lib.CreateBuffer(b.program.ctx, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer b.lib.ReleaseMem(m)
	writeMem(t, b, m, 0, []float32{-2, -1, 0, 1, 2, 3, -3, 4})
	buf, err := b.WrapCLMem(uintptr(m), formula.Float32, 8) // 32 of the 64 bytes
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Memory(); st.Wrapped != 32 || st.InUse != 0 || st.Buffers != 0 {
		t.Errorf("Memory: wrapped %d, in use %d in %d buffers; want 32 wrapped and nothing owned", st.Wrapped, st.InUse, st.Buffers)
	}
	view, _ := buf.Slice(2, 6)
	if err := b.Forward(formula.ReLU(), view, view); err != nil {
		t.Fatal(err)
	}
	h, off, err := b.CLMem(view)
	if err != nil || cl.Mem(h) != m || off != 8 {
		t.Fatalf("CLMem of elements [2:6] = %#x, %d, %v; want %#x, 8", h, off, err, uintptr(m))
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	if got, want := readMem(t, b, b.queue, m, 0, 8), []float32{-2, -1, 0, 1, 2, 3, -3, 4}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after ReLU in place on [2:6]: %v, want %v", got, want)
	}
	if err := b.Forward(formula.ReLU(), buf, buf); err != nil {
		t.Fatal(err)
	}
	if err := b.Free(buf); err != nil {
		t.Fatal(err)
	}
	if got, want := readMem(t, b, b.queue, m, 0, 8), []float32{0, 0, 0, 1, 2, 3, 0, 4}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after ReLU in place on all 8 and Free: %v, want %v", got, want)
	}
	if err := b.Forward(formula.ReLU(), buf, buf); !errors.Is(err, core.ErrFreed) {
		t.Errorf("a pass on a freed wrapped buffer: %v, want ErrFreed", err)
	}
	if _, _, err := b.CLMem(buf); !errors.Is(err, core.ErrFreed) {
		t.Errorf("CLMem of a freed buffer: %v, want ErrFreed", err)
	}
	if st, _ := b.Memory(); st.Wrapped != 0 {
		t.Errorf("Memory after Free: wrapped %d, want 0", st.Wrapped)
	}
}

func TestWrapCLMemMisuse(t *testing.T) {
	b := openFirst(t)
	defer b.Close()
	m, err := b.lib.CreateBuffer(b.program.ctx, 40)
	if err != nil {
		t.Fatal(err)
	}
	defer b.lib.ReleaseMem(m)
	// A cl_mem of another context on the same device.
	ctx2, err := b.lib.CreateContext(b.program.dev.platform, b.program.dev.id)
	if err != nil {
		t.Fatal(err)
	}
	defer b.lib.ReleaseContext(ctx2)
	foreign, err := b.lib.CreateBuffer(ctx2, 40)
	if err != nil {
		t.Fatal(err)
	}
	defer b.lib.ReleaseMem(foreign)
	for _, c := range []struct {
		what  string
		mem   cl.Mem
		dtype formula.DType
		n     int
		want  error
	}{
		{"a NULL cl_mem", 0, formula.Float32, 4, core.ErrNilBuffer},
		{"zero elements", m, formula.Float32, 0, core.ErrBadSize},
		{"a negative length", m, formula.Float32, -1, core.ErrBadSize},
		{"more float32s than the cl_mem holds", m, formula.Float32, 11, core.ErrBadSize},
		{"float64s of a cl_mem sized for float32s", m, formula.Float64, 10, core.ErrBadSize},
		{"an invalid dtype", m, formula.DType(0), 4, core.ErrUnsupportedDType},
		{"a cl_mem of another context", foreign, formula.Float32, 4, core.ErrForeignBuffer},
	} {
		if _, err := b.WrapCLMem(uintptr(c.mem), c.dtype, c.n); !errors.Is(err, c.want) {
			t.Errorf("WrapCLMem of %s: %v, want %v", c.what, err, c.want)
		}
	}
	if st, _ := b.Memory(); st.Wrapped != 0 {
		t.Errorf("refused wraps left %d bytes wrapped", st.Wrapped)
	}
	f32, err := b.WrapCLMem(uintptr(m), formula.Float32, 10)
	if err != nil {
		t.Fatal(err)
	}
	own, err := b.Alloc(formula.Float16, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Forward(formula.ReLU(), f32, own); !errors.Is(err, core.ErrDTypeMismatch) {
		t.Errorf("a float32 wrapped buffer and a float16 one in one pass: %v, want ErrDTypeMismatch", err)
	}
	if _, err := f32.Slice(4, 11); !errors.Is(err, core.ErrOutOfRange) {
		t.Errorf("Slice(4, 11) of 10 wrapped elements: %v, want ErrOutOfRange", err)
	}
	if _, err := f32.Slice(-1, 3); !errors.Is(err, core.ErrOutOfRange) {
		t.Errorf("Slice(-1, 3) of 10 wrapped elements: %v, want ErrOutOfRange", err)
	}
	other := openFirst(t)
	defer other.Close()
	if err := other.Forward(formula.ReLU(), f32, f32); !errors.Is(err, core.ErrForeignBuffer) {
		t.Errorf("a buffer wrapped by another backend value: %v, want ErrForeignBuffer", err)
	}
	if _, _, err := other.CLMem(f32); !errors.Is(err, core.ErrForeignBuffer) {
		t.Errorf("CLMem of another backend's buffer: %v, want ErrForeignBuffer", err)
	}
	if _, _, err := b.CLMem(core.Buffer{}); !errors.Is(err, core.ErrNilBuffer) {
		t.Errorf("CLMem of the zero Buffer: %v, want ErrNilBuffer", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WrapCLMem(uintptr(m), formula.Float32, 4); !errors.Is(err, core.ErrClosed) {
		t.Errorf("WrapCLMem after Close: %v, want ErrClosed", err)
	}
	if err := b.UseQueue(0); !errors.Is(err, core.ErrClosed) {
		t.Errorf("UseQueue after Close: %v, want ErrClosed", err)
	}
}

// Through the shim, which counts every reference: gpuact retains a wrapped cl_mem once and releases
// only that reference, whether the caller drops its own before Free (gpuact's keeps the memory alive
// for its work) or keeps it past Close (gpuact never releases the caller's).
func TestWrapCLMemReferences(t *testing.T) {
	s := useShim(t)
	b := s.open()
	mine, err := b.lib.CreateBuffer(b.program.ctx, 4*1000)
	if err != nil {
		t.Fatal(err)
	}
	early, err := b.lib.CreateBuffer(b.program.ctx, 4*1000)
	if err != nil {
		t.Fatal(err)
	}
	m0 := s.Objects(clshim.Mem)
	kept, err := b.WrapCLMem(uintptr(mine), formula.Float32, 1000)
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := b.WrapCLMem(uintptr(early), formula.Float32, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.lib.ReleaseMem(early); err != nil { // the caller's reference: gpuact's keeps it alive
		t.Fatal(err)
	}
	if m := s.Objects(clshim.Mem); m.Retained-m0.Retained != 2 || m.Live != m0.Live {
		t.Errorf("after two wraps and the caller's release of one: %+v (before %+v), want 2 retains and both live", m, m0)
	}
	if err := b.Forward(formula.ReLU(), dropped, kept); err != nil {
		t.Fatal(err)
	}
	if err := b.Free(dropped); err != nil {
		t.Fatal(err)
	}
	if err := b.Free(dropped); err != nil { // twice: releases nothing more
		t.Fatal(err)
	}
	if m := s.Objects(clshim.Mem); m.Live != m0.Live-1 {
		t.Errorf("after Free of the buffer whose cl_mem the caller released: %d live, want %d", m.Live, m0.Live-1)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if m := s.Objects(clshim.Mem); m.Live != m0.Live-1 || m.Released-m0.Released != 3 {
		t.Errorf("after Close: %+v (before %+v), want the caller's cl_mem live and 3 releases (the caller's one, gpuact's two)", m, m0)
	}
	if err := b.lib.ReleaseMem(mine); err != nil { // the caller's own reference is still there to release
		t.Fatal(err)
	}
}

// UseQueue puts gpuact's work on the caller's queue, ordered with the caller's own commands on it:
// the caller's write, then gpuact's pass, then the caller's read see each other's results with no
// Sync between them.
func TestUseQueue(t *testing.T) {
	b := openFirst(t)
	defer b.Close()
	q, err := b.lib.CreateQueue(b.program.ctx, b.program.dev.id, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.lib.ReleaseQueue(q)
	if err := b.UseQueue(uintptr(q)); err != nil {
		t.Fatal(err)
	}
	x, err := b.Alloc(formula.Float32, 4)
	if err != nil {
		t.Fatal(err)
	}
	xm, _, err := b.CLMem(x)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		in := []float32{-1, float32(round), -3, 4}
		if err := b.lib.Write(q, cl.Mem(xm), false, 0, 16, unsafe.Pointer(&in[0]), nil); err != nil {
			t.Fatal(err)
		}
		if err := b.Forward(formula.LeakyReLU(0.5), x, x); err != nil {
			t.Fatal(err)
		}
		got := readMem(t, b, q, cl.Mem(xm), 0, 4) // blocking, on q: after the pass, with no Sync
		if want := []float32{-0.5, float32(round), -1.5, 4}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: the caller's read after gpuact's pass on the caller's queue: %v, want %v", round, got, want)
		}
	}
	// A queue of another context is refused; the backend keeps the caller's queue.
	ctx2, err := b.lib.CreateContext(b.program.dev.platform, b.program.dev.id)
	if err != nil {
		t.Fatal(err)
	}
	defer b.lib.ReleaseContext(ctx2)
	q2, err := b.lib.CreateQueue(ctx2, b.program.dev.id, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.lib.ReleaseQueue(q2)
	if err := b.UseQueue(uintptr(q2)); !errors.Is(err, core.ErrUnsupported) {
		t.Errorf("UseQueue with a queue of another context: %v, want ErrUnsupported", err)
	}
	if err := b.UseQueue(0); err != nil {
		t.Fatal(err)
	}
	if b.queue != b.ownQueue {
		t.Error("UseQueue(0) did not return to the backend's own queue")
	}
	works(t, b)
}

// Freed buffers are reused by the next Alloc of the same size in bytes; Memory reports them apart;
// Trim gives them back.
func TestPoolReuse(t *testing.T) {
	b := openFirst(t)
	defer b.Close()
	x, err := b.Alloc(formula.Float32, 1<<18)
	if err != nil {
		t.Fatal(err)
	}
	first := handle(x)
	if err := b.Free(x); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Memory(); st.Pooled != 1<<20 || st.InUse != 0 || st.Buffers != 0 {
		t.Fatalf("after Free: pooled %d, in use %d in %d buffers; want 1 MiB pooled", st.Pooled, st.InUse, st.Buffers)
	}
	other, err := b.Alloc(formula.Float32, 1<<17) // another size: not from the pool
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.Alloc(formula.Float64, 1<<17) // the same bytes, another dtype: a cl_mem is untyped
	if err != nil {
		t.Fatal(err)
	}
	if handle(y) != first || handle(other) == first {
		t.Error("an Alloc of the byte size just freed did not reuse its cl_mem, or another size did")
	}
	if st, _ := b.Memory(); st.Pooled != 0 || st.InUse != 1<<20+1<<19 {
		t.Errorf("after reuse: pooled %d, in use %d", st.Pooled, st.InUse)
	}
	_ = b.Free(y)
	_ = b.Free(other)
	if st, _ := b.Memory(); st.Pooled != 1<<20+1<<19 {
		t.Errorf("after freeing both: pooled %d", st.Pooled)
	}
	if err := b.Trim(); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Memory(); st.Pooled != 0 {
		t.Errorf("after Trim: pooled %d", st.Pooled)
	}
}

// A cl_mem that gpuact releases (a wrapped one at Free, an owned one the full pool does not keep, the
// pool's at Trim) must stop being a cached kernel argument: the driver may hand out its handle again
// for a new cl_mem, and a launch that skipped clSetKernelArg for the "same" handle would run on the old
// object's memory. (Before this was fixed, the wrapped conformance suite aborted PoCL that way.)
func TestReleasedMemIsNoCachedArgument(t *testing.T) {
	b := openFirst(t)
	defer b.Close()
	b.pool.max = 0 // an owned buffer is released at Free, not pooled
	cached := func(m cl.Mem) bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, k := range b.kernels {
			for _, i := range [...]int{argOut, argIn1, argIn2} {
				if k.set[i] && k.args[i] == uint64(m) {
					return true
				}
			}
		}
		return false
	}
	raw, err := b.lib.CreateBuffer(b.program.ctx, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer b.lib.ReleaseMem(raw)
	wrapped, err := b.WrapCLMem(uintptr(raw), formula.Float32, 16)
	if err != nil {
		t.Fatal(err)
	}
	owned, err := b.Alloc(formula.Float32, 16)
	if err != nil {
		t.Fatal(err)
	}
	for name, buf := range map[string]core.Buffer{"wrapped": wrapped, "owned": owned} {
		m := handle(buf)
		if err := b.Forward(formula.ReLU(), buf, buf); err != nil {
			t.Fatal(err)
		}
		if !cached(m) {
			t.Fatal("the launch did not cache its buffer argument: this test no longer tests anything")
		}
		if err := b.Free(buf); err != nil {
			t.Fatal(err)
		}
		if cached(m) {
			t.Errorf("a released cl_mem (%s) is still a cached kernel argument", name)
		}
	}
}

// BenchmarkAllocFree is the host cost of an Alloc+Free pair of 1 MiB: with the pool, and without it
// (a pool that keeps nothing: clCreateBuffer and clReleaseMemObject every time, as before the pool).
func BenchmarkAllocFree(bm *testing.B) {
	for _, c := range []struct {
		name string
		max  int64
	}{{"pool", -1}, {"nopool", 0}} {
		bm.Run(c.name, func(bm *testing.B) {
			devs := Devices()
			var b *Backend
			for _, d := range devs {
				if d.Usable {
					be, err := d.Open()
					if err != nil {
						bm.Fatal(err)
					}
					b = be.(*Backend)
					break
				}
			}
			if b == nil {
				bm.Skip("no usable OpenCL device")
			}
			defer b.Close()
			if c.max >= 0 {
				b.pool.max = c.max
			}
			for bm.Loop() {
				x, err := b.Alloc(formula.Float32, 1<<18)
				if err != nil {
					bm.Fatal(err)
				}
				if err := b.Free(x); err != nil {
					bm.Fatal(err)
				}
			}
		})
	}
}
