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
	isa       *isa
	d         dtype
	prefix    string // for static data names
	zero      reg.VecVirtual
	alpha     reg.VecVirtual // α broadcast (nil when unused)
	consts    map[string]operand.Mem
	regs      map[string]reg.VecVirtual // constants held in registers for the whole loop
	used      *[]namedConst             // when set, k appends the constants it is asked for (usedConstants)
	polyAlpha bool                      // expm1Poly uses the dtype's polyAlpha
	// The careful-path check of the loop being emitted (see checkRare).
	lane, lanes int
	rareAcc     reg.Register
	rareExit    string
}

// checkRare takes the mask of the lanes of this vector that need the careful scalar path. The
// vectors of one iteration are emitted as lanes that interleaveLanes merges instruction by
// instruction, each lane's code having the same shape, so the last lane's instructions here come
// after the other lanes' masks exist: it ORs them together and leaves the loop, before anything is
// stored (dst may be a or b, in place, and the Go caller recomputes the block from them). Checking as
// soon as the masks exist, mid-computation, frees their registers for the rest.
func (g *gen) checkRare(m reg.Register) {
	switch {
	case g.lane == 0:
	case g.isa.avx512:
		g.KORW(m, g.rareAcc, m)
	default:
		g.d.or(g.Context, m, g.rareAcc, m)
	}
	g.rareAcc = m
	if g.lane == g.lanes-1 {
		if g.isa.avx512 {
			g.KORTESTW(g.rareAcc, g.rareAcc)
		} else {
			bits := g.GP32()
			g.d.movmsk(g.Context, g.rareAcc, bits)
			g.TESTL(bits, bits)
		}
		g.JNZ(operand.LabelRef(g.rareExit))
	}
}

// k returns the constant bits (repeated across a vector) as an operand for the last (Intel) source of
// an instruction: the register it was preloaded into, or a static vector (one register's bytes) in memory.
func (g *gen) k(name string, bits uint64) operand.Op {
	if g.used != nil {
		*g.used = append(*g.used, namedConst{name, bits})
	}
	if r, ok := g.regs[name]; ok {
		return r
	}
	return g.mem(name, bits)
}

// preload loads constants into registers before the loop. Loads of constants from memory compete
// with the data's loads (Zen 3 does two 256-bit loads a cycle), so the kernels keep in registers
// whatever their working registers leave free.
func (g *gen) preload(names ...string) {
	cs := make([]namedConst, len(names))
	for i, name := range names {
		cs[i] = namedConst{name, g.d.constant(name)}
	}
	g.preloadAll(cs, len(cs))
}

// namedConst is a constant a kernel's body uses: its static data's name and its bits.
type namedConst struct {
	name string
	bits uint64
}

// usedConstants returns the constants body asks k for, each once, in order of first use, found by
// emitting one vector of it into a scratch context that is then thrown away.
func (g *gen) usedConstants(body func(g *gen, a, b reg.VecVirtual) reg.VecVirtual) []namedConst {
	var used []namedConst
	s := *g
	s.Context = build.NewContext()
	s.Function("scratch")
	s.used, s.regs, s.consts = &used, map[string]reg.VecVirtual{}, map[string]operand.Mem{}
	s.lane, s.lanes, s.rareExit = 0, 1, "scratch"
	a, b := s.vec(), s.vec()
	body(&s, a, b)
	seen := map[string]bool{}
	var out []namedConst
	for _, c := range used {
		if !seen[c.name] {
			seen[c.name] = true
			out = append(out, c)
		}
	}
	return out
}

// preloadAll loads constants into registers before the loop, at most max of them (AVX-512's 32
// registers hold every constant of most kernels).
func (g *gen) preloadAll(cs []namedConst, max int) {
	for i, c := range cs {
		if i == max {
			break
		}
		r := g.vec()
		g.d.load(g.Context, g.mem(c.name, c.bits), r)
		g.regs[c.name] = r
	}
}

