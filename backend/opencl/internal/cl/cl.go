// Package cl is gpuact's minimal OpenCL binding: the few dozen OpenCL 1.2 entry points the backend
// needs, loaded from the ICD loader (libOpenCL.so.1, OpenCL.dll, the macOS framework) at run time with
// purego, so that nothing is linked at build time and a machine without OpenCL still runs the program.
//
// Every call that can fail returns an *Error carrying the OpenCL status code and its name, which
// matches core.ErrDevice. Handles are plain integers (C pointers the driver owns), never Go pointers.
// Go memory handed to a call is only read or written during that call: the non-blocking transfers,
// which return before the driver has touched the memory, document what they need of the caller.
// No callback is ever registered: every notify function passed to OpenCL is NULL.
package cl

import (
	"bytes"
	"fmt"
	"runtime"
	"unsafe"
)

// Handles of OpenCL objects. The zero value is OpenCL's NULL.
type (
	Platform uintptr
	Device   uintptr
	Context  uintptr
	Queue    uintptr
	Mem      uintptr
	Program  uintptr
	Kernel   uintptr
	Event    uintptr
)

// Memory object info (clGetMemObjectInfo) and command queue info (clGetCommandQueueInfo).
const (
	MemFlags        uint32 = 0x1101
	MemSize         uint32 = 0x1102
	MemContext      uint32 = 0x1106
	MemOffset       uint32 = 0x1108
	QueueContext    uint32 = 0x1090
	QueueDevice     uint32 = 0x1091
	QueueProperties uint32 = 0x1093
)

// Platform info (clGetPlatformInfo).
const (
	PlatformProfile    uint32 = 0x0900
	PlatformVersion    uint32 = 0x0901
	PlatformName       uint32 = 0x0902
	PlatformVendor     uint32 = 0x0903
	PlatformExtensions uint32 = 0x0904
)

// Device types (clGetDeviceIDs, CL_DEVICE_TYPE).
const (
	DeviceTypeDefault     uint64 = 1 << 0
	DeviceTypeCPU         uint64 = 1 << 1
	DeviceTypeGPU         uint64 = 1 << 2
	DeviceTypeAccelerator uint64 = 1 << 3
	DeviceTypeCustom      uint64 = 1 << 4
	DeviceTypeAll         uint64 = 0xFFFFFFFF
)

// Device info (clGetDeviceInfo).
const (
	DeviceType                     uint32 = 0x1000
	DeviceMaxComputeUnits          uint32 = 0x1002
	DeviceMaxWorkGroupSize         uint32 = 0x1004
	DevicePreferredVectorWidthFlt  uint32 = 0x100A
	DevicePreferredVectorWidthDbl  uint32 = 0x100B
	DeviceMaxClockFrequency        uint32 = 0x100C
	DeviceMaxMemAllocSize          uint32 = 0x1010
	DeviceMemBaseAddrAlign         uint32 = 0x1019
	DeviceSingleFPConfig           uint32 = 0x101B
	DeviceGlobalMemCacheSize       uint32 = 0x101E
	DeviceGlobalMemSize            uint32 = 0x101F
	DeviceLocalMemSize             uint32 = 0x1023
	DeviceProfilingTimerResolution uint32 = 0x1025
	DeviceAvailable                uint32 = 0x1027
	DeviceCompilerAvailable        uint32 = 0x1028
	DeviceName                     uint32 = 0x102B
	DeviceVendor                   uint32 = 0x102C
	DriverVersion                  uint32 = 0x102D
	DeviceVersion                  uint32 = 0x102F
	DeviceExtensions               uint32 = 0x1030
	DeviceDoubleFPConfig           uint32 = 0x1032
	DeviceOpenCLCVersion           uint32 = 0x103D
	// Vendor extensions, asked for only when the device lists them.
	DeviceComputeCapabilityMajorNV uint32 = 0x4000 // cl_nv_device_attribute_query
	DeviceComputeCapabilityMinorNV uint32 = 0x4001
	DeviceBoardNameAMD             uint32 = 0x4038 // cl_amd_device_attribute_query
	DeviceGlobalFreeMemoryAMD      uint32 = 0x4039
)

