package main

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"

	"github.com/gpuact/gpuact/backend/formula"
)

// printHeader says what ran where: the processor and its SIMD flags, gpuact's side and torch's,
// including the kernel set torch dispatched to, which decides what a ratio means. alternating: torch's
// rows come from rounds run in turn with gpuact's (-torch-cmd), not from a file.
func printHeader(w io.Writer, ours, theirs Doc, alternating bool) {
	fmt.Fprintf(w, "machine: %s\n", ours.CPU)
	fmt.Fprintf(w, "gpuact:  %s, %s (%s)\n", ours.Host, ours.Go, ours.Date)
	fmt.Fprintf(w, "torch:   %s (%s)\n", theirs.Torch, theirs.Date)
	if m := ours.Method; m != nil {
		how := fmt.Sprintf("gpuact's rows are medians over %d rounds", m.Rounds)
		if alternating {
			how = fmt.Sprintf("medians over %d rounds (torch, then gpuact, each round)", m.Rounds)
		}
		fmt.Fprintf(w, "%s of each round's median of %d timings of ≥ %.0f ms batches (where one call is long: as many single calls as fit in %g s, at least %d)\n\n",
			how, m.Reps, m.BatchS*1e3, m.RowBudgetS, m.MinReps)
	}
}

// printDetail prints, per row, gpuact's and torch's GB/s, their ratio and each as a share of copy():
// one table, by size.
func printDetail(w io.Writer, ours, theirs Doc, copies, copies2 map[string]float64) {
	index := rowIndex(theirs)
	procs := runtime.GOMAXPROCS(0)
	fmt.Fprintf(w, "copy() is Go's copy on one goroutine; copy()×%d splits it over every core (the bus's bandwidth).\n\n", procs)
	fmt.Fprintf(w, "| dtype | n | pass | activation | gpuact GB/s | torch GB/s | gpuact / torch | gpuact / copy() | gpuact / copy()×%d | torch / copy()×%d |\n", procs, procs)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	rows := slices.Clone(ours.Rows)
	slices.SortStableFunc(rows, func(a, b Row) int { return a.N - b.N })
	for _, r := range rows {
		c, c2 := copies[key(r.DType, r.N)], copies2[key(r.DType, r.N)]
		t, ok := index[rowKey(r)]
		tg, ratio, tc := "—", "—", "—"
		if ok {
			tg = fmt.Sprintf("%.2f", t.GBps)
			ratio = fmt.Sprintf("%.2f×", speedup(r, t))
			tc = fmt.Sprintf("%.0f%%", 100*t.GBps/c2)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2f | %s | %s | %.0f%% | %.0f%% | %s |\n", r.DType, fmtN(r.N), r.Pass, r.Activation, r.GBps, tg, ratio, 100*r.GBps/c, 100*r.GBps/c2, tc)
	}
	fmt.Fprintln(w)
	for _, k := range slices.Sorted(maps.Keys(copies)) {
		fmt.Fprintf(w, "copy() %s: %.2f GB/s, copy()×%d: %.2f GB/s\n", k, copies[k], procs, copies2[k])
	}
	fmt.Fprintln(w)
}

// speedup is gpuact / torch: torch's time over gpuact's for the same bytes (above 1: gpuact is
// faster). From the times, not the rounded GB/s, which at 2^10 keep only two or three digits.
func speedup(ours, theirs Row) float64 { return float64(theirs.MedianNS) / float64(ours.MedianNS) }

func rowIndex(d Doc) map[string]Row {
	index := map[string]Row{}
	for _, r := range d.Rows {
		index[rowKey(r)] = r
	}
	return index
}

// summary is the ratio gpuact / torch of every row that both sides measured, as a grid: one line per
// dtype × pass × activation (the order of -dtypes, formula.Passes, formula.Kinds), one column per size.
type summary struct {
	sizes   []int
	lines   []summaryLine
	noTorch []string // dtypes with no torch row at all (PyTorch 1.13 has no float16 CPU ops)
}

type summaryLine struct {
	dtype, pass, act string
	ratios           []float64 // per size; 0 where either side has no row
}

func newSummary(ours, theirs Doc) summary {
	index := rowIndex(theirs)
	var s summary
	var dtypes []string
	passes := map[string]bool{}
	for _, r := range ours.Rows {
		if !slices.Contains(s.sizes, r.N) {
			s.sizes = append(s.sizes, r.N)
		}
		if !slices.Contains(dtypes, r.DType) {
			dtypes = append(dtypes, r.DType)
		}
		passes[r.Pass+"/"+r.Activation] = true
	}
	slices.Sort(s.sizes)
	ours2 := rowIndex(ours)
	for _, dt := range dtypes {
		var lines []summaryLine
		measured := false
		for _, p := range formula.Passes {
			for _, k := range formula.Kinds {
				act := k.Default().String()
				if !passes[p.String()+"/"+act] {
					continue
				}
				l := summaryLine{dtype: dt, pass: p.String(), act: act, ratios: make([]float64, len(s.sizes))}
				for i, n := range s.sizes {
					key := rowKey(Row{Pass: l.pass, Activation: act, DType: dt, N: n})
					o, ok1 := ours2[key]
					t, ok2 := index[key]
					if ok1 && ok2 && o.MedianNS > 0 && t.MedianNS > 0 {
						l.ratios[i] = speedup(o, t)
						measured = true
					}
				}
				lines = append(lines, l)
			}
		}
		if measured {
			s.lines = append(s.lines, lines...)
		} else {
			s.noTorch = append(s.noTorch, dt)
		}
	}
	return s
}

// minimum is the smallest ratio and where it is; ok is false when no row has both sides.
func (s summary) minimum() (ratio float64, line summaryLine, n int, ok bool) {
	for _, l := range s.lines {
		for i, r := range l.ratios {
			if r > 0 && (!ok || r < ratio) {
				ratio, line, n, ok = r, l, s.sizes[i], true
			}
		}
	}
	return ratio, line, n, ok
}

// print writes the grid as a Markdown table, each ratio to 2 decimals and a trailing * where it is
// below 1 (gpuact slower; judged before rounding, so 1.00* is a ratio in [0.995, 1)), then the
// minimum and how many cells are below 1.
func (s summary) print(w io.Writer) {
	fmt.Fprintln(w, "gpuact / PyTorch (PyTorch's time over gpuact's; above 1: gpuact is faster; * below 1.00)")
	fmt.Fprintln(w)
	head := []string{"dtype", "pass", "activation"}
	for _, n := range s.sizes {
		head = append(head, fmtN(n))
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
	fmt.Fprintf(w, "|---|---|---|%s\n", strings.Repeat("---:|", len(s.sizes)))
	below, cells := 0, 0
	for _, l := range s.lines {
		cols := []string{l.dtype, l.pass, l.act}
		for _, r := range l.ratios {
			switch {
			case r == 0:
				cols = append(cols, "—")
			case r < 1:
				cols = append(cols, fmt.Sprintf("%.2f*", r))
				below++
			default:
				cols = append(cols, fmt.Sprintf("%.2f", r))
			}
			if r > 0 {
				cells++
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
	}
	fmt.Fprintln(w)
	if r, l, n, ok := s.minimum(); ok {
		fmt.Fprintf(w, "minimum gpuact / PyTorch: %.2f at %s %s %s, n = %s; %d of %d cells below 1.00\n", r, l.dtype, l.pass, l.act, fmtN(n), below, cells)
	} else {
		fmt.Fprintln(w, "no row was measured by both sides")
	}
	for _, dt := range s.noTorch {
		fmt.Fprintf(w, "%s: no PyTorch rows (this torch build has no CPU op for it), so no ratios\n", dt)
	}
}
