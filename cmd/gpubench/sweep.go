package main

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gpuact/gpuact/backend"
	"github.com/gpuact/gpuact/backend/verify"
)

// config is what to measure and how long, from the flags.
type config struct {
	sizes   []int
	dtypes  []backend.DType
	passes  []backend.Pass
	acts    []backend.Activation
	minTime time.Duration // least time spent sampling each of a row's timings
	warmup  time.Duration // synchronised calls before sampling (at least one)
	minReps int           // least number of samples per timing
	verify  bool
	cache   int64 // bytes to defeat by rotating inputs; < 0: ask the device
}

// deviceWarmup is how long a device copies its buffers before the first row of each dtype, so that a
// GPU (or a CPU) has left its idle clocks (50 × -warmup when that is shorter).
const deviceWarmup = 100 * time.Millisecond

// bench runs the whole sweep and fills rep.
type bench struct {
	cfg      config
	devs     []*device
	rep      *Report
	progress progress
	done     int                   // progress steps started
	inputs   map[backend.DType]any // *inputs[T], shared by every device so all see the same data
}

// steps is the number of progress steps the sweep takes: per device and dtype, a copy and every
// activation × pass at each size.
func (e *bench) steps() int { return len(e.devs) * len(e.cfg.dtypes) * e.stepsPerDType() }

func (e *bench) stepsPerDType() int {
	return len(e.cfg.sizes) * (1 + len(e.cfg.acts)*len(e.cfg.passes))
}

// step reports that a step starts.
func (e *bench) step(desc string) {
	e.done++
	e.progress.step(desc)
}

func (e *bench) run() {
	e.inputs = map[backend.DType]any{}
	for _, d := range e.devs {
		for _, dt := range e.cfg.dtypes {
			end := e.done + e.stepsPerDType()
			var err error
			switch {
			case !d.info.DTypes.Has(dt):
				e.rep.Notes = append(e.rep.Notes, fmt.Sprintf("%s: %s skipped: the device does not support it (it has %s)", d.info.Spec, dt, d.info.DTypes))
			case dt == backend.Float32:
				err = runDType[float32](e, d)
			case dt == backend.Float64:
				err = runDType[float64](e, d)
			default:
				err = fmt.Errorf("gpubench has no measurements for %s", dt)
			}
			if err != nil {
				e.rep.Errors = append(e.rep.Errors, fmt.Sprintf("%s %s: %v", d.info.Spec, dt, err))
			}
			// Steps that an error or a skip left out still count, so the bar ends full.
			if e.done < end {
				e.progress.add(end-e.done, "")
				e.done = end
			}
		}
	}
}

