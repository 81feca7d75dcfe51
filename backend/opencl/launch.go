package opencl

import (
	"fmt"
	"math"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/opencl/internal/cl"
)

// kernel is one of this Backend's kernel objects and the argument values last set on it, so that a
// launch sets only the arguments that changed (each clSetKernelArg is a call into the driver).
type kernel struct {
	k    cl.Kernel
	args [nArgs]uint64
	set  [nArgs]bool
	// maxLocal is the largest work-group the kernel can run with on the device
	// (CL_KERNEL_WORK_GROUP_SIZE), which may be below the device's maximum.
	maxLocal uint64
}

// The arguments every kernel of activations.cl takes, in its order and under its names (its header
// documents them): each constant is the argument's index.
const (
	argOut           = iota // out: the output buffer
	argOutOff               // out_off: where the output view starts in out, in elements
	argIn1                  // in1: x (forward) or dy
	argIn1Off               // in1_off
	argIn2                  // in2: x or y (backward); forward passes in1 again, which it does not read
	argIn2Off               // in2_off
	argN                    // n: the number of elements
	argVecsPerItem          // vecs_per_item: how many vectors one work-item handles (at most)
	argItemStride           // item_stride: vectors from one work-item's first vector to the next one's
	argLoopStride           // loop_stride: vectors from one of a work-item's vectors to its next
	argAlpha                // alpha: α rounded to the dtype
	argAlphaMantissa        // alpha_mantissa: am of α = am·2^ae, 1 <= |am| < 2 (formula.MantissaExponent)
	argAlphaExponent        // alpha_exponent: ae, an int
	argExpCutoff            // exp_cutoff: the smallest x whose oracle α·exp(x) is not 0 (formula.ExpCutoff)
	nArgs
)

