package opencl

import "fmt"

// openGPULayout opens the usable device spec ("opencl:P:D") with the GPU launch geometry whatever the
// device's type, so that the kernels and launch shape GPUs use also run, and are checked, on a CPU
// OpenCL device such as PoCL (TestConformanceGPULayout).
func openGPULayout(spec string) (*Backend, error) {
	devs, l, err := discover()
	if err != nil {
		return nil, err
	}
	for _, dev := range devs {
		if dev.spec == spec && dev.usable {
			return openWith(l, dev, gpuGeometry(dev))
		}
	}
	return nil, fmt.Errorf("%s: no such usable device", spec)
}
