package cpu_test

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
)

// TestReference checks the CPU backend against values computed independently of Go, with mpmath at 80
// digits (../formula/testdata/reference.py): SEMANTICS §3's edge values through all nine formulas, several α, both
// dtypes. The conformance suite compares backends with the oracle; this test checks the oracle.
func TestReference(t *testing.T) {
	data, err := os.ReadFile("../formula/testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Records []struct{ DType, Pass, Act, A, B, Want string }
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Records) < 4000 {
		t.Fatalf("only %d records", len(file.Records))
	}
	b := cpu.New()
	defer b.Close()
	passes := map[string]formula.Pass{}
	for _, p := range formula.Passes {
		passes[p.String()] = p
	}
	for _, r := range file.Records {
		act, err := formula.ParseActivation(r.Act)
		if err != nil {
			t.Fatal(err)
		}
		p, okp := passes[r.Pass]
		if !okp {
			t.Fatalf("unknown pass %q", r.Pass)
		}
		a, b2, want := bits(t, r.A), bits(t, r.B), bits(t, r.Want)
		var d, tol uint64
		var got float64
		if r.DType == "float32" {
			g := run1(t, b, p, act, float32(math.Float32frombits(uint32(a))), math.Float32frombits(uint32(b2)))
			got = float64(g)
			d = formula.ULPs(g, math.Float32frombits(uint32(want)))
			tol, _ = formula.Tolerance(act.Kind(), p, formula.Float32)
		} else {
			g := run1(t, b, p, act, math.Float64frombits(a), math.Float64frombits(b2))
			got = g
			d = formula.ULPs(g, math.Float64frombits(want))
			tol, _ = formula.Tolerance(act.Kind(), p, formula.Float64)
		}
		if d > tol {
			t.Errorf("%s %s %s inputs (%s, %s): got %v, mpmath %s (%d ULP > %d)", r.DType, r.Pass, r.Act, r.A, r.B, got, r.Want, d, tol)
		}
	}
}

func bits(t *testing.T, s string) uint64 {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// run1 runs one pass on one element through the backend: inputs (a, b) = (x, -) or (dy, x|y).
func run1[T formula.Float](t *testing.T, be *cpu.Backend, p formula.Pass, act formula.Activation, a, b T) T {
	t.Helper()
	bufs := make([]core.Buffer, 3)
	for i, v := range []T{0, a, b} {
		buf, err := be.Alloc(formula.DTypeOf[T](), 1)
		if err != nil {
			t.Fatal(err)
		}
		defer be.Free(buf)
		if err := be.Upload(buf, core.HostOf([]T{v})); err != nil {
			t.Fatal(err)
		}
		bufs[i] = buf
	}
	if err := core.Run(be, p, act, bufs[0], bufs[1], bufs[2]); err != nil {
		t.Fatal(err)
	}
	out := []T{0}
	if err := be.Download(core.HostOf(out), bufs[0]); err != nil {
		t.Fatal(err)
	}
	return out[0]
}
