package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/gpuact/gpuact/backend"
)

func args(extra ...string) []string { return append(slices.Clone(small), extra...) }

// decodeJSON parses a -format json report strictly: unknown fields are an error, so the schema and the
// writer cannot drift apart.
func decodeJSON(t *testing.T, data string) *Report {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	var rep Report
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, data)
	}
	return &rep
}

func TestRunTable(t *testing.T) {
	r := runTest(t, args("-backend", "cpu")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	// 2 sizes × 3 activations × 3 passes × 4 dtypes rows, each checked.
	if got := strings.Count(r.stdout, "  ok\n"); got != 72 {
		t.Errorf("%d rows ok, want 72:\n%s", got, r)
	}
	for _, want := range []string{"Results", "copy GB/s", "% copy", "Summary", "Best backend: cpu", "forward", "backward-input",
		"backward-output", "all 72 rows match the CPU oracle", "float16", "bfloat16", "leakyrelu:0.01", "elu:1", "sysfs LLC", "within SEMANTICS §2"} {
		// The summary wraps its sentences at 120 columns, where the device's name and path decide: look
		// for phrases in the text with its line breaks and indents made single spaces.
		if flat := strings.Join(strings.Fields(r.stdout), " "); !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, r)
		}
	}
	if r.stderr != "" {
		t.Errorf("stderr is not silent without a terminal:\n%s", r.stderr)
	}
	// The table is aligned: every row of it is as long as its header, in runes.
	var width int
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "backend ") {
			width = len([]rune(l))
		} else if strings.HasPrefix(l, "cpu ") && width > 0 && len([]rune(l)) > width+2 {
			t.Errorf("row wider than the header (%d > %d):\n%s", len([]rune(l)), width, l)
		}
	}
}

