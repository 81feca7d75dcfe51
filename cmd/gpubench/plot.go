package main

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The figure is sized to be read at the width of a page: 7 inches wide, two panels a row, text of 8 to
// 11 points; PNGs are rendered at plotDPI.
const (
	figWidth   = 7 * vg.Inch
	cellHeight = 2.9 * vg.Inch
	titleH     = 0.55 * vg.Inch
	plotDPI    = 200
)

// okabeIto is the Okabe–Ito palette, which readers with any common colour-vision deficiency tell apart,
// in the order series take it (yellow last: it is faint on white). Black is kept for text and the
// roofline's companion, the device's copy.
var okabeIto = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0xF0, 0xE4, 0x42, 0xFF}, // yellow
}

// dtypeDashes tells dtypes apart by line style: solid, long dashes, dash-dot, dots.
var dtypeDashes = [][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(3)},
	{vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)},
	{vg.Points(1.5), vg.Points(2)},
}

// backendGlyphs tell backends apart by marker shape, beside their colours.
var backendGlyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}}

var roofColor = color.RGBA{0x99, 0x99, 0x99, 0xFF}

// writePlot draws the figure (see figure) into path, its extension choosing the format: png (at
// plotDPI), svg, pdf or eps.
func writePlot(path string, rep *Report) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	data, err := figure(rep, format)
	if err != nil {
		return fmt.Errorf("-plot %s: %w", path, err)
	}
	return os.WriteFile(path, data, 0o644)
}

// series is what the figure knows of the rows: the passes, backends, activations and dtypes in the
// order it draws them, and every measured size.
type series struct {
	passes, backends, acts, dtypes []string
	sizes                          []int
}

func seriesOf(rep *Report) series {
	var s series
	for _, r := range sortedRows(rep.Rows) {
		for _, v := range []struct {
			list *[]string
			s    string
		}{{&s.passes, r.Pass}, {&s.backends, r.Backend}, {&s.acts, r.Activation}, {&s.dtypes, r.DType}} {
			if !slices.Contains(*v.list, v.s) {
				*v.list = append(*v.list, v.s)
			}
		}
		if !slices.Contains(s.sizes, r.N) {
			s.sizes = append(s.sizes, r.N)
		}
	}
	slices.SortStableFunc(s.passes, func(a, b string) int { return passRank(a) - passRank(b) })
	s.backends = backendsOf(rep.Rows)
	slices.Sort(s.sizes)
	return s
}

// colour is the colour of backend × activation: each pair its own, in the Okabe–Ito order.
func (s series) colour(bi, ai int) color.RGBA {
	return okabeIto[(bi*len(s.acts)+ai)%len(okabeIto)]
}

