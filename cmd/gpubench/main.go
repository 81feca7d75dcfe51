// Command gpubench measures gpuact's activation passes on this machine's devices, against the device's
// own copy bandwidth, and checks every result against the CPU oracle.
//
//	go run ./cmd/gpubench                         # the backend Auto picks, every pass, sizes 2^10..2^24
//	go run ./cmd/gpubench -list                   # every device gpuact sees, why any is unusable, Auto's pick
//	go run ./cmd/gpubench -backend all -plot bw.png
//	go run ./cmd/gpubench -backend cuda:0,cpu -o run.json
//	go run ./cmd/gpubench -compare torch.json     # side by side with a PyTorch reference run
//
// For each backend × pass × activation × dtype × size it reports the median time of one call with its
// spread (p10..p90), kernel time from device events where the backend has them (backend.Timer), host time
// per synchronised call, the enqueue cost of asynchronous backends, the effective bandwidth (forward
// moves 2 arrays of n elements, backward 3) as GB/s and as a share of the device's own copy measured in
// the same run, and the largest distance from the oracle in ULP. A result beyond the tolerance of
// SEMANTICS §2 (docs/SEMANTICS.md) is a mismatch: it is printed and the exit status is 1. Usage and
// device errors exit with status 2.
//
// Run gpubench -h for every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gpuact/gpuact/backend"
)

// Exit statuses.
const (
	exitOK       = 0
	exitMismatch = 1 // a result differs from the oracle beyond SEMANTICS §2
	exitError    = 2 // bad flags, an unusable backend, a device error
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is main with its arguments and outputs, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	return defaultEnv(stdout, stderr).run(args)
}

// env is what gpubench needs from the world; tests replace parts of it (a backend that gives wrong
// answers, a device list).
type env struct {
	stdout, stderr io.Writer
	open           func(spec string) (backend.Backend, error)
	list           func() []backend.Device
	choose         func() (backend.Backend, []backend.Device, error)
	llc            func() (int64, bool) // the CPU's last-level cache size
	progress       bool                 // draw a progress bar on stderr
	// interrupts delivers SIGINT and SIGTERM while the sweep runs (nil: it is not interrupted); release
	// gives the signals back their default action, so that a second one ends the process at once.
	interrupts func() (sig <-chan os.Signal, release func())
}

func defaultEnv(stdout, stderr io.Writer) *env {
	return &env{
		stdout: stdout, stderr: stderr,
		open: backend.Open, list: backend.List, choose: backend.Choose,
		llc:        func() (int64, bool) { return lastLevelCache(sysCPUCache) },
		progress:   isTerminal(stderr),
		interrupts: notifyInterrupts,
	}
}

// notifyInterrupts catches SIGINT (Ctrl-C) and SIGTERM (timeout(1), a job scheduler) so that an
// interrupted sweep still reports the rows it measured; a signal the process was started ignoring
// (nohup, a background job of a script) stays ignored.
func notifyInterrupts() (<-chan os.Signal, func()) {
	c := make(chan os.Signal, 1)
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		if !signal.Ignored(s) {
			signal.Notify(c, s)
		}
	}
	return c, func() { signal.Stop(c) }
}

const usageHead = `Usage: gpubench [flags]

gpubench measures gpuact's ReLU, LeakyReLU and ELU passes (forward, backward from input, backward from
output; float32, float64, float16 and bfloat16) on this machine's devices, compares each with the device's own copy
bandwidth measured in the same run, and checks every result against the CPU oracle (SEMANTICS §2,
the accuracy section of docs/SEMANTICS.md).

Examples:
  gpubench                                  the backend Auto picks (CUDA, else an OpenCL GPU, else the CPU)
  gpubench -list                            every device gpuact sees, why any is unusable, Auto's choice
  gpubench -backend all                     every usable device, side by side
  gpubench -backend cuda:0,opencl:0:0,cpu   these three, side by side
  gpubench -act elu -dtype float32 -pass forward -min 20 -max 26
  gpubench -n 1000000,4194304               exactly these sizes
  gpubench -o run.json -plot run.png        JSON (format from the extension) and a GB/s-against-n plot
  gpubench -format csv > run.csv            CSV on stdout, the summary on stderr
  gpubench -o report.html                   one self-contained page: devices, summary, figure, tables
  gpubench -compare prev.json               side by side with an earlier run (gpubench -o prev.json) or a PyTorch
                                            run (bench/torch_cpu.py, bench/torch_gpu.py); ≈ marks a ratio within the spread
  gpubench -time 200ms -reps 20             steadier numbers, slower

How it measures: each timing warms up, then takes samples of batches of calls until both -time and -reps
are reached, and reports the median and p10..p90. Host time is the wall time of a call and its Sync;
kernel time comes from device events (backends that implement backend.Timer: CUDA, OpenCL); enqueue is the
host cost of queuing a call on asynchronous backends. Bandwidth uses the kernel time where there is one.
When one call's buffers would fit in the device's cache (Info detail cache_bytes; on a CPU the LLC from
sysfs; else 64 MiB), calls rotate among buffer sets that together hold 3x the cache, so the numbers are
memory bandwidth, not cache bandwidth. Inputs are random in [-4, 4), never zero.

Output: an aligned table, then a summary (best backend, each pass as % of its copy bandwidth, mismatches).
With -format csv, json or html the data goes to stdout (or -o) and the summary to stderr (or stdout with -o).

Exit status: 0 all rows match the oracle; 1 a mismatch (printed; it wins over a device error); 2 bad
flags, an unusable backend, a device error, or an interrupted sweep (SIGINT or SIGTERM: the sweep stops
after the row it is on and reports what it measured; a second signal ends it at once).

Flags:
`

