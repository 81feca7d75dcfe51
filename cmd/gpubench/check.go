package main

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/gpuact/gpuact/backend"
	// verify is the one import beyond package backend: it is the checking tool the conformance suite uses
	// too (the oracle within SEMANTICS §2's tolerances, ULP distances, the first mismatch), not part of the
	// library a program runs, so package backend does not re-export it.
	"github.com/gpuact/gpuact/backend/verify"
)

// checkBuffers are the host memory that verifying one dtype's rows needs, each as long as the largest
// size: only set 0 of each size is verified, so only set 0's part of a pool comes back to the host.
type checkBuffers[T backend.Elem] struct {
	got []T // the output of set 0, read back after the verified call
	// y is y = f(x) of set 0, read back after each activation's forward pass over the pool: the input of
	// backward from output on the host side. Nil when that pass is not measured.
	y []T
	// poison is NaN, written into the output before the verified call, so that a kernel that writes
	// nothing cannot pass on a previous call's results.
	poison []T
}

// newCheckBuffers returns the buffers that verifying rows of up to maxN elements needs, or nil with
// -verify=false.
func newCheckBuffers[T backend.Elem](cfg config, maxN int) *checkBuffers[T] {
	if !cfg.verify {
		return nil
	}
	c := &checkBuffers[T]{got: make([]T, maxN), poison: make([]T, maxN)}
	if slices.Contains(cfg.passes, backend.BackwardFromOutput) {
		c.y = make([]T, maxN)
	}
	for i := range c.poison {
		c.poison[i] = toStorage[T](math.NaN())
	}
	return c
}

// verifyRow checks pass p of act at one size before it is timed: it poisons the output of set 0, runs
// the pass on set 0, reads the output back and compares every element with the oracle. It returns how
// long that synchronised call took: it is the first call of the row's warm-up.
func (s *sweep[T]) verifyRow(set rotationSet, p backend.Pass, act backend.Activation, call func(i int) error) (verify.Result, time.Duration, error) {
	b, n, c := s.d.b, set.n, s.check
	var took time.Duration
	err := b.Upload(set.out[0], backend.HostOf(c.poison[:n]))
	if err == nil {
		t0 := time.Now()
		if err = call(0); err == nil {
			err = b.Sync()
		}
		took = max(time.Since(t0), 1)
	}
	if err == nil {
		err = b.Download(backend.HostOf(c.got[:n]), set.out[0])
	}
	if err != nil {
		return verify.Result{}, 0, err
	}
	// Set 0 starts every pool, so its inputs are the first n elements of the host copies.
	a, bIn, err := operands(p, s.in.x, s.in.dy, c.y)
	if err != nil {
		return verify.Result{}, 0, err
	}
	return checkParallel(p, act, c.got[:n], a[:n], head(bIn, n), s.d.info.Denormals), took, nil
}

// head is s[:n], or nil for a nil s (the unused second input of Forward).
func head[T any](s []T, n int) []T {
	if s == nil {
		return nil
	}
	return s[:n]
}

// checkParallel is verify.Check over chunks on every core: the oracle is slower than the passes. The
// slices are in the storage type T and go to verify as they are: verify and the oracle own the
// arithmetic (each formula in the dtype's compute type) and the tolerance, which is the storage
// dtype's, so gpubench converts nothing here; it only cuts the slices into chunks and sums the results.
func checkParallel[T backend.Elem](p backend.Pass, act backend.Activation, got, a, c []T, denormals bool) verify.Result {
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

// recordCheck writes the verdict of verifying a row into it.
func recordCheck(r *Row, res verify.Result) {
	ok := res.OK()
	r.OK, r.MaxULP, r.TolULP = &ok, &res.MaxULP, res.Tolerance
	if !ok {
		r.Mismatch = res.String()
	}
}
