package backendtest

import (
	"fmt"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/verify"
)

// testInPlace runs every pass with the output exactly an input: y = x for Forward, dx = dy for the
// backward passes (SEMANTICS §4), and dx = x or dx = y, which elementwise passes can serve as well.
func testInPlace(t *testing.T, b core.Backend) {
	for _, dt := range dtypes(b) {
		for _, p := range formula.Passes {
			for _, act := range activations(p, false) {
				for _, n := range []int{1, 17, 1025, 1<<16 + 3} {
					aliases := []int{1}
					if p != formula.Forward {
						aliases = append(aliases, 2)
					}
					for _, alias := range aliases {
						err := byDType(dt, perDType{
							f32:  func() error { return inPlace[float32](t, b, p, act, n, alias) },
							f64:  func() error { return inPlace[float64](t, b, p, act, n, alias) },
							f16:  func() error { return inPlace[formula.F16](t, b, p, act, n, alias) },
							bf16: func() error { return inPlace[formula.BF16](t, b, p, act, n, alias) },
						})
						if err != nil {
							t.Errorf("%s %s %s n=%d, output = input %d: %v", dt, p, act, n, alias, err)
						}
					}
				}
			}
		}
	}
}

func inPlace[T formula.Elem](t *testing.T, be core.Backend, p formula.Pass, act formula.Activation, n, alias int) error {
	rng := seed(t)
	a, b := inputsFor[T](rng, p, act, n)
	pa, err := place(be, a, n, 1)
	if err != nil {
		return err
	}
	defer be.Free(pa.whole)
	var pb placed[T]
	if b != nil {
		if pb, err = place(be, b, n, 2); err != nil {
			return err
		}
		defer be.Free(pb.whole)
	}
	out, off := pa, 1
	if alias == 2 {
		out, off = pb, 2
	}
	if err := core.Run(be, p, act, out.view, pa.view, pb.view); err != nil {
		return err
	}
	got, err := out.download(be)
	if err != nil {
		return err
	}
	for i := range got {
		if (i < off || i >= off+n) && !IsPoison(got[i]) {
			return fmt.Errorf("guard element %d written", i)
		}
	}
	if r := verify.Check(p, act, got[off:off+n], a, b, be.Info().Denormals); !r.OK() {
		return fmt.Errorf("%v", r)
	}
	return nil
}

// testOverlap checks that an output partially overlapping an input is refused with ErrOverlap and that
// nothing is written, while inputs that overlap each other are fine.
func testOverlap(t *testing.T, b core.Backend) {
	const n = 64
	buf, err := b.Alloc(formula.Float32, 2*n)
	ok(t, err, "Alloc")
	defer b.Free(buf)
	host := make([]float32, 2*n)
	for i := range host {
		host[i] = float32(i) - n
	}
	ok(t, b.Upload(buf, core.HostOf(host)), "Upload")
	v := func(lo int) core.Buffer {
		s, err := buf.Slice(lo, lo+n)
		ok(t, err, "Slice")
		return s
	}
	act := formula.ELU(1)
	for _, c := range []struct {
		name          string
		p             formula.Pass
		out, in1, in2 core.Buffer
	}{
		{"forward y = x shifted by 1", formula.Forward, v(1), v(0), core.Buffer{}},
		{"forward y = x shifted by -5", formula.Forward, v(0), v(5), core.Buffer{}},
		{"backward-input dx overlaps dy", formula.BackwardFromInput, v(3), v(0), v(n)},
		{"backward-input dx overlaps x", formula.BackwardFromInput, v(0), v(n), v(n - 1)},
		{"backward-output dx overlaps y", formula.BackwardFromOutput, v(n), v(0), v(n / 2)},
	} {
		is(t, core.Run(b, c.p, act, c.out, c.in1, c.in2), core.ErrOverlap, c.name)
	}
	got := make([]float32, 2*n)
	ok(t, b.Download(core.HostOf(got), buf), "Download")
	for i := range got {
		if got[i] != host[i] {
			t.Fatalf("a refused call wrote element %d: %v, was %v", i, got[i], host[i])
		}
	}
	// Inputs may overlap each other: dy = [0:n), x = [1:n+1).
	out, err := b.Alloc(formula.Float32, n)
	ok(t, err, "Alloc")
	defer b.Free(out)
	ok(t, b.BackwardFromInput(act, out, v(0), v(1)), "overlapping inputs")
	res := make([]float32, n)
	ok(t, b.Download(core.HostOf(res), out), "Download")
	if r := verify.Check(formula.BackwardFromInput, act, res, host[:n], host[1:n+1], b.Info().Denormals); !r.OK() {
		t.Errorf("overlapping inputs: %v", r)
	}
}