func (e *env) run(args []string) int {
	fs := flag.NewFlagSet("gpubench", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var cfg config
	spec := fs.String("backend", "auto", "backends to measure, comma-separated: auto, all, cpu, cuda[:N], opencl[:P[:D]]")
	list := fs.Bool("list", false, "list every device gpuact sees, why any is unusable and which one auto picks, and exit")
	minExp := fs.Int("min", 10, "smallest size, as a power of two (2^`k` elements)")
	maxExp := fs.Int("max", 24, "largest size, as a power of two (2^`k` elements)")
	sizes := fs.String("n", "", "`sizes` in elements, comma-separated, each a number or 2^k (1000,2^20); overrides -min and -max")
	dtypes := fs.String("dtype", "float32,float64,float16,bfloat16", "dtypes, comma-separated (f32, f64, f16, bf16 for short)")
	passes := fs.String("pass", "forward,backward-input,backward-output", "passes, comma-separated")
	acts := fs.String("act", "relu,leakyrelu,elu", "activations, comma-separated, each with an optional :alpha (leakyrelu:0.2)")
	fs.DurationVar(&cfg.minTime, "time", 15*time.Millisecond, "least time to sample each timing of a row (host, kernel, enqueue)")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Millisecond, "warm-up before each row's timings (at least one call)")
	fs.IntVar(&cfg.minReps, "reps", 3, "least number of samples per timing")
	fs.BoolVar(&cfg.verify, "verify", true, "check every row against the CPU oracle (SEMANTICS §2)")
	cache := fs.String("cache", "auto", "cache `size` to defeat by rotating buffers (64MiB, 50MB); 0: no rotation; auto: ask the device")
	format := fs.String("format", "", "output format: table, csv, json, markdown or html (a page with the summary, figure and tables; default: from -o's extension, else table)")
	out := fs.String("o", "", "write the results to `FILE` instead of stdout; its extension (.txt, .json, .csv, .md, .html) sets the format")
	plotPath := fs.String("plot", "", "draw GB/s against n per pass into `FILE` (.png, .svg, .pdf)")
	compare := fs.String("compare", "", "print an earlier run or a reference run from `FILE.json` (gpubench -format json, bench/torch_cpu.py, bench/torch_gpu.py) side by side, with ratios")
	fs.Usage = func() {
		fmt.Fprint(e.stderr, usageHead)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	usageErr := func(err error) int {
		fmt.Fprintln(e.stderr, "gpubench:", err)
		fmt.Fprintln(e.stderr, "run gpubench -h for the flags")
		return exitError
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0)))
	}
	if *list {
		return e.listDevices()
	}

	var err error
	if cfg.dtypes, err = parseDTypes(*dtypes); err != nil {
		return usageErr(err)
	}
	if cfg.passes, err = parsePasses(*passes); err != nil {
		return usageErr(err)
	}
	if cfg.acts, err = parseActs(*acts); err != nil {
		return usageErr(err)
	}
	if cfg.sizes, err = parseSizes(*sizes, *minExp, *maxExp); err != nil {
		return usageErr(err)
	}
	if cfg.cache, err = parseCache(*cache); err != nil {
		return usageErr(err)
	}
	if cfg.minTime < 0 || cfg.warmup < 0 || cfg.minReps < 1 {
		return usageErr(fmt.Errorf("-time %v -warmup %v -reps %d: want durations >= 0 and reps >= 1", cfg.minTime, cfg.warmup, cfg.minReps))
	}
	if *format == "" {
		if *format, err = formatFromExt(*out); err != nil {
			return usageErr(err)
		}
	}
	if !slices.Contains([]string{"table", "csv", "json", "markdown", "md", "html"}, *format) {
		return usageErr(fmt.Errorf("-format %q: want table, csv, json, markdown or html", *format))
	}
	if *plotPath != "" {
		switch strings.ToLower(filepath.Ext(*plotPath)) {
		case ".png", ".svg", ".pdf", ".eps":
		default:
			return usageErr(fmt.Errorf("-plot %q: want a file name ending in .png, .svg, .pdf or .eps", *plotPath))
		}
	}
	var ref *reference
	if *compare != "" {
		if ref, err = loadReference(*compare); err != nil {
			return usageErr(fmt.Errorf("-compare: %w", err))
		}
	}

	devs, err := e.openAll(*spec, cfg.cache)
	defer func() {
		for _, d := range devs {
			d.b.Close()
		}
	}()
	if err != nil {
		fmt.Fprintln(e.stderr, "gpubench:", err)
		return exitError
	}

	rep := newReport(args, cfg, devs)
	start := time.Now()
	bn := &bench{cfg: cfg, devs: devs, rep: rep}
	bn.progress = newProgress(e.stderr, bn.steps(), e.progress)
	if e.interrupts != nil {
		sig, release := e.interrupts()
		done := make(chan struct{})
		go func() {
			select {
			case s := <-sig:
				release()
				bn.interrupt(s.String())
			case <-done:
			}
		}()
		defer func() { close(done); release() }()
	}
	stopped := bn.run()
	bn.progress.finish()
	if stopped != nil {
		fmt.Fprintln(e.stderr, "gpubench:", stopped)
	}
	rep.Seconds = time.Since(start).Seconds()
	setRoofline(rep)
	for _, r := range rep.Rows {
		if r.OK != nil && !*r.OK {
			rep.Mismatches++
		}
	}

	if err := e.write(rep, ref, *format, *out, *plotPath); err != nil {
		fmt.Fprintln(e.stderr, "gpubench:", err)
		return exitError
	}
	switch {
	case rep.Mismatches > 0:
		return exitMismatch
	case len(rep.Errors) > 0:
		return exitError
	}
	return exitOK
}

