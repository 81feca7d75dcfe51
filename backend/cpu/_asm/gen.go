package main

import (
	"log"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// gen emits one kernel function into a context.
type gen struct {
	*build.Context
	d         dtype
	prefix    string // for static data names
	zero      reg.VecVirtual
	alpha     reg.VecVirtual // α broadcast (nil when unused)
	consts    map[string]operand.Mem
	regs      map[string]reg.VecVirtual // constants held in registers for the whole loop
	polyAlpha bool                      // expm1Poly uses the dtype's polyAlpha
	// The careful-path check of the loop being emitted (see checkRare).
	lane, lanes int
	rareAcc     reg.VecVirtual
	rareExit    string
}

// checkRare takes the mask of the lanes of this vector that need the careful scalar path. The
// vectors of one iteration are emitted as lanes that interleaveLanes merges instruction by
// instruction, each lane's code having the same shape, so the last lane's instructions here come
// after the other lanes' masks exist: it ORs them together and leaves the loop, before anything is
// stored (dst may be a or b, in place, and the Go caller recomputes the block from them). Checking as
// soon as the masks exist, mid-computation, frees their registers for the rest.
func (g *gen) checkRare(m reg.VecVirtual) {
	switch {
	case g.lane == 0:
		g.rareAcc = m
	default:
		g.d.or(g.Context, m, g.rareAcc, m)
		g.rareAcc = m
	}
	if g.lane == g.lanes-1 {
		bits := g.GP32()
		g.d.movmsk(g.Context, g.rareAcc, bits)
		g.TESTL(bits, bits)
		g.JNZ(operand.LabelRef(g.rareExit))
	}
}

// k returns the constant bits (repeated across a vector) as an operand for the last (Intel) source of
// an instruction: the register it was preloaded into, or a 32-byte static vector in memory.
func (g *gen) k(name string, bits uint64) operand.Op {
	if r, ok := g.regs[name]; ok {
		return r
	}
	return g.mem(name, bits)
}

// preload loads constants into registers before the loop. Loads of constants from memory compete
// with the data's loads (Zen 3 does two 256-bit loads a cycle), so the kernels keep in registers
// whatever their working registers leave free.
func (g *gen) preload(names ...string) {
	for _, name := range names {
		r := g.vec()
		g.d.load(g.Context, g.mem(name, g.d.constant(name)), r)
		g.regs[name] = r
	}
}

func (g *gen) mem(name string, bits uint64) operand.Mem {
	if m, ok := g.consts[name]; ok {
		return m
	}
	if bits == 0 {
		log.Fatalf("%s: constant %s is zero: missing from the dtype table?", g.prefix, name)
	}
	m := g.StaticGlobal(g.prefix + "_" + name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for off := 0; off < 32; off += g.d.size {
		if g.d.size == 4 {
			g.AddDatum(off, operand.U32(uint32(bits)))
		} else {
			g.AddDatum(off, operand.U64(bits))
		}
	}
	g.consts[name] = m
	return m
}

func (g *gen) vec() reg.VecVirtual { return g.YMM() }

// copyOf returns a new register holding v (the move is eliminated at rename).
func (g *gen) copyOf(v reg.VecVirtual) reg.VecVirtual {
	r := g.vec()
	g.VMOVAPS(v, r)
	return r
}

func (g *gen) loadConst(name string, bits uint64) reg.VecVirtual {
	r := g.vec()
	g.d.load(g.Context, g.k(name, bits), r)
	return r
}

// interleave marks the code of the vectors of one loop iteration so that interleaveLanes can merge
// them instruction by instruction: each vector's computation is one long dependency chain, and
// interleaving puts the independent chains side by side for the out-of-order core.
const laneMarker = "lane"

// selectPositive returns (x > 0 ? ifPos : v) with NaN x giving x: the select of every backward pass.
func (g *gen) selectPositive(x, ifPos, v reg.VecVirtual) reg.VecVirtual {
	gt := g.vec()
	g.d.cmp(g.Context, operand.U8(cmpGTOQ), g.zero, x, gt)
	g.d.blend(g.Context, gt, ifPos, v, v)
	nan := g.vec()
	g.d.cmp(g.Context, operand.U8(cmpUnord), x, x, nan)
	g.d.blend(g.Context, nan, x, v, v)
	return v
}

// forwardSelect returns (x > 0 || x is NaN ? x : v).
func (g *gen) forwardSelect(x, v reg.VecVirtual) reg.VecVirtual {
	m := g.vec()
	g.d.cmp(g.Context, operand.U8(cmpNLEUQ), g.zero, x, m)
	g.d.blend(g.Context, m, x, v, v)
	return v
}

// signSelect returns (x's sign bit set ? neg : pos): VBLENDV reads only the mask's sign bit, so x
// itself is the mask and no compare is needed.
func (g *gen) signSelect(x, neg, pos reg.VecVirtual) reg.VecVirtual {
	g.d.blend(g.Context, x, neg, pos, neg)
	return neg
}
