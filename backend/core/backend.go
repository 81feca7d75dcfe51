package core

import (
	"fmt"
	"maps"
	"time"

	"github.com/gpuact/gpuact/backend/formula"
)

// Backend runs the activations on one device. Every method is safe for concurrent use by many
// goroutines. Buffers belong to the Backend value that allocated them.
//
// GPU backends are asynchronous: the passes and Upload may return before the device has finished, and
// the results are visible after a synchronising call (Sync, Download). An error of asynchronous work
// surfaces at the next synchronising call. The CPU backend finishes every call before returning.
//
// In every pass the output comes first. An output may be exactly the same buffer as an input (in place:
// Forward(act, x, x)); an output that partially overlaps an input is refused with ErrOverlap. Inputs may
// overlap each other. Calls exclude each other by element range: calls that write overlapping ranges (a
// pass into them, an Upload) are queued one at a time and never beside a call that reads their range, so
// concurrent callers never see a half-written range, while calls on disjoint views of one allocation run
// side by side (SEMANTICS §5).
type Backend interface {
	// Info describes the device.
	Info() Info
	// Alloc allocates n elements of dtype on the device. The contents are undefined until written.
	Alloc(dtype formula.DType, n int) (Buffer, error)
	// Free releases the allocation that b belongs to (every slice of it). Freeing twice, freeing the
	// zero Buffer and freeing after Close are no-ops. Free waits for calls that use b to finish.
	Free(b Buffer) error
	// Upload copies src into dst, which must have src's length and dtype. Upload has finished reading
	// src when it returns.
	Upload(dst Buffer, src Host) error
	// Download copies src into dst, which must have src's length and dtype, after all work queued
	// before it has finished. It is a synchronising call.
	Download(dst Host, src Buffer) error
	// Copy copies src into dst on the device (same length and dtype; they may not partially overlap).
	// It is the device's own copy (cuMemcpyDtoD, clEnqueueCopyBuffer, copy()), the roofline against
	// which gpubench measures the passes.
	Copy(dst, src Buffer) error
	// Forward computes y = f(x) for every element.
	Forward(act formula.Activation, y, x Buffer) error
	// BackwardFromInput computes dx = f'(x)·dy for every element, from the forward pass's input.
	BackwardFromInput(act formula.Activation, dx, dy, x Buffer) error
	// BackwardFromOutput computes dx = f'(x)·dy for every element, from the forward pass's output
	// y = f(x). It needs α ≥ 0 (ErrNegativeAlpha).
	BackwardFromOutput(act formula.Activation, dx, dy, y Buffer) error
	// Sync waits for all queued work and reports the first error of asynchronous work, if any.
	Sync() error
	// Memory reports the device's memory and this Backend's own use of it.
	Memory() (MemoryStats, error)
	// Close waits for queued work, frees every buffer still allocated and releases the device. Later
	// calls return ErrClosed; a second Close returns nil.
	Close() error
}

// Timer is implemented by backends that can time their own work on the device (CUDA events, OpenCL
// profiling). gpubench uses it to report kernel time beside host time.
type Timer interface {
	// TimeDevice waits for queued work, calls enqueue (which queues work on the backend and must not
	// synchronise), waits for that work and returns the device time it took from the start of the first
	// command to the end of the last.
	//
	// TimeDevice holds no lock while enqueue runs. Concurrent calls each time their own window, which
	// includes work other goroutines queue meanwhile; a TimeDevice called from inside another's enqueue
	// returns its own window (which the outer window includes). If the backend is closed before the
	// window ends, TimeDevice returns ErrClosed (or its result, if it finished first) and never hangs.
	// An error from enqueue is returned as it is; a panic in enqueue propagates and leaves nothing
	// locked or leaked.
	TimeDevice(enqueue func() error) (time.Duration, error)
}

// Platform is the kind of backend: the API through which gpuact reaches the device.
type Platform uint8

// The platforms gpuact knows, in Auto's order of preference.
const (
	PlatformCUDA Platform = iota + 1
	PlatformOpenCL
	PlatformCPU
)

func (p Platform) String() string {
	switch p {
	case PlatformCUDA:
		return "cuda"
	case PlatformOpenCL:
		return "opencl"
	case PlatformCPU:
		return "cpu"
	}
	return fmt.Sprintf("Platform(%d)", uint8(p))
}

// DeviceType is what sort of processor a device is.
type DeviceType uint8

// Device types, as OpenCL classifies them.
const (
	DeviceGPU DeviceType = iota + 1
	DeviceCPU
	DeviceAccelerator
	DeviceOther
)

func (t DeviceType) String() string {
	switch t {
	case DeviceGPU:
		return "gpu"
	case DeviceCPU:
		return "cpu"
	case DeviceAccelerator:
		return "accelerator"
	case DeviceOther:
		return "other"
	}
	return fmt.Sprintf("DeviceType(%d)", uint8(t))
}

