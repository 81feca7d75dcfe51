package cu

import (
	"runtime"
	"time"
	"unsafe"
)

// The calls. Pointers to Go memory are converted to uintptr inside each syscall's argument list, so
// the //go:uintptrescapes of syscall keeps their targets on the heap and alive for the call.

// Init calls cuInit(0).
func (d *Driver) Init() error { return d.check("cuInit", d.syscall(d.fn.cuInit, 0)) }

// DriverVersion is the driver's CUDA version, 12040 for 12.4.
func (d *Driver) DriverVersion() (int, error) {
	var v int32
	err := d.check("cuDriverGetVersion", d.syscall(d.fn.cuDriverGetVersion, uintptr(unsafe.Pointer(&v))))
	return int(v), err
}

// DeviceCount is the number of CUDA devices.
func (d *Driver) DeviceCount() (int, error) {
	var n int32
	err := d.check("cuDeviceGetCount", d.syscall(d.fn.cuDeviceGetCount, uintptr(unsafe.Pointer(&n))))
	return int(n), err
}

// DeviceGet returns device ordinal i.
func (d *Driver) DeviceGet(i int) (Device, error) {
	var dev int32
	err := d.check("cuDeviceGet", d.syscall(d.fn.cuDeviceGet, uintptr(unsafe.Pointer(&dev)), uintptr(i)))
	return Device(dev), err
}

// DeviceName is the device's name.
func (d *Driver) DeviceName(dev Device) (string, error) {
	buf := make([]byte, 256)
	if err := d.check("cuDeviceGetName", d.syscall(d.fn.cuDeviceGetName, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), uintptr(dev))); err != nil {
		return "", err
	}
	return goString(&buf[0]), nil
}

// DeviceAttribute returns one attribute.
func (d *Driver) DeviceAttribute(dev Device, attr int) (int, error) {
	var v int32
	err := d.check("cuDeviceGetAttribute", d.syscall(d.fn.cuDeviceGetAttribute, uintptr(unsafe.Pointer(&v)), uintptr(attr), uintptr(dev)))
	return int(v), err
}

// DeviceTotalMem is the device's memory in bytes.
func (d *Driver) DeviceTotalMem(dev Device) (int64, error) {
	var v uint64
	err := d.check("cuDeviceTotalMem_v2", d.syscall(d.fn.cuDeviceTotalMem, uintptr(unsafe.Pointer(&v)), uintptr(dev)))
	return int64(v), err
}

// PrimaryCtxRetain retains the device's primary context (the one the runtime API and PyTorch use, so
// gpuact shares it with them instead of making another).
func (d *Driver) PrimaryCtxRetain(dev Device) (Context, error) {
	var c uintptr
	err := d.check("cuDevicePrimaryCtxRetain", d.syscall(d.fn.cuDevicePrimaryCtxRetain, uintptr(unsafe.Pointer(&c)), uintptr(dev)))
	return Context(c), err
}

// PrimaryCtxRelease releases a retain.
func (d *Driver) PrimaryCtxRelease(dev Device) error {
	return d.check("cuDevicePrimaryCtxRelease_v2", d.syscall(d.fn.cuDevicePrimaryCtxRelease, uintptr(dev)))
}

// CtxSetCurrent binds c to the calling OS thread. Callers lock the goroutine to its thread first.
func (d *Driver) CtxSetCurrent(c Context) error {
	return d.check("cuCtxSetCurrent", d.syscall(d.fn.cuCtxSetCurrent, uintptr(c)))
}

// MemGetInfo reports free and total device memory of the current context's device.
func (d *Driver) MemGetInfo() (free, total int64, err error) {
	var f, t uint64
	err = d.check("cuMemGetInfo_v2", d.syscall(d.fn.cuMemGetInfo, uintptr(unsafe.Pointer(&f)), uintptr(unsafe.Pointer(&t))))
	return int64(f), int64(t), err
}

