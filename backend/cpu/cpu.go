// Package cpu is gpuact's native CPU backend: the fallback when no GPU is usable.
//
// It computes the passes with the best implementation the machine has (impl.go: AVX2+FMA assembly on
// amd64, else the oracle's functions of package formula in plain loops, generic.go), splitting large calls
// into chunks that run on all cores. Its plain loops are the oracle applied element by element; the
// conformance suite checks every implementation against the oracle itself.
package cpu

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// dtypes are the element types the CPU backend stores and computes: all of them.
var dtypes = formula.SetOf(formula.Float32, formula.Float64, formula.Float16, formula.BFloat16)

// Backend is the CPU backend. Its buffers are Go slices; every call finishes before it returns.
type Backend struct {
	owner *core.Owner
	info  core.Info
	impl  *implementation
	pool  *pool // freed buffers kept for reuse (pool.go)
}

var _ core.Backend = (*Backend)(nil)

// New returns a CPU backend using the best implementation this machine supports that
// GPUACT_CPU_DISABLE does not disable. It cannot fail; every CPU backend value is a separate owner of
// buffers.
func New() *Backend { return newBackend(dispatch()) }

func newBackend(im *implementation) *Backend {
	p := newPool(defaultPoolMax())
	b := &Backend{owner: core.NewOwner("cpu", dtypes, func(mem any) error { return p.put(mem.(*memory)) }), impl: im, pool: p}
	// Memory from the operating system is released only by Free, Trim and Close; a backend dropped
	// without Close gives it back when it is collected. Owner.Close waits for running calls, which hold
	// the owner (not necessarily b), so no call loses its memory under it; the pool is emptied after.
	type held struct {
		o *core.Owner
		p *pool
	}
	runtime.AddCleanup(b, func(h held) { _ = h.o.Close(h.p.trim) }, held{b.owner, p})
	b.info = core.Info{
		Spec:         "cpu",
		Platform:     core.PlatformCPU,
		Type:         core.DeviceCPU,
		Name:         machine.model,
		Vendor:       machine.vendor,
		Driver:       runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Memory:       machine.totalMemory,
		ComputeUnits: runtime.GOMAXPROCS(0),
		DTypes:       dtypes,
		Denormals:    true,
		Details:      map[string]string{core.DetailPath: im.path},
	}
	return b
}

// Devices is the CPU backend's entry in backend.List.
func Devices() []core.Device {
	return []core.Device{{
		Spec: "cpu", Platform: core.PlatformCPU, Type: core.DeviceCPU, Name: machine.model, Usable: true,
		Open: func() (core.Backend, error) { return New(), nil },
	}}
}

// Info describes the machine. ComputeUnits is GOMAXPROCS when the backend was made.
func (b *Backend) Info() core.Info { return b.info.Clone() }

// Alloc allocates n elements, whose contents are undefined until written (a buffer freed earlier may be
// reused: see Trim). Every size the machine cannot hold gives ErrOutOfMemory, never the fatal error or
// panic the Go runtime would raise for it (see mem.go): large buffers come from the operating system and
// are checked against the memory it reports. When memory runs short, the pool is given back first.
func (b *Backend) Alloc(dtype formula.DType, n int) (core.Buffer, error) {
	return b.owner.Alloc(dtype, n, func(bytes int64) (any, error) {
		if m := b.pool.get(dtype, n); m != nil {
			return m, nil
		}
		m, err := allocate(dtype, n, bytes)
		if errors.Is(err, core.ErrOutOfMemory) && b.pool.pooled() > 0 {
			if err := b.pool.trim(); err != nil {
				return nil, err
			}
			m, err = allocate(dtype, n, bytes)
		}
		return m, err
	})
}

// Free releases b's allocation: to the operating system for large buffers, else to the garbage collector.
func (b *Backend) Free(buf core.Buffer) error { return b.owner.Free(buf) }

// Upload copies src into dst.
func (b *Backend) Upload(dst core.Buffer, src core.Host) error {
	l, err := b.owner.BeginCopy(dst, src, true)
	if err != nil {
		return err
	}
	defer l.End()
	switch l.DType {
	case formula.Float32:
		copy(view[float32](dst), src.Float32s())
	case formula.Float64:
		copy(view[float64](dst), src.Float64s())
	case formula.Float16:
		copy(view[formula.F16](dst), src.Float16s())
	case formula.BFloat16:
		copy(view[formula.BF16](dst), src.BFloat16s())
	default:
		return unsupported("Upload", l.DType)
	}
	return nil
}

// Download copies src into dst.
func (b *Backend) Download(dst core.Host, src core.Buffer) error {
	l, err := b.owner.BeginCopy(src, dst, false)
	if err != nil {
		return err
	}
	defer l.End()
	switch l.DType {
	case formula.Float32:
		copy(dst.Float32s(), view[float32](src))
	case formula.Float64:
		copy(dst.Float64s(), view[float64](src))
	case formula.Float16:
		copy(dst.Float16s(), view[formula.F16](src))
	case formula.BFloat16:
		copy(dst.BFloat16s(), view[formula.BF16](src))
	default:
		return unsupported("Download", l.DType)
	}
	return nil
}

