package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"
)

// writeHeader says when, where and how the rows were measured.
func writeHeader(d doc, rep *Report) {
	d.para(fmt.Sprintf("gpubench %s on %s (%s%s)", rep.Date, rep.Host, rep.Go, prefixed(", gpuact ", rep.Version)))
	for _, dev := range rep.Devices {
		d.item(0, deviceLine(dev))
	}
	if s := rep.Settings; s != nil {
		d.item(0, fmt.Sprintf("each timing: at least %s and %d samples, after %s of warm-up; inputs random in [-4, 4) and rotated among buffer sets that together hold %d× the cache",
			fmtNs(float64(s.MinTimeNs)), s.MinReps, fmtNs(float64(s.WarmupNs)), s.RotateFactor))
	}
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func deviceLine(dev DeviceInfo) string {
	name := dev.Name
	if dev.Vendor != "" {
		name += " (" + dev.Vendor + ")"
	}
	return dev.Backend + ": " + name + ", " + deviceDetails(dev)
}

// deviceDetails says what gpubench knows of a device beyond its name.
func deviceDetails(dev DeviceInfo) string {
	var parts []string
	if dev.Driver != "" {
		parts = append(parts, dev.Driver)
	}
	if dev.ComputeUnits > 0 {
		parts = append(parts, fmt.Sprintf("%d compute units", dev.ComputeUnits))
	}
	if dev.MemoryBytes > 0 {
		parts = append(parts, fmtBytes(dev.MemoryBytes))
	}
	if dev.Path != "" {
		parts = append(parts, "path "+dev.Path)
	}
	parts = append(parts, fmt.Sprintf("cache %s (%s)", fmtBytes(dev.CacheBytes), dev.CacheFrom))
	if dev.PeakGBps > 0 {
		parts = append(parts, fmt.Sprintf("theoretical peak %s GB/s", fmtGBps(dev.PeakGBps)))
	}
	if dev.Timer {
		parts = append(parts, "kernel times from device events")
	} else {
		parts = append(parts, "no device timer: times are host wall time")
	}
	return strings.Join(parts, ", ")
}

// writeRows writes the main table: one line per row, the backends of one pass × activation × dtype × n
// next to each other.
func writeRows(d doc, rep *Report) {
	rows := sortedRows(rep.Rows)
	peak := slices.ContainsFunc(rows, func(r Row) bool { return r.PeakGBps > 0 })
	cols := []string{"backend", "pass", "activation", "dtype", ">n", ">kernel", ">host/call", ">enqueue", ">spread", ">GB/s", ">copy GB/s", ">% copy", ">% roof"}
	if peak {
		cols = append(cols, ">% peak")
	}
	cols = append(cols, ">max ULP", "check")
	t := newTable(cols...)
	for _, r := range rows {
		cells := []string{r.Backend, r.Pass, r.Activation, r.DType, fmt.Sprint(r.N), fmtNs(r.KernelNs), fmtNs(r.HostNs),
			fmtNs(r.EnqueueNs), fmtSpread(r), fmtGBps(r.GBps), fmtGBps(r.CopyGBps), fmtPct(r.PctCopy), fmtPct(r.PctRoof)}
		if peak {
			cells = append(cells, fmtPct(r.PctPeak))
		}
		t.add(append(cells, fmtULP(r), fmtCheck(r))...)
	}
	d.heading("Results")
	d.para("kernel: device time per call, from device events (CUDA, OpenCL); host/call: wall time of one call and its Sync;",
		"enqueue: host time to queue one call (asynchronous backends); spread: p10 to p90 of the samples, ± % of the median;",
		"GB/s: effective bandwidth (forward moves 2 arrays of n, backward 3) from the kernel time where there is one, else host time;",
		"copy GB/s: the device's own copy (Backend.Copy, read + write bytes) at the same n and dtype; % copy: GB/s as a share of it,",
		"above 100% where the copy is slower than a pass (small n); % roof: GB/s as a share of the roofline, the faster of the copy",
		"and the fastest pass at the same backend, dtype and n (100%: as fast as anything this device did at that size);",
		"max ULP / check: distance from the CPU oracle and whether it is within SEMANTICS §2 (ReLU, LeakyReLU 0; ELU 2 or 3).")
	d.table(t)
}

func sortedRows(rows []Row) []Row {
	order := func(list []string) func(string) int {
		return func(s string) int {
			if i := slices.Index(list, s); i >= 0 {
				return i
			}
			return len(list)
		}
	}
	passIdx := order([]string{"forward", "backward-input", "backward-output"})
	actIdx := order(nil)
	var acts, backends []string
	for _, r := range rows {
		if !slices.Contains(acts, r.Activation) {
			acts = append(acts, r.Activation)
		}
		if !slices.Contains(backends, r.Backend) {
			backends = append(backends, r.Backend)
		}
	}
	actIdx, beIdx := order(acts), order(backends)
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.DType, b.DType), cmp.Compare(passIdx(a.Pass), passIdx(b.Pass)),
			cmp.Compare(actIdx(a.Activation), actIdx(b.Activation)), cmp.Compare(a.N, b.N),
			cmp.Compare(beIdx(a.Backend), beIdx(b.Backend)))
	})
	return out
}

