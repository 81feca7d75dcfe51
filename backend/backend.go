// Package backend runs the ReLU, LeakyReLU and ELU activations, forward and backward, on the best device
// the machine has: an NVIDIA GPU through CUDA, any GPU through OpenCL, or the CPU.
//
//	b, err := backend.Auto() // CUDA, else an OpenCL GPU, else the CPU; GPUACT_BACKEND overrides
//	if err != nil { ... }
//	defer b.Close()
//	x, _ := backend.FromSlice(b, []float32{-2, -1, 0, 1, 2})
//	y, _ := b.Alloc(backend.Float32, x.Len())
//	_ = b.Forward(backend.ELU(1), y, x)
//	out, _ := backend.ToSlice[float32](b, y) // a download waits for the GPU
//
// Everything a program needs is in this package: importing it links the CPU, CUDA and OpenCL backends
// (the GPU libraries are loaded at run time, so the program builds without cgo and runs on machines
// without them). The names below are defined in two smaller packages and re-exported here unchanged:
// package formula holds what is computed (kinds, passes, dtypes, the table of formulas and the oracle),
// package core the devices' vocabulary (Backend, Buffer, Info, the errors and the bookkeeping the
// backends share). They exist so that the backends can share them without an import cycle (backend
// imports the backends, and they cannot import backend); a program needs neither.
//
// The exact math, accuracy, aliasing, NaN, concurrency and bad-input rules are in docs/SEMANTICS.md,
// cited as "SEMANTICS §N" throughout.
package backend

