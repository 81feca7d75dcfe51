package core

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gpuact/gpuact/backend/formula"
)

// MaxElements is the largest allocation, in elements, that any backend accepts: 2^48, the most that
// 64-bit address spaces in use today can map. Larger sizes are refused with ErrBadSize before any driver
// is asked.
const MaxElements int64 = 1 << 48

var allocIDs atomic.Uint64

// Owner is the bookkeeping that every Backend shares: whether it is closed, which allocations are live,
// and which of them a call is using. A backend embeds one and routes every method through it, so that
// argument checks, their order and their messages are the same on every device:
//
//	lease, err := b.owner.BeginPass(formula.Forward, act, y, x, core.Buffer{})
//	if err != nil {
//		return err
//	}
//	defer lease.End()
//	// ... launch the kernel on y.Alloc().Mem() and x.Alloc().Mem() ...
//
// Locks: a call holds the owner's lock for reading, then, allocation by allocation in allocation order,
// the allocation's lock for reading and the element ranges it uses in it (rangeLock: for writing the
// range it writes, the output of a pass or the destination of an Upload, for reading the others); Free
// takes one allocation's lock for writing; Close takes the owner's lock for writing. So Close waits for
// running calls, Free waits for the calls that use its allocation, calls that write overlapping ranges
// run one at a time and never beside a call that reads their range, calls on disjoint ranges of one
// allocation run side by side, and no order of calls can deadlock (every call takes its locks in the
// same global order).
type Owner struct {
	spec   string
	id     uint64 // tells Backend values of the same spec apart in messages (see describe)
	dtypes formula.DTypeSet
	free   func(mem any) error

	mu     sync.RWMutex
	closed bool

	liveMu  sync.Mutex
	live    map[*Alloc]struct{}
	inUse   int64
	buffers int
	wrapped int64
}

// NewOwner returns the bookkeeping for the backend opened by spec. dtypes are the dtypes the device
// supports (Alloc refuses the others). free releases one allocation's handle; it is called once per allocation, by
// Free or by Close.
func NewOwner(spec string, dtypes formula.DTypeSet, free func(mem any) error) *Owner {
	return &Owner{spec: spec, id: ownerIDs.Add(1), dtypes: dtypes, free: free, live: make(map[*Alloc]struct{})}
}

var ownerIDs atomic.Uint64

// describe names the Backend value an owner serves: its spec and, since several values may be open on
// one device, which of them ("cpu backend #3", counted from 1 in the order they were opened).
func (o *Owner) describe() string { return fmt.Sprintf("%s backend #%d", o.spec, o.id) }

// foreign is the message of a buffer b used on o that another Backend value allocated.
func (o *Owner) foreign(b Buffer) string {
	return fmt.Sprintf("allocated by %s, not by this %s", b.a.owner.describe(), o.describe())
}

// Spec is the spec of the backend the owner serves ("cpu", "cuda:0").
func (o *Owner) Spec() string { return o.spec }

// Alloc checks dtype and n, then calls alloc with the size in bytes and registers what it returns. alloc
// should wrap ErrOutOfMemory when the device is full.
func (o *Owner) Alloc(dtype formula.DType, n int, alloc func(bytes int64) (any, error)) (Buffer, error) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return Buffer{}, Errorf(ErrClosed, o.spec, "Alloc", "", "the backend was closed")
	}
	if !o.dtypes.Has(dtype) {
		return Buffer{}, Errorf(ErrUnsupportedDType, o.spec, "Alloc", "dtype", "the device cannot hold %s (it has %s)", dtype, o.dtypes)
	}
	if n < 0 || int64(n) > MaxElements || int64(n) > math.MaxInt64/int64(dtype.Size()) {
		return Buffer{}, Errorf(ErrBadSize, o.spec, "Alloc", "n", "%d %s elements (0 to %d)", n, dtype, min(MaxElements, math.MaxInt64/int64(max(1, dtype.Size()))))
	}
	mem, err := alloc(int64(n) * int64(dtype.Size()))
	if err != nil {
		return Buffer{}, err
	}
	return o.register(&Alloc{owner: o, id: allocIDs.Add(1), dtype: dtype, n: n, mem: mem}), nil
}

func (o *Owner) register(a *Alloc) Buffer {
	o.liveMu.Lock()
	o.live[a] = struct{}{}
	if a.external {
		o.wrapped += a.bytes()
	} else {
		o.inUse += a.bytes()
		o.buffers++
	}
	o.liveMu.Unlock()
	return Buffer{a: a, n: a.n}
}

