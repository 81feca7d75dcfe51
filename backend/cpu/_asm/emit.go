package main

import (
	"fmt"
	"log"
	"math"
	"os"
	"regexp"
	"strings"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// emit writes the kernel k computing in dtype d, with elements stored as s, for level l into ctx.
func emit(ctx *build.Context, l *isa, k kernel, d dtype, s *storage) {
	name := k.name + l.name + s.suffix
	ctx.Function(name)
	ctx.Attributes(attr.NOSPLIT)
	ctx.Pragma("noescape")
	ctx.SignatureExpr(fmt.Sprintf("func(alpha %s, dst, a, b []%s, nt bool) (done int)", d.goType, s.goType))
	requires := l.requires
	if s.requires != "" && !l.avx512 {
		requires = "AVX2, FMA and " + s.requires
	}
	if s.requires512 != "" && l.avx512 {
		requires = l.requires + " and " + s.requires512
	}
	align := fmt.Sprintf("dst %d-byte aligned", max(32, l.vecBytes))
	block := l.unroll * l.vecBytes / d.size
	doc := []string{fmt.Sprintf("%s computes, with %s, %d elements per iteration (len(dst) a multiple of %d;", name, requires, block, block),
		"nt: non-temporal stores, " + align + "):", ""}
	if s.name != "" {
		doc = append(doc[:1], "nt: non-temporal stores, "+align+"), on "+s.name+" bit patterns: each element is widened",
			"to float32 (exactly), computed as below in float32, and rounded once to "+s.name+", to nearest even", "(SEMANTICS §1.6):", "")
	}
	for _, l := range k.doc {
		doc = append(doc, "\t"+l)
	}
	var early []string // why the kernel may stop before len(dst)
	if k.careful {
		early = append(early, "holding an element for the careful path (x where 2^round(x/ln2) is not a normal number, x NaN, α·dy infinite)")
	}
	if s.rareStore {
		early = append(early, s.rareDoc)
	}
	if early == nil {
		doc = append(doc, "", "It returns len(dst).")
	} else {
		doc = append(doc, "")
		doc = append(doc, wrap("It returns early, at the start of the first block "+strings.Join(early, " or ")+
			", with that index; otherwise it returns len(dst).", 100)...)
	}
	ctx.Doc(doc...)
	g := &gen{Context: ctx, isa: l, d: d, prefix: name, consts: map[string]operand.Mem{}}

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
	if l.avx512 {
		ctx.VPXORD(g.zero, g.zero, g.zero)
	} else {
		ctx.VXORPS(g.zero, g.zero, g.zero)
	}
	if k.alpha {
		x := ctx.XMM()
		ctx.Load(ctx.Param("alpha"), x)
		g.alpha = g.vec()
		d.broadcastReg(ctx, x, g.alpha)
	}
	// Each loop (general α, α = 1) preloads its own constants after the branch between them, so
	// that neither holds the other's registers.
	preload := func(regs32, regs64 []string, body func(g *gen, a, b reg.VecVirtual) reg.VecVirtual) {
		g.regs = map[string]reg.VecVirtual{}
		switch {
		case !preloadFlag:
		case l.avx512:
			g.preloadAll(g.usedConstants(body), preload512)
		case d.size == 4:
			g.preload(regs32...)
		default:
			g.preload(regs64...)
		}
		if s.preload != nil && preloadFlag {
			s.preload(g)
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
	preload(k.regs32, k.regs64, k.body)
	ctx.TESTB(nt, nt)
	ctx.JNZ(operand.LabelRef("ntloop"))

	loop := func(label string, ntStore bool, exit string, body func(g *gen, a, b reg.VecVirtual) reg.VecVirtual) {
		ctx.Label(label)
		ctx.TESTQ(n, n)
		ctx.JZ(operand.LabelRef(exit))
		ins := []operand.Mem{a}
		if k.backward {
			ins = append(ins, b)
		}
		vs := s.load(g, ins...)
		as, bs := vs[0], make([]reg.VecVirtual, l.unroll)
		if k.backward {
			bs = vs[1]
		}
		if prefetch > 0 && k.bodyAlphaOne != nil {
			for _, m := range []operand.Mem{a, b} {
				for off := 0; m.Base != nil && off < s.vecBytes(l)*l.unroll; off += 64 { // each cache line
					ctx.PREFETCHT0(m.Offset(prefetch + off))
				}
			}
		}
		res := make([]reg.VecVirtual, l.unroll)
		g.lanes, g.rareExit = l.unroll, exit+"rare"
		for u := range l.unroll {
			ctx.Comment(laneMarker)
			g.lane = u
			res[u] = body(g, as[u], bs[u])
		}
		ctx.Comment(laneMarker + " end")
		s.store(g, res, dst, ntStore)
		for _, m := range []operand.Mem{dst, a, b} {
			if m.Base != nil {
				ctx.ADDQ(operand.U32(s.vecBytes(l)*l.unroll), m.Base)
			}
		}
		ctx.SUBQ(operand.U32(block), n)
		ctx.JMP(operand.LabelRef(label))
	}
	loop("loop", false, "done", k.body)
	loop("ntloop", true, "ntdone", k.body)

	ctx.Label("ntdone")
	ctx.SFENCE() // non-temporal stores are weakly ordered: fence before the caller publishes dst
	ctx.Label("done")
	ctx.Store(total, ctx.ReturnIndex(0))
	ctx.VZEROUPPER() // dirty upper halves make the caller's SSE code (math.Exp, for one) crawl
	ctx.RET()
	if k.careful || s.rareStore {
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
			preload(k.regsOne32, k.regsOne64, k.bodyAlphaOne)
		} else {
			preload(k.regs32, k.regs64, k.bodyAlphaOne)
		}
		ctx.TESTB(nt, nt)
		ctx.JNZ(operand.LabelRef("ntloop1"))
		loop("loop1", false, "done", k.bodyAlphaOne)
		loop("ntloop1", true, "ntdone", k.bodyAlphaOne)
	}
}

// write compiles ctx and writes it to path; avx512 allows the registers only AVX-512 has.
func write(ctx *build.Context, p printer.Builder, path string, avx512 bool) {
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
	for _, fn := range f.Functions() {
		dropSelfMoves(fn)
		encodeRaw(fn)
	}
	src, err := p(printerConfig).Print(f)
	if err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	// avo's allocator may hand out X16-X31/Y16-Y31, which exist only with AVX-512 (EVEX encoding): an
	// AVX2 kernel using one would fault on every AVX2-only CPU. Too many live values: hold fewer
	// constants in registers (kernel.regs32/regs64).
	if m := highRegister.Find(src); m != nil && !avx512 && os.Getenv("ASM_NOCHECK") == "" {
		log.Fatalf("%s: uses %s, an AVX-512 register", path, m)
	}
	if err := os.WriteFile(path, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

// wrap breaks text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

// dropSelfMoves removes the register copies (copyOf) that the allocator gave the same register as their
// source because the source was dead after the copy: "VMOVAPS Z10, Z10" changes nothing but still takes
// a slot in the front end and the scheduler (about 2% of float16 ELU forward's time in cache).
func dropSelfMoves(fn *ir.Function) {
	kept := fn.Nodes[:0]
	for _, n := range fn.Nodes {
		if i, ok := n.(*ir.Instruction); ok && i.Opcode == "VMOVAPS" && len(i.Operands) == 2 &&
			i.Operands[0].Asm() == i.Operands[1].Asm() {
			continue
		}
		kept = append(kept, n)
	}
	fn.Nodes = kept
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