func TestRunJSON(t *testing.T) {
	r := runTest(t, args("-backend", "cpu", "-format", "json", "-act", "relu,elu:0.5")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	rep := decodeJSON(t, r.stdout)
	if rep.Tool != "gpubench" || rep.Host == "" || len(rep.Devices) != 1 || rep.Devices[0].Backend != "cpu" {
		t.Errorf("header: tool %q host %q devices %+v", rep.Tool, rep.Host, rep.Devices)
	}
	if _, err := time.Parse(time.RFC3339, rep.Date); err != nil {
		t.Errorf("date %q is not RFC 3339: %v", rep.Date, err)
	}
	if len(rep.Rows) != 2*2*3*4 || len(rep.Copy) != 2*4 || rep.Mismatches != 0 {
		t.Fatalf("%d rows, %d copy rows, %d mismatches; want 48, 8, 0", len(rep.Rows), len(rep.Copy), rep.Mismatches)
	}
	acts := map[string]bool{}
	for _, row := range rep.Rows {
		acts[row.Activation] = true
		if row.Backend != "cpu" || row.Device == "" || row.MedianNs <= 0 || row.GBps <= 0 || row.P10Ns > row.MedianNs ||
			row.P90Ns < row.MedianNs || row.HostNs <= 0 || row.CopyGBps <= 0 || row.PctCopy <= 0 || row.Timing != "host" ||
			row.RoofGBps < row.GBps || row.RoofGBps < row.CopyGBps || row.PctRoof <= 0 || row.PctRoof > 100 ||
			row.KernelNs != 0 || row.EnqueueNs != 0 || row.OK == nil || !*row.OK || row.MaxULP == nil || row.Samples < 3 {
			t.Errorf("implausible row %+v", row)
		}
		if want := float64(backend.Forward.Arrays()) * float64(row.N) * 4 / row.MedianNs; row.Pass == "forward" && row.DType == "float32" &&
			math.Abs(row.GBps-want) > 1e-9*want {
			t.Errorf("forward gbps %v, want 2 arrays × n × 4 bytes / median = %v", row.GBps, want)
		}
		if row.N == 1000 && row.Buffers < 2 {
			t.Errorf("n=1000 with a 1 MiB cache ran on %d buffer sets, want rotation", row.Buffers)
		}
	}
	if !acts["relu"] || !acts["elu:0.5"] || len(acts) != 2 {
		t.Errorf("activations %v, want relu and elu:0.5 as backend.Activation.String writes them", acts)
	}
	// The summary goes to stderr, so that stdout stays JSON.
	if !strings.Contains(r.stderr, "Summary") {
		t.Errorf("no summary on stderr:\n%s", r)
	}
}

func TestNegativeAlphaSkipsBackwardFromOutput(t *testing.T) {
	r := runTest(t, args("-backend", "cpu", "-act", "leakyrelu:-0.1", "-dtype", "float32", "-format", "json")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	rep := decodeJSON(t, r.stdout)
	if len(rep.Rows) != 4 || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "backward-output leakyrelu:-0.1 skipped") {
		t.Errorf("%d rows, notes %q; want forward and backward-input only, and a note why", len(rep.Rows), rep.Notes)
	}
}

func TestRunCSV(t *testing.T) {
	r := runTest(t, args("-backend", "cpu", "-format", "csv", "-dtype", "float64", "-pass", "backward-output")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, r.stdout)
	}
	if len(recs) != 1+2*3 {
		t.Fatalf("%d records, want a header and 6 rows:\n%s", len(recs), r.stdout)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, want := range []string{"backend", "device", "pass", "activation", "dtype", "n", "median_ns", "gbps", "p10_ns", "p90_ns",
		"host_ns", "copy_gbps", "pct_copy", "max_ulp", "ok"} {
		if _, ok := col[want]; !ok {
			t.Errorf("CSV header lacks %s: %v", want, recs[0])
		}
	}
	for _, rec := range recs[1:] {
		if rec[col["pass"]] != "backward-output" || rec[col["dtype"]] != "float64" || rec[col["ok"]] != "true" {
			t.Errorf("row %v", rec)
		}
		for _, f := range []string{"n", "median_ns", "gbps", "copy_gbps", "pct_copy"} {
			if v, err := strconv.ParseFloat(rec[col[f]], 64); err != nil || v <= 0 {
				t.Errorf("%s = %q: want a positive number", f, rec[col[f]])
			}
		}
	}
}

func TestRunMarkdown(t *testing.T) {
	r := runTest(t, args("-backend", "cpu", "-format", "markdown", "-act", "relu")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"| backend | pass |", "|---|---|", "| cpu | forward | relu | float32 | 1000 |", "### Summary", "- Best backend"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestOutputFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run.json")
	r := runTest(t, args("-backend", "cpu", "-act", "relu", "-o", out)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if rep := decodeJSON(t, string(data)); len(rep.Rows) != 24 {
		t.Errorf("%d rows in %s, want 24", len(rep.Rows), out)
	}
	if !strings.Contains(r.stdout, "Summary") || !strings.Contains(r.stdout, "results written to "+out+" (json)") {
		t.Errorf("stdout should hold the summary and say where the results went:\n%s", r)
	}
}

// A backend that computes a wrong value is caught, printed, and makes the exit status 1.
func TestMismatchExitsOne(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "bad.json")
	r := runTest(t, args("-backend", "corrupt", "-o", out, "-format", "json")...)
	if r.code != exitMismatch {
		t.Fatalf("want exit 1:\n%s", r)
	}
	for _, want := range []string{"Mismatches against the CPU oracle", "corrupt forward relu float32 n=1000: 1 of 1000 elements beyond 0 ULP, first [500]", "MISMATCH: 24 of 72 rows"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rep := decodeJSON(t, string(data))
	bad := 0
	for _, row := range rep.Rows {
		if !*row.OK {
			bad++
			if row.Pass != "forward" || row.Mismatch == "" {
				t.Errorf("unexpected mismatch row %+v", row)
			}
		}
	}
	if bad != 24 || rep.Mismatches != 24 {
		t.Errorf("%d rows not ok, mismatches %d; want the 24 forward rows", bad, rep.Mismatches)
	}
	// The same in the default table.
	r = runTest(t, args("-backend", "corrupt", "-pass", "forward", "-act", "relu", "-dtype", "float32")...)
	if r.code != exitMismatch || strings.Count(r.stdout, "MISMATCH\n") != 2 {
		t.Errorf("table: want exit 1 and 2 MISMATCH rows:\n%s", r)
	}
	// Without verification nothing is caught, and the output says it did not check.
	r = runTest(t, args("-backend", "corrupt", "-verify=false", "-act", "relu")...)
	if r.code != 0 || !strings.Contains(r.stdout, "not checked") || !strings.Contains(r.stdout, "-verify=false") {
		t.Errorf("-verify=false: want exit 0 and rows marked not checked:\n%s", r)
	}
}

// A device error stops that backend's sweep, is printed, and makes the exit status 2.
func TestDeviceErrorExitsTwo(t *testing.T) {
	r := runTest(t, args("-backend", "failing,cpu", "-act", "relu", "-dtype", "float32")...)
	if r.code != exitError {
		t.Fatalf("want exit 2:\n%s", r)
	}
	if !strings.Contains(r.stdout, "Errors") || !strings.Contains(r.stdout, "device lost (test)") {
		t.Errorf("the error is not printed:\n%s", r)
	}
	if strings.Count(r.stdout, "\ncpu ") != 6 {
		t.Errorf("the other backend should still be measured in full:\n%s", r)
	}
}

// The GPU paths: a Timer gives kernel times, an asynchronous backend gets enqueue times, the Detail
// keys give the cache size and the theoretical peak.
func TestTimerBackend(t *testing.T) {
	r := runTest(t, args("-backend", "fakegpu", "-format", "json", "-act", "relu")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	rep := decodeJSON(t, r.stdout)
	dev := rep.Devices[0]
	wantPeak := 2 * 2619000e3 * 5120 / 8 / 1e9
	if dev.Backend != "cuda:7" || !dev.Timer || dev.CacheBytes != 1<<20 || dev.CacheFrom != "device" || math.Abs(dev.PeakGBps-wantPeak) > 1e-6 {
		t.Errorf("device %+v; want timer, cache 1 MiB from the device, peak %v GB/s", dev, wantPeak)
	}
	for _, row := range rep.Rows {
		if row.Timing != "kernel" || row.KernelNs <= 0 || row.MedianNs != row.KernelNs || row.EnqueueNs <= 0 || row.HostNs <= 0 ||
			row.PeakGBps != dev.PeakGBps || row.PctPeak <= 0 || !*row.OK {
			t.Errorf("row %+v: want kernel timing, enqueue and host times, and %% of peak", row)
		}
	}
	if !strings.Contains(r.stderr, "theoretical peak of cuda:7") {
		t.Errorf("the summary does not mention the peak:\n%s", r.stderr)
	}
}

func TestSideBySide(t *testing.T) {
	r := runTest(t, args("-backend", "cpu,fakegpu,cpu", "-act", "relu", "-dtype", "float32")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"Side by side (GB/s)", "cpu GB/s", "cuda:7 GB/s", "% peak", "Best backend:", "× slower"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r)
		}
	}
	if n := strings.Count(r.stdout, "\ncpu "); n != 6 {
		t.Errorf("cpu measured %d times (named twice), want 6 rows once", n)
	}
}

func TestAll(t *testing.T) {
	list := func() []backend.Device {
		return []backend.Device{
			{Spec: "cuda", Platform: backend.PlatformCUDA, Reason: "no driver (test)"},
			{Spec: "cuda:7", Platform: backend.PlatformCUDA, Type: backend.DeviceGPU, Usable: true,
				Open: func() (backend.Backend, error) { return testEnv(nil, nil).open("fakegpu") }},
			{Spec: "cpu", Platform: backend.PlatformCPU, Type: backend.DeviceCPU, Usable: true,
				Open: func() (backend.Backend, error) { return backend.Open("cpu") }},
		}
	}
	r := runEnvTest(t, func(e *env) { e.list = list }, args("-backend", "all", "-format", "json", "-act", "relu", "-pass", "forward")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	if bes := backendsOf(decodeJSON(t, r.stdout).Rows); !slices.Equal(bes, []string{"cuda:7", "cpu"}) {
		t.Errorf("-backend all measured %v, want the usable cuda:7 and cpu", bes)
	}
}

// The figure: a PNG at page width and at least 150 dpi; SVG and PDF from the same drawing, whose text
// names the devices, dtypes, date and commit, says what the roofline and the band are, and marks every
// measured size. Two backends, one with a theoretical peak, and a 16-bit dtype.
func TestPlot(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bw.png")
	r := runTest(t, "-n", "2^10,2^11,2^12,2^16", "-time", "1ms", "-warmup", "0", "-backend", "cpu,fakegpu", "-act", "relu,elu",
		"-dtype", "float32,bfloat16", "-plot", path, "-o", filepath.Join(dir, "run.json"))
	if r.code != 0 {
		t.Fatal(r)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	// 7 inches wide at 200 dpi; three panels and the key, two to a row.
	if b := img.Bounds(); b.Dx() != 7*plotDPI || b.Dy() < 5*plotDPI || plotDPI < 150 {
		t.Errorf("plot is %v, want 7 inches at %d dpi (≥ 150), two rows of cells", b, plotDPI)
	}
	if !strings.Contains(r.stdout, "plot written to "+path) {
		t.Errorf("stdout does not say where the plot went:\n%s", r)
	}
	data, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep := decodeJSON(t, string(data))
	svg, err := figure(rep, "svg")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cpu: AMD", "cuda:7: Fake H100", "bfloat16, float32", rep.Date[:10], "gpuact " + shortVersion(cmpOr(rep.Version, "commit unknown")),
		"forward: y = f(x)", "backward from input", "backward from output", "roofline (= 100%", "faster of the device", "p10–p90",
		"theoretical peak", "cuda:7 relu", "cpu elu:1", "2^10", "2^11", "2^12", "2^16", "fill-opacity"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("the SVG figure lacks %q", want)
		}
	}
	if pdf, err := figure(rep, "pdf"); err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Errorf("PDF: %v, starts %q", err, pdf[:min(8, len(pdf))])
	}
	if _, err := figure(&Report{}, "png"); err == nil {
		t.Error("a figure without rows: no error")
	}
}

// Lines join sizes at most 4× apart; a sparser sweep is drawn as points.
func TestRuns(t *testing.T) {
	pts := plotter.XYs{{X: 10}, {X: 11}, {X: 13}, {X: 16}, {X: 20}, {X: 21}}
	var lens []int
	for _, r := range runs(pts) {
		lens = append(lens, len(r))
	}
	if !slices.Equal(lens, []int{3, 1, 2}) {
		t.Errorf("runs of log2 sizes 10 11 13 16 20 21: lengths %v, want [3 1 2]", lens)
	}
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	// A reference as the PyTorch script writes it: its own backend names, "elu" without α, median_ns
	// without gbps in one row, extra fields.
	ref := `{"tool": "torch", "date": "2026-01-02T03:04:05Z", "host": "gpu-box", "torch": "2.9.0", "rows": [
	  {"backend": "torch-cuda", "device": "NVIDIA H100", "pass": "forward", "activation": "relu", "dtype": "float32", "n": 1000, "median_ns": 4000, "gbps": 2.0, "cuda_graph": false},
	  {"backend": "torch-cuda", "device": "NVIDIA H100", "pass": "backward-input", "activation": "elu", "dtype": "float32", "n": 4096, "median_ns": 4915.2},
	  {"backend": "torch-cuda", "device": "NVIDIA H100", "pass": "forward", "activation": "relu", "dtype": "float32", "n": 12345, "median_ns": 10, "gbps": 9.9}]}`
	refPath := filepath.Join(dir, "torch.json")
	if err := os.WriteFile(refPath, []byte(ref), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runTest(t, args("-backend", "cpu", "-dtype", "float32", "-compare", refPath)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"Compared with " + refPath, "tool torch", "torch-cuda GB/s", "cpu / torch-cuda",
		"cpu vs torch-cuda, geometric mean of the ratios per pass: forward", "backward-input"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("comparison lacks %q:\n%s", want, r)
		}
	}
	// backward-input elu at 4096 float32 moves 3 × 4096 × 4 bytes in 4915.2 ns: 10 GB/s.
	found := false
	for _, l := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(l)
		found = found || len(f) >= 6 && f[0] == "backward-input" && f[1] == "elu:1" && f[3] == "4096" && f[5] == "10.0"
	}
	if !found {
		t.Errorf("the reference row without gbps is not matched or its GB/s not computed:\n%s", r.stdout)
	}

	// An earlier run of gpubench itself, read back.
	prev := filepath.Join(dir, "prev.json")
	if r := runTest(t, args("-backend", "cpu", "-act", "relu", "-o", prev)...); r.code != 0 {
		t.Fatal(r)
	}
	r = runTest(t, args("-backend", "cpu", "-act", "relu", "-compare", prev)...)
	if r.code != 0 || !strings.Contains(r.stdout, "cpu (ref) GB/s") || !strings.Contains(r.stdout, "cpu / cpu (ref)") ||
		!strings.Contains(r.stdout, "ratios are within the spread (≈)") {
		t.Errorf("comparing with an earlier run:\n%s", r)
	}

	// No rows in common is said, not an error, with what each side has.
	r = runTest(t, "-n", "77,2^5", "-time", "1ms", "-backend", "cpu", "-dtype", "f32,f64", "-compare", refPath)
	if r.code != 0 || !strings.Contains(r.stdout, "No rows in common") ||
		!strings.Contains(strings.Join(strings.Fields(r.stdout), " "), "This run has n = 2^5, 77; the reference has n = 1000, 2^12, 12345. This run has dtypes float32, float64; the reference has float32.") {
		t.Errorf("no common rows:\n%s", r)
	}

	// A file that is not a report is a usage error, found before measuring.
	bad := filepath.Join(dir, "bad.json")
	for _, content := range []string{`not json`, `{"rows": []}`, `{"rows": [{"pass": "sideways", "activation": "relu", "dtype": "float32", "n": 1}]}`} {
		os.WriteFile(bad, []byte(content), 0o644)
		if r := runTest(t, args("-compare", bad)...); r.code != exitError || !strings.Contains(r.stderr, "-compare") {
			t.Errorf("-compare %s: %s", content, r)
		}
	}
}