func fmtSpread(r Row) string {
	if r.MedianNs <= 0 || r.Samples < 2 {
		return "-"
	}
	return fmt.Sprintf("±%.1f%%", 50*(r.P90Ns-r.P10Ns)/r.MedianNs)
}

func fmtULP(r Row) string {
	switch {
	case r.MaxULP == nil:
		return "-"
	case *r.MaxULP > 1<<40:
		return "huge"
	}
	return fmt.Sprint(*r.MaxULP)
}

func fmtCheck(r Row) string {
	switch {
	case r.OK == nil:
		return "not checked"
	case !*r.OK:
		return "MISMATCH"
	}
	return "ok"
}

// backendsOf lists the backends of rows in order of first appearance.
func backendsOf(rows []Row) []string {
	var out []string
	for _, r := range rows {
		if !slices.Contains(out, r.Backend) {
			out = append(out, r.Backend)
		}
	}
	return out
}

// writeSideBySide compares the backends' GB/s row by row, when there are several.
func writeSideBySide(d doc, rep *Report) {
	bes := backendsOf(rep.Rows)
	if len(bes) < 2 {
		return
	}
	cols := []string{"pass", "activation", "dtype", ">n"}
	for _, b := range bes {
		cols = append(cols, ">"+b+" GB/s")
	}
	cols = append(cols, "fastest", ">× next")
	t := newTable(cols...)
	byKey := map[rowKey]map[string]Row{}
	var keys []rowKey
	for _, r := range sortedRows(rep.Rows) {
		k := keyOf(&r)
		if byKey[k] == nil {
			byKey[k] = map[string]Row{}
			keys = append(keys, k)
		}
		byKey[k][r.Backend] = r
	}
	for _, k := range keys {
		cells := []string{k.pass, k.act, k.dtype, fmt.Sprint(k.n)}
		var best, second Row
		for _, b := range bes {
			r, ok := byKey[k][b]
			if !ok {
				cells = append(cells, "-")
				continue
			}
			c := fmtGBps(r.GBps)
			if r.OK != nil && !*r.OK {
				c += " (mismatch)"
			}
			cells = append(cells, c)
			if r.GBps > best.GBps {
				best, second = r, best
			} else if r.GBps > second.GBps {
				second = r
			}
		}
		ratio := "-"
		if second.GBps > 0 {
			ratio = fmt.Sprintf("%.2f", best.GBps/second.GBps)
		}
		t.add(append(cells, best.Backend, ratio)...)
	}
	d.heading("Side by side (GB/s)")
	d.table(t)
}

