package backendtest

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// testBadInput checks every case of SEMANTICS §6: the sentinel error, a message that names the argument and
// values, nothing written, and a backend that still works afterwards.
func testBadInput(t *testing.T, b core.Backend, open Opener) {
	const n = 16
	alloc := func(dt formula.DType, n int) core.Buffer {
		t.Helper()
		buf, err := b.Alloc(dt, n)
		ok(t, err, "Alloc")
		t.Cleanup(func() { b.Free(buf) })
		return buf
	}
	x, y, dy := alloc(formula.Float32, n), alloc(formula.Float32, n), alloc(formula.Float32, n)
	ok(t, b.Upload(x, core.HostOf(make([]float32, n))), "Upload")
	ok(t, b.Upload(dy, core.HostOf(make([]float32, n))), "Upload")
	short := alloc(formula.Float32, n-1)
	act := formula.ELU(1)

	// args returns the buffers of pass p with the one at position i (0 = output) replaced.
	args := func(p formula.Pass, i int, r core.Buffer) (out, in1, in2 core.Buffer) {
		bufs := [3]core.Buffer{y, dy, x}
		if p == formula.Forward {
			bufs = [3]core.Buffer{y, x, {}}
		}
		bufs[i] = r
		return bufs[0], bufs[1], bufs[2]
	}
	positions := func(p formula.Pass) []int {
		if p == formula.Forward {
			return []int{0, 1}
		}
		return []int{0, 1, 2}
	}
	names := map[formula.Pass][3]string{
		formula.Forward: {"y", "x"}, formula.BackwardFromInput: {"dx", "dy", "x"}, formula.BackwardFromOutput: {"dx", "dy", "y"},
	}
	// mentions checks that err's message names the argument and, if given, values.
	mentions := func(err error, what string, words ...string) {
		t.Helper()
		if err == nil {
			return
		}
		for _, w := range words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: message %q does not mention %q", what, err, w)
			}
		}
	}

	t.Run("LengthMismatch", func(t *testing.T) {
		for _, p := range formula.Passes {
			for _, i := range positions(p) {
				out, in1, in2 := args(p, i, short)
				err := core.Run(b, p, act, out, in1, in2)
				is(t, err, core.ErrLengthMismatch, fmt.Sprintf("%s with %s shorter", p, names[p][i]))
				mentions(err, p.String(), names[p][i], fmt.Sprint(n), fmt.Sprint(n-1))
			}
		}
		err := b.Upload(x, core.HostOf(make([]float32, n+1)))
		is(t, err, core.ErrLengthMismatch, "Upload of n+1 elements into n")
		mentions(err, "Upload", fmt.Sprint(n), fmt.Sprint(n+1))
		is(t, b.Download(core.HostOf(make([]float32, n-1)), x), core.ErrLengthMismatch, "Download of n elements into n-1")
	})
	t.Run("DTypeMismatch", func(t *testing.T) {
		if !b.Info().DTypes.Has(formula.Float64) {
			is(t, b.Upload(x, core.HostOf(make([]float64, n))), core.ErrDTypeMismatch, "Upload of float64 into float32")
			return
		}
		other := alloc(formula.Float64, n)
		for _, p := range formula.Passes {
			for _, i := range positions(p) {
				out, in1, in2 := args(p, i, other)
				err := core.Run(b, p, act, out, in1, in2)
				is(t, err, core.ErrDTypeMismatch, fmt.Sprintf("%s with %s float64", p, names[p][i]))
				mentions(err, p.String(), names[p][i], "float32", "float64")
			}
		}
		is(t, b.Upload(x, core.HostOf(make([]float64, n))), core.ErrDTypeMismatch, "Upload of float64 into float32")
		is(t, b.Download(core.HostOf(make([]float32, n)), other), core.ErrDTypeMismatch, "Download of float64 into float32")
		is(t, b.Upload(x, core.Host{}), core.ErrDTypeMismatch, "Upload of the zero Host")
	})
	t.Run("ForeignBuffer", func(t *testing.T) {
		// Another backend value owns its buffers, even on the same device.
		for _, other := range []core.Backend{mustOpen(t, open)} {
			f, err := other.Alloc(formula.Float32, n)
			ok(t, err, "Alloc on the other backend")
			for _, p := range formula.Passes {
				for _, i := range positions(p) {
					out, in1, in2 := args(p, i, f)
					err := core.Run(b, p, act, out, in1, in2)
					is(t, err, core.ErrForeignBuffer, fmt.Sprintf("%s with %s from %s", p, names[p][i], other.Info().Spec))
					mentions(err, p.String(), names[p][i])
				}
			}
			is(t, b.Upload(f, core.HostOf(make([]float32, n))), core.ErrForeignBuffer, "Upload to a foreign buffer")
			is(t, b.Download(core.HostOf(make([]float32, n)), f), core.ErrForeignBuffer, "Download from a foreign buffer")
			is(t, b.Free(f), core.ErrForeignBuffer, "Free of a foreign buffer")
			ok(t, other.Free(f), "Free on its own backend")
			ok(t, other.Close(), "Close the other backend")
		}
	})
	t.Run("Freed", func(t *testing.T) {
		f, err := b.Alloc(formula.Float32, n)
		ok(t, err, "Alloc")
		view, err := f.Slice(1, n)
		ok(t, err, "Slice")
		ok(t, b.Free(f), "Free")
		ok(t, b.Free(f), "second Free")
		ok(t, b.Free(view), "Free of a slice of a freed buffer")
		for _, p := range formula.Passes {
			for _, i := range positions(p) {
				out, in1, in2 := args(p, i, f)
				err := core.Run(b, p, act, out, in1, in2)
				is(t, err, core.ErrFreed, fmt.Sprintf("%s with %s freed", p, names[p][i]))
				mentions(err, p.String(), names[p][i])
			}
		}
		is(t, b.Upload(f, core.HostOf(make([]float32, n))), core.ErrFreed, "Upload to a freed buffer")
		is(t, b.Download(core.HostOf(make([]float32, n)), f), core.ErrFreed, "Download from a freed buffer")
		is(t, b.Download(core.HostOf(make([]float32, n-1)), view), core.ErrFreed, "Download from a slice of a freed buffer")
	})
	t.Run("NilBuffer", func(t *testing.T) {
		for _, p := range formula.Passes {
			for _, i := range positions(p) {
				out, in1, in2 := args(p, i, core.Buffer{})
				err := core.Run(b, p, act, out, in1, in2)
				is(t, err, core.ErrNilBuffer, fmt.Sprintf("%s with %s nil", p, names[p][i]))
				mentions(err, p.String(), names[p][i])
			}
		}
		is(t, b.Upload(core.Buffer{}, core.HostOf(make([]float32, 0))), core.ErrNilBuffer, "Upload to nil")
		is(t, b.Download(core.HostOf(make([]float32, 0)), core.Buffer{}), core.ErrNilBuffer, "Download from nil")
		_, err := core.Buffer{}.Slice(0, 0)
		is(t, err, core.ErrNilBuffer, "Slice of nil")
		ok(t, b.Free(core.Buffer{}), "Free of nil")
	})
	t.Run("BadSize", func(t *testing.T) {
		sizes := []int{-1, math.MinInt}
		if math.MaxInt > core.MaxElements { // 64-bit platforms
			tooMany := core.MaxElements + 1
			sizes = append(sizes, int(tooMany), math.MaxInt/4, math.MaxInt)
		}
		for _, size := range sizes {
			_, err := b.Alloc(formula.Float32, size)
			is(t, err, core.ErrBadSize, fmt.Sprintf("Alloc(float32, %d)", size))
			mentions(err, "Alloc", fmt.Sprint(size))
		}
		_, err := b.Alloc(formula.Float64, math.MaxInt/8+1)
		if b.Info().DTypes.Has(formula.Float64) && math.MaxInt > core.MaxElements {
			is(t, err, core.ErrBadSize, "Alloc(float64, MaxInt/8+1)")
		}
		for _, r := range [][2]int{{-1, 2}, {3, 2}, {0, n + 1}, {n + 1, n + 1}} {
			_, err := x.Slice(r[0], r[1])
			is(t, err, core.ErrOutOfRange, fmt.Sprintf("Slice(%d, %d) of %d", r[0], r[1], n))
			mentions(err, "Slice", fmt.Sprint(r[0]), fmt.Sprint(r[1]))
		}
	})
	t.Run("OutOfMemory", func(t *testing.T) {
		m, err := b.Memory()
		ok(t, err, "Memory")
		total := max(m.Total, b.Info().Memory)
		if total <= 0 {
			t.Fatalf("%s reports no memory size, so an allocation larger than the device cannot be built", b.Info().Spec)
		}
		// Twice the device, in float32 elements; on 32-bit platforms the most an int holds (8 GiB).
		size := min(2*total/4+(64<<20), core.MaxElements, math.MaxInt)
		_, err = b.Alloc(formula.Float32, int(size))
		is(t, err, core.ErrOutOfMemory, fmt.Sprintf("Alloc of %d float32 (twice the device's %d bytes)", size, total))
		checkStillWorks(t, b)
	})
	t.Run("Alpha", func(t *testing.T) {
		for _, p := range formula.Passes {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				for _, a := range []formula.Activation{formula.LeakyReLU(bad), formula.ELU(bad)} {
					out, in1, in2 := args(p, 0, y)
					err := core.Run(b, p, a, out, in1, in2)
					is(t, err, core.ErrBadAlpha, fmt.Sprintf("%s %s", p, a))
					mentions(err, p.String(), fmt.Sprint(bad))
				}
			}
			// α is rounded to the buffers' dtype: finite in float64 but infinite in float32 is refused.
			for _, bad := range []float64{1e39, -1e39, math.MaxFloat64} {
				if p == formula.BackwardFromOutput && bad < 0 {
					continue // ErrNegativeAlpha, checked below
				}
				for _, a := range []formula.Activation{formula.LeakyReLU(bad), formula.ELU(bad)} {
					out, in1, in2 := args(p, 0, y)
					err := core.Run(b, p, a, out, in1, in2)
					is(t, err, core.ErrBadAlpha, fmt.Sprintf("%s %s on float32", p, a))
					mentions(err, p.String(), fmt.Sprint(bad), "float32")
				}
			}
			out, in1, in2 := args(p, 0, y)
			is(t, core.Run(b, p, formula.Activation{}, out, in1, in2), core.ErrBadActivation, fmt.Sprintf("%s with the zero Activation", p))
			// The largest float32 is an α like any other.
			ok(t, core.Run(b, p, formula.ELU(math.MaxFloat32), out, in1, in2), fmt.Sprintf("%s elu:MaxFloat32 on float32", p))
		}
		if b.Info().DTypes.Has(formula.Float64) {
			x64, y64 := alloc(formula.Float64, n), alloc(formula.Float64, n)
			ok(t, b.Upload(x64, core.HostOf(make([]float64, n))), "Upload")
			ok(t, b.Forward(formula.ELU(1e39), y64, x64), "forward elu:1e39 on float64")
		}
		for _, a := range []formula.Activation{formula.LeakyReLU(-0.01), formula.ELU(-1)} {
			err := b.BackwardFromOutput(a, y, dy, x)
			is(t, err, core.ErrNegativeAlpha, fmt.Sprintf("backward-output %s", a))
			mentions(err, "backward-output", fmt.Sprint(a.Alpha()))
		}
		ok(t, b.BackwardFromOutput(formula.ReLU(), y, dy, x), "backward-output relu")
		ok(t, b.BackwardFromInput(formula.ELU(-1), y, dy, x), "backward-input with negative alpha")
	})
	t.Run("DType", func(t *testing.T) {
		for _, dt := range []formula.DType{0, formula.DType(len(formula.DTypes) + 1), 255} {
			_, err := b.Alloc(dt, n)
			is(t, err, core.ErrUnsupportedDType, fmt.Sprintf("Alloc(%v)", dt))
		}
		// Every dtype the device lacks is refused by name, every one it has is allocated (SEMANTICS §6).
		for _, dt := range formula.DTypes {
			buf, err := b.Alloc(dt, n)
			if b.Info().DTypes.Has(dt) {
				ok(t, err, fmt.Sprintf("Alloc(%s) on a device with %s", dt, dt))
				ok(t, b.Free(buf), "Free")
			} else {
				is(t, err, core.ErrUnsupportedDType, fmt.Sprintf("Alloc(%s) on a device without %s", dt, dt))
				mentions(err, "Alloc", dt.String())
			}
		}
	})
	checkStillWorks(t, b)
}

// checkStillWorks runs one pass and checks its result: after refused calls a backend must keep working.
func checkStillWorks(t *testing.T, b core.Backend) {
	t.Helper()
	rng := seed(t)
	if err := checkPass[float32](b, rng, formula.Forward, formula.ELU(1), 1000, [3]int{1, 2, 0}); err != nil {
		t.Fatalf("the backend no longer works: %v", err)
	}
}
