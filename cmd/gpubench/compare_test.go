package main

import "testing"

// A ratio is "≈" when one side's median GB/s lies within the other's p10..p90 band.
func TestWithinSpread(t *testing.T) {
	// 10 GB/s at a median of 100 ns, p10..p90 = 90..110 ns: the band is 9.09..11.1 GB/s.
	a := Row{GBps: 10, MedianNs: 100, P10Ns: 90, P90Ns: 110}
	for _, c := range []struct {
		b    Row
		want bool
	}{
		{Row{GBps: 10.5}, true},
		{Row{GBps: 9.2}, true},
		{Row{GBps: 11.5}, false},
		{Row{GBps: 8.9}, false},
		{Row{GBps: 13, MedianNs: 100, P10Ns: 70, P90Ns: 130}, true}, // a's 10 GB/s is in b's band, 10..18.6
		{Row{GBps: 20, MedianNs: 100, P10Ns: 95, P90Ns: 105}, false},
	} {
		if got := withinSpread(a, c.b); got != c.want {
			t.Errorf("withinSpread(%+v, %+v) = %v, want %v", a, c.b, got, c.want)
		}
		if got := withinSpread(c.b, a); got != c.want {
			t.Errorf("withinSpread is not symmetric for %+v", c.b)
		}
	}
	if withinSpread(Row{GBps: 10}, Row{GBps: 10}) {
		t.Error("two rows without spreads are within it")
	}
	if got := fmtN(1 << 20); got != "2^20" || fmtN(1000) != "1000" || fmtN(1) != "1" {
		t.Errorf("fmtN: %q", got)
	}
}
