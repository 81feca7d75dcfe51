// Command cpubench times gpuact's CPU backend on every pass against Go's copy() of the same arrays, in
// one run, and writes JSON rows in the schema gpubench -compare reads. Given -torch (the JSON of
// bench/torch_cpu.py), it prints a table of per-pass ratios: gpuact / PyTorch throughput and each side's
// share of copy() bandwidth. `make bench-vs-torch` runs both.
//
//	go run ./bench/cpubench -sizes 4096,16777216 -rounds 3 -torch-cmd "python3 bench/torch_cpu.py" \
//		-o gpuact.json -torch-out torch.json
//
// Each row is the median over -reps timings of a batch of calls long enough (about 2 ms) to time
// well. GB/s counts the arrays a pass moves (2 forward, 3 backward) once each, like the torch script.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
)

// Doc and Row are the JSON schema shared with bench/torch_cpu.py and gpubench -compare.
type Doc struct {
	Tool string `json:"tool"`
	Date string `json:"date"`
	Host string `json:"host"`
	Rows []Row  `json:"rows"`
}

type Row struct {
	Backend    string  `json:"backend"`
	Pass       string  `json:"pass"`
	Activation string  `json:"activation"`
	DType      string  `json:"dtype"`
	N          int     `json:"n"`
	MedianNS   int64   `json:"median_ns"`
	GBps       float64 `json:"gbps"`
	Op         string  `json:"op,omitempty"` // torch: the aten op timed
}

func main() {
	sizes := flag.String("sizes", "4096,16777216", "comma-separated element counts")
	dtypes := flag.String("dtypes", "float32,float64", "comma-separated dtypes (float16 and bfloat16 too)")
	reps := flag.Int("reps", 15, "timings per row; the median is reported")
	impl := flag.String("impl", "", "CPU implementation (default: what cpu.New picks; see cpu.Implementations)")
	out := flag.String("o", "", "write the JSON rows here")
	torch := flag.String("torch", "", "JSON of bench/torch_cpu.py to compare with")
	torchCmd := flag.String("torch-cmd", "", "command running bench/torch_cpu.py once per round (it gets -sizes, -dtypes, -reps, -o)")
	torchOut := flag.String("torch-out", "", "write torch's median rows here (with -torch-cmd)")
	rounds := flag.Int("rounds", 1, "rounds of measurement (alternating with torch under -torch-cmd); medians are reported")
	flag.Parse()

	b := cpu.New()
	if *impl != "" {
		var err error
		if b, err = cpu.NewImplementation(*impl); err != nil {
			log.Fatal(err)
		}
	}
	defer b.Close()
	host := fmt.Sprintf("%s, %s, GOMAXPROCS %d, %s", hostname(), b.Info().Name, runtime.GOMAXPROCS(0), b.Info().Details["path"])
	// Each round runs the torch script (when -torch-cmd is set) and then gpuact's measurement; every
	// reported number is the median over rounds, so load from elsewhere on a shared machine hits both
	// sides alike.
	var ours, theirs []Doc
	var copies, copies2 []map[string]float64
	for r := range *rounds {
		if *torchCmd != "" {
			theirs = append(theirs, runTorch(*torchCmd, *sizes, *dtypes, *reps))
		}
		fmt.Fprintf(os.Stderr, "round %d of %d\n", r+1, *rounds)
		doc, c, c2 := measure(b, host, *sizes, *dtypes, *reps)
		ours, copies, copies2 = append(ours, doc), append(copies, c), append(copies2, c2)
	}
	doc := mergeDocs(ours)
	if *out != "" {
		writeDoc(*out, doc)
	}
	if *torchCmd != "" {
		t := mergeDocs(theirs)
		if *torchOut != "" {
			writeDoc(*torchOut, t)
		}
		compare(doc, t, medianMap(copies), medianMap(copies2), *rounds)
	} else if *torch != "" {
		data, err := os.ReadFile(*torch)
		if err != nil {
			log.Fatal(err)
		}
		var t Doc
		if err := json.Unmarshal(data, &t); err != nil {
			log.Fatalf("%s: %v", *torch, err)
		}
		compare(doc, t, medianMap(copies), medianMap(copies2), *rounds)
	}
}

