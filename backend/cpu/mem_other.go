//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd || windows)

package cpu

// availableMemory is unknown on the other systems (0).
func availableMemory() int64 { return 0 }

// totalMemory is unknown on the other systems (0).
func totalMemory() int64 { return 0 }