// figure renders GB/s against n as one panel per pass, two to a row, with a legend and its key in the
// last cell and a title naming the devices, dtypes, date and gpuact commit. In each panel, one line per
// backend × activation × dtype (colour: backend and activation; marker: backend; line style: dtype)
// over a band from the p10 to the p90 of its samples; the roofline of each backend and dtype as a thick
// grey line, the device's copy as a thin black one, and the theoretical peak where known. Points are
// joined only between sizes at most 2× apart, so a sparse sweep is not drawn as if measured between;
// a lone point shows its spread as an error bar.
func figure(rep *Report, format string) ([]byte, error) {
	if len(rep.Rows) == 0 {
		return nil, fmt.Errorf("no rows to plot")
	}
	s := seriesOf(rep)
	lo, hi := yRange(rep)
	logY := lo > 0 && hi/lo > 30

	var panels []*plot.Plot
	for _, pass := range s.passes {
		p, err := panel(rep, s, pass)
		if err != nil {
			return nil, err
		}
		if logY {
			p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
			p.Y.Min, p.Y.Max = lo/1.3, hi*1.3
		} else {
			p.Y.Min, p.Y.Max = 0, hi*1.08
		}
		panels = append(panels, p)
	}
	cols := 2
	rows := (len(panels) + 1 + cols - 1) / cols // the panels and the legend's cell
	h := titleH + cellHeight*vg.Length(rows)

	var cw vg.CanvasWriterTo
	switch format {
	case "png":
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(figWidth, h), vgimg.UseDPI(plotDPI), vgimg.UseBackgroundColor(color.White))}
	case "svg":
		// With its fonts: the text was laid out (the key wrapped) with their metrics, which a viewer's
		// substitute would not match.
		cw = vgsvg.NewWith(vgsvg.UseWH(figWidth, h), vgsvg.EmbedFonts(true))
	default:
		var err error
		if cw, err = draw.NewFormattedCanvas(figWidth, h, format); err != nil {
			return nil, fmt.Errorf("%w (want .png, .svg, .pdf or .eps)", err)
		}
	}
	dc := draw.New(cw)
	drawTitle(dc, rep, s)

	grid := dc
	grid.Max.Y -= titleH
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 5, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 1, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 3}
	cells := make([][]*plot.Plot, rows)
	for i := range cells {
		cells[i] = make([]*plot.Plot, cols)
	}
	for i, p := range panels {
		cells[i/cols][i%cols] = p
	}
	canvases := plot.Align(cells, tiles, grid)
	for i, p := range panels {
		p.Draw(canvases[i/cols][i%cols])
	}
	key := len(panels)
	if err := drawKey(tiles.At(grid, key%cols, key/cols), rep, s, logY); err != nil {
		return nil, err
	}

	var b bytes.Buffer
	if _, err := cw.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func textStyle(size vg.Length) text.Style {
	return text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler}
}

// drawTitle writes the figure's title and, under it, what was measured where and when.
func drawTitle(c draw.Canvas, rep *Report, s series) {
	var devs []string
	for _, be := range s.backends {
		d := deviceOf(rep, be)
		devs = append(devs, cmpOr(strings.TrimSpace(be+": "+d.Name), be))
	}
	date := rep.Date
	if len(date) >= 10 {
		date = date[:10]
	}
	commit := "gpuact commit unknown"
	if v := rep.Version; v != "" {
		commit = "gpuact " + shortVersion(v)
	}
	head := textStyle(12)
	head.XAlign, head.YAlign = draw.XCenter, draw.YTop
	mid := (c.Min.X + c.Max.X) / 2
	c.FillText(head, vg.Point{X: mid, Y: c.Max.Y - vg.Points(4)}, "Effective bandwidth of gpuact's activation passes against n")
	sub := textStyle(8.5)
	sub.XAlign, sub.YAlign = draw.XCenter, draw.YTop
	line := strings.Join(devs, "; ") + " · " + strings.Join(s.dtypes, ", ") + " · " + date + " · " + commit
	c.FillText(sub, vg.Point{X: mid, Y: c.Max.Y - vg.Points(19)}, line)
}

// shortVersion shortens a VCS revision to 12 hex digits, keeping what follows it (" (modified)").
func shortVersion(v string) string {
	rev, rest, _ := strings.Cut(v, " ")
	if len(rev) == 40 && strings.Trim(rev, "0123456789abcdef") == "" {
		v = "commit " + rev[:12]
		if rest != "" {
			v += " " + rest
		}
	}
	return v
}

func passRank(p string) int {
	if i := slices.Index([]string{"forward", "backward-input", "backward-output"}, p); i >= 0 {
		return i
	}
	return 3
}

// passTitles say what each pass computes, for the panels' titles.
var passTitles = map[string]string{
	"forward":         "forward: y = f(x)  (2 arrays of n)",
	"backward-input":  "backward from input: dx = f'(x)·dy  (3 arrays)",
	"backward-output": "backward from output: dx from y, dy  (3 arrays)",
}

