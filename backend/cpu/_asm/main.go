// Command _asm generates the assembly kernels of gpuact's CPU backend with avo, at two levels: AVX2+FMA
// (256-bit vectors, relu_amd64.s …) and AVX-512 (512-bit vectors and opmask registers,
// relu_avx512_amd64.s …), from the same kernel bodies: one assembly file per formula and level (every
// dtype in it) and stubs_amd64.go with the Go declarations of all of them. Run it through `go generate
// ./...` (or `make generate`) from the repository; it writes into ../ (the backend/cpu package).
//
// Every kernel has the same signature,
//
//	func name(alpha T, dst, a, b []T, nt bool) (done int)
//
// and processes len(dst) elements, which must be a multiple of one block: two vectors per loop
// iteration, 64 bytes' worth of the compute type with AVX2 (16 float32, 8 float64), 128 with AVX-512. a
// is x (forward) or dy (backward), b is x or y (backward only). nt selects non-temporal stores, for which
// dst must be aligned to a vector (32 or 64 bytes). done is len(dst), except for ELU backward from input,
// which stops at the first block holding an element that needs the careful scalar path (x below about
// -126·ln2 for float32, where 2^k in exp(x) = 2^k·exp(r) is not a normal number; x NaN; α·dy infinite),
// and the bfloat16 kernels that round with VCVTNE2PS2BF16 (AVX512_BF16), which stop at the first block
// whose results hold a float32 subnormal: they return that block's index, and the Go caller computes
// the block another way (the oracle, or the integer-rounding kernel) and calls again. The Go wrappers
// (kernels_amd64.go) handle heads, tails, alignment and that loop.
//
// The generator's files, by concern:
//
//	main.go             flags and the loop over levels, kernels and dtypes
//	isa.go              the two levels: vector width, loop unrolling
//	dtypes.go           the float32 and float64 tables: instructions and exp/expm1 constants
//	gen.go              the emitter's state, constants in registers or memory, masks and selects
//	exp.go              exp/expm1: range reduction, the polynomial, the careful-path lanes
//	kernel.go           what a kernel is, and the list of them
//	kernels_select.go   ReLU and LeakyReLU, forward and backward
//	kernels_elu.go      ELU forward, backward from input and from output
//	storage.go          how elements sit in memory: float32/float64, float16 (F16C), bfloat16 (integer
//	                    rounding, or VCVTNE2PS2BF16)
//	relu16.go           ReLU on float16 and bfloat16 bit patterns, with integer compares
//	raw.go              instructions Go's assembler lacks (VCVTNE2PS2BF16), encoded after allocation
//	emit.go             one kernel's loops, lane interleaving, writing and checking the output
package main

import (
	"flag"
	"path/filepath"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/buildtags"
	"github.com/mmcloughlin/avo/printer"
)

// preloadFlag, unroll: the defaults make the committed kernels; the flags are for measuring variants
// (kernels_amd64.go's blockBytes must be unroll × the vector's bytes).
var preloadFlag = true

// polyHorner2: false turns the even/odd evaluation off for every dtype (see expm1Poly).
var polyHorner2 = true

// prefetch, when positive, is how many bytes ahead the ELU exp loops prefetch their inputs
// (PREFETCHT0 once per 64-byte block and input).
var prefetch = 0

// preload512 is the most constants an AVX-512 kernel holds in registers (all it uses, up to this).
var preload512 = 32

func main() {
	out := flag.String("dir", "..", "directory to write the assembly and stubs_amd64.go into")
	flag.IntVar(&avx2.unroll, "unroll", avx2.unroll, "vectors per loop iteration of the AVX2 kernels")
	flag.IntVar(&avx512.unroll, "unroll512", avx512.unroll, "vectors per loop iteration of the AVX-512 kernels")
	flag.IntVar(&prefetch, "prefetch", prefetch, "bytes ahead the ELU exp loops prefetch their inputs (0: none)")
	flag.BoolVar(&polyHorner2, "horner2", polyHorner2, "evaluate the polynomial as even and odd halves (false: plain Horner)")
	flag.IntVar(&preload512, "preload512", preload512, "the most constants an AVX-512 kernel holds in registers")
	flag.BoolVar(&preloadFlag, "preload", preloadFlag, "hold the constants kernels name in registers (false: all from memory)")
	flag.Parse()
	constraint := buildtags.Term("!purego")
	stubs := build.NewContext()
	stubs.Constraint(constraint)
	for _, l := range []*isa{avx2, avx512} {
		for _, k := range kernels {
			ctx := build.NewContext()
			ctx.Constraint(constraint)
			// float32 and float64 as stored; then float16 and bfloat16, computed with the float32 body
			// (and a shorter polynomial: f32ForF16, f32ForBF16).
			// ReLU's 16-bit kernels select on the bit patterns instead (relu16.go).
			bitsReLU := k.name == "relu" || k.name == "reluBackward"
			for _, kd := range []struct {
				d dtype
				s *storage
			}{{f32, native(f32)}, {f64, native(f64)}, {f32ForF16, float16}, {f32ForBF16, bfloat16}, {f32ForBF16, bfloat16NE}} {
				if (bitsReLU && kd.s.name != "") || (kd.s.requires512 != "" && !l.avx512) {
					continue
				}
				emit(ctx, l, k, kd.d, kd.s)
				emit(stubs, l, k, kd.d, kd.s)
			}
			if bitsReLU {
				for _, f := range bits16Formats {
					emitReLUBits(ctx, l, k.backward, f)
					emitReLUBits(stubs, l, k.backward, f)
				}
			}
			write(ctx, printer.NewGoAsm, filepath.Join(*out, k.file+l.file+"_amd64.s"), l.avx512)
		}
	}
	write(stubs, printer.NewStubs, filepath.Join(*out, "stubs_amd64.go"), false)
}
