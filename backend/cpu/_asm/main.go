// Command _asm generates the AVX2+FMA kernels of gpuact's CPU backend with avo: one assembly file per
// formula (both dtypes in it) and stubs_amd64.go with the Go declarations of all of them. Run it
// through `go generate ./...` (or `make generate`) from the repository; it writes into ../ (the
// backend/cpu package).
//
// Every kernel has the same signature,
//
//	func name(alpha T, dst, a, b []T, nt bool) (done int)
//
// and processes len(dst) elements, which must be a multiple of 64 bytes' worth (16 float32, 8
// float64): two 32-byte vectors per loop iteration. a is x (forward) or dy (backward), b is x or y
// (backward only). nt selects non-temporal stores (VMOVNTPS/PD), for which dst must be 32-byte aligned.
// done is len(dst), except for ELU backward from input, which stops at the first 64-byte block
// holding an element that needs the careful scalar path (x below about -126·ln2 for float32, where 2^k
// in exp(x) = 2^k·exp(r) is not a normal number; x NaN; α·dy infinite) and returns that block's
// index: the Go caller computes that block with the oracle and calls again. The Go wrappers (kernels_amd64.go) handle heads, tails, alignment and that loop.
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"regexp"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/buildtags"
	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
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

func (d dtype) width() int { return 32 / d.size } // elements per YMM vector

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

// gen emits one kernel function into a context.
type gen struct {
	*build.Context
	d         dtype
	prefix    string // for static data names
	zero      reg.VecVirtual
	alpha     reg.VecVirtual // α broadcast (nil when unused)
	consts    map[string]operand.Mem
	regs      map[string]reg.VecVirtual // constants held in registers for the whole loop
	polyAlpha bool                      // expm1Poly uses the dtype's polyAlpha
	// The careful-path check of the loop being emitted (see checkRare).
	lane, lanes int
	rareAcc     reg.VecVirtual
	rareExit    string
}

// checkRare takes the mask of the lanes of this vector that need the careful scalar path. The
// vectors of one iteration are emitted as lanes that interleaveLanes merges instruction by
// instruction, each lane's code having the same shape, so the last lane's instructions here come
// after the other lanes' masks exist: it ORs them together and leaves the loop, before anything is
// stored (dst may be a or b, in place, and the Go caller recomputes the block from them). Checking as
// soon as the masks exist, mid-computation, frees their registers for the rest.
func (g *gen) checkRare(m reg.VecVirtual) {
	switch {
	case g.lane == 0:
		g.rareAcc = m
	default:
		g.d.or(g.Context, m, g.rareAcc, m)
		g.rareAcc = m
	}
	if g.lane == g.lanes-1 {
		bits := g.GP32()
		g.d.movmsk(g.Context, g.rareAcc, bits)
		g.TESTL(bits, bits)
		g.JNZ(operand.LabelRef(g.rareExit))
	}
}

// k returns the constant bits (repeated across a vector) as an operand for the last (Intel) source of
// an instruction: the register it was preloaded into, or a 32-byte static vector in memory.
func (g *gen) k(name string, bits uint64) operand.Op {
	if r, ok := g.regs[name]; ok {
		return r
	}
	return g.mem(name, bits)
}

// preload loads constants into registers before the loop. Loads of constants from memory compete
// with the data's loads (Zen 3 does two 256-bit loads a cycle), so the kernels keep in registers
// whatever their working registers leave free.
func (g *gen) preload(names ...string) {
	for _, name := range names {
		r := g.vec()
		g.d.load(g.Context, g.mem(name, g.d.constant(name)), r)
		g.regs[name] = r
	}
}