func panel(rep *Report, s series, pass string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = cmpOr(passTitles[pass], pass)
	p.Title.TextStyle.Font.Size = 9.5
	p.X.Label.Text = "n (elements, log₂ scale)"
	p.Y.Label.Text = "GB/s (effective)"
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = 8.5
		a.Tick.Label.Font.Size = 8
	}
	// The x axis is linear in log₂ n (gonum's LogScale misplaces a centred axis label's glyph box and
	// pads the panel for it), with a tick at every measured size.
	p.X.Tick.Marker = sizeTicks(s.sizes)
	p.X.Min, p.X.Max = lg(s.sizes[0])-0.4, lg(s.sizes[len(s.sizes)-1])+0.4
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.Gray{0xE0}, color.Gray{0xE0}
	p.Add(grid)

	// Under the data: the rooflines and the copies, then every series' band; over them the lines.
	roof := roofline(rep)
	for _, be := range s.backends {
		for di, dt := range s.dtypes {
			var rl, cp plotter.XYs
			for _, n := range s.sizes {
				if rp, ok := roof[roofKey{be, dt, n}]; ok && rp.gbps > 0 {
					rl = append(rl, plotter.XY{X: lg(n), Y: rp.gbps})
					if rp.copyGBps > 0 {
						cp = append(cp, plotter.XY{X: lg(n), Y: rp.copyGBps})
					}
				}
			}
			if err := addRuns(p, rl, func(l *plotter.Line) {
				l.Color, l.Width, l.Dashes = roofColor, vg.Points(4.5), dtypeDashes[di%len(dtypeDashes)]
			}); err != nil {
				return nil, err
			}
			if err := addRuns(p, cp, func(l *plotter.Line) {
				l.Color, l.Width, l.Dashes = color.Black, vg.Points(0.7), []vg.Length{vg.Points(1), vg.Points(1.5)}
			}); err != nil {
				return nil, err
			}
		}
		if peak := deviceOf(rep, be).PeakGBps; peak > 0 {
			l, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: peak}, {X: p.X.Max, Y: peak}})
			if err != nil {
				return nil, err
			}
			l.Color, l.Width, l.Dashes = color.Black, vg.Points(0.8), []vg.Length{vg.Points(4), vg.Points(2), vg.Points(1), vg.Points(2)}
			p.Add(l)
		}
	}
	for bi, be := range s.backends {
		for ai, act := range s.acts {
			col := s.colour(bi, ai)
			for di, dt := range s.dtypes {
				var pts plotter.XYs
				var bands []band
				for _, r := range sortedRows(rep.Rows) {
					if r.Backend == be && r.DType == dt && r.Pass == pass && r.Activation == act && r.GBps > 0 {
						pts = append(pts, plotter.XY{X: lg(r.N), Y: r.GBps})
						bands = append(bands, bandOf(r))
					}
				}
				if len(pts) == 0 {
					continue
				}
				if err := addSeries(p, pts, bands, col, dtypeDashes[di%len(dtypeDashes)], backendGlyphs[bi%len(backendGlyphs)]); err != nil {
					return nil, err
				}
			}
		}
	}
	return p, nil
}

// bandColour is c, translucent, for the spread under a line (non-premultiplied: color.RGBA's channels
// may not exceed its alpha).
func bandColour(c color.RGBA) color.NRGBA { return color.NRGBA{R: c.R, G: c.G, B: c.B, A: 0x38} }

// band is a row's p10..p90 in GB/s (the p90 time is the low end).
type band struct{ lo, hi float64 }

func bandOf(r Row) band {
	if r.MedianNs <= 0 || r.P10Ns <= 0 || r.P90Ns <= 0 || r.Samples < 2 {
		return band{r.GBps, r.GBps}
	}
	return band{r.GBps * r.MedianNs / r.P90Ns, r.GBps * r.MedianNs / r.P10Ns}
}

// lg is log₂ n, the figure's x coordinate.
func lg(n int) float64 { return math.Log2(float64(n)) }

// maxJoin is the largest step between sizes, in log₂ n, that a line joins: 4×. A sparser sweep is drawn
// as points, so that no line claims sizes that were not measured.
const maxJoin = 2

