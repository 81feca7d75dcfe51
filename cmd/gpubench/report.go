package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Report is what -format json writes and -compare reads. The fields tool, date, host, devices and rows,
// and in each row backend, device, pass, activation, dtype, n, median_ns and gbps, are shared with the
// PyTorch reference scripts (tool "torch"); the others are gpubench's own.
type Report struct {
	Tool    string       `json:"tool"`
	Date    string       `json:"date"` // RFC 3339
	Host    string       `json:"host"`
	Devices []DeviceInfo `json:"devices,omitempty"`
	Rows    []Row        `json:"rows"`

	Command  string    `json:"command,omitempty"` // the command line
	Go       string    `json:"go,omitempty"`      // Go version, OS/arch
	Version  string    `json:"version,omitempty"` // gpuact's commit (" (modified)": uncommitted changes) or module version, when known
	Settings *Settings `json:"settings,omitempty"`
	// Seconds is how long the measurement took, from opening the backends to the last row.
	Seconds float64 `json:"seconds,omitempty"`
	// Copy holds the roofline: the device's own copy at each backend × dtype × n.
	Copy []CopyRow `json:"copy,omitempty"`
	// Mismatches is the number of rows beyond SEMANTICS §2's tolerance; Errors are device errors that cut
	// a backend's sweep short; Notes say what was skipped and why.
	Mismatches int      `json:"mismatches"`
	Errors     []string `json:"errors,omitempty"`
	Notes      []string `json:"notes,omitempty"`
}

// Settings records how the rows were measured.
type Settings struct {
	MinTimeNs    int64 `json:"min_time_ns"`
	WarmupNs     int64 `json:"warmup_ns"`
	MinReps      int   `json:"min_reps"`
	Verify       bool  `json:"verify"`
	RotateFactor int   `json:"rotate_factor"`
}

// DeviceInfo describes one measured backend.
type DeviceInfo struct {
	Backend      string            `json:"backend"`
	Name         string            `json:"name"`
	Vendor       string            `json:"vendor,omitempty"`
	Driver       string            `json:"driver,omitempty"`
	Type         string            `json:"type,omitempty"`
	MemoryBytes  int64             `json:"memory_bytes,omitempty"`
	ComputeUnits int               `json:"compute_units,omitempty"`
	Path         string            `json:"path,omitempty"`
	CacheBytes   int64             `json:"cache_bytes"`
	CacheFrom    string            `json:"cache_from,omitempty"` // device, sysfs LLC, default, -cache
	PeakGBps     float64           `json:"peak_gbps,omitempty"`
	Timer        bool              `json:"timer"`  // kernel times come from device events
	DTypes       []string          `json:"dtypes"` // the dtypes the device supports
	Denormals    bool              `json:"denormals"`
	Details      map[string]string `json:"details,omitempty"`
}

// Row is one backend × pass × activation × dtype × n.
type Row struct {
	Backend    string  `json:"backend"`
	Device     string  `json:"device"`
	Pass       string  `json:"pass"`
	Activation string  `json:"activation"`
	DType      string  `json:"dtype"`
	N          int     `json:"n"`
	MedianNs   float64 `json:"median_ns"` // per call, of the timing named by Timing
	GBps       float64 `json:"gbps"`      // effective: 2 (forward) or 3 (backward) arrays of n / MedianNs

	Timing    string  `json:"timing"` // "kernel" (device events) or "host" (wall time of call + sync)
	P10Ns     float64 `json:"p10_ns"`
	P90Ns     float64 `json:"p90_ns"`
	Samples   int     `json:"samples"`
	Batch     int     `json:"batch"`   // calls per sample
	Buffers   int     `json:"buffers"` // rotation sets the calls cycled through (1: no rotation)
	KernelNs  float64 `json:"kernel_ns,omitempty"`
	HostNs    float64 `json:"host_ns"`
	HostP10Ns float64 `json:"host_p10_ns"`
	HostP90Ns float64 `json:"host_p90_ns"`
	EnqueueNs float64 `json:"enqueue_ns,omitempty"`
	CopyGBps  float64 `json:"copy_gbps"`
	PctCopy   float64 `json:"pct_copy"`
	// RoofGBps is the roofline at this backend, dtype and n: the faster of the device's copy and the
	// fastest pass measured there (roofline.go); PctRoof is GBps as a share of it, at most 100.
	RoofGBps float64 `json:"roof_gbps"`
	PctRoof  float64 `json:"pct_roof"`
	PeakGBps float64 `json:"peak_gbps,omitempty"`
	PctPeak  float64 `json:"pct_peak,omitempty"`
	// MaxULP and OK are absent when the row was not verified (-verify=false).
	MaxULP   *uint64 `json:"max_ulp,omitempty"`
	TolULP   uint64  `json:"tolerance_ulp"`
	OK       *bool   `json:"ok,omitempty"`
	Mismatch string  `json:"mismatch,omitempty"`
}

