// Package cuda is gpuact's backend for NVIDIA GPUs through the CUDA driver API, loaded at run time from
// libcuda.so.1 (nvcuda.dll on Windows) with purego: no cgo, no CUDA toolkit, and on a machine without the
// driver or a GPU, Devices and Open say why instead of failing at program start.
//
// One Backend serves one device (cuda:N) through the device's primary context and a non-blocking stream
// of its own. Passes, Upload and Copy are queued on that stream and return before the GPU has finished
// (Upload once it has copied src into pinned memory of its own: upload.go); Download and Sync wait for
// it, and report an error of asynchronous work. The kernels are kernels/activations.cu, compiled ahead of
// time into the embedded fatbin.
//
// The tests run on an emulated driver by default (internal/cudaemu), and on a real GPU in the GPU check.
package cuda

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/kernels"
)

// block is the threads per block of every launch (the kernels' __launch_bounds__).
const block = 256

// kernelDTypes are the dtypes activations.cu is compiled for, with the part of each kernel's name that
// names the dtype: gpuact_<formula.Row.Kernel>_<suffix>_<vec|scalar> (GPUACT_KERNELS in activations.cu).
var kernelDTypes = map[formula.DType]string{formula.Float32: "f32", formula.Float64: "f64"}

// dtypes is the set of kernelDTypes, what Info and Alloc accept.
func dtypes() formula.DTypeSet { return formula.SetOf(slices.Collect(maps.Keys(kernelDTypes))...) }

// kernelOps are the kernels of the formula table (one per row, rows may share one), and the float32
// special case below: every one is looked up when a backend opens, so a missing kernel fails Open.
func kernelOps() []string {
	ops := []string{eluForwardPow2}
	for _, r := range formula.Rows() {
		if !slices.Contains(ops, r.Kernel) {
			ops = append(ops, r.Kernel)
		}
	}
	return ops
}

// eluForwardPow2 is the float32 ELU forward kernel for a power-of-two or zero α, which needs no float64
// arithmetic (see activations.cu). GPUACT_CUDA_ELU_DOUBLE=1 switches it off, to compare the two.
const eluForwardPow2 = "elu_fwd_p2"

// exactScale reports whether multiplying a float32 by a is exact (barring overflow and underflow): a is
// zero or a power of two.
func exactScale(a float32) bool {
	if a == 0 {
		return true
	}
	frac, _ := math.Frexp(float64(a))
	return frac == 0.5 || frac == -0.5
}

type kernelKey struct {
	op    string
	dtype formula.DType
	vec   bool
}

func (k kernelKey) name() string {
	v := "scalar"
	if k.vec {
		v = "vec"
	}
	return "gpuact_" + k.op + "_" + kernelDTypes[k.dtype] + "_" + v
}

// launchArgs is the kernelParams block of every launch: the argument values and the array of pointers
// to them that cuLaunchKernel reads. It is pinned for the backend's life, so the pointers it holds are
// pointers to pinned memory, which may be handed to C.
type launchArgs struct {
	out, a, b, n uint64
	alpha32      float32
	alpha64      float64
	ptrs32       [5]unsafe.Pointer
	ptrs64       [5]unsafe.Pointer
}

// Backend is one CUDA device.
type Backend struct {
	owner   *core.Owner
	drv     *cu.Driver
	ordinal int
	dev     cu.Device
	ctx     cu.Context
	stream  cu.Stream
	module  cu.Module
	fns     map[kernelKey]cu.Function
	maxGrid uint32 // SM count × resident blocks per SM: the grid that fills the GPU once
	info    core.Info

	launchMu sync.Mutex // guards args between filling it and cuLaunchKernel
	args     *launchArgs
	pinner   runtime.Pinner

	staging staging // pinned memory Upload copies through (upload.go)
	timers  timers  // TimeDevice's events (timer.go)

	// asyncErr is the first error of asynchronous work that a call which does not report such errors
	// (Free, Upload) met while it waited for the device; the next synchronising call reports it.
	asyncMu  sync.Mutex
	asyncErr error

	eluDouble bool // GPUACT_CUDA_ELU_DOUBLE=1: never use elu_fwd_p2
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Timer   = (*Backend)(nil)
)

