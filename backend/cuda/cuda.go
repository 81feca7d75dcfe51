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
// The files, by concern: devices.go lists the devices; open.go opens one (and releases it), reading its
// description in info.go and its kernels in kernels.go; launch.go runs the passes; memory.go allocates,
// copies and downloads, upload.go uploads; async.go keeps and reports errors of asynchronous work;
// timer.go times work on the device.
//
// The tests run on an emulated driver by default (internal/cudaemu), and on a real GPU in the GPU check.
package cuda

import (
	"runtime"
	"sync"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
)

// Backend is one CUDA device.
type Backend struct {
	owner   *core.Owner
	drv     *cu.Driver
	ordinal int
	dev     cu.Device
	ctx     cu.Context
	stream  cu.Stream // where calls queue their work: own, or the caller's (UseStream)
	own     cu.Stream // the stream the backend created
	module  cu.Module
	fns     map[kernelKey]cu.Function
	maxGrid uint32 // SM count × resident blocks per SM: the grid that fills the GPU once
	info    core.Info

	launchMu sync.Mutex // guards args between filling it and cuLaunchKernel
	args     *launchArgs
	pinner   runtime.Pinner

	pool    pool    // device memory for Alloc, and what Free gives back (pool.go)
	staging staging // pinned memory Upload copies through (upload.go)
	timers  timers  // TimeDevice's events (timer.go)

	// asyncErr is the first error of asynchronous work that a call which does not report such errors
	// (Free, Upload) met while it waited for the device; the next synchronising call reports it.
	asyncMu  sync.Mutex
	asyncErr error
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Timer   = (*Backend)(nil)
	_ core.Trimmer = (*Backend)(nil)
)

// enter locks the goroutine to its OS thread and makes the backend's context current there: a CUDA
// context is per thread. The caller must runtime.UnlockOSThread() when enter succeeds.
func (b *Backend) enter() error {
	runtime.LockOSThread()
	if err := b.drv.CtxSetCurrent(b.ctx); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	return nil
}

// wrap gives a driver's error the shape of every gpuact error (core.Error): its kind, this backend, the
// operation. Errors that already have it (the argument checks') pass unchanged.
func (b *Backend) wrap(op string, err error) error { return core.Wrap(b.info.Spec, op, err) }

// Info describes the GPU.
func (b *Backend) Info() core.Info { return b.info.Clone() }

// Close waits for queued work, frees every buffer, and releases the stream, the kernels and the primary
// context. Later calls return core.ErrClosed.
func (b *Backend) Close() error { return b.wrap("Close", b.owner.Close(b.release)) }
