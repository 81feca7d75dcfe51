package main

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"os"
	"slices"
	"strings"

	"github.com/gpuact/gpuact/backend"
)

// reference is a report read back for -compare: gpubench's own JSON or a PyTorch reference script's,
// through only the shared fields, so that extra or differently typed fields do not matter.
type reference struct {
	path string
	Tool string `json:"tool"`
	Date string `json:"date"`
	Host string `json:"host"`
	Rows []struct {
		Backend    string  `json:"backend"`
		Device     string  `json:"device"`
		Pass       string  `json:"pass"`
		Activation string  `json:"activation"`
		DType      string  `json:"dtype"`
		N          float64 `json:"n"`
		MedianNs   float64 `json:"median_ns"`
		P10Ns      float64 `json:"p10_ns"`
		P90Ns      float64 `json:"p90_ns"`
		GBps       float64 `json:"gbps"`
	} `json:"rows"`
	rows []Row // the rows, normalised
}

// loadReference reads and normalises a JSON report: activations as backend.Activation.String() writes them
// ("elu" becomes "elu:1"), passes and dtypes in gpubench's spelling, gbps computed where only median_ns
// is given.
func loadReference(path string) (*reference, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ref := &reference{path: path}
	if err := json.Unmarshal(data, ref); err != nil {
		return nil, fmt.Errorf("%s: not a gpubench/torch JSON report: %w", path, err)
	}
	if len(ref.Rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	for i, r := range ref.Rows {
		act, err := backend.ParseActivation(r.Activation)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i, err)
		}
		pass, err := backend.ParsePass(r.Pass)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i, err)
		}
		dt, err := backend.ParseDType(strings.TrimPrefix(strings.ToLower(r.DType), "torch."))
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i, err)
		}
		if r.N < 1 || r.N != float64(int(r.N)) {
			return nil, fmt.Errorf("%s: row %d: n %v is not a positive integer", path, i, r.N)
		}
		row := Row{Backend: r.Backend, Device: r.Device, Pass: pass.String(), Activation: act.String(), DType: dt.String(),
			N: int(r.N), MedianNs: r.MedianNs, P10Ns: r.P10Ns, P90Ns: r.P90Ns, GBps: r.GBps}
		if row.Backend == "" {
			row.Backend = cmpOr(ref.Tool, "reference")
		}
		if row.GBps <= 0 && row.MedianNs > 0 {
			row.GBps = float64(pass.Arrays()*row.N*dt.Size()) / row.MedianNs
		}
		ref.rows = append(ref.rows, row)
	}
	return ref, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// writeCompare prints this run's GB/s beside the reference's for every row they share (matched by pass,