func (g *gen) mem(name string, bits uint64) operand.Mem {
	if m, ok := g.consts[name]; ok {
		return m
	}
	if bits == 0 {
		log.Fatalf("%s: constant %s is zero: missing from the dtype table?", g.prefix, name)
	}
	m := g.StaticGlobal(g.prefix + "_" + name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for off := 0; off < 32; off += g.d.size {
		if g.d.size == 4 {
			g.AddDatum(off, operand.U32(uint32(bits)))
		} else {
			g.AddDatum(off, operand.U64(bits))
		}
	}
	g.consts[name] = m
	return m
}

func (g *gen) vec() reg.VecVirtual { return g.YMM() }

// copyOf returns a new register holding v (the move is eliminated at rename).
func (g *gen) copyOf(v reg.VecVirtual) reg.VecVirtual {
	r := g.vec()
	g.VMOVAPS(v, r)
	return r
}

func (g *gen) loadConst(name string, bits uint64) reg.VecVirtual {
	r := g.vec()
	g.d.load(g.Context, g.k(name, bits), r)
	return r
}

// interleave marks the code of the vectors of one loop iteration so that interleaveLanes can merge
// them instruction by instruction: each vector's computation is one long dependency chain, and
// interleaving puts the independent chains side by side for the out-of-order core.
const laneMarker = "lane"

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

// selectPositive returns (x > 0 ? ifPos : v) with NaN x giving x: the select of every backward pass.
func (g *gen) selectPositive(x, ifPos, v reg.VecVirtual) reg.VecVirtual {
	gt := g.vec()
	g.d.cmp(g.Context, operand.U8(cmpGTOQ), g.zero, x, gt)
	g.d.blend(g.Context, gt, ifPos, v, v)
	nan := g.vec()
	g.d.cmp(g.Context, operand.U8(cmpUnord), x, x, nan)
	g.d.blend(g.Context, nan, x, v, v)
	return v
}

// forwardSelect returns (x > 0 || x is NaN ? x : v).
func (g *gen) forwardSelect(x, v reg.VecVirtual) reg.VecVirtual {
	m := g.vec()
	g.d.cmp(g.Context, operand.U8(cmpNLEUQ), g.zero, x, m)
	g.d.blend(g.Context, m, x, v, v)
	return v
}

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
	xc := g.vec()
	g.d.max(g.Context, x, g.regs["clamp"], xc)
	return xc
}

// signSelect returns (x's sign bit set ? neg : pos): VBLENDV reads only the mask's sign bit, so x
// itself is the mask and no compare is needed.
func (g *gen) signSelect(x, neg, pos reg.VecVirtual) reg.VecVirtual {
	g.d.blend(g.Context, x, neg, pos, neg)
	return neg
}

// rareLanes returns the lanes that the careful scalar path must compute: k < kLow (2^k not a normal
// number: exp(x) is subnormal or zero), x NaN (kf is NaN), or v infinite or NaN (v - v is NaN), for v
// the factor that must be finite for the fast formula (α·dy, or dy for α = 1). One compare:
// !(kf + (v - v) ≥ kLow), true when unordered; the subtraction and addition go to the FP adders,
// which the exp evaluation leaves idle.
func (g *gen) rareLanes(kf, v reg.VecVirtual) reg.VecVirtual {
	d := g.d
	z := g.vec()
	d.sub(g.Context, v, v, z)
	d.add(g.Context, kf, z, z)
	d.cmp(g.Context, operand.U8(cmpNGEUQ), g.k("klow", d.kLow), z, z)
	return z
}

