package main

// The roofline of a backend, dtype and size is the fastest this device was measured moving memory
// there: its own copy (Backend.Copy, read + write bytes) or the fastest pass × activation, whichever is
// faster. The copy alone is not a bound at every size: at small n it can be slower than a pass (a CPU
// copy split across cores that a pass runs on one, a copy whose buffers the cache served differently),
// and a pass "above the roofline" would then only say that the copy was slow. With the fastest pass
// included, 100% means "as fast as anything this device did at this size", no row exceeds it, and
// where a pass rather than the copy sets it the report says so (roofPoint.from).
type roofPoint struct {
	gbps     float64 // the roofline
	copyGBps float64 // the device's copy alone (0: not measured)
	from     string  // "copy", or the pass and activation that set it ("forward relu")
}

type roofKey struct {
	backend, dtype string
	n              int
}

// roofline computes the roofline of every backend × dtype × n that rep has rows or copies for.
func roofline(rep *Report) map[roofKey]roofPoint {
	roof := map[roofKey]roofPoint{}
	for _, c := range rep.Copy {
		k := roofKey{c.Backend, c.DType, c.N}
		if c.GBps > roof[k].gbps {
			roof[k] = roofPoint{gbps: c.GBps, copyGBps: c.GBps, from: "copy"}
		}
	}
	for _, r := range rep.Rows {
		k := roofKey{r.Backend, r.DType, r.N}
		if p := roof[k]; r.GBps > p.gbps {
			p.gbps, p.from = r.GBps, r.Pass+" "+r.Activation
			roof[k] = p
		}
	}
	return roof
}

// setRoofline fills every row's roof_gbps and pct_roof from the roofline of its backend, dtype and n.
func setRoofline(rep *Report) {
	roof := roofline(rep)
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if p := roof[roofKey{r.Backend, r.DType, r.N}]; p.gbps > 0 {
			r.RoofGBps, r.PctRoof = p.gbps, r.GBps/p.gbps*100 // the row that sets the roof: x/x·100 is exactly 100
		}
	}
}

// beatCopy summarises the rows faster than the device's copy at their size: how many, by how much at
// most, and up to which n. ok is false when there are none.
func beatCopy(rep *Report, backend string) (count, of int, most float64, maxN int, ok bool) {
	for _, r := range rep.Rows {
		if r.Backend != backend {
			continue
		}
		of++
		if r.CopyGBps > 0 && r.GBps > r.CopyGBps {
			count++
			most = max(most, r.GBps/r.CopyGBps)
			maxN = max(maxN, r.N)
		}
	}
	return count, of, most, maxN, count > 0
}
