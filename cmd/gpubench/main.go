// Command gpubench measures gpuact's activation passes on this machine's devices and checks every result
// against the CPU oracle.
//
//	go run ./cmd/gpubench                  # the backend Auto picks, sizes 2^10..2^24
//	go run ./cmd/gpubench -list            # every device gpuact sees, and why any is unusable
//	go run ./cmd/gpubench -backend cpu -min 20 -max 22 -act elu -dtype float32
//
// For each pass × activation × dtype × size it prints the median time of one call (synchronised), the
// effective bandwidth (forward moves 2 arrays of n elements, backward 3) and the largest distance from
// the oracle in ULP. A result beyond SPEC §2's tolerance is a mismatch: it is printed and the exit
// status is 1.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gpuact/gpuact/backend"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is main with its arguments and outputs, for tests: 0 all good, 1 a mismatch, 2 a usage or device error.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gpubench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	spec := fs.String("backend", "auto", "backend to measure: auto, cpu, cuda[:N], opencl[:P[:D]]")
	list := fs.Bool("list", false, "list every backend and device gpuact sees, with the reason any is unusable, and exit")
	fs.IntVar(&cfg.minExp, "min", 10, "smallest size, as a power of two")
	fs.IntVar(&cfg.maxExp, "max", 24, "largest size, as a power of two")
	dtypes := fs.String("dtype", "float32,float64", "dtypes, comma-separated")
	passes := fs.String("pass", "forward,backward-input,backward-output", "passes, comma-separated")
	acts := fs.String("act", "relu,leakyrelu,elu", "activations, comma-separated, each with an optional :alpha")
	fs.DurationVar(&cfg.minTime, "time", 20*time.Millisecond, "least time to spend timing each row (at least -reps calls)")
	fs.IntVar(&cfg.minReps, "reps", 3, "least number of timed calls per row")
	fs.BoolVar(&cfg.verify, "verify", true, "check every result against the CPU oracle")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gpubench [flags]\n\nMeasures gpuact's activations and checks them against the CPU oracle.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		for _, d := range backend.List() {
			fmt.Fprintln(stdout, d)
		}
		return 0
	}
	var err error
	if cfg.dtypes, err = parseDTypes(*dtypes); err == nil {
		if cfg.passes, err = parsePasses(*passes); err == nil {
			cfg.acts, err = parseActs(*acts)
		}
	}
	if err == nil && (cfg.minExp < 0 || cfg.maxExp > 34 || cfg.minExp > cfg.maxExp) {
		err = fmt.Errorf("-min %d -max %d: want 0 <= min <= max <= 34", cfg.minExp, cfg.maxExp)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gpubench:", err)
		return 2
	}

	var b backend.Backend
	if *spec == "auto" {
		b, err = backend.Auto()
	} else {
		b, err = backend.Open(*spec)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gpubench:", err)
		return 2
	}
	defer b.Close()
	info := b.Info()
	fmt.Fprintf(stdout, "backend %s: %s (%s), %d compute units, %.1f GiB\n\n", info.Spec, info.Name, info.Vendor,
		info.ComputeUnits, float64(info.Memory)/(1<<30))

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pass\tactivation\tdtype\tn\tmedian\tGB/s\tmax ULP\tresult\t")
	mismatches := 0
	err = measure(b, cfg, func(r row) {
		status := "ok"
		switch {
		case !cfg.verify:
			status = "-"
		case !r.check.OK():
			status = "MISMATCH"
			mismatches++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%.2f\t%s\t%s\t\n", r.pass, r.act, r.dtype, r.n, fmtDuration(r.median), r.gbps, fmtULP(r), status)
		if status == "MISMATCH" {
			tw.Flush()
			fmt.Fprintf(stdout, "  mismatch: %v\n", r.check)
		}
	})
	tw.Flush()
	if err != nil {
		fmt.Fprintln(stderr, "gpubench:", err)
		return 2
	}
	if mismatches > 0 {
		fmt.Fprintf(stdout, "\n%d rows do not match the oracle\n", mismatches)
		return 1
	}
	return 0
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d.Nanoseconds())/1e3)
	}
	return fmt.Sprintf("%.2fms", float64(d.Nanoseconds())/1e6)
}

func fmtULP(r row) string {
	if r.check.N == 0 {
		return "-"
	}
	if r.check.MaxULP > 1<<40 {
		return "huge"
	}
	return fmt.Sprint(r.check.MaxULP)
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
	var out []backend.DType
	for _, f := range split(s) {
		switch f {
		case "float32", "f32":
			out = append(out, backend.Float32)
		case "float64", "f64":
			out = append(out, backend.Float64)
		default:
			return nil, fmt.Errorf("-dtype %q: want float32 or float64", f)
		}
	}
	return out, nil
}

func parsePasses(s string) ([]backend.Pass, error) {
	var out []backend.Pass
	for _, f := range split(s) {
		found := false
		for _, p := range []backend.Pass{backend.Forward, backend.BackwardFromInput, backend.BackwardFromOutput} {
			if p.String() == f {
				out, found = append(out, p), true
			}
		}
		if !found {
			return nil, fmt.Errorf("-pass %q: want forward, backward-input or backward-output", f)
		}
	}
	return out, nil
}

func parseActs(s string) ([]backend.Activation, error) {
	var out []backend.Activation
	for _, f := range split(s) {
		a, err := backend.ParseActivation(f)
		if err != nil {
			return nil, fmt.Errorf("-act: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}
