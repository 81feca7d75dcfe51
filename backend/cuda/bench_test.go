package cuda_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cuda"
	"github.com/gpuact/gpuact/backend/formula"
)

// BenchmarkEnqueue measures the host-side cost of one pass: the call returns once the kernel is queued,
// without waiting for it (the queue is drained outside the timed region every 1024 calls, so it never
// fills). Target: at most 5 µs per call.
func BenchmarkEnqueue(b *testing.B) {
	d := usableB(b)
	be, err := d.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	for _, n := range []int{1 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("elu-forward/n=%d", n), func(b *testing.B) {
			x, _ := be.Alloc(formula.Float32, n)
			y, _ := be.Alloc(formula.Float32, n)
			defer be.Free(x)
			defer be.Free(y)
			act := formula.ELU(1)
			i := 0
			for b.Loop() {
				if err := be.Forward(act, y, x); err != nil {
					b.Fatal(err)
				}
				if i++; i%1024 == 0 {
					b.StopTimer()
					be.Sync()
					b.StartTimer()
				}
			}
			b.StopTimer()
			be.Sync()
		})
	}
}

// BenchmarkPasses times every float32 pass at n = 2^28 with CUDA events against a device-to-device copy
// of the same bytes in the same run (forward counts 2 arrays, backward 3) and reports both bandwidths
// and their ratio. gpubench does the whole sweep; this is the quick check of issue 4's target.
func BenchmarkPasses(b *testing.B) {
	d := usableB(b)
	be, err := d.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	timer := be.(core.Timer)
	const n = 1 << 28
	bufs := make([]core.Buffer, 3)
	for i := range bufs {
		if bufs[i], err = be.Alloc(formula.Float32, n); err != nil {
			b.Fatal(err)
		}
		defer be.Free(bufs[i])
	}
	// Random-ish data: a memset pattern would be all one sign.
	host := make([]float32, n)
	for i := range host {
		host[i] = float32(int(uint32(i)*2654435761%2001)-1000) / 250 // uint32: the same on 32-bit platforms
	}
	for _, buf := range bufs {
		if err := be.Upload(buf, core.HostOf(host)); err != nil {
			b.Fatal(err)
		}
	}
	var copyTime time.Duration
	for range 5 { // the best of a few: the roofline should not be a slow outlier
		t, err := timer.TimeDevice(func() error { return be.Copy(bufs[2], bufs[1]) })
		if err != nil {
			b.Fatal(err)
		}
		if copyTime == 0 || t < copyTime {
			copyTime = t
		}
	}
	copyBW := float64(2*4*n) / copyTime.Seconds() / 1e9
	for _, p := range formula.Passes {
		for _, k := range formula.Kinds {
			act := k.Default()
			b.Run(fmt.Sprintf("%s/%s", p, k), func(b *testing.B) {
				var total float64
				for b.Loop() {
					dt, err := timer.TimeDevice(func() error { return core.Run(be, p, act, bufs[0], bufs[1], bufs[2]) })
					if err != nil {
						b.Fatal(err)
					}
					total += dt.Seconds()
				}
				bw := float64(p.Arrays()*4*n) / (total / float64(b.N)) / 1e9
				b.ReportMetric(bw, "GB/s")
				b.ReportMetric(copyBW, "copy-GB/s")
				b.ReportMetric(bw/copyBW, "x-copy")
			})
		}
	}
	// ELU forward with α = 0.37 beside the default α = 1 above: both run the same float32 code, so they should
	// take the same time (an α that is not a power of two once took a float64 path).
	b.Run("forward/elu-alpha0.37", func(b *testing.B) {
		var total float64
		for b.Loop() {
			dt, err := timer.TimeDevice(func() error { return be.Forward(formula.ELU(0.37), bufs[0], bufs[1]) })
			if err != nil {
				b.Fatal(err)
			}
			total += dt.Seconds()
		}
		bw := float64(2*4*n) / (total / float64(b.N)) / 1e9
		b.ReportMetric(bw, "GB/s")
		b.ReportMetric(bw/copyBW, "x-copy")
	})
}

func usableB(b *testing.B) core.Device {
	for _, d := range cuda.Devices() {
		if d.Usable {
			return d
		}
	}
	b.Skip("no usable CUDA device")
	return core.Device{}
}

// BenchmarkAllocFree is the host cost of an Alloc+Free pair of 1 MiB in a loop, the pattern of a
// training step's temporaries: from the pool the backend chose (Info's memory_pool), with a Sync every
// 1024 pairs (outside the timing) so that the stream-ordered pool's frees are reached. The GPU check
// runs it on a GPU; on the emulated driver it measures the emulator.
func BenchmarkAllocFree(b *testing.B) {
	d := usableB(b)
	be, err := d.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	b.Log("memory pool: ", be.Info().Details["memory_pool"])
	i := 0
	for b.Loop() {
		x, err := be.Alloc(formula.Float32, 1<<18)
		if err != nil {
			b.Fatal(err)
		}
		if err := be.Free(x); err != nil {
			b.Fatal(err)
		}
		if i++; i%1024 == 0 {
			b.StopTimer()
			be.Sync()
			b.StartTimer()
		}
	}
}
