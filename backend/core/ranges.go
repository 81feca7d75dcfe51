package core

import (
	"sync"
	"sync/atomic"
)

// rangeLock excludes calls by the elements they touch, not by allocation: a call that writes [lo, hi)
// waits only for calls that read or write elements of that range, and a call that reads waits only for
// writers of its range. So a program that carves one big allocation into many tensors keeps its calls
// on different tensors running side by side (SEMANTICS §5), while overlapping writes still never
// interleave and no reader sees a half-written range.
//
// A call registers all its ranges in one allocation at once (acquire), after waiting until none of them
// conflicts with a range held by another call; allocations are acquired in id order (Lease.lock), so
// waits cannot form a cycle.
type rangeLock struct {
	mu   sync.Mutex
	cond sync.Cond // signalled when ranges are released
	held []heldRange
}

// heldRange is one range a call holds: elements [lo, hi), written or only read, tagged with the lease
// that holds it (a call's own ranges never conflict with each other).
type heldRange struct {
	lo, hi int
	write  bool
	tag    uint64
}

// leaseTags numbers the calls that hold ranges, so release finds a call's own.
var leaseTags atomic.Uint64

// span is one range a call asks for.
type span struct {
	lo, hi int
	write  bool
}

func (s span) conflicts(h heldRange) bool {
	if !s.write && !h.write {
		return false
	}
	if s.lo >= s.hi || h.lo >= h.hi { // an empty range touches nothing
		return false
	}
	return s.lo < h.hi && h.lo < s.hi
}

// acquire waits until no range held by another call conflicts with any of spans, then holds them all
// under tag.
func (r *rangeLock) acquire(tag uint64, spans []span) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cond.L == nil {
		r.cond.L = &r.mu
	}
	for r.blocked(spans) {
		r.cond.Wait()
	}
	for _, s := range spans {
		r.held = append(r.held, heldRange{s.lo, s.hi, s.write, tag})
	}
}

func (r *rangeLock) blocked(spans []span) bool {
	for _, h := range r.held {
		for _, s := range spans {
			if s.conflicts(h) {
				return true
			}
		}
	}
	return false
}

// release drops every range tag holds and wakes the waiters.
func (r *rangeLock) release(tag uint64) {
	r.mu.Lock()
	kept := r.held[:0]
	for _, h := range r.held {
		if h.tag != tag {
			kept = append(kept, h)
		}
	}
	clear(r.held[len(kept):]) // drop the tags of released ranges
	r.held = kept
	if r.cond.L != nil {
		r.cond.Broadcast()
	}
	r.mu.Unlock()
}