var kernels = []kernel{
	{
		name: "relu", file: "relu",
		doc: []string{"for i, x := range a[:len(dst)] {", "\tdst[i] = ReLU(x) // x > 0 || x != x ? x : +0", "}"},
		body: func(g *gen, x, _ reg.VecVirtual) reg.VecVirtual {
			m := g.vec()
			g.d.cmp(g.Context, operand.U8(cmpNLEUQ), g.zero, x, m)
			g.d.and(g.Context, x, m, m)
			return m
		},
	},
	{
		name: "reluBackward", file: "relubackward", backward: true,
		doc: []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = ReLUBackward(dy, b[i]) // b = x or y", "}"},
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
		doc: []string{"for i, x := range a[:len(dst)] {", "\tdst[i] = LeakyReLU(alpha, x)", "}"},
		body: func(g *gen, x, _ reg.VecVirtual) reg.VecVirtual {
			v := g.vec()
			g.d.mul(g.Context, x, g.alpha, v)
			return g.forwardSelect(x, v)
		},
	},
	{
		name: "leakyReLUBackward", file: "leakyrelubackward", backward: true, alpha: true,
		doc: []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = LeakyReLUBackward(alpha, dy, b[i]) // b = x or y", "}"},
		body: func(g *gen, dy, x reg.VecVirtual) reg.VecVirtual {
			v := g.vec()
			g.d.mul(g.Context, dy, g.alpha, v)
			return g.selectPositive(x, dy, v)
		},
	},
	{
		name: "elu", file: "elu", alpha: true,
		regs32: []string{"clamp", "magic", "log2e", "ln2"}, regs64: []string{"clamp", "magic"},
		doc: []string{"for i, x := range a[:len(dst)] {", "\tdst[i] = ELU(alpha, x) // within SPEC §2's ULPs", "}"},
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
		doc: []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = ELUBackwardFromInput(alpha, dy, b[i]) // within SPEC §2's ULPs", "}"},
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
			gt := g.vec()
			d.cmp(g.Context, operand.U8(cmpGTOQ), g.zero, x, gt)
			d.blend(g.Context, gt, dy, q, q)
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
		doc: []string{"for i, dy := range a[:len(dst)] {", "\tdst[i] = ELUBackwardFromOutput(alpha, dy, b[i]) // (y+α)·dy within 1 ULP; b = y", "}"},
		body: func(g *gen, dy, y reg.VecVirtual) reg.VecVirtual {
			v := g.vec()
			g.d.add(g.Context, g.alpha, y, v)
			g.d.mul(g.Context, dy, v, v)
			return g.selectPositive(y, dy, v)
		},
	},
}

// preloadFlag, unroll: the defaults make the committed kernels; the flags are for measuring variants
// (kernels_amd64.go's blockBytes must be 32·unroll).
var preloadFlag = true

// polyHorner2: false turns the even/odd evaluation off for every dtype (see expm1Poly).
var polyHorner2 = true

// prefetch, when positive, is how many bytes ahead the ELU exp loops prefetch their inputs
// (PREFETCHT0 once per 64-byte block and input).
var prefetch = 0

// unroll is the number of vectors per loop iteration (interleaved: see interleaveLanes).
var unroll = 2

