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
// test runs the seed corpus, go test -fuzz=FuzzPasses explores (make fuzz says how long). data holds
// the elements (4 or 8 bytes each); sel picks the pass, activation and dtype (bit 64: float64) and
// turns on non-temporal stores (bit 128); off the output's offset.
//
// Inputs stay small: the fuzzer minimises every input it finds interesting, one execution per byte
// removed and more, so a large input costs a whole short run (a 560 KB seed used to stop all execution
// after 3 s of 30, and even 2 KB ones took 12 s). So the seeds are at most 256 bytes, data beyond
// maxFuzzBytes is ignored (the minimiser cuts it at once), and the target lowers the thresholds of the
// parallel split and of non-temporal stores instead, so that inputs of a few dozen elements already run
// on every core in 16-element chunks and through the non-temporal path that only calls of megabytes
// reach by default.
func FuzzPasses(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0xbf, 0, 0, 0x80, 0x3f, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0x7f}, uint8(0), 0.5, uint8(0))
	f.Add(make([]byte, 64), uint8(17), 1.0, uint8(1))
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice over"), uint8(35), -0.25, uint8(3))
	f.Add(ramp(4*64), uint8(8), 1.0, uint8(2))        // float32 ELU backward from output, split into chunks
	f.Add(ramp(8*32), uint8(64+128+4), 0.3, uint8(5)) // float64 LeakyReLU backward from input, non-temporal, split
	f.Add([]byte{0, 0, 0xd0, 0xc2, 0, 0, 0x80, 0x7f, 0xff, 0xff, 0x7f, 0x7f, 1, 0, 0, 0x80}, uint8(7), 2.5, uint8(5))
	defer cpu.SetParallel(0, 8)()
	var backends []*cpu.Backend
	for _, name := range cpu.Implementations() {
		b, err := cpu.NewImplementation(name)
		if err != nil {
			f.Fatal(err)
		}
		backends = append(backends, b)
	}
	f.Fuzz(func(t *testing.T, data []byte, sel uint8, alpha float64, off uint8) {
		data = data[:min(len(data), maxFuzzBytes)]
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
		if sel&128 != 0 {
			defer cpu.SetNonTemporalMin(0)()
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

// maxFuzzBytes bounds the data FuzzPasses uses: 128 float32 or 64 float64 elements per array, enough for
// every block size, tail and chunk boundary of the kernels once the thresholds are lowered.
const maxFuzzBytes = 1024

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

// ramp returns n bytes of float32 values from -8 upwards in steps of 1/16 (read as float64, other
// values, most of them finite): inputs on both sides of zero for every pass.
func ramp(n int) []byte {
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(-8+float32(i)/16))
	}
	return b[:n]
}
