package cuda

import (
	"strconv"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda/internal/cu"
)

// OpenLibrary opens device ordinal i of the driver library at path, loaded beside the process's own
// driver: TestMatchesEmulation runs the same passes on a GPU and on the emulated driver at once.
func OpenLibrary(path string, i int) (*Backend, error) {
	drv, err := cu.LoadFrom(path)
	if err != nil {
		return nil, core.Wrap("cuda:"+strconv.Itoa(i), "Open", err)
	}
	return openOn(drv, i)
}
