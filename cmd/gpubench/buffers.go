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
		l = max(l, setsLen(cache, n, elemSize))
	}
	return l
}

// setsLen is the length that size n's rotation sets take in a pool. It is not largest for the largest
// n: a small n rotates among many sets, each starting a setAlign boundary after the last.
func setsLen(cache int64, n, elemSize int) int {
	k := rotations(cache, n, elemSize)
	return (k-1)*stride(n, k) + n
}

// pools are the four buffers one dtype's sweep works in, each poolLen elements long so that it holds
// every rotation set of every size: one allocation each, however many sizes and sets, so that no row
// pays for allocating. x and dy hold the inputs, y = f(x) (the input of backward from output), and out
// the result of every call.
type pools struct{ x, dy, y, out backend.Buffer }

func allocPools(b backend.Backend, dt backend.DType, l int) (pools, error) {
	bufs, err := allocAll(b, dt, l, 4)
	if err != nil {
		return pools{}, err
	}
	return pools{x: bufs[0], dy: bufs[1], y: bufs[2], out: bufs[3]}, nil
}

// free frees the pools. It reports nothing: it runs once the sweep is over or has already failed.
func (p pools) free(b backend.Backend) {
	for _, buf := range []backend.Buffer{p.x, p.dy, p.y, p.out} {
		b.Free(buf)
	}
}

// fillPools uploads the inputs x and dy (each as long as the pools) and writes the two output pools
// once before any timing: the first write to fresh memory costs a page fault (CPU) or a mapping (some
// GPU drivers), and the rotation may not come round to it during a row's warm-up.
func fillPools[T backend.Elem](b backend.Backend, p pools, x, dy []T) error {
	if err := b.Upload(p.x, backend.HostOf(x)); err != nil {
		return err
	}
	if err := b.Upload(p.dy, backend.HostOf(dy)); err != nil {
		return err
	}
	for _, out := range []backend.Buffer{p.y, p.out} {
		if err := b.Copy(out, p.x); err != nil {
			return err
		}
	}
	return b.Sync()
}

// rotationSet is one size's share of the pools: k sets of views of n elements, set i of every pool at
// the same offset, which that size's calls rotate among.
type rotationSet struct {
	n, k          int
	x, dy, y, out []backend.Buffer
}

// rotationSets cuts the pools into the rotation sets of each size, in the order of sizes.
func (p pools) rotationSets(cache int64, sizes []int, elemSize int) ([]rotationSet, error) {
	sets := make([]rotationSet, len(sizes))
	for si, n := range sizes {
		k := rotations(cache, n, elemSize)
		s := rotationSet{n: n, k: k}
		for _, v := range []struct {
			dst  *[]backend.Buffer
			pool backend.Buffer
		}{{&s.x, p.x}, {&s.dy, p.dy}, {&s.y, p.y}, {&s.out, p.out}} {
			var err error
			if *v.dst, err = views(v.pool, n, k); err != nil {
				return nil, err
			}
		}
		sets[si] = s
	}
	return sets, nil
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

// allocAll allocates k buffers of n elements of dt, or none: on an error it frees those it had.
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
