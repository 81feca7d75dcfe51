package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// storage is how a kernel's elements sit in memory. The float32 and float64 kernels compute in the type
// they store (native); the float16 and bfloat16 kernels widen each element to float32 as they load it,
// run the float32 body unchanged, and round each result once to the storage type, to nearest even, as
// they store it (SEMANTICS §1.6). Eight 16-bit elements (16 bytes) make one YMM vector of float32,
// sixteen (32 bytes) one ZMM vector.
type storage struct {
	suffix, goType string // the kernel name's suffix and the slices' Go element type
	name           string // for the doc comment: "float16"
	requires       string // the extensions the doc names besides the level's: "F16C"
	requires512    string // likewise for the AVX-512 level: "AVX512_BF16"
	half           bool   // 16-bit elements: a vector of results is half a register's bytes of memory
	// rareStore: store may leave the loop through the careful path's exit (g.rareExit) before storing
	// anything of the iteration, for the Go caller to compute the block another way; rareDoc says when,
	// for the kernels' doc comments ("whose results hold ...").
	rareStore bool
	rareDoc   string
	// preload, when set, loads constants of store's into g.regs before a loop.
	preload func(g *gen)
	// load returns, for each of ms, the kernel's vectors (l.g.isa.unroll of them) from it, widened to the
	// compute dtype; store writes them, rounded to the storage type, to m (nt: non-temporal stores, m
	// aligned to 32 bytes).
	load  func(g *gen, ms ...operand.Mem) [][]reg.VecVirtual
	store func(g *gen, res []reg.VecVirtual, m operand.Mem, nt bool)
}

// vecBytes is the bytes of memory per vector of results.
func (s *storage) vecBytes(l *isa) int {
	if s.half {
		return l.vecBytes / 2
	}
	return l.vecBytes
}

// halfVec returns a register of half a vector's bytes (XMM for YMM, YMM for ZMM).
func (g *gen) halfVec() reg.VecVirtual {
	if g.isa.avx512 {
		return g.YMM()
	}
	return g.XMM()
}

// storeInt writes the integer vector v to m: non-temporally (nt, m aligned to v's size) or not.
func (g *gen) storeInt(v reg.VecVirtual, m operand.Mem, nt bool) {
	switch {
	case nt:
		g.VMOVNTDQ(v, m)
	case v.Size() == 64:
		g.VMOVDQU64(v, m) // VMOVDQU has no EVEX form
	default:
		g.VMOVDQU(v, m)
	}
}

// native is the storage of the float32 and float64 kernels: each vector is 32 bytes of elements.
func native(d dtype) *storage {
	return &storage{
		suffix: d.suffix, goType: d.goType,
		load: func(g *gen, ms ...operand.Mem) [][]reg.VecVirtual {
			vs := make([][]reg.VecVirtual, len(ms))
			for u := range g.isa.unroll { // a's and b's vectors alternately
				for i, m := range ms {
					vs[i] = append(vs[i], g.vec())
					g.d.load(g.Context, m.Offset(g.isa.vecBytes*u), vs[i][u])
				}
			}
			return vs
		},
		store: func(g *gen, res []reg.VecVirtual, m operand.Mem, nt bool) {
			st := g.d.store
			if nt {
				st = g.d.storeNT
			}
			for u, r := range res {
				st(g.Context, r, m.Offset(g.isa.vecBytes*u))
			}
		},
	}
}

// float16 widens with VCVTPH2PS (F16C, exact) and rounds with VCVTPS2PH $0: the immediate's bit 2
// clear makes it round as bits 0–1 say (0: to nearest even) whatever MXCSR holds. VCVTPS2PH keeps
// subnormal results (MXCSR.FTZ does not apply to it, and Go leaves FTZ off anyway), gives ±Inf past
// 65520 and turns a NaN into a quiet NaN; VCVTPH2PS widens a signalling NaN to a quiet one.
var float16 = &storage{
	suffix: "F16", goType: "uint16", name: "float16", requires: "F16C", half: true,
	load: each(func(g *gen, m operand.Mem) []reg.VecVirtual {
		vs := make([]reg.VecVirtual, g.isa.unroll)
		for u := range vs {
			vs[u] = g.vec()
			g.VCVTPH2PS(m.Offset(g.isa.vecBytes/2*u), vs[u])
		}
		return vs
	}),
	store: func(g *gen, res []reg.VecVirtual, m operand.Mem, nt bool) {
		for u, r := range res {
			x := g.halfVec()
			g.VCVTPS2PH(operand.U8(0), r, x)
			g.storeInt(x, m.Offset(g.isa.vecBytes/2*u), nt)
		}
	},
}