// writeProblems lists mismatches, device errors and notes.
func writeProblems(d doc, rep *Report) {
	var bad []Row
	for _, r := range rep.Rows {
		if r.OK != nil && !*r.OK {
			bad = append(bad, r)
		}
	}
	if len(bad) > 0 {
		d.heading("Mismatches against the CPU oracle")
		for _, r := range bad {
			d.item(0, fmt.Sprintf("%s %s %s %s n=%d: %s", r.Backend, r.Pass, r.Activation, r.DType, r.N, r.Mismatch))
		}
	}
	if len(rep.Errors) > 0 {
		d.heading("Errors")
		for _, e := range rep.Errors {
			d.item(0, e)
		}
	}
	if len(rep.Notes) > 0 {
		d.heading("Notes")
		for _, e := range rep.Notes {
			d.item(0, e)
		}
	}
}

// geomean is the geometric mean of the positive values of v (0 if none).
func geomean(v []float64) float64 {
	var pos []float64
	for _, x := range v {
		if x > 0 {
			pos = append(pos, x)
		}
	}
	if len(pos) == 0 {
		return 0
	}
	return stat.GeometricMean(pos, nil)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if h := len(s) / 2; len(s)%2 == 0 {
		return (s[h-1] + s[h]) / 2
	}
	return s[len(s)/2]
}