// MemAlloc allocates bytes of device memory (256-byte aligned).
func (d *Driver) MemAlloc(bytes int64) (DevPtr, error) {
	var p uint64
	err := d.check("cuMemAlloc_v2", d.syscall(d.fn.cuMemAlloc, uintptr(unsafe.Pointer(&p)), uintptr(bytes)))
	return DevPtr(p), err
}

// MemFree frees device memory.
func (d *Driver) MemFree(p DevPtr) error {
	return d.check("cuMemFree_v2", d.syscall(d.fn.cuMemFree, uintptr(p)))
}

// MemHostAlloc allocates bytes of page-locked host memory, which copies to the device read while they run
// (asynchronously); the returned memory is C memory, not Go memory. Free it with MemFreeHost.
func (d *Driver) MemHostAlloc(bytes int64) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	err := d.check("cuMemHostAlloc", d.syscall(d.fn.cuMemHostAlloc, uintptr(unsafe.Pointer(&p)), uintptr(bytes), 0))
	return p, err
}

// MemFreeHost frees memory from MemHostAlloc.
func (d *Driver) MemFreeHost(p unsafe.Pointer) error {
	return d.check("cuMemFreeHost", d.syscall(d.fn.cuMemFreeHost, uintptr(p)))
}

// MemcpyHtoDAsync copies bytes from host memory src to dst on stream s. From page-locked memory the copy
// reads src while it runs; from pageable memory the driver documents the call only as "might be
// synchronous", so src must not be reused before the copy has finished (an event or stream wait).
func (d *Driver) MemcpyHtoDAsync(dst DevPtr, src unsafe.Pointer, bytes int64, s Stream) error {
	err := d.check("cuMemcpyHtoDAsync_v2", d.syscall(d.fn.cuMemcpyHtoDAsync, uintptr(dst), uintptr(src), uintptr(bytes), uintptr(s)))
	runtime.KeepAlive(src)
	return err
}

// MemcpyDtoHAsync copies bytes from src to host memory dst on stream s. To pageable memory it returns
// once the copy is done.
func (d *Driver) MemcpyDtoHAsync(dst unsafe.Pointer, src DevPtr, bytes int64, s Stream) error {
	err := d.check("cuMemcpyDtoHAsync_v2", d.syscall(d.fn.cuMemcpyDtoHAsync, uintptr(dst), uintptr(src), uintptr(bytes), uintptr(s)))
	runtime.KeepAlive(dst)
	return err
}

// MemcpyDtoDAsync copies bytes between device buffers on stream s.
func (d *Driver) MemcpyDtoDAsync(dst, src DevPtr, bytes int64, s Stream) error {
	return d.check("cuMemcpyDtoDAsync_v2", d.syscall(d.fn.cuMemcpyDtoDAsync, uintptr(dst), uintptr(src), uintptr(bytes), uintptr(s)))
}

// ModuleLoadData loads a module from a cubin, PTX or fatbin image in host memory.
func (d *Driver) ModuleLoadData(image []byte) (Module, error) {
	var m uintptr
	err := d.check("cuModuleLoadData", d.syscall(d.fn.cuModuleLoadData, uintptr(unsafe.Pointer(&m)), uintptr(unsafe.Pointer(&image[0]))))
	runtime.KeepAlive(image)
	return Module(m), err
}

// ModuleUnload unloads a module.
func (d *Driver) ModuleUnload(m Module) error {
	return d.check("cuModuleUnload", d.syscall(d.fn.cuModuleUnload, uintptr(m)))
}

// ModuleGetFunction looks a kernel up by its (extern "C") name.
func (d *Driver) ModuleGetFunction(m Module, name string) (Function, error) {
	var f uintptr
	cname := cString(name)
	err := d.check("cuModuleGetFunction("+name+")", d.syscall(d.fn.cuModuleGetFunction, uintptr(unsafe.Pointer(&f)), uintptr(m), uintptr(unsafe.Pointer(&cname[0]))))
	runtime.KeepAlive(cname)
	return Function(f), err
}