func TestList(t *testing.T) {
	r := runTest(t, "-list")
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"cpu", "cuda", "opencl", "Auto (what -backend auto and backend.Auto() open)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-list lacks %q:\n%s", want, r)
		}
	}

	// Unusable devices with their reasons, and Auto's choice with what it skipped.
	list := func() []backend.Device {
		return []backend.Device{
			{Spec: "cuda", Platform: backend.PlatformCUDA, Reason: "libcuda.so.1 not found (test)"},
			{Spec: "opencl:0:0", Platform: backend.PlatformOpenCL, Type: backend.DeviceCPU, Name: "pocl", Usable: true,
				Open: func() (backend.Backend, error) { return nil, backend.ErrUnavailable }},
			{Spec: "cuda:7", Platform: backend.PlatformCUDA, Type: backend.DeviceGPU, Name: "Fake H100", Usable: true,
				Open: func() (backend.Backend, error) { return testEnv(nil, nil).open("fakegpu") }},
		}
	}
	choose := func() (backend.Backend, []backend.Device, error) {
		b, err := testEnv(nil, nil).open("fakegpu")
		return b, []backend.Device{{Spec: "cuda", Reason: "libcuda.so.1 not found (test)"}}, err
	}
	r = runEnvTest(t, func(e *env) { e.list, e.choose = list, choose }, "-list")
	for _, want := range []string{"unusable: libcuda.so.1 not found (test)", "fails to open: gpuact: backend unavailable", "theoretical peak 3352 GB/s",
		"kernel times from device events", "chooses cuda:7: Fake H100", "skipped cuda: libcuda.so.1 not found (test)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-list lacks %q:\n%s", want, r)
		}
	}

	// Auto failing (GPUACT_BACKEND naming an unusable device) is shown and is exit 2.
	r = runEnvTest(t, func(e *env) {
		e.choose = func() (backend.Backend, []backend.Device, error) { return nil, nil, backend.ErrUnavailable }
	}, "-list")
	if r.code != exitError || !strings.Contains(r.stdout, "error:") {
		t.Errorf("-list with a failing Auto:\n%s", r)
	}
}

