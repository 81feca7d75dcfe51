//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package cpu

import (
	"math"
	"runtime"

	"golang.org/x/sys/unix"
)

// availableMemory is unknown here (0): these systems give no single figure for the memory a new
// allocation can take (darwin's free pages leave out what the compressor and purgeable memory would
// give back), so Alloc compares large sizes with the machine's RAM instead.
func availableMemory() int64 { return 0 }

// totalMemory is the machine's RAM in bytes from sysctl (0: unknown).
func totalMemory() int64 {
	name := "hw.physmem" // freebsd, dragonfly; openbsd's x/sys table maps it to HW_PHYSMEM64
	switch runtime.GOOS {
	case "darwin":
		name = "hw.memsize"
	case "netbsd":
		name = "hw.physmem64"
	}
	if v, err := unix.SysctlUint64(name); err == nil && v <= math.MaxInt64 {
		return int64(v)
	}
	if v, err := unix.SysctlUint32(name); err == nil { // a 32-bit kernel's unsigned long
		return int64(v)
	}
	return 0
}