// runDType measures dtype T on d: the copy roofline at every size, then every activation × size × pass.
// Four pools (x, dy, y, out) hold every rotation set of every size; y = f(x) is computed on the device
// once per activation.
func runDType[T backend.Float](e *bench, d *device) error {
	b, cfg := d.b, e.cfg
	dt := backend.DTypeOf[T]()
	in := hostInputs[T](e)
	l := poolLen(d.cache, cfg.sizes, dt.Size())
	pools, err := allocAll(b, dt, l, 4)
	if err != nil {
		return fmt.Errorf("allocating 4 buffers of %d elements: %w", l, err)
	}
	defer func() {
		for _, p := range pools {
			b.Free(p)
		}
	}()
	px, pdy, py, pout := pools[0], pools[1], pools[2], pools[3]
	if err := b.Upload(px, backend.HostOf(in.x[:l])); err != nil {
		return err
	}
	if err := b.Upload(pdy, backend.HostOf(in.dy[:l])); err != nil {
		return err
	}
	// Write the output pools once before timing: the first write to fresh memory costs a page fault
	// (CPU) or a mapping (some GPU drivers), and the rotation may not come round to it during warm-up.
	for _, p := range []backend.Buffer{py, pout} {
		if err := b.Copy(p, px); err != nil {
			return err
		}
	}
	if err := b.Sync(); err != nil {
		return err
	}
	// Bring the device out of its idle clocks before the first row: copy the pools for a while.
	for start := time.Now(); time.Since(start) < min(deviceWarmup, 50*cfg.warmup); {
		if err := b.Copy(pout, px); err != nil {
			return err
		}
		if err := b.Sync(); err != nil {
			return err
		}
	}
	type set struct {
		k, n          int
		x, dy, y, out []backend.Buffer
	}
	sets := make([]set, len(cfg.sizes))
	for si, n := range cfg.sizes {
		k := rotations(d.cache, n, dt.Size())
		s := set{k: k, n: n}
		for _, v := range []struct {
			dst  *[]backend.Buffer
			pool backend.Buffer
		}{{&s.x, px}, {&s.dy, pdy}, {&s.y, py}, {&s.out, pout}} {
			if *v.dst, err = views(v.pool, n, k); err != nil {
				return err
			}
		}
		sets[si] = s
	}

	// The roofline: the device's own copy, x into out, at every size.
	copies := make([]timing, len(cfg.sizes))
	for si, s := range sets {
		e.step(fmt.Sprintf("%s %s n=%d copy", d.info.Spec, dt, s.n))
		t, err := measureCalls(d, cfg, s.k, 0, func(i int) error { return b.Copy(s.out[i], s.x[i]) })
		if err != nil {
			return fmt.Errorf("copy n=%d: %w", s.n, err)
		}
		copies[si] = t
		bs, basis := t.basis()
		e.rep.Copy = append(e.rep.Copy, CopyRow{
			Backend: d.info.Spec, DType: dt.String(), N: s.n, Timing: basis,
			MedianNs: bs.Median, P10Ns: bs.P10, P90Ns: bs.P90, GBps: gbps(2, s.n, dt, bs.Median), Buffers: s.k,
		})
	}

	// Only set 0 is verified, so only its part of y comes back to the host.
	var hostY, got []T
	maxN := slices.Max(cfg.sizes)
	if cfg.verify {
		got = make([]T, maxN)
		if slices.Contains(cfg.passes, backend.BackwardFromOutput) {
			hostY = make([]T, maxN)
		}
	}
	poison := make([]T, len(got))
	for i := range poison {
		poison[i] = T(math.NaN())
	}
	for _, act := range cfg.acts {
		if err := b.Forward(act, py, px); err != nil {
			return fmt.Errorf("%s forward over the pool: %w", act, err)
		}
		if hostY != nil {
			head, err := py.Slice(0, maxN)
			if err == nil {
				err = b.Download(backend.HostOf(hostY), head)
			}
			if err != nil {
				return err
			}
		}
		for si, s := range sets {
			for _, p := range cfg.passes {
				e.step(fmt.Sprintf("%s %s n=%d %s %s", d.info.Spec, dt, s.n, p, act))
				if _, err := backend.Check(p, act); err != nil {
					// Backward from output with α < 0 is refused by design (SEMANTICS §1.3).
					note := fmt.Sprintf("%s %s skipped: %v", p, act, err)
					if !slices.Contains(e.rep.Notes, note) {
						e.rep.Notes = append(e.rep.Notes, note)
					}
					continue
				}
				in1, in2 := s.x, make([]backend.Buffer, s.k)
				switch p {
				case backend.BackwardFromInput:
					in1, in2 = s.dy, s.x
				case backend.BackwardFromOutput:
					in1, in2 = s.dy, s.y
				}
				call := func(i int) error { return backend.Run(b, p, act, s.out[i], in1[i], in2[i]) }
				// Verify first, and let that call be the first of the warm-up: poison the output of set 0,
				// run the pass on it and compare every element with the oracle (a kernel that writes
				// nothing cannot pass on stale results).
				var res *verify.Result
				var warmed time.Duration
				if cfg.verify {
					err := b.Upload(s.out[0], backend.HostOf(poison[:s.n]))
					if err == nil {
						t0 := time.Now()
						if err = call(0); err == nil {
							err = b.Sync()
						}
						warmed = max(time.Since(t0), 1)
					}
					if err == nil {
						err = b.Download(backend.HostOf(got[:s.n]), s.out[0])
					}
					if err != nil {
						return fmt.Errorf("%s %s n=%d: verifying: %w", p, act, s.n, err)
					}
					a, c := in.x[:s.n], []T(nil)
					switch p {
					case backend.BackwardFromInput:
						a, c = in.dy[:s.n], in.x[:s.n]
					case backend.BackwardFromOutput:
						a, c = in.dy[:s.n], hostY[:s.n]
					}
					r := checkParallel(p, act, got[:s.n], a, c, d.info.Denormals)
					res = &r
				}
				t, err := measureCalls(d, cfg, s.k, warmed, call)
				if err != nil {
					return fmt.Errorf("%s %s n=%d: %w", p, act, s.n, err)
				}
				r := makeRow(d, p, act, dt, s.n, s.k, t, copies[si])
				if res != nil {
					ok := res.OK()
					r.OK, r.MaxULP, r.TolULP = &ok, &res.MaxULP, res.Tolerance
					if !ok {
						r.Mismatch = res.String()
					}
				}
				e.rep.Rows = append(e.rep.Rows, r)
			}
		}
	}
	return nil
}

// gbps is the effective bandwidth of moving arrays arrays of n elements of dt in ns nanoseconds.
func gbps(arrays, n int, dt backend.DType, ns float64) float64 {
	if ns <= 0 {
		return 0
	}
	return float64(arrays) * float64(n) * float64(dt.Size()) / ns
}

func makeRow(d *device, p backend.Pass, act backend.Activation, dt backend.DType, n, k int, t, copyT timing) Row {
	bs, basis := t.basis()
	cs, _ := copyT.basis()
	r := Row{
		Backend: d.info.Spec, Device: d.info.Name, Pass: p.String(), Activation: act.String(), DType: dt.String(), N: n,
		MedianNs: bs.Median, P10Ns: bs.P10, P90Ns: bs.P90, GBps: gbps(p.Arrays(), n, dt, bs.Median), Timing: basis,
		Samples: bs.N, Batch: bs.Batch, Buffers: k,
		HostNs: t.host.Median, HostP10Ns: t.host.P10, HostP90Ns: t.host.P90,
		KernelNs: t.kernel.Median, EnqueueNs: t.enqueue.Median,
		CopyGBps: gbps(2, n, dt, cs.Median),
	}
	if r.CopyGBps > 0 {
		r.PctCopy = 100 * r.GBps / r.CopyGBps
	}
	if d.peakGBps > 0 {
		r.PeakGBps = d.peakGBps
		r.PctPeak = 100 * r.GBps / d.peakGBps
	}
	return r
}