// table returns a static vector of the given 64-bit words (one register's bytes), named name.
func (g *gen) table(name string, words []uint64) operand.Mem {
	if len(words)*8 != g.isa.vecBytes {
		log.Fatalf("%s: table %s has %d bytes for a %d-byte vector", g.prefix, name, len(words)*8, g.isa.vecBytes)
	}
	return g.static(name, func() {
		for i, w := range words {
			g.AddDatum(8*i, operand.U64(w))
		}
	})
}

// mem returns the static vector of the constant bits repeated in every element, named name.
func (g *gen) mem(name string, bits uint64) operand.Mem {
	if bits == 0 {
		log.Fatalf("%s: constant %s is zero: missing from the dtype table?", g.prefix, name)
	}
	return g.static(name, func() {
		for off := 0; off < g.isa.vecBytes; off += g.d.size {
			if g.d.size == 4 {
				g.AddDatum(off, operand.U32(uint32(bits)))
			} else {
				g.AddDatum(off, operand.U64(bits))
			}
		}
	})
}

// static returns the read-only static data named name, which fill writes the first time it is asked for.
func (g *gen) static(name string, fill func()) operand.Mem {
	if m, ok := g.consts[name]; ok {
		return m
	}
	m := g.StaticGlobal(g.prefix + "_" + name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	fill()
	g.consts[name] = m
	return m
}

func (g *gen) vec() reg.VecVirtual {
	if g.isa.avx512 {
		return g.ZMM()
	}
	return g.YMM()
}

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

// A mask is the lanes a compare selected: a vector whose selected lanes are all ones (AVX2) or an opmask
// register (AVX-512). cmp returns the lanes where a pred b holds (avo's operand order: b first).
func (g *gen) cmp(pred uint8, b, a operand.Op) reg.Register {
	var m reg.Register
	if g.isa.avx512 {
		m = g.K()
	} else {
		m = g.vec()
	}
	g.d.cmp(g.Context, operand.U8(pred), b, a, m)
	return m
}

// blendInto sets the lanes of dst that m selects to src's.
func (g *gen) blendInto(m reg.Register, src, dst reg.VecVirtual) {
	if g.isa.avx512 {
		g.d.blendm(g.Context, src, dst, m, dst)
	} else {
		g.d.blend(g.Context, m, src, dst, dst)
	}
}

// zeroUnless returns src in the lanes m selects and +0 in the others.
func (g *gen) zeroUnless(m reg.Register, src reg.VecVirtual) reg.VecVirtual {
	if g.isa.avx512 {
		r := g.vec()
		g.d.moveZ(g.Context, src, m, r)
		return r
	}
	g.d.and(g.Context, src, m, m) // the mask's own register: all ones where selected
	return m.(reg.VecVirtual)
}

// selectPositive returns (x > 0 ? ifPos : v) with NaN x giving x: the select of every backward pass.
func (g *gen) selectPositive(x, ifPos, v reg.VecVirtual) reg.VecVirtual {
	g.blendInto(g.cmp(cmpGTOQ, g.zero, x), ifPos, v)
	g.blendInto(g.cmp(cmpUnord, x, x), x, v)
	return v
}

// forwardSelect returns (x > 0 || x is NaN ? x : v).
func (g *gen) forwardSelect(x, v reg.VecVirtual) reg.VecVirtual {
	g.blendInto(g.cmp(cmpNLEUQ, g.zero, x), x, v)
	return v
}

// signSelect returns (x's sign bit set ? neg : pos). VBLENDV reads only the mask's sign bit, so with
// AVX2 x itself is the mask and no compare is needed; AVX-512 moves the sign bits into an opmask
// register (VPMOVD2M/VPMOVQ2M, one cheap instruction).
func (g *gen) signSelect(x, neg, pos reg.VecVirtual) reg.VecVirtual {
	if g.isa.avx512 {
		k := g.K()
		g.d.signMask(g.Context, x, k)
		g.d.blendm(g.Context, neg, pos, k, neg)
		return neg
	}
	g.d.blend(g.Context, x, neg, pos, neg)
	return neg
}
