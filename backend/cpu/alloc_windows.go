//go:build windows

package cpu

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// haveOSAlloc: large buffers are committed with VirtualAlloc (see mem.go).
const haveOSAlloc = true

// osAlloc reserves and commits size bytes of zeroed memory. Windows does not overcommit: the call fails
// (ERROR_NOT_ENOUGH_MEMORY, ERROR_COMMITMENT_LIMIT) when the commit charge cannot grow by size.
func osAlloc(size uintptr) (unsafe.Pointer, error) {
	addr, err := windows.VirtualAlloc(0, size, windows.MEM_RESERVE|windows.MEM_COMMIT, windows.PAGE_READWRITE)
	if err != nil {
		return nil, fmt.Errorf("VirtualAlloc: %w", err)
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr)), nil
}

func osFree(p unsafe.Pointer, _ uintptr) error {
	return windows.VirtualFree(uintptr(p), 0, windows.MEM_RELEASE)
}
