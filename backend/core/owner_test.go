package core

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend/formula"
)

// testOwner returns an owner whose allocations are plain ints and whose free function counts calls.
func testOwner(t *testing.T) (*Owner, *atomic.Int64) {
	t.Helper()
	var frees atomic.Int64
	o := NewOwner("test:0", formula.SetOf(formula.DTypes...), func(mem any) error {
		if _, ok := mem.(int); !ok {
			t.Errorf("free got %T, want the handle alloc returned", mem)
		}
		frees.Add(1)
		return nil
	})
	return o, &frees
}

func alloc(t *testing.T, o *Owner, n int) Buffer {
	t.Helper()
	b, err := o.Alloc(formula.Float32, n, func(bytes int64) (any, error) { return int(bytes), nil })
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blocked runs f in a goroutine and reports whether it is still running after a while; release must
// then let it finish. It fails the test if f finishes too early or not at all.
func blocked(t *testing.T, what string, f func(), release func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		t.Fatalf("%s returned while it should wait", what)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still waits after the lease it waited for ended", what)
	}
}

// finishes fails the test unless f returns within a few seconds (a deadlock would hang the test).
func finishes(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not return: deadlock?", what)
	}
}

func TestOwnerFreeWaitsForLease(t *testing.T) {
	o, frees := testOwner(t)
	x, y := alloc(t, o, 8), alloc(t, o, 8)
	l, err := o.BeginPass(formula.Forward, formula.ReLU(), y, x, Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	blocked(t, "Free of an input in use", func() {
		if err := o.Free(x); err != nil {
			t.Error(err)
		}
	}, l.End)
	if frees.Load() != 1 {
		t.Errorf("free called %d times, want 1", frees.Load())
	}
	if _, err := o.BeginPass(formula.Forward, formula.ReLU(), y, x, Buffer{}); !errors.Is(err, ErrFreed) {
		t.Errorf("pass on a freed input: %v, want ErrFreed", err)
	}
	if err := o.Free(x); err != nil || frees.Load() != 1 {
		t.Errorf("second Free: %v, free called %d times; want nil and 1", err, frees.Load())
	}
}

func TestOwnerCloseWaitsForCalls(t *testing.T) {
	o, frees := testOwner(t)
	x, y := alloc(t, o, 8), alloc(t, o, 16)
	l, err := o.Begin("Sync")
	if err != nil {
		t.Fatal(err)
	}
	var shutdowns atomic.Int64
	blocked(t, "Close during a call", func() {
		if err := o.Close(func() error { shutdowns.Add(1); return nil }); err != nil {
			t.Error(err)
		}
	}, l.End)
	if frees.Load() != 2 || shutdowns.Load() != 1 {
		t.Errorf("Close freed %d allocations and shut down %d times, want 2 and 1", frees.Load(), shutdowns.Load())
	}
	if inUse, n := o.Stats(); inUse != 0 || n != 0 {
		t.Errorf("after Close: %d bytes in %d buffers, want none", inUse, n)
	}
	if err := o.Close(func() error { shutdowns.Add(1); return nil }); err != nil || shutdowns.Load() != 1 {
		t.Errorf("second Close: %v, shutdown ran %d times; want nil and once", err, shutdowns.Load())
	}
	if err := o.Free(x); err != nil {
		t.Errorf("Free after Close: %v", err)
	}
	for what, err := range map[string]error{
		"Begin": func() error { _, err := o.Begin("Sync"); return err }(),
		"Pass":  func() error { _, err := o.BeginPass(formula.Forward, formula.ReLU(), y, y, Buffer{}); return err }(),
		"Alloc": func() error { _, err := o.Alloc(formula.Float32, 1, nil); return err }(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
}

func TestOwnerWritersExclude(t *testing.T) {
	o, _ := testOwner(t)
	x, y, z := alloc(t, o, 8), alloc(t, o, 8), alloc(t, o, 8)

	// A pass writing y excludes another pass writing y.
	l, err := o.BeginPass(formula.Forward, formula.ReLU(), y, x, Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	blocked(t, "a second writer of y", func() {
		l2, err := o.BeginPass(formula.Forward, formula.ReLU(), y, z, Buffer{})
		if err == nil {
			l2.End()
		}
	}, l.End)

	// A pass reading y waits for the pass writing it, and the other way round.
	l, _ = o.BeginPass(formula.Forward, formula.ReLU(), y, x, Buffer{})
	blocked(t, "a reader of y while it is written", func() {
		l2, err := o.BeginPass(formula.Forward, formula.ReLU(), z, y, Buffer{})
		if err == nil {
			l2.End()
		}
	}, l.End)
	l, _ = o.BeginPass(formula.Forward, formula.ReLU(), z, y, Buffer{})
	blocked(t, "a writer of y while it is read", func() {
		l2, err := o.BeginPass(formula.Forward, formula.ReLU(), y, x, Buffer{})
		if err == nil {
			l2.End()
		}
	}, l.End)

	// An Upload writes, a Download reads.
	l, _ = o.BeginCopy(y, HostOf(make([]float32, 8)), false)
	blocked(t, "an Upload into y while y is downloaded", func() {
		l2, err := o.BeginCopy(y, HostOf(make([]float32, 8)), true)
		if err == nil {
			l2.End()
		}
	}, l.End)
}

func TestOwnerReadersShare(t *testing.T) {
	o, _ := testOwner(t)
	x, y, z := alloc(t, o, 8), alloc(t, o, 8), alloc(t, o, 8)
	l1, err := o.BeginPass(formula.Forward, formula.ReLU(), y, x, Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer l1.End()
	finishes(t, "a second reader of x", func() {
		l2, err := o.BeginPass(formula.Forward, formula.ReLU(), z, x, Buffer{})
		if err != nil {
			t.Error(err)
			return
		}
		l2.End()
	})
	finishes(t, "a Download of x", func() {
		l2, err := o.BeginCopy(x, HostOf(make([]float32, 8)), false)
		if err != nil {
			t.Error(err)
			return
		}
		l2.End()
	})
}

// In place, and the same allocation as several arguments: each allocation is locked once.
func TestOwnerSameAllocationTwice(t *testing.T) {
	o, _ := testOwner(t)
	x, dy := alloc(t, o, 8), alloc(t, o, 8)
	finishes(t, "in-place passes", func() {
		for _, args := range [][3]Buffer{{x, x, {}}, {dy, dy, x}, {x, dy, x}, {dy, x, x}} {
			p := formula.BackwardFromInput
			if args[2].IsNil() {
				p = formula.Forward
			}
			l, err := o.BeginPass(p, formula.ReLU(), args[0], args[1], args[2])
			if err != nil {
				t.Errorf("%v: %v", args, err)
				continue
			}
			distinct := map[*Alloc]bool{}
			for _, b := range args {
				if !b.IsNil() {
					distinct[b.a] = true
				}
			}
			if l.k != len(distinct) {
				t.Errorf("%v: %d allocation locks taken, want one per allocation (%d)", args, l.k, len(distinct))
			}
			l.End()
		}
	})
	// Two views of one allocation (disjoint) are one allocation: one lock, with one range each.
	whole := alloc(t, o, 16)
	lo, _ := whole.Slice(0, 8)
	hi, _ := whole.Slice(8, 16)
	finishes(t, "disjoint views of one allocation", func() {
		l, err := o.BeginPass(formula.Forward, formula.ReLU(), lo, hi, Buffer{})
		if err != nil {
			t.Error(err)
			return
		}
		if l.k != 1 {
			t.Errorf("%d allocation locks for two views of one allocation, want 1", l.k)
		}
		l.End()
	})
}

// Calls that take the same allocations in opposite argument orders must not deadlock: locks are taken
// in allocation order whatever the argument order.
func TestOwnerLockOrder(t *testing.T) {
	o, _ := testOwner(t)
	a, b, c := alloc(t, o, 8), alloc(t, o, 8), alloc(t, o, 8)
	orders := [][3]Buffer{{a, b, c}, {c, b, a}, {b, c, a}, {a, c, b}, {c, a, b}, {b, a, c}}
	finishes(t, "passes over the same buffers in every order", func() {
		var wg sync.WaitGroup
		for g := range 12 {
			wg.Go(func() {
				for i := range 20000 {
					args := orders[(g+i)%len(orders)]
					l, err := o.BeginPass(formula.BackwardFromInput, formula.ReLU(), args[0], args[1], args[2])
					if err != nil {
						t.Error(err)
						return
					}
					l.End()
				}
			})
		}
		wg.Go(func() {
			for range 200 {
				l, err := o.BeginCopy(a, HostOf(make([]float32, 8)), true)
				if err != nil {
					t.Error(err)
					return
				}
				l.End()
			}
		})
		wg.Wait()
	})
}

// A refused call leaves nothing locked: Free and Close afterwards do not wait.
func TestOwnerRefusedCallsReleaseLocks(t *testing.T) {
	o, _ := testOwner(t)
	x, y, short := alloc(t, o, 8), alloc(t, o, 8), alloc(t, o, 7)
	gone := alloc(t, o, 8)
	if err := o.Free(gone); err != nil {
		t.Fatal(err)
	}
	other, _ := testOwner(t)
	foreign := alloc(t, other, 8)
	whole := alloc(t, o, 16)
	part, _ := whole.Slice(1, 9)
	head, _ := whole.Slice(0, 8)
	cases := []struct {
		name string
		args [3]Buffer
		act  formula.Activation
		want error
	}{
		{"freed", [3]Buffer{y, gone}, formula.ReLU(), ErrFreed},
		{"freed output", [3]Buffer{gone, x}, formula.ReLU(), ErrFreed},
		{"length", [3]Buffer{y, short}, formula.ReLU(), ErrLengthMismatch},
		{"foreign", [3]Buffer{y, foreign}, formula.ReLU(), ErrForeignBuffer},
		{"nil", [3]Buffer{y, {}}, formula.ReLU(), ErrNilBuffer},
		{"overlap", [3]Buffer{head, part}, formula.ReLU(), ErrOverlap},
		{"alpha", [3]Buffer{y, x}, formula.ELU(math.NaN()), ErrBadAlpha},
	}
	for _, c := range cases {
		if _, err := o.BeginPass(formula.Forward, c.act, c.args[0], c.args[1], c.args[2]); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	finishes(t, "Free and Close after refused calls", func() {
		for _, b := range []Buffer{x, y, short, whole} {
			if err := o.Free(b); err != nil {
				t.Error(err)
			}
		}
		if err := o.Close(nil); err != nil {
			t.Error(err)
		}
	})
}

func TestOwnerAllocAccounting(t *testing.T) {
	o, frees := testOwner(t)
	boom := errors.New("device says no")
	if _, err := o.Alloc(formula.Float32, 10, func(int64) (any, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("a failing alloc: %v, want its error", err)
	}
	bad := []int{-1}
	if limit := MaxElements; int64(math.MaxInt) > limit { // 64-bit: one beyond the limit; on 32-bit no int is
		bad = append(bad, int(limit+1))
	}
	for _, n := range bad {
		called := false
		_, err := o.Alloc(formula.Float64, n, func(int64) (any, error) { called = true; return 0, nil })
		if !errors.Is(err, ErrBadSize) || called {
			t.Errorf("Alloc(%d): %v (device asked: %v), want ErrBadSize without asking", n, err, called)
		}
	}
	if _, err := o.Alloc(formula.DType(0), 1, nil); !errors.Is(err, ErrUnsupportedDType) {
		t.Errorf("Alloc of formula.DType(0): %v, want ErrUnsupportedDType", err)
	}
	bufs := []Buffer{alloc(t, o, 3), alloc(t, o, 5)}
	if inUse, n := o.Stats(); inUse != 32 || n != 2 {
		t.Errorf("Stats() = %d bytes, %d buffers; want 32, 2", inUse, n)
	}
	for _, b := range bufs {
		o.Free(b)
	}
	if inUse, n := o.Stats(); inUse != 0 || n != 0 || frees.Load() != 2 {
		t.Errorf("after Free: %d bytes, %d buffers, %d frees; want 0, 0, 2", inUse, n, frees.Load())
	}
	other, _ := testOwner(t)
	if err := other.Free(alloc(t, o, 1)); !errors.Is(err, ErrForeignBuffer) {
		t.Errorf("Free of another owner's buffer: %v, want ErrForeignBuffer", err)
	}
	if err := o.Free(Buffer{}); err != nil {
		t.Errorf("Free of the zero Buffer: %v", err)
	}
}

// Free's error is the free function's, and Close joins every error it meets.
func TestOwnerFreeErrors(t *testing.T) {
	fail := errors.New("cuMemFree failed")
	o := NewOwner("test:1", formula.SetOf(formula.DTypes...), func(any) error { return fail })
	a, _ := o.Alloc(formula.Float32, 1, func(int64) (any, error) { return 1, nil })
	if err := o.Free(a); !errors.Is(err, fail) {
		t.Errorf("Free: %v, want the free function's error", err)
	}
	o.Alloc(formula.Float32, 1, func(int64) (any, error) { return 2, nil })
	shut := errors.New("context release failed")
	err := o.Close(func() error { return shut })
	if !errors.Is(err, fail) || !errors.Is(err, shut) {
		t.Errorf("Close: %v, want both the free and the shutdown error", err)
	}
}

// TestBeginPassAlphaInDType: α is checked after rounding to the buffers' dtype. On float32 buffers an α
// finite in float64 but beyond the float32 range is ErrBadAlpha for every activation that has an α and
// every pass, with a message naming the pass, the value and the dtype; values that round to
// ±math.MaxFloat32 are accepted, and float64 buffers take any finite α.
func TestBeginPassAlphaInDType(t *testing.T) {
	o := NewOwner("test", formula.SetOf(formula.DTypes...), func(any) error { return nil })
	alloc := func(dt formula.DType) Buffer {
		b, err := o.Alloc(dt, 4, func(int64) (any, error) { return struct{}{}, nil })
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Halfway between math.MaxFloat32 and 2^128: rounds to even, which is 2^128, so to +Inf.
	half := math.MaxFloat32 + math.Ldexp(1, 127-24)
	tooLarge := []float64{1e39, -1e39, half, math.Nextafter(half, math.Inf(1)), math.MaxFloat64, -math.MaxFloat64}
	fits := []float64{math.MaxFloat32, -math.MaxFloat32, math.Nextafter(half, 0), 1e-50, 0}
	for _, a := range tooLarge {
		if !math.IsInf(float64(float32(a)), 0) {
			t.Fatalf("table: float32(%v) = %v is finite", a, float32(a))
		}
	}
	for _, a := range fits {
		if math.IsInf(float64(float32(a)), 0) {
			t.Fatalf("table: float32(%v) is infinite", a)
		}
	}
	for _, dt := range formula.DTypes {
		y, dy, x := alloc(dt), alloc(dt), alloc(dt)
		for _, p := range formula.Passes {
			in2 := x
			if p == formula.Forward {
				in2 = Buffer{}
			}
			for _, kind := range []formula.Kind{formula.KindLeakyReLU, formula.KindELU} {
				for _, alpha := range append(tooLarge, fits...) {
					if p == formula.BackwardFromOutput && alpha < 0 {
						continue // ErrNegativeAlpha comes first
					}
					act := kind.WithAlpha(alpha)
					in1 := x
					if p != formula.Forward {
						in1 = dy
					}
					l, err := o.BeginPass(p, act, y, in1, in2)
					what := fmt.Sprintf("%s %s on %s", p, act, dt)
					refuse := dt == formula.Float32 && slices.Contains(tooLarge, alpha)
					if dt.Size() == 2 { // the 16-bit types: rounding is tested in formula (TestHalfRoundsToNearestEven)
						refuse = math.IsInf(dt.Round(alpha), 0)
					}
					if !refuse {
						if err != nil {
							t.Errorf("%s: %v, want it accepted", what, err)
						}
						l.End()
						continue
					}
					if !errors.Is(err, ErrBadAlpha) {
						t.Errorf("%s: %v, want ErrBadAlpha", what, err)
						l.End() // a lease taken by mistake would block the next call on y
						continue
					}
					for _, w := range []string{p.String(), fmt.Sprint(alpha), dt.String()} {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("%s: message %q does not mention %q", what, err, w)
						}
					}
				}
			}
			l, err := o.BeginPass(p, formula.ReLU(), y, map[bool]Buffer{true: x, false: dy}[p == formula.Forward], in2)
			if err != nil {
				t.Errorf("%s relu on %s: %v", p, dt, err)
			}
			l.End()
		}
	}
	// The lease was released on every refusal: Close does not wait.
	if err := o.Close(nil); err != nil {
		t.Fatal(err)
	}
}

// A buffer of another Backend value of the same spec: the message tells the two values apart.
func TestOwnerForeignMessage(t *testing.T) {
	a, _ := testOwner(t)
	b, _ := testOwner(t)
	x, y := alloc(t, a, 4), alloc(t, b, 4)
	_, err := b.BeginPass(formula.Forward, formula.ReLU(), y, x, Buffer{})
	want := fmt.Sprintf("x was allocated by test:0 backend #%d, not by this test:0 backend #%d", a.id, b.id)
	if !errors.Is(err, ErrForeignBuffer) || !strings.Contains(err.Error(), want) {
		t.Errorf("pass with a foreign input: %v; want ErrForeignBuffer saying %q", err, want)
	}
	if err := b.Free(x); !errors.Is(err, ErrForeignBuffer) || !strings.Contains(err.Error(), fmt.Sprintf("#%d", a.id)) {
		t.Errorf("Free of a foreign buffer: %v", err)
	}
}

// Exclusion is by element range (SEMANTICS §5): calls on disjoint views of one allocation run side by
// side; overlapping views exclude each other as whole allocations did.
func TestOwnerRangesOfOneAllocation(t *testing.T) {
	o, _ := testOwner(t)
	whole := alloc(t, o, 64)
	view := func(lo, hi int) Buffer {
		v, err := whole.Slice(lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, b, c := view(0, 16), view(16, 32), view(32, 48)
	l, err := o.BeginPass(formula.Forward, formula.ReLU(), a, b, Buffer{}) // writes [0,16), reads [16,32)
	if err != nil {
		t.Fatal(err)
	}
	finishes(t, "a writer of a disjoint range of the same allocation", func() {
		l2, err := o.BeginPass(formula.Forward, formula.ReLU(), c, b, Buffer{}) // writes [32,48), reads [16,32)
		if err != nil {
			t.Error(err)
			return
		}
		l2.End()
	})
	finishes(t, "an Upload into a disjoint range", func() {
		l2, err := o.BeginCopy(view(48, 64), HostOf(make([]float32, 16)), true)
		if err != nil {
			t.Error(err)
			return
		}
		l2.End()
	})
	blocked(t, "a writer of a range overlapping the one being written", func() {
		l2, err := o.BeginPass(formula.Forward, formula.ReLU(), view(8, 24), view(40, 56), Buffer{})
		if err == nil {
			l2.End()
		}
	}, l.End)

	l, _ = o.BeginPass(formula.Forward, formula.ReLU(), a, b, Buffer{})
	blocked(t, "a Download of a range overlapping the one being written", func() {
		l2, err := o.BeginCopy(view(15, 17), HostOf(make([]float32, 2)), false)
		if err == nil {
			l2.End()
		}
	}, l.End)

	l, _ = o.BeginPass(formula.Forward, formula.ReLU(), a, b, Buffer{})
	blocked(t, "a writer of the range being read", func() {
		l2, err := o.BeginCopy(view(31, 33), HostOf(make([]float32, 2)), true)
		if err == nil {
			l2.End()
		}
	}, l.End)

	// Free still waits for every call on the allocation, whatever its range.
	l, _ = o.BeginCopy(view(60, 61), HostOf(make([]float32, 1)), false)
	blocked(t, "Free of an allocation a call reads one element of", func() { _ = o.Free(whole) }, l.End)
}

// Many goroutines on overlapping and disjoint ranges of one allocation, in random orders, with other
// allocations in between: every call completes (no deadlock) and no two holders of conflicting ranges
// are ever inside at once (checked with a per-element counter of writers and readers).
func TestOwnerRangesStress(t *testing.T) {
	o, _ := testOwner(t)
	const n = 64
	whole, other := alloc(t, o, n), alloc(t, o, n)
	var state [n]atomic.Int64 // -1 per writer, +1 per reader inside
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 300 {
				lo := rng.IntN(n - 8)
				w, _ := whole.Slice(lo, lo+8)
				lo2 := rng.IntN(n - 8)
				r, _ := whole.Slice(lo2, lo2+8)
				if rng.IntN(3) == 0 {
					r, _ = other.Slice(lo2, lo2+8)
				}
				l, err := o.BeginPass(formula.Forward, formula.ReLU(), w, r, Buffer{})
				if errors.Is(err, ErrOverlap) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				for i := w.off; i < w.off+8; i++ {
					if v := state[i].Add(-1); v != -1 {
						t.Errorf("element %d written while %d other calls were inside", i, v+1)
					}
				}
				if r.a == whole.a && !(r.off == w.off) {
					for i := r.off; i < r.off+8; i++ {
						if v := state[i].Add(1); v < 1 {
							t.Errorf("element %d read while it is written", i)
						}
					}
				}
				runtime.Gosched()
				if r.a == whole.a && !(r.off == w.off) {
					for i := r.off; i < r.off+8; i++ {
						state[i].Add(-1)
					}
				}
				for i := w.off; i < w.off+8; i++ {
					state[i].Add(1)
				}
				l.End()
			}
		})
	}
	finishes(t, "8 goroutines on ranges of one allocation", wg.Wait)
}
