package cpu_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
)

// BenchmarkPasses times every pass against a Go copy() of the same arrays in the same run: the ratio of
// the two, not either number alone, is what to read on a noisy machine. Bytes count the arrays a pass
// moves (2 forward, 3 backward), so MB/s is effective bandwidth.
func BenchmarkPasses(b *testing.B) {
	be := cpu.New()
	defer be.Close()
	for _, n := range []int{1 << 12, 1 << 16, 1 << 20, 1 << 24} {
		for _, dt := range formula.DTypes {
			bytes := int64(n * dt.Size())
			b.Run(fmt.Sprintf("copy/%s/n=%d", dt, n), func(b *testing.B) {
				src, dst := make([]byte, bytes), make([]byte, bytes)
				for i := range src { // written pages: untouched ones read the zero page, from cache
					src[i], dst[i] = byte(i), byte(i>>8)
				}
				b.SetBytes(2 * bytes)
				for b.Loop() {
					copy(dst, src)
				}
			})
			// The backend's own Copy (parallelCopy) on buffers from Alloc: the CPU's roofline, and a
			// check that the memory Alloc hands out is as fast as the Go heap's (transparent huge pages).
			b.Run(fmt.Sprintf("backend-copy/%s/n=%d", dt, n), func(b *testing.B) {
				dst, src, _ := benchBuffers(b, be, dt, n)
				b.SetBytes(2 * bytes)
				for b.Loop() {
					if err := be.Copy(dst, src); err != nil {
						b.Fatal(err)
					}
				}
			})
			for _, p := range formula.Passes {
				for _, k := range formula.Kinds {
					act := k.Default()
					b.Run(fmt.Sprintf("%s/%s/%s/n=%d", p, k, dt, n), func(b *testing.B) {
						out, in1, in2 := benchBuffers(b, be, dt, n)
						b.SetBytes(int64(p.Arrays()) * bytes)
						for b.Loop() {
							if err := core.Run(be, p, act, out, in1, in2); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
			}
		}
	}
}

// BenchmarkThreshold times passes around the size where the backend starts splitting calls across
// goroutines, once on the calling goroutine (GOMAXPROCS=1) and once on all cores: the crossing points
// set parallelMinNS and the implementations' ns per element (bench/cpu-simd.md has the numbers).
func BenchmarkThreshold(b *testing.B) {
	be := cpu.New()
	defer be.Close()
	for _, c := range []struct {
		p formula.Pass
		k formula.Kind
	}{{formula.Forward, formula.KindReLU}, {formula.Forward, formula.KindELU}, {formula.BackwardFromInput, formula.KindELU}} {
		for _, n := range []int{1 << 12, 1 << 16, 1 << 18, 1 << 19, 1 << 20, 1 << 21, 1 << 22, 1 << 23} {
			for _, procs := range []int{1, runtime.NumCPU()} {
				b.Run(fmt.Sprintf("%s/%s/n=%d/procs=%d", c.p, c.k, n, procs), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					out, in1, in2 := benchBuffers(b, be, formula.Float32, n)
					b.SetBytes(int64(c.p.Arrays() * 4 * n))
					for b.Loop() {
						if err := core.Run(be, c.p, c.k.Default(), out, in1, in2); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkGang times mid-size calls on one goroutine and split through the gang (gang.go), whose
// workers spin between back-to-back calls: where the crossing lies sets gangMinNS.
func BenchmarkGang(b *testing.B) {
	be := cpu.New()
	defer be.Close()
	for _, c := range []struct {
		dt formula.DType
		p  formula.Pass
		k  formula.Kind
	}{
		{formula.Float32, formula.Forward, formula.KindReLU},
		{formula.Float32, formula.Forward, formula.KindELU},
		{formula.Float64, formula.BackwardFromInput, formula.KindReLU},
		{formula.BFloat16, formula.Forward, formula.KindReLU},
		{formula.BFloat16, formula.Forward, formula.KindELU},
		{formula.Float16, formula.BackwardFromInput, formula.KindELU},
	} {
		for _, n := range []int{1 << 12, 1 << 13, 1 << 14, 1 << 15, 1 << 16, 1 << 17, 1 << 18, 1 << 20} {
			for _, split := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/%s/%s/n=%d/gang=%v", c.dt, c.p, c.k, n, split), func(b *testing.B) {
					min := math.Inf(1)
					if split {
						min = 0
					}
					defer cpu.SetGangMin(min)()
					defer cpu.SetParallel(math.Inf(1), 1<<11)() // no goroutine split; chunks of 2048
					out, in1, in2 := benchBuffers(b, be, c.dt, n)
					b.SetBytes(int64(c.p.Arrays() * c.dt.Size() * n))
					for b.Loop() {
						if err := core.Run(be, c.p, c.k.Default(), out, in1, in2); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkNonTemporal times passes with and without non-temporal stores around the size where
// parallel switches them on (ntMinBytes): below the last-level cache they cost, above it they save the
// read of each output line.
func BenchmarkNonTemporal(b *testing.B) {
	be := cpu.New()
	defer be.Close()
	for _, c := range []struct {
		p formula.Pass
		k formula.Kind
	}{{formula.Forward, formula.KindReLU}, {formula.BackwardFromInput, formula.KindReLU}, {formula.BackwardFromInput, formula.KindELU}} {
		for _, n := range []int{1 << 18, 1 << 19, 1 << 20, 1 << 21, 1 << 22, 1 << 24} {
			for _, nt := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/%s/n=%d/nt=%v", c.p, c.k, n, nt), func(b *testing.B) {
					ntMin := math.MaxInt
					if nt {
						ntMin = 0
					}
					defer cpu.SetNonTemporalMin(ntMin)()
					out, in1, in2 := benchBuffers(b, be, formula.Float32, n)
					b.SetBytes(int64(c.p.Arrays() * 4 * n))
					for b.Loop() {
						if err := core.Run(be, c.p, c.k.Default(), out, in1, in2); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkFanOut measures what handing half of a call to another core costs, with no work to do: a
// goroutine per call (what parallel does) against a persistent worker woken through a channel.
func BenchmarkFanOut(b *testing.B) {
	b.Run("goroutine", func(b *testing.B) {
		var sink atomic.Int64
		for b.Loop() {
			var wg sync.WaitGroup
			wg.Go(func() { sink.Add(1) })
			sink.Add(1)
			wg.Wait()
		}
	})
	b.Run("worker", func(b *testing.B) {
		var sink atomic.Int64
		work := make(chan func())
		done := make(chan struct{})
		go func() {
			for f := range work {
				f()
				done <- struct{}{}
			}
		}()
		defer close(work)
		for b.Loop() {
			work <- func() { sink.Add(1) }
			sink.Add(1)
			<-done
		}
	})
}

// rounded returns h rounded to T, to nearest even.
func rounded[T formula.Elem](h []float64) []T {
	out := make([]T, len(h))
	for i, v := range h {
		out[i] = formula.FromFloat64[T](v)
	}
	return out
}

// benchBuffers returns an output and two inputs of random data in [-4, 4] (never zeros).
func benchBuffers(b *testing.B, be core.Backend, dt formula.DType, n int) (out, in1, in2 core.Buffer) {
	rng := rand.New(rand.NewPCG(1, 2))
	bufs := make([]core.Buffer, 3)
	for i := range bufs {
		buf, err := be.Alloc(dt, n)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { be.Free(buf) })
		h := make([]float64, n)
		for j := range h {
			h[j] = 8*rng.Float64() - 4
		}
		switch dt {
		case formula.Float32:
			err = be.Upload(buf, core.HostOf(rounded[float32](h)))
		case formula.Float64:
			err = be.Upload(buf, core.HostOf(h))
		case formula.Float16:
			err = be.Upload(buf, core.HostOf(rounded[formula.F16](h)))
		case formula.BFloat16:
			err = be.Upload(buf, core.HostOf(rounded[formula.BF16](h)))
		}
		if err != nil {
			b.Fatal(err)
		}
		bufs[i] = buf
	}
	return bufs[0], bufs[1], bufs[2]
}

// BenchmarkAllocFree is the host cost of an Alloc+Free pair of 1 MiB in a loop, the pattern of a
// training step that allocates its temporaries anew: freed buffers come back from the pool.
func BenchmarkAllocFree(b *testing.B) {
	be := cpu.New()
	defer be.Close()
	for b.Loop() {
		buf, err := be.Alloc(formula.Float32, 1<<18)
		if err != nil {
			b.Fatal(err)
		}
		if err := be.Free(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostData is ReLU forward on data a program holds in a []float64 of 65536 elements, three
// ways: wrapped once and run in place (zero copy), uploaded to a buffer of gpuact's and downloaded back,
// and with a new buffer per call.
func BenchmarkHostData(b *testing.B) {
	const n = 1 << 16
	be := cpu.New()
	defer be.Close()
	data := make([]float64, n)
	for i := range data {
		data[i] = float64(i%13) - 6
	}
	relu := formula.ReLU()
	b.Run("wrapped-in-place", func(b *testing.B) {
		buf, err := be.WrapHost(core.HostOf(data))
		if err != nil {
			b.Fatal(err)
		}
		defer be.Free(buf)
		b.SetBytes(2 * 8 * n)
		for b.Loop() {
			if err := be.Forward(relu, buf, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("upload-forward-download", func(b *testing.B) {
		buf, err := be.Alloc(formula.Float64, n)
		if err != nil {
			b.Fatal(err)
		}
		defer be.Free(buf)
		b.SetBytes(2 * 8 * n)
		for b.Loop() {
			if err := errors.Join(be.Upload(buf, core.HostOf(data)), be.Forward(relu, buf, buf), be.Download(core.HostOf(data), buf)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("alloc-upload-forward-download-free", func(b *testing.B) {
		b.SetBytes(2 * 8 * n)
		for b.Loop() {
			buf, err := be.Alloc(formula.Float64, n)
			if err != nil {
				b.Fatal(err)
			}
			if err := errors.Join(be.Upload(buf, core.HostOf(data)), be.Forward(relu, buf, buf), be.Download(core.HostOf(data), buf), be.Free(buf)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBFloat16Subnormal times bfloat16 LeakyReLU forward on ordinary values and on nothing but
// subnormals, with each implementation that has bfloat16 kernels: the VCVTNE2PS2BF16 kernels (avx512bf16)
// hand every block holding a subnormal result back to the integer rounding (asmSet.handBack), which must
// not make such data much slower than the integer rounding alone.
//
//	go test -run '^$' -bench BFloat16Subnormal ./backend/cpu/
func BenchmarkBFloat16Subnormal(b *testing.B) {
	const n = 1 << 16
	for _, kind := range []string{"normal", "subnormal"} {
		a, out := make([]formula.BF16, n), make([]formula.BF16, n)
		for i := range a {
			if kind == "normal" {
				a[i] = formula.BF16FromBits(uint16(0x3f00 + i%256)) // 0.5 … 2, both signs
			} else {
				a[i] = formula.BF16FromBits(uint16(1+i%127) | uint16(i%2)<<15)
			}
		}
		for _, im := range cpu.Implementations() {
			b.Run(kind+"/"+im, func(b *testing.B) {
				for b.Loop() {
					cpu.RunImplementation(im, formula.Forward, formula.LeakyReLU(0.01), out, a, nil, false)
				}
			})
		}
	}
}
