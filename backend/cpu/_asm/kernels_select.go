package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// selectKernels are ReLU and LeakyReLU, forward and backward: compares, selects and one multiply.
var selectKernels = []kernel{
	{
		name: "relu", file: "relu",
		doc: []string{"for i, x := range a[:len(dst)] {", "\tdst[i] = formula.ReLUForward(x) // x > 0 || x != x ? x : +0", "}"},
		body: func(g *gen, x, _ reg.VecVirtual) reg.VecVirtual {
			m := g.vec()
			g.d.cmp(g.Context, operand.U8(cmpNLEUQ), g.zero, x, m)
			g.d.and(g.Context, x, m, m)
			return m
		},
	},
	{
		name: "reluBackward", file: "relubackward", backward: true,
		doc: []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = formula.ReLUBackward(dy, b[i]) // b = x or y", "}"},
		body: func(g *gen, dy, x reg.VecVirtual) reg.VecVirtual {
			v := g.vec()
			g.d.cmp(g.Context, operand.U8(cmpGTOQ), g.zero, x, v)
			g.d.and(g.Context, dy, v, v)
			nan := g.vec()
			g.d.cmp(g.Context, operand.U8(cmpUnord), x, x, nan)
			g.d.blend(g.Context, nan, x, v, v)
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
