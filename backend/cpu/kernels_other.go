//go:build !amd64 || purego

package cpu

// Only amd64 has assembly kernels; every other architecture, and any build with the purego tag, runs
// the plain Go loops.
func simdImplementations() []*implementation { return nil }
