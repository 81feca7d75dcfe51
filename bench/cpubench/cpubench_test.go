package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultSizes(t *testing.T) {
	ns, err := parseSizes(defaultSizes)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24, 1 << 26}
	if !slices.Equal(ns, want) {
		t.Errorf("default sizes %v, want %v", ns, want)
	}
	if _, err := parseSizes("1024,0"); err == nil {
		t.Error("size 0 accepted")
	}
}

// Two processors' blocks: only the first is read, and of its flags only the SIMD ones, in
// simdFlags' order, then amx*.
const cpuinfo = `processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 143
model name	: Intel(R) Xeon(R) Platinum 8480+
flags		: fpu sse4_2 avx2 avx fma amx_tile avx512f avx512_fp16 amx_bf16 f16c avx512bw

processor	: 1
model name	: something else
flags		: fpu
`

func TestParseCPUInfo(t *testing.T) {
	c := &CPU{CPUs: 2, SIMD: []string{}}
	parseCPUInfo(strings.NewReader(cpuinfo), c)
	if c.Model != "Intel(R) Xeon(R) Platinum 8480+" || c.Family != 6 || c.ModelNumber != 143 {
		t.Errorf("model %q family %d model %d", c.Model, c.Family, c.ModelNumber)
	}
	want := []string{"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_fp16", "amx_bf16", "amx_tile"}
	if !slices.Equal(c.SIMD, want) {
		t.Errorf("SIMD %v, want %v", c.SIMD, want)
	}
	if s := c.String(); !strings.Contains(s, "family 6, model 143") || !strings.Contains(s, "amx_tile") {
		t.Errorf("String() = %q", s)
	}
}

func row(dt, pass, act string, n int, ns int64) Row {
	return Row{Backend: "cpu", Pass: pass, Activation: act, DType: dt, N: n, MedianNS: ns, GBps: float64(n) / float64(ns)}
}

// testDocs: gpuact has float32 and float16 at two sizes; torch has float32 only, and not at 2^12 for
// ELU forward. gpuact is 2× faster everywhere but for ReLU backward from input at 2^12 (0.8×).
func testDocs() (ours, theirs Doc) {
	ours = Doc{Tool: "gpuact", CPU: &CPU{Model: "test CPU", CPUs: 2, SIMD: []string{"avx2"}}, Method: &Method{Rounds: 3, Reps: 9}}
	theirs = Doc{Tool: "torch", Torch: &Torch{Version: "1.13", Threads: 2, Capability: "AVX2"}}
	for _, dt := range []string{"float32", "float16"} {
		for _, n := range []int{1024, 4096} {
			for _, p := range passNames() {
				for _, a := range actNames() {
					ours.Rows = append(ours.Rows, row(dt, p, a, n, 1000))
					if dt == "float16" || (n == 4096 && p == "forward" && a == "elu:1") {
						continue
					}
					ns := int64(2000)
					if n == 4096 && p == "backward-input" && a == "relu" {
						ns = 800
					}
					theirs.Rows = append(theirs.Rows, row(dt, p, a, n, ns))
				}
			}
		}
	}
	return ours, theirs
}

