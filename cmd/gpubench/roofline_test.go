package main

import (
	"bytes"
	"strings"
	"testing"
)

// The roofline is the faster of the copy and the fastest pass at each backend, dtype and n: a pass
// faster than the copy sets it (and is 100%), no row is above it, and the summary says so.
func TestRoofline(t *testing.T) {
	rep := &Report{
		Copy: []CopyRow{{Backend: "cpu", DType: "float32", N: 1024, GBps: 10}, {Backend: "cpu", DType: "float32", N: 4096, GBps: 40}},
		Rows: []Row{
			{Backend: "cpu", Pass: "forward", Activation: "relu", DType: "float32", N: 1024, GBps: 25, CopyGBps: 10},
			{Backend: "cpu", Pass: "forward", Activation: "elu:1", DType: "float32", N: 1024, GBps: 5, CopyGBps: 10},
			{Backend: "cpu", Pass: "forward", Activation: "relu", DType: "float32", N: 4096, GBps: 30, CopyGBps: 40},
			{Backend: "cpu", Pass: "forward", Activation: "elu:1", DType: "float32", N: 4096, GBps: 20, CopyGBps: 40},
		},
	}
	setRoofline(rep)
	for i, want := range []struct{ roof, pct float64 }{{25, 100}, {25, 20}, {40, 75}, {40, 50}} {
		if r := rep.Rows[i]; r.RoofGBps != want.roof || r.PctRoof != want.pct {
			t.Errorf("row %d (%s n=%d): roof %v GB/s, %v%%; want %v, %v%%", i, r.Activation, r.N, r.RoofGBps, r.PctRoof, want.roof, want.pct)
		}
	}
	roof := roofline(rep)
	if p := roof[roofKey{"cpu", "float32", 1024}]; p.from != "forward relu" || p.copyGBps != 10 {
		t.Errorf("roofline at 1024: %+v; want set by forward relu, copy 10", p)
	}
	if p := roof[roofKey{"cpu", "float32", 4096}]; p.from != "copy" {
		t.Errorf("roofline at 4096: %+v; want set by the copy", p)
	}
	var b bytes.Buffer
	writeSummary(doc{w: &b, markdown: true}, rep)
	out := b.String()
	for _, want := range []string{"1 of 4 rows were faster than the device's copy at their size (up to 2.50×, at n ≤ 1024)",
		"| forward | float32 | 40.0 | copy | 25.0 | 62% | 50% (elu:1) to 75% (relu) |"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// Markdown: every sentence in one bullet; no bullet ends mid-sentence (with ';' or ',').
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "- ") && (strings.HasSuffix(l, ";") || strings.HasSuffix(l, ",")) {
			t.Errorf("a bullet ends mid-sentence: %q", l)
		}
	}
}

// Plain-text items are wrapped at textWidth with their continuation indented.
func TestWrap(t *testing.T) {
	long := strings.Repeat("word ", 60)
	var b bytes.Buffer
	doc{w: &b}.item(0, long)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("not wrapped: %q", b.String())
	}
	for i, l := range lines {
		if len(l) > textWidth || !strings.HasPrefix(l, "  ") || (i > 0) != strings.HasPrefix(l, "    word") {
			t.Errorf("line %d %q: want at most %d columns, continuation indented", i, l, textWidth)
		}
	}
	if got := strings.Join(strings.Fields(b.String()), " "); got != strings.TrimSpace(long) {
		t.Errorf("wrapping changed the words")
	}
}
