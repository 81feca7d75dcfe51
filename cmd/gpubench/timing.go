package main

import (
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/gpuact/gpuact/backend"
)

const (
	// A sample times a batch of calls, as many as make it last about this long (at most maxBatch), so
	// the clock's resolution and the cost of reading it do not count in a call's time.
	hostSampleTarget   = 20 * time.Microsecond
	kernelSampleTarget = 100 * time.Microsecond
	maxBatch           = 256
	// maxSamples bounds the samples of one timing, whatever -time says.
	maxSamples = 20000
)

// stats summarises the samples of one timing, in nanoseconds per call.
type stats struct {
	Median, P10, P90 float64
	N                int // samples
	Batch            int // calls per sample
}

func summarize(ns []float64, batch int) stats {
	if len(ns) == 0 {
		return stats{}
	}
	slices.Sort(ns)
	q := func(p float64) float64 { return stat.Quantile(p, stat.Empirical, ns, nil) }
	return stats{Median: q(0.5), P10: q(0.1), P90: q(0.9), N: len(ns), Batch: batch}
}

// timing is everything measured for one row.
type timing struct {
	host    stats // wall time of call + Sync, per call
	kernel  stats // device time per call (backend.Timer); zero without one
	enqueue stats // wall time of queuing one call without waiting; zero on synchronous backends
}

// basis is the timing that bandwidth is computed from: kernel time where the device measures it (and
// its clock saw the work at all), else host time.
func (t timing) basis() (stats, string) {
	if t.kernel.N > 0 && t.kernel.Median > 0 {
		return t.kernel, "kernel"
	}
	return t.host, "host"
}

// rotation calls call(i) with i cycling through the k rotation sets, so that consecutive calls touch
// different buffers (see rotations).
type rotation struct {
	i, k int
	call func(i int) error
}

func (r *rotation) next() error {
	err := r.call(r.i)
	r.i = (r.i + 1) % r.k
	return err
}

// measureCalls times call(i), where i cycles through the k rotation sets from set 1 (set 0's buffers
// are the ones the caller's verification call just touched): warm-up, then host time per synchronised
// call, then (with a Timer) device time per call, then (async devices) enqueue cost. warmed is how long
// the caller's own synchronised call(0) took, just before (0: none); it counts as warm-up.
func measureCalls(d *device, cfg config, k int, warmed time.Duration, call func(i int) error) (timing, error) {
	var t timing
	r := &rotation{i: 1 % k, k: k, call: call}
	perCall, err := warmUp(d.b, cfg.warmup, warmed, r.next)
	if err != nil {
		return t, err
	}
	if t.host, err = timeHost(d.b, cfg, perCall, r.next); err != nil {
		return t, err
	}
	if d.timer != nil {
		if t.kernel, err = timeKernel(d.timer, cfg, r.next); err != nil {
			return t, err
		}
	}
	if d.async {
		if t.enqueue, err = timeEnqueue(d.b, cfg, time.Duration(t.host.Median), r.next); err != nil {
			return t, err
		}
	}
	return t, nil
}

// warmUp makes synchronised calls for at least warmup (one at least, counting the caller's call of
// warmed, when there was one), so that caches, clocks and the driver have settled before sampling. It
// returns the mean time of a synchronised call, from which the host timing sizes its batches.
func warmUp(b backend.Backend, warmup, warmed time.Duration, next func() error) (time.Duration, error) {
	if err := b.Sync(); err != nil {
		return 0, err
	}
	start, calls := time.Now(), 0
	if warmed > 0 {
		start, calls = start.Add(-warmed), 1
	}
	for calls == 0 || time.Since(start) < warmup {
		if err := next(); err != nil {
			return 0, err
		}
		if err := b.Sync(); err != nil {
			return 0, err
		}
		calls++
	}
	return time.Since(start) / time.Duration(calls), nil
}

// timeHost samples the wall time of a call and its Sync: what a caller that waits for every result
// sees, on every backend.
func timeHost(b backend.Backend, cfg config, perCall time.Duration, next func() error) (stats, error) {
	hb := batchFor(perCall, hostSampleTarget)
	host, err := sample(cfg, func() (float64, error) {
		t0 := time.Now()
		for range hb {
			if err := next(); err != nil {
				return 0, err
			}
			if err := b.Sync(); err != nil {
				return 0, err
			}
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(hb), nil
	})
	if err != nil {
		return stats{}, err
	}
	return summarize(host, hb), nil
}

// timeKernel samples the device time of a call from the backend's own events (CUDA events, OpenCL
// profiling), which leave out the host's cost of queuing and waiting: the basis of bandwidth where a
// device has them.
func timeKernel(timer backend.Timer, cfg config, next func() error) (stats, error) {
	one, err := timer.TimeDevice(next)
	if err != nil {
		return stats{}, err
	}
	kb := batchFor(one, kernelSampleTarget)
	kernel, err := sample(cfg, func() (float64, error) {
		dt, err := timer.TimeDevice(func() error {
			for range kb {
				if err := next(); err != nil {
					return err
				}
			}
			return nil
		})
		return float64(dt.Nanoseconds()) / float64(kb), err
	})
	if err != nil {
		return stats{}, err
	}
	return summarize(kernel, kb), nil
}

// timeEnqueue samples the host time of queuing a call without waiting for it (asynchronous backends):
// the cost a caller pays per call when it keeps the device busy. hostPerCall sizes the batches.
func timeEnqueue(b backend.Backend, cfg config, hostPerCall time.Duration, next func() error) (stats, error) {
	eb := batchFor(hostPerCall, hostSampleTarget)
	enq, err := sample(cfg, func() (float64, error) {
		t0 := time.Now()
		for range eb {
			if err := next(); err != nil {
				return 0, err
			}
		}
		ns := float64(time.Since(t0).Nanoseconds()) / float64(eb)
		return ns, b.Sync()
	})
	if err != nil {
		return stats{}, err
	}
	return summarize(enq, eb), nil
}

// batchFor is how many calls of length per make a sample of about target.
func batchFor(per, target time.Duration) int {
	if per <= 0 {
		return maxBatch
	}
	return int(min(max(1, (target+per/2)/per), maxBatch))
}

// sample calls f until it has cfg.minReps samples and cfg.minTime has passed (or maxSamples).
func sample(cfg config, f func() (float64, error)) ([]float64, error) {
	var out []float64
	start := time.Now()
	for len(out) < max(1, cfg.minReps) || (time.Since(start) < cfg.minTime && len(out) < maxSamples) {
		v, err := f()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