// bfloat16 widens by placing each element in the high half of a 32-bit lane: VPUNPCKLWD and VPUNPCKHWD
// of 32 bytes (16 elements) with zeros give elements 0–3 and 8–11, then 4–7 and 12–15 (the unpacks work
// within each 128-bit lane; on 64 bytes with ZMM likewise, per lane). The float32 body does not care about the order, and VPACKUSDW of the two
// results, also per half, puts the elements back in order. Rounding is integer arithmetic on the
// float32 bits u: u + 0x7fff + (u>>16 & 1), then the high half: ties go to the even neighbour, a
// carry out of the fraction raises the exponent (up to infinity), subnormals are rounded like any
// other number. A NaN takes (u>>16) | 0x40 instead (VCMPPS unordered, blend): a quiet NaN of its sign,
// and never the infinity that rounding away its low payload bits could make.
var bfloat16 = &storage{
	suffix: "BF16", goType: "uint16", name: "bfloat16", half: true,
	load: each(func(g *gen, m operand.Mem) []reg.VecVirtual {
		vs := make([]reg.VecVirtual, g.isa.unroll)
		for u := 0; u < g.isa.unroll; u += 2 {
			// A zero of its own (a zeroing idiom, which costs no execution unit) rather than g.zero:
			// the loops that do not use g.zero then have its register for their constants.
			z := g.vec()
			if g.isa.avx512 {
				g.VPXORD(z, z, z)
			} else {
				g.VPXOR(z, z, z)
			}
			vs[u], vs[u+1] = g.vec(), g.vec()
			g.VPUNPCKLWD(m.Offset(g.isa.vecBytes/2*u), z, vs[u])
			g.VPUNPCKHWD(m.Offset(g.isa.vecBytes/2*u), z, vs[u+1])
		}
		return vs
	}),
	store: func(g *gen, res []reg.VecVirtual, m operand.Mem, nt bool) {
		rs := make([]reg.VecVirtual, len(res))
		for u, v := range res {
			rs[u] = g.roundBF16(v)
		}
		for u := 0; u < g.isa.unroll; u += 2 {
			g.VPACKUSDW(rs[u+1], rs[u], rs[u])
			g.storeInt(rs[u], m.Offset(g.isa.vecBytes/2*u), nt)
		}
	},
}

// each makes a storage's load from one that loads the vectors of one array.
func each(load func(g *gen, m operand.Mem) []reg.VecVirtual) func(g *gen, ms ...operand.Mem) [][]reg.VecVirtual {
	return func(g *gen, ms ...operand.Mem) [][]reg.VecVirtual {
		vs := make([][]reg.VecVirtual, len(ms))
		for i, m := range ms {
			vs[i] = load(g, m)
		}
		return vs
	}
}

// roundBF16 returns v's float32 lanes rounded to bfloat16, to nearest even, in the low 16 bits of each
// 32-bit lane (the high bits zero, so that VPACKUSDW does not saturate).
func (g *gen) roundBF16(v reg.VecVirtual) reg.VecVirtual {
	if g.isa.avx512 {
		return g.roundBF16Masked(v)
	}
	t := g.vec()
	g.VPSRLD(operand.U8(16), v, t)
	g.VPAND(g.mem("bf16lsb", 1), t, t)
	g.VPADDD(g.mem("bf16half", 0x7fff), t, t)
	g.VPADDD(v, t, t) // u + 0x7fff + lsb
	q := g.vec()
	g.VPOR(g.mem("bf16quiet", 0x400000), v, q) // a NaN made quiet: float32's top fraction bit
	nan := g.vec()
	g.VCMPPS(operand.U8(cmpUnord), v, v, nan)
	g.VBLENDVPS(nan, q, t, t)
	g.VPSRLD(operand.U8(16), t, t)
	return t
}

