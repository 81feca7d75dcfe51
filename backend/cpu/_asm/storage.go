package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// storage is how a kernel's elements sit in memory. The float32 and float64 kernels compute in the type
// they store (native); the float16 and bfloat16 kernels widen each element to float32 as they load it,
// run the float32 body unchanged, and round each result once to the storage type, to nearest even, as
// they store it (SEMANTICS §1.6). Eight 16-bit elements (16 bytes) make one YMM vector of float32.
type storage struct {
	suffix, goType string // the kernel name's suffix and the slices' Go element type
	name           string // for the doc comment: "float16"
	requires       string // the extensions the doc names: "AVX2 and FMA"
	vecBytes       int    // bytes of memory per vector of results
	// load returns, for each of ms, the kernel's vectors (unroll of them) from it, widened to the
	// compute dtype; store writes them, rounded to the storage type, to m (nt: non-temporal stores, m
	// aligned to 32 bytes).
	load  func(g *gen, ms ...operand.Mem) [][]reg.VecVirtual
	store func(g *gen, res []reg.VecVirtual, m operand.Mem, nt bool)
}

// native is the storage of the float32 and float64 kernels: each vector is 32 bytes of elements.
func native(d dtype) *storage {
	return &storage{
		suffix: d.suffix, goType: d.goType, requires: "AVX2 and FMA", vecBytes: 32,
		load: func(g *gen, ms ...operand.Mem) [][]reg.VecVirtual {
			vs := make([][]reg.VecVirtual, len(ms))
			for u := range unroll { // a's and b's vectors alternately
				for i, m := range ms {
					vs[i] = append(vs[i], g.vec())
					g.d.load(g.Context, m.Offset(32*u), vs[i][u])
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
				st(g.Context, r, m.Offset(32*u))
			}
		},
	}
}

// float16 widens with VCVTPH2PS (F16C, exact) and rounds with VCVTPS2PH $0: the immediate's bit 2
// clear makes it round as bits 0–1 say (0: to nearest even) whatever MXCSR holds. VCVTPS2PH keeps
// subnormal results (MXCSR.FTZ does not apply to it, and Go leaves FTZ off anyway), gives ±Inf past
// 65520 and turns a NaN into a quiet NaN; VCVTPH2PS widens a signalling NaN to a quiet one.
var float16 = &storage{
	suffix: "F16", goType: "uint16", name: "float16", requires: "AVX2, FMA and F16C", vecBytes: 16,
	load: each(func(g *gen, m operand.Mem) []reg.VecVirtual {
		vs := make([]reg.VecVirtual, unroll)
		for u := range vs {
			vs[u] = g.vec()
			g.VCVTPH2PS(m.Offset(16*u), vs[u])
		}
		return vs
	}),
	store: func(g *gen, res []reg.VecVirtual, m operand.Mem, nt bool) {
		for u, r := range res {
			x := g.XMM()
			g.VCVTPS2PH(operand.U8(0), r, x)
			if nt {
				g.VMOVNTDQ(x, m.Offset(16*u))
			} else {
				g.VMOVDQU(x, m.Offset(16*u))
			}
		}
	},
}

// bfloat16 widens by placing each element in the high half of a 32-bit lane: VPUNPCKLWD and VPUNPCKHWD
// of 32 bytes (16 elements) with zeros give elements 0–3 and 8–11, then 4–7 and 12–15 (the unpacks work
// within each 128-bit half). The float32 body does not care about the order, and VPACKUSDW of the two
// results, also per half, puts the elements back in order. Rounding is integer arithmetic on the
// float32 bits u: u + 0x7fff + (u>>16 & 1), then the high half: ties go to the even neighbour, a
// carry out of the fraction raises the exponent (up to infinity), subnormals are rounded like any
// other number. A NaN takes (u>>16) | 0x40 instead (VCMPPS unordered, blend): a quiet NaN of its sign,
// and never the infinity that rounding away its low payload bits could make.
var bfloat16 = &storage{
	suffix: "BF16", goType: "uint16", name: "bfloat16", requires: "AVX2 and FMA", vecBytes: 16,
	load: each(func(g *gen, m operand.Mem) []reg.VecVirtual {
		vs := make([]reg.VecVirtual, unroll)
		for u := 0; u < unroll; u += 2 {
			// A zero of its own (a zeroing idiom, which costs no execution unit) rather than g.zero:
			// the loops that do not use g.zero then have its register for their constants.
			z := g.vec()
			g.VPXOR(z, z, z)
			vs[u], vs[u+1] = g.vec(), g.vec()
			g.VPUNPCKLWD(m.Offset(16*u), z, vs[u])
			g.VPUNPCKHWD(m.Offset(16*u), z, vs[u+1])
		}
		return vs
	}),
	store: func(g *gen, res []reg.VecVirtual, m operand.Mem, nt bool) {
		rs := make([]reg.VecVirtual, len(res))
		for u, v := range res {
			rs[u] = g.roundBF16(v)
		}
		for u := 0; u < unroll; u += 2 {
			g.VPACKUSDW(rs[u+1], rs[u], rs[u])
			if nt {
				g.VMOVNTDQ(rs[u], m.Offset(16*u))
			} else {
				g.VMOVDQU(rs[u], m.Offset(16*u))
			}
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
