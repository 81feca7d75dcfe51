package main

import (
	"fmt"
	"log"
	"math/bits"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// defaultSizes is the sweep of issue 14: n = 2^10, 2^12, ..., 2^26, from L1-resident arrays to ones
// (2^26 float64: 512 MiB each) far beyond any cache, where both sides are bound by memory.
var defaultSizes = func() string {
	var s []string
	for k := 10; k <= 26; k += 2 {
		s = append(s, strconv.Itoa(1<<k))
	}
	return strings.Join(s, ",")
}()

const (
	// batchTarget is how long one timed batch of calls lasts at least: long enough for the clock.
	batchTarget = 2 * time.Millisecond
	// minReps is the fewest timings a row gets however long one call is: a median needs three.
	minReps = 3
)

// timing says how many timings a row gets: reps, or fewer where one call is so long that reps of them
// would exceed budget (at 2^26, one call moves up to 1.5 GiB); bench/torch_cpu.py does the same.
type timing struct {
	reps   int
	budget time.Duration
}

func (t timing) method() *Method {
	return &Method{Reps: t.reps, MinReps: minReps, BatchS: batchTarget.Seconds(), RowBudgetS: t.budget.Seconds()}
}

// median times batches of fn of at least batchTarget and returns the median time of one call in ns,
// and how many timings and calls per timing it took.
func (t timing) median(fn func()) (ns int64, reps, batch int) {
	fn()
	start := time.Now()
	fn()
	one := max(time.Since(start), 1)
	batch = max(1, int(batchTarget/one))
	reps = t.reps
	if batch == 1 && t.budget > 0 {
		reps = max(min(reps, int(t.budget/one)), min(reps, minReps))
	}
	times := make([]int64, reps)
	for i := range times {
		start := time.Now()
		for range batch {
			fn()
		}
		times[i] = int64(time.Since(start)) / int64(batch)
	}
	slices.Sort(times)
	return times[reps/2], reps, batch
}

func parseSizes(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-sizes: %q is not a positive element count", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func parseDTypes(s string) ([]formula.DType, error) {
	var dts []formula.DType
	for _, f := range strings.Split(s, ",") {
		i := slices.IndexFunc(formula.DTypes, func(d formula.DType) bool { return d.String() == f })
		if i < 0 {
			return nil, fmt.Errorf("-dtypes: unknown dtype %q", f)
		}
		dts = append(dts, formula.DTypes[i])
	}
	return dts, nil
}

// measure times copy() and every pass × activation at every dtype and size once: one round.
func measure(b core.Backend, host string, dtypes []formula.DType, sizes []int, tm timing) (doc Doc, copies, copies2 map[string]float64) {
	doc = Doc{Tool: "gpuact", Date: time.Now().UTC().Format(time.RFC3339), Host: host}
	copies = map[string]float64{}  // key(dtype, n) → copy() GB/s
	copies2 = map[string]float64{} // key(dtype, n) → GB/s of copy() split over all cores
	for _, dt := range dtypes {
		for _, n := range sizes {
			c, c2 := measureCopy(dt, n, tm)
			copies[key(dt.String(), n)], copies2[key(dt.String(), n)] = c, c2
			doc.Rows = append(doc.Rows, measurePasses(b, dt, n, tm)...)
		}
	}
	return doc, copies, copies2
}

// measureCopy times Go's copy() of n elements of dt, on one goroutine and split over every core. Its
// arrays are garbage once it returns, before the passes allocate theirs (at 2^26 float64 each is 512
// MiB).
func measureCopy(dt formula.DType, n int, tm timing) (gbps1, gbpsAll float64) {
	bytes := n * dt.Size()
	src, dst := make([]byte, bytes), make([]byte, bytes)
	for i := range src { // real pages: an untouched slice reads the kernel's zero page, from cache
		src[i], dst[i] = byte(i), byte(i>>8)
	}
	t, _, _ := tm.median(func() { copy(dst, src) })
	t2, _, _ := tm.median(func() { parallelCopy(dst, src) })
	gbps1, gbpsAll = gbps(2, bytes, t), gbps(2, bytes, t2)
	fmt.Fprintf(os.Stderr, "copy() %-8s n=%-9d %7.2f GB/s, on %d goroutines %7.2f GB/s\n", dt, n, gbps1, runtime.GOMAXPROCS(0), gbpsAll)
	return gbps1, gbpsAll
}

// measurePasses times every pass × activation on one set of arrays: out, dy and x uniform in [-4, 4]
// as in the torch script, and for backward from output y = f(x), per activation. Filling the arrays
// once per size, not once per row, saves the sweep about a minute a round at 2^26.
func measurePasses(b core.Backend, dt formula.DType, n int, tm timing) []Row {
	var bufs [3]core.Buffer // out, in1 (x forward, dy backward), in2 (x)
	for i := range bufs {
		bufs[i] = upload(b, dt, n, uint64(i))
	}
	// y holds f(x) for backward from output: a fourth array, so that x stays for the other passes.
	y := alloc(b, dt, n)
	defer func() {
		for _, buf := range append(bufs[:], y) {
			b.Free(buf)
		}
	}()
	bytes := n * dt.Size()
	var rows []Row
	for _, p := range formula.Passes {
		for _, k := range formula.Kinds {
			act := k.Default()
			in2 := bufs[2]
			if p == formula.BackwardFromOutput { // y = f(x), as training hands it over
				if err := b.Forward(act, y, bufs[2]); err != nil {
					log.Fatal(err)
				}
				in2 = y
			}
			t, reps, batch := tm.median(func() {
				if err := core.Run(b, p, act, bufs[0], bufs[1], in2); err != nil {
					log.Fatal(err)
				}
			})
			r := Row{Backend: "cpu", Pass: p.String(), Activation: act.String(), DType: dt.String(), N: n, MedianNS: t, GBps: round2(gbps(p.Arrays(), bytes, t))}
			rows = append(rows, r)
			fmt.Fprintf(os.Stderr, "gpuact %-16s %-15s %-8s n=%-9d %10.1f us %7.2f GB/s (%d × %d calls)\n", r.Pass, r.Activation, r.DType, n, float64(t)/1e3, r.GBps, reps, batch)
		}
	}
	return rows
}

func alloc(b core.Backend, dt formula.DType, n int) core.Buffer {
	buf, err := b.Alloc(dt, n)
	if err != nil {
		log.Fatal(err)
	}
	return buf
}

// upload returns a buffer of n values uniform in [-4, 4], rounded to dt; seed tells the arrays apart.
func upload(b core.Backend, dt formula.DType, n int, seed uint64) core.Buffer {
	rng := rand.New(rand.NewPCG(1, 2+seed))
	h := make([]float64, n)
	for j := range h {
		h[j] = 8*rng.Float64() - 4
	}
	buf := alloc(b, dt, n)
	var err error
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
	return buf
}

// round16 rounds h to a 16-bit type, to nearest even.
func round16[T formula.F16 | formula.BF16](h []float64) []T {
	out := make([]T, len(h))
	for i, v := range h {
		out[i] = formula.FromFloat64[T](v)
	}
	return out
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

func key(dt string, n int) string { return dt + " n=" + fmtN(n) }

// fmtN writes n as 2^k where it is a power of two.
func fmtN(n int) string {
	if n > 1 && n&(n-1) == 0 {
		return fmt.Sprintf("2^%d", bits.TrailingZeros(uint(n)))
	}
	return strconv.Itoa(n)
}

func gbps(arrays, bytes int, ns int64) float64 { return float64(arrays*bytes) / float64(ns) }
func round2(v float64) float64                 { return float64(int64(v*100+0.5)) / 100 }