func TestHelp(t *testing.T) {
	r := runTest(t, "-h")
	if r.code != 0 {
		t.Fatalf("-h: %s", r)
	}
	for _, flag := range []string{"-backend", "-list", "-min", "-max", "-n", "-dtype", "-pass", "-act", "-time", "-warmup", "-reps",
		"-verify", "-cache", "-format", "-o", "-plot", "-compare", "Examples:", "Exit status", "docs/SEMANTICS.md"} {
		if !strings.Contains(r.stderr, flag) {
			t.Errorf("-h does not document %s", flag)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, a := range [][]string{
		{"-dtype", "int8"}, {"-dtype", ""}, {"-pass", "sideways"}, {"-act", "gelu"}, {"-act", "elu:nan"}, {"-min", "9", "-max", "3"},
		{"-max", "40"}, {"-n", "0"}, {"-n", "2^99"}, {"-n", "ten"}, {"-backend", "cuda:x"}, {"-backend", ""}, {"-backend", "tpu"},
		{"-nosuchflag"}, {"-format", "xml"}, {"-plot", "bw.gif"}, {"-cache", "lots"}, {"-reps", "0"}, {"-time", "-1s"},
		{"-compare", "/nonexistent.json"}, {"stray"}, {"-o", "run.xlsx"}, {"-o", "run"},
	} {
		r := runTest(t, a...)
		if r.code != exitError || r.stderr == "" {
			t.Errorf("%v: want exit 2 and a message on stderr, got %s", a, r)
		}
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, 3, true)
	p.step("one")
	p.add(2, "")
	p.finish()
	if b.Len() == 0 {
		t.Error("no progress bar drawn when asked for one")
	}
	b.Reset()
	p = newProgress(&b, 3, false)
	p.step("one")
	p.finish()
	if b.Len() != 0 {
		t.Errorf("progress drawn when not on a terminal: %q", b.String())
	}
	if isTerminal(&b) {
		t.Error("a buffer is not a terminal")
	}
}

func TestRotations(t *testing.T) {
	for _, c := range []struct {
		cache      int64
		n, size, k int
	}{
		{0, 1024, 4, 1},
		{1 << 20, 1 << 20, 4, 1},     // 8 MiB ≥ 3 MiB: no rotation
		{1 << 20, 1024, 4, 384},      // 3 MiB / 8 KiB
		{50e6, 1 << 20, 4, 18},       // H100's L2: 150 MB / 8 MiB, rounded up
		{32 << 20, 1 << 22, 8, 2},    // 96 MiB / 64 MiB
		{32 << 20, 1 << 23, 8, 1},    // 128 MiB
		{1 << 20, 1000, 8, 197},      // ceil(3 MiB / 16000 B)
		{1 << 20, 3 * 1 << 17, 4, 1}, // exactly 3 MiB
	} {
		if k := rotations(c.cache, c.n, c.size); k != c.k {
			t.Errorf("rotations(%d, %d, %d) = %d, want %d", c.cache, c.n, c.size, k, c.k)
		}
		if k := rotations(c.cache, c.n, c.size); k > 1 && 2*int64(k*c.n*c.size) < rotateFactor*c.cache {
			t.Errorf("rotations(%d, %d, %d) = %d sets do not cover %d× the cache", c.cache, c.n, c.size, k, rotateFactor)
		}
	}
}

// The device's buffers and the host's copies are picked by the same function: each pass gets its
// inputs in the order the Backend methods take them, and a pass without buffer names is an error.
func TestOperands(t *testing.T) {
	for _, c := range []struct {
		p        backend.Pass
		in1, in2 string
	}{
		{backend.Forward, "x", ""},
		{backend.BackwardFromInput, "dy", "x"},
		{backend.BackwardFromOutput, "dy", "y"},
	} {
		in1, in2, err := operands(c.p, "x", "dy", "y")
		if err != nil || in1 != c.in1 || in2 != c.in2 {
			t.Errorf("operands(%s) = %q, %q, %v; want %q, %q", c.p, in1, in2, err, c.in1, c.in2)
		}
	}
	if _, _, err := operands(backend.Pass(0), "x", "dy", "y"); err == nil {
		t.Error("operands of an invalid pass: no error")
	}
}

// The inputs every row runs on: in [-4, 4), never zero, the same for the same seed, different chunks
// from different streams; in every storage type.
func TestFillRandom(t *testing.T) {
	testFillRandom[float32](t)
	testFillRandom[float64](t)
}

func testFillRandom[T backend.Elem](t *testing.T) {
	const n = 1<<20 + 5 // two chunks
	a, b := make([]T, n), make([]T, n)
	fillRandom(a, 7)
	fillRandom(b, 7)
	if !slices.Equal(a, b) {
		t.Errorf("%s: the same seed gave different values", backend.DTypeOf[T]())
	}
	for i, v := range a {
		if f := fromStorage(v); f == 0 || f < -4 || f >= 4 || f != f {
			t.Fatalf("%s: [%d] = %v, want a value in [-4, 4), not zero", backend.DTypeOf[T](), i, f)
		}
	}
	if slices.Equal(a[:5], a[1<<20:]) {
		t.Errorf("%s: the second chunk repeats the first", backend.DTypeOf[T]())
	}
}

func TestViewsAreAlignedAndDisjoint(t *testing.T) {
	b := backendCPU(t)
	for _, c := range []struct{ n, k int }{{1000, 5}, {1024, 3}, {1, 7}, {100, 1}} {
		l := poolLen(int64(c.k)*int64(2*c.n*4)/rotateFactor, []int{c.n}, 4)
		if k := rotations(int64(c.k)*int64(2*c.n*4)/rotateFactor, c.n, 4); k != c.k {
			t.Fatalf("n=%d: %d rotations, want %d", c.n, k, c.k)
		}
		pool, err := b.Alloc(backend.Float32, l)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := views(pool, c.n, c.k)
		if err != nil {
			t.Fatalf("n=%d k=%d pool %d: %v", c.n, c.k, l, err)
		}
		for i, v := range vs {
			if v.Len() != c.n || (c.k > 1 && v.Offset()%setAlign != 0) || (i > 0 && v.Offset() < vs[i-1].Offset()+c.n) {
				t.Errorf("n=%d k=%d: set %d at %d, length %d", c.n, c.k, i, v.Offset(), v.Len())
			}
		}
		if last := vs[len(vs)-1]; last.Offset()+last.Len() != l {
			t.Errorf("n=%d k=%d: pool of %d elements, the last set ends at %d", c.n, c.k, l, last.Offset()+last.Len())
		}
	}
}

func TestLastLevelCache(t *testing.T) {
	dir := t.TempDir()
	for i, c := range []struct{ level, typ, size string }{{"1", "Data", "32K"}, {"1", "Instruction", "32K"}, {"2", "Unified", "512K"}, {"3", "Unified", "32768K"}} {
		d := filepath.Join(dir, "index"+strconv.Itoa(i))
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "level"), []byte(c.level+"\n"), 0o644)
		os.WriteFile(filepath.Join(d, "type"), []byte(c.typ+"\n"), 0o644)
		os.WriteFile(filepath.Join(d, "size"), []byte(c.size+"\n"), 0o644)
	}
	if got, ok := lastLevelCache(dir); !ok || got != 32<<20 {
		t.Errorf("lastLevelCache = %d, %v; want 32 MiB", got, ok)
	}
	if _, ok := lastLevelCache(filepath.Join(dir, "none")); ok {
		t.Error("lastLevelCache found a cache in an empty directory")
	}
	// Without a size from the device or sysfs, the default.
	d := newDevice(backendCPU(t), -1, func() (int64, bool) { return 0, false })
	if d.cache != defaultCacheBytes || d.cacheFrom != "default" {
		t.Errorf("cache %d from %s, want the 64 MiB default", d.cache, d.cacheFrom)
	}
}

