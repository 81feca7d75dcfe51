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

// emitReLUBits writes ReLU forward (backward false: dst = relu(a)) or backward (dst = relu'(b)·a, b = x
// or y) on the 16-bit patterns of format f for level l into ctx, under the generated kernels' signature
// (α unused). One loop iteration is one vector of 16-bit elements, which is one block of the Go
// wrappers (kernels_amd64.go's blockBytes over float32's 4 bytes).
func emitReLUBits(ctx *build.Context, l *isa, backward bool, f bits16) {
	bitsBlock := l.vecBytes / 2
	name := "reluBits" + l.name + f.suffix
	doc := []string{"for i, x := range a[:len(dst)] {", "\tdst[i] = ReLU(x) // x > 0 || x != x ? x (a NaN made quiet) : +0", "}"}
	if backward {
		name = "reluBackwardBits" + l.name + f.suffix
		doc = []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = ReLU'(b[i])·dy // b[i] NaN: b[i]; b[i] > 0: dy; else +0 (NaNs made quiet)", "}"}
	}
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.Pragma("noescape")
	ctx.SignatureExpr("func(alpha float32, dst, a, b []uint16, nt bool) (done int)")
	level := "AVX2"
	if l.avx512 {
		level = l.requires
	}
	ctx.Doc(append([]string{
		fmt.Sprintf("%s computes, with %s, %d %s elements per iteration (len(dst) a multiple of %d; nt:", name, level, bitsBlock, f.name, bitsBlock),
		fmt.Sprintf("non-temporal stores, dst %d-byte aligned) with integer compares on their bit patterns (relu16.go):", l.vecBytes), ""},
		append(doc, "", "It returns len(dst).")...)...)

	// Constants: a vector of lanes of one 16-bit value each, in static data.
	konst := func(what string, v uint16) reg.VecVirtual {
		m := ctx.StaticGlobal(fmt.Sprintf("%s_%s", name, what))
		ctx.DataAttributes(attr.RODATA | attr.NOPTR)
		for off := 0; off < l.vecBytes; off += 2 {
			ctx.AddDatum(off, operand.U16(v))
		}
		if l.avx512 {
			r := ctx.ZMM()
			ctx.VMOVDQU64(m, r)
			return r
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
	var zero reg.VecVirtual
	if l.avx512 {
		zero = ctx.ZMM()
		ctx.VPXORD(zero, zero, zero)
	} else {
		zero = ctx.YMM()
		ctx.VPXOR(zero, zero, zero)
	}
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
		var res reg.VecVirtual
		switch {
		case l.avx512:
			res = reluBitsMasked(ctx, backward, zero, abs, inf, quiet, a, b)
		case !backward:
			res = ctx.YMM()
			x := ctx.YMM()
			ctx.VMOVDQU(a, x)
			pos := ctx.YMM()
			ctx.VPCMPGTW(zero, x, pos) // x > 0 as a signed integer: positive, not ±0 (and positive NaNs)
			isNaN, xq := nan(x)
			ctx.VPOR(isNaN, pos, pos)
			ctx.VPAND(xq, pos, res)
		default:
			res = ctx.YMM()
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
		switch {
		case ntStore:
			ctx.VMOVNTDQ(res, dst)
		case l.avx512:
			ctx.VMOVDQU64(res, dst)
		default:
			ctx.VMOVDQU(res, dst)
		}
		for _, m := range []operand.Mem{dst, a, b} {
			if m.Base != nil {
				ctx.ADDQ(operand.U32(l.vecBytes), m.Base)
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

// reluBitsMasked is one vector of the loop with AVX-512BW: the compares give opmasks, and masked word
// moves pick each lane's result, so a NaN's quiet bit is set by an OR of the whole vector whose
// result only the NaN lanes take.
func reluBitsMasked(ctx *build.Context, backward bool, zero, abs, inf, quiet reg.VecVirtual, a, b operand.Mem) reg.VecVirtual {
	// nan returns the NaN lanes of v, and v with every lane's quiet bit set.
	nan := func(v reg.VecVirtual) (isNaN reg.OpmaskVirtual, quieted reg.VecVirtual) {
		t := ctx.ZMM()
		ctx.VPANDD(abs, v, t)
		isNaN = ctx.K()
		ctx.VPCMPGTW(inf, t, isNaN) // |v| > inf's bits
		quieted = ctx.ZMM()
		ctx.VPORD(quiet, v, quieted)
		return isNaN, quieted
	}
	res := ctx.ZMM()
	if !backward {
		x := ctx.ZMM()
		ctx.VMOVDQU64(a, x)
		pos := ctx.K()
		ctx.VPCMPGTW(zero, x, pos) // x > 0 as a signed integer (positive NaNs too: the NaN move below wins)
		isNaN, xq := nan(x)
		ctx.VMOVDQU16_Z(x, pos, res)
		ctx.VMOVDQU16(xq, isNaN, res)
		return res
	}
	dy, x := ctx.ZMM(), ctx.ZMM()
	ctx.VMOVDQU64(a, dy)
	ctx.VMOVDQU64(b, x)
	pos := ctx.K()
	ctx.VPCMPGTW(zero, x, pos)
	xNaN, xq := nan(x)
	dyNaN, dyq := nan(dy)
	ctx.VMOVDQU16_Z(dy, pos, res) // x > 0: dy
	ctx.KANDD(pos, dyNaN, dyNaN)
	ctx.VMOVDQU16(dyq, dyNaN, res) // x > 0 and dy NaN: dy made quiet
	ctx.VMOVDQU16(xq, xNaN, res)   // x NaN: x made quiet, whatever dy is
	return res
}
