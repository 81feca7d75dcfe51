package main

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
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
	done     int                    // progress steps started
	inputs   map[backend.DType]any  // *inputs[T], shared by every device so all see the same data
	stop     atomic.Pointer[string] // set by interrupt: the signal that stops the sweep
}

// errInterrupted ends a dtype's sweep early when the sweep is interrupted.
var errInterrupted = errors.New("interrupted")

// interrupt asks the sweep to stop before its next row; it may be called from any goroutine.
func (e *bench) interrupt(why string) { e.stop.CompareAndSwap(nil, &why) }

// interrupted returns errInterrupted, saying why, once interrupt was called.
func (e *bench) interrupted() error {
	if why := e.stop.Load(); why != nil {
		return fmt.Errorf("%w (%s): the rows measured before it are reported", errInterrupted, *why)
	}
	return nil
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

// note records a note for the report, once however often it is made.
func (e *bench) note(s string) {
	if !slices.Contains(e.rep.Notes, s) {
		e.rep.Notes = append(e.rep.Notes, s)
	}
}

// dtypeRunners measure each dtype with its Go storage type. A dtype without an entry is reported as an
// error of that device and dtype, never measured as another one.
var dtypeRunners = map[backend.DType]func(*bench, *device) error{
	backend.Float32:  runDType[float32],
	backend.Float64:  runDType[float64],
	backend.Float16:  runDType[backend.F16],
	backend.BFloat16: runDType[backend.BF16],
}

// run measures every device and dtype. It returns the error that stopped it early when the sweep was
// interrupted (also recorded in the report), else nil.
func (e *bench) run() error {
	e.inputs = map[backend.DType]any{}
	for _, d := range e.devs {
		for _, dt := range e.cfg.dtypes {
			end := e.done + e.stepsPerDType()
			var err error
			switch runDT, ok := dtypeRunners[dt]; {
			case e.stop.Load() != nil: // interrupted: what is left is not measured
			case !d.info.DTypes.Has(dt):
				e.rep.Notes = append(e.rep.Notes, fmt.Sprintf("%s: %s skipped: the device does not support it (it has %s)", d.info.Spec, dt, d.info.DTypes))
			case !ok:
				err = fmt.Errorf("gpubench has no measurements for %s", dt)
			default:
				err = runDT(e, d)
			}
			if err != nil && !errors.Is(err, errInterrupted) {
				e.rep.Errors = append(e.rep.Errors, fmt.Sprintf("%s %s: %v", d.info.Spec, dt, err))
			}
			// Steps that an error or a skip left out still count, so the bar ends full.
			if e.done < end {
				e.progress.add(end-e.done, "")
				e.done = end
			}
		}
	}
	err := e.interrupted()
	if err != nil {
		e.rep.Errors = append(e.rep.Errors, err.Error())
	}
	return err
}

// sweep is one dtype's measurement on one device, T being its storage type (see values.go).
type sweep[T backend.Elem] struct {
	e     *bench
	d     *device
	dt    backend.DType
	in    *inputs[T]
	pools pools
	check *checkBuffers[T] // nil with -verify=false
}

// runDType measures dtype T on d: the copy roofline at every size, then every activation × size ×
// pass, each row verified first (unless -verify=false), then timed. Four pools (x, dy, y, out) hold
// every rotation set of every size; y = f(x) is computed on the device once per activation.
func runDType[T backend.Elem](e *bench, d *device) error {
	s := &sweep[T]{e: e, d: d, dt: backend.DTypeOf[T]()}
	sizes, l, err := s.allocFitting()
	if err != nil {
		return err
	}
	defer s.pools.free(d.b)
	// Host memory after device memory, for the sizes that fit.
	s.in, s.check = hostInputs[T](e, l), newCheckBuffers[T](e.cfg, slices.Max(sizes))
	if err := fillPools(d.b, s.pools, s.in.x[:l], s.in.dy[:l]); err != nil {
		return err
	}
	if err := warmUpDevice(d.b, s.pools, e.cfg.warmup); err != nil {
		return err
	}
	sets, err := s.pools.rotationSets(d.cache, sizes, s.dt.Size())
	if err != nil {
		return err
	}
	copies, err := s.measureCopies(sets)
	if err != nil {
		return err
	}
	for _, act := range e.cfg.acts {
		if err := s.computeY(act); err != nil {
			return err
		}
		for si, set := range sets {
			for _, p := range e.cfg.passes {
				if err := s.measureRow(set, copies[si], p, act); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// allocFitting allocates the pools for the sizes asked for and returns those sizes and the pools'
// length. Where the device's memory cannot hold them, it leaves out the size whose rotation sets take
// the most (the largest n, or a tiny one rotating among very many sets) and tries again, recording an
// error for each size left out, so that a sweep asked to go past the device's memory still measures
// every size that fits.
func (s *sweep[T]) allocFitting() ([]int, int, error) {
	sizes := slices.Clone(s.e.cfg.sizes)
	for {
		l := poolLen(s.d.cache, sizes, s.dt.Size())
		var err error
		if s.pools, err = allocPools(s.d.b, s.dt, l); err == nil {
			return sizes, l, nil
		}
		err = fmt.Errorf("allocating 4 buffers of %d elements: %w", l, err)
		if !errors.Is(err, backend.ErrOutOfMemory) || len(sizes) == 1 {
			return nil, 0, err
		}
		i := 0
		for j, n := range sizes {
			if setsLen(s.d.cache, n, s.dt.Size()) > setsLen(s.d.cache, sizes[i], s.dt.Size()) {
				i = j
			}
		}
		s.e.rep.Errors = append(s.e.rep.Errors, fmt.Sprintf("%s %s: n=%d not measured: %v", s.d.info.Spec, s.dt, sizes[i], err))
		sizes = slices.Delete(sizes, i, i+1)
	}
}

// warmUpDevice brings the device out of its idle clocks before the first row: it copies the pools for
// deviceWarmup (or 50 × -warmup when that is shorter).
func warmUpDevice(b backend.Backend, p pools, warmup time.Duration) error {
	for start := time.Now(); time.Since(start) < min(deviceWarmup, 50*warmup); {
		if err := b.Copy(p.out, p.x); err != nil {
			return err
		}
		if err := b.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// measureCopies measures the roofline: the device's own copy of x into out at every size, rotating
// among the same sets as the passes. It records a CopyRow per size and returns the timings, one per
// size, against which each row's % copy is computed.
func (s *sweep[T]) measureCopies(sets []rotationSet) ([]timing, error) {
	e, d, b := s.e, s.d, s.d.b
	copies := make([]timing, len(sets))
	for si, set := range sets {
		if err := e.interrupted(); err != nil {
			return nil, err
		}
		e.step(fmt.Sprintf("%s %s n=%d copy", d.info.Spec, s.dt, set.n))
		t, err := measureCalls(d, e.cfg, set.k, 0, func(i int) error { return b.Copy(set.out[i], set.x[i]) })
		if err != nil {
			return nil, fmt.Errorf("copy n=%d: %w", set.n, err)
		}
		copies[si] = t
		bs, basis := t.basis()
		e.rep.Copy = append(e.rep.Copy, CopyRow{
			Backend: d.info.Spec, DType: s.dt.String(), N: set.n, Timing: basis,
			MedianNs: bs.Median, P10Ns: bs.P10, P90Ns: bs.P90, GBps: gbps(2, set.n, s.dt, bs.Median), Buffers: set.k,
		})
	}
	return copies, nil
}

// computeY runs act forward over the whole x pool into the y pool, the input of backward from output
// at every size, and reads set 0's part of it back (as long as the largest size) where rows are
// verified against it.
func (s *sweep[T]) computeY(act backend.Activation) error {
	b := s.d.b
	if err := b.Forward(act, s.pools.y, s.pools.x); err != nil {
		return fmt.Errorf("%s forward over the pool: %w", act, err)
	}
	if s.check == nil || s.check.y == nil {
		return nil
	}
	set0, err := s.pools.y.Slice(0, len(s.check.y))
	if err == nil {
		err = b.Download(backend.HostOf(s.check.y), set0)
	}
	return err
}

// measureRow measures pass p of act at one size and appends the row: verified first (that call is the
// first of the warm-up), then timed. A pass that cannot run act is noted once and skipped: backward
// from output with α < 0 is refused by design (SEMANTICS §1.3).
func (s *sweep[T]) measureRow(set rotationSet, copyT timing, p backend.Pass, act backend.Activation) error {
	e, d := s.e, s.d
	if err := e.interrupted(); err != nil {
		return err
	}
	e.step(fmt.Sprintf("%s %s n=%d %s %s", d.info.Spec, s.dt, set.n, p, act))
	if _, err := backend.Check(p, act); err != nil {
		e.note(fmt.Sprintf("%s %s skipped: %v", p, act, err))
		return nil
	}
	in1, in2, err := operands(p, set.x, set.dy, set.y)
	if err != nil {
		return err
	}
	if in2 == nil {
		in2 = make([]backend.Buffer, set.k) // Forward's: zero Buffers, which it ignores
	}
	call := func(i int) error { return backend.Run(d.b, p, act, set.out[i], in1[i], in2[i]) }
	var res *verify.Result
	var warmed time.Duration
	if s.check != nil {
		r, took, err := s.verifyRow(set, p, act, call)
		if err != nil {
			return fmt.Errorf("%s %s n=%d: verifying: %w", p, act, set.n, err)
		}
		res, warmed = &r, took
	}
	t, err := measureCalls(d, e.cfg, set.k, warmed, call)
	if err != nil {
		return fmt.Errorf("%s %s n=%d: %w", p, act, set.n, err)
	}
	r := makeRow(d, p, act, s.dt, set.n, set.k, t, copyT)
	if res != nil {
		recordCheck(&r, *res)
	}
	e.rep.Rows = append(e.rep.Rows, r)
	return nil
}

// operands picks the inputs of pass p, in the order the Backend methods take them after the output
// (backend.Pass.Args): x for Forward (in2 is then the zero S); dy and x backward from input; dy and y
// backward from output. It serves the device's buffers and the host's copies alike, so the two cannot
// disagree. An input name it does not know is an error, never another input.
func operands[S any](p backend.Pass, x, dy, y S) (in1, in2 S, err error) {
	byName := map[string]S{"x": x, "dy": dy, "y": y}
	args := p.Args()
	if len(args) < 2 || len(args) > 3 {
		return in1, in2, fmt.Errorf("%s: gpubench knows no inputs for buffers %q", p, args)
	}
	var in [2]S
	for i, name := range args[1:] {
		v, ok := byName[name]
		if !ok {
			return in1, in2, fmt.Errorf("%s: gpubench has no input named %q", p, name)
		}
		in[i] = v
	}
	return in[0], in[1], nil
}

// gbps is the effective bandwidth of moving arrays arrays of n elements of dt in ns nanoseconds.
func gbps(arrays, n int, dt backend.DType, ns float64) float64 {
	if ns <= 0 {
		return 0
	}
	return float64(arrays) * float64(n) * float64(dt.Size()) / ns
}

// makeRow turns one row's timings into its Row: bandwidth from the basis timing, and as a share of the
// copy at the same size and of the device's theoretical peak.
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