// Floating-point capability bits (CL_DEVICE_SINGLE_FP_CONFIG, CL_DEVICE_DOUBLE_FP_CONFIG).
const (
	FPDenorm         uint64 = 1 << 0
	FPInfNaN         uint64 = 1 << 1
	FPRoundToNearest uint64 = 1 << 2
	FPFMA            uint64 = 1 << 5
	FPSoftFloat      uint64 = 1 << 6
)

// Other enumerations.
const (
	contextPlatform          uintptr = 0x1084
	QueueProfilingEnable     uint64  = 1 << 1
	MemReadWrite             uint64  = 1 << 0
	MemWriteOnly             uint64  = 1 << 1
	MemReadOnly              uint64  = 1 << 2
	QueueOutOfOrder          uint64  = 1 << 0
	bufferCreateTypeRegion   uint32  = 0x1220
	programBuildLog          uint32  = 0x1183
	kernelWorkGroupSize      uint32  = 0x11B0
	eventExecutionStatus     uint32  = 0x11D3
	ProfilingCommandQueued   uint32  = 0x1280
	ProfilingCommandSubmit   uint32  = 0x1281
	ProfilingCommandStart    uint32  = 0x1282
	ProfilingCommandEnd      uint32  = 0x1283
	clTrue                   uint32  = 1
	clFalse                  uint32  = 0
	maxInfoSize              uintptr = 1 << 20
	maxPlatformsOrDevicesCap uint32  = 1 << 10
)