// roundBF16Masked is roundBF16 with AVX-512: the NaN lanes take v | quiet through an OR under the
// compare's opmask, instead of an OR, a compare into a vector and a blend.
func (g *gen) roundBF16Masked(v reg.VecVirtual) reg.VecVirtual {
	t := g.vec()
	g.VPSRLD(operand.U8(16), v, t)
	g.VPANDD(g.mem("bf16lsb", 1), t, t)
	g.VPADDD(g.mem("bf16half", 0x7fff), t, t)
	g.VPADDD(v, t, t) // u + 0x7fff + lsb
	nan := g.cmp(cmpUnord, v, v)
	g.VPORD(g.mem("bf16quiet", 0x400000), v, nan, t) // NaN lanes: v with float32's top fraction bit
	g.VPSRLD(operand.U8(16), t, t)
	return t
}

// bfloat16NE is bfloat16 with the rounding done by VCVTNE2PS2BF16 (AVX512_BF16, AVX-512 level only):
// one instruction rounds two vectors, to nearest even, with NaN made quiet as roundBF16 does. With the
// subnormal test, the reordering and the branch below that is 7 instructions per two vectors, where the
// integer rounding takes 15 (7 per vector and a VPACKUSDW). It treats float32 subnormals as zero, in and
// out (it ignores MXCSR), which would lose bfloat16's subnormals: so each iteration first looks for
// them among its results (VFPCLASSPS) and, if there is one, leaves the loop before storing anything
// (rareStore), and the Go caller computes that block with the integer-rounding kernel. The load is
// bfloat16's; the unpacks' lane order, which VPACKUSDW undoes per 128-bit lane, is undone here by one
// VPERMQ of the converted vector.
var bfloat16NE = &storage{
	suffix: "BF16NE", goType: "uint16", name: "bfloat16", requires512: "AVX512_BF16", half: true,
	rareStore: true, rareDoc: "whose results hold a float32 subnormal (which VCVTNE2PS2BF16 would flush to zero)",
	load: bfloat16.load,
	preload: func(g *gen) {
		r := g.vec()
		g.VMOVDQU64(g.table("bf16order", bf16Order[:]), r)
		g.regs["bf16order"] = r
	},
	store: func(g *gen, res []reg.VecVirtual, m operand.Mem, nt bool) {
		var acc reg.Register
		for u, v := range res {
			sub := g.K()
			g.VFPCLASSPSZ(operand.U8(fpclassSubnormal), v, sub)
			if u > 0 {
				g.KORW(sub, acc, sub)
			}
			acc = sub
		}
		g.KORTESTW(acc, acc)
		g.JNZ(operand.LabelRef(g.rareExit))
		order, ok := g.regs["bf16order"]
		if !ok {
			order = g.vec()
			g.VMOVDQU64(g.table("bf16order", bf16Order[:]), order)
		}
		for u := 0; u < g.isa.unroll; u += 2 {
			t := g.cvtne2ps2bf16(res[u+1], res[u])
			g.VPERMQ(t, order, t)
			g.storeInt(t, m.Offset(g.isa.vecBytes/2*u), nt)
		}
	},
}

// fpclassSubnormal is VFPCLASSPS's immediate for "subnormal" (bit 5; zeros are a class of their own).
const fpclassSubnormal = 0x20

// bf16Order is the VPERMQ index that puts in order the four-element groups of a VCVTNE2PS2BF16 of two
// vectors loaded by bfloat16's unpacks: the first vector's groups hold elements 0–3, 8–11, 16–19,
// 24–27, the second's 4–7, 12–15, 20–23, 28–31, and the conversion puts the first in the low half.
var bf16Order = [8]uint64{0, 4, 1, 5, 2, 6, 3, 7}
