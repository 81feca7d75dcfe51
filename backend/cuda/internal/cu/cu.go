// Package cu is a minimal binding of the CUDA driver API, loaded at run time (no cgo, no toolkit): the
// calls gpuact's CUDA backend needs, each returning an *Error that carries the CUresult code and name.
//
// Layering follows cudarc: Load finds the library and resolves the symbols the calls use (an error,
// never a panic, when one is missing: see funcs); the Driver methods are thin, typed calls; the backend (package cuda)
// owns contexts, streams and memory and makes the context current on a locked OS thread before every
// sequence of calls.
package cu

//go:generate go run gennames.go /usr/include/cuda.h

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/gpuact/gpuact/backend/core"
)

// Result is a CUresult.
type Result int32

// Results the backend acts on.
const (
	Success             Result = 0
	ErrorInvalidValue   Result = 1
	ErrorOutOfMemory    Result = 2
	ErrorNotInitialized Result = 3
	ErrorNoDevice       Result = 100
	ErrorNotReady       Result = 600
	ErrorNotSupported   Result = 801
)

// Handles. CUdeviceptr is 64 bits on every platform gpuact runs on.
type (
	Device   int32
	DevPtr   uint64
	Context  uintptr
	Stream   uintptr
	Event    uintptr
	Module   uintptr
	Function uintptr
	MemPool  uintptr
)

// Device attributes (CUdevice_attribute; fixed in the driver ABI).
const (
	AttrMaxThreadsPerBlock       = 1
	AttrClockRate                = 13
	AttrMultiprocessorCount      = 16
	AttrPCIBusID                 = 33
	AttrPCIDeviceID              = 34
	AttrMemoryClockRate          = 36
	AttrGlobalMemoryBusWidth     = 37
	AttrL2CacheSize              = 38
	AttrMaxThreadsPerMultiproc   = 39
	AttrComputeCapabilityMajor   = 75
	AttrComputeCapabilityMinor   = 76
	AttrMemoryPoolsSupported     = 115 // cuMemAllocAsync and the device's default pool work (CUDA 11.2+)
	StreamNonBlocking            = 0x1
	EventDefault                 = 0x0
	EventDisableTiming           = 0x2
	FuncAttributeNumRegs         = 4
	FuncAttributeLocalSizeBytes  = 3
	FuncAttributeMaxThreadsBlock = 0
)

// Pointer attributes (CUpointer_attribute) that PointerAttribute reads.
const (
	PointerAttrContext       = 1  // CUcontext of the allocation (0 for memory that no context owns)
	PointerAttrDeviceOrdinal = 9  // int: the device the memory is on
	PointerAttrRangeStart    = 11 // CUdeviceptr: the start of the allocation holding the pointer
	PointerAttrRangeSize     = 12 // size_t: the size of that allocation
)

// Memory pool attributes (CUmemPool_attribute), each a cuuint64_t.
const (
	MemPoolReleaseThreshold = 4 // reserved bytes (live ones included) the pool keeps at a synchronisation
	MemPoolReservedCurrent  = 5 // bytes the pool holds from the device: live allocations and kept ones
	MemPoolUsedCurrent      = 7 // bytes of the pool's live allocations
)

// Error is a failed driver call.
type Error struct {
	Call string
	Code Result
	Name string // CUDA_ERROR_OUT_OF_MEMORY
	Desc string // the driver's description, when it could give one
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s (%d)", e.Call, e.Name, e.Code)
	if e.Desc != "" {
		s += ": " + e.Desc
	}
	return s
}

// Is makes an out-of-memory error match core.ErrOutOfMemory, no device match core.ErrUnavailable, and
// every other code core.ErrDevice.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case ErrorOutOfMemory:
		return target == core.ErrOutOfMemory
	case ErrorNoDevice:
		return target == core.ErrUnavailable
	}
	return target == core.ErrDevice
}

// Driver is the loaded library.
type Driver struct {
	Path string // the library that was loaded
	fn   funcs
}

