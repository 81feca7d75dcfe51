package main

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// writePlot draws GB/s against n: one panel per dtype (rows) × pass (columns); in each, one line per
// backend × activation (colour: backend, dashes: activation), each backend's copy roofline as a thick
// pale line of its colour, and its theoretical peak, where known, as a dotted level. The file's
// extension picks the format (png, svg, pdf, eps).
func writePlot(path string, rep *Report) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if len(rep.Rows) == 0 {
		return fmt.Errorf("-plot %s: no rows to plot", path)
	}
	var dtypes, passes, acts []string
	for _, r := range sortedRows(rep.Rows) {
		for _, v := range []struct {
			list *[]string
			s    string
		}{{&dtypes, r.DType}, {&passes, r.Pass}, {&acts, r.Activation}} {
			if !slices.Contains(*v.list, v.s) {
				*v.list = append(*v.list, v.s)
			}
		}
	}
	slices.SortStableFunc(passes, func(a, b string) int { return passRank(a) - passRank(b) })
	bes := backendsOf(rep.Rows)
	// One vertical axis for every panel, so that they compare at a glance; logarithmic when the
	// values are far apart (a GPU's TB/s beside a CPU's GB/s), or the slower would be a flat line.
	lo, hi := yRange(rep, bes)
	logY := lo > 0 && hi/lo > 30

	plots := make([][]*plot.Plot, len(dtypes))
	for i, dt := range dtypes {
		plots[i] = make([]*plot.Plot, len(passes))
		for j, pass := range passes {
			p, err := panel(rep, bes, acts, dt, pass, i == 0 && j == 0)
			if logY {
				p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
				p.Y.Min, p.Y.Max = lo/1.2, hi*1.2
			} else {
				p.Y.Min, p.Y.Max = 0, hi*1.05
			}
			if err != nil {
				return err
			}
			plots[i][j] = p
		}
	}
	const w, h = 5.5 * vg.Inch, 4 * vg.Inch
	cw, err := draw.NewFormattedCanvas(w*vg.Length(len(passes)), h*vg.Length(len(dtypes)), format)
	if err != nil {
		return fmt.Errorf("-plot %s: %w (want .png, .svg, .pdf or .eps)", path, err)
	}
	dc := draw.New(cw)
	tiles := draw.Tiles{Rows: len(dtypes), Cols: len(passes), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := cw.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func passRank(p string) int {
	if i := slices.Index([]string{"forward", "backward-input", "backward-output"}, p); i >= 0 {
		return i
	}
	return 3
}

func panel(rep *Report, bes, acts []string, dt, pass string, legend bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pass + ", " + dt
	p.X.Label.Text = "n (elements)"
	p.Y.Label.Text = "GB/s (effective)"
	p.X.Scale = plot.LogScale{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	minN, maxN := math.MaxInt, 0
	for bi, be := range bes {
		col := plotutil.Color(bi)
		// The roofline first, so the passes draw over it.
		var roof plotter.XYs
		for _, c := range rep.Copy {
			if c.Backend == be && c.DType == dt && c.GBps > 0 {
				roof = append(roof, plotter.XY{X: float64(c.N), Y: c.GBps})
			}
		}
		if len(roof) > 0 {
			slices.SortFunc(roof, byX)
			l, err := plotter.NewLine(roof)
			if err != nil {
				return nil, err
			}
			l.Color = pale(col)
			l.Width = vg.Points(5)
			p.Add(l)
			if legend {
				p.Legend.Add(be+" copy (roofline)", l)
			}
		}
		for ai, act := range acts {
			var pts plotter.XYs
			for _, r := range rep.Rows {
				if r.Backend == be && r.DType == dt && r.Pass == pass && r.Activation == act && r.GBps > 0 {
					pts = append(pts, plotter.XY{X: float64(r.N), Y: r.GBps})
					minN, maxN = min(minN, r.N), max(maxN, r.N)
				}
			}
			if len(pts) == 0 {
				continue
			}
			slices.SortFunc(pts, byX)
			l, s, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, err
			}
			l.Color, l.Dashes, l.Width = col, plotutil.Dashes(ai), vg.Points(1.2)
			s.Color, s.Shape, s.Radius = col, plotutil.Shape(ai), vg.Points(2)
			p.Add(l, s)
			if legend {
				p.Legend.Add(be+" "+act, l, s)
			}
		}
		if peak := deviceOf(rep, be).PeakGBps; peak > 0 && maxN > 0 {
			l, err := plotter.NewLine(plotter.XYs{{X: float64(minN), Y: peak}, {X: float64(maxN), Y: peak}})
			if err != nil {
				return nil, err
			}
			l.Color, l.Dashes = col, []vg.Length{vg.Points(1), vg.Points(3)}
			p.Add(l)
			if legend {
				p.Legend.Add(be+" theoretical peak", l)
			}
		}
	}
	if maxN > 0 {
		p.X.Tick.Marker = pow2Ticks{}
		p.X.Min, p.X.Max = float64(minN), float64(maxN)
	}
	return p, nil
}

// pale is c mixed with white, for the roofline under the data.
func pale(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	mix := func(v uint32) uint8 { return uint8((v>>8)/3 + 255*2/3) }
	return color.RGBA{R: mix(r), G: mix(g), B: mix(b), A: 255}
}

// pow2Ticks labels powers of two ("2^20"), every other one when there are many.
type pow2Ticks struct{}

func (pow2Ticks) Ticks(lo, hi float64) []plot.Tick {
	a, b := int(math.Floor(math.Log2(lo))), int(math.Ceil(math.Log2(hi)))
	step := 1
	if b-a > 8 {
		step = 2
	}
	var ticks []plot.Tick
	for k := a; k <= b; k++ {
		t := plot.Tick{Value: math.Exp2(float64(k))}
		if (k-a)%step == 0 {
			t.Label = fmt.Sprintf("2^%d", k)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

func byX(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) }

// yRange is the smallest and largest positive GB/s the plot draws.
func yRange(rep *Report, bes []string) (lo, hi float64) {
	lo = math.Inf(1)
	see := func(v float64) {
		if v > 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	for _, r := range rep.Rows {
		see(r.GBps)
	}
	for _, c := range rep.Copy {
		see(c.GBps)
	}
	for _, be := range bes {
		see(deviceOf(rep, be).PeakGBps)
	}
	if hi == 0 {
		return 0, 0
	}
	return lo, hi
}
