package main

// isa is an instruction set level the generator writes kernels for: the same kernels, formulas and
// constants, with 256-bit vectors and VBLENDV selects (AVX2), or 512-bit vectors, compares into opmask
// registers and masked blends (AVX-512).
type isa struct {
	name     string // in the kernels' names: reluAVX2F32, reluAVX512F32
	file     string // the assembly files' suffix: relu_amd64.s, relu_avx512_amd64.s
	requires string // for the doc comments
	vecBytes int    // bytes per vector register
	unroll   int    // vectors per loop iteration (interleaved: see interleaveLanes)
	avx512   bool
}

var (
	avx2 = &isa{name: "AVX2", requires: "AVX2 and FMA", vecBytes: 32, unroll: 2}
	// avx512 needs AVX512F and, for VPMOVD2M (sign masks) and the 16-bit compares and packs of the
	// bfloat16 and bit-pattern kernels, AVX512DQ and AVX512BW; every CPU with AVX-512 since Skylake-SP
	// and Zen 4 has all three (kernels_amd64.go's useAVX512 checks them).
	avx512 = &isa{name: "AVX512", file: "_avx512", requires: "AVX-512 (F, DQ, BW)", vecBytes: 64, unroll: 2, avx512: true}
)