// activation, dtype and n), with the ratio this/reference, and the geometric mean ratio per pass.
func writeCompare(d doc, rep *Report, ref *reference) {
	d.heading("Compared with " + ref.path)
	d.para(fmt.Sprintf("reference: tool %s, %s, host %s, %d rows; ratio = this run's GB/s / the reference's (above 1: this run is faster)",
		cmpOr(ref.Tool, "?"), cmpOr(ref.Date, "undated"), cmpOr(ref.Host, "?"), len(ref.rows)))
	cur := backendsOf(rep.Rows)
	refs := backendsOf(ref.rows)
	label := func(b string) string {
		if slices.Contains(cur, b) {
			return b + " (ref)"
		}
		return b
	}
	cols := []string{"pass", "activation", "dtype", ">n"}
	for _, b := range cur {
		cols = append(cols, ">"+b+" GB/s")
	}
	for _, b := range refs {
		cols = append(cols, ">"+label(b)+" GB/s")
	}
	// Ratios pair each backend with its namesake in the reference (an earlier run) where there are
	// namesakes, and every backend with every reference backend otherwise (a PyTorch run).
	type pair struct{ c, r string }
	var pairs []pair
	for _, c := range cur {
		if slices.Contains(refs, c) {
			pairs = append(pairs, pair{c, c})
		}
	}
	if len(pairs) == 0 {
		for _, c := range cur {
			for _, r := range refs {
				pairs = append(pairs, pair{c, r})
			}
		}
	}
	for _, p := range pairs {
		cols = append(cols, ">"+p.c+" / "+label(p.r))
	}
	t := newTable(cols...)
	find := func(rows []Row, k rowKey, b string) (Row, bool) {
		for _, r := range rows {
			if r.Backend == b && keyOf(&r) == k {
				return r, true
			}
		}
		return Row{}, false
	}
	ratios := map[pair]map[string][]float64{}
	noise := map[pair]int{} // ratios within the spread
	seen := map[rowKey]bool{}
	matched := 0
	for _, r := range sortedRows(rep.Rows) {
		k := keyOf(&r)
		if seen[k] {
			continue
		}
		seen[k] = true
		have := slices.ContainsFunc(ref.rows, func(x Row) bool { return keyOf(&x) == k })
		if !have {
			continue
		}
		matched++
		cells := []string{k.pass, k.act, k.dtype, fmt.Sprint(k.n)}
		for _, b := range cur {
			x, _ := find(rep.Rows, k, b)
			cells = append(cells, fmtGBps(x.GBps))
		}
		for _, b := range refs {
			x, _ := find(ref.rows, k, b)
			cells = append(cells, fmtGBps(x.GBps))
		}
		for _, p := range pairs {
			x, ok1 := find(rep.Rows, k, p.c)
			y, ok2 := find(ref.rows, k, p.r)
			if !ok1 || !ok2 || !finite(x.GBps/y.GBps) {
				cells = append(cells, "-")
				continue
			}
			q := x.GBps / y.GBps
			c := fmt.Sprintf("%.2f", q)
			if withinSpread(x, y) {
				c = "≈" + c
				noise[p]++
			}
			cells = append(cells, c)
			if ratios[p] == nil {
				ratios[p] = map[string][]float64{}
			}
			ratios[p][k.pass] = append(ratios[p][k.pass], q)
		}
		t.add(cells...)
	}
	if matched == 0 {
		d.item(0, "No rows in common: rows are matched by pass, activation, dtype and n. "+differences(rep.Rows, ref.rows))
		return
	}
	d.para("≈: the ratio is within the measured spread, one side's median GB/s lying within the other's p10..p90 (the reference's where it records one); such a difference is noise, not a change.")
	d.table(t)
	for _, p := range pairs {
		var parts []string
		n := 0
		for _, pass := range []string{"forward", "backward-input", "backward-output"} {
			if q := ratios[p][pass]; len(q) > 0 {
				parts = append(parts, fmt.Sprintf("%s %.2f×", pass, geomean(q)))
				n += len(q)
			}
		}
		if len(parts) > 0 {
			d.item(0, fmt.Sprintf("%s vs %s, geometric mean of the ratios per pass: %s; %d of %d ratios are within the spread (≈).",
				p.c, label(p.r), strings.Join(parts, ", "), noise[p], n))
		}
	}
}

// withinSpread says whether two rows' GB/s are within each other's measured spread: either median
// lies within the other's p10..p90 (in GB/s; a row without p10 and p90 has no spread).
func withinSpread(a, b Row) bool {
	in := func(v float64, r Row) bool {
		if r.P10Ns <= 0 || r.P90Ns <= 0 || r.MedianNs <= 0 || r.GBps <= 0 {
			return false
		}
		// GB/s is inversely proportional to time: p90's time is the low end of the band.
		lo, hi := r.GBps*r.MedianNs/r.P90Ns, r.GBps*r.MedianNs/r.P10Ns
		return lo <= v && v <= hi
	}
	return in(a.GBps, b) || in(b.GBps, a)
}

// differences says what each side measured where the keys of two sets of rows do not meet: the sizes,
// and the dtypes, passes and activations where those differ too.
func differences(cur, ref []Row) string {
	out := []string{fmt.Sprintf("This run has n = %s; the reference has n = %s.", strings.Join(sortedNs(cur), ", "), strings.Join(sortedNs(ref), ", "))}
	for _, f := range []struct {
		name string
		get  func(r Row) string
	}{
		{"dtypes", func(r Row) string { return r.DType }},
		{"passes", func(r Row) string { return r.Pass }},
		{"activations", func(r Row) string { return r.Activation }},
	} {
		values := func(rows []Row) []string {
			var v []string
			for _, r := range sortedRows(rows) {
				if s := f.get(r); !slices.Contains(v, s) {
					v = append(v, s)
				}
			}
			slices.Sort(v)
			return v
		}
		if a, b := values(cur), values(ref); !slices.Equal(a, b) {
			out = append(out, fmt.Sprintf("This run has %s %s; the reference has %s.", f.name, strings.Join(a, ", "), strings.Join(b, ", ")))
		}
	}
	return strings.Join(out, " ")
}

// sortedNs lists the sizes of rows in increasing order, as fmtN writes them.
func sortedNs(rows []Row) []string {
	var ns []int
	for _, r := range rows {
		if !slices.Contains(ns, r.N) {
			ns = append(ns, r.N)
		}
	}
	slices.Sort(ns)
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = fmtN(n)
	}
	return out
}

// fmtN writes a size as 2^k when it is a power of two, else as a number.
func fmtN(n int) string {
	if n > 1 && n&(n-1) == 0 {
		return fmt.Sprintf("2^%d", bits.TrailingZeros(uint(n)))
	}
	return fmt.Sprint(n)
}
