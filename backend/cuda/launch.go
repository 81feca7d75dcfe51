package cuda

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// block is the threads per block of every launch (the kernels' __launch_bounds__).
const block = 256

// launchArgs is the kernelParams block of every launch: the argument values and the array of pointers
// to them that cuLaunchKernel reads. It is pinned for the backend's life, so the pointers it holds are
// pointers to pinned memory, which may be handed to C.
type launchArgs struct {
	out, a, b, n uint64
	// α, its mantissa and exponent (formula.MantissaExponent) and the exp cutoff (formula.ExpCutoff,
	// which only ELU backward from input reads), in the float32 and the float64 kernels' types. The
	// 16-bit kernels take the float32 ones, α rounded to their dtype.
	alpha32, alphaM32, xcut32 float32
	alpha64, alphaM64, xcut64 float64
	alphaE                    int32
	ptrs32                    [8]unsafe.Pointer
	ptrs64                    [8]unsafe.Pointer

	// The cutoff of the last launch that needed one: ExpCutoff bisects (about 1 µs), and a training loop
	// passes the same α every time.
	cutFor32, cutFor64 cutoffMemo
}

type cutoffMemo struct {
	set         bool
	alpha, xcut float64
}

// cutoff returns formula.ExpCutoff(alpha) for T, from the memo when alpha is the last one asked.
func cutoff[T formula.Float](m *cutoffMemo, alpha T) T {
	if !m.set || m.alpha != float64(alpha) {
		*m = cutoffMemo{true, float64(alpha), float64(formula.ExpCutoff(alpha))}
	}
	return T(m.xcut)
}

// newLaunchArgs allocates the block, pins it with pinner (unpinned when the backend is released) and
// points its pointer arrays at its values: (out, a, b, n, α, α's mantissa, α's exponent, the exp cutoff)
// in the float32 (and 16-bit) and the float64 kernels' parameter order (GPUACT_KERNEL in activations.cu).
func newLaunchArgs(pinner *runtime.Pinner) *launchArgs {
	a := &launchArgs{}
	pinner.Pin(a)
	common := [4]unsafe.Pointer{unsafe.Pointer(&a.out), unsafe.Pointer(&a.a), unsafe.Pointer(&a.b), unsafe.Pointer(&a.n)}
	a.ptrs32 = [8]unsafe.Pointer{common[0], common[1], common[2], common[3],
		unsafe.Pointer(&a.alpha32), unsafe.Pointer(&a.alphaM32), unsafe.Pointer(&a.alphaE), unsafe.Pointer(&a.xcut32)}
	a.ptrs64 = [8]unsafe.Pointer{common[0], common[1], common[2], common[3],
		unsafe.Pointer(&a.alpha64), unsafe.Pointer(&a.alphaM64), unsafe.Pointer(&a.alphaE), unsafe.Pointer(&a.xcut64)}
	return a
}

// Forward queues y = f(x).
func (b *Backend) Forward(act formula.Activation, y, x core.Buffer) error {
	return b.wrap(formula.Forward.String(), b.run(formula.Forward, act, y, x, core.Buffer{}))
}

// BackwardFromInput queues dx = f'(x)·dy.
func (b *Backend) BackwardFromInput(act formula.Activation, dx, dy, x core.Buffer) error {
	return b.wrap(formula.BackwardFromInput.String(), b.run(formula.BackwardFromInput, act, dx, dy, x))
}

// BackwardFromOutput queues dx = f'(x)·dy computed from y = f(x).
func (b *Backend) BackwardFromOutput(act formula.Activation, dx, dy, y core.Buffer) error {
	return b.wrap(formula.BackwardFromOutput.String(), b.run(formula.BackwardFromOutput, act, dx, dy, y))
}

// run checks and leases a pass's buffers, chooses its kernel and grid, and queues it on the stream.
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
	k, fn, err := b.pickKernel(p, l, po, pa, pb)
	if err != nil {
		return err
	}
	n := uint64(l.N)
	grid := b.grid(n, l.DType, k.vec)

	if err := b.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	b.launchMu.Lock()
	a := b.args
	a.out, a.a, a.b, a.n = po, pa, pb, n
	expTimes := l.Row.Kernel == "elu_bwd_in" // the only kernel that reads the exp cutoff
	var params unsafe.Pointer
	switch l.DType {
	case formula.Float32, formula.Float16, formula.BFloat16:
		// α rounded to the dtype (SEMANTICS §1.6: a 16-bit α is a float32 value, and the float32 cutoff
		// serves the 16-bit kernels, whose inputs are float32 values once widened).
		alpha := float32(l.DType.Round(act.Alpha()))
		am, ae := formula.MantissaExponent(float64(alpha))
		a.alpha32, a.alphaM32, a.alphaE = alpha, float32(am), int32(ae)
		if expTimes {
			a.xcut32 = cutoff(&a.cutFor32, alpha)
		}
		params = unsafe.Pointer(&a.ptrs32[0])
	case formula.Float64:
		alpha := act.Alpha()
		am, ae := formula.MantissaExponent(alpha)
		a.alpha64, a.alphaM64, a.alphaE = alpha, am, int32(ae)
		if expTimes {
			a.xcut64 = cutoff(&a.cutFor64, alpha)
		}
		params = unsafe.Pointer(&a.ptrs64[0])
	default:
		b.launchMu.Unlock()
		return core.Errorf(core.ErrUnsupportedDType, b.info.Spec, p.String(), "", "no CUDA kernels for %s", l.DType)
	}
	err = b.drv.LaunchKernel(fn, grid, block, b.stream, params)
	b.launchMu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", act, err)
	}
	return nil
}

// grid is the blocks of a launch over n elements of dtype: enough for each thread to handle its share
// once per loop step (two 16-byte vectors with vec: 8 float32, 4 float64 or 16 16-bit elements; else
// four scalars), but no more than the grid that fills the GPU (the kernels' grid-stride loop covers the
// rest).
func (b *Backend) grid(n uint64, dtype formula.DType, vec bool) uint32 {
	perThread := uint64(4)
	if vec {
		perThread = 32 / uint64(dtype.Size())
	}
	return uint32(min(uint64(b.maxGrid), max(1, (n+block*perThread-1)/(block*perThread))))
}