// funcs holds the address of every entry point the calls (calls.go, and check's cuGetErrorName and
// cuGetErrorString) use, resolved once by Load. The rule: every field is resolved, and nothing else.
// Load fails, naming the symbol, when the library lacks a required one, and a driver lacking an entry
// point that gpuact does not call still loads; so a field is added with the call that uses it, and
// removed with the last one (TestRequiredSymbolsAreCalled checks both ways). The stream-ordered
// allocator's entry points (CUDA 11.2) are optional: an older driver loads without them, they stay 0,
// MemoryPools reports false, and their calls return ErrorNotSupported without calling. The _v2 names
// are the ones cuda.h maps the plain names to since CUDA 3.2/4.0; the plain names keep 32-bit sizes.
type funcs struct {
	cuInit, cuDriverGetVersion, cuGetErrorName, cuGetErrorString                           uintptr
	cuDeviceGetCount, cuDeviceGet, cuDeviceGetName, cuDeviceGetAttribute, cuDeviceTotalMem uintptr
	cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease, cuCtxSetCurrent                   uintptr
	cuMemGetInfo, cuMemAlloc, cuMemFree, cuMemHostAlloc, cuMemFreeHost                     uintptr
	cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemcpyDtoDAsync                                uintptr
	cuModuleLoadData, cuModuleUnload, cuModuleGetFunction, cuFuncGetAttribute              uintptr
	cuLaunchKernel, cuPointerGetAttribute                                                  uintptr
	cuStreamCreate, cuStreamDestroy, cuStreamSynchronize                                   uintptr
	cuEventCreate, cuEventRecord, cuEventSynchronize, cuEventElapsedTime, cuEventDestroy   uintptr
	// Optional (CUDA 11.2): see MemoryPools.
	cuDeviceGetDefaultMemPool, cuMemPoolSetAttribute, cuMemPoolGetAttribute, cuMemPoolTrimTo uintptr
	cuMemAllocAsync, cuMemFreeAsync                                                          uintptr
}

// symbol is one entry point Load resolves: its exported name and the field of funcs it goes to.
type symbol struct {
	name string
	ptr  *uintptr
}

// optionalSymbols are the entry points a driver may lack (see funcs).
var optionalSymbols = map[string]bool{
	"cuDeviceGetDefaultMemPool": true, "cuMemPoolSetAttribute": true, "cuMemPoolGetAttribute": true,
	"cuMemPoolTrimTo": true, "cuMemAllocAsync": true, "cuMemFreeAsync": true,
}

// symbols maps each field of funcs to the exported name it is resolved from, in the order Load resolves
// them.
func (f *funcs) symbols() []symbol {
	return []symbol{
		{"cuInit", &f.cuInit}, {"cuDriverGetVersion", &f.cuDriverGetVersion},
		{"cuGetErrorName", &f.cuGetErrorName}, {"cuGetErrorString", &f.cuGetErrorString},
		{"cuDeviceGetCount", &f.cuDeviceGetCount}, {"cuDeviceGet", &f.cuDeviceGet},
		{"cuDeviceGetName", &f.cuDeviceGetName}, {"cuDeviceGetAttribute", &f.cuDeviceGetAttribute},
		{"cuDeviceTotalMem_v2", &f.cuDeviceTotalMem},
		{"cuDevicePrimaryCtxRetain", &f.cuDevicePrimaryCtxRetain}, {"cuDevicePrimaryCtxRelease_v2", &f.cuDevicePrimaryCtxRelease},
		{"cuCtxSetCurrent", &f.cuCtxSetCurrent},
		{"cuMemGetInfo_v2", &f.cuMemGetInfo}, {"cuMemAlloc_v2", &f.cuMemAlloc}, {"cuMemFree_v2", &f.cuMemFree},
		{"cuMemHostAlloc", &f.cuMemHostAlloc}, {"cuMemFreeHost", &f.cuMemFreeHost},
		{"cuMemcpyHtoDAsync_v2", &f.cuMemcpyHtoDAsync}, {"cuMemcpyDtoHAsync_v2", &f.cuMemcpyDtoHAsync},
		{"cuMemcpyDtoDAsync_v2", &f.cuMemcpyDtoDAsync},
		{"cuModuleLoadData", &f.cuModuleLoadData}, {"cuModuleUnload", &f.cuModuleUnload},
		{"cuModuleGetFunction", &f.cuModuleGetFunction}, {"cuFuncGetAttribute", &f.cuFuncGetAttribute},
		{"cuLaunchKernel", &f.cuLaunchKernel}, {"cuPointerGetAttribute", &f.cuPointerGetAttribute},
		{"cuStreamCreate", &f.cuStreamCreate}, {"cuStreamDestroy_v2", &f.cuStreamDestroy},
		{"cuStreamSynchronize", &f.cuStreamSynchronize},
		{"cuEventCreate", &f.cuEventCreate}, {"cuEventRecord", &f.cuEventRecord},
		{"cuEventSynchronize", &f.cuEventSynchronize}, {"cuEventElapsedTime", &f.cuEventElapsedTime},
		{"cuEventDestroy_v2", &f.cuEventDestroy},
		{"cuDeviceGetDefaultMemPool", &f.cuDeviceGetDefaultMemPool},
		{"cuMemPoolSetAttribute", &f.cuMemPoolSetAttribute}, {"cuMemPoolGetAttribute", &f.cuMemPoolGetAttribute},
		{"cuMemPoolTrimTo", &f.cuMemPoolTrimTo},
		{"cuMemAllocAsync", &f.cuMemAllocAsync}, {"cuMemFreeAsync", &f.cuMemFreeAsync},
	}
}

