//go:build !((linux || darwin) && (amd64 || arm64))

package cudaemu

import (
	"fmt"
	"runtime"
)

func bind(string) (*Emu, error) {
	return nil, fmt.Errorf("the emulated CUDA driver does not run on %s/%s", runtime.GOOS, runtime.GOARCH)
}
