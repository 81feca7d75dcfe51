package main

import "github.com/mmcloughlin/avo/reg"

// eluKernels are ELU forward, backward from input (both evaluate exp or expm1, exp.go) and
// backward from output.
var eluKernels = []kernel{
	{
		name: "elu", file: "elu", alpha: true,
		regs32: []string{"clamp", "magic", "log2e", "ln2"}, regs64: []string{"clamp", "magic"},
		doc: []string{"for i, x := range a[:len(dst)] {", "\tdst[i] = formula.ELUForward(alpha, x) // within SEMANTICS §2's ULPs", "}"},
		body: func(g *gen, x, _ reg.VecVirtual) reg.VecVirtual {
			d := g.d
			// Below the clamp expm1(x) is -1 in the dtype; the clamp keeps 2^k normal. A NaN x stays
			// NaN through all of it, so the final select by x's sign needs no NaN test: x > 0 (and
			// +NaN) is x, the rest (-0 and -NaN included) the computed value.
			xc := g.clampForExpm1(x)
			_, pow2, r := g.reduce(xc, d.forwardOneLn2)
			g.polyAlpha = true
			q := g.expm1Poly(r, false)
			g.polyAlpha = false
			// α·expm1(x) = α·2^k·q + α·(2^k - 1): the second term is rounded once (FMA) and the first
			// is added to it with one more rounding.
			a2k := g.vec()
			d.mul(g.Context, pow2, g.alpha, a2k)
			d.fmsub213(g.Context, g.alpha, g.alpha, pow2) // pow2 = α·2^k - α
			d.fmadd213(g.Context, pow2, a2k, q)           // q = α·2^k·q + α·(2^k - 1)
			return g.signSelect(x, q, x)
		},
		bodyAlphaOne: func(g *gen, x, _ reg.VecVirtual) reg.VecVirtual {
			d := g.d
			xc := g.clampForExpm1(x)
			_, pow2, r := g.reduce(xc, d.forwardOneLn2)
			q := g.expm1Poly(r, false)
			// The same as body with α = 1, rounding for rounding: 2^k - 1 is rounded once either way.
			s := g.vec()
			d.sub(g.Context, g.k("one", d.one), pow2, s)
			d.fmadd213(g.Context, s, pow2, q) // q = 2^k·q + (2^k - 1)
			return g.signSelect(x, q, x)
		},
	},
	{
		name: "eluBackwardInput", file: "elubackwardinput", backward: true, alpha: true, careful: true,
		regsOne32: []string{"magic", "log2e", "ln2hi", "ln2lo"}, regsOne64: []string{"magic", "log2e"},
		doc: []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = formula.ELUBackwardFromInput(alpha, dy, b[i]) // within SEMANTICS §2's ULPs", "}"},
		body: func(g *gen, dy, x reg.VecVirtual) reg.VecVirtual {
			d := g.d
			kf, pow2, r := g.reduce(x, false)
			// α·dy = h + l exactly; α·exp(x)·dy = 2^k·(h + l)·(1+q) = W + (W·q + L).
			h := g.vec()
			d.mul(g.Context, dy, g.alpha, h)
			g.checkRare(g.rareLanes(kf, h)) // 2^k subnormal, x NaN, α·dy overflowed
			q := g.expm1Poly(r, true)       // even/odd halves: more registers than there are
			l := g.copyOf(dy)
			d.fmsub213(g.Context, h, g.alpha, l) // l = α·dy - h
			w := g.vec()
			d.mul(g.Context, pow2, h, w)
			d.mul(g.Context, pow2, l, l)
			d.fmadd213(g.Context, l, w, q) // q = W·q + L
			d.add(g.Context, w, q, q)
			// x > 0 ? dy : q. x = +0 must give α·dy, so this select compares; NaN x is rare.
			g.blendInto(g.cmp(cmpGTOQ, g.zero, x), dy, q)
			return q
		},
		bodyAlphaOne: func(g *gen, dy, x reg.VecVirtual) reg.VecVirtual {
			d := g.d
			kf, pow2, r := g.reduce(x, false)
			g.checkRare(g.rareLanes(kf, dy)) // 2^k subnormal, x NaN, dy infinite (W·q + W would be NaN)
			q := g.expm1Poly(r, false)
			// exp(x)·dy = W·(1+q) with W = 2^k·dy exact: one rounding.
			w := g.vec()
			d.mul(g.Context, pow2, dy, w)
			d.fmadd213(g.Context, w, w, q) // q = W·q + W
			// x > 0 ? dy : q by x's sign: x = +0 gives W·(1+0) = dy either way; NaN x is rare.
			return g.signSelect(x, q, dy)
		},
	},
	{
		name: "eluBackwardOutput", file: "elubackwardoutput", backward: true, alpha: true,
		doc: []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = formula.ELUBackwardFromOutput(alpha, dy, b[i]) // (y+α)·dy within 1 ULP; b = y", "}"},
		body: func(g *gen, dy, y reg.VecVirtual) reg.VecVirtual {
			v := g.vec()
			g.d.add(g.Context, g.alpha, y, v)
			g.d.mul(g.Context, dy, v, v)
			return g.selectPositive(y, dy, v)
		},
	},
}
