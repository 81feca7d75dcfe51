package backendtest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/verify"
)

// guard is how many poisoned elements surround each buffer of a check (odd, so the end of a buffer is
// misaligned too).
const guard = 19

// placed is one buffer of a check: an allocation of off+n+guard elements, poisoned, with the data at
// [off, off+n) and the view of that range.
type placed[T formula.Elem] struct {
	whole, view core.Buffer
	host        []T // what whole must hold
}

// place allocates and uploads data at element offset off, surrounded by poison. A nil data gives a
// poisoned output of n elements.
func place[T formula.Elem](b core.Backend, data []T, n, off int) (placed[T], error) {
	var p placed[T]
	whole, err := b.Alloc(formula.DTypeOf[T](), off+n+guard)
	if err != nil {
		return p, err
	}
	p.whole = whole
	p.host = make([]T, off+n+guard)
	for i := range p.host {
		p.host[i] = Poison[T]()
	}
	copy(p.host[off:], data)
	if err := b.Upload(whole, core.HostOf(p.host)); err != nil {
		b.Free(whole)
		return p, err
	}
	p.view, err = whole.Slice(off, off+n)
	return p, err
}

// download reads the whole allocation back.
func (p placed[T]) download(b core.Backend) ([]T, error) {
	got := make([]T, p.whole.Len())
	return got, b.Download(core.HostOf(got), p.whole)
}

// unchanged checks that the allocation still holds what was uploaded, bit for bit.
func (p placed[T]) unchanged(b core.Backend, name string) error {
	got, err := p.download(b)
	if err != nil {
		return fmt.Errorf("download %s: %w", name, err)
	}
	for i := range got {
		if !sameBits(got[i], p.host[i]) {
			return fmt.Errorf("%s[%d] of its allocation changed from %v to %v: an input or a guard was written", name, i, p.host[i], got[i])
		}
	}
	return nil
}

// checkOutput checks that the output's guards are intact, every element of the view was written, and
// the values are within tolerance of the oracle for inputs a, b.
func checkOutput[T formula.Elem](be core.Backend, p formula.Pass, act formula.Activation, out placed[T], off int, a, b []T) error {
	got, err := out.download(be)
	if err != nil {
		return fmt.Errorf("download output: %w", err)
	}
	n := out.view.Len()
	for i := range got {
		inside := i >= off && i < off+n
		if !inside && !IsPoison(got[i]) {
			return fmt.Errorf("guard element %d (view is [%d:%d]) was written: %v", i, off, off+n, got[i])
		}
		if inside && IsPoison(got[i]) {
			return fmt.Errorf("element %d of %d was not written", i-off, n)
		}
	}
	if r := verify.Check(p, act, got[off:off+n], a, b, be.Info().Denormals); !r.OK() {
		return fmt.Errorf("%v", r)
	}
	return nil
}

// inputsFor draws the inputs of pass p: x for Forward; dy and x, or dy and y, for the backward passes.
func inputsFor[T formula.Elem](rng *rand.Rand, p formula.Pass, act formula.Activation, n int) (a, b []T) {
	switch p {
	case formula.Forward:
		return Inputs[T](rng, n), nil
	case formula.BackwardFromInput:
		return Grads[T](rng, n), Inputs[T](rng, n)
	}
	return Grads[T](rng, n), Outputs[T](rng, act, n)
}

// checkPass runs pass p of act on n elements, with the output and inputs at element offsets offs, and
// checks everything SEMANTICS §2 and §3 ask of the result.
func checkPass[T formula.Elem](be core.Backend, rng *rand.Rand, p formula.Pass, act formula.Activation, n int, offs [3]int) (err error) {
	a, b := inputsFor[T](rng, p, act, n)
	var bufs []placed[T]
	defer func() {
		for _, pb := range bufs {
			be.Free(pb.whole)
		}
	}()
	out, err := place[T](be, nil, n, offs[0])
	if err != nil {
		return err
	}
	bufs = append(bufs, out)
	in1, err := place(be, a, n, offs[1])
	if err != nil {
		return err
	}
	bufs = append(bufs, in1)
	var in2 placed[T]
	if b != nil {
		if in2, err = place(be, b, n, offs[2]); err != nil {
			return err
		}
		bufs = append(bufs, in2)
	}
	if err := core.Run(be, p, act, out.view, in1.view, in2.view); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if err := checkOutput(be, p, act, out, offs[0], a, b); err != nil {
		return err
	}
	if err := in1.unchanged(be, "input 1"); err != nil {
		return err
	}
	if b != nil {
		return in2.unchanged(be, "input 2")
	}
	return nil
}

// offsetSets are the element offsets of (output, input 1, input 2): all aligned, all misaligned alike,
// and misaligned differently from each other.
var offsetSets = [][3]int{{0, 0, 0}, {1, 1, 1}, {1, 0, 3}, {3, 2, 0}}

func testPasses(t *testing.T, b core.Backend) {
	for _, dt := range dtypes(b) {
		for _, p := range formula.Passes {
			for _, act := range activations(p, true) {
				t.Run(fmt.Sprintf("%s/%s/%s", dt, p, act), func(t *testing.T) {
					t.Parallel()
					rng := seed(t)
					isDefault := act == act.Kind().Default()
					failures := 0
					for _, n := range Sizes {
						offs := offsetSets
						if n > 1<<16 {
							if !isDefault {
								continue // the largest size once per activation, at its default α
							}
							offs = [][3]int{offsetSets[0], offsetSets[2]}
						}
						for _, o := range offs {
							err := byDType(dt, perDType{
								f32:  func() error { return checkPass[float32](b, rng, p, act, n, o) },
								f64:  func() error { return checkPass[float64](b, rng, p, act, n, o) },
								f16:  func() error { return checkPass[formula.F16](b, rng, p, act, n, o) },
								bf16: func() error { return checkPass[formula.BF16](b, rng, p, act, n, o) },
							})
							if err != nil {
								t.Errorf("n=%d offsets (out, in1, in2)=%v: %v", n, o, err)
								if failures++; failures == 3 {
									t.FailNow()
								}
							}
						}
					}
				})
			}
		}
	}
}