// write sends the report where the flags say: the data in its format to -o or stdout, the human
// sections (mismatches, comparison, summary) with it for table and markdown, and to stdout (with -o)
// or stderr (csv and json on stdout) otherwise, so that stdout stays parseable.
func (e *env) write(rep *Report, ref *reference, format, out, plotPath string) error {
	var data io.Writer = e.stdout
	var f *os.File
	if out != "" {
		var err error
		if f, err = os.Create(out); err != nil {
			return err
		}
		defer f.Close()
		data = f
	}
	human := func(w io.Writer, markdown bool) {
		d := doc{w: w, markdown: markdown}
		writeProblems(d, rep)
		if ref != nil {
			writeCompare(d, rep, ref)
		}
		writeSummary(d, rep)
	}
	var err error
	switch format {
	case "json":
		err = writeJSON(data, rep)
	case "csv":
		err = writeCSV(data, rep)
	case "html":
		err = writeHTML(data, rep, ref)
	default:
		d := doc{w: data, markdown: format == "markdown" || format == "md"}
		writeHeader(d, rep)
		writeRows(d, rep)
		writeSideBySide(d, rep)
		human(data, d.markdown)
	}
	if err != nil {
		return err
	}
	switch {
	case out != "":
		writeHeader(doc{w: e.stdout}, rep)
		human(e.stdout, false)
		fmt.Fprintf(e.stdout, "\nresults written to %s (%s)\n", out, format)
	case format == "json" || format == "csv" || format == "html":
		human(e.stderr, false)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
	}
	if plotPath != "" {
		if err := writePlot(plotPath, rep); err != nil {
			return err
		}
		w := e.stdout
		if out == "" && (format == "json" || format == "csv" || format == "html") {
			w = e.stderr
		}
		fmt.Fprintf(w, "plot written to %s\n", plotPath)
	}
	return nil
}

