package cpu_test

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"unsafe"

	"github.com/gpuact/gpuact/backend/backendtest"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
)

// wrapping is a CPU backend whose Alloc hands out wrapped Go slices (WrapHost) instead of its own
// memory, so that the whole conformance suite runs on wrapped buffers. Each slice has guard elements
// on both sides; Free and Close check that gpuact wrote none of them.
type wrapping struct {
	*cpu.Backend
	t      *testing.T
	mu     sync.Mutex
	guards map[*core.Alloc]func() error
}

const wrapGuard = 64

func (w *wrapping) Alloc(dt formula.DType, n int) (core.Buffer, error) {
	if n <= 0 || n > 1<<24 || !dt.Valid() || dt.Size() == 0 {
		return w.Backend.Alloc(dt, n) // its own errors for sizes and dtypes (a wrapped slice has ≥ 1 element)
	}
	var h core.Host
	var check func() error
	switch dt {
	case formula.Float32:
		h, check = guardedHost[float32](n)
	case formula.Float64:
		h, check = guardedHost[float64](n)
	case formula.Float16:
		h, check = guardedHost[formula.F16](n)
	case formula.BFloat16:
		h, check = guardedHost[formula.BF16](n)
	default:
		return w.Backend.Alloc(dt, n)
	}
	buf, err := w.WrapHost(h)
	if err != nil {
		return buf, err
	}
	if !buf.Alloc().External() {
		w.t.Errorf("WrapHost returned an allocation that is not marked external")
	}
	w.mu.Lock()
	w.guards[buf.Alloc()] = check
	w.mu.Unlock()
	return buf, nil
}

// guardedHost returns a view of n elements in the middle of a larger slice whose guard elements hold a
// pattern, and a check that the pattern is intact.
func guardedHost[T formula.Elem](n int) (core.Host, func() error) {
	all := make([]T, n+2*wrapGuard)
	bytes := unsafe.Slice((*byte)(unsafe.Pointer(&all[0])), len(all)*int(unsafe.Sizeof(all[0])))
	g := wrapGuard * int(unsafe.Sizeof(all[0]))
	for i := range g {
		bytes[i], bytes[len(bytes)-1-i] = 0xA5, 0x5A
	}
	check := func() error {
		for i := range g {
			if bytes[i] != 0xA5 || bytes[len(bytes)-1-i] != 0x5A {
				return fmt.Errorf("a guard byte around a wrapped slice of %d elements was written", n)
			}
		}
		return nil
	}
	return core.HostOf(all[wrapGuard : wrapGuard+n]), check
}

func (w *wrapping) Free(b core.Buffer) error {
	err := w.Backend.Free(b)
	w.checkGuards(b.Alloc())
	return err
}

func (w *wrapping) Close() error {
	err := w.Backend.Close()
	w.checkGuards(nil)
	return err
}

// checkGuards checks the guards of a (nil: of every allocation) and forgets them.
func (w *wrapping) checkGuards(a *core.Alloc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, check := range w.guards {
		if a == nil || k == a {
			if err := check(); err != nil {
				w.t.Error(err)
			}
			delete(w.guards, k)
		}
	}
}

// The whole conformance suite on wrapped Go slices: gpuact computes on the caller's memory exactly as on
// its own, and never writes outside it.
func TestConformanceWrapped(t *testing.T) {
	backendtest.Run(t, func() (core.Backend, error) {
		return &wrapping{Backend: cpu.New(), t: t, guards: map[*core.Alloc]func() error{}}, nil
	})
}