// CopyRow is one measurement of the device's own copy (read + write bytes counted).
type CopyRow struct {
	Backend  string  `json:"backend"`
	DType    string  `json:"dtype"`
	N        int     `json:"n"`
	Timing   string  `json:"timing"`
	MedianNs float64 `json:"median_ns"`
	P10Ns    float64 `json:"p10_ns"`
	P90Ns    float64 `json:"p90_ns"`
	GBps     float64 `json:"gbps"`
	Buffers  int     `json:"buffers"`
}

func writeJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// csvColumns are the CSV columns, the JSON names of Row's fields.
var csvColumns = []struct {
	name string
	get  func(r *Row) string
}{
	{"backend", func(r *Row) string { return r.Backend }},
	{"device", func(r *Row) string { return r.Device }},
	{"pass", func(r *Row) string { return r.Pass }},
	{"activation", func(r *Row) string { return r.Activation }},
	{"dtype", func(r *Row) string { return r.DType }},
	{"n", func(r *Row) string { return strconv.Itoa(r.N) }},
	{"median_ns", func(r *Row) string { return fnum(r.MedianNs) }},
	{"gbps", func(r *Row) string { return fnum(r.GBps) }},
	{"timing", func(r *Row) string { return r.Timing }},
	{"p10_ns", func(r *Row) string { return fnum(r.P10Ns) }},
	{"p90_ns", func(r *Row) string { return fnum(r.P90Ns) }},
	{"samples", func(r *Row) string { return strconv.Itoa(r.Samples) }},
	{"batch", func(r *Row) string { return strconv.Itoa(r.Batch) }},
	{"buffers", func(r *Row) string { return strconv.Itoa(r.Buffers) }},
	{"kernel_ns", func(r *Row) string { return fnum(r.KernelNs) }},
	{"host_ns", func(r *Row) string { return fnum(r.HostNs) }},
	{"host_p10_ns", func(r *Row) string { return fnum(r.HostP10Ns) }},
	{"host_p90_ns", func(r *Row) string { return fnum(r.HostP90Ns) }},
	{"enqueue_ns", func(r *Row) string { return fnum(r.EnqueueNs) }},
	{"copy_gbps", func(r *Row) string { return fnum(r.CopyGBps) }},
	{"pct_copy", func(r *Row) string { return fnum(r.PctCopy) }},
	{"roof_gbps", func(r *Row) string { return fnum(r.RoofGBps) }},
	{"pct_roof", func(r *Row) string { return fnum(r.PctRoof) }},
	{"peak_gbps", func(r *Row) string { return fnum(r.PeakGBps) }},
	{"pct_peak", func(r *Row) string { return fnum(r.PctPeak) }},
	{"max_ulp", func(r *Row) string {
		if r.MaxULP == nil {
			return ""
		}
		return strconv.FormatUint(*r.MaxULP, 10)
	}},
	{"tolerance_ulp", func(r *Row) string { return strconv.FormatUint(r.TolULP, 10) }},
	{"ok", func(r *Row) string {
		if r.OK == nil {
			return ""
		}
		return strconv.FormatBool(*r.OK)
	}},
	{"mismatch", func(r *Row) string { return r.Mismatch }},
}

// writeCSV writes one header line and one line per row; empty cells are unmeasured or unverified.
func writeCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	head := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		head[i] = c.name
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for i := range rep.Rows {
		rec := make([]string, len(csvColumns))
		for j, c := range csvColumns {
			rec[j] = c.get(&rep.Rows[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// fnum formats a measured number for CSV: empty for zero (not measured), else the shortest exact form.
func fnum(v float64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// rowKey matches rows of different runs and backends: pass, activation, dtype and n.
type rowKey struct {
	pass, act, dtype string
	n                int
}

func (k rowKey) String() string { return fmt.Sprintf("%s %s %s n=%d", k.pass, k.act, k.dtype, k.n) }

func keyOf(r *Row) rowKey { return rowKey{r.Pass, r.Activation, r.DType, r.N} }
