package main

import (
	"github.com/gpuact/gpuact/backend"
)

// rotateFactor: when one call's data is smaller than this many times the device's cache, the calls
// rotate among several copies of the buffers so that the data they touch, together, is at least that
// large, and every call reads memory rather than the cache the previous call filled.
const rotateFactor = 3

// rotations is how many sets of buffers of n elements the calls rotate among on a device whose cache is
// cache bytes: enough that the sets hold rotateFactor × cache bytes together, counting forward's two
// arrays (the backward passes' three make the total larger still).
func rotations(cache int64, n, elemSize int) int {
	set := 2 * int64(n) * int64(elemSize)
	need := rotateFactor * cache
	if cache <= 0 || set == 0 || set >= need {
		return 1
	}
	return int((need + set - 1) / set)
}

// setAlign is the alignment in elements of every rotation set in its pool (256 bytes or more, as
// cudaMalloc and clCreateBuffer give), so that set i > 0 is no worse aligned than a fresh allocation.
const setAlign = 64

// stride is the distance in elements between the starts of two rotation sets of n elements. With one
// set it is n: the pool is then exactly as large as the buffers of one call.
func stride(n, k int) int {
	if k == 1 {
		return n
	}
	return (n + setAlign - 1) / setAlign * setAlign
}

// poolLen is the length of the buffers that hold every rotation set of every size.
func poolLen(cache int64, sizes []int, elemSize int) int {
	l := 0
	for _, n := range sizes {
		k := rotations(cache, n, elemSize)
		l = max(l, (k-1)*stride(n, k)+n)
	}
	return l
}

// views cuts k views of n elements from the start of pool, one every stride(n, k) elements.
func views(pool backend.Buffer, n, k int) ([]backend.Buffer, error) {
	out := make([]backend.Buffer, k)
	st := stride(n, k)
	for i := range out {
		v, err := pool.Slice(i*st, i*st+n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func allocAll(b backend.Backend, dt backend.DType, n, k int) ([]backend.Buffer, error) {
	var bufs []backend.Buffer
	for range k {
		buf, err := b.Alloc(dt, n)
		if err != nil {
			for _, x := range bufs {
				b.Free(x)
			}
			return nil, err
		}
		bufs = append(bufs, buf)
	}
	return bufs, nil
}