// Devices is the CUDA backend's entry in backend.List: every CUDA device as "cuda:N", or one unusable
// entry that says why there is none (no driver library, cuInit failing, no device).
func Devices() []core.Device {
	drv, err := cu.Load()
	if err != nil {
		return []core.Device{{Spec: "cuda", Platform: core.PlatformCUDA, Type: core.DeviceGPU, Reason: err.Error()}}
	}
	n, err := drv.DeviceCount()
	if err == nil && n == 0 {
		err = errors.New("the driver reports no CUDA device")
	}
	if err != nil {
		return []core.Device{{Spec: "cuda", Platform: core.PlatformCUDA, Type: core.DeviceGPU, Reason: err.Error()}}
	}
	devs := make([]core.Device, n)
	for i := range devs {
		d := core.Device{Spec: "cuda:" + strconv.Itoa(i), Platform: core.PlatformCUDA, Type: core.DeviceGPU}
		dev, err := drv.DeviceGet(i)
		if err == nil {
			d.Name, err = drv.DeviceName(dev)
		}
		if err != nil {
			d.Reason = err.Error()
		} else {
			d.Usable = true
			d.Open = func() (core.Backend, error) {
				b, err := Open(i)
				if err != nil {
					return nil, err // not a nil *Backend in a non-nil interface
				}
				return b, nil
			}
		}
		devs[i] = d
	}
	return devs
}

// Open opens CUDA device ordinal i: it retains the device's primary context, creates a stream and loads
// the kernels. Any failure is an error wrapping core.ErrUnavailable with the driver's code and name.
func Open(i int) (*Backend, error) {
	drv, err := cu.Load()
	if err != nil {
		return nil, err
	}
	spec := "cuda:" + strconv.Itoa(i)
	fail := func(err error) (*Backend, error) {
		return nil, fmt.Errorf("%w: %s: %v", core.ErrUnavailable, spec, err)
	}
	if n, err := drv.DeviceCount(); err != nil || i < 0 || i >= n {
		if err == nil {
			err = fmt.Errorf("no such device (the driver reports %d)", n)
		}
		return fail(err)
	}
	dev, err := drv.DeviceGet(i)
	if err != nil {
		return fail(err)
	}
	ctx, err := drv.PrimaryCtxRetain(dev)
	if err != nil {
		return fail(err)
	}
	b := &Backend{drv: drv, ordinal: i, dev: dev, ctx: ctx, fns: map[kernelKey]cu.Function{},
		eluDouble: os.Getenv("GPUACT_CUDA_ELU_DOUBLE") == "1"}
	if err := b.init(spec); err != nil {
		b.release()
		return fail(err)
	}
	return b, nil
}

