//go:build !(linux || darwin)

package cudaemu

import "errors"

func lockFile(string) (func(), error) { return nil, errors.New("not supported") }
