package main

import (
	"slices"

	"github.com/mmcloughlin/avo/reg"
)

// kernel describes one formula.
type kernel struct {
	name, file string
	doc        []string // the plain Go loop the kernel computes, for the stub's doc comment
	backward   bool     // reads b
	alpha      bool     // uses α
	// regs names the constants held in registers (see preload), per dtype; regsOne those of the
	// α = 1 loop where they differ.
	regs32, regs64, regsOne32, regsOne64 []string
	// body computes one vector of results from a (and b). Kernels with a careful scalar path
	// (careful) call g.checkRare once with the mask of the lanes that need it.
	body func(g *gen, a, b reg.VecVirtual) reg.VecVirtual
	// bodyAlphaOne, when set, is body for α = 1 (ELU's default), which needs fewer multiplications;
	// the kernel picks it once, before its loop.
	bodyAlphaOne func(g *gen, a, b reg.VecVirtual) reg.VecVirtual
	careful      bool
}

// kernels lists every kernel the generator emits, in the order of stubs_amd64.go.
var kernels = slices.Concat(selectKernels, eluKernels)
