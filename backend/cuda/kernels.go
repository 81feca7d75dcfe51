package cuda

import (
	"fmt"
	"maps"
	"slices"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/kernels"
)

// kernelDTypes are the dtypes activations.cu is compiled for, with the part of each kernel's name that
// names the dtype (DType.Suffix: f32, f64, f16, bf16): gpuact_<formula.Row.Kernel>_<suffix>_<vec|scalar>
// (GPUACT_KERNELS in activations.cu). The 16-bit kernels store float16/bfloat16 and compute in float32
// (SEMANTICS §1.6).
var kernelDTypes = func() map[formula.DType]string {
	m := map[formula.DType]string{}
	for _, dt := range []formula.DType{formula.Float32, formula.Float64, formula.Float16, formula.BFloat16} {
		m[dt] = dt.Suffix()
	}
	return m
}()

// dtypes is the set of kernelDTypes, what Info and Alloc accept.
func dtypes() formula.DTypeSet { return formula.SetOf(slices.Collect(maps.Keys(kernelDTypes))...) }

// kernelOps are the kernels of the formula table (one per row, rows may share one): every one is looked
// up when a backend opens, so a missing kernel fails Open.
func kernelOps() []string {
	var ops []string
	for _, r := range formula.Rows() {
		if !slices.Contains(ops, r.Kernel) {
			ops = append(ops, r.Kernel)
		}
	}
	return ops
}

// kernelKey names one kernel of the fatbin: an op of kernelOps, for a dtype, in its 16-byte vector or
// scalar form.
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

// loadKernels loads the embedded fatbin as the backend's module and looks up every kernel of it the
// backend may launch (Open, with the context current).
func (b *Backend) loadKernels() error {
	d := b.drv
	var err error
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
	return nil
}

// pickKernel chooses the kernel that runs pass p for the lease l, whose output and inputs start
// at device addresses out, in1 and in2 (0 for an unused input): the formula row's kernel in the lease's
// dtype, in its vector form where the addresses allow it.
func (b *Backend) pickKernel(p formula.Pass, l core.Lease, out, in1, in2 uint64) (kernelKey, cu.Function, error) {
	// 16-byte vectors need the output and every input at the same address modulo 16: the kernel aligns
	// the output with a scalar head, which then aligns the inputs too.
	vec := (out^in1)&15 == 0 && (p == formula.Forward || (out^in2)&15 == 0)
	k := kernelKey{l.Row.Kernel, l.DType, vec}
	fn, ok := b.fns[k]
	if !ok { // a row or dtype added without its kernel in activations.cu
		return k, 0, core.Errorf(core.ErrBadActivation, b.info.Spec, p.String(), "act", "no CUDA kernel %s", k.name())
	}
	return k, fn, nil
}
