// Package opencl is gpuact's backend for GPUs and other devices through OpenCL, loaded at run time.
package opencl

import "github.com/gpuact/gpuact/backend/core"

// Devices is the OpenCL backend's entry in backend.List.
func Devices() []core.Device {
	return []core.Device{{Spec: "opencl", Platform: core.PlatformOpenCL, Reason: "the OpenCL backend is not implemented yet (issue 3)"}}
}