func (b *Backend) run(p formula.Pass, act formula.Activation, out, in1, in2 core.Buffer) error {
	l, err := b.owner.BeginPass(p, act, out, in1, in2)
	if err != nil {
		return err
	}
	defer l.End()
	if l.N == 0 {
		return nil
	}
	geometry := b.program.geometry
	var vw int
	switch l.DType {
	case formula.Float32, formula.Float16, formula.BFloat16:
		vw = geometry.vwFloat // the 16-bit kernels compute on float vectors of the same width
	case formula.Float64:
		vw = geometry.vwDouble
	default:
		return core.Errorf(core.ErrUnsupportedDType, b.info.Spec, p.String(), "", "activations.cl has no kernels for %s", l.DType)
	}
	suffix := "_" + l.DType.Suffix()
	if p == formula.Forward {
		in2 = in1 // unused by the kernel, but it must be a valid buffer
	}
	if geometry.aligned && out.Offset()%vw == 0 && in1.Offset()%vw == 0 && in2.Offset()%vw == 0 {
		suffix += "_al"
	}
	// The kernel of the formula table's row: activations.cl names it <kernel>_<f32|f64|f16|bf16>[_al].
	name := l.Row.Kernel + suffix

	var args [nArgs]uint64
	args[argOut], args[argOutOff] = uint64(handle(out)), uint64(out.Offset())
	args[argIn1], args[argIn1Off] = uint64(handle(in1)), uint64(in1.Offset())
	args[argIn2], args[argIn2Off] = uint64(handle(in2)), uint64(in2.Offset())
	args[argN] = uint64(l.N)
	expTimes := l.Row.Kernel == "elu_bwd_in" // α·exp(x)·dy, whose kernel needs the cutoff below
	switch l.DType {
	case formula.Float32, formula.Float16, formula.BFloat16:
		// α rounded to the dtype, then used as a float (SEMANTICS §1.3, §1.6): every value of the
		// 16-bit types is a float.
		a := float32(l.DType.Round(act.Alpha()))
		am, ae := formula.MantissaExponent(float64(a))
		args[argAlpha] = uint64(math.Float32bits(a))
		args[argAlphaMantissa] = uint64(math.Float32bits(float32(am)))
		args[argAlphaExponent] = uint64(uint32(int32(ae)))
		if expTimes { // the float32 cutoff serves the 16-bit types too: their values are float32 values
			args[argExpCutoff] = uint64(math.Float32bits(formula.ExpCutoff(a)))
		}
	case formula.Float64:
		a := act.Alpha()
		am, ae := formula.MantissaExponent(a)
		args[argAlpha] = math.Float64bits(a)
		args[argAlphaMantissa] = math.Float64bits(am)
		args[argAlphaExponent] = uint64(uint32(int32(ae)))
		if expTimes {
			args[argExpCutoff] = math.Float64bits(formula.ExpCutoff(a))
		}
	default: // refused above; kept so that a new dtype cannot pass without its arguments
		return core.Errorf(core.ErrUnsupportedDType, b.info.Spec, p.String(), "", "no kernel arguments for %s", l.DType)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	k, err := b.kernel(name)
	if err != nil {
		return err
	}
	for geometry.local > k.maxLocal && geometry.local > 1 {
		geometry.local /= 2
	}
	plan := geometry.plan(l.N, vw)
	args[argVecsPerItem], args[argItemStride], args[argLoopStride] = plan.vecsPerItem, plan.itemStride, plan.loopStride
	if err := b.setArgs(k, &args, l.DType.Compute()); err != nil {
		return fmt.Errorf("%s: %w", act, err)
	}
	return b.withQueue(func(q cl.Queue) error {
		err := b.enqueueLocked(func(ev *cl.Event) error { return b.lib.Launch(q, k.k, plan.global, plan.local, ev) })
		if err != nil {
			return fmt.Errorf("%s: %w", act, err)
		}
		// Start the work now rather than at the next synchronising call.
		return b.lib.Flush(q)
	})
}

// kernel returns this Backend's kernel object called name, creating it on first use. b.mu is held.
func (b *Backend) kernel(name string) (*kernel, error) {
	if k := b.kernels[name]; k != nil {
		return k, nil
	}
	kk, err := b.lib.CreateKernel(b.program.clProgram, name)
	if err != nil {
		return nil, err
	}
	wg, err := b.lib.KernelWorkGroupSize(kk, b.program.dev.id)
	if err != nil {
		b.lib.ReleaseKernel(kk)
		return nil, fmt.Errorf("kernel %s: %w", name, err)
	}
	k := &kernel{k: kk, maxLocal: max(wg, 1)}
	b.kernels[name] = k
	return k, nil
}

// releaseMem releases gpuact's reference to m, after forgetting m as a cached argument of every kernel:
// once released, the driver may hand out the same handle for a new cl_mem, and a launch that skipped
// clSetKernelArg because the handle "did not change" would run on whatever the driver recorded for the
// old object (PoCL records a sub-buffer as its parent and origin, other drivers a device address) —
// memory that may be gone. No pass uses m when it is released (the owner's leases), so this cannot
// race with a launch that sets it.
func (b *Backend) releaseMem(m cl.Mem) error {
	b.mu.Lock()
	for _, k := range b.kernels {
		for _, i := range [...]int{argOut, argIn1, argIn2} {
			if k.set[i] && k.args[i] == uint64(m) {
				k.set[i] = false
			}
		}
	}
	b.mu.Unlock()
	return b.lib.ReleaseMem(m)
}

// setArgs sets the arguments that differ from the kernel's last launch; the floating-point ones (α,
// its mantissa, the cutoff) are of type ct, the dtype's compute type. b.mu is held.
func (b *Backend) setArgs(k *kernel, args *[nArgs]uint64, ct formula.DType) error {
	for i, v := range args {
		if k.set[i] && k.args[i] == v {
			continue
		}
		var err error
		switch i {
		case argOut, argIn1, argIn2:
			err = b.lib.SetArgMem(k.k, uint32(i), cl.Mem(v))
		case argAlphaExponent:
			err = b.lib.SetArgInt32(k.k, uint32(i), int32(uint32(v)))
		case argAlpha, argAlphaMantissa, argExpCutoff:
			switch ct {
			case formula.Float32:
				err = b.lib.SetArgFloat32(k.k, uint32(i), math.Float32frombits(uint32(v)))
			case formula.Float64:
				err = b.lib.SetArgFloat64(k.k, uint32(i), math.Float64frombits(v))
			default:
				err = fmt.Errorf("%w: no kernel arguments of %s", core.ErrUnsupportedDType, ct)
			}
		default:
			err = b.lib.SetArgUint64(k.k, uint32(i), v)
		}
		if err != nil {
			k.set[i] = false
			return err
		}
		k.args[i], k.set[i] = v, true
	}
	return nil
}