// Copy copies src into dst with Go's copy().
func (b *Backend) Copy(dst, src core.Buffer) error {
	l, err := b.owner.BeginDeviceCopy(dst, src)
	if err != nil {
		return err
	}
	defer l.End()
	switch l.DType {
	case formula.Float32:
		parallelCopy(view[float32](dst), view[float32](src))
	case formula.Float64:
		parallelCopy(view[float64](dst), view[float64](src))
	case formula.Float16, formula.BFloat16:
		parallelCopy(bits16(dst), bits16(src))
	default:
		return unsupported("Copy", l.DType)
	}
	return nil
}

// parallelCopyMin is the size in bytes from which Copy splits across cores: one core does not saturate
// the memory bus (on the 2-vCPU development VM copy() on one goroutine moves ~31 GB/s, on two ~41), and
// below a few MiB waking another core costs more than it saves.
const parallelCopyMin = 8 << 20

// parallelCopy is copy(dst, src) on every core for large slices: the CPU's device-to-device copy, which
// gpubench uses as the roofline, as a GPU's copy engages the whole GPU.
func parallelCopy[T formula.Float | uint16](dst, src []T) {
	n := len(dst)
	workers := min(runtime.GOMAXPROCS(0), n*int(unsafe.Sizeof(dst[0]))/(parallelCopyMin/2))
	if workers < 2 {
		copy(dst, src)
		return
	}
	chunk := (n/workers + 15) &^ 15
	var wg sync.WaitGroup
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() { copy(dst[lo:hi], src[lo:hi]) })
	}
	copy(dst[:min(chunk, n)], src[:min(chunk, n)])
	wg.Wait()
}

// Forward computes y = f(x).
func (b *Backend) Forward(act formula.Activation, y, x core.Buffer) error {
	return b.run(formula.Forward, act, y, x, core.Buffer{})
}

// BackwardFromInput computes dx = f'(x)·dy.
func (b *Backend) BackwardFromInput(act formula.Activation, dx, dy, x core.Buffer) error {
	return b.run(formula.BackwardFromInput, act, dx, dy, x)
}

// BackwardFromOutput computes dx = f'(x)·dy from y = f(x).
func (b *Backend) BackwardFromOutput(act formula.Activation, dx, dy, y core.Buffer) error {
	return b.run(formula.BackwardFromOutput, act, dx, dy, y)
}

func (b *Backend) run(p formula.Pass, act formula.Activation, out, in1, in2 core.Buffer) error {
	l, err := b.owner.BeginPass(p, act, out, in1, in2)
	if err != nil {
		return err
	}
	defer l.End()
	kernel := l.Row.Kernel
	if !hasKernel(kernel) {
		return core.Errorf(core.ErrBadActivation, "cpu", p.String(), "act", "no CPU kernel %q for %s", kernel, act.Kind())
	}
	switch l.DType {
	case formula.Float32:
		parallel(b.impl, b.impl.run32, p, kernel, formula.Round[float32](act.Alpha()), view[float32](out), view[float32](in1), view[float32](in2))
	case formula.Float64:
		parallel(b.impl, b.impl.run64, p, kernel, formula.Round[float64](act.Alpha()), view[float64](out), view[float64](in1), view[float64](in2))
	case formula.Float16, formula.BFloat16:
		// α rounded to the storage type, then computed with in float32 (SEMANTICS §1.6).
		alpha := float32(l.DType.Round(act.Alpha()))
		im, dt := b.impl, l.DType
		run := func(kernel string, _ uint16, out, a, in2 []uint16, nt bool) {
			im.run16(dt, kernel, alpha, out, a, in2, nt)
		}
		parallel(im, run, p, kernel, 0, bits16(out), bits16(in1), bits16(in2))
	default:
		return unsupported(p.String(), l.DType)
	}
	return nil
}

// unsupported is the error of a dtype the CPU backend has no loops for (Alloc refuses it first, so
// it means a dtype was added to the backend's set without its loops).
func unsupported(op string, dt formula.DType) error {
	return core.Errorf(core.ErrUnsupportedDType, "cpu", op, "", "no CPU loops for %s", dt)
}

// Sync returns nil: CPU calls finish before they return. On a closed backend it returns ErrClosed.
func (b *Backend) Sync() error {
	l, err := b.owner.Begin("Sync")
	if err != nil {
		return err
	}
	l.End()
	return nil
}

// Memory reports the machine's memory (Free is what the system reports available) and this backend's
// live buffers.
func (b *Backend) Memory() (core.MemoryStats, error) {
	l, err := b.owner.Begin("Memory")
	if err != nil {
		return core.MemoryStats{}, err
	}
	defer l.End()
	inUse, n := b.owner.Stats()
	return core.MemoryStats{Total: machine.totalMemory, Free: availableMemory(), InUse: inUse, Buffers: n, Wrapped: b.owner.Wrapped(), Pooled: b.pool.pooled()}, nil
}

