//go:build windows

package cpu

import (
	"math"
	"unsafe"

	"golang.org/x/sys/windows"
)

// memoryStatusEx is MEMORYSTATUSEX.
type memoryStatusEx struct {
	length               uint32
	memoryLoad           uint32
	totalPhys            uint64
	availPhys            uint64
	totalPageFile        uint64
	availPageFile        uint64
	totalVirtual         uint64
	availVirtual         uint64
	availExtendedVirtual uint64
}

var globalMemoryStatusEx = windows.NewLazySystemDLL("kernel32.dll").NewProc("GlobalMemoryStatusEx")

func memoryStatus() (memoryStatusEx, bool) {
	s := memoryStatusEx{length: uint32(unsafe.Sizeof(memoryStatusEx{}))}
	if globalMemoryStatusEx.Find() != nil {
		return s, false
	}
	r, _, _ := globalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&s)))
	return s, r != 0
}

// availableMemory is the physical memory available, or the process's free address space if that is
// less (a 32-bit process), in bytes (0: unknown).
func availableMemory() int64 {
	s, ok := memoryStatus()
	if !ok {
		return 0
	}
	return int64(min(s.availPhys, s.availVirtual, math.MaxInt64))
}

// totalMemory is the machine's RAM in bytes (0: unknown).
func totalMemory() int64 {
	s, ok := memoryStatus()
	if !ok {
		return 0
	}
	return int64(min(s.totalPhys, math.MaxInt64))
}
