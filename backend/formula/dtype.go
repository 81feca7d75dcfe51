package formula

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// DType is the element type of a buffer: how its elements are stored.
type DType uint8

// The element types gpuact stores and computes in.
const (
	Float32 DType = iota + 1
	Float64
	// Float16 is IEEE 754 binary16: stored in 16 bits, computed in float32 (SEMANTICS §1.6).
	Float16
	// BFloat16 is the top 16 bits of a float32: stored in 16 bits, computed in float32 (SEMANTICS §1.6).
	BFloat16
)

// DTypes lists every DType, in a stable order for loops in tests and benchmarks.
var DTypes = []DType{Float32, Float64, Float16, BFloat16}

// dtypeInfo is what each DType is: its name, its size, and the type its arithmetic runs in, indexed by
// DType (an array, not a map: passes read it on every call).
var dtypeInfo = [...]struct {
	name    string
	short   []string // other names ParseDType accepts
	size    int
	compute DType
	round   func(float64) float64 // to the nearest value of the dtype
	// minNormal is the smallest positive normal number: below it, values are denormal.
	minNormal float64
}{
	Float32:  {"float32", []string{"f32"}, 4, Float32, func(v float64) float64 { return float64(float32(v)) }, 0x1p-126},
	Float64:  {"float64", []string{"f64"}, 8, Float64, func(v float64) float64 { return v }, 0x1p-1022},
	Float16:  {"float16", []string{"f16", "half"}, 2, Float32, func(v float64) float64 { return roundTo(v, 11, -14, 65504) }, 0x1p-14},
	BFloat16: {"bfloat16", []string{"bf16"}, 2, Float32, func(v float64) float64 { return roundTo(v, 8, -126, 0x1.fep127) }, 0x1p-126},
}

// SmallestNormal is the smallest positive normal number of d (NaN for an invalid DType): a device that
// flushes denormals flushes the values below it (SEMANTICS §1.5).
func (d DType) SmallestNormal() float64 {
	if d.Valid() {
		return dtypeInfo[d].minNormal
	}
	return math.NaN()
}

// Valid reports whether d is one of DTypes.
func (d DType) Valid() bool { return int(d) < len(dtypeInfo) && dtypeInfo[d].name != "" }

// Size is the size of one element in bytes (0 for an invalid DType).
func (d DType) Size() int {
	if !d.Valid() {
		return 0
	}
	return dtypeInfo[d].size
}

// Compute is the type d's arithmetic runs in: d itself for float32 and float64 (SEMANTICS §2); a
// narrower storage type computes in a wider type and rounds once when it stores. 0 for an invalid DType.
func (d DType) Compute() DType {
	if !d.Valid() {
		return 0
	}
	return dtypeInfo[d].compute
}

// Round returns v rounded to the nearest value of d (ties to even), as a float64: the α a backend
// computes with (SEMANTICS §1.3). NaN for an invalid DType.
func (d DType) Round(v float64) float64 {
	if d.Valid() {
		return dtypeInfo[d].round(v)
	}
	return math.NaN()
}

// Suffix is the short name kernels carry for d ("f32", "f64", "f16", "bf16"; "" for an invalid DType):
// gpuact_relu_fwd_f16_vec in activations.cu, relu_fwd_bf16 in activations.cl.
func (d DType) Suffix() string {
	if d.Valid() {
		return dtypeInfo[d].short[0]
	}
	return ""
}

func (d DType) String() string {
	if d.Valid() {
		return dtypeInfo[d].name
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// ParseDType reads a dtype's name as String writes it ("float32"; case-insensitive; "f32", "f64", "f16",
// "half" and "bf16" are accepted too). An unknown name gives ErrUnsupportedDType with the names known.
func ParseDType(s string) (DType, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, d := range DTypes {
		if name == d.String() || slices.Contains(dtypeInfo[d].short, name) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%w: %q is not a dtype (want one of %s)", ErrUnsupportedDType, s, DTypeSet(0).with(DTypes...).String())
}

// DTypeSet is a set of dtypes: the ones a device supports (core.Info.DTypes).
type DTypeSet uint32

// SetOf returns the set of ds.
func SetOf(ds ...DType) DTypeSet { return DTypeSet(0).with(ds...) }

func (s DTypeSet) with(ds ...DType) DTypeSet {
	for _, d := range ds {
		if d.Valid() {
			s |= 1 << d
		}
	}
	return s
}

// Has reports whether d is in s.
func (s DTypeSet) Has(d DType) bool { return d.Valid() && s&(1<<d) != 0 }

// List returns the dtypes in s in the order of DTypes.
func (s DTypeSet) List() []DType {
	out := make([]DType, 0, bits.OnesCount32(uint32(s)))
	for _, d := range DTypes {
		if s.Has(d) {
			out = append(out, d)
		}
	}
	return out
}

// String lists the set's names, comma-separated: "float32, float64".
func (s DTypeSet) String() string {
	names := make([]string, 0, len(DTypes))
	for _, d := range s.List() {
		names = append(names, d.String())
	}
	return strings.Join(names, ", ")
}