// emit writes the kernel k for dtype d into ctx.
func emit(ctx *build.Context, k kernel, d dtype) {
	name := k.name + "AVX2" + d.suffix
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.Pragma("noescape")
	ctx.SignatureExpr(fmt.Sprintf("func(alpha %s, dst, a, b []%s, nt bool) (done int)", d.goType, d.goType))
	doc := []string{fmt.Sprintf("%s computes, with AVX2 and FMA, %d elements per iteration (len(dst) a multiple of %d;", name, unroll*d.width(), unroll*d.width()),
		"nt: non-temporal stores, dst 32-byte aligned):", ""}
	for _, l := range k.doc {
		doc = append(doc, "\t"+l)
	}
	if k.careful {
		doc = append(doc, "", "It returns early, at the start of the first block holding an element for the careful path (x",
			"where 2^round(x/ln2) is not a normal number, x NaN, α·dy infinite), with that index; otherwise it",
			"returns len(dst).")
	} else {
		doc = append(doc, "", "It returns len(dst).")
	}
	ctx.Doc(doc...)
	g := &gen{Context: ctx, d: d, prefix: name, consts: map[string]operand.Mem{}}

	dst := operand.Mem{Base: ctx.Load(ctx.Param("dst").Base(), ctx.GP64())}
	a := operand.Mem{Base: ctx.Load(ctx.Param("a").Base(), ctx.GP64())}
	var b operand.Mem
	if k.backward {
		b = operand.Mem{Base: ctx.Load(ctx.Param("b").Base(), ctx.GP64())}
	}
	n := ctx.Load(ctx.Param("dst").Len(), ctx.GP64())
	total := ctx.GP64()
	ctx.MOVQ(n, total)
	g.zero = g.vec()
	ctx.VXORPS(g.zero, g.zero, g.zero)
	if k.alpha {
		x := ctx.XMM()
		ctx.Load(ctx.Param("alpha"), x)
		g.alpha = g.vec()
		d.broadcastReg(ctx, x, g.alpha)
	}
	// Each loop (general α, α = 1) preloads its own constants after the branch between them, so
	// that neither holds the other's registers.
	preload := func(regs32, regs64 []string) {
		g.regs = map[string]reg.VecVirtual{}
		switch {
		case !preloadFlag:
		case d.size == 4:
			g.preload(regs32...)
		default:
			g.preload(regs64...)
		}
	}
	nt := ctx.GP8()
	ctx.Load(ctx.Param("nt"), nt)
	if k.bodyAlphaOne != nil {
		bits := ctx.GP64()
		param, err := ctx.Param("alpha").Resolve()
		if err != nil {
			log.Fatal(err)
		}
		if d.size == 4 {
			ctx.MOVL(param.Addr, bits.As32())
			ctx.CMPL(bits.As32(), operand.U32(math.Float32bits(1)))
		} else {
			ctx.MOVQ(param.Addr, bits)
			one := ctx.GP64()
			ctx.MOVQ(operand.U64(math.Float64bits(1)), one)
			ctx.CMPQ(bits, one)
		}
		ctx.JEQ(operand.LabelRef("alpha1"))
	}
	preload(k.regs32, k.regs64)
	ctx.TESTB(nt, nt)
	ctx.JNZ(operand.LabelRef("ntloop"))

	block := unroll * d.width()
	loop := func(label string, store func(c *build.Context, o ...operand.Op), exit string, body func(g *gen, a, b reg.VecVirtual) reg.VecVirtual) {
		ctx.Label(label)
		ctx.TESTQ(n, n)
		ctx.JZ(operand.LabelRef(exit))
		as := make([]reg.VecVirtual, unroll)
		bs := make([]reg.VecVirtual, unroll)
		for u := range unroll {
			as[u] = g.vec()
			d.load(ctx, a.Offset(32*u), as[u])
			if k.backward {
				bs[u] = g.vec()
				d.load(ctx, b.Offset(32*u), bs[u])
			}
		}
		if prefetch > 0 && k.bodyAlphaOne != nil {
			for _, m := range []operand.Mem{a, b} {
				if m.Base != nil {
					ctx.PREFETCHT0(m.Offset(prefetch))
				}
			}
		}
		res := make([]reg.VecVirtual, unroll)
		g.lanes, g.rareExit = unroll, exit+"rare"
		for u := range unroll {
			ctx.Comment(laneMarker)
			g.lane = u
			res[u] = body(g, as[u], bs[u])
		}
		ctx.Comment(laneMarker + " end")
		for u := range unroll {
			store(ctx, res[u], dst.Offset(32*u))
		}
		for _, m := range []operand.Mem{dst, a, b} {
			if m.Base != nil {
				ctx.ADDQ(operand.U32(32*unroll), m.Base)
			}
		}
		ctx.SUBQ(operand.U32(block), n)
		ctx.JMP(operand.LabelRef(label))
	}
	loop("loop", d.store, "done", k.body)
	loop("ntloop", d.storeNT, "ntdone", k.body)

	ctx.Label("ntdone")
	ctx.SFENCE() // non-temporal stores are weakly ordered: fence before the caller publishes dst
	ctx.Label("done")
	ctx.Store(total, ctx.ReturnIndex(0))
	ctx.VZEROUPPER() // dirty upper halves make the caller's SSE code (math.Exp, for one) crawl
	ctx.RET()
	if k.careful {
		ctx.Label("ntdonerare")
		ctx.SFENCE()
		ctx.Label("donerare")
		ctx.SUBQ(n, total) // elements done = len - remaining
		ctx.Store(total, ctx.ReturnIndex(0))
		ctx.VZEROUPPER()
		ctx.RET()
	}
	if k.bodyAlphaOne != nil {
		ctx.Label("alpha1")
		if k.regsOne32 != nil || k.regsOne64 != nil {
			preload(k.regsOne32, k.regsOne64)
		} else {
			preload(k.regs32, k.regs64)
		}
		ctx.TESTB(nt, nt)
		ctx.JNZ(operand.LabelRef("ntloop1"))
		loop("loop1", d.store, "done", k.bodyAlphaOne)
		loop("ntloop1", d.storeNT, "ntdone", k.bodyAlphaOne)
	}
}

