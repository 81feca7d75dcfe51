//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package cpu

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// haveOSAlloc: large buffers are anonymous private mappings (see mem.go).
const haveOSAlloc = true

// osAlloc maps size bytes of zeroed memory. mmap fails with ENOMEM where the Go heap's growth would be a
// fatal error (address space exhausted, RLIMIT_AS, a mapping larger than the kernel's overcommit
// policy allows).
func osAlloc(size uintptr) (unsafe.Pointer, error) {
	p, err := unix.MmapPtr(-1, 0, nil, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	return p, nil
}

func osFree(p unsafe.Pointer, size uintptr) error { return unix.MunmapPtr(p, size) }