// A pass on a wrapped slice reads and writes the slice itself: no Upload, no Download.
func TestWrapIsZeroCopy(t *testing.T) {
	b := cpu.New()
	defer b.Close()
	data := []float64{-2, -0.5, 0, 0.5, 2}
	buf, err := b.WrapHost(core.HostOf(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Forward(formula.ELU(1), buf, buf); err != nil {
		t.Fatal(err)
	}
	want := []float64{math.Expm1(-2), math.Expm1(-0.5), 0, 0.5, 2}
	for i := range data {
		if data[i] != want[i] {
			t.Errorf("data[%d] = %v after an in-place ELU on its wrapped buffer, want %v", i, data[i], want[i])
		}
	}
	m, _ := b.Memory()
	if m.Wrapped != 40 || m.InUse != 0 || m.Buffers != 0 {
		t.Errorf("Memory: wrapped %d, in use %d in %d buffers; want 40 wrapped and nothing owned", m.Wrapped, m.InUse, m.Buffers)
	}
	// Free ends gpuact's use; the slice is still the caller's and keeps its values.
	if err := b.Free(buf); err != nil {
		t.Fatal(err)
	}
	if err := b.Forward(formula.ReLU(), buf, buf); !errors.Is(err, core.ErrFreed) {
		t.Errorf("a pass on a freed wrapped buffer: %v, want ErrFreed", err)
	}
	if data[0] != want[0] {
		t.Errorf("Free changed the caller's slice")
	}
	if m, _ := b.Memory(); m.Wrapped != 0 {
		t.Errorf("Memory after Free: wrapped %d, want 0", m.Wrapped)
	}
}

func TestWrapMisuse(t *testing.T) {
	b := cpu.New()
	defer b.Close()
	for _, c := range []struct {
		what string
		h    core.Host
		want error
	}{
		{"a nil slice", core.HostOf([]float32(nil)), core.ErrBadSize},
		{"an empty slice", core.HostOf([]float64{}), core.ErrBadSize},
		{"the zero Host", core.Host{}, core.ErrUnsupportedDType},
	} {
		if _, err := b.WrapHost(c.h); !errors.Is(err, c.want) {
			t.Errorf("WrapHost of %s: %v, want %v", c.what, err, c.want)
		}
	}
	f32, err := b.WrapHost(core.HostOf(make([]float32, 8)))
	if err != nil {
		t.Fatal(err)
	}
	f64, err := b.WrapHost(core.HostOf(make([]float64, 8)))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Forward(formula.ReLU(), f32, f64); !errors.Is(err, core.ErrDTypeMismatch) {
		t.Errorf("float32 and float64 wrapped buffers in one pass: %v, want ErrDTypeMismatch", err)
	}
	if _, err := f32.Slice(4, 9); !errors.Is(err, core.ErrOutOfRange) {
		t.Errorf("Slice(4, 9) of 8 wrapped elements: %v, want ErrOutOfRange", err)
	}
	other := cpu.New()
	defer other.Close()
	if err := other.Forward(formula.ReLU(), f32, f32); !errors.Is(err, core.ErrForeignBuffer) {
		t.Errorf("a buffer wrapped by another backend value: %v, want ErrForeignBuffer", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WrapHost(core.HostOf(make([]float32, 8))); !errors.Is(err, core.ErrClosed) {
		t.Errorf("WrapHost after Close: %v, want ErrClosed", err)
	}
}

// Freed buffers are reused by the next Alloc of the same dtype and length; Memory reports them apart;
// Trim and Close give them back.
func TestPoolReuse(t *testing.T) {
	b := cpu.New()
	defer b.Close()
	x, err := b.Alloc(formula.Float32, 1<<18)
	if err != nil {
		t.Fatal(err)
	}
	first := x.Alloc().Mem()
	if err := b.Free(x); err != nil {
		t.Fatal(err)
	}
	if m, _ := b.Memory(); m.Pooled != 1<<20 || m.InUse != 0 {
		t.Fatalf("after Free: pooled %d, in use %d; want 1 MiB pooled", m.Pooled, m.InUse)
	}
	other, err := b.Alloc(formula.Float64, 1<<18) // another size: not from the pool
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.Alloc(formula.Float32, 1<<18)
	if err != nil {
		t.Fatal(err)
	}
	if y.Alloc().Mem() != first {
		t.Error("an Alloc of the size just freed did not reuse it")
	}
	if m, _ := b.Memory(); m.Pooled != 0 || m.InUse != 1<<20+1<<21 {
		t.Errorf("after reuse: pooled %d, in use %d", m.Pooled, m.InUse)
	}
	_ = b.Free(y)
	_ = b.Free(other)
	if err := b.Trim(); err != nil {
		t.Fatal(err)
	}
	if m, _ := b.Memory(); m.Pooled != 0 {
		t.Errorf("after Trim: pooled %d", m.Pooled)
	}
}
