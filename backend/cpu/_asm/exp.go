package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// reduce computes, for x (clamped by the caller where it must be), k = round(x/ln2) as a float (kf),
// the vector 2^k (as bits built from k) and r = x - k·ln2 (|r| ≤ ln2/2), so that
// exp(x) = 2^k·exp(r). 2^k is right for -bias < k ≤ bias (k = -bias gives 0, below that garbage).
// oneLn2 reduces with ln2 rounded to the dtype, one FMA: the product kf·ln2 is exact inside it, so r
// is off by |k|·|ln2 - fl(ln2)| (|k|·1.9e-9 for float32), harmless where |k| stays small and
// |expm1(x)| ≥ 0.29 for k ≠ 0 (ELU forward, clamped); else ln2hi·k is exact and ln2lo adds the rest.
func (g *gen) reduce(x reg.VecVirtual, oneLn2 bool) (kf, pow2, r reg.VecVirtual) {
	d := g.d
	// t = x·log2e + magic: the addition rounds x·log2e to an integer k, held in t's low mantissa
	// bits together with the exponent bias that magic carries.
	t := g.loadConst("magic", d.magic)
	d.fmadd231(g.Context, g.k("log2e", d.log2e), x, t) // t = x·log2e + magic
	kf = g.vec()
	d.sub(g.Context, g.k("magic", d.magic), t, kf) // kf = t - magic = k
	r = g.copyOf(x)
	if oneLn2 {
		d.fnmadd231(g.Context, g.k("ln2", d.ln2), kf, r)
	} else {
		d.fnmadd231(g.Context, g.k("ln2hi", d.ln2hi), kf, r) // exact
		d.fnmadd231(g.Context, g.k("ln2lo", d.ln2lo), kf, r)
	}
	// 2^k: shifting t's low bits (k + bias) into the exponent field drops magic's own bits.
	pow2 = g.vec()
	d.shiftLeft(g.Context, operand.U8(d.mantBits), t, pow2)
	return kf, pow2, r
}

// expm1Poly returns q = expm1(r) for |r| ≤ ln2/2: q = r + r²·P(r). With polyHorner2, P is split
// into its even and odd coefficients, P(r) = E(r²) + r·O(r²), each evaluated by Horner in r²: the
// same number of FMAs as plain Horner in r (r² is needed for q anyway), in two independent chains of
// half the length, so that fewer vectors must be in flight to keep the FMA pipes busy.
// plainHorner forces plain Horner where the two chains' registers are not to be had. g.polyAlpha
// selects the dtype's polyAlpha instead of poly.
func (g *gen) expm1Poly(r reg.VecVirtual, plainHorner bool) reg.VecVirtual {
	d := g.d
	name := "c%d"
	if g.polyAlpha && d.polyAlpha != nil {
		d.poly, name = d.polyAlpha, "a%d" // its own static data: the names must not collide
	}
	c := func(i int) operand.Op { return g.k(fmt.Sprintf(name, i), d.poly[i]) }
	r2 := g.vec()
	var p reg.VecVirtual
	if !polyHorner2 || !d.horner2 || plainHorner {
		p = g.loadConst(fmt.Sprintf(name, len(d.poly)-1), d.poly[len(d.poly)-1])
		for i := len(d.poly) - 2; i >= 0; i-- {
			d.fmadd213(g.Context, c(i), r, p) // p = r·p + c_i
		}
		d.mul(g.Context, r, r, r2) // here, not first: measured 10-15% faster for float32 backward
	} else {
		d.mul(g.Context, r, r, r2)
		// horner returns Σ c_{i0+2j}·(r²)^j.
		horner := func(i0 int) reg.VecVirtual {
			last := i0 + (len(d.poly)-1-i0)/2*2
			h := g.loadConst(fmt.Sprintf(name, last), d.poly[last])
			for i := last - 2; i >= i0; i -= 2 {
				d.fmadd213(g.Context, c(i), r2, h) // h = r²·h + c_i
			}
			return h
		}
		e, o := horner(0), horner(1)
		d.fmadd213(g.Context, e, r, o) // P = r·O + E
		p = o
	}
	d.fmadd213(g.Context, r, r2, p) // q = r²·P + r
	return p
}

// clampForExpm1 returns max(x, clamp) with NaN x giving x (VMAXPS returns its second source,
// avo's first operand, when either is NaN), so that a NaN flows through the whole computation.
func (g *gen) clampForExpm1(x reg.VecVirtual) reg.VecVirtual {
	c, ok := g.k("clamp", g.d.clampExpm1).(reg.VecVirtual) // a register: VMAXPS's memory operand is x's place
	if !ok {
		c = g.loadConst("clamp", g.d.clampExpm1)
	}
	xc := g.vec()
	g.d.max(g.Context, x, c, xc)
	return xc
}

// rareLanes returns the lanes that the careful scalar path must compute: k < kLow (2^k not a normal
// number: exp(x) is subnormal or zero), x NaN (kf is NaN), or v infinite or NaN (v - v is NaN), for v
// the factor that must be finite for the fast formula (α·dy, or dy for α = 1). One compare:
// !(kf + (v - v) ≥ kLow), true when unordered; the subtraction and addition go to the FP adders,
// which the exp evaluation leaves idle.
func (g *gen) rareLanes(kf, v reg.VecVirtual) reg.Register {
	d := g.d
	z := g.vec()
	d.sub(g.Context, v, v, z)
	d.add(g.Context, kf, z, z)
	if g.isa.avx512 {
		return g.cmp(cmpNGEUQ, g.k("klow", d.kLow), z)
	}
	d.cmp(g.Context, operand.U8(cmpNGEUQ), g.k("klow", d.kLow), z, z) // into z: one register fewer
	return z
}
