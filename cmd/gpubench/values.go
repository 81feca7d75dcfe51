package main

import (
	"math/rand/v2"
	"sync"

	"github.com/gpuact/gpuact/backend"
)

// inputs are the host copies of x and dy that every device's pools are filled from.
type inputs[T backend.Float] struct{ x, dy []T }

// hostInputs returns random x and dy long enough for every device: uniform in [-4, 4), never zero, the
// same for every device.
func hostInputs[T backend.Float](e *bench) *inputs[T] {
	dt := backend.DTypeOf[T]()
	if in, ok := e.inputs[dt].(*inputs[T]); ok {
		return in
	}
	l := 0
	for _, d := range e.devs {
		l = max(l, poolLen(d.cache, e.cfg.sizes, dt.Size()))
	}
	in := &inputs[T]{x: make([]T, l), dy: make([]T, l)}
	fillRandom(in.x, uint64(dt)*2+1)
	fillRandom(in.dy, uint64(dt)*2+2)
	e.inputs[dt] = in
	return in
}

// fillRandom fills s with values uniform in [-4, 4) (never zero) on every core, reproducibly per seed.
func fillRandom[T backend.Float](s []T, seed uint64) {
	const chunk = 1 << 20
	var wg sync.WaitGroup
	for lo := 0; lo < len(s); lo += chunk {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(lo)))
			for i := range s[lo:min(lo+chunk, len(s))] {
				v := T(8*rng.Float64() - 4)
				if v == 0 {
					v = 1
				}
				s[lo+i] = v
			}
		})
	}
	wg.Wait()
}