// init makes the stream, loads the module and reads the device's description.
func (b *Backend) init(spec string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d := b.drv
	if err := d.CtxSetCurrent(b.ctx); err != nil {
		return err
	}
	var err error
	if b.stream, err = d.StreamCreate(cu.StreamNonBlocking); err != nil {
		return err
	}
	if b.module, err = d.ModuleLoadData(kernels.CUDAFatbin); err != nil {
		return fmt.Errorf("loading the kernels (%s): %w", kernels.CUDAArchs, err)
	}
	for _, op := range kernelOps() {
		for dt := range kernelDTypes {
			for _, vec := range []bool{false, true} {
				k := kernelKey{op, dt, vec}
				if b.fns[k], err = d.ModuleGetFunction(b.module, k.name()); err != nil {
					return err
				}
			}
		}
	}
	// One pair of TimeDevice events up front: the common case makes none later, and a driver that
	// cannot make events fails here, not in the middle of a benchmark.
	p, err := b.timers.get(d)
	if err != nil {
		return err
	}
	b.timers.put(p)
	if err := b.staging.init(d); err != nil {
		return err
	}
	attr := func(a int) int {
		v, e := d.DeviceAttribute(b.dev, a)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	sms := attr(cu.AttrMultiprocessorCount)
	perSM := attr(cu.AttrMaxThreadsPerMultiproc)
	memClock := attr(cu.AttrMemoryClockRate)
	bus := attr(cu.AttrGlobalMemoryBusWidth)
	l2 := attr(cu.AttrL2CacheSize)
	major, minor := attr(cu.AttrComputeCapabilityMajor), attr(cu.AttrComputeCapabilityMinor)
	clock := attr(cu.AttrClockRate)
	if err != nil {
		return err
	}
	b.maxGrid = uint32(max(1, sms*max(1, perSM/block)))
	name, err := d.DeviceName(b.dev)
	if err != nil {
		return err
	}
	total, err := d.DeviceTotalMem(b.dev)
	if err != nil {
		return err
	}
	ver, err := d.DriverVersion()
	if err != nil {
		return err
	}
	regs, _ := d.FuncAttribute(b.fns[kernelKey{"elu_bwd_in", formula.Float64, true}], cu.FuncAttributeNumRegs)
	b.info = core.Info{
		Spec: spec, Platform: core.PlatformCUDA, Type: core.DeviceGPU,
		Name: name, Vendor: "NVIDIA", Driver: fmt.Sprintf("CUDA %d.%d (%s)", ver/1000, ver%1000/10, d.Path),
		Memory: total, ComputeUnits: sms, DTypes: dtypes(), Denormals: true,
		Details: map[string]string{
			core.DetailPath:              "fatbin " + kernels.CUDAArchs,
			core.DetailCacheBytes:        strconv.Itoa(l2),
			core.DetailMemoryClockKHz:    strconv.Itoa(memClock),
			core.DetailMemoryBusBits:     strconv.Itoa(bus),
			core.DetailComputeCapability: fmt.Sprintf("%d.%d", major, minor),
			"sm_clock_khz":               strconv.Itoa(clock),
			"max_threads_per_sm":         strconv.Itoa(perSM),
			"grid":                       fmt.Sprintf("%d blocks of %d", b.maxGrid, block),
			"registers_elu_bwd_in_f64":   strconv.Itoa(regs),
		},
	}
	b.args = &launchArgs{}
	b.pinner.Pin(b.args)
	a := b.args
	a.ptrs32 = [5]unsafe.Pointer{unsafe.Pointer(&a.out), unsafe.Pointer(&a.a), unsafe.Pointer(&a.b), unsafe.Pointer(&a.n), unsafe.Pointer(&a.alpha32)}
	a.ptrs64 = [5]unsafe.Pointer{unsafe.Pointer(&a.out), unsafe.Pointer(&a.a), unsafe.Pointer(&a.b), unsafe.Pointer(&a.n), unsafe.Pointer(&a.alpha64)}
	b.owner = core.NewOwner(spec, dtypes(), b.free)
	return nil
}

// release undoes init as far as it got (Open's failure path and Close).
func (b *Backend) release() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d := b.drv
	defer b.pinner.Unpin()
	if err := d.CtxSetCurrent(b.ctx); err != nil {
		return errors.Join(err, d.PrimaryCtxRelease(b.dev))
	}
	var errs []error
	if b.stream != 0 { // the stream's work finishes first: it may read staging chunks
		errs = append(errs, b.reportAsync(d.StreamSynchronize(b.stream)), d.StreamDestroy(b.stream))
	}
	errs = append(errs, b.timers.destroy(d), b.staging.release(d))
	if b.module != 0 {
		errs = append(errs, d.ModuleUnload(b.module))
	}
	errs = append(errs, d.PrimaryCtxRelease(b.dev))
	return errors.Join(errs...)
}

// enter locks the goroutine to its OS thread and makes the backend's context current there: a CUDA
// context is per thread. The caller must runtime.UnlockOSThread() when enter succeeds.
func (b *Backend) enter() error {
	runtime.LockOSThread()
	if err := b.drv.CtxSetCurrent(b.ctx); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("%s: %w", b.info.Spec, err)
	}
	return nil
}

