package main

import (
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"
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

// measureCalls times call(i), where i cycles through the k rotation sets from set 1: warm-up, then host
// time per synchronised call, then (with a Timer) device time per call, then (async devices) enqueue
// cost. warmed is how long the caller's own synchronised call(0) took, just before (0: none); it counts
// as warm-up.
func measureCalls(d *device, cfg config, k int, warmed time.Duration, call func(i int) error) (timing, error) {
	var t timing
	i := 1 % k
	next := func() error {
		err := call(i)
		i = (i + 1) % k
		return err
	}
	b := d.b
	if err := b.Sync(); err != nil {
		return t, err
	}
	start, calls := time.Now(), 0
	if warmed > 0 {
		start, calls = start.Add(-warmed), 1
	}
	for calls == 0 || time.Since(start) < cfg.warmup {
		if err := next(); err != nil {
			return t, err
		}
		if err := b.Sync(); err != nil {
			return t, err
		}
		calls++
	}
	hb := batchFor(time.Since(start)/time.Duration(calls), hostSampleTarget)
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
		return t, err
	}
	t.host = summarize(host, hb)

	if d.timer != nil {
		one, err := d.timer.TimeDevice(next)
		if err != nil {
			return t, err
		}
		kb := batchFor(one, kernelSampleTarget)
		kernel, err := sample(cfg, func() (float64, error) {
			dt, err := d.timer.TimeDevice(func() error {
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
			return t, err
		}
		t.kernel = summarize(kernel, kb)
	}

	if d.async {
		eb := batchFor(time.Duration(t.host.Median), hostSampleTarget)
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
			return t, err
		}
		t.enqueue = summarize(enq, eb)
	}
	return t, nil
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
