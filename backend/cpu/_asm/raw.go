package main

import (
	"fmt"
	"log"

	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Instructions that Go's assembler (and so avo) does not know are emitted as a placeholder with the
// operands, inputs and outputs avo needs to allocate their registers, and replaced, once registers are
// allocated (encodeRaw, from write), by their bytes and a comment naming the instruction.

// opCVTNE2PS2BF16 is VCVTNE2PS2BF16 (AVX512_BF16): two vectors of float32 rounded to bfloat16, to
// nearest even, into one: the low half of dst from src2, the high half from src1.
const opCVTNE2PS2BF16 = "VCVTNE2PS2BF16"

// cvtne2ps2bf16 emits VCVTNE2PS2BF16 (Intel order dst, src1, src2) and returns dst.
func (g *gen) cvtne2ps2bf16(src1, src2 reg.VecVirtual) reg.VecVirtual {
	dst := g.vec()
	g.Instruction(&ir.Instruction{
		Opcode:   opCVTNE2PS2BF16,
		Operands: []operand.Op{src2, src1, dst}, // Go's order: sources first, destination last
		Inputs:   []operand.Op{src2, src1},
		Outputs:  []operand.Op{dst},
		ISA:      []string{"AVX512_BF16"},
	})
	return dst
}

// encodeRaw replaces fn's placeholders by BYTE directives.
func encodeRaw(fn *ir.Function) {
	var out []ir.Node
	for _, n := range fn.Nodes {
		i, ok := n.(*ir.Instruction)
		if !ok || i.Opcode != opCVTNE2PS2BF16 {
			out = append(out, n)
			continue
		}
		src2, src1, dst := zmm(i.Operands[0]), zmm(i.Operands[1]), zmm(i.Operands[2])
		out = append(out, ir.NewComment(fmt.Sprintf("%s Z%d, Z%d, Z%d", opCVTNE2PS2BF16, src2, src1, dst)))
		for _, b := range evexCVTNE2PS2BF16(dst, src1, src2) {
			out = append(out, &ir.Instruction{Opcode: "BYTE", Operands: []operand.Op{operand.U8(b)}})
		}
	}
	fn.Nodes = out
}

// zmm returns the number of the ZMM register op was allocated.
func zmm(op operand.Op) int {
	r, ok := op.(reg.Physical)
	if !ok || r.Kind() != reg.KindVector || r.Size() != 64 {
		log.Fatalf("%s: want an allocated ZMM register, have %s", opCVTNE2PS2BF16, op.Asm())
	}
	return int(r.PhysicalIndex())
}

// evexCVTNE2PS2BF16 encodes VCVTNE2PS2BF16 zmm(dst), zmm(src1), zmm(src2): EVEX.512.F2.0F38.W0 72 /r
// (Intel SDM vol. 2A), unmasked. The EVEX prefix holds the registers' bits 3 and 4 inverted: R and R'
// for dst (ModRM.reg), B and X for src2 (ModRM.rm), vvvv and V' for src1. TestEncodeCVTNE2PS2BF16
// checks it against bytes that binutils' objdump disassembles as the instruction.
func evexCVTNE2PS2BF16(dst, src1, src2 int) []byte {
	inv := func(v, bit int) byte { return byte(^(v >> bit) & 1) }
	p0 := inv(dst, 3)<<7 | inv(src2, 4)<<6 | inv(src2, 3)<<5 | inv(dst, 4)<<4 | 0b10 // map 0F38
	p1 := byte(^src1&0xf)<<3 | 1<<2 | 0b11                                           // W0, vvvv, pp = F2
	p2 := byte(0b10)<<5 | inv(src1, 4)<<3                                            // L'L = 512 bits, V'
	modrm := byte(0xc0 | (dst&7)<<3 | src2&7)
	return []byte{0x62, p0, p1, p2, 0x72, modrm}
}
