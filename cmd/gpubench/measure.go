package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat"

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

const (
	// rotateFactor: when one call's data is smaller than this many times the device's cache, the calls
	// rotate among several copies of the buffers so that the data they touch, together, is at least
	// that large, and every call reads memory rather than the cache the previous call filled.
	rotateFactor = 3
	// defaultCacheBytes is assumed when a device does not say how large its last cache is.
	defaultCacheBytes = 64 << 20
	// A sample times a batch of calls, as many as make it last about this long (at most maxBatch), so
	// the clock's resolution and the cost of reading it do not count in a call's time.
	hostSampleTarget   = 20 * time.Microsecond
	kernelSampleTarget = 100 * time.Microsecond
	maxBatch           = 256
	// deviceWarmup is how long a device copies its buffers before the first row of each dtype, so that
	// a GPU (or a CPU) has left its idle clocks (50 × -warmup when that is shorter).
	deviceWarmup = 100 * time.Millisecond
	// maxSamples bounds the samples of one timing, whatever -time says.
	maxSamples = 20000
)

// device is one opened backend and what gpubench derived from its Info.
type device struct {
	b     backend.Backend
	info  backend.Info
	timer backend.Timer // nil where the backend cannot time its own work
	// async: calls return before the device has finished (every platform but the native CPU).
	async bool
	// cache is the size of the cache to defeat (0: no rotation) and cacheFrom says where it came from.
	cache     int64
	cacheFrom string
	// peakGBps is the theoretical memory bandwidth from the Detail keys, 0 where unknown.
	peakGBps float64
}

func newDevice(b backend.Backend, cacheFlag int64, llc func() (int64, bool)) *device {
	d := &device{b: b, info: b.Info()}
	d.timer, _ = b.(backend.Timer)
	d.async = d.info.Platform != backend.PlatformCPU
	switch v, err := strconv.ParseInt(d.info.Details[backend.DetailCacheBytes], 10, 64); {
	case cacheFlag >= 0:
		d.cache, d.cacheFrom = cacheFlag, "-cache"
	case err == nil && v > 0:
		d.cache, d.cacheFrom = v, "device"
	default:
		d.cache, d.cacheFrom = defaultCacheBytes, "default"
		if d.info.Type == backend.DeviceCPU {
			if v, ok := llc(); ok {
				d.cache, d.cacheFrom = v, "sysfs LLC"
			}
		}
	}
	d.peakGBps = peakGBps(d.info.Details)
	return d
}

// peakGBps is the theoretical memory bandwidth: 2 (double data rate) × memory clock × bus width / 8, in
// GB/s; 0 when the device does not report both.
func peakGBps(details map[string]string) float64 {
	khz, err1 := strconv.ParseFloat(details[backend.DetailMemoryClockKHz], 64)
	bits, err2 := strconv.ParseFloat(details[backend.DetailMemoryBusBits], 64)
	if err1 != nil || err2 != nil || khz <= 0 || bits <= 0 {
		return 0
	}
	return 2 * khz * 1e3 * bits / 8 / 1e9
}

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

// bench runs the whole sweep and fills rep.
type bench struct {
	cfg      config
	devs     []*device
	rep      *Report
	progress progress
	done     int                   // progress steps started
	inputs   map[backend.DType]any // *inputs[T], shared by every device so all see the same data
}

type inputs[T backend.Float] struct{ x, dy []T }

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