// runs splits points sorted by x (log₂ n) into runs whose neighbours are at most maxJoin apart.
func runs(pts plotter.XYs) []plotter.XYs {
	var out []plotter.XYs
	start := 0
	for i := 1; i <= len(pts); i++ {
		if i == len(pts) || pts[i].X-pts[i-1].X > maxJoin+1e-9 {
			out = append(out, pts[start:i])
			start = i
		}
	}
	return out
}

// addRuns draws pts as lines styled by style, one per run of neighbouring sizes.
func addRuns(p *plot.Plot, pts plotter.XYs, style func(*plotter.Line)) error {
	for _, run := range runs(pts) {
		if len(run) < 2 {
			// A lone size: a short level across its tick, so it shows without claiming neighbours.
			run = plotter.XYs{{X: run[0].X - 0.25, Y: run[0].Y}, {X: run[0].X + 0.25, Y: run[0].Y}}
		}
		l, err := plotter.NewLine(run)
		if err != nil {
			return err
		}
		style(l)
		p.Add(l)
	}
	return nil
}

// addSeries draws one series: its p10..p90 band (a filled area along each run, an error bar at a lone
// point), its line along each run and a marker at every point.
func addSeries(p *plot.Plot, pts plotter.XYs, bands []band, col color.RGBA, dashes []vg.Length, glyph draw.GlyphDrawer) error {
	fill := bandColour(col)
	i := 0
	for _, run := range runs(pts) {
		bs := bands[i : i+len(run)]
		i += len(run)
		if len(run) == 1 {
			e := errBar{XYs: run, YErrors: plotter.YErrors{{Low: run[0].Y - bs[0].lo, High: bs[0].hi - run[0].Y}}}
			bars, err := plotter.NewYErrorBars(e)
			if err != nil {
				return err
			}
			bars.Color, bars.Width, bars.CapWidth = col, vg.Points(1), vg.Points(5)
			p.Add(bars)
			continue
		}
		ring := make(plotter.XYs, 0, 2*len(run))
		for j, pt := range run {
			ring = append(ring, plotter.XY{X: pt.X, Y: bs[j].hi})
		}
		for j := len(run) - 1; j >= 0; j-- {
			ring = append(ring, plotter.XY{X: run[j].X, Y: bs[j].lo})
		}
		poly, err := plotter.NewPolygon(ring)
		if err != nil {
			return err
		}
		poly.Color, poly.LineStyle.Width = fill, 0
		p.Add(poly)
		l, err := plotter.NewLine(run)
		if err != nil {
			return err
		}
		l.Color, l.Width, l.Dashes = col, vg.Points(1.4), dashes
		p.Add(l)
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return err
	}
	sc.Color, sc.Shape, sc.Radius = col, glyph, vg.Points(2.2)
	p.Add(sc)
	return nil
}

// errBar is one point with its error, for plotter.NewYErrorBars.
type errBar struct {
	plotter.XYs
	plotter.YErrors
}