// Info describes the GPU.
func (b *Backend) Info() core.Info { return b.info.Clone() }

// Alloc allocates device memory. A size the GPU cannot hold gives an error matching core.ErrOutOfMemory,
// and the backend keeps working.
func (b *Backend) Alloc(dtype formula.DType, n int) (core.Buffer, error) {
	return b.owner.Alloc(dtype, n, func(bytes int64) (any, error) {
		if bytes == 0 {
			return cu.DevPtr(0), nil // cuMemAlloc refuses 0 bytes; nothing is ever read or written
		}
		if err := b.enter(); err != nil {
			return nil, err
		}
		defer runtime.UnlockOSThread()
		p, err := b.drv.MemAlloc(bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: Alloc of %d bytes (%d %s): %w", b.info.Spec, bytes, n, dtype, err)
		}
		return p, nil
	})
}

// free releases one allocation after the work queued on the stream, which may still use it, is done.
// An error of that work is kept for the next synchronising call: Free is not where it is reported.
func (b *Backend) free(mem any) error {
	p := mem.(cu.DevPtr)
	if p == 0 {
		return nil
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	b.keepAsyncErr(b.drv.StreamSynchronize(b.stream))
	return b.drv.MemFree(p)
}

// keepAsyncErr keeps err, an error of asynchronous work met by a call that does not report such errors,
// for the next synchronising call (the first one kept wins, as Sync reports the first error).
func (b *Backend) keepAsyncErr(err error) {
	if err == nil {
		return
	}
	b.asyncMu.Lock()
	defer b.asyncMu.Unlock()
	if b.asyncErr == nil {
		b.asyncErr = err
	}
}

// reportAsync is what a synchronising call (Sync, Download, TimeDevice, Close) returns after its wait
// ended with err: the kept error first, then err.
func (b *Backend) reportAsync(err error) error {
	b.asyncMu.Lock()
	kept := b.asyncErr
	b.asyncErr = nil
	b.asyncMu.Unlock()
	if kept != nil && err != nil && kept.Error() == err.Error() {
		return err // a sticky error, met twice
	}
	return errors.Join(kept, err)
}

// Free releases buf's allocation once the work queued before it has finished.
func (b *Backend) Free(buf core.Buffer) error { return b.owner.Free(buf) }

// ptr is the device address of buf's first element.
func ptr(buf core.Buffer) uint64 {
	if buf.IsNil() {
		return 0
	}
	return uint64(buf.Alloc().Mem().(cu.DevPtr)) + uint64(buf.Offset())*uint64(buf.DType().Size())
}

// Download copies src to dst after the work queued before it, and waits: it is a synchronising call and
// reports an error of earlier asynchronous work.
func (b *Backend) Download(dst core.Host, src core.Buffer) error {
	l, err := b.owner.BeginCopy(src, dst, false)
	if err != nil {
		return err
	}
	defer l.End()
	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	if l.N > 0 {
		if err := b.drv.MemcpyDtoHAsync(dst.Pointer(), cu.DevPtr(ptr(src)), src.Bytes(), b.stream); err != nil {
			return b.reportAsync(err)
		}
	}
	return b.reportAsync(b.drv.StreamSynchronize(b.stream))
}

// Copy copies src to dst on the device, queued on the stream.
func (b *Backend) Copy(dst, src core.Buffer) error {
	l, err := b.owner.BeginDeviceCopy(dst, src)
	if err != nil {
		return err
	}
	defer l.End()
	if l.N == 0 || ptr(dst) == ptr(src) {
		return nil
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	return b.drv.MemcpyDtoDAsync(cu.DevPtr(ptr(dst)), cu.DevPtr(ptr(src)), dst.Bytes(), b.stream)
}

// Forward queues y = f(x).
func (b *Backend) Forward(act formula.Activation, y, x core.Buffer) error {
	return b.run(formula.Forward, act, y, x, core.Buffer{})
}

// BackwardFromInput queues dx = f'(x)·dy.
func (b *Backend) BackwardFromInput(act formula.Activation, dx, dy, x core.Buffer) error {
	return b.run(formula.BackwardFromInput, act, dx, dy, x)
}

// BackwardFromOutput queues dx = f'(x)·dy computed from y = f(x).
func (b *Backend) BackwardFromOutput(act formula.Activation, dx, dy, y core.Buffer) error {
	return b.run(formula.BackwardFromOutput, act, dx, dy, y)
}

func (b *Backend) run(p formula.Pass, act formula.Activation, out, in1, in2 core.Buffer) error {
	l, err := b.owner.BeginPass(p, act, out, in1, in2)
	if err != nil {
		return err
	}
	defer l.End()
	if l.N == 0 {
		return nil
	}
	po, pa, pb := ptr(out), ptr(in1), ptr(in2)
	// 16-byte vectors need the output and every input at the same address modulo 16: the kernel aligns
	// the output with a scalar head, which then aligns the inputs too.
	vec := (po^pa)&15 == 0 && (p == formula.Forward || (po^pb)&15 == 0)
	k := kernelKey{l.Row.Kernel, l.DType, vec}
	if l.DType == formula.Float32 && k.op == "elu_fwd" && exactScale(float32(act.Alpha())) && !b.eluDouble {
		k.op = eluForwardPow2
	}
	fn, ok := b.fns[k]
	if !ok { // a row or dtype added without its kernel in activations.cu
		return fmt.Errorf("%w: %s: %s: no CUDA kernel %s", core.ErrBadActivation, b.info.Spec, p, k.name())
	}
	// Elements one thread handles per loop step: two 16-byte vectors, or four scalars.
	perThread := uint64(4)
	if vec {
		perThread = 32 / uint64(l.DType.Size())
	}
	n := uint64(l.N)
	grid := uint32(min(uint64(b.maxGrid), max(1, (n+block*perThread-1)/(block*perThread))))

	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	b.launchMu.Lock()
	a := b.args
	a.out, a.a, a.b, a.n = po, pa, pb, n
	var params unsafe.Pointer
	switch l.DType {
	case formula.Float32:
		a.alpha32 = formula.Round[float32](act.Alpha())
		params = unsafe.Pointer(&a.ptrs32[0])
	case formula.Float64:
		a.alpha64 = act.Alpha()
		params = unsafe.Pointer(&a.ptrs64[0])
	default:
		b.launchMu.Unlock()
		return fmt.Errorf("%w: %s: %s: no CUDA kernels for %s", core.ErrUnsupportedDType, b.info.Spec, p, l.DType)
	}
	err = b.drv.LaunchKernel(fn, grid, block, b.stream, params)
	b.launchMu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w", b.info.Spec, p, act, err)
	}
	return nil
}

// Sync waits for the stream and reports the first error of asynchronous work.
func (b *Backend) Sync() error {
	l, err := b.owner.Begin("Sync")
	if err != nil {
		return err
	}
	defer l.End()
	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	return b.reportAsync(b.drv.StreamSynchronize(b.stream))
}

// Memory reports the device's free and total memory (cuMemGetInfo) and this backend's buffers.
func (b *Backend) Memory() (core.MemoryStats, error) {
	l, err := b.owner.Begin("Memory")
	if err != nil {
		return core.MemoryStats{}, err
	}
	defer l.End()
	if err := b.enter(); err != nil {
		return core.MemoryStats{}, err
	}
	defer runtime.UnlockOSThread()
	free, total, err := b.drv.MemGetInfo()
	inUse, n := b.owner.Stats()
	return core.MemoryStats{Total: total, Free: free, InUse: inUse, Buffers: n}, err
}

// Close waits for queued work, frees every buffer, and releases the stream, the kernels and the primary
// context. Later calls return core.ErrClosed.
func (b *Backend) Close() error { return b.owner.Close(b.release) }
