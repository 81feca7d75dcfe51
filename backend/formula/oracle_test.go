package formula

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
)

// referenceRecord is one value computed independently of Go, with mpmath at 80 digits
// (testdata/reference.py): the edge values of SEMANTICS §3 through all nine formulas, several α, both
// dtypes. Inputs and the expected result are the bits of the dtype's values.
type referenceRecord struct{ DType, Pass, Act, A, B, Want string }

// readReference reads testdata/reference.json.
func readReference(t *testing.T) []referenceRecord {
	t.Helper()
	data, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Records []referenceRecord }
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Records) < 4000 {
		t.Fatalf("only %d records", len(file.Records))
	}
	return file.Records
}

// TestOracleAgainstMpmath checks the oracle (Reference) against mpmath within the tolerances of
// SEMANTICS §2: the conformance suite compares backends with the oracle; this checks the oracle.
func TestOracleAgainstMpmath(t *testing.T) {
	for _, r := range readReference(t) {
		act, err := ParseActivation(r.Act)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParsePass(r.Pass)
		if err != nil {
			t.Fatal(err)
		}
		dt, err := ParseDType(r.DType)
		if err != nil {
			t.Fatal(err)
		}
		row, err := Lookup(act.Kind(), p)
		if err != nil {
			t.Fatal(err)
		}
		tol, err := row.Tolerance(dt)
		if err != nil {
			t.Fatal(err)
		}
		a, b, want := bitsOf(t, r.A), bitsOf(t, r.B), bitsOf(t, r.Want)
		var d uint64
		var got float64
		if dt == Float32 {
			ref, err := Reference[float32](p, act)
			if err != nil {
				t.Fatal(err)
			}
			g := ref(math.Float32frombits(uint32(a)), math.Float32frombits(uint32(b)))
			got, d = float64(g), ULPs(g, math.Float32frombits(uint32(want)))
		} else {
			ref, err := Reference[float64](p, act)
			if err != nil {
				t.Fatal(err)
			}
			g := ref(math.Float64frombits(a), math.Float64frombits(b))
			got, d = g, ULPs(g, math.Float64frombits(want))
		}
		if d > tol {
			t.Errorf("%s %s %s inputs (%s, %s): got %v, mpmath %s (%d ULP > %d)", r.DType, r.Pass, r.Act, r.A, r.B, got, r.Want, d, tol)
		}
	}
}

func bitsOf(t *testing.T, s string) uint64 {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