func TestSummary(t *testing.T) {
	ours, theirs := testDocs()
	s := newSummary(ours, theirs)
	if len(s.lines) != 9 || !slices.Equal(s.noTorch, []string{"float16"}) || !slices.Equal(s.sizes, []int{1024, 4096}) {
		t.Fatalf("%d lines, noTorch %v, sizes %v", len(s.lines), s.noTorch, s.sizes)
	}
	r, l, n, ok := s.minimum()
	if !ok || r != 0.8 || l.pass != "backward-input" || l.act != "relu" || n != 4096 {
		t.Errorf("minimum %v at %+v n=%d", r, l, n)
	}
	var b bytes.Buffer
	s.print(&b)
	out := b.String()
	for _, want := range []string{
		"| dtype | pass | activation | 2^10 | 2^12 |",
		"| float32 | forward | elu:1 | 2.00 | — |",
		"| float32 | backward-input | relu | 2.00 | 0.80* |",
		"minimum gpuact / PyTorch: 0.80 at float32 backward-input relu, n = 2^12; 1 of 17 cells below 1.00",
		"float16: no PyTorch rows",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestHeader(t *testing.T) {
	ours, theirs := testDocs()
	env := "avx512"
	theirs.Torch.CapabilityEnv = &env
	var b bytes.Buffer
	printHeader(&b, ours, theirs, true)
	for _, want := range []string{"test CPU", "SIMD: avx2", "torch 1.13, 2 threads, CPU capability AVX2 (ATEN_CPU_CAPABILITY=avx512)", "medians over 3 rounds"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("header lacks %q:\n%s", want, b.String())
		}
	}
}

// mergeDocs keeps the first round's extra fields and takes each row's median time; the JSON keeps the
// fields gpubench -compare reads, with the additions beside them.
func TestMergeDocsJSON(t *testing.T) {
	_, theirs := testDocs()
	a, b, c := theirs, theirs, theirs
	b.Rows, c.Rows = slices.Clone(theirs.Rows), slices.Clone(theirs.Rows)
	b.Rows[0].MedianNS, c.Rows[0].MedianNS = 4000, 3000
	m := mergeDocs([]Doc{a, b, c})
	if m.Rows[0].MedianNS != 3000 || m.Rows[0].GBps != round2(theirs.Rows[0].GBps*2/3) || m.Torch == nil {
		t.Errorf("merged row 0: %+v, torch %v", m.Rows[0], m.Torch)
	}
	path := filepath.Join(t.TempDir(), "t.json")
	writeDoc(path, m)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tool", "date", "host", "rows", "torch"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	r0 := raw["rows"].([]any)[0].(map[string]any)
	for _, k := range []string{"backend", "pass", "activation", "dtype", "n", "median_ns", "gbps"} {
		if _, ok := r0[k]; !ok {
			t.Errorf("row lacks %q", k)
		}
	}
	if got := readDoc(path); got.Torch.Capability != "AVX2" {
		t.Errorf("read back torch %+v", got.Torch)
	}
}

// A call longer than budget/reps gets fewer timings, never under minReps; a short one gets batches.
func TestTimingBudget(t *testing.T) {
	calls := 0
	_, reps, batch := timing{reps: 9, budget: 25 * time.Millisecond}.median(func() { calls++; time.Sleep(10 * time.Millisecond) })
	if reps != minReps || batch != 1 || calls != 2+minReps {
		t.Errorf("10 ms calls, 25 ms budget: %d timings of %d calls, %d calls in all", reps, batch, calls)
	}
	// (A load spike during the one call that sets the batch could make it look long: then skip.)
	_, reps, batch = timing{reps: 5, budget: 25 * time.Millisecond}.median(func() {})
	if batch > 1 && reps != 5 {
		t.Errorf("empty calls: %d timings of %d calls, want 5", reps, batch)
	}
}

func TestWritePlot(t *testing.T) {
	ours, theirs := testDocs()
	dir := filepath.Join(t.TempDir(), "out") + "/"
	path, err := writePlot(dir, newSummary(ours, theirs), ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != plotName {
		t.Errorf("wrote %s, want %s in the directory", path, plotName)
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Errorf("%s is not a PNG (%v)", path, err)
	}
	if _, err := writePlot(filepath.Join(t.TempDir(), "x.svg"), newSummary(ours, theirs), ours, theirs); err != nil {
		t.Errorf("svg: %v", err)
	}
}

// The ratio axis's labels are the round numbers they stand for, not their float64 products
// (7 × 10^-1 printed with %g is 0.7000000000000001).
func TestRatioTickLabels(t *testing.T) {
	var labels []string
	for _, tk := range (ratioTicks{}).Ticks(0.6, 8) {
		labels = append(labels, tk.Label)
	}
	if got, want := strings.Join(labels, " "), "0.7 1 1.5 2 3 5 7"; got != want {
		t.Errorf("ratio ticks on [0.6, 8]: %q, want %q", got, want)
	}
}