// Lib is a loaded OpenCL library: the entry points, bound. It is immutable and safe for concurrent
// use; OpenCL itself is thread-safe except for clSetKernelArg on one kernel object, which the caller
// serialises.
type Lib struct {
	// Path is the name or path the library was loaded from.
	Path string

	getPlatformIDs       func(n uint32, platforms *Platform, num *uint32) int32
	getPlatformInfo      func(p Platform, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	getDeviceIDs         func(p Platform, typ uint64, n uint32, devices *Device, num *uint32) int32
	getDeviceInfo        func(d Device, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	createContext        func(props *uintptr, n uint32, devices *Device, notify uintptr, user uintptr, errcode *int32) Context
	releaseContext       func(c Context) int32
	createCommandQueue   func(c Context, d Device, props uint64, errcode *int32) Queue
	releaseCommandQueue  func(q Queue) int32
	createBuffer         func(c Context, flags uint64, size uintptr, host unsafe.Pointer, errcode *int32) Mem
	releaseMemObject     func(m Mem) int32
	retainMemObject      func(m Mem) int32
	getMemObjectInfo     func(m Mem, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	createSubBuffer      func(m Mem, flags uint64, typ uint32, region unsafe.Pointer, errcode *int32) Mem
	retainCommandQueue   func(q Queue) int32
	getCommandQueueInfo  func(q Queue, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	enqueueReadBuffer    func(q Queue, m Mem, blocking uint32, off, size uintptr, ptr unsafe.Pointer, nwait uint32, wait *Event, ev *Event) int32
	enqueueWriteBuffer   func(q Queue, m Mem, blocking uint32, off, size uintptr, ptr unsafe.Pointer, nwait uint32, wait *Event, ev *Event) int32
	enqueueCopyBuffer    func(q Queue, src, dst Mem, srcOff, dstOff, size uintptr, nwait uint32, wait *Event, ev *Event) int32
	createProgramSource  func(c Context, count uint32, strings unsafe.Pointer, lengths *uintptr, errcode *int32) Program
	buildProgram         func(p Program, n uint32, devices *Device, options *byte, notify uintptr, user uintptr) int32
	getProgramBuildInfo  func(p Program, d Device, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	releaseProgram       func(p Program) int32
	createKernel         func(p Program, name *byte, errcode *int32) Kernel
	releaseKernel        func(k Kernel) int32
	setKernelArg         func(k Kernel, index uint32, size uintptr, value unsafe.Pointer) int32
	getKernelWGInfo      func(k Kernel, d Device, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	enqueueNDRangeKernel func(q Queue, k Kernel, dims uint32, offset, global, local *uintptr, nwait uint32, wait *Event, ev *Event) int32
	waitForEvents        func(n uint32, events *Event) int32
	getEventInfo         func(e Event, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	getEventProfiling    func(e Event, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	retainEvent          func(e Event) int32
	releaseEvent         func(e Event) int32
	flush                func(q Queue) int32
	finish               func(q Queue) int32
}

// symbols pairs each entry point with the field it is bound to.
func (l *Lib) symbols() []struct {
	name string
	fn   any
} {
	return []struct {
		name string
		fn   any
	}{
		{"clGetPlatformIDs", &l.getPlatformIDs},
		{"clGetPlatformInfo", &l.getPlatformInfo},
		{"clGetDeviceIDs", &l.getDeviceIDs},
		{"clGetDeviceInfo", &l.getDeviceInfo},
		{"clCreateContext", &l.createContext},
		{"clReleaseContext", &l.releaseContext},
		// clCreateCommandQueue is deprecated since OpenCL 2.0 but exported by every loader and driver;
		// its replacement does not exist on OpenCL 1.2 platforms.
		{"clCreateCommandQueue", &l.createCommandQueue},
		{"clReleaseCommandQueue", &l.releaseCommandQueue},
		{"clCreateBuffer", &l.createBuffer},
		{"clReleaseMemObject", &l.releaseMemObject},
		{"clRetainMemObject", &l.retainMemObject},
		{"clGetMemObjectInfo", &l.getMemObjectInfo},
		{"clCreateSubBuffer", &l.createSubBuffer},
		{"clRetainCommandQueue", &l.retainCommandQueue},
		{"clGetCommandQueueInfo", &l.getCommandQueueInfo},
		{"clEnqueueReadBuffer", &l.enqueueReadBuffer},
		{"clEnqueueWriteBuffer", &l.enqueueWriteBuffer},
		{"clEnqueueCopyBuffer", &l.enqueueCopyBuffer},
		{"clCreateProgramWithSource", &l.createProgramSource},
		{"clBuildProgram", &l.buildProgram},
		{"clGetProgramBuildInfo", &l.getProgramBuildInfo},
		{"clReleaseProgram", &l.releaseProgram},
		{"clCreateKernel", &l.createKernel},
		{"clReleaseKernel", &l.releaseKernel},
		{"clSetKernelArg", &l.setKernelArg},
		{"clGetKernelWorkGroupInfo", &l.getKernelWGInfo},
		{"clEnqueueNDRangeKernel", &l.enqueueNDRangeKernel},
		{"clWaitForEvents", &l.waitForEvents},
		{"clGetEventInfo", &l.getEventInfo},
		{"clGetEventProfilingInfo", &l.getEventProfiling},
		{"clRetainEvent", &l.retainEvent},
		{"clReleaseEvent", &l.releaseEvent},
		{"clFlush", &l.flush},
		{"clFinish", &l.finish},
	}
}

func boolCL(b bool) uint32 {
	if b {
		return clTrue
	}
	return clFalse
}

// cString returns s as a NUL-terminated byte slice.
func cString(s string) []byte { return append([]byte(s), 0) }

// Platforms lists the platforms the loader found. A loader without any platform answers with the
// status CL_PLATFORM_NOT_FOUND_KHR (ocl-icd, the Khronos loader) or with zero platforms; both give
// an empty list and an error naming the status, so the caller can say why.
func (l *Lib) Platforms() ([]Platform, error) {
	var n uint32
	if err := check("clGetPlatformIDs", l.getPlatformIDs(0, nil, &n)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	n = min(n, maxPlatformsOrDevicesCap)
	ps := make([]Platform, n)
	if err := check("clGetPlatformIDs", l.getPlatformIDs(n, &ps[0], &n)); err != nil {
		return nil, err
	}
	return ps[:min(int(n), len(ps))], nil
}

// PlatformString returns a string-valued platform parameter.
func (l *Lib) PlatformString(p Platform, param uint32) (string, error) {
	b, err := l.info("clGetPlatformInfo", func(size uintptr, v unsafe.Pointer, ret *uintptr) int32 {
		return l.getPlatformInfo(p, param, size, v, ret)
	})
	return cTrim(b), err
}

// Devices lists the devices of type typ (DeviceTypeAll for every one) on platform p, in the
// platform's order. A platform without such devices gives an empty list and no error.
func (l *Lib) Devices(p Platform, typ uint64) ([]Device, error) {
	var n uint32
	code := l.getDeviceIDs(p, typ, 0, nil, &n)
	if code == DeviceNotFound || (code == Success && n == 0) {
		return nil, nil
	}
	if err := check("clGetDeviceIDs", code); err != nil {
		return nil, err
	}
	n = min(n, maxPlatformsOrDevicesCap)
	ds := make([]Device, n)
	if err := check("clGetDeviceIDs", l.getDeviceIDs(p, typ, n, &ds[0], &n)); err != nil {
		return nil, err
	}
	return ds[:min(int(n), len(ds))], nil
}

// DeviceBytes returns the raw value of a device parameter.
func (l *Lib) DeviceBytes(d Device, param uint32) ([]byte, error) {
	return l.info("clGetDeviceInfo", func(size uintptr, v unsafe.Pointer, ret *uintptr) int32 {
		return l.getDeviceInfo(d, param, size, v, ret)
	})
}

// DeviceString returns a string-valued device parameter.
func (l *Lib) DeviceString(d Device, param uint32) (string, error) {
	b, err := l.DeviceBytes(d, param)
	return cTrim(b), err
}

// DeviceUint returns an integer-valued device parameter (cl_uint, cl_bool, cl_ulong, size_t or a
// bitfield; the size the driver reports decides which).
func (l *Lib) DeviceUint(d Device, param uint32) (uint64, error) {
	b, err := l.DeviceBytes(d, param)
	if err != nil {
		return 0, err
	}
	return leUint(b), nil
}

// info runs the two-step query of every clGet*Info function: the size, then the value.
func (l *Lib) info(op string, get func(size uintptr, v unsafe.Pointer, ret *uintptr) int32) ([]byte, error) {
	var size uintptr
	if err := check(op, get(0, nil, &size)); err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, nil
	}
	if size > maxInfoSize {
		return nil, &Error{Op: op, Code: InvalidValue}
	}
	b := make([]byte, size)
	if err := check(op, get(size, unsafe.Pointer(&b[0]), nil)); err != nil {
		return nil, err
	}
	return b, nil
}

// leUint reads an unsigned integer of 1, 2, 4 or 8 bytes in host byte order (how clGet*Info writes it).
func leUint(b []byte) uint64 {
	var v uint64
	switch len(b) {
	case 1:
		v = uint64(b[0])
	case 2:
		v = uint64(*(*uint16)(unsafe.Pointer(&b[0])))
	case 4:
		v = uint64(*(*uint32)(unsafe.Pointer(&b[0])))
	case 8:
		v = *(*uint64)(unsafe.Pointer(&b[0]))
	}
	return v
}

func cTrim(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(bytes.TrimSpace(b))
}

// CreateContext creates a context for device d of platform p.
func (l *Lib) CreateContext(p Platform, d Device) (Context, error) {
	props := [3]uintptr{contextPlatform, uintptr(p), 0}
	var code int32
	c := l.createContext(&props[0], 1, &d, 0, 0, &code)
	if err := check("clCreateContext", code); err != nil {
		return 0, err
	}
	return c, nil
}

// ReleaseContext releases c.
func (l *Lib) ReleaseContext(c Context) error { return check("clReleaseContext", l.releaseContext(c)) }

// CreateQueue creates an in-order command queue on d, with profiling when asked for.
func (l *Lib) CreateQueue(c Context, d Device, profiling bool) (Queue, error) {
	var props uint64
	if profiling {
		props = QueueProfilingEnable
	}
	var code int32
	q := l.createCommandQueue(c, d, props, &code)
	if err := check("clCreateCommandQueue", code); err != nil {
		return 0, err
	}
	return q, nil
}

// ReleaseQueue releases q (after the driver has finished its commands).
func (l *Lib) ReleaseQueue(q Queue) error {
	return check("clReleaseCommandQueue", l.releaseCommandQueue(q))
}

// CreateBuffer allocates a read-write buffer of size bytes (size > 0).
func (l *Lib) CreateBuffer(c Context, size uintptr) (Mem, error) {
	var code int32
	m := l.createBuffer(c, MemReadWrite, size, nil, &code)
	if err := check("clCreateBuffer", code); err != nil {
		return 0, err
	}
	return m, nil
}

// ReleaseMem releases m. OpenCL frees the memory once the commands queued on it have finished.
func (l *Lib) ReleaseMem(m Mem) error { return check("clReleaseMemObject", l.releaseMemObject(m)) }

// RetainMem adds a reference to m, which ReleaseMem drops.
func (l *Lib) RetainMem(m Mem) error { return check("clRetainMemObject", l.retainMemObject(m)) }

// MemUint returns an integer-valued parameter of m (MemSize, MemFlags, MemOffset; a handle such as
// MemContext, as an integer).
func (l *Lib) MemUint(m Mem, param uint32) (uint64, error) {
	b, err := l.info("clGetMemObjectInfo", func(size uintptr, v unsafe.Pointer, ret *uintptr) int32 {
		return l.getMemObjectInfo(m, param, size, v, ret)
	})
	return leUint(b), err
}

// CreateSubBuffer creates a read-write buffer of size bytes that is m's memory from byte origin on.
// origin must be a multiple of the device's CL_DEVICE_MEM_BASE_ADDR_ALIGN (in bits).
func (l *Lib) CreateSubBuffer(m Mem, origin, size uintptr) (Mem, error) {
	region := [2]uintptr{origin, size}
	var code int32
	sub := l.createSubBuffer(m, MemReadWrite, bufferCreateTypeRegion, unsafe.Pointer(&region[0]), &code)
	runtime.KeepAlive(&region)
	if err := check("clCreateSubBuffer", code); err != nil {
		return 0, err
	}
	return sub, nil
}

// RetainQueue adds a reference to q, which ReleaseQueue drops.
func (l *Lib) RetainQueue(q Queue) error {
	return check("clRetainCommandQueue", l.retainCommandQueue(q))
}

// QueueUint returns an integer-valued parameter of q (QueueProperties; QueueContext and QueueDevice,
// handles, as integers).
func (l *Lib) QueueUint(q Queue, param uint32) (uint64, error) {
	b, err := l.info("clGetCommandQueueInfo", func(size uintptr, v unsafe.Pointer, ret *uintptr) int32 {
		return l.getCommandQueueInfo(q, param, size, v, ret)
	})
	return leUint(b), err
}

// Write copies size bytes from host memory at ptr into m at byte offset off. A blocking write has
// finished reading ptr when it returns. A non-blocking one reads ptr later, so ptr must then be memory
// the garbage collector does not move or free (C memory, or Go memory pinned with runtime.Pinner)
// until ev has completed. ev, if not nil, receives the command's event, which the caller releases.
func (l *Lib) Write(q Queue, m Mem, blocking bool, off, size uintptr, ptr unsafe.Pointer, ev *Event) error {
	err := check("clEnqueueWriteBuffer", l.enqueueWriteBuffer(q, m, boolCL(blocking), off, size, ptr, 0, nil, ev))
	runtime.KeepAlive(ptr)
	return err
}

// Read copies size bytes from m at byte offset off into host memory at ptr, after every command
// queued before it. A blocking read has filled ptr when it returns; a non-blocking one has the same
// needs as a non-blocking Write.
func (l *Lib) Read(q Queue, m Mem, blocking bool, off, size uintptr, ptr unsafe.Pointer, ev *Event) error {
	err := check("clEnqueueReadBuffer", l.enqueueReadBuffer(q, m, boolCL(blocking), off, size, ptr, 0, nil, ev))
	runtime.KeepAlive(ptr)
	return err
}

// Copy queues a device copy of size bytes from src at srcOff to dst at dstOff.
func (l *Lib) Copy(q Queue, src, dst Mem, srcOff, dstOff, size uintptr, ev *Event) error {
	return check("clEnqueueCopyBuffer", l.enqueueCopyBuffer(q, src, dst, srcOff, dstOff, size, 0, nil, ev))
}

// BuildProgram creates a program from source and builds it for d with options. The build log is
// returned whether or not the build succeeded (it holds warnings too).
func (l *Lib) BuildProgram(c Context, d Device, source []byte, options string) (Program, string, error) {
	if len(source) == 0 {
		return 0, "", &Error{Op: "clCreateProgramWithSource", Code: InvalidValue}
	}
	// clCreateProgramWithSource reads an array of string pointers: the array holds a Go pointer, so
	// the source is pinned for the duration of the call (the cgo pointer rules).
	src := append([]byte(nil), source...)
	var pin runtime.Pinner
	pin.Pin(&src[0])
	strs := [1]*byte{&src[0]}
	lengths := [1]uintptr{uintptr(len(src))}
	var code int32
	p := l.createProgramSource(c, 1, unsafe.Pointer(&strs[0]), &lengths[0], &code)
	pin.Unpin()
	runtime.KeepAlive(src)
	if err := check("clCreateProgramWithSource", code); err != nil {
		return 0, "", err
	}
	opts := cString(options)
	buildErr := check("clBuildProgram", l.buildProgram(p, 1, &d, &opts[0], 0, 0))
	runtime.KeepAlive(opts)
	logBytes, logErr := l.info("clGetProgramBuildInfo", func(size uintptr, v unsafe.Pointer, ret *uintptr) int32 {
		return l.getProgramBuildInfo(p, d, programBuildLog, size, v, ret)
	})
	log := cTrim(logBytes)
	if logErr != nil {
		log = fmt.Sprintf("(no build log: %v)", logErr)
	}
	if buildErr != nil {
		l.releaseProgram(p)
		return 0, log, buildErr
	}
	return p, log, nil
}

// ReleaseProgram releases p.
func (l *Lib) ReleaseProgram(p Program) error { return check("clReleaseProgram", l.releaseProgram(p)) }

// CreateKernel returns the kernel called name in the built program p.
func (l *Lib) CreateKernel(p Program, name string) (Kernel, error) {
	cname := cString(name)
	var code int32
	k := l.createKernel(p, &cname[0], &code)
	runtime.KeepAlive(cname)
	if code != Success {
		return 0, fmt.Errorf("kernel %s: %w", name, &Error{Op: "clCreateKernel", Code: code})
	}
	return k, nil
}

// ReleaseKernel releases k.
func (l *Lib) ReleaseKernel(k Kernel) error { return check("clReleaseKernel", l.releaseKernel(k)) }

// KernelWorkGroupSize is the largest work-group k can run with on d.
func (l *Lib) KernelWorkGroupSize(k Kernel, d Device) (uint64, error) {
	var v uintptr
	err := check("clGetKernelWorkGroupInfo", l.getKernelWGInfo(k, d, kernelWorkGroupSize, unsafe.Sizeof(v), unsafe.Pointer(&v), nil))
	return uint64(v), err
}

// SetArg sets argument index of k to the size bytes at value (copied by the driver during the call).
// Calls on one kernel object must not run concurrently.
func (l *Lib) SetArg(k Kernel, index uint32, size uintptr, value unsafe.Pointer) error {
	err := l.setKernelArg(k, index, size, value)
	runtime.KeepAlive(value)
	if err != Success {
		return fmt.Errorf("argument %d: %w", index, &Error{Op: "clSetKernelArg", Code: err})
	}
	return nil
}

// SetArgMem sets a buffer argument.
func (l *Lib) SetArgMem(k Kernel, index uint32, m Mem) error {
	return l.SetArg(k, index, unsafe.Sizeof(m), unsafe.Pointer(&m))
}

// SetArgUint64 sets a ulong argument.
func (l *Lib) SetArgUint64(k Kernel, index uint32, v uint64) error {
	return l.SetArg(k, index, 8, unsafe.Pointer(&v))
}

// SetArgInt32 sets an int argument.
func (l *Lib) SetArgInt32(k Kernel, index uint32, v int32) error {
	return l.SetArg(k, index, 4, unsafe.Pointer(&v))
}

// SetArgFloat32 sets a float argument.
func (l *Lib) SetArgFloat32(k Kernel, index uint32, v float32) error {
	return l.SetArg(k, index, 4, unsafe.Pointer(&v))
}

// SetArgFloat64 sets a double argument.
func (l *Lib) SetArgFloat64(k Kernel, index uint32, v float64) error {
	return l.SetArg(k, index, 8, unsafe.Pointer(&v))
}

// Launch queues k over a one-dimensional range of global work-items in work-groups of local
// (0: the driver chooses). ev, if not nil, receives the command's event.
func (l *Lib) Launch(q Queue, k Kernel, global, local uint64, ev *Event) error {
	g := uintptr(global)
	lp := (*uintptr)(nil)
	lv := uintptr(local)
	if local > 0 {
		lp = &lv
	}
	return check("clEnqueueNDRangeKernel", l.enqueueNDRangeKernel(q, k, 1, nil, &g, lp, 0, nil, ev))
}

// Wait blocks until every event in evs has completed. A command that failed makes it return
// CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST; EventStatus then tells which and why.
func (l *Lib) Wait(evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	return check("clWaitForEvents", l.waitForEvents(uint32(len(evs)), &evs[0]))
}

// EventStatus is the command's execution status: 0 (CL_COMPLETE), a positive state while it is
// queued or running, or the negative status code of a command that failed.
func (l *Lib) EventStatus(e Event) (int32, error) {
	var v int32
	err := check("clGetEventInfo", l.getEventInfo(e, eventExecutionStatus, 4, unsafe.Pointer(&v), nil))
	return v, err
}

// ProfilingTime returns one of the command's profiling timestamps, in nanoseconds of the device's
// clock (ProfilingCommandStart, ProfilingCommandEnd, ...). The queue must have profiling enabled and
// the command must have completed.
func (l *Lib) ProfilingTime(e Event, param uint32) (uint64, error) {
	var v uint64
	err := check("clGetEventProfilingInfo", l.getEventProfiling(e, param, 8, unsafe.Pointer(&v), nil))
	return v, err
}

// RetainEvent adds a reference to e, which a ReleaseEvent drops.
func (l *Lib) RetainEvent(e Event) error { return check("clRetainEvent", l.retainEvent(e)) }

// ReleaseEvent releases e.
func (l *Lib) ReleaseEvent(e Event) error { return check("clReleaseEvent", l.releaseEvent(e)) }

// Flush submits the queued commands to the device without waiting for them.
func (l *Lib) Flush(q Queue) error { return check("clFlush", l.flush(q)) }

// Finish waits for every command queued on q. An error of a command that failed asynchronously
// surfaces here.
func (l *Lib) Finish(q Queue) error { return check("clFinish", l.finish(q)) }
