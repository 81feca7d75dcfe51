package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// htmlReport runs gpubench with -o report.html on two backends (one a GPU with a peak) and a 16-bit
// dtype, and returns the page's path and text.
func htmlReport(t *testing.T) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	r := runTest(t, "-n", "2^10,2^11,2^12", "-time", "1ms", "-warmup", "0", "-backend", "cpu,fakegpu", "-act", "relu,elu",
		"-dtype", "float32,float16", "-o", path)
	if r.code != 0 {
		t.Fatal(r)
	}
	if !strings.Contains(r.stdout, "results written to "+path+" (html)") || !strings.Contains(r.stdout, "Summary") {
		t.Errorf("stdout should hold the summary and say where the page went:\n%s", r)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, string(data)
}

var dataPNG = regexp.MustCompile(`<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"`)

// The page stands alone: no scripts, no style sheets or images from elsewhere; it holds the device
// description, the summary, the tables and the figure as a PNG that decodes. Then Chromium renders it
// (one page for both: drawing the figure is most of the cost, several seconds under -race).
func TestHTML(t *testing.T) {
	path, page := htmlReport(t)
	for _, bad := range []string{"<script", "<link", "src=\"http", "url(", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page is not self-contained: it has %q", bad)
		}
	}
	for _, want := range []string{"<!DOCTYPE html>", "<title>gpubench: gpuact&#39;s activation passes on cpu (", "cuda:7 (Fake H100)",
		"<h2>Summary</h2>", "Roofline (100%)", "<h2>Results</h2>", "<h2>Side by side (GB/s)</h2>", "<td>float16</td>",
		"<th class=\"r\">% roof</th>", "<footer>gpubench -n 2^10,2^11,2^12"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	m := dataPNG.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no figure embedded as a PNG data URI")
	}
	raw, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() != 7*plotDPI {
		t.Errorf("the embedded figure: %v, %v", err, img)
	}
	t.Run("chromium", func(t *testing.T) { testHTMLInChromium(t, path) })
}

// chromium finds a Chromium or Chrome to render the page with.
func chromium() (string, bool) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// The page as a person sees it: headless Chromium renders it to a screenshot, which must be the window's
// size, not blank, and show the figure (its Okabe–Ito blue and vermillion, colours nothing else on the
// page uses); its DOM must hold the summary, the tables and the figure. Without Chromium the test skips
// saying so, unless GPUACT_REQUIRE_CHROMIUM=1 (CI, which installs it with scripts/setup/chromium.sh).
func testHTMLInChromium(t *testing.T, path string) {
	bin, ok := chromium()
	if !ok {
		if os.Getenv("GPUACT_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("GPUACT_REQUIRE_CHROMIUM=1 but no chromium on PATH (scripts/setup/chromium.sh installs it)")
		}
		t.Skip("chromium not installed: the HTML report was not rendered (sudo scripts/setup/chromium.sh; CI sets GPUACT_REQUIRE_CHROMIUM=1)")
	}
	dir := t.TempDir()
	shot := filepath.Join(dir, "shot.png")
	const w, h = 1200, 1600
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		// --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + filepath.Join(dir, "profile")}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", bin, args, err, stderr.String())
		}
		return out
	}
	run("--window-size=1200,1600", "--screenshot="+shot, "file://"+path)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("screenshot is %v, want %d×%d", b, w, h)
	}
	mean, variance, blue, vermillion := pixelStats(img)
	t.Logf("screenshot: mean grey %.1f, variance %.1f, %d blue and %d vermillion pixels", mean, variance, blue, vermillion)
	if variance < 100 || mean > 250 {
		t.Errorf("the screenshot looks blank: mean grey %.1f, variance %.1f", mean, variance)
	}
	// Not rendered, the figure has none of its colours. Rendered, how many pixels each line covers
	// depends on the timings it plots (1 ms under -race, lines that overlap): a CI dry run saw 94
	// vermillion pixels, so the bar is well below that and well above none.
	if blue < 30 || vermillion < 30 {
		t.Errorf("the figure did not render: %d Okabe–Ito blue and %d vermillion pixels, want 30 of each", blue, vermillion)
	}

	dom := string(run("--dump-dom", "file://"+path))
	for _, want := range []string{"<h2>Summary</h2>", "Best backend", "Roofline (100%)", "<table>", "cuda:7", "data:image/png;base64,"} {
		if !strings.Contains(dom, want) {
			t.Errorf("Chromium's DOM lacks %q", want)
		}
	}
	if n := strings.Count(dom, "<tr>"); n < 3*2*2*2*3 {
		t.Errorf("Chromium's DOM has %d table rows, want at least one per measured row (72)", n)
	}
}

// pixelStats is the mean and variance of img's grey levels and its count of pixels close to the
// figure's Okabe–Ito blue (0, 114, 178) and vermillion (213, 94, 0).
func pixelStats(img image.Image) (mean, variance float64, blue, vermillion int) {
	near := func(r, g, b uint32, R, G, B int) bool {
		d := func(x uint32, y int) int { return max(int(x>>8)-y, y-int(x>>8)) }
		return d(r, R) < 24 && d(g, G) < 24 && d(b, B) < 24
	}
	var sum, sq float64
	bnd := img.Bounds()
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			v := float64(r+g+b) / 3 / 257
			sum, sq = sum+v, sq+v*v
			if near(r, g, b, 0, 114, 178) {
				blue++
			}
			if near(r, g, b, 213, 94, 0) {
				vermillion++
			}
		}
	}
	n := float64(bnd.Dx() * bnd.Dy())
	mean = sum / n
	return mean, sq/n - mean*mean, blue, vermillion
}