// drawKey fills the legend's cell: what each colour, marker, line style and grey line means, then the
// definition of the roofline.
func drawKey(c draw.Canvas, rep *Report, s series, logY bool) error {
	l := plot.NewLegend()
	l.TextStyle = textStyle(8)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(26)
	l.Padding = vg.Points(2.5)
	for bi, be := range s.backends {
		for ai, act := range s.acts {
			ln, sc, err := plotter.NewLinePoints(plotter.XYs{{}})
			if err != nil {
				return err
			}
			col := s.colour(bi, ai)
			ln.Color, ln.Width = col, vg.Points(1.4)
			sc.Color, sc.Shape, sc.Radius = col, backendGlyphs[bi%len(backendGlyphs)], vg.Points(2.2)
			name := act
			if len(s.backends) > 1 {
				name = be + " " + act
			}
			l.Add(name, ln, sc)
		}
	}
	for di, dt := range s.dtypes {
		ln, err := plotter.NewLine(plotter.XYs{{}})
		if err != nil {
			return err
		}
		ln.Color, ln.Width, ln.Dashes = color.Black, vg.Points(1.2), dtypeDashes[di%len(dtypeDashes)]
		l.Add(dt, ln)
	}
	poly, err := plotter.NewPolygon(plotter.XYs{{}})
	if err != nil {
		return err
	}
	poly.Color, poly.LineStyle.Width = bandColour(okabeIto[0]), 0
	l.Add("p10–p90 of the samples (band, or bar at a lone size)", poly)
	roofLn, err := plotter.NewLine(plotter.XYs{{}})
	if err != nil {
		return err
	}
	roofLn.Color, roofLn.Width = roofColor, vg.Points(4.5)
	l.Add("roofline (= 100%, see below)", roofLn)
	cpLn, err := plotter.NewLine(plotter.XYs{{}})
	if err != nil {
		return err
	}
	cpLn.Color, cpLn.Width, cpLn.Dashes = color.Black, vg.Points(0.7), []vg.Length{vg.Points(1), vg.Points(1.5)}
	l.Add("device's own copy (Backend.Copy)", cpLn)
	if slices.ContainsFunc(s.backends, func(be string) bool { return deviceOf(rep, be).PeakGBps > 0 }) {
		pk, err := plotter.NewLine(plotter.XYs{{}})
		if err != nil {
			return err
		}
		pk.Color, pk.Width, pk.Dashes = color.Black, vg.Points(0.8), []vg.Length{vg.Points(4), vg.Points(2), vg.Points(1), vg.Points(2)}
		l.Add("theoretical peak (2 × memory clock × bus width)", pk)
	}
	l.Draw(c)

	// The key's text, wrapped to the cell, under the legend.
	sty := textStyle(7.5)
	sty.YAlign = draw.YTop
	y := c.Max.Y - l.Rectangle(c).Size().Y - vg.Points(8)
	lines := []string{
		"Roofline: at each n, the faster of the device's own copy and the fastest pass measured there, per backend and dtype; " +
			"100% is as fast as this device was seen to move memory at that size, so no line rises above it. " +
			"Where a pass beats the copy (small n: the copy pays for its split across cores or its cache use), the roofline leaves the copy's dotted line.",
		"GB/s counts what a pass must move, read + written: 2 arrays of n forward, 3 backward; medians of the samples.",
	}
	if logY {
		lines = append(lines, "The vertical axis is logarithmic: the values span more than 30×.")
	}
	for _, para := range lines {
		for _, ln := range wrapWidth(para, sty, c.Max.X-c.Min.X) {
			c.FillText(sty, vg.Point{X: c.Min.X, Y: y}, ln)
			y -= sty.Height(ln) + vg.Points(1)
		}
		y -= vg.Points(3)
	}
	return nil
}

// wrapWidth cuts s into lines no wider than width in style sty.
func wrapWidth(s string, sty text.Style, width vg.Length) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && sty.Width(line+" "+w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		line = strings.TrimSpace(line + " " + w)
	}
	return append(lines, line)
}

// sizeTicks puts a tick at every measured size, labelled 2^k for powers of two, else with the number;
// when labels would crowd (more than 8 sizes), every other size is labelled, from the smallest.
type sizeTicks []int

func (t sizeTicks) Ticks(_, _ float64) []plot.Tick {
	step := 1
	if len(t) > 8 {
		step = 2
	}
	var ticks []plot.Tick
	for i, n := range t {
		tk := plot.Tick{Value: lg(n)}
		if i%step == 0 {
			tk.Label = fmtN(n)
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// logTicks labels 1, 2 and 5 × 10^k on a logarithmic axis spanning up to three decades, only 10^k
// (the others unlabelled) beyond.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	wide := math.Log10(hi/lo) > 3
	for k := math.Floor(math.Log10(lo)); k <= math.Ceil(math.Log10(hi)); k++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, k)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || !wide {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// yRange is the smallest and largest positive GB/s the figure draws: medians, copies and peaks.
func yRange(rep *Report) (lo, hi float64) {
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
	for _, d := range rep.Devices {
		see(d.PeakGBps)
	}
	if hi == 0 {
		return 0, 0
	}
	return lo, hi
}
