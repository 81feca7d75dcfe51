package main

import (
	"math/rand/v2"
	"sync"

	"github.com/gpuact/gpuact/backend"
)

// Storage and compute types. The sweep's generic code is written over T, the storage type: the Go
// type of a buffer's elements on the host, which is what Upload and Download copy, and what gpubench
// slices and hands on, nothing more. It does no arithmetic and no comparison in T:
//   - the values gpubench makes are computed in float64, which holds every value of every dtype exactly
//     and is at least as wide as any dtype's compute type (backend.DType.Compute), and stored through
//     toStorage; a stored value is read back through fromStorage;
//   - results are compared with the oracle by package verify (see checkParallel), which evaluates the
//     references of SEMANTICS §2 for the dtype itself.

// toStorage rounds v to the nearest value of T, ties to even, once (a 16-bit type too).
func toStorage[T backend.Elem](v float64) T { return backend.FromFloat64[T](v) }

// fromStorage returns the value v holds, exactly.
func fromStorage[T backend.Elem](v T) float64 { return backend.ToFloat64(v) }

// inputs are the host copies of x and dy that every device's pools are filled from.
type inputs[T backend.Elem] struct{ x, dy []T }

// hostInputs returns random x and dy at least l long: uniform in [-4, 4), never zero, the same for every
// device (fillRandom's values do not depend on the length, so a longer pair made for a later device
// starts with the shorter one).
func hostInputs[T backend.Elem](e *bench, l int) *inputs[T] {
	dt := backend.DTypeOf[T]()
	if in, ok := e.inputs[dt].(*inputs[T]); ok && len(in.x) >= l {
		return in
	}
	e.inputs[dt] = nil // the shorter pair is garbage before the longer one is made
	in := &inputs[T]{x: make([]T, l), dy: make([]T, l)}
	fillRandom(in.x, uint64(dt)*2+1)
	fillRandom(in.dy, uint64(dt)*2+2)
	e.inputs[dt] = in
	return in
}

// fillRandom fills s with values uniform in [-4, 4) (never zero: a value that rounds to zero in T is
// replaced by 1) on every core, reproducibly per seed.
func fillRandom[T backend.Elem](s []T, seed uint64) {
	const chunk = 1 << 20
	var wg sync.WaitGroup
	for lo := 0; lo < len(s); lo += chunk {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(lo)))
			for i := range s[lo:min(lo+chunk, len(s))] {
				v := toStorage[T](8*rng.Float64() - 4)
				if fromStorage(v) == 0 {
					v = toStorage[T](1)
				}
				s[lo+i] = v
			}
		})
	}
	wg.Wait()
}
