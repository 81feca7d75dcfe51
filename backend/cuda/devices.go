package cuda

import (
	"errors"
	"strconv"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
)

// Devices is the CUDA backend's entry in backend.List: every CUDA device as "cuda:N", or one unusable
// entry that says why there is none (no driver library, cuInit failing, no device).
func Devices() []core.Device {
	drv, err := cu.Load()
	if err != nil {
		return []core.Device{{Spec: "cuda", Platform: core.PlatformCUDA, Type: core.DeviceGPU, Reason: err.Error()}}
	}
	n, err := drv.DeviceCount()
	if err == nil && n == 0 {
		err = errors.New("the driver reports no CUDA device")
	}
	if err != nil {
		return []core.Device{{Spec: "cuda", Platform: core.PlatformCUDA, Type: core.DeviceGPU, Reason: err.Error()}}
	}
	devs := make([]core.Device, n)
	for i := range devs {
		d := core.Device{Spec: "cuda:" + strconv.Itoa(i), Platform: core.PlatformCUDA, Type: core.DeviceGPU}
		dev, err := drv.DeviceGet(i)
		if err == nil {
			d.Name, err = drv.DeviceName(dev)
		}
		if err != nil {
			d.Reason = err.Error()
		} else {
			d.Usable = true
			d.Open = func() (core.Backend, error) {
				b, err := Open(i)
				if err != nil {
					return nil, err // not a nil *Backend in a non-nil interface
				}
				return b, nil
			}
		}
		devs[i] = d
	}
	return devs
}