// measure times copy() and every pass at every size once.
func measure(b core.Backend, host, sizes, dtypes string, reps int) (doc Doc, copies, copies2 map[string]float64) {
	doc = Doc{Tool: "gpuact", Date: time.Now().UTC().Format(time.RFC3339), Host: host}
	copies = map[string]float64{}  // dtype/n → copy() GB/s
	copies2 = map[string]float64{} // dtype/n → GB/s of copy() split over all cores
	for _, dts := range strings.Split(dtypes, ",") {
		i := slices.IndexFunc(formula.DTypes, func(d formula.DType) bool { return d.String() == dts })
		if i < 0 {
			log.Fatalf("unknown dtype %q", dts)
		}
		dt := formula.DTypes[i]
		for _, ns := range strings.Split(sizes, ",") {
			n, err := strconv.Atoi(ns)
			if err != nil {
				log.Fatal(err)
			}
			bytes := n * dt.Size()
			src, dst := make([]byte, bytes), make([]byte, bytes)
			for i := range src { // real pages: an untouched slice reads the kernel's zero page, from cache
				src[i], dst[i] = byte(i), byte(i>>8)
			}
			t := median(reps, func() { copy(dst, src) })
			copies[key(dts, n)] = gbps(2, bytes, t)
			t2 := median(reps, func() { parallelCopy(dst, src) })
			copies2[key(dts, n)] = gbps(2, bytes, t2)
			fmt.Fprintf(os.Stderr, "copy() %-8s n=%-9d %7.2f GB/s, on %d goroutines %7.2f GB/s\n", dts, n, gbps(2, bytes, t), runtime.GOMAXPROCS(0), gbps(2, bytes, t2))
			for _, p := range formula.Passes {
				for _, k := range formula.Kinds {
					act := k.Default()
					bufs := buffers(b, dt, n, p, act)
					t := median(reps, func() {
						if err := core.Run(b, p, act, bufs[0], bufs[1], bufs[2]); err != nil {
							log.Fatal(err)
						}
					})
					for _, buf := range bufs {
						b.Free(buf)
					}
					r := Row{Backend: "cpu", Pass: p.String(), Activation: act.String(), DType: dts, N: n, MedianNS: t, GBps: round2(gbps(p.Arrays(), bytes, t))}
					doc.Rows = append(doc.Rows, r)
					fmt.Fprintf(os.Stderr, "gpuact %-16s %-15s %-8s n=%-9d %10.1f us %7.2f GB/s\n", r.Pass, r.Activation, dts, n, float64(t)/1e3, r.GBps)
				}
			}
		}
	}
	return doc, copies, copies2
}

// runTorch runs the torch script once and reads its rows.
func runTorch(cmd, sizes, dtypes string, reps int) Doc {
	f, err := os.CreateTemp("", "torch-*.json")
	if err != nil {
		log.Fatal(err)
	}
	f.Close()
	defer os.Remove(f.Name())
	c := exec.Command("sh", "-c", fmt.Sprintf("%s -sizes %s -dtypes %s -reps %d -o %s", cmd, sizes, dtypes, reps, f.Name()))
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		log.Fatalf("%s: %v", cmd, err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		log.Fatal(err)
	}
	var d Doc
	if err := json.Unmarshal(data, &d); err != nil {
		log.Fatalf("%s: %v", cmd, err)
	}
	return d
}