// formatFromExt is the format -o's extension names when -format does not: table for no file or a .txt
// file; an extension it does not know is an error, never the table under another name.
func formatFromExt(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		return "json", nil
	case ".csv":
		return "csv", nil
	case ".md", ".markdown":
		return "markdown", nil
	case ".html", ".htm":
		return "html", nil
	case ".txt", ".text":
		return "table", nil
	case "":
		if path == "" {
			return "table", nil
		}
		fallthrough
	default:
		return "", fmt.Errorf("-o %q: no format for extension %q: want .txt (table), .json, .csv, .md or .html, or name one with -format", path, ext)
	}
}

// openAll opens the backends that spec names: a comma-separated list of auto, all and backend specs.
// Devices that are the same (same Info().Spec) are measured once.
func (e *env) openAll(spec string, cacheFlag int64) ([]*device, error) {
	var devs []*device
	add := func(b backend.Backend) {
		s := b.Info().Spec
		if slices.ContainsFunc(devs, func(d *device) bool { return d.info.Spec == s }) {
			b.Close()
			return
		}
		devs = append(devs, newDevice(b, cacheFlag, e.llc))
	}
	items := split(spec)
	if len(items) == 0 {
		return nil, fmt.Errorf("-backend %q: name at least one backend (auto, all, cpu, cuda:N, opencl:P:D)", spec)
	}
	for _, s := range items {
		switch strings.ToLower(s) {
		case "auto":
			b, _, err := e.choose()
			if err != nil {
				return devs, fmt.Errorf("-backend auto: %w", err)
			}
			add(b)
		case "all":
			n := 0
			for _, d := range e.list() {
				if !d.Usable || d.Open == nil {
					continue
				}
				b, err := d.Open()
				if err != nil {
					return devs, fmt.Errorf("-backend all: %s: %w", d.Spec, err)
				}
				add(b)
				n++
			}
			if n == 0 {
				return devs, fmt.Errorf("-backend all: no usable device (see gpubench -list)")
			}
		default:
			b, err := e.open(s)
			if err != nil {
				return devs, fmt.Errorf("-backend %s: %w (see gpubench -list)", s, err)
			}
			add(b)
		}
	}
	return devs, nil
}

func newReport(args []string, cfg config, devs []*device) *Report {
	host, _ := os.Hostname()
	rep := &Report{
		Tool: "gpubench", Date: time.Now().Format(time.RFC3339), Host: host, Rows: []Row{},
		Command: strings.Join(append([]string{"gpubench"}, args...), " "),
		Go:      runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Version: version(),
		Settings: &Settings{MinTimeNs: cfg.minTime.Nanoseconds(), WarmupNs: cfg.warmup.Nanoseconds(), MinReps: cfg.minReps,
			Verify: cfg.verify, RotateFactor: rotateFactor},
	}
	for _, d := range devs {
		rep.Devices = append(rep.Devices, d.describe())
	}
	return rep
}

func (d *device) describe() DeviceInfo {
	i := d.info
	return DeviceInfo{
		Backend: i.Spec, Name: i.Name, Vendor: i.Vendor, Driver: i.Driver, Type: i.Type.String(), MemoryBytes: i.Memory,
		ComputeUnits: i.ComputeUnits, Path: i.Details[backend.DetailPath], CacheBytes: d.cache, CacheFrom: d.cacheFrom,
		PeakGBps: d.peakGBps, Timer: d.timer != nil, DTypes: dtypeNames(i.DTypes.List()), Denormals: i.Denormals, Details: i.Details,
	}
}

// modulePath is gpuact's module, whose repository version() asks git about.
const modulePath = "github.com/gpuact/gpuact"

// version is the gpuact commit the binary was built from, " (modified)" added when its tree had
// uncommitted changes: from the build info (vcs.revision, vcs.modified), else the module version, else
// git, asked about the working directory's repository when that is gpuact's (go run and -buildvcs=false
// builds record no revision); "" when none of them says. It never fails.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, modified := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			if modified {
				rev += " (modified)"
			}
			return rev
		}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
	}
	return gitVersion()
}

// gitVersion asks git for the commit checked out in the working directory's repository, if that
// repository is gpuact (its go.mod names modulePath), within a few seconds.
func gitVersion() string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	git := func(args ...string) (string, bool) {
		out, err := exec.CommandContext(ctx, "git", args...).Output()
		return strings.TrimSpace(string(out)), err == nil
	}
	top, ok := git("rev-parse", "--show-toplevel")
	if !ok {
		return ""
	}
	mod, err := os.ReadFile(filepath.Join(top, "go.mod"))
	if err != nil || !strings.HasPrefix(string(mod), "module "+modulePath+"\n") {
		return ""
	}
	rev, ok := git("rev-parse", "HEAD")
	if !ok {
		return ""
	}
	if st, ok := git("status", "--porcelain", "--untracked-files=no"); ok && st != "" {
		rev += " (modified)"
	}
	return rev
}