// Adopt registers memory the caller owns (a Go slice, a device pointer another library allocated) as an
// allocation of n elements of dtype, op naming the call for messages. check validates the handle after
// the common checks (closed, dtype, size); mem is what Alloc.Mem returns. Free and Close forget the
// allocation without calling the owner's free function: gpuact never frees memory it does not own.
func (o *Owner) Adopt(op string, dtype formula.DType, n int, check func() (mem any, err error)) (Buffer, error) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return Buffer{}, Errorf(ErrClosed, o.spec, op, "", "the backend was closed")
	}
	if !o.dtypes.Has(dtype) {
		return Buffer{}, Errorf(ErrUnsupportedDType, o.spec, op, "dtype", "the device cannot hold %s (it has %s)", dtype, o.dtypes)
	}
	if n <= 0 || int64(n) > MaxElements {
		return Buffer{}, Errorf(ErrBadSize, o.spec, op, "n", "%d %s elements: memory to wrap has 1 to %d elements", n, dtype, MaxElements)
	}
	mem, err := check()
	if err != nil {
		return Buffer{}, err
	}
	return o.register(&Alloc{owner: o, id: allocIDs.Add(1), dtype: dtype, n: n, mem: mem, external: true}), nil
}

// Free releases b's allocation: a no-op for the zero Buffer, a freed buffer or a closed owner.
func (o *Owner) Free(b Buffer) error {
	if b.a == nil {
		return nil
	}
	if b.a.owner != o {
		return Errorf(ErrForeignBuffer, o.spec, "Free", "b", "the buffer was %s", o.foreign(b))
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return nil
	}
	return o.release(b.a)
}

func (o *Owner) release(a *Alloc) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.freed {
		return nil
	}
	a.freed = true
	o.liveMu.Lock()
	delete(o.live, a)
	if a.external {
		o.wrapped -= a.bytes()
	} else {
		o.inUse -= a.bytes()
		o.buffers--
	}
	o.liveMu.Unlock()
	var err error
	if !a.external {
		err = o.free(a.mem)
	}
	a.mem = nil
	return err
}

// Close marks the owner closed once all running calls have finished, frees every live allocation, then
// calls shutdown (which releases the device). A second Close returns nil.
func (o *Owner) Close(shutdown func() error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	o.liveMu.Lock()
	live := make([]*Alloc, 0, len(o.live))
	for a := range o.live {
		live = append(live, a)
	}
	o.liveMu.Unlock()
	slices.SortFunc(live, func(a, b *Alloc) int { return cmpID(a.id, b.id) })
	var errs []error
	for _, a := range live {
		errs = append(errs, o.release(a))
	}
	if shutdown != nil {
		errs = append(errs, shutdown())
	}
	return errors.Join(errs...)
}

// Exclusive runs f, for op, once every running call has finished and with no other call running until
// it returns (the owner's lock for writing, as Close holds it): for changes of the state every call
// reads, such as the stream a GPU backend queues on. A closed owner gives ErrClosed.
func (o *Owner) Exclusive(op string, f func() error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return Errorf(ErrClosed, o.spec, op, "", "the backend was closed")
	}
	return f()
}

// Stats reports the bytes and allocations live in this owner.
func (o *Owner) Stats() (inUse int64, buffers int) {
	o.liveMu.Lock()
	defer o.liveMu.Unlock()
	return o.inUse, o.buffers
}

// Wrapped reports the bytes of adopted memory (Adopt) the owner uses and does not own.
func (o *Owner) Wrapped() int64 {
	o.liveMu.Lock()
	defer o.liveMu.Unlock()
	return o.wrapped
}