// writeSummary ends every human-readable output: the best backend, each pass as % of the copy roofline,
// and the verdict of the oracle.
func writeSummary(d doc, rep *Report) {
	d.heading("Summary")
	if len(rep.Rows) == 0 {
		d.item(0, "No rows were measured.")
		writeVerdict(d, rep)
		return
	}
	type score struct {
		backend string
		n       int
		geo     float64
		rows    int
		bad     int
	}
	var scores []score
	for _, b := range backendsOf(rep.Rows) {
		s := score{backend: b}
		for _, r := range rep.Rows {
			if r.Backend == b {
				s.n = max(s.n, r.N)
				if r.OK != nil && !*r.OK {
					s.bad++
				}
			}
		}
		var g []float64
		for _, r := range rep.Rows {
			if r.Backend == b && r.N == s.n {
				g = append(g, r.GBps)
			}
		}
		s.geo, s.rows = geomean(g), len(g)
		scores = append(scores, s)
	}
	// The best backend is the fastest at its largest size among those whose results are right.
	slices.SortStableFunc(scores, func(a, b score) int {
		return cmp.Or(cmp.Compare(min(a.bad, 1), min(b.bad, 1)), cmp.Compare(b.geo, a.geo))
	})
	best := scores[0]
	dev := deviceOf(rep, best.backend)
	who := best.backend
	if dev.Name != "" {
		who += " (" + dev.Name + ")"
	}
	if len(scores) == 1 {
		d.item(0, "Best backend: "+who+", the only one measured.")
	} else {
		d.item(0, fmt.Sprintf("Best backend: %s: %s GB/s, the geometric mean of its %d rows at its largest size, n = %d.", who, fmtGBps(best.geo), best.rows, best.n))
		for _, s := range scores[1:] {
			d.item(1, fmt.Sprintf("%s: %s GB/s (geometric mean of %d rows at n = %d), %.2f× slower%s", s.backend, fmtGBps(s.geo), s.rows, s.n, best.geo/s.geo, mismatchNote(s.bad)))
		}
	}
	roof := roofline(rep)
	beat := "No pass was faster than the device's copy, so the roofline is the copy at every size."
	if count, of, most, maxN, ok := beatCopy(rep, best.backend); ok {
		beat = fmt.Sprintf("On %s, %d of %d rows were faster than the device's copy at their size (up to %.2f×, at n ≤ %d), where the copy is slow; there the fastest pass sets the roofline.",
			best.backend, count, of, most, maxN)
	}
	d.item(0, "Roofline (100%): at each backend, dtype and n, the faster of the device's own copy (Backend.Copy, read + write bytes) and the fastest pass measured there, so 100% is as fast as this device was seen to move memory at that size. "+beat)
	var acts, dts []string
	for _, r := range sortedRows(rep.Rows) {
		if r.Backend == best.backend && r.N == best.n {
			if !slices.Contains(acts, r.Activation) {
				acts = append(acts, r.Activation)
			}
			if !slices.Contains(dts, r.DType) {
				dts = append(dts, r.DType)
			}
		}
	}
	d.item(0, fmt.Sprintf("Each pass and dtype on %s at n = %d, its largest size: the roofline there and what set it, the median over the %d activations (%s) of GB/s and of %% of roofline, and the lowest and highest %% of roofline:",
		best.backend, best.n, len(acts), strings.Join(acts, ", ")))
	t := newTable("pass", "dtype", ">roofline GB/s", "set by", ">median GB/s", ">median % of roofline", "lowest to highest % of roofline")
	for _, dt := range dts {
		for _, p := range []string{"forward", "backward-input", "backward-output"} {
			var pct, gb []float64
			var lo, hi Row
			for _, r := range rep.Rows {
				if r.Backend != best.backend || r.N != best.n || r.Pass != p || r.DType != dt {
					continue
				}
				pct, gb = append(pct, r.PctRoof), append(gb, r.GBps)
				if lo.Pass == "" || r.PctRoof < lo.PctRoof {
					lo = r
				}
				if hi.Pass == "" || r.PctRoof > hi.PctRoof {
					hi = r
				}
			}
			if len(pct) == 0 {
				continue
			}
			rp := roof[roofKey{best.backend, dt, best.n}]
			t.add(p, dt, fmtGBps(rp.gbps), rp.from, fmtGBps(median(gb)), fmtPct(median(pct)),
				fmt.Sprintf("%s (%s) to %s (%s)", fmtPct(lo.PctRoof), lo.Activation, fmtPct(hi.PctRoof), hi.Activation))
		}
	}
	d.tableIndent(t, "    ")
	if dev.PeakGBps > 0 {
		var c []float64
		for _, cr := range rep.Copy {
			if cr.Backend == best.backend && cr.N == best.n {
				c = append(c, cr.GBps)
			}
		}
		d.item(0, fmt.Sprintf("The theoretical peak of %s (2 × memory clock × bus width) is %s GB/s; its copy at n = %d reaches %s of it (median over dtypes).",
			best.backend, fmtGBps(dev.PeakGBps), best.n, fmtPct(100*median(c)/dev.PeakGBps)))
	}
	writeVerdict(d, rep)
	if rep.Seconds > 0 {
		d.item(0, fmt.Sprintf("Measured in %.1f s.", rep.Seconds))
	}
}

func mismatchNote(bad int) string {
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d mismatches)", bad)
}

func writeVerdict(d doc, rep *Report) {
	checked := 0
	for _, r := range rep.Rows {
		if r.OK != nil {
			checked++
		}
	}
	switch {
	case rep.Mismatches > 0:
		d.item(0, fmt.Sprintf("MISMATCH: %d of %d rows differ from the CPU oracle beyond SEMANTICS §2 (listed above); exit status 1.", rep.Mismatches, checked))
	case checked == 0 && len(rep.Rows) > 0:
		d.item(0, "Results were not checked (-verify=false).")
	case checked > 0:
		d.item(0, fmt.Sprintf("Verification: all %d rows match the CPU oracle (ReLU and LeakyReLU bit for bit, ELU within the ULP tolerances of SEMANTICS §2).", checked))
	}
	if len(rep.Errors) > 0 {
		d.item(0, fmt.Sprintf("%d device errors cut the sweep short (listed above); exit status 2.", len(rep.Errors)))
	}
}

func deviceOf(rep *Report, backend string) DeviceInfo {
	for _, d := range rep.Devices {
		if d.Backend == backend {
			return d
		}
	}
	return DeviceInfo{}
}

// finite guards ratios printed from files that may hold zeros.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v > 0 }
