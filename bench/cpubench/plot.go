package main

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/gpuact/gpuact/backend/formula"
)

// The figure: 7 inches wide (a page), two panels a row, the last cell the legend; PNG at plotDPI.
const (
	figWidth   = 7 * vg.Inch
	cellHeight = 2.8 * vg.Inch
	titleH     = 0.9 * vg.Inch
	plotDPI    = 150
	// plotName is the file written when -plot names a directory.
	plotName = "cpubench-vs-torch.png"
)

// actColours tell activations apart (Okabe–Ito blue, vermillion, bluish green: distinguishable with
// the common colour-vision deficiencies), in the order of formula.Kinds.
var actColours = []color.RGBA{{0x00, 0x72, 0xB2, 0xFF}, {0xD5, 0x5E, 0x00, 0xFF}, {0x00, 0x9E, 0x73, 0xFF}}

// passDashes and passGlyphs tell passes apart, in the order of formula.Passes: forward solid with
// circles, backward from input dashed with boxes, backward from output dotted with triangles.
var (
	passDashes = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(1.5), vg.Points(2)}}
	passGlyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.TriangleGlyph{}}
)

// plotPath is where -plot writes: path itself when it names a file (its extension the format: png,
// svg, pdf, eps), else plotName inside it (created), for a path that ends in a slash, is a directory
// or has no extension.
func plotPath(path string) (string, error) {
	if fi, err := os.Stat(path); (err == nil && fi.IsDir()) || strings.HasSuffix(path, "/") || filepath.Ext(path) == "" {
		if err := os.MkdirAll(path, 0o755); err != nil {
			return "", err
		}
		return filepath.Join(path, plotName), nil
	}
	return path, nil
}

// writePlot draws gpuact / PyTorch against n (see figure) into path; it returns the file written.
func writePlot(path string, s summary, ours, theirs Doc) (string, error) {
	path, err := plotPath(path)
	if err != nil {
		return "", fmt.Errorf("-plot: %w", err)
	}
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	data, err := figure(s, ours, theirs, format)
	if err != nil {
		return "", fmt.Errorf("-plot %s: %w", path, err)
	}
	return path, os.WriteFile(path, data, 0o644)
}

// figure renders one panel per dtype that has PyTorch rows, all on the same y range (log scale, so 2×
// faster and 2× slower are as far from parity), with one line per pass × activation (colour:
// activation; dashes and markers: pass) and a black line at 1, parity. x is log₂ n, ticks labelled 2^k.
func figure(s summary, ours, theirs Doc, format string) ([]byte, error) {
	var dtypes []string
	lo, hi := 1.0, 1.0
	for _, l := range s.lines {
		if !slices.Contains(dtypes, l.dtype) {
			dtypes = append(dtypes, l.dtype)
		}
		for _, r := range l.ratios {
			if r > 0 {
				lo, hi = min(lo, r), max(hi, r)
			}
		}
	}
	if len(dtypes) == 0 {
		return nil, fmt.Errorf("no row was measured by both sides")
	}
	var panels []*plot.Plot
	for _, dt := range dtypes {
		p, err := panel(s, dt, lo/1.15, hi*1.15)
		if err != nil {
			return nil, err
		}
		panels = append(panels, p)
	}
	const cols = 2
	rows := (len(panels) + 1 + cols - 1) / cols // the panels and the legend's cell
	h := titleH + cellHeight*vg.Length(rows)
	var cw vg.CanvasWriterTo
	if format == "png" {
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(figWidth, h), vgimg.UseDPI(plotDPI), vgimg.UseBackgroundColor(color.White))}
	} else {
		var err error
		if cw, err = draw.NewFormattedCanvas(figWidth, h, format); err != nil {
			return nil, fmt.Errorf("%w (want .png, .svg, .pdf or .eps)", err)
		}
	}
	dc := draw.New(cw)
	drawTitle(dc, ours, theirs)
	grid := dc
	grid.Max.Y -= titleH
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 5, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 3}
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
	// The legend goes in the first free cell as Align placed it (tiles.At would overlap the axis labels
	// of the panel above: Align sizes every row's data area alike and moves the labels into the gaps).
	k := len(panels)
	if err := drawLegend(canvases[k/cols][k%cols]); err != nil {
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

// drawTitle writes what the figure shows and, under it, the machine and both sides, so that a PNG
// separated from its run still says what it measured.
func drawTitle(c draw.Canvas, ours, theirs Doc) {
	mid := (c.Min.X + c.Max.X) / 2
	head := textStyle(12)
	head.XAlign, head.YAlign = draw.XCenter, draw.YTop
	c.FillText(head, vg.Point{X: mid, Y: c.Max.Y - vg.Points(4)}, "gpuact / PyTorch on the CPU against n (above 1: gpuact is faster)")
	sub := textStyle(7.5)
	sub.XAlign, sub.YAlign = draw.XCenter, draw.YTop
	rounds := ""
	if m := ours.Method; m != nil && m.Rounds > 1 {
		rounds = fmt.Sprintf(" · medians of %d rounds", m.Rounds)
	}
	lines := []string{
		ours.CPU.String(),
		fmt.Sprintf("gpuact: %s, %s", ours.Host, ours.Go),
		fmt.Sprintf("%s%s · %s", theirs.Torch, rounds, strings.SplitN(ours.Date, "T", 2)[0]),
	}
	for i, l := range lines {
		c.FillText(sub, vg.Point{X: mid, Y: c.Max.Y - vg.Points(20+11*float64(i))}, l)
	}
}

func panel(s summary, dtype string, lo, hi float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = dtype
	p.Title.TextStyle.Font.Size = 10
	p.X.Label.Text = "n (elements)"
	p.Y.Label.Text = "gpuact / PyTorch"
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = 8.5
		a.Tick.Label.Font.Size = 7.5
	}
	// x is linear in log₂ n, so a tick at every measured size is evenly spaced.
	p.X.Tick.Marker = sizeTicks(s.sizes)
	p.X.Min, p.X.Max = lg(s.sizes[0])-0.5, lg(s.sizes[len(s.sizes)-1])+0.5
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, ratioTicks{}
	p.Y.Min, p.Y.Max = lo, hi
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = color.Gray{0xE0}, color.Gray{0xE0}
	p.Add(g)
	parity, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 1}, {X: p.X.Max, Y: 1}})
	if err != nil {
		return nil, err
	}
	parity.Color, parity.Width = color.Black, vg.Points(1)
	p.Add(parity)
	for _, l := range s.lines {
		if l.dtype != dtype {
			continue
		}
		var pts plotter.XYs
		for i, r := range l.ratios {
			if r > 0 {
				pts = append(pts, plotter.XY{X: lg(s.sizes[i]), Y: r})
			}
		}
		if len(pts) == 0 {
			continue
		}
		ln, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		style(ln, sc, l.pass, l.act)
		p.Add(ln, sc)
	}
	return p, nil
}

