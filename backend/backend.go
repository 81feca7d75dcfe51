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
// without them). The types, constants and errors are defined in package core and re-exported here
// under the same names; core exists only so that the backends can share them without an import cycle
// (backend imports the backends, and they cannot import backend).
//
// The exact math, accuracy, aliasing, NaN and bad-input rules are in the README's "Semantics" section.
package backend

import "github.com/gpuact/gpuact/backend/core"

// The vocabulary, re-exported from package core.
type (
	// Backend runs the activations on one device; see core.Backend.
	Backend = core.Backend
	// Buffer is a view of device memory; see core.Buffer.
	Buffer = core.Buffer
	// DType is an element type: Float32 or Float64.
	DType = core.DType
	// Float is the constraint of the generic helpers: float32 or float64.
	Float = core.Float
	// Host is an untyped view of a Go slice, as it crosses the Backend interface.
	Host = core.Host
	// Activation is an activation function with its parameter.
	Activation = core.Activation
	// Kind names an activation function.
	Kind = core.Kind
	// Pass is forward, backward from input or backward from output.
	Pass = core.Pass
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
)

// Element types.
const (
	Float32 = core.Float32
	Float64 = core.Float64
)

// Activation kinds and their default α.
const (
	KindReLU              = core.KindReLU
	KindLeakyReLU         = core.KindLeakyReLU
	KindELU               = core.KindELU
	DefaultLeakyReLUAlpha = core.DefaultLeakyReLUAlpha
	DefaultELUAlpha       = core.DefaultELUAlpha
)

// Passes.
const (
	Forward            = core.Forward
	BackwardFromInput  = core.BackwardFromInput
	BackwardFromOutput = core.BackwardFromOutput
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

// Errors: every error gpuact returns wraps one of these; match with errors.Is. See core for each case.
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
	ErrUnavailable      = core.ErrUnavailable
	ErrBadSpec          = core.ErrBadSpec
	ErrDevice           = core.ErrDevice
)

// ReLU is max(x, 0).
func ReLU() Activation { return core.ReLU() }

// LeakyReLU is x for x > 0, else α·x. PyTorch's default α is DefaultLeakyReLUAlpha.
func LeakyReLU(alpha float64) Activation { return core.LeakyReLU(alpha) }

// ELU is x for x > 0, else α·expm1(x). PyTorch's default α is DefaultELUAlpha.
func ELU(alpha float64) Activation { return core.ELU(alpha) }

// ParseActivation reads "relu", "leakyrelu[:α]" or "elu[:α]".
func ParseActivation(s string) (Activation, error) { return core.ParseActivation(s) }

// ParseSpec parses a backend spec: cpu, cuda[:N], opencl[:P[:D]].
func ParseSpec(s string) (Spec, error) { return core.ParseSpec(s) }
