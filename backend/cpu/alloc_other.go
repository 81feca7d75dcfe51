//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris || windows)

package cpu

import (
	"errors"
	"unsafe"
)

// haveOSAlloc is false where gpuact has no way to ask the system for memory (js/wasm, wasip1, plan9):
// every buffer comes from make() (see mem.go).
const haveOSAlloc = false

func osAlloc(uintptr) (unsafe.Pointer, error) { return nil, errors.New("not supported") }

func osFree(unsafe.Pointer, uintptr) error { return nil }