func main() {
	out := flag.String("dir", "..", "directory to write the assembly and stubs_amd64.go into")
	flag.IntVar(&unroll, "unroll", unroll, "vectors per loop iteration")
	flag.IntVar(&prefetch, "prefetch", prefetch, "bytes ahead the ELU exp loops prefetch their inputs (0: none)")
	flag.BoolVar(&polyHorner2, "horner2", polyHorner2, "evaluate the polynomial as even and odd halves (false: plain Horner)")
	flag.BoolVar(&preloadFlag, "preload", preloadFlag, "hold the constants kernels name in registers (false: all from memory)")
	flag.Parse()
	constraint := buildtags.Term("!purego")
	stubs := build.NewContext()
	stubs.Constraint(constraint)
	for _, k := range kernels {
		ctx := build.NewContext()
		ctx.Constraint(constraint)
		for _, d := range []dtype{f32, f64} {
			emit(ctx, k, d)
			emit(stubs, k, d)
		}
		write(ctx, printer.NewGoAsm, filepath.Join(*out, k.file+"_amd64.s"))
	}
	write(stubs, printer.NewStubs, filepath.Join(*out, "stubs_amd64.go"))
}

func write(ctx *build.Context, p printer.Builder, path string) {
	f, err := ctx.Result()
	if err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	for _, fn := range f.Functions() {
		interleaveLanes(fn)
	}
	if err := pass.Compile.Execute(f); err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	src, err := p(printerConfig).Print(f)
	if err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	// avo's allocator may hand out X16-X31/Y16-Y31, which exist only with AVX-512 (EVEX encoding): an
	// AVX2 kernel using one would fault on every AVX2-only CPU. Too many live values: hold fewer
	// constants in registers (kernel.regs32/regs64).
	if m := highRegister.Find(src); m != nil && os.Getenv("ASM_NOCHECK") == "" {
		log.Fatalf("%s: uses %s, an AVX-512 register", path, m)
	}
	if err := os.WriteFile(path, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

var highRegister = regexp.MustCompile(`\b([XYZ](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b`)

// printerConfig names the command in each file's "Code generated ... DO NOT EDIT." header.
var printerConfig = printer.Config{Name: "backend/cpu/_asm (make generate)", Pkg: "cpu"}

// interleaveLanes merges, in each run of lanes (code between laneMarker comments, ended by
// "lane end"), the lanes' instructions round-robin. The lanes are independent (each has its own
// virtual registers, reading shared constants only), so any interleaving computes the same.
func interleaveLanes(fn *ir.Function) {
	var out, pending []ir.Node
	var lanes [][]ir.Node
	in := false
	for _, n := range fn.Nodes {
		c, isComment := n.(*ir.Comment)
		switch {
		case isComment && len(c.Lines) == 1 && c.Lines[0] == laneMarker:
			in = true
			lanes = append(lanes, nil)
		case isComment && len(c.Lines) == 1 && c.Lines[0] == laneMarker+" end":
			for i := 0; ; i++ {
				more := false
				for _, l := range lanes {
					if i < len(l) {
						pending = append(pending, l[i])
						more = true
					}
				}
				if !more {
					break
				}
			}
			out = append(out, pending...)
			pending, lanes, in = nil, nil, false
		case in:
			lanes[len(lanes)-1] = append(lanes[len(lanes)-1], n)
		default:
			out = append(out, n)
		}
	}
	fn.Nodes = out
}