// testZeroLength checks that zero-length buffers and views are valid no-ops everywhere.
func testZeroLength(t *testing.T, b core.Backend) {
	for _, dt := range dtypes(b) {
		z, err := b.Alloc(dt, 0)
		ok(t, err, "Alloc 0")
		big, err := b.Alloc(dt, 8)
		ok(t, err, "Alloc 8")
		empty, err := big.Slice(8, 8)
		ok(t, err, "Slice(8, 8)")
		for _, p := range formula.Passes {
			for _, act := range activations(p, false) {
				ok(t, core.Run(b, p, act, z, z, z), fmt.Sprintf("%s %s %s on zero-length buffers", dt, p, act))
				ok(t, core.Run(b, p, act, empty, z, empty), fmt.Sprintf("%s %s %s on zero-length views", dt, p, act))
			}
		}
		ok(t, byDType(dt, perDType{zeroLengthCopies[float32](b, z, empty), zeroLengthCopies[float64](b, z, empty),
			zeroLengthCopies[formula.F16](b, z, empty), zeroLengthCopies[formula.BF16](b, z, empty)}), "Upload and Download of 0 elements")
		ok(t, b.Sync(), "Sync")
		ok(t, b.Free(z), "Free 0")
		ok(t, b.Free(big), "Free")
	}
}

// testSlices checks that uploads and downloads through views touch only the view.
func testSlices(t *testing.T, b core.Backend) {
	const n = 100
	for _, dt := range dtypes(b) {
		buf, err := b.Alloc(dt, n)
		ok(t, err, "Alloc")
		defer b.Free(buf)
		ok(t, byDType(dt, perDType{
			f32:  func() error { slices[float32](t, b, buf); return nil },
			f64:  func() error { slices[float64](t, b, buf); return nil },
			f16:  func() error { slices[formula.F16](t, b, buf); return nil },
			bf16: func() error { slices[formula.BF16](t, b, buf); return nil },
		}), "Slices")
	}
}

// zeroLengthCopies returns a check that uploads into z and downloads from empty, both of zero length.
func zeroLengthCopies[T formula.Elem](b core.Backend, z, empty core.Buffer) func() error {
	return func() error {
		if err := b.Upload(z, core.HostOf([]T{})); err != nil {
			return err
		}
		return b.Download(core.HostOf([]T(nil)), empty)
	}
}

func slices[T formula.Elem](t *testing.T, b core.Backend, buf core.Buffer) {
	n := buf.Len()
	base := make([]T, n)
	for i := range base {
		base[i] = of[T](float64(i)) // exact: every dtype holds the integers up to 256
	}
	ok(t, b.Upload(buf, core.HostOf(base)), "Upload")
	v, err := buf.Slice(13, 50)
	ok(t, err, "Slice")
	vv, err := v.Slice(2, 7) // a view of a view: elements [15, 20)
	ok(t, err, "Slice of a slice")
	if vv.Offset() != 15 || vv.Len() != 5 {
		t.Fatalf("view of a view: offset %d len %d, want 15 and 5", vv.Offset(), vv.Len())
	}
	ok(t, b.Upload(vv, core.HostOf([]T{of[T](-1), of[T](-2), of[T](-3), of[T](-4), of[T](-5)})), "Upload to a view")
	got := make([]T, n)
	ok(t, b.Download(core.HostOf(got), buf), "Download")
	for i := range got {
		want := of[T](float64(i))
		if i >= 15 && i < 20 {
			want = of[T](float64(-(i - 14)))
		}
		if got[i] != want {
			t.Fatalf("after an upload to [15:20), element %d = %v, want %v", i, got[i], want)
		}
	}
	// Device-to-device copy between views: [15:20) onto [60:65).
	dst, err := buf.Slice(60, 65)
	ok(t, err, "Slice")
	ok(t, b.Copy(dst, vv), "Copy")
	ok(t, b.Copy(dst, dst), "Copy onto itself")
	ok(t, b.Download(core.HostOf(got), buf), "Download")
	for i := range 5 {
		if got[60+i] != of[T](float64(-(i+1))) || got[59] != of[T](59) || got[65] != of[T](65) {
			t.Fatalf("Copy of [15:20) to [60:65): %v", got[55:70])
		}
	}
	shifted, err := buf.Slice(16, 21)
	ok(t, err, "Slice")
	is(t, b.Copy(shifted, vv), core.ErrOverlap, "Copy between partially overlapping views")
	short, err := buf.Slice(0, 4)
	ok(t, err, "Slice")
	is(t, b.Copy(short, vv), core.ErrLengthMismatch, "Copy of 5 elements into 4")
	is(t, b.Copy(core.Buffer{}, vv), core.ErrNilBuffer, "Copy into nil")
	part := make([]T, 5)
	ok(t, b.Download(core.HostOf(part), vv), "Download from a view")
	if part[0] != of[T](-1) || part[4] != of[T](-5) {
		t.Fatalf("download from a view: %v", part)
	}
}
