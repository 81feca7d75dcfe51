package main

import "github.com/mmcloughlin/avo/reg"

// selectKernels are ReLU and LeakyReLU, forward and backward: compares, selects and one multiply.
var selectKernels = []kernel{
	{
		name: "relu", file: "relu",
		doc: []string{"for i, x := range a[:len(dst)] {", "\tdst[i] = formula.ReLUForward(x) // x > 0 || x != x ? x : +0", "}"},
		body: func(g *gen, x, _ reg.VecVirtual) reg.VecVirtual {
			return g.zeroUnless(g.cmp(cmpNLEUQ, g.zero, x), x)
		},
	},
	{
		name: "reluBackward", file: "relubackward", backward: true,
		doc: []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = formula.ReLUBackward(dy, b[i]) // b = x or y", "}"},
		body: func(g *gen, dy, x reg.VecVirtual) reg.VecVirtual {
			v := g.zeroUnless(g.cmp(cmpGTOQ, g.zero, x), dy)
			g.blendInto(g.cmp(cmpUnord, x, x), x, v)
			return v
		},
	},
	{
		name: "leakyReLU", file: "leakyrelu", alpha: true,
		doc: []string{"for i, x := range a[:len(dst)] {", "\tdst[i] = formula.LeakyReLUForward(alpha, x)", "}"},
		body: func(g *gen, x, _ reg.VecVirtual) reg.VecVirtual {
			v := g.vec()
			g.d.mul(g.Context, x, g.alpha, v)
			return g.forwardSelect(x, v)
		},
	},
	{
		name: "leakyReLUBackward", file: "leakyrelubackward", backward: true, alpha: true,
		doc: []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = formula.LeakyReLUBackward(alpha, dy, b[i]) // b = x or y", "}"},
		body: func(g *gen, dy, x reg.VecVirtual) reg.VecVirtual {
			v := g.vec()
			g.d.mul(g.Context, dy, g.alpha, v)
			return g.selectPositive(x, dy, v)
		},
	},
}
