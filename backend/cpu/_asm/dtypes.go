package main

import (
	"fmt"
	"log"
	"math"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
)

// Comparison predicates of VCMPPS/VCMPPD.
const (
	cmpUnord = 0x03 // unordered (either NaN)
	cmpNLEUQ = 0x06 // !(a <= b): a > b or unordered
	cmpLTOQ  = 0x11 // a < b, false on NaN
	cmpNGEUQ = 0x19 // !(a >= b): a < b or unordered
	cmpGTOQ  = 0x1e // a > b, false on NaN
)

// dtype holds what differs between the float32 and float64 kernels: the element size, the
// instructions, and the constants of the exp/expm1 approximation.
type dtype struct {
	suffix, goType string
	size           int // bytes per element
	// Instructions, in avo (Go assembler) operand order.
	load, store, storeNT, add, sub, mul, and, or, max, cmp, blend, fmadd213, fmsub213, fnmadd231, fmadd231, movmsk func(c *build.Context, ops ...operand.Op)
	shiftLeft, intAdd, broadcastReg                                                                                func(c *build.Context, ops ...operand.Op)
	// AVX-512 only: blendm (VBLENDMPS src2, src1, k, dst: dst = k ? src2 : src1), moveZ (a move that
	// zeroes the lanes k does not select), signMask (k = the lanes' sign bits).
	blendm, moveZ, signMask func(c *build.Context, ops ...operand.Op)
	// exp/expm1 constants: bits of the values. magic is 1.5·2^mantBits plus the exponent bias, so
	// that t = x·log2e + magic holds k + bias in its low bits (see reduce).
	log2e, magic, ln2, ln2hi, ln2lo, clampExpm1, kLow, one uint64
	mantBits                                               int
	// forwardOneLn2: ELU forward reduces with ln2 rounded to the dtype (one FMA) instead of
	// ln2hi + ln2lo: exact enough where the clamp keeps |k| small (see reduce).
	forwardOneLn2 bool
	// horner2: evaluate the polynomial as even and odd halves (see expm1Poly).
	horner2 bool
	poly    []uint64 // P(r) coefficients, c0 first: expm1(r) ≈ r + r²·P(r)
	// polyAlpha, when set, replaces poly in ELU forward's general-α loop (see elu's body).
	polyAlpha []uint64
}

func f32bits(s ...float64) []uint64 {
	out := make([]uint64, len(s))
	for i, v := range s {
		out[i] = uint64(math.Float32bits(float32(v)))
	}
	return out
}

func f64bits(s ...float64) []uint64 {
	out := make([]uint64, len(s))
	for i, v := range s {
		out[i] = math.Float64bits(v)
	}
	return out
}