// style gives a pass × activation's line and markers their colour, dashes and glyph.
func style(ln *plotter.Line, sc *plotter.Scatter, pass, act string) {
	pi, ai := max(0, slices.Index(passNames(), pass)), max(0, slices.Index(actNames(), act))
	col := actColours[ai%len(actColours)]
	ln.Color, ln.Width, ln.Dashes = col, vg.Points(1.3), passDashes[pi%len(passDashes)]
	sc.Color, sc.Shape, sc.Radius = col, passGlyphs[pi%len(passGlyphs)], vg.Points(2.2)
}

// drawLegend fills the spare cell: one entry per pass × activation, then parity.
func drawLegend(c draw.Canvas) error {
	l := plot.NewLegend()
	l.TextStyle = textStyle(8)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(28)
	l.Padding = vg.Points(2.5)
	for _, pass := range passNames() {
		for _, act := range actNames() {
			ln, sc, err := plotter.NewLinePoints(plotter.XYs{{}})
			if err != nil {
				return err
			}
			style(ln, sc, pass, act)
			l.Add(pass+" "+act, ln, sc)
		}
	}
	parity, err := plotter.NewLine(plotter.XYs{{}})
	if err != nil {
		return err
	}
	parity.Color, parity.Width = color.Black, vg.Points(1)
	l.Add("parity: as fast as PyTorch", parity)
	c.Min.X += vg.Millimeter * 6 // off the neighbouring panel's tick labels
	l.Draw(c)
	return nil
}

// passNames and actNames are the passes and the activations (each kind's default) as the rows spell
// them, in the order the tables and the figure list them.
func passNames() []string {
	var s []string
	for _, p := range formula.Passes {
		s = append(s, p.String())
	}
	return s
}

func actNames() []string {
	var s []string
	for _, k := range formula.Kinds {
		s = append(s, k.Default().String())
	}
	return s
}

// lg is log₂ n, the x coordinate.
func lg(n int) float64 { return math.Log2(float64(n)) }

// sizeTicks puts a tick at every measured size, labelled 2^k (every other one when more than 9).
type sizeTicks []int

func (t sizeTicks) Ticks(_, _ float64) []plot.Tick {
	step := 1
	if len(t) > 9 {
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

// ratioTicks labels 1, 1.5, 2, 3, 5 and 7 × 10^k on the ratio's log axis, or only 1, 2, 5 × 10^k
// where it spans more than 30×.
type ratioTicks struct{}

func (ratioTicks) Ticks(lo, hi float64) []plot.Tick {
	ms := []float64{1, 1.5, 2, 3, 5, 7}
	if hi/lo > 30 {
		ms = []float64{1, 2, 5}
	}
	var ticks []plot.Tick
	for k := math.Floor(math.Log10(lo)); k <= math.Ceil(math.Log10(hi)); k++ {
		for _, m := range ms {
			if v := m * math.Pow(10, k); v >= lo && v <= hi {
				// %.3g: 7·10^-1 is 0.7000000000000001 in float64, printed as such by %g
				ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprintf("%.3g", v)})
			}
		}
	}
	return ticks
}
