//go:build !linux

package cpu_test

import (
	"errors"
	"runtime"
)

func limitAddressSpace(uint64) error {
	return errors.New("limiting the address space is implemented for Linux only, not " + runtime.GOOS)
}

// ignoreChildExit and childReaped serve emulated runs, which are Linux only (alloc_linux_test.go).
func ignoreChildExit() {}

func childReaped(error) bool { return false }