func backendCPU(t *testing.T) backend.Backend {
	b, err := backend.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestParse(t *testing.T) {
	for s, want := range map[string]int64{"32768K": 32 << 20, "64MiB": 64 << 20, "50MB": 50e6, "1G": 1 << 30, "0": 0, "512": 512, "1.5 KiB": 1536} {
		if got, err := parseBytes(s); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	sizes, err := parseSizes("2^20, 1000,1000", 0, 0)
	if err != nil || !slices.Equal(sizes, []int{1000, 1 << 20}) {
		t.Errorf("parseSizes = %v, %v", sizes, err)
	}
	if sizes, _ := parseSizes("", 10, 12); !slices.Equal(sizes, []int{1024, 2048, 4096}) {
		t.Errorf("parseSizes of -min 10 -max 12 = %v", sizes)
	}
	if p, err := parsePasses("backward_from_output,forward"); err != nil || !slices.Equal(p, []backend.Pass{backend.BackwardFromOutput, backend.Forward}) {
		t.Errorf("parsePasses(backward_from_output,forward) = %v, %v", p, err)
	}
	if peakGBps(map[string]string{"memory_clock_khz": "2619000"}) != 0 {
		t.Error("a peak without the bus width")
	}
	for _, c := range []struct{ path, format string }{{"a.json", "json"}, {"a.CSV", "csv"}, {"a.md", "markdown"}, {"a.txt", "table"}, {"", "table"},
		{"a.xlsx", ""}, {"results", ""}, {"r.HTML", "html"}} {
		if f, err := formatFromExt(c.path); f != c.format || (err != nil) != (c.format == "") {
			t.Errorf("formatFromExt(%q) = %q, %v; want %q", c.path, f, err, c.format)
		}
	}
}

// counting is a progress that counts steps.
type counting struct{ n int }

func (c *counting) step(string)         { c.n++ }
func (c *counting) add(n int, _ string) { c.n += n }
func (c *counting) finish()             {}

// The bar ends full even when a device error cuts a sweep short.
func TestProgressCountsEveryStep(t *testing.T) {
	b := failing{backendCPU(t)}
	cfg := config{sizes: []int{100, 200}, dtypes: []backend.DType{backend.Float32, backend.Float64}, passes: backend.Passes,
		acts: []backend.Activation{backend.ReLU(), backend.ELU(1)}, minTime: time.Millisecond, minReps: 1, verify: true, cache: 0}
	c := &counting{}
	bn := &bench{cfg: cfg, devs: []*device{newDevice(b, 0, nil)}, rep: &Report{}, progress: c}
	bn.run()
	if len(bn.rep.Errors) != 2 {
		t.Errorf("errors %v, want one per dtype", bn.rep.Errors)
	}
	if c.n != bn.steps() || c.n != 2*2*(1+2*3) {
		t.Errorf("%d steps reported, want %d", c.n, bn.steps())
	}
}

// A size whose buffers do not fit in the device's memory is reported as an error and left out; the sizes
// that fit are still measured.
func TestSizesThatDoNotFitAreLeftOut(t *testing.T) {
	b := smallMemory{backendCPU(t), 5000}
	cfg := config{sizes: []int{100, 1000, 10000, 100000}, dtypes: []backend.DType{backend.Float32}, passes: backend.Passes,
		acts: []backend.Activation{backend.ReLU()}, minTime: time.Millisecond, minReps: 1, verify: true, cache: 0}
	c := &counting{}
	bn := &bench{cfg: cfg, devs: []*device{newDevice(b, 0, nil)}, rep: &Report{}, progress: c}
	bn.run()
	if len(bn.rep.Errors) != 2 || !strings.Contains(bn.rep.Errors[0], "n=100000 not measured") ||
		!strings.Contains(bn.rep.Errors[1], "n=10000 not measured") || !strings.Contains(bn.rep.Errors[1], "out of memory") {
		t.Errorf("errors %q, want n=100000 and n=10000 reported as out of memory", bn.rep.Errors)
	}
	var ns []int
	for _, r := range bn.rep.Rows {
		if !slices.Contains(ns, r.N) {
			ns = append(ns, r.N)
		}
	}
	if len(bn.rep.Rows) != 2*3 || !slices.Equal(ns, []int{100, 1000}) {
		t.Errorf("measured %d rows at sizes %v, want 6 at 100 and 1000", len(bn.rep.Rows), ns)
	}
	if c.n != bn.steps() {
		t.Errorf("%d steps reported, want %d", c.n, bn.steps())
	}
}

// The size left out is the one whose rotation sets take the most, which can be the smallest: n = 1
// rotates among as many sets as n = 2^10 and each starts setAlign elements after the last.
func TestTinySizeThatDoesNotFitIsLeftOut(t *testing.T) {
	const cache = 1 << 20
	big, tiny := 1<<18, 1
	if setsLen(cache, tiny, 4) <= setsLen(cache, big, 4) {
		t.Fatalf("precondition: n=1 takes %d elements, n=2^18 %d", setsLen(cache, tiny, 4), setsLen(cache, big, 4))
	}
	b := smallMemory{backendCPU(t), setsLen(cache, big, 4)}
	cfg := config{sizes: []int{tiny, big}, dtypes: []backend.DType{backend.Float32}, passes: []backend.Pass{backend.Forward},
		acts: []backend.Activation{backend.ReLU()}, minTime: time.Millisecond, minReps: 1, verify: true, cache: cache}
	bn := &bench{cfg: cfg, devs: []*device{newDevice(b, cache, nil)}, rep: &Report{}, progress: silent{}}
	bn.run()
	if len(bn.rep.Errors) != 1 || !strings.Contains(bn.rep.Errors[0], "n=1 not measured") {
		t.Errorf("errors %q, want n=1 left out", bn.rep.Errors)
	}
	if len(bn.rep.Rows) != 1 || bn.rep.Rows[0].N != big || bn.rep.Rows[0].OK == nil || !*bn.rep.Rows[0].OK {
		t.Errorf("rows %+v, want n=2^18 measured and verified", bn.rep.Rows)
	}
}

// interruptAt is a progress that interrupts bn when step number at starts.
type interruptAt struct {
	counting
	bn *bench
	at int
}

func (p *interruptAt) step(desc string) {
	p.counting.step(desc)
	if p.n == p.at {
		p.bn.interrupt("test")
	}
}

// An interrupted sweep finishes the row it is on, measures nothing more, and reports what it measured
// with one error saying why.
func TestInterruptStopsAfterTheRow(t *testing.T) {
	cfg := config{sizes: []int{100, 200}, dtypes: []backend.DType{backend.Float32, backend.Float64}, passes: backend.Passes,
		acts: []backend.Activation{backend.ReLU()}, minTime: time.Millisecond, minReps: 1, verify: true, cache: 0}
	bn := &bench{cfg: cfg, devs: []*device{newDevice(backendCPU(t), 0, nil)}, rep: &Report{}}
	p := &interruptAt{bn: bn, at: 4} // float32: the copies at both sizes, then rows: the second row's step
	bn.progress = p
	if err := bn.run(); !errors.Is(err, errInterrupted) {
		t.Errorf("run returned %v, want the interruption", err)
	}
	if len(bn.rep.Rows) != 2 || len(bn.rep.Copy) != 2 {
		t.Errorf("%d rows and %d copies measured, want 2 and 2 (the one interrupted finishes)", len(bn.rep.Rows), len(bn.rep.Copy))
	}
	if len(bn.rep.Errors) != 1 || !strings.Contains(bn.rep.Errors[0], "interrupted (test)") {
		t.Errorf("errors %q, want one saying the sweep was interrupted", bn.rep.Errors)
	}
	if p.n != bn.steps() {
		t.Errorf("%d steps reported, want %d", p.n, bn.steps())
	}
}

// testSignal is the signal TestInterruptedRunReports sends.
type testSignal struct{}

func (testSignal) String() string { return "test signal" }
func (testSignal) Signal()        {}

// A signal during the sweep still writes the report (here JSON, with the error), exits 2 and gives the
// signal back its default action.
func TestInterruptedRunReports(t *testing.T) {
	sig := make(chan os.Signal, 1)
	sig <- testSignal{}
	var released atomic.Int32
	r := runEnvTest(t, func(e *env) {
		e.interrupts = func() (<-chan os.Signal, func()) { return sig, func() { released.Add(1) } }
	}, args("-backend", "cpu", "-format", "json")...)
	if r.code != exitError {
		t.Fatalf("exit %d, want %d\n%s", r.code, exitError, r)
	}
	rep := decodeJSON(t, r.stdout)
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "interrupted (test signal)") {
		t.Errorf("errors %q, want the interruption", rep.Errors)
	}
	if !strings.Contains(r.stderr, "gpubench: interrupted (test signal)") {
		t.Errorf("stderr does not say it was interrupted:\n%s", r)
	}
	if released.Load() == 0 {
		t.Error("the signals were not released")
	}
}

// Sizes print with at most four significant digits and never in exponent notation (a device of
// 10070 MiB printed as "1.007e+04 MiB").
func TestFmtBytes(t *testing.T) {
	for b, want := range map[int64]string{
		512: "512 B", 1536: "1.5 KiB", 64 << 20: "64 MiB", 1000 << 20: "1000 MiB",
		10070 << 20: "9.834 GiB", 1 << 30: "1 GiB", 80 << 30: "80 GiB", 141 << 30: "141 GiB",
	} {
		if got := fmtBytes(b); got != want {
			t.Errorf("fmtBytes(%d) = %q, want %q", b, got, want)
		}
	}
}