// FuncAttribute returns one attribute of a kernel (registers, local memory ...).
func (d *Driver) FuncAttribute(f Function, attr int) (int, error) {
	var v int32
	err := d.check("cuFuncGetAttribute", d.syscall(d.fn.cuFuncGetAttribute, uintptr(unsafe.Pointer(&v)), uintptr(attr), uintptr(f)))
	return int(v), err
}

// LaunchKernel launches f on a 1-D grid. params is a kernelParams array (void**): a pointer to an array
// of pointers to each argument's value. The driver copies the values before it returns, and the memory
// params points to must not hold pointers to unpinned Go memory (the backend pins it).
func (d *Driver) LaunchKernel(f Function, grid, block uint32, s Stream, params unsafe.Pointer) error {
	return d.check("cuLaunchKernel", d.syscall(d.fn.cuLaunchKernel, uintptr(f), uintptr(grid), 1, 1, uintptr(block), 1, 1, 0, uintptr(s), uintptr(params), 0))
}

// PointerAttribute reads one attribute of device pointer p (PointerAttr*) as a 64-bit value: a
// context handle, a device ordinal, an address or a size. A pointer the driver does not know gives
// CUDA_ERROR_INVALID_VALUE.
func (d *Driver) PointerAttribute(attr int, p DevPtr) (uint64, error) {
	var v uint64 // every attribute read here is at most 8 bytes; the ordinal fills the low 4
	err := d.check("cuPointerGetAttribute", d.syscall(d.fn.cuPointerGetAttribute, uintptr(unsafe.Pointer(&v)), uintptr(attr), uintptr(p)))
	if attr == PointerAttrDeviceOrdinal {
		v = uint64(uint32(v))
	}
	return v, err
}

// StreamCreate creates a stream with flags (StreamNonBlocking: it does not wait for the legacy stream).
func (d *Driver) StreamCreate(flags uint32) (Stream, error) {
	var s uintptr
	err := d.check("cuStreamCreate", d.syscall(d.fn.cuStreamCreate, uintptr(unsafe.Pointer(&s)), uintptr(flags)))
	return Stream(s), err
}

// StreamDestroy destroys a stream (its work still completes).
func (d *Driver) StreamDestroy(s Stream) error {
	return d.check("cuStreamDestroy_v2", d.syscall(d.fn.cuStreamDestroy, uintptr(s)))
}

// StreamSynchronize waits for the stream; it returns the error of failed asynchronous work.
func (d *Driver) StreamSynchronize(s Stream) error {
	return d.check("cuStreamSynchronize", d.syscall(d.fn.cuStreamSynchronize, uintptr(s)))
}

// EventCreate creates an event.
func (d *Driver) EventCreate(flags uint32) (Event, error) {
	var e uintptr
	err := d.check("cuEventCreate", d.syscall(d.fn.cuEventCreate, uintptr(unsafe.Pointer(&e)), uintptr(flags)))
	return Event(e), err
}

// EventRecord records e on stream s.
func (d *Driver) EventRecord(e Event, s Stream) error {
	return d.check("cuEventRecord", d.syscall(d.fn.cuEventRecord, uintptr(e), uintptr(s)))
}

// EventSynchronize waits for e.
func (d *Driver) EventSynchronize(e Event) error {
	return d.check("cuEventSynchronize", d.syscall(d.fn.cuEventSynchronize, uintptr(e)))
}

// EventElapsed is the device time between two completed events (resolution about 0.5 µs).
func (d *Driver) EventElapsed(start, end Event) (time.Duration, error) {
	var ms float32
	err := d.check("cuEventElapsedTime", d.syscall(d.fn.cuEventElapsedTime, uintptr(unsafe.Pointer(&ms)), uintptr(start), uintptr(end)))
	return time.Duration(float64(ms) * 1e6), err
}

// EventDestroy destroys an event.
func (d *Driver) EventDestroy(e Event) error {
	return d.check("cuEventDestroy_v2", d.syscall(d.fn.cuEventDestroy, uintptr(e)))
}

// The stream-ordered allocator (CUDA 11.2). Its entry points are optional (see funcs): each call
// returns ErrorNotSupported, without calling, on a driver that lacks it.

