// Package cuda is gpuact's backend for NVIDIA GPUs through the CUDA driver API, loaded at run time.
package cuda

import "github.com/gpuact/gpuact/backend/core"

// Devices is the CUDA backend's entry in backend.List.
func Devices() []core.Device {
	return []core.Device{{Spec: "cuda", Platform: core.PlatformCUDA, Reason: "the CUDA backend is not implemented yet (issue 4)"}}
}
