package cpu_test

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
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
// after 3 s of 30, and even 2 KB ones took 12 s). So the seeds are at most 512 bytes, data beyond
// maxFuzzBytes is ignored (the minimiser cuts it at once), and the target lowers the thresholds of the
// parallel split and of non-temporal stores instead, so that inputs of a few dozen elements already run
// on every core in 16-element chunks and through the non-temporal path that only calls of megabytes
// reach by default.
func FuzzPasses(f *testing.F) {
	for _, s := range fuzzPassesSeeds {
		f.Add(s.data, s.sel, s.alpha, s.off)
	}
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
		p := formula.Passes[int(sel)%3]
		kind := formula.Kinds[int(sel/3)%3]
		act := kind.Default()
		if kind == formula.KindLeakyReLU {
			act = formula.LeakyReLU(alpha)
		} else if kind == formula.KindELU {
			act = formula.ELU(alpha)
		}
		if _, err := formula.Check(p, act); err != nil {
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

// fuzzPassesSeeds is FuzzPasses's seed corpus; TestFuzzPassesSeeds keeps it small.
var fuzzPassesSeeds = []struct {
	data  []byte
	sel   uint8
	alpha float64
	off   uint8
}{
	{[]byte{0, 0, 0x80, 0xbf, 0, 0, 0x80, 0x3f, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0x7f}, 0, 0.5, 0},
	{make([]byte, 64), 17, 1.0, 1},
	{[]byte("the quick brown fox jumps over the lazy dog, twice over"), 35, -0.25, 3},
	{ramp(4 * 64), 8, 1.0, 2},            // float32 ELU backward from output, split into chunks
	{ramp(8 * 64), 64 + 128 + 4, 0.3, 5}, // float64 LeakyReLU backward from input, non-temporal, split
	{[]byte{0, 0, 0xd0, 0xc2, 0, 0, 0x80, 0x7f, 0xff, 0xff, 0x7f, 0x7f, 1, 0, 0, 0x80}, 7, 2.5, 5},
}

// maxFuzzSeedBytes bounds each seed's data (see FuzzPasses: the fuzzer minimises large inputs for most
// of a short run instead of fuzzing).
const maxFuzzSeedBytes = 512

// TestFuzzPassesSeeds: every seed of FuzzPasses is small, and seeds of both dtypes are long enough for
// the parallel split FuzzPasses sets up (at least two 16-element chunks per array).
func TestFuzzPassesSeeds(t *testing.T) {
	split := map[bool]bool{}
	for i, s := range fuzzPassesSeeds {
		if len(s.data) > maxFuzzSeedBytes {
			t.Errorf("seed %d holds %d bytes, more than %d: fuzzing would spend its time minimising it", i, len(s.data), maxFuzzSeedBytes)
		}
		f64 := s.sel&64 != 0
		size := 4
		if f64 {
			size = 8
		}
		if len(s.data)/size/2 >= 2*16 {
			split[f64] = true
		}
	}
	if !split[false] || !split[true] {
		t.Errorf("no seed reaches the parallel split: float32 %v, float64 %v", split[false], split[true])
	}
}

// maxFuzzBytes bounds the data FuzzPasses uses: 128 float32 or 64 float64 elements per array, enough for
// every block size, tail and chunk boundary of the kernels once the thresholds are lowered.
const maxFuzzBytes = 1024

func fuzz[T formula.Float](t *testing.T, b *cpu.Backend, p formula.Pass, act formula.Activation, data []byte, off int) {
	size := formula.DTypeOf[T]().Size()
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
	whole, err := b.Alloc(formula.DTypeOf[T](), n+off)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free(whole)
	out, _ := whole.Slice(off, off+n)
	in1, err := b.Alloc(formula.DTypeOf[T](), n)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free(in1)
	in2, err := b.Alloc(formula.DTypeOf[T](), n)
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
	if size == 4 && act.Kind() != formula.KindReLU && math.IsInf(float64(float32(act.Alpha())), 0) {
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
