package main

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/gpuact/gpuact/backend"
	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/verify"
)

type config struct {
	minExp, maxExp int
	dtypes         []backend.DType
	passes         []backend.Pass
	acts           []backend.Activation
	minTime        time.Duration
	minReps        int
	verify         bool
}

// row is one measured pass × activation × dtype × size.
type row struct {
	pass   backend.Pass
	act    backend.Activation
	dtype  backend.DType
	n      int
	median time.Duration
	gbps   float64 // effective: Arrays() × n × element size bytes per median time
	check  verify.Result
}

// measure times every configured row on b and reports each through emit.
func measure(b backend.Backend, cfg config, emit func(row)) error {
	for _, dt := range cfg.dtypes {
		var err error
		if dt == backend.Float32 {
			err = measureDType[float32](b, cfg, emit)
		} else {
			err = measureDType[float64](b, cfg, emit)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func measureDType[T backend.Float](b backend.Backend, cfg config, emit func(row)) error {
	dt := core.DTypeOf[T]()
	rng := rand.New(rand.NewPCG(uint64(dt), 2024))
	maxN := 1 << cfg.maxExp
	// Random inputs, never zeros: x and dy uniform in [-4, 4).
	x, dy := make([]T, maxN), make([]T, maxN)
	for i := range x {
		x[i] = T(8*rng.Float64() - 4)
		dy[i] = T(8*rng.Float64() - 4)
	}
	for e := cfg.minExp; e <= cfg.maxExp; e++ {
		n := 1 << e
		bufs, err := allocAll(b, dt, n, 4)
		if err != nil {
			return fmt.Errorf("%s n=%d: %w", dt, n, err)
		}
		bx, bdy, by, bout := bufs[0], bufs[1], bufs[2], bufs[3]
		err = func() error {
			if err := b.Upload(bx, core.HostOf(x[:n])); err != nil {
				return err
			}
			if err := b.Upload(bdy, core.HostOf(dy[:n])); err != nil {
				return err
			}
			got := make([]T, n)
			for _, act := range cfg.acts {
				// y = f(x) on the device, the input of backward from output.
				if err := b.Forward(act, by, bx); err != nil {
					return err
				}
				y := make([]T, n)
				if err := b.Download(core.HostOf(y), by); err != nil {
					return err
				}
				for _, p := range cfg.passes {
					if p.Check(act) != nil {
						continue // backward from output with α < 0 is refused by design
					}
					in1, in2, a, c := bx, backend.Buffer{}, x[:n], []T(nil)
					switch p {
					case backend.BackwardFromInput:
						in1, in2, a, c = bdy, bx, dy[:n], x[:n]
					case backend.BackwardFromOutput:
						in1, in2, a, c = bdy, by, dy[:n], y
					}
					med, err := timeCalls(b, cfg, func() error { return backend.Run(b, p, act, bout, in1, in2) })
					if err != nil {
						return fmt.Errorf("%s %s %s n=%d: %w", p, act, dt, n, err)
					}
					r := row{pass: p, act: act, dtype: dt, n: n, median: med}
					r.gbps = float64(p.Arrays()*n*dt.Size()) / med.Seconds() / 1e9
					if cfg.verify {
						if err := b.Download(core.HostOf(got), bout); err != nil {
							return err
						}
						r.check = checkParallel(p, act, got, a, c, b.Info().Denormals)
					}
					emit(r)
				}
			}
			return nil
		}()
		for _, buf := range bufs {
			b.Free(buf)
		}
		if err != nil {
			return err
		}
	}
	return nil
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

// timeCalls runs call once to warm up, then times synchronised calls until both cfg.minReps calls and
// cfg.minTime have passed (at most 1000 calls), and returns the median.
func timeCalls(b backend.Backend, cfg config, call func() error) (time.Duration, error) {
	if err := call(); err != nil {
		return 0, err
	}
	if err := b.Sync(); err != nil {
		return 0, err
	}
	var times []time.Duration
	var total time.Duration
	for len(times) < cfg.minReps || (total < cfg.minTime && len(times) < 1000) {
		start := time.Now()
		if err := call(); err != nil {
			return 0, err
		}
		if err := b.Sync(); err != nil {
			return 0, err
		}
		d := time.Since(start)
		times = append(times, d)
		total += d
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

// checkParallel is verify.Check over chunks on every core: the oracle is slower than the passes.
func checkParallel[T backend.Float](p backend.Pass, act backend.Activation, got, a, c []T, denormals bool) verify.Result {
	const chunk = 1 << 16
	n := len(got)
	var mu sync.Mutex
	total := verify.Result{Tolerance: verify.Tolerance(p, act.Kind(), core.DTypeOf[T]())}
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
