package cpu_test

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/verify"
)

// FuzzPasses runs a pass of every CPU implementation (cpu.Implementations: the assembly kernels and
// the plain loops) on fuzzed data at a fuzzed offset and compares every element with the oracle; go
// test runs the seed corpus, go test -fuzz=FuzzPasses explores. data holds the elements (4 or 8 bytes
// each); sel picks the pass, activation and dtype; off the output's offset.
func FuzzPasses(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0xbf, 0, 0, 0x80, 0x3f, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0x7f}, uint8(0), 0.5, uint8(0))
	f.Add(make([]byte, 64), uint8(17), 1.0, uint8(1))
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice over"), uint8(35), -0.25, uint8(3))
	f.Add(make([]byte, 8*70000), uint8(8), 1.0, uint8(2)) // above the parallel threshold
	f.Add([]byte{0, 0, 0xd0, 0xc2, 0, 0, 0x80, 0x7f, 0xff, 0xff, 0x7f, 0x7f, 1, 0, 0, 0x80}, uint8(7), 2.5, uint8(5))
	var backends []*cpu.Backend
	for _, name := range cpu.Implementations() {
		b, err := cpu.NewImplementation(name)
		if err != nil {
			f.Fatal(err)
		}
		backends = append(backends, b)
	}
	f.Fuzz(func(t *testing.T, data []byte, sel uint8, alpha float64, off uint8) {
		p := core.Passes[int(sel)%3]
		kind := core.Kinds[int(sel/3)%3]
		act := kind.Default()
		if kind == core.KindLeakyReLU {
			act = core.LeakyReLU(alpha)
		} else if kind == core.KindELU {
			act = core.ELU(alpha)
		}
		if p.Check(act) != nil {
			return
		}
		for _, b := range backends {
			if sel&64 == 0 {
				fuzz[float32](t, b, p, act, data, int(off%8))
			} else {
				fuzz[float64](t, b, p, act, data, int(off%8))
			}
		}
	})
}

func fuzz[T core.Float](t *testing.T, b *cpu.Backend, p core.Pass, act core.Activation, data []byte, off int) {
	size := core.DTypeOf[T]().Size()
	vals := make([]T, len(data)/size)
	for i := range vals {
		if size == 4 {
			vals[i] = T(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])))
		} else {
			vals[i] = T(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
		}
	}
	n := len(vals) / 2
	a, c := vals[:n], vals[n:2*n]
	whole, err := b.Alloc(core.DTypeOf[T](), n+off)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free(whole)
	out, _ := whole.Slice(off, off+n)
	in1, err := b.Alloc(core.DTypeOf[T](), n)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free(in1)
	in2, err := b.Alloc(core.DTypeOf[T](), n)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free(in2)
	if err := b.Upload(in1, core.HostOf(a)); err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(in2, core.HostOf(c)); err != nil {
		t.Fatal(err)
	}
	err = core.Run(b, p, act, out, in1, in2)
	if size == 4 && act.Kind() != core.KindReLU && math.IsInf(float64(float32(act.Alpha())), 0) {
		// α beyond the float32 range is refused once rounded to the dtype (docs/SEMANTICS.md).
		if !errors.Is(err, core.ErrBadAlpha) {
			t.Fatalf("%s %s on float32: %v, want ErrBadAlpha", p, act, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got := make([]T, n)
	if err := b.Download(core.HostOf(got), out); err != nil {
		t.Fatal(err)
	}
	if r := verify.Check(p, act, got, a, c, true); !r.OK() {
		t.Fatalf("%s: %s %s: %v", b.Info().Details["path"], p, act, r)
	}
}
