package cpu

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The gang runs every chunk of a job exactly once, whoever runs it, with workers spinning, parking and
// being woken, and with calls from many goroutines at once (those that find it busy get false and run
// nothing).
func TestGangRunsEveryChunkOnce(t *testing.T) {
	for _, spin := range []time.Duration{0, time.Microsecond, 50 * time.Microsecond, 10 * time.Millisecond} {
		old := gangSpin.Swap(int64(spin))
		g := getGang()
		var wg sync.WaitGroup
		var ran, refused atomic.Int64
		for range 8 {
			wg.Go(func() {
				for i := range 200 {
					chunks := 1 + i%37
					counts := make([]atomic.Int32, chunks)
					if !g.tryRun(chunks, 8, i%2 == 0, func(c int) { counts[c].Add(1) }) {
						refused.Add(1)
						continue
					}
					ran.Add(1)
					for c := range counts {
						if n := counts[c].Load(); n != 1 {
							t.Errorf("spin %v: chunk %d of %d ran %d times", spin, c, chunks, n)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		gangSpin.Store(old)
		if ran.Load() == 0 {
			t.Errorf("spin %v: no call got the gang (%d refused)", spin, refused.Load())
		}
		if g.job.Load() != nil {
			t.Errorf("spin %v: the gang still holds a job after every call returned", spin)
		}
	}
}

// Workers take part: over many calls with chunks that take a while, two chunks run at once (so one of
// them on a worker), on a machine with more than one CPU.
func TestGangWorkersHelp(t *testing.T) {
	g := getGang()
	if len(g.workers) == 0 {
		t.Skip("one CPU: the gang has no workers")
	}
	for range 200 {
		var active, most atomic.Int64
		g.tryRun(16, len(g.workers), false, func(c int) {
			now := active.Add(1)
			for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
			}
			time.Sleep(20 * time.Microsecond)
			active.Add(-1)
		})
		if most.Load() > 1 {
			return
		}
	}
	t.Error("in 200 calls of 16 chunks of 20 µs, no worker ran a chunk beside the caller")
}