var f32 = dtype{
	suffix: "F32", goType: "float32", size: 4,
	load:         func(c *build.Context, o ...operand.Op) { c.VMOVUPS(o[0], o[1]) },
	store:        func(c *build.Context, o ...operand.Op) { c.VMOVUPS(o[0], o[1]) },
	storeNT:      func(c *build.Context, o ...operand.Op) { c.VMOVNTPS(o[0], o[1]) },
	add:          func(c *build.Context, o ...operand.Op) { c.VADDPS(o...) },
	sub:          func(c *build.Context, o ...operand.Op) { c.VSUBPS(o...) },
	mul:          func(c *build.Context, o ...operand.Op) { c.VMULPS(o...) },
	and:          func(c *build.Context, o ...operand.Op) { c.VANDPS(o...) },
	or:           func(c *build.Context, o ...operand.Op) { c.VORPS(o...) },
	max:          func(c *build.Context, o ...operand.Op) { c.VMAXPS(o...) },
	cmp:          func(c *build.Context, o ...operand.Op) { c.VCMPPS(o...) },
	blend:        func(c *build.Context, o ...operand.Op) { c.VBLENDVPS(o[0], o[1], o[2], o[3]) },
	fmadd213:     func(c *build.Context, o ...operand.Op) { c.VFMADD213PS(o...) },
	fmsub213:     func(c *build.Context, o ...operand.Op) { c.VFMSUB213PS(o...) },
	fnmadd231:    func(c *build.Context, o ...operand.Op) { c.VFNMADD231PS(o...) },
	fmadd231:     func(c *build.Context, o ...operand.Op) { c.VFMADD231PS(o...) },
	movmsk:       func(c *build.Context, o ...operand.Op) { c.VMOVMSKPS(o[0], o[1]) },
	shiftLeft:    func(c *build.Context, o ...operand.Op) { c.VPSLLD(o...) },
	intAdd:       func(c *build.Context, o ...operand.Op) { c.VPADDD(o...) },
	broadcastReg: func(c *build.Context, o ...operand.Op) { c.VBROADCASTSS(o...) },
	blendm:       func(c *build.Context, o ...operand.Op) { c.VBLENDMPS(o...) },
	moveZ:        func(c *build.Context, o ...operand.Op) { c.VMOVAPS_Z(o[0], o[1], o[2]) },
	signMask:     func(c *build.Context, o ...operand.Op) { c.VPMOVD2M(o[0], o[1]) },
	log2e:        uint64(math.Float32bits(float32(math.Log2E))),
	magic:        uint64(math.Float32bits(0x1.8p23 + 127)),
	ln2:          uint64(math.Float32bits(float32(math.Ln2))),
	// ln2 = ln2hi + ln2lo, ln2hi with 15 significant bits so that k·ln2hi is exact.
	ln2hi:         uint64(math.Float32bits(0x1.62e4p-1)),
	ln2lo:         uint64(math.Float32bits(float32(math.Ln2 - 0x1.62e4p-1))),
	clampExpm1:    uint64(math.Float32bits(-30)),  // expm1(x) rounds to -1 below -17.4; 2^k stays normal
	kLow:          uint64(math.Float32bits(-126)), // 2^k is a normal number from here up
	one:           uint64(math.Float32bits(1)),
	mantBits:      23,
	forwardOneLn2: true,
	horner2:       false, // measured no faster for 5 coefficients, and it costs registers
	// Near-minimax on |r| ≤ ln2/2, relative error of r + r²·P(r) below 2^-25.7 (_asm/fit.py).
	poly: f32bits(0x1.fffffep-2, 0x1.5554bp-3, 0x1.555674p-5, 0x1.1226eap-7, 0x1.6bea9ap-10),
	// The 6-coefficient polynomial of before (2^-28.6): forward with α ≠ 1 rounds q and then α·q,
	// and with 5 coefficients that reached 2 ULP (α = 0.37, exhaustive test); with 6, 1 ULP.
	polyAlpha: f32bits(0x1p-1, 0x1.555554p-3, 0x1.5554acp-5, 0x1.111172p-7, 0x1.6d75bap-10, 0x1.a051a2p-13),
}

// f32ForF16 and f32ForBF16 are float32 for the float16 and bfloat16 kernels: their results are rounded to
// 11 or 8 significant bits, so expm1 needs far less than float32's polynomial. Near-minimax on
// |r| ≤ ln2/2 (_asm/fit.py), relative error of r + r²·P(r) below 2^-15.5 with 3 coefficients (float16)
// and 2^-11.0 with 2 (bfloat16): a sixteenth of an ULP of the dtype at most, so every result stays
// within SEMANTICS §2's 1 ULP (TestExhaustive16 checks every input), with two or three FMAs fewer per
// vector than float32's, in passes that are compute-bound on two cores. The same polynomial serves
// α ≠ 1: the 16-bit rounding swamps the extra rounding of α·q.
var (
	f32ForF16  = f32WithPoly(0x1.000228p-1, 0x1.57067p-3, 0x1.54db7p-5)
	f32ForBF16 = f32WithPoly(0x1.01e14ep-1, 0x1.5618acp-3)
)

func f32WithPoly(c ...float64) dtype {
	d := f32
	d.poly, d.polyAlpha = f32bits(c...), nil
	return d
}