func cmpID(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Lease is what a call holds while it uses the device: the owner's lock and the locks of its buffers'
// allocations (for writing on the allocation it writes, for reading on the others). End releases it;
// End on the zero Lease does nothing.
type Lease struct {
	o      *Owner
	allocs [3]*Alloc
	tag    uint64 // the ranges this call holds in its allocations (rangeLock)
	k      int
	// DType and N are the dtype and length shared by the call's buffers.
	DType formula.DType
	N     int
	// Row is the formula a pass computes (BeginPass only): its kernel, its tolerance, its oracle.
	Row formula.Row
}

// End releases the lease.
func (l Lease) End() {
	for i := l.k - 1; i >= 0; i-- {
		l.allocs[i].ranges.release(l.tag)
		l.allocs[i].mu.RUnlock()
	}
	if l.o != nil {
		l.o.mu.RUnlock()
	}
}

// Begin starts a call that uses no buffer (Sync, Memory): it fails only on a closed owner.
func (o *Owner) Begin(op string) (Lease, error) {
	o.mu.RLock()
	if o.closed {
		o.mu.RUnlock()
		return Lease{}, Errorf(ErrClosed, o.spec, op, "", "the backend was closed")
	}
	return Lease{o: o}, nil
}

// BeginPass checks the arguments of pass p in the order of SEMANTICS §6.1 and, when they are good, leases
// the buffers; the lease carries the pass's formula (Lease.Row), whose kernel the backend runs. out is
// the output (y or dx); in1 and in2 are the inputs in the order the Backend method takes them (x for
// Forward, with in2 the zero Buffer; dy then x or y for the backward passes). The checks, in order:
// closed backend; the pass, the activation and α (formula.Check); nil buffers, foreign buffers, dtypes,
// lengths; α in the buffers' dtype (formula.CheckAlpha); overlap; freed buffers.
func (o *Owner) BeginPass(p formula.Pass, act formula.Activation, out, in1, in2 Buffer) (Lease, error) {
	op := p.String()
	l, err := o.Begin(op)
	if err != nil {
		return Lease{}, err
	}
	row, err := formula.Check(p, act)
	if err != nil {
		l.End()
		return Lease{}, Wrap(o.spec, op, err)
	}
	names := p.Args()
	bufs := [3]Buffer{out, in1, in2}
	nb := len(names)
	for i := 0; i < nb; i++ {
		if err := o.own(op, names[i], bufs[i]); err != nil {
			l.End()
			return Lease{}, err
		}
	}
	for i := 1; i < nb; i++ {
		if bufs[i].a.dtype != out.a.dtype {
			l.End()
			return Lease{}, Errorf(ErrDTypeMismatch, o.spec, op, names[i], "%s is %s, %s is %s", names[0], out.a.dtype, names[i], bufs[i].a.dtype)
		}
		if bufs[i].n != out.n {
			l.End()
			return Lease{}, Errorf(ErrLengthMismatch, o.spec, op, names[i], "%s has %d elements, %s has %d", names[0], out.n, names[i], bufs[i].n)
		}
	}
	if err := formula.CheckAlpha(act, out.a.dtype); err != nil {
		l.End()
		return Lease{}, Wrap(o.spec, op, err)
	}
	for i := 1; i < nb; i++ {
		if partialOverlap(out, bufs[i]) {
			l.End()
			return Lease{}, Errorf(ErrOverlap, o.spec, op, names[0], "%s [%d:%d] and %s [%d:%d] share memory but are not the same buffer",
				names[0], out.off, out.off+out.n, names[i], bufs[i].off, bufs[i].off+bufs[i].n)
		}
	}
	l.DType, l.N, l.Row = out.a.dtype, out.n, row
	if err := l.lock(op, names[:nb], bufs[:nb], 0); err != nil {
		return Lease{}, err
	}
	return l, nil
}

// BeginDeviceCopy checks a device-to-device copy from src to dst and leases both.
func (o *Owner) BeginDeviceCopy(dst, src Buffer) (Lease, error) {
	const op = "Copy"
	l, err := o.Begin(op)
	if err != nil {
		return Lease{}, err
	}
	bufs := []Buffer{dst, src}
	names := []string{"dst", "src"}
	for i, b := range bufs {
		if err := o.own(op, names[i], b); err != nil {
			l.End()
			return Lease{}, err
		}
	}
	if dst.a.dtype != src.a.dtype {
		l.End()
		return Lease{}, Errorf(ErrDTypeMismatch, o.spec, op, "src", "dst is %s, src is %s", dst.a.dtype, src.a.dtype)
	}
	if dst.n != src.n {
		l.End()
		return Lease{}, Errorf(ErrLengthMismatch, o.spec, op, "src", "dst has %d elements, src has %d", dst.n, src.n)
	}
	if partialOverlap(dst, src) {
		l.End()
		return Lease{}, Errorf(ErrOverlap, o.spec, op, "dst", "dst [%d:%d] and src [%d:%d] share memory but are not the same buffer",
			dst.off, dst.off+dst.n, src.off, src.off+src.n)
	}
	l.DType, l.N = dst.a.dtype, dst.n
	if err := l.lock(op, names, bufs, 0); err != nil {
		return Lease{}, err
	}
	return l, nil
}

// BeginCopy checks a copy between buffer b and host memory h (Upload when upload is true, else Download)
// and leases b.
func (o *Owner) BeginCopy(b Buffer, h Host, upload bool) (Lease, error) {
	op, bname, hname := "Download", "src", "dst"
	if upload {
		op, bname, hname = "Upload", "dst", "src"
	}
	l, err := o.Begin(op)
	if err != nil {
		return Lease{}, err
	}
	if err := o.own(op, bname, b); err != nil {
		l.End()
		return Lease{}, err
	}
	if h.dtype != b.a.dtype {
		l.End()
		return Lease{}, Errorf(ErrDTypeMismatch, o.spec, op, hname, "%s buffer is %s, %s host slice is %s", bname, b.a.dtype, hname, h.dtype)
	}
	if h.n != b.n {
		l.End()
		return Lease{}, Errorf(ErrLengthMismatch, o.spec, op, hname, "%s buffer has %d elements, %s host slice has %d", bname, b.n, hname, h.n)
	}
	l.DType, l.N = b.a.dtype, b.n
	writes := -1
	if upload {
		writes = 0
	}
	if err := l.lock(op, []string{bname}, []Buffer{b}, writes); err != nil {
		return Lease{}, err
	}
	return l, nil
}

// Check reports, for op and its argument name, whether b is usable on o: the owner is open, b is not the
// zero Buffer, o allocated or adopted it, and it is not freed. It holds no lease afterwards: for calls
// that read b's description (a device address) rather than its elements.
func (o *Owner) Check(op, name string, b Buffer) error {
	l, err := o.Begin(op)
	if err != nil {
		return err
	}
	defer l.End()
	if err := o.own(op, name, b); err != nil {
		return err
	}
	b.a.mu.RLock()
	defer b.a.mu.RUnlock()
	if b.a.freed {
		return Errorf(ErrFreed, o.spec, op, name, "%s was freed (allocation #%d)", name, b.a.id)
	}
	return nil
}

func (o *Owner) own(op, name string, b Buffer) error {
	if b.a == nil {
		return Errorf(ErrNilBuffer, o.spec, op, name, "%s is the zero Buffer", name)
	}
	if b.a.owner != o {
		return Errorf(ErrForeignBuffer, o.spec, op, name, "%s was %s", name, o.foreign(b))
	}
	return nil
}

// lock leases the distinct allocations of bufs in id order: the allocation's lock for reading, a check
// that it is not freed, then the ranges of bufs in it, for writing the range of bufs[writes] (-1: none)
// and for reading the others. On error the whole lease, owner lock included, is released.
func (l *Lease) lock(op string, names []string, bufs []Buffer, writes int) error {
	var order [3]int
	k := 0
	for i, b := range bufs {
		dup := false
		for _, j := range order[:k] {
			if bufs[j].a == b.a {
				dup = true
			}
		}
		if !dup {
			order[k] = i
			k++
		}
	}
	slices.SortFunc(order[:k], func(i, j int) int { return cmpID(bufs[i].a.id, bufs[j].a.id) })
	l.tag = leaseTags.Add(1)
	for _, i := range order[:k] {
		a := bufs[i].a
		a.mu.RLock()
		if a.freed {
			a.mu.RUnlock()
			l.End()
			return Errorf(ErrFreed, l.o.spec, op, names[i], "%s was freed (allocation #%d)", names[i], a.id)
		}
		var spans [3]span
		ns := 0
		for j, b := range bufs {
			if b.a == a {
				spans[ns] = span{b.off, b.off + b.n, j == writes}
				ns++
			}
		}
		a.ranges.acquire(l.tag, spans[:ns])
		l.allocs[l.k] = a
		l.k++
	}
	return nil
}

// partialOverlap reports whether a and b share memory without being the same view. Views of equal
// length (the passes check lengths first) are the same view when they start at the same element.
func partialOverlap(a, b Buffer) bool {
	if a.a != b.a || a.n == 0 || b.n == 0 {
		return false
	}
	if a.off == b.off && a.n == b.n {
		return false
	}
	return a.off < b.off+b.n && b.off < a.off+a.n
}