// MemoryPools reports whether the driver has the stream-ordered allocator's entry points; whether a
// device supports it is its attribute AttrMemoryPoolsSupported.
func (d *Driver) MemoryPools() bool {
	f := &d.fn
	return f.cuDeviceGetDefaultMemPool != 0 && f.cuMemPoolSetAttribute != 0 && f.cuMemPoolGetAttribute != 0 &&
		f.cuMemPoolTrimTo != 0 && f.cuMemAllocAsync != 0 && f.cuMemFreeAsync != 0
}

// notSupported is the error of an optional call the driver lacks.
func notSupported(call string) error {
	return &Error{Call: call, Code: ErrorNotSupported, Name: "CUDA_ERROR_NOT_SUPPORTED", Desc: "the driver has no " + call + " (older than CUDA 11.2)"}
}

// DefaultMemPool returns the device's default memory pool, the one cuMemAllocAsync allocates from.
func (d *Driver) DefaultMemPool(dev Device) (MemPool, error) {
	if d.fn.cuDeviceGetDefaultMemPool == 0 {
		return 0, notSupported("cuDeviceGetDefaultMemPool")
	}
	var p uintptr
	err := d.check("cuDeviceGetDefaultMemPool", d.syscall(d.fn.cuDeviceGetDefaultMemPool, uintptr(unsafe.Pointer(&p)), uintptr(dev)))
	return MemPool(p), err
}

// MemPoolAttribute reads one cuuint64_t attribute of a pool (MemPool*).
func (d *Driver) MemPoolAttribute(p MemPool, attr int) (uint64, error) {
	if d.fn.cuMemPoolGetAttribute == 0 {
		return 0, notSupported("cuMemPoolGetAttribute")
	}
	var v uint64
	err := d.check("cuMemPoolGetAttribute", d.syscall(d.fn.cuMemPoolGetAttribute, uintptr(p), uintptr(attr), uintptr(unsafe.Pointer(&v))))
	return v, err
}

// SetMemPoolAttribute sets one cuuint64_t attribute of a pool.
func (d *Driver) SetMemPoolAttribute(p MemPool, attr int, v uint64) error {
	if d.fn.cuMemPoolSetAttribute == 0 {
		return notSupported("cuMemPoolSetAttribute")
	}
	return d.check("cuMemPoolSetAttribute", d.syscall(d.fn.cuMemPoolSetAttribute, uintptr(p), uintptr(attr), uintptr(unsafe.Pointer(&v))))
}

// MemPoolTrimTo releases the pool's unused memory to the device until it holds at most keep bytes
// (memory whose free a stream has not reached yet cannot be released).
func (d *Driver) MemPoolTrimTo(p MemPool, keep int64) error {
	if d.fn.cuMemPoolTrimTo == 0 {
		return notSupported("cuMemPoolTrimTo")
	}
	return d.check("cuMemPoolTrimTo", d.syscall(d.fn.cuMemPoolTrimTo, uintptr(p), uintptr(keep)))
}

// MemAllocAsync allocates bytes from the current context's device's default pool in stream order: the
// memory may be used by work queued on s after the call (other streams: after an event or a sync).
func (d *Driver) MemAllocAsync(bytes int64, s Stream) (DevPtr, error) {
	if d.fn.cuMemAllocAsync == 0 {
		return 0, notSupported("cuMemAllocAsync")
	}
	var p uint64
	err := d.check("cuMemAllocAsync", d.syscall(d.fn.cuMemAllocAsync, uintptr(unsafe.Pointer(&p)), uintptr(bytes), uintptr(s)))
	return DevPtr(p), err
}

// MemFreeAsync returns p to its pool when stream s reaches the call: work queued on s before it may
// still use p, work queued after it must not.
func (d *Driver) MemFreeAsync(p DevPtr, s Stream) error {
	if d.fn.cuMemFreeAsync == 0 {
		return notSupported("cuMemFreeAsync")
	}
	return d.check("cuMemFreeAsync", d.syscall(d.fn.cuMemFreeAsync, uintptr(p), uintptr(s)))
}