var f64 = dtype{
	suffix: "F64", goType: "float64", size: 8,
	load:          func(c *build.Context, o ...operand.Op) { c.VMOVUPD(o[0], o[1]) },
	store:         func(c *build.Context, o ...operand.Op) { c.VMOVUPD(o[0], o[1]) },
	storeNT:       func(c *build.Context, o ...operand.Op) { c.VMOVNTPD(o[0], o[1]) },
	add:           func(c *build.Context, o ...operand.Op) { c.VADDPD(o...) },
	sub:           func(c *build.Context, o ...operand.Op) { c.VSUBPD(o...) },
	mul:           func(c *build.Context, o ...operand.Op) { c.VMULPD(o...) },
	and:           func(c *build.Context, o ...operand.Op) { c.VANDPD(o...) },
	or:            func(c *build.Context, o ...operand.Op) { c.VORPD(o...) },
	max:           func(c *build.Context, o ...operand.Op) { c.VMAXPD(o...) },
	cmp:           func(c *build.Context, o ...operand.Op) { c.VCMPPD(o...) },
	blend:         func(c *build.Context, o ...operand.Op) { c.VBLENDVPD(o[0], o[1], o[2], o[3]) },
	fmadd213:      func(c *build.Context, o ...operand.Op) { c.VFMADD213PD(o...) },
	fmsub213:      func(c *build.Context, o ...operand.Op) { c.VFMSUB213PD(o...) },
	fnmadd231:     func(c *build.Context, o ...operand.Op) { c.VFNMADD231PD(o...) },
	fmadd231:      func(c *build.Context, o ...operand.Op) { c.VFMADD231PD(o...) },
	movmsk:        func(c *build.Context, o ...operand.Op) { c.VMOVMSKPD(o[0], o[1]) },
	shiftLeft:     func(c *build.Context, o ...operand.Op) { c.VPSLLQ(o...) },
	intAdd:        func(c *build.Context, o ...operand.Op) { c.VPADDQ(o...) },
	broadcastReg:  func(c *build.Context, o ...operand.Op) { c.VBROADCASTSD(o...) },
	blendm:        func(c *build.Context, o ...operand.Op) { c.VBLENDMPD(o...) },
	moveZ:         func(c *build.Context, o ...operand.Op) { c.VMOVAPD_Z(o[0], o[1], o[2]) },
	signMask:      func(c *build.Context, o ...operand.Op) { c.VPMOVQ2M(o[0], o[1]) },
	log2e:         math.Float64bits(math.Log2E),
	magic:         math.Float64bits(0x1.8p52 + 1023),
	ln2:           math.Float64bits(math.Ln2),
	ln2hi:         math.Float64bits(6.93147180369123816490e-01), // 32 significant bits (as in math.Exp)
	ln2lo:         math.Float64bits(1.90821492927058770002e-10),
	clampExpm1:    math.Float64bits(-40), // expm1(x) rounds to -1 below -37.5
	kLow:          math.Float64bits(-1022),
	forwardOneLn2: true,
	horner2:       true,
	one:           math.Float64bits(1),
	mantBits:      52,
	// Near-minimax on |r| ≤ ln2/2 with the first two coefficients fixed to 1/2 and 1/6, relative
	// error of r + r²·P(r) below 2^-54.8 (_asm/fit.py).
	poly: f64bits(0x1p-1, 0x1.5555555555555p-3, 0x1.55555555539c1p-5, 0x1.1111111113096p-7,
		0x1.6c16c17a66ee4p-10, 0x1.a01a0190fc764p-13, 0x1.a019b24957d60p-16, 0x1.71de51a3553e0p-19,
		0x1.2898c3186b700p-22, 0x1.aeb744bd4c800p-26),
}

// constant returns the bits of a named constant, for preloading.
func (d dtype) constant(name string) uint64 {
	switch name {
	case "magic":
		return d.magic
	case "log2e":
		return d.log2e
	case "ln2hi":
		return d.ln2hi
	case "ln2lo":
		return d.ln2lo
	case "ln2":
		return d.ln2
	case "clamp":
		return d.clampExpm1
	case "klow":
		return d.kLow
	case "one":
		return d.one
	}
	var i int
	if _, err := fmt.Sscanf(name, "c%d", &i); err != nil || i >= len(d.poly) {
		log.Fatalf("no constant %q", name)
	}
	return d.poly[i]
}