// Close frees every buffer and empties the pool; later calls return ErrClosed.
func (b *Backend) Close() error { return b.owner.Close(b.pool.trim) }

// view returns the Go slice behind buf. The caller holds a lease on buf.
func view[T formula.Elem](buf core.Buffer) []T {
	if buf.IsNil() {
		return nil
	}
	s := buf.Alloc().Mem().(*memory).data.([]T)
	return s[buf.Offset() : buf.Offset()+buf.Len()]
}

// bits16 returns the elements of a 16-bit buffer as their bit patterns, the form the 16-bit kernels take
// whichever 16-bit type they hold.
func bits16(buf core.Buffer) []uint16 {
	if buf.IsNil() {
		return nil
	}
	var s []uint16
	switch d := buf.Alloc().Mem().(*memory).data.(type) {
	case []formula.F16:
		s = unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(d))), len(d))
	case []formula.BF16:
		s = unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(d))), len(d))
	}
	return s[buf.Offset() : buf.Offset()+buf.Len()]
}

// Parallel split. Two ways to use more than one core:
//   - the gang (gang.go): persistent workers that spin briefly between calls, handed work through an
//     atomic store. A call is split through it when its estimated time on one goroutine (n × the
//     implementation's ns per element) reaches gangMinNS: on the 2-vCPU Zen 5 VM, BenchmarkGang's
//     split pays from about 2-3 µs of work on one core (the hand-off costs about 1 µs), and the
//     estimates (impl.go's costs, measured on Zen 3) run up to 2× above Zen 5's times. Each core
//     gets the same parts of the arrays every call (gangJob.static), so that arrays that fit in the
//     caches stay in those of the core that works on them, as OpenMP's static schedule keeps them
//     for PyTorch (with chunks assigned at random, gpuact lost to PyTorch at n = 2^20 and 2^22);
//     mid-size calls get one part per core.
//   - goroutines, one per core, when another call holds the gang: worth it only for long calls, since
//     waking an idle core costs far more than the hand-off itself on a virtual machine (on the 2-vCPU Zen
//     3 VM of bench/cpu-simd.md the second core paid only for calls that take one core about 0.4 ms,
//     BenchmarkThreshold: AVX2 ELU forward float32 from n = 2^20, ReLU from 2^22), so from parallelMinNS.
//
// Calls whose arrays together exceed ntMinBytes use non-temporal stores (where the implementation has
// them): their output would not stay in the 32 MiB L3 anyway, and writing around the caches saves the
// read of every output line that a normal store makes (BenchmarkNonTemporal: ReLU float32 forward 0.92×
// at 16 MiB moved, 1.29× at 32 MiB, 1.38× at 128 MiB).
var (
	gangMinNS     = 5e3
	parallelMinNS = 400e3
	chunkMin      = 1 << 13
	ntMinBytes    = 24 << 20
	// chunksPerWorker: how many chunks each worker takes on average (see parallel).
	chunksPerWorker = 8
)

func parallel[T formula.Float | uint16](im *implementation, run func(string, T, []T, []T, []T, bool), p formula.Pass, kernel string, alpha T, out, a, b []T) {
	n := len(out)
	size := int(unsafe.Sizeof(alpha))
	nt := n*p.Arrays()*size >= ntMinBytes
	workers := runtime.GOMAXPROCS(0)
	ns := float64(n) * im.nsPerElement(p, kernel, size)
	if ns < gangMinNS || workers < 2 || n < 2*chunkMin {
		run(kernel, alpha, out, a, b, nt)
		return
	}
	workers = min(workers, n/chunkMin)
	// The call is cut into many chunks that the workers take in turn (an atomic counter), not one
	// chunk per worker: a core that is slowed down (another process, a hypervisor's steal) then does
	// less of the call instead of holding up all of it. Chunks are multiples of two 64-byte cache lines
	// so that no two goroutines write the same line, the non-temporal path of every chunk starts
	// aligned when the call's output does, and no chunk but the last ends in a partial block of the
	// kernels (128 bytes for AVX-512).
	line := 128 / size
	perWorker := chunksPerWorker
	if ns < parallelMinNS { // a mid-size call: one part per worker (fewer hand-overs)
		perWorker = 1
	}
	chunk := max(chunkMin, (n/(workers*perWorker)+line-1)&^(line-1))
	chunks := (n + chunk - 1) / chunk
	runChunk := func(c int) {
		lo, hi := c*chunk, min((c+1)*chunk, n)
		var bs []T
		if b != nil {
			bs = b[lo:hi]
		}
		run(kernel, alpha, out[lo:hi], a[lo:hi], bs, nt)
	}
	if getGang().tryRun(chunks, workers-1, true, runChunk) {
		return
	}
	if ns < parallelMinNS { // another call holds the gang, and this one is too short for goroutines
		run(kernel, alpha, out, a, b, nt)
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			runChunk(c)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