// Library names tried in order, unless the environment variable LibraryEnv is set.
var libraryNames = defaultLibraryNames

// LibraryEnv names an environment variable that, when set, is the only library Load tries (a path or a
// name): for drivers installed outside the loader's search path, and to switch CUDA off ("none").
const LibraryEnv = "GPUACT_CUDA_LIBRARY"

var (
	loadOnce sync.Once
	loaded   *Driver
	loadErr  error
)

// Load loads the driver library and calls cuInit once per process; later calls return the same result.
// Every failure (no library, a missing symbol, cuInit failing) is an error wrapping core.ErrUnavailable.
func Load() (*Driver, error) {
	loadOnce.Do(func() { loaded, loadErr = load(candidates()) })
	return loaded, loadErr
}

// LoadFrom loads the driver library at path and calls cuInit, apart from Load's driver: for the GPU
// check's comparison of a GPU with the emulated driver in one process (backend/cuda's tests only).
func LoadFrom(path string) (*Driver, error) { return load([]string{path}) }

func load(names []string) (*Driver, error) {
	var tried []string
	for _, name := range names {
		lib, err := openLibrary(name)
		if err != nil {
			tried = append(tried, err.Error())
			continue
		}
		return bind(lib, name)
	}
	return nil, fmt.Errorf("%w: no CUDA driver library: %s", core.ErrUnavailable, joinTried(tried))
}

// bind resolves every symbol of funcs in lib, the library loaded from name, and calls cuInit.
func bind(lib uintptr, name string) (*Driver, error) {
	d := &Driver{Path: name}
	for _, s := range d.fn.symbols() {
		p, err := lookup(lib, s.name)
		if (err != nil || p == 0) && optionalSymbols[s.name] {
			continue
		}
		if err != nil || p == 0 {
			return nil, fmt.Errorf("%w: %s has no symbol %s (driver too old?)", core.ErrUnavailable, name, s.name)
		}
		*s.ptr = p
	}
	if err := d.Init(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", core.ErrUnavailable, name, err)
	}
	return d, nil
}

func joinTried(tried []string) string {
	if len(tried) == 0 {
		return "none tried"
	}
	s := tried[0]
	for _, t := range tried[1:] {
		s += "; " + t
	}
	return s
}

// check turns a CUresult into an error.
func (d *Driver) check(call string, r uintptr) error {
	code := Result(int32(r))
	if code == Success {
		return nil
	}
	e := &Error{Call: call, Code: code, Name: resultNames[code]}
	var p *byte
	if d.syscall(d.fn.cuGetErrorName, uintptr(code), uintptr(unsafe.Pointer(&p))) == 0 && p != nil {
		e.Name = goString(p)
	}
	p = nil
	if d.syscall(d.fn.cuGetErrorString, uintptr(code), uintptr(unsafe.Pointer(&p))) == 0 && p != nil {
		e.Desc = goString(p)
	}
	if e.Name == "" {
		e.Name = fmt.Sprintf("CUresult %d", code)
	}
	return e
}

// IsCode reports whether err is a driver error with code c.
func IsCode(err error, c Result) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == c
}

// goString copies a NUL-terminated C string (static storage in the driver) into Go memory.
func goString(p *byte) string {
	var n int
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// cString returns s as a NUL-terminated byte slice; pass &b[0].
func cString(s string) []byte { return append([]byte(s), 0) }