import (
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// The devices' vocabulary, from package core.
type (
	// Backend runs the activations on one device; see core.Backend.
	Backend = core.Backend
	// Timer is implemented by backends that time their own work on the device (CUDA, OpenCL).
	Timer = core.Timer
	// Buffer is a view of device memory; see core.Buffer.
	Buffer = core.Buffer
	// Host is an untyped view of a Go slice, as it crosses the Backend interface.
	Host = core.Host
	// Info describes a backend's device.
	Info = core.Info
	// Platform is CUDA, OpenCL or CPU.
	Platform = core.Platform
	// DeviceType is GPU, CPU, accelerator or other.
	DeviceType = core.DeviceType
	// Device is an entry of List.
	Device = core.Device
	// MemoryStats is a snapshot of device memory.
	MemoryStats = core.MemoryStats
	// Spec is a parsed backend spec ("cuda:0").
	Spec = core.Spec
	// Error is every error a backend returns: its Kind (one of the Err* sentinels below), the backend,
	// the operation and argument, and the cause; match the kind with errors.Is, read the rest with
	// errors.As.
	Error = core.Error
)

// What is computed, from package formula.
type (
	// DType is an element type: Float32, Float64, Float16 or BFloat16.
	DType = formula.DType
	// DTypeSet is a set of dtypes: those a device supports (Info.DTypes).
	DTypeSet = formula.DTypeSet
	// Float is the set of Go arithmetic types gpuact computes in: float32 or float64.
	Float = formula.Float
	// Elem is the constraint of the generic host helpers (FromSlice, ToSlice, Upload, Download, HostOf):
	// float32, float64, F16 or BF16.
	Elem = formula.Elem
	// F16 is one float16 (IEEE 754 binary16) element, github.com/x448/float16's Float16: F16From and
	// FromFloat32 make them from float32, Float32 and ToFloat32 widen them back.
	F16 = formula.F16
	// BF16 is one bfloat16 element, the top 16 bits of a float32: BF16From and FromFloat32 make them
	// from float32 (to nearest even, NaN kept a NaN), Float32 and ToFloat32 widen them back.
	BF16 = formula.BF16
	// Activation is an activation function with its parameter.
	Activation = formula.Activation
	// Kind names an activation function.
	Kind = formula.Kind
	// Pass is forward, backward from input or backward from output.
	Pass = formula.Pass
	// Formula is one row of the table of formulas: a pass of an activation, its kernel, its α rule and
	// its tolerance per dtype.
	Formula = formula.Row
)

// Element types.
const (
	Float32 = formula.Float32
	Float64 = formula.Float64
	// Float16 and BFloat16 store 16 bits and compute in float32, rounding once to nearest even when they
	// store (SEMANTICS §1.6); host slices of them are []F16 and []BF16.
	Float16  = formula.Float16
	BFloat16 = formula.BFloat16
)

// Activation kinds and their default α.
const (
	KindReLU              = formula.KindReLU
	KindLeakyReLU         = formula.KindLeakyReLU
	KindELU               = formula.KindELU
	DefaultLeakyReLUAlpha = formula.DefaultLeakyReLUAlpha
	DefaultELUAlpha       = formula.DefaultELUAlpha
)

// Passes.
const (
	Forward            = formula.Forward
	BackwardFromInput  = formula.BackwardFromInput
	BackwardFromOutput = formula.BackwardFromOutput
)

// The lists, in a stable order for loops over everything gpuact computes.
var (
	DTypes = formula.DTypes
	Kinds  = formula.Kinds
	Passes = formula.Passes
)

// Platforms.
const (
	PlatformCUDA   = core.PlatformCUDA
	PlatformOpenCL = core.PlatformOpenCL
	PlatformCPU    = core.PlatformCPU
)

// Device types.
const (
	DeviceGPU         = core.DeviceGPU
	DeviceCPU         = core.DeviceCPU
	DeviceAccelerator = core.DeviceAccelerator
	DeviceOther       = core.DeviceOther
)

// Keys of Info.Details that tools read; see core for each.
const (
	DetailPath              = core.DetailPath
	DetailCacheBytes        = core.DetailCacheBytes
	DetailMemoryClockKHz    = core.DetailMemoryClockKHz
	DetailMemoryBusBits     = core.DetailMemoryBusBits
	DetailComputeCapability = core.DetailComputeCapability
)

// MaxElements is the largest allocation, in elements, that any backend accepts (2^48).
const MaxElements = core.MaxElements

// Errors: every error gpuact returns wraps one of these; match with errors.Is. See core for each case,
// and SEMANTICS §6.2 for the table of them.
var (
	ErrLengthMismatch   = core.ErrLengthMismatch
	ErrDTypeMismatch    = core.ErrDTypeMismatch
	ErrForeignBuffer    = core.ErrForeignBuffer
	ErrFreed            = core.ErrFreed
	ErrClosed           = core.ErrClosed
	ErrNilBuffer        = core.ErrNilBuffer
	ErrBadSize          = core.ErrBadSize
	ErrOutOfRange       = core.ErrOutOfRange
	ErrOutOfMemory      = core.ErrOutOfMemory
	ErrOverlap          = core.ErrOverlap
	ErrBadActivation    = core.ErrBadActivation
	ErrBadAlpha         = core.ErrBadAlpha
	ErrNegativeAlpha    = core.ErrNegativeAlpha
	ErrUnsupportedDType = core.ErrUnsupportedDType
	ErrUnsupported      = core.ErrUnsupported
	ErrUnavailable      = core.ErrUnavailable
	ErrBadSpec          = core.ErrBadSpec
	ErrDevice           = core.ErrDevice
)

// ReLU is max(x, 0).
func ReLU() Activation { return formula.ReLU() }

// LeakyReLU is x for x > 0, else α·x. PyTorch's default α is DefaultLeakyReLUAlpha.
func LeakyReLU(alpha float64) Activation { return formula.LeakyReLU(alpha) }

// ELU is x for x > 0, else α·expm1(x). PyTorch's default α is DefaultELUAlpha.
func ELU(alpha float64) Activation { return formula.ELU(alpha) }

// ParseActivation reads "relu", "leakyrelu[:α]" or "elu[:α]".
func ParseActivation(s string) (Activation, error) { return formula.ParseActivation(s) }

// ParseDType reads "float32", "float64", "float16" or "bfloat16" ("f32", "f64", "f16" or "half", "bf16").
func ParseDType(s string) (DType, error) { return formula.ParseDType(s) }

// ParsePass reads "forward", "backward-input" or "backward-output".
func ParsePass(s string) (Pass, error) { return formula.ParsePass(s) }

// ParseSpec parses a backend spec: cpu, cuda[:N], opencl[:P[:D]].
func ParseSpec(s string) (Spec, error) { return core.ParseSpec(s) }

// SetOf returns the set of the dtypes given.
func SetOf(dtypes ...DType) DTypeSet { return formula.SetOf(dtypes...) }

// Lookup returns the formula of pass p of kind k (an error wrapping ErrBadActivation for none).
func Lookup(k Kind, p Pass) (Formula, error) { return formula.Lookup(k, p) }

// Check reports whether pass p may run act (the pass has a formula for the kind, α is finite and meets
// the formula's rule), and returns the formula.
func Check(p Pass, act Activation) (Formula, error) { return formula.Check(p, act) }

// DTypeOf returns the DType that holds Go values of type T.
func DTypeOf[T Elem]() DType { return formula.DTypeOf[T]() }

// F16From rounds f to the nearest float16 (ties to even; past 65520 to infinity; NaN stays NaN).
func F16From(f float32) F16 { return formula.F16From(f) }

// BF16From rounds f to the nearest bfloat16 (ties to even; NaN stays a quiet NaN).
func BF16From(f float32) BF16 { return formula.BF16From(f) }

// FromFloat32 rounds src into dst (len(dst) ≥ len(src)) element by element, to nearest even: how a
// program whose data is float32 fills a []F16 or []BF16 before FromSlice or Upload.
func FromFloat32[T Elem](dst []T, src []float32) { formula.FromFloat32(dst, src) }

// FromFloat64 rounds v once to T, to nearest even.
func FromFloat64[T Elem](v float64) T { return formula.FromFloat64[T](v) }

// ToFloat64 returns v's value, exactly.
func ToFloat64[T Elem](v T) float64 { return formula.ToFloat64(v) }

// ToFloat32 widens src into dst (len(dst) ≥ len(src)): exact for every type but float64.
func ToFloat32[T Elem](dst []float32, src []T) { formula.ToFloat32(dst, src) }

// Tolerance is the largest distance from the oracle, in ULPs of dt, that SEMANTICS §2 allows pass p of
// kind k.
func Tolerance(k Kind, p Pass, dt DType) (uint64, error) { return formula.Tolerance(k, p, dt) }
