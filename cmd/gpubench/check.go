package main

import (
	"runtime"
	"sync"

	"github.com/gpuact/gpuact/backend"
	"github.com/gpuact/gpuact/backend/verify"
)

// checkParallel is verify.Check over chunks on every core: the oracle is slower than the passes.
func checkParallel[T backend.Float](p backend.Pass, act backend.Activation, got, a, c []T, denormals bool) verify.Result {
	const chunk = 1 << 16
	n := len(got)
	var mu sync.Mutex
	tol, err := backend.Tolerance(act.Kind(), p, backend.DTypeOf[T]())
	total := verify.Result{Tolerance: tol, Err: err}
	if err != nil {
		return total
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var cc []T
			if c != nil {
				cc = c[lo:hi]
			}
			r := verify.Check(p, act, got[lo:hi], a[lo:hi], cc, denormals)
			mu.Lock()
			defer mu.Unlock()
			total.N += r.N
			total.MaxULP = max(total.MaxULP, r.MaxULP)
			if r.First != nil && (total.First == nil || lo+r.First.Index < total.First.Index) {
				m := *r.First
				m.Index += lo
				total.First = &m
			}
			total.Bad += r.Bad
		})
	}
	wg.Wait()
	return total
}
