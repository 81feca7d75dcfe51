package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// ReLU on float16 and bfloat16 needs no arithmetic: every result is one of the inputs, a zero, or an
// input NaN made quiet, and the widening kernels' round trip through float32 (convert, select, round)
// returns exactly those bits. So these kernels select on the 16-bit patterns with integer compares, 16
// elements per 256-bit vector and no conversion: for a float of these formats, "x > 0" is "x > 0 as a
// signed 16-bit integer" except for positive NaNs, and "x is NaN" is "x & 0x7fff above the infinity's
// bits". They produce the bits the float path produces (checked on every 16-bit pattern by
// TestExhaustive16): a NaN result is the NaN input with its quiet bit set (the top fraction bit), as
// widening to float32 and rounding back does.

// bits16 is a 16-bit float format as bit patterns.
type bits16 struct {
	suffix, name string
	inf          uint16 // the bits of +Inf: x&0x7fff above it is a NaN
	quiet        uint16 // the top fraction bit
}

var bits16Formats = []bits16{
	{suffix: "F16", name: "float16", inf: 0x7c00, quiet: 0x0200},
	{suffix: "BF16", name: "bfloat16", inf: 0x7f80, quiet: 0x0040},
}

// bitsBlock is the elements per loop iteration: one 32-byte vector of 16-bit elements, which is one
// block of the Go wrappers (kernels_amd64.go's blockBytes over float32's 4 bytes).
const bitsBlock = 16

// emitReLUBits writes ReLU forward (backward false: dst = relu(a)) or backward (dst = relu'(b)·a, b = x
// or y) on the 16-bit patterns of format f into ctx, under the generated kernels' signature (α unused).
func emitReLUBits(ctx *build.Context, backward bool, f bits16) {
	name := "reluBits" + "AVX2" + f.suffix
	doc := []string{"for i, x := range a[:len(dst)] {", "\tdst[i] = ReLU(x) // x > 0 || x != x ? x (a NaN made quiet) : +0", "}"}
	if backward {
		name = "reluBackwardBits" + "AVX2" + f.suffix
		doc = []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = ReLU'(b[i])·dy // b[i] NaN: b[i]; b[i] > 0: dy; else +0 (NaNs made quiet)", "}"}
	}
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.Pragma("noescape")
	ctx.SignatureExpr("func(alpha float32, dst, a, b []uint16, nt bool) (done int)")
	ctx.Doc(append([]string{
		fmt.Sprintf("%s computes, with AVX2, %d %s elements per iteration (len(dst) a multiple of %d; nt:", name, bitsBlock, f.name, bitsBlock),
		"non-temporal stores, dst 32-byte aligned) with integer compares on their bit patterns (relu16.go):", ""},
		append(doc, "", "It returns len(dst).")...)...)

	// Constants: 16 lanes of one 16-bit value each, in static data.
	konst := func(what string, v uint16) reg.VecVirtual {
		m := ctx.StaticGlobal(fmt.Sprintf("%s_%s", name, what))
		ctx.DataAttributes(attr.RODATA | attr.NOPTR)
		for off := 0; off < 32; off += 2 {
			ctx.AddDatum(off, operand.U16(v))
		}
		r := ctx.YMM()
		ctx.VMOVDQU(m, r)
		return r
	}
	dst := operand.Mem{Base: ctx.Load(ctx.Param("dst").Base(), ctx.GP64())}
	a := operand.Mem{Base: ctx.Load(ctx.Param("a").Base(), ctx.GP64())}
	var b operand.Mem
	if backward {
		b = operand.Mem{Base: ctx.Load(ctx.Param("b").Base(), ctx.GP64())}
	}
	n := ctx.Load(ctx.Param("dst").Len(), ctx.GP64())
	total := ctx.GP64()
	ctx.MOVQ(n, total)
	zero := ctx.YMM()
	ctx.VPXOR(zero, zero, zero)
	abs, inf, quiet := konst("abs", 0x7fff), konst("inf", f.inf), konst("quiet", f.quiet)
	nt := ctx.GP8()
	ctx.Load(ctx.Param("nt"), nt)
	ctx.TESTB(nt, nt)
	ctx.JNZ(operand.LabelRef("ntloop"))

	// nan returns the lanes of v that are NaN (all ones) and v with its quiet bit set in those lanes.
	nan := func(v reg.VecVirtual) (isNaN, quieted reg.VecVirtual) {
		isNaN, quieted = ctx.YMM(), ctx.YMM()
		ctx.VPAND(abs, v, isNaN)
		ctx.VPCMPGTW(inf, isNaN, isNaN) // |v| > inf's bits (Go operand order: src2, src1, dst)
		ctx.VPAND(quiet, isNaN, quieted)
		ctx.VPOR(v, quieted, quieted)
		return isNaN, quieted
	}
	loop := func(label, exit string, ntStore bool) {
		ctx.Label(label)
		ctx.TESTQ(n, n)
		ctx.JZ(operand.LabelRef(exit))
		res := ctx.YMM()
		if !backward {
			x := ctx.YMM()
			ctx.VMOVDQU(a, x)
			pos := ctx.YMM()
			ctx.VPCMPGTW(zero, x, pos) // x > 0 as a signed integer: positive, not ±0 (and positive NaNs)
			isNaN, xq := nan(x)
			ctx.VPOR(isNaN, pos, pos)
			ctx.VPAND(xq, pos, res)
		} else {
			dy, x := ctx.YMM(), ctx.YMM()
			ctx.VMOVDQU(a, dy)
			ctx.VMOVDQU(b, x)
			pos := ctx.YMM()
			ctx.VPCMPGTW(zero, x, pos)
			xNaN, xq := nan(x)
			_, dyq := nan(dy)
			ctx.VPANDN(pos, xNaN, pos) // x > 0 and not NaN (Go order: VPANDN src2, src1, dst = ^src1 & src2)
			ctx.VPAND(dyq, pos, pos)
			ctx.VPAND(xq, xNaN, res)
			ctx.VPOR(pos, res, res)
		}
		if ntStore {
			ctx.VMOVNTDQ(res, dst)
		} else {
			ctx.VMOVDQU(res, dst)
		}
		for _, m := range []operand.Mem{dst, a, b} {
			if m.Base != nil {
				ctx.ADDQ(operand.U32(2*bitsBlock), m.Base)
			}
		}
		ctx.SUBQ(operand.U32(bitsBlock), n)
		ctx.JMP(operand.LabelRef(label))
	}
	loop("loop", "done", false)
	loop("ntloop", "ntdone", true)
	ctx.Label("ntdone")
	ctx.SFENCE() // non-temporal stores are weakly ordered: fence before the caller publishes dst
	ctx.Label("done")
	ctx.Store(total, ctx.ReturnIndex(0))
	ctx.VZEROUPPER()
	ctx.RET()
}