// Info describes the device behind a Backend.
type Info struct {
	// Spec opens this device again (Open's argument, GPUACT_BACKEND's value): "cpu", "cuda:0", "opencl:0:1".
	Spec     string
	Platform Platform
	Type     DeviceType
	// Name and Vendor as the driver reports them; Driver is the driver's (or runtime's) version.
	Name   string
	Vendor string
	Driver string
	// Memory is the device's global memory in bytes (for the CPU, the machine's RAM).
	Memory int64
	// ComputeUnits is the number of streaming multiprocessors, OpenCL compute units or CPU threads used.
	ComputeUnits int
	// DTypes are the dtypes the device supports; Alloc refuses the others with ErrUnsupportedDType.
	DTypes formula.DTypeSet
	// Denormals reports whether denormal (subnormal) float32 values are preserved. A device that flushes
	// them to zero says false here; SEMANTICS §1.5 asks for them wherever the hardware has them.
	Denormals bool
	// Details holds other facts worth printing in a report; the Detail* keys are the ones tools read.
	Details map[string]string
}

// Clone returns a copy of i whose Details map is its own, so a Backend can hand out its Info without
// letting callers change it.
func (i Info) Clone() Info {
	i.Details = maps.Clone(i.Details)
	return i
}

// Keys of Info.Details that tools such as gpubench read. Values are decimal integers unless noted.
const (
	// DetailPath names the implementation that runs the passes (CPU: "generic", "avx2", ...).
	DetailPath = "path"
	// DetailCacheBytes is the size of the last cache loads go through (L2 on GPUs, LLC on CPUs): data
	// smaller than this is rotated among buffers by benchmarks, so they measure memory, not cache.
	DetailCacheBytes = "cache_bytes"
	// DetailMemoryClockKHz and DetailMemoryBusBits give the theoretical memory bandwidth of a GPU:
	// 2 (double data rate) × clock × bus width / 8 bytes per second.
	DetailMemoryClockKHz = "memory_clock_khz"
	DetailMemoryBusBits  = "memory_bus_width_bits"
	// DetailComputeCapability is the CUDA compute capability, "9.0".
	DetailComputeCapability = "compute_capability"
)

// MemoryStats is a snapshot of device memory.
type MemoryStats struct {
	// Total and Free are the device's, as the driver reports them (Free is 0 where it cannot tell).
	Total, Free int64
	// InUse is the bytes this Backend holds in live buffers it allocated; Buffers is how many
	// allocations that is.
	InUse   int64
	Buffers int
	// Wrapped is the bytes of memory gpuact uses but does not own (WrapHost, wrapped device pointers),
	// counted apart from InUse: gpuact never frees it.
	Wrapped int64
	// Pooled is the bytes freed buffers keep in the backend's memory pool for reuse, not in InUse; the
	// pool's Trim gives them back.
	Pooled int64
}

// Trimmer is implemented by backends that keep freed memory for reuse (Memory().Pooled): Trim gives it
// back to the system.
type Trimmer interface {
	Trim() error
}

// HostWrapper is implemented by backends whose buffers can be memory the caller already has, used in
// place: the CPU backend. See backend.Wrap.
type HostWrapper interface {
	// WrapHost returns a buffer whose elements are h's own memory (no copy). The caller keeps h's
	// slice alive and does not touch it while a call that uses the buffer runs; gpuact never frees it.
	// Free (or Close) ends gpuact's use of it.
	WrapHost(h Host) (Buffer, error)
}

// Device is one entry of List: a backend and device that gpuact found, usable or not.
type Device struct {
	// Spec opens the device ("cuda:0"); for a platform that could not be searched it is the bare
	// platform name ("cuda").
	Spec     string
	Platform Platform
	Type     DeviceType
	Name     string
	// Usable is false when the device cannot be opened; Reason then says why (missing library, no
	// device, driver error, not supported).
	Usable bool
	Reason string
	// Open opens the device. Nil when Usable is false.
	Open func() (Backend, error) `json:"-"`
}

func (d Device) String() string {
	s := d.Spec
	if d.Name != "" {
		s += " " + d.Name
	}
	if d.Type != 0 {
		s += " (" + d.Type.String() + ")"
	}
	if !d.Usable {
		s += ": unavailable: " + d.Reason
	}
	return s
}

// Run runs pass p of act on b: out is y or dx; in1 is x (Forward) or dy; in2 is x (BackwardFromInput),
// y (BackwardFromOutput) or unused (Forward). It is the table-driven form of the three Backend methods.
func Run(b Backend, p formula.Pass, act formula.Activation, out, in1, in2 Buffer) error {
	switch p {
	case formula.Forward:
		return b.Forward(act, out, in1)
	case formula.BackwardFromInput:
		return b.BackwardFromInput(act, out, in1, in2)
	case formula.BackwardFromOutput:
		return b.BackwardFromOutput(act, out, in1, in2)
	}
	return Errorf(ErrBadActivation, b.Info().Spec, "Run", "p", "unknown pass %d", uint8(p))
}
