// Command cpubench times gpuact's CPU backend on every pass against Go's copy() of the same arrays, in
// one run, and writes JSON rows in the schema gpubench -compare reads. Given PyTorch's rows (-torch,
// the JSON of bench/torch_cpu.py, or -torch-cmd, which runs the script in alternating rounds), it
// prints the machine (CPU model and SIMD flags, GOMAXPROCS, Go, torch's version, threads and CPU
// capability), a table of per-row ratios (gpuact / PyTorch throughput and each side's share of copy()
// bandwidth), a summary grid of gpuact / PyTorch per dtype × pass × activation and size with its
// minimum, and with -plot a figure of that grid against n. `make bench-vs-torch` runs it all.
//
//	go run ./bench/cpubench -sizes 4096,16777216 -rounds 3 -torch-cmd "python3 bench/torch_cpu.py" \
//		-o gpuact.json -torch-out torch.json -plot out/
//
// Files: sweep.go measures (one round), torch.go runs the torch script, doc.go is the JSON, machine.go
// reads the processor, table.go prints the tables, plot.go draws the figure.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpuact/gpuact/backend/cpu"
)

func main() {
	sizes := flag.String("sizes", defaultSizes, "comma-separated element counts")
	dtypes := flag.String("dtypes", "float32,float64", "comma-separated dtypes (float16 and bfloat16 too)")
	reps := flag.Int("reps", 15, "timings per row; the median is reported")
	budget := flag.Duration("row-budget", 250*time.Millisecond, "where one call is long, time a row about this long: fewer than -reps timings, never under 3 (0: always -reps)")
	impl := flag.String("impl", "", "CPU implementation (default: what cpu.New picks; see cpu.Implementations)")
	out := flag.String("o", "", "write the JSON rows here")
	torch := flag.String("torch", "", "JSON of bench/torch_cpu.py to compare with")
	torchCmd := flag.String("torch-cmd", "", "command running bench/torch_cpu.py once per round (it gets -sizes, -dtypes, -reps, -row-budget, -o)")
	torchOut := flag.String("torch-out", "", "write torch's median rows here (with -torch-cmd)")
	rounds := flag.Int("rounds", 1, "rounds of measurement (alternating with torch under -torch-cmd); medians are reported")
	plotTo := flag.String("plot", "", "draw gpuact / PyTorch against n into this file (.png, .svg, .pdf) or directory (writes "+plotName+")")
	replot := flag.String("replot", "", "measure nothing: print the summary and draw -plot from these saved rows (-o of an earlier run) and -torch's")
	flag.Parse()
	if *replot != "" {
		if *torch == "" || *plotTo == "" {
			log.Fatal("-replot needs -torch and -plot")
		}
		ours, theirs := readDoc(*replot), readDoc(*torch)
		s := newSummary(ours, theirs)
		s.print(os.Stdout)
		path, err := writePlot(*plotTo, s, ours, theirs)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("\nplot: %s\n", path)
		return
	}
	ns, err := parseSizes(*sizes)
	if err != nil {
		log.Fatal(err)
	}
	dts, err := parseDTypes(*dtypes)
	if err != nil {
		log.Fatal(err)
	}
	if *reps < 1 || *rounds < 1 {
		log.Fatal("-reps and -rounds must be at least 1")
	}
	if *plotTo != "" && *torch == "" && *torchCmd == "" {
		log.Fatal("-plot draws gpuact / PyTorch: it needs -torch or -torch-cmd")
	}
	tm := timing{reps: *reps, budget: *budget}
	method := tm.method()
	method.Rounds = *rounds

	b := cpu.New()
	if *impl != "" {
		if b, err = cpu.NewImplementation(*impl); err != nil {
			log.Fatal(err)
		}
	}
	defer b.Close()
	host := fmt.Sprintf("%s, %s, GOMAXPROCS %d, %s", hostname(), b.Info().Name, runtime.GOMAXPROCS(0), b.Info().Details["path"])
	var sizeList []string // the sizes as parsed, for the torch script
	for _, n := range ns {
		sizeList = append(sizeList, strconv.Itoa(n))
	}
	// Each round runs the torch script (when -torch-cmd is set) and then gpuact's measurement; every
	// reported number is the median over rounds, so load from elsewhere on a shared machine hits both
	// sides alike.
	var ours, theirs []Doc
	var copies, copies2 []map[string]float64
	start := time.Now()
	for r := range *rounds {
		fmt.Fprintf(os.Stderr, "round %d of %d (%s so far)\n", r+1, *rounds, time.Since(start).Round(time.Second))
		if *torchCmd != "" {
			theirs = append(theirs, runTorch(*torchCmd, strings.Join(sizeList, ","), *dtypes, tm))
		}
		doc, c, c2 := measure(b, host, dts, ns, tm)
		ours, copies, copies2 = append(ours, doc), append(copies, c), append(copies2, c2)
	}
	fmt.Fprintf(os.Stderr, "%d rounds in %s\n", *rounds, time.Since(start).Round(time.Second))
	machine := machineCPU()
	doc := mergeDocs(ours)
	doc.CPU, doc.GOMAXPROCS, doc.Go, doc.Method = machine, runtime.GOMAXPROCS(0), goVersion(), method
	if *out != "" {
		writeDoc(*out, doc)
	}
	var t Doc
	switch {
	case *torchCmd != "":
		t = mergeDocs(theirs)
		// The script records torch's own settings; the machine and the rounds are cpubench's to say.
		t.CPU = machine
		if t.Method == nil {
			t.Method = &Method{}
		}
		t.Method.Rounds = *rounds
		if *torchOut != "" {
			writeDoc(*torchOut, t)
		}
	case *torch != "":
		t = readDoc(*torch)
	default:
		return
	}
	printHeader(os.Stdout, doc, t, *torchCmd != "")
	printDetail(os.Stdout, doc, t, medianMap(copies), medianMap(copies2))
	s := newSummary(doc, t)
	s.print(os.Stdout)
	if *plotTo != "" {
		path, err := writePlot(*plotTo, s, doc, t)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("\nplot: %s\n", path)
	}
}

func medianMap(ms []map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k := range ms[0] {
		var vs []float64
		for _, m := range ms {
			vs = append(vs, m[k])
		}
		slices.Sort(vs)
		out[k] = vs[len(vs)/2]
	}
	return out
}
