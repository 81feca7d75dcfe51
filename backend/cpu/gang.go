package cpu

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A gang is a set of persistent worker goroutines that split mid-size calls with the calling goroutine,
// the way an OpenMP runtime splits PyTorch's: a worker that has just finished a job spins for a while
// (gangSpin), watching for the next one, before it parks. A call that finds the workers spinning hands
// them work for the cost of an atomic store and a cache-line transfer (well under a microsecond), where
// waking a parked goroutine costs a futex wake-up and a thread that the hypervisor may have descheduled
// (tens of microseconds on a VM). That is what lets calls of tens of microseconds — n = 2^16…2^20, a
// layer's activations that sit in L2 — use both cores.
//
// The caller never waits for a worker that has not started: chunks are claimed from an atomic counter,
// the caller claims them too, and it waits only for the chunks other workers claimed. A worker that
// wakes late finds nothing left and goes back to spinning. So a call that wakes parked workers costs the
// caller the wake-up calls, not the wake-up latency, and the next call finds them spinning.
//
// One call uses the gang at a time; a concurrent call (another goroutine's) runs without it (see
// parallel). Spinning workers call runtime.Gosched between checks, so they hold a P only while nothing
// else is runnable on it.
type gang struct {
	busy    atomic.Bool             // a call holds the gang
	job     atomic.Pointer[gangJob] // the current job, nil between calls
	seq     uint64                  // the last job's number (written by the call holding busy)
	workers []*gangWorker
}

// gangJob is one call's work: chunks numbered 0 … chunks-1, counted in done when finished. With
// static set, chunk c belongs to participant c mod parties (the caller is participant 0, worker k
// participant k+1): each runs its own chunks first, so that back-to-back calls on the same arrays find
// each chunk in the caches of the core that handled it last time (L2, and the L3 of its core complex:
// the two vCPUs of a VM may sit on different ones), and then any chunk still unclaimed (a late
// worker's). Otherwise chunks are claimed in order through next.
type gangJob struct {
	seq     uint64 // the job's number: a worker joins each number once
	run     func(c int)
	chunks  int64
	parties int // static: the caller and the helpers it woke
	static  bool
	claimed atomic.Uint64 // static: bit c set once chunk c is claimed
	next    atomic.Int64  // dynamic: the next chunk to claim
	done    atomic.Int64
}

type gangWorker struct {
	parked atomic.Bool
	wake   chan struct{} // buffered: a wake-up sent while the worker was deciding to park is kept
}

// gangSpin is how long a worker watches for the next job after its last one before it parks: about the
// time of one mid-size call, so back-to-back calls (a training step's layers) find it spinning, while an
// idle program gets its core back at once.
var gangSpin atomic.Int64 // nanoseconds

func init() { gangSpin.Store(int64(50 * time.Microsecond)) }

var (
	theGang  *gang
	gangOnce sync.Once
)

// getGang returns the process's gang, started on first use with one worker per CPU beyond the caller's.
func getGang() *gang {
	gangOnce.Do(func() {
		g := &gang{}
		for range runtime.NumCPU() - 1 {
			w := &gangWorker{wake: make(chan struct{}, 1)}
			g.workers = append(g.workers, w)
			go w.loop(g, len(g.workers))
		}
		theGang = g
	})
	return theGang
}

// tryRun runs run(0) … run(chunks-1) on the caller and up to helpers of the gang's workers, and returns
// true; it returns false, having run nothing, when another call holds the gang. With static (chunks ≤
// 64), chunk c goes to participant c mod (helpers+1) unless another finds it unclaimed first (see
// gangJob).
func (g *gang) tryRun(chunks, helpers int, static bool, run func(c int)) bool {
	if !g.busy.CompareAndSwap(false, true) {
		return false
	}
	defer g.busy.Store(false)
	g.seq++
	helpers = min(helpers, len(g.workers))
	j := &gangJob{seq: g.seq, run: run, chunks: int64(chunks), parties: helpers + 1, static: static && chunks <= 64}
	g.job.Store(j)
	for _, w := range g.workers[:helpers] {
		if w.parked.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	j.work(0)
	for spins := 1; j.done.Load() < j.chunks; spins++ { // a worker is finishing a chunk it claimed
		if spins%256 == 0 {
			runtime.Gosched()
		}
	}
	g.job.Store(nil) // workers that look now find nothing; the buffers are not kept alive
	return true
}

// work runs chunks for participant p until none is left to claim.
func (j *gangJob) work(p int) {
	if j.static {
		all := uint64(1)<<j.chunks - 1
		for c := p; c < int(j.chunks); c += j.parties { // its own chunks
			if j.claimed.Or(1<<c)&(1<<c) == 0 {
				j.run(c)
				j.done.Add(1)
			}
		}
		for { // then whatever is left
			c := j.claimed.Load()
			if c == all {
				return
			}
			free := bits.TrailingZeros64(^c & all)
			if j.claimed.Or(1<<free)&(1<<free) == 0 {
				j.run(free)
				j.done.Add(1)
			}
		}
	}
	for {
		c := j.next.Add(1) - 1
		if c >= j.chunks {
			return
		}
		j.run(int(c))
		j.done.Add(1)
	}
}

// loop is a worker: it joins every new job it sees, spins gangSpin after its last one, then parks until a
// call wakes it.
func (w *gangWorker) loop(g *gang, p int) {
	var last uint64 // the number of the last job joined (not the job: its buffers must not stay alive)
	for {
		deadline := time.Now().Add(time.Duration(gangSpin.Load()))
		for spins := 0; ; spins++ {
			if j := g.job.Load(); j != nil && j.seq != last {
				last = j.seq
				j.work(p)
				deadline = time.Now().Add(time.Duration(gangSpin.Load()))
				continue
			}
			// Mostly a tight loop of loads (a new job is seen within ~100 ns); every 256th turn a yield
			// to whatever else this P has to run, and a look at the clock.
			if spins%256 == 0 {
				if time.Now().After(deadline) {
					break
				}
				runtime.Gosched()
			}
		}
		// Park, unless a job arrived while deciding to: the caller checks parked after publishing its
		// job, the worker checks for a job after publishing parked, so one of them sees the other.
		w.parked.Store(true)
		if j := g.job.Load(); j != nil && j.seq != last {
			w.parked.Store(false)
			continue
		}
		<-w.wake
		w.parked.Store(false)
	}
}