// mergeDocs returns the first document with each row's time the median over all documents.
func mergeDocs(docs []Doc) Doc {
	out := docs[0]
	out.Rows = slices.Clone(out.Rows)
	for i, r := range out.Rows {
		var ts []int64
		for _, d := range docs {
			for _, o := range d.Rows {
				if rowKey(o) == rowKey(r) {
					ts = append(ts, o.MedianNS)
				}
			}
		}
		slices.Sort(ts)
		m := ts[len(ts)/2]
		out.Rows[i].GBps = round2(r.GBps * float64(r.MedianNS) / float64(m))
		out.Rows[i].MedianNS = m
	}
	return out
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

func writeDoc(path string, d Doc) {
	data, _ := json.MarshalIndent(d, "", " ")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}

// compare prints, per row, gpuact's and torch's GB/s, their ratio and each as a share of copy().
func compare(ours, theirs Doc, copies, copies2 map[string]float64, rounds int) {
	index := map[string]Row{}
	for _, r := range theirs.Rows {
		index[rowKey(r)] = r
	}
	fmt.Printf("gpuact: %s (%s)\ntorch:  %s (%s)\nmedians over %d rounds\n\n", ours.Host, ours.Date, theirs.Host, theirs.Date, rounds)
	fmt.Printf("copy() is Go's copy on one goroutine; copy()×%d splits it over every core (the bus's bandwidth).\n\n", runtime.GOMAXPROCS(0))
	fmt.Printf("| dtype | n | pass | activation | gpuact GB/s | torch GB/s | gpuact / torch | gpuact / copy() | gpuact / copy()×%d | torch / copy()×%d |\n", runtime.GOMAXPROCS(0), runtime.GOMAXPROCS(0))
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	rows := slices.Clone(ours.Rows)
	slices.SortStableFunc(rows, func(a, b Row) int { return a.N - b.N })
	for _, r := range rows {
		c, c2 := copies[key(r.DType, r.N)], copies2[key(r.DType, r.N)]
		t, ok := index[rowKey(r)]
		tg, ratio, tc := "—", "—", "—"
		if ok {
			tg = fmt.Sprintf("%.2f", t.GBps)
			ratio = fmt.Sprintf("%.2f×", r.GBps/t.GBps)
			tc = fmt.Sprintf("%.0f%%", 100*t.GBps/c2)
		}
		fmt.Printf("| %s | 2^%d | %s | %s | %.2f | %s | %s | %.0f%% | %.0f%% | %s |\n", r.DType, log2(r.N), r.Pass, r.Activation, r.GBps, tg, ratio, 100*r.GBps/c, 100*r.GBps/c2, tc)
	}
	fmt.Println()
	for _, k := range slices.Sorted(mapsKeys(copies)) {
		fmt.Printf("copy() %s: %.2f GB/s, copy()×%d: %.2f GB/s\n", k, copies[k], runtime.GOMAXPROCS(0), copies2[k])
	}
}

func mapsKeys(m map[string]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func rowKey(r Row) string { return fmt.Sprintf("%s/%s/%s/%d", r.Pass, r.Activation, r.DType, r.N) }
func key(dt string, n int) string {
	return fmt.Sprintf("%s n=2^%d", dt, log2(n))
}

func log2(n int) int {
	l := 0
	for 1<<(l+1) <= n {
		l++
	}
	return l
}

func gbps(arrays, bytes int, ns int64) float64 { return float64(arrays*bytes) / float64(ns) }
func round2(v float64) float64                 { return float64(int64(v*100+0.5)) / 100 }

// median times batches of fn of about 2 ms and returns the median time of one call in ns.
func median(reps int, fn func()) int64 {
	fn()
	start := time.Now()
	fn()
	batch := max(1, int(2*time.Millisecond/max(time.Since(start), 1)))
	times := make([]int64, reps)
	for i := range times {
		start := time.Now()
		for range batch {
			fn()
		}
		times[i] = int64(time.Since(start)) / int64(batch)
	}
	slices.Sort(times)
	return times[reps/2]
}

// parallelCopy copies in one chunk per core: what the memory bus gives when every core streams.
func parallelCopy(dst, src []byte) {
	w := runtime.GOMAXPROCS(0)
	chunk := (len(src)/w + 63) &^ 63
	var wg sync.WaitGroup
	for lo := 0; lo < len(src); lo += chunk {
		hi := min(lo+chunk, len(src))
		wg.Go(func() { copy(dst[lo:hi], src[lo:hi]) })
	}
	wg.Wait()
}

// buffers returns out, in1, in2 for pass p: x and dy uniform in [-4, 4] as in the torch script, and
// for backward from output y = f(x).
func buffers(b core.Backend, dt formula.DType, n int, p formula.Pass, act formula.Activation) [3]core.Buffer {
	rng := rand.New(rand.NewPCG(1, 2))
	var bufs [3]core.Buffer
	for i := range bufs {
		buf, err := b.Alloc(dt, n)
		if err != nil {
			log.Fatal(err)
		}
		h := make([]float64, n)
		for j := range h {
			h[j] = 8*rng.Float64() - 4
		}
		switch dt {
		case formula.Float32:
			h32 := make([]float32, n)
			for j := range h {
				h32[j] = float32(h[j])
			}
			err = b.Upload(buf, core.HostOf(h32))
		case formula.Float64:
			err = b.Upload(buf, core.HostOf(h))
		case formula.Float16:
			err = b.Upload(buf, core.HostOf(round16[formula.F16](h)))
		case formula.BFloat16:
			err = b.Upload(buf, core.HostOf(round16[formula.BF16](h)))
		default:
			err = fmt.Errorf("cpubench has no inputs for %s", dt)
		}
		if err != nil {
			log.Fatal(err)
		}
		bufs[i] = buf
	}
	if p == formula.BackwardFromOutput { // y = f(x) in place of the random second input
		if err := b.Forward(act, bufs[2], bufs[2]); err != nil {
			log.Fatal(err)
		}
	}
	return bufs
}

// round16 rounds h to a 16-bit type, to nearest even.
func round16[T formula.F16 | formula.BF16](h []float64) []T {
	out := make([]T, len(h))
	for i, v := range h {
		out[i] = formula.FromFloat64[T](v)
	}
	return out
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