// listDevices prints every device gpuact sees, usable or not and why, and which one Auto picks.
func (e *env) listDevices() int {
	w := e.stdout
	fmt.Fprintln(w, "Devices gpuact sees, in Auto's order of preference:")
	t := newTable("spec", "type", "name", "status")
	for _, d := range e.list() {
		typ, status := "-", "usable"
		if d.Type != 0 {
			typ = d.Type.String()
		}
		if !d.Usable {
			status = "unusable: " + d.Reason
		} else if d.Open != nil {
			if b, err := d.Open(); err != nil {
				status = "fails to open: " + err.Error()
			} else {
				status = "usable: " + deviceDetails(newDevice(b, -1, e.llc).describe())
				b.Close()
			}
		}
		t.add(d.Spec, typ, d.Name, status)
	}
	t.text(w, "  ")
	b, skipped, err := e.choose()
	if err != nil {
		fmt.Fprintf(w, "\nAuto (what -backend auto and backend.Auto() open): error: %v\n", err)
		return exitError
	}
	defer b.Close()
	i := b.Info()
	how := "chooses"
	if v := os.Getenv(backend.EnvVar); v != "" {
		how = "is told by " + backend.EnvVar + "=" + v + " to use"
	}
	fmt.Fprintf(w, "\nAuto (what -backend auto and backend.Auto() open) %s %s: %s\n", how, i.Spec, i.Name)
	for _, d := range skipped {
		fmt.Fprintf(w, "  skipped %s: %s\n", d.Spec, d.Reason)
	}
	return exitOK
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseDTypes(s string) ([]backend.DType, error) {
	return parseList("-dtype", s, backend.ParseDType)
}

func parsePasses(s string) ([]backend.Pass, error) { return parseList("-pass", s, backend.ParsePass) }

// parseList parses a comma-separated flag value with parse, dropping repeats.
func parseList[T comparable](flag, s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range split(s) {
		v, err := parse(f)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", flag, f, err)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s %q: name at least one", flag, s)
	}
	return out, nil
}

// dtypeNames are the names of dts.
func dtypeNames(dts []backend.DType) []string {
	out := make([]string, len(dts))
	for i, dt := range dts {
		out[i] = dt.String()
	}
	return out
}

func parseActs(s string) ([]backend.Activation, error) {
	var out []backend.Activation
	for _, f := range split(s) {
		a, err := backend.ParseActivation(f)
		if err != nil {
			return nil, fmt.Errorf("-act: %w", err)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-act %q: name at least one activation", s)
	}
	return out, nil
}

// maxExp bounds the sizes: 2^34 elements of float64 is 128 GiB per array; on 32-bit platforms 2^30, the
// largest power of two an int holds.
const maxExp = min(34, strconv.IntSize-2)

// parseSizes reads -n (numbers or 2^k, comma-separated), or else makes 2^min..2^max.
func parseSizes(list string, lo, hi int) ([]int, error) {
	if strings.TrimSpace(list) == "" {
		if lo < 0 || hi > maxExp || lo > hi {
			return nil, fmt.Errorf("-min %d -max %d: want 0 <= min <= max <= %d", lo, hi, maxExp)
		}
		var out []int
		for k := lo; k <= hi; k++ {
			out = append(out, 1<<k)
		}
		return out, nil
	}
	var out []int
	for _, f := range split(list) {
		var n int
		if base, exp, ok := strings.Cut(f, "^"); ok && base == "2" {
			k, err := strconv.Atoi(exp)
			if err != nil || k < 0 || k > maxExp {
				return nil, fmt.Errorf("-n %q: want 2^k with 0 <= k <= %d", f, maxExp)
			}
			n = 1 << k
		} else {
			v, err := strconv.Atoi(f)
			if err != nil || v < 1 || v > 1<<maxExp {
				return nil, fmt.Errorf("-n %q: want a size from 1 to 2^%d", f, maxExp)
			}
			n = v
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-n %q: name at least one size", list)
	}
	slices.Sort(out)
	return out, nil
}

// parseCache reads -cache: auto (-1: ask the device), 0 (no rotation) or a size.
func parseCache(s string) (int64, error) {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		return -1, nil
	}
	v, err := parseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("-cache: %w (or auto)", err)
	}
	return v, nil
}
