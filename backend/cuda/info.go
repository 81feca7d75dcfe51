package cuda

import (
	"fmt"
	"strconv"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/kernels"
)

// describe reads the device's attributes, name, memory and driver version, and one kernel's register
// count, into the backend's Info and the grid that fills the GPU once (maxGrid; launch.go's grid caps
// every launch there). Open calls it once the kernels are loaded, with the context current.
func (b *Backend) describe(spec string) error {
	d := b.drv
	var err error
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
	return nil
}
