package cuda_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/gpuact/gpuact/backend"
	"github.com/gpuact/gpuact/backend/backendtest"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/verify"
	"github.com/gpuact/gpuact/internal/cudaemu"
)

// emulatorEnv names the emulated driver library that TestMatchesEmulation compares this process's
// driver with. The GPU check ships one, built on the host by scripts/gpu-check.sh, and sets it.
const emulatorEnv = "GPUACT_CUDAEMU_LIBRARY"

// TestMatchesEmulation runs every formula of the table, on every dtype, with α at its default and at
// 0.37, 2.5, 0 and -0.8 (where the formula takes α), on the same inputs (every pair of edge values, a
// stride through the bit patterns of the inputs, random values as the conformance suite draws them) on
// cuda:0 of this process's driver and of the emulated driver, and requires the same bits from both;
// any NaN matches any NaN (a GPU's arithmetic makes NaNs with other payloads than a CPU's). Each result
// is also checked against the oracle (SEMANTICS §2).
//
// On a GPU (the GPU check: GPUACT_REQUIRE_CUDA=1 and GPUACT_CUDAEMU_LIBRARY set) this is what shows that
// the host's checks of the kernels' math (kernels/emu, exhaustive for float32; the suite under the
// emulator) hold for the GPU: the kernels' arithmetic is IEEE operations written out one by one, so
// the host build must compute the GPU's bits. Under the emulator alone (make test), both sides are the
// emulator on a smaller sample: that checks the comparison and the results against the oracle.
func TestMatchesEmulation(t *testing.T) {
	ref := os.Getenv(emulatorEnv)
	if ref == "" && cudaemu.Get() != nil {
		ref = os.Getenv(cudaemu.LibraryEnv)
	}
	if ref == "" {
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s is not set: the GPU check sets it to the emulated driver it ships (build/gpu/lib/libcudaemu.so)", emulatorEnv)
		}
		t.Skipf("needs the emulated driver to compare %s with: set %s (the GPU check does)", cudaemu.Driver(), emulatorEnv)
	}
	devs := usable(t)
	dev, err := devs[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	closeAfter(t, dev)
	emu, err := cuda.OpenLibrary(ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	closeAfter(t, emu)
	n := 1 << 21
	if cudaemu.Get() != nil {
		n = 1 << 14 // the emulator on both sides: the comparison and the oracle check, not the math
	}
	t.Logf("comparing %s (%s) with the emulated driver %s on %d elements per pass", devs[0].Spec, cudaemu.Driver(), ref, n)
	t.Run("float32", func(t *testing.T) { matchesEmulation[float32](t, dev, emu, n) })
	t.Run("float64", func(t *testing.T) { matchesEmulation[float64](t, dev, emu, n) })
	// The 16-bit dtypes on a quarter as many: on a GPU that still runs every 16-bit x twice per pass and
	// α, and keeps the emulated side's time (the CPU computes it) within the GPU check's budget.
	t.Run("float16", func(t *testing.T) { matchesEmulation[formula.F16](t, dev, emu, n/4) })
	t.Run("bfloat16", func(t *testing.T) { matchesEmulation[formula.BF16](t, dev, emu, n/4) })
}

func matchesEmulation[T formula.Elem](t *testing.T, dev, emu core.Backend, n int) {
	rng := rand.New(rand.NewPCG(16, uint64(n)))
	x, dy := emulationInputs[T](rng, n), backendtest.Grads[T](rng, n)
	// The first elements: every pair of edge values (dy, x).
	edge := backendtest.Edge[T]()
	for i, k := 0, 0; i < len(edge) && k < n; i++ {
		for j := 0; j < len(edge) && k < n; j, k = j+1, k+1 {
			dy[k], x[k] = edge[i], edge[j]
		}
	}
	type side struct {
		b          core.Backend
		x, dy, out core.Buffer
	}
	sides := []*side{{b: dev}, {b: emu}}
	for _, s := range sides {
		var err error
		if s.x, err = backend.FromSlice(s.b, x); err == nil {
			if s.dy, err = backend.FromSlice(s.b, dy); err == nil {
				s.out, err = s.b.Alloc(formula.DTypeOf[T](), n)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	denormals := dev.Info().Denormals
	for _, row := range formula.Rows() {
		for _, act := range emulationActivations(row) {
			name := fmt.Sprintf("%s/%s", row.Pass, act)
			// (in1, in2) = (x, -) forward, (dy, x) backward: from output, x serves as y (any y is a valid
			// input, and x holds the edge values and the stride).
			var got [2][]T
			for k, s := range sides {
				in1, in2 := s.dy, s.x
				if row.Pass == formula.Forward {
					in1, in2 = s.x, core.Buffer{}
				}
				if err := backend.Run(s.b, row.Pass, act, s.out, in1, in2); err != nil {
					t.Fatalf("%s on %s: %v", name, s.b.Info().Spec, err)
				}
				var err error
				if got[k], err = backend.ToSlice[T](s.b, s.out); err != nil {
					t.Fatal(err)
				}
			}
			a, b := dy, x
			if row.Pass == formula.Forward {
				a, b = x, nil
			}
			differ := 0
			for i := range got[0] {
				g, e := got[0][i], got[1][i]
				if sameValue(g, e) {
					continue
				}
				if differ++; differ <= 5 {
					var bi T
					if b != nil {
						bi = b[i]
					}
					t.Errorf("%s %T: element %d, inputs (%v, %v) = (%#x, %#x): GPU %v (%#x), emulated %v (%#x)", name, g, i,
						a[i], bi, bitsOf(a[i]), bitsOf(bi), g, bitsOf(g), e, bitsOf(e))
				}
			}
			if differ > 0 {
				t.Errorf("%s %T: %d of %d elements differ from the emulation", name, x[0], differ, n)
			}
			for k, s := range sides {
				if r := verify.Check(row.Pass, act, got[k], a, b, denormals || k == 1); !r.OK() {
					t.Errorf("%s %T on %s against the oracle: %v", name, x[0], s.b.Info().Spec, r)
				}
			}
		}
	}
}

// emulationActivations are the activations row is compared with: its kind with α at the default, 0.37,
// 2.5, 0 and (where allowed) -0.8.
func emulationActivations(row formula.Row) []formula.Activation {
	var mk func(float64) formula.Activation
	switch row.Kind {
	case formula.KindLeakyReLU:
		mk = formula.LeakyReLU
	case formula.KindELU:
		mk = formula.ELU
	default:
		return []formula.Activation{row.Kind.Default()}
	}
	alphas := []float64{row.Kind.Default().Alpha(), 0.37, 2.5, 0}
	if !row.NonNegativeAlpha {
		alphas = append(alphas, -0.8)
	}
	var acts []formula.Activation
	for _, a := range alphas {
		acts = append(acts, mk(a))
	}
	return acts
}

// emulationInputs is the x (and y) of the comparison: a quarter a stride through every bit pattern of
// T (for the 16-bit dtypes every bit pattern in turn, as often as they fit), the rest random as the
// conformance suite draws them.
func emulationInputs[T formula.Elem](rng *rand.Rand, n int) []T {
	x := backendtest.Inputs[T](rng, n)
	q := uint64(n / 4)
	if q == 0 {
		return x
	}
	if formula.DTypeOf[T]().Size() == 2 {
		for i := range q {
			x[n-int(q)+int(i)] = fromBits[T](i & 0xffff)
		}
		return x
	}
	span := uint64(math.MaxUint32)
	if formula.DTypeOf[T]() == formula.Float64 {
		span = math.MaxUint64
	}
	step := span / q
	for i := range q {
		x[n-int(q)+int(i)] = fromBits[T](i*step + rng.Uint64N(step))
	}
	return x
}

func sameValue[T formula.Elem](a, b T) bool {
	return bitsOf(a) == bitsOf(b) || (math.IsNaN(formula.ToFloat64(a)) && math.IsNaN(formula.ToFloat64(b)))
}

func bitsOf[T formula.Elem](v T) uint64 {
	switch v := any(v).(type) {
	case float32:
		return uint64(math.Float32bits(v))
	case float64:
		return math.Float64bits(v)
	case formula.F16:
		return uint64(v.Bits())
	case formula.BF16:
		return uint64(v.Bits())
	}
	panic(fmt.Sprintf("bitsOf: %T", v))
}

func fromBits[T formula.Elem](u uint64) T {
	var v any
	switch formula.DTypeOf[T]() {
	case formula.Float32:
		v = math.Float32frombits(uint32(u))
	case formula.Float64:
		v = math.Float64frombits(u)
	case formula.Float16:
		v = formula.F16FromBits(uint16(u))
	case formula.BFloat16:
		v = formula.BF16FromBits(uint16(u))
	default:
		panic(fmt.Sprintf("fromBits: %T", *new(T)))
	}
	return v.(T)
}
