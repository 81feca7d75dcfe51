package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
)

// Open opens CUDA device ordinal i: it retains the device's primary context, creates a stream and loads
// the kernels. Any failure is an error wrapping core.ErrUnavailable with the driver's code and name.
func Open(i int) (*Backend, error) {
	drv, err := cu.Load()
	if err != nil {
		return nil, core.Wrap("cuda:"+strconv.Itoa(i), "Open", err)
	}
	return openOn(drv, i)
}

// openOn opens device ordinal i of the loaded driver drv.
func openOn(drv *cu.Driver, i int) (*Backend, error) {
	spec := "cuda:" + strconv.Itoa(i)
	fail := func(err error) (*Backend, error) {
		return nil, core.Errorf(core.ErrUnavailable, spec, "Open", "", "%w", err)
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
	b := &Backend{drv: drv, ordinal: i, dev: dev, ctx: ctx, fns: map[kernelKey]cu.Function{}}
	if err := b.init(spec); err != nil {
		b.release()
		return fail(err)
	}
	return b, nil
}

// init makes what the backend holds in the primary context, in this order (the emulator's fault tests
// count the calls): the stream, the kernels (kernels.go), one pair of TimeDevice events (timer.go), the
// pinned staging ring (upload.go); then it reads the device's description (info.go) and pins the
// launches' argument block (launch.go). On failure, release undoes what it made.
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
	b.own = b.stream
	if err := b.loadKernels(); err != nil {
		return err
	}
	if err := b.timers.init(d); err != nil {
		return err
	}
	if err := b.staging.init(d); err != nil {
		return err
	}
	if err := b.describe(spec); err != nil {
		return err
	}
	if err := b.initPool(defaultKeepBytes(b.info.Memory)); err != nil {
		return err
	}
	b.info.Details["memory_pool"] = b.pool.kind()
	b.args = newLaunchArgs(&b.pinner)
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
		errs = append(errs, b.reportAsync(d.StreamSynchronize(b.stream)))
		errs = append(errs, b.trimLocked()) // the pooled memory goes back to the device
	}
	if b.own != 0 { // a caller's stream (UseStream) is the caller's to destroy
		errs = append(errs, d.StreamDestroy(b.own))
	}
	errs = append(errs, b.timers.destroy(d), b.staging.release(d))
	if b.module != 0 {
		errs = append(errs, d.ModuleUnload(b.module))
	}
	errs = append(errs, d.PrimaryCtxRelease(b.dev))
	return errors.Join(errs...)
}
