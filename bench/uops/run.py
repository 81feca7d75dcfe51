#!/usr/bin/env python3
"""Throughput of single AVX-512 instructions, of pairs of them, and of the float16 ELU forward loop body,
on this machine: the numbers behind bench/cpu-simd.md's "Why the 16-bit ELU passes stay below the copy".

    /usr/bin/python3 bench/uops/run.py          # from the repository root; needs Go and AVX-512

It writes a throwaway Go module into a temporary directory (Go assembly generated here, a main that times
it) and runs it; nothing in the repository changes. Each function runs a loop of 16 independent
instructions (or the loop body) 10^6 to 2·10^6 times; the best of 5 runs is converted to cycles with the
time of a chain of dependent ADDQ (one cycle each), so "cycles" assumes the clock does not change between
the two, which holds for AVX-512 on Zen 4 and 5.

The loop bodies are taken from backend/cpu/elu_avx512_amd64.s (eluAVX512F16, the α = 1 loop "loop1"):
as generated, without the float16 conversions (loads and stores of float32 instead), and with the
conversions alone. Then the variants that ask where the rest of the time goes, all per 32 elements:
- "every instruction independent": the loop's instructions with every source a register that nothing
  writes, so nothing waits for anything: what the instruction mix costs on the execution pipes alone;
- "without conversions + 4 independent ones": the loop without conversions, plus 4 that feed nothing;
- the same arithmetic written from stages (`stages` below; "2 vectors" matches the generated loop) with
  4 vectors per iteration, with the first 5 stages of the next iteration run ahead (software pipelined),
  and with the sign select done by integer min/max and an addition instead of a mask and a blend;
- "c chains of d FMAs": c independent chains, each a load, d dependent FMAs (4 cycles each) and a store:
  the pipes need c·d/2 cycles per iteration, and one iteration's chain takes 4·d + the load and store, so
  long chains show how many instructions the core keeps in flight to overlap iterations.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# One instruction per line; {d} is the destination register's number (1..16), {k} an opmask (2..7).
SINGLE = {
    'VFMADD231PS': 'VFMADD231PS Z30, Z31, Z{d}',
    'VMULPS': 'VMULPS Z30, Z31, Z{d}',
    'VADDPS': 'VADDPS Z30, Z31, Z{d}',
    'VMAXPS': 'VMAXPS Z30, Z31, Z{d}',
    'VSCALEFPS': 'VSCALEFPS Z30, Z31, Z{d}',
    'VRNDSCALEPS': 'VRNDSCALEPS $0, Z31, Z{d}',
    'VREDUCEPS': 'VREDUCEPS $0, Z31, Z{d}',
    'VCVTPH2PS': 'VCVTPH2PS Y31, Z{d}',
    'VCVTPS2PH': 'VCVTPS2PH $0, Z31, Y{d}',
    'VPSLLD': 'VPSLLD $23, Z31, Z{d}',
    'VPADDD': 'VPADDD Z30, Z31, Z{d}',
    'VPTERNLOGD': 'VPTERNLOGD $0xca, Z30, Z31, Z{d}',
    'VPERMQ': 'VPERMQ Z30, Z31, Z{d}',
    'VPERMPS': 'VPERMPS Z30, Z31, Z{d}',
    'VBLENDMPS': 'VBLENDMPS Z30, Z31, K1, Z{d}',
    'VPMOVD2M': 'VPMOVD2M Z{d}, K{k}',
    'VFPCLASSPS': 'VFPCLASSPSZ $0x20, Z{d}, K{k}',
    'VCMPPS': 'VCMPPS $3, Z30, Z{d}, K{k}',
    'VPUNPCKLWD': 'VPUNPCKLWD Z29, Z30, Z{d}',
    'VPACKUSDW': 'VPACKUSDW Z30, Z31, Z{d}',
    'VPGATHERDD': 'KXNORW K{k}, K{k}, K{k}; VPGATHERDD (SI)(Z28*2), K{k}, Z{d}',
}
# Pairs, alternating: which execution resources two instructions share (a pair's cycles per instruction
# near the slower one's alone: they run side by side; near the sum: they compete).
PAIRS = [('VFMADD231PS', 'VADDPS'), ('VFMADD231PS', 'VMAXPS'), ('VFMADD231PS', 'VPSLLD'),
         ('VFMADD231PS', 'VCVTPH2PS'), ('VFMADD231PS', 'VCVTPS2PH'), ('VFMADD231PS', 'VPMOVD2M'),
         ('VFMADD231PS', 'VSCALEFPS'), ('VFMADD231PS', 'VPTERNLOGD'), ('VADDPS', 'VCVTPH2PS'),
         ('VADDPS', 'VCVTPS2PH'), ('VADDPS', 'VPSLLD'), ('VADDPS', 'VPMOVD2M'), ('VADDPS', 'VBLENDMPS')]


def loop_body(path, func, label):
    src = open(path).read()
    start = src.index('TEXT ·%s(SB)' % func)
    seg = src[start:src.find('TEXT ·', start + 10) if src.find('TEXT ·', start + 10) > 0 else len(src)]
    lines = seg[seg.index('\n%s:\n' % label) + 1:].split('\n')[3:]  # after the label, TESTQ, JZ
    body = []
    for line in lines:
        line = line.strip()
        if line.startswith('ADDQ'):
            return body
        if line:
            body.append(line)
    sys.exit('no loop %s in %s' % (label, func))


def independent(body):
    """The body's instructions with every register source replaced by Z31 (which nothing writes) and the
    destinations rotating over Z1..Z24, so that no instruction waits for another; register copies dropped."""
    out, d = [], 0
    for line in body:
        op, rest = line.split(None, 1)
        args = [a.strip() for a in rest.split(',')]
        if op.startswith('VMOVDQU'):
            out.append(line)
            continue
        if op == 'VMOVUPS':
            continue
        d = d % 24 + 1
        if args[-1].startswith('K'):
            out.append('%s Z31, K%d' % (op, d % 6 + 2))
            continue
        srcs = ['Z31' if re.match(r'^Z\d+$', a) else 'K1' if re.match(r'^K\d$', a) else a for a in args[:-1]]
        out.append('%s %s' % (op, ', '.join(srcs + ['%s%d' % (args[-1][0], d)])))
    return out


def stages(v, integer_select):
    """The α = 1 float16 ELU forward loop body for vector v (16 elements at byte 32·v), as a list of
    stages, each a list of instructions. Constants as in the generated loop: Z0 clamp, Z1 magic, Z2 log2e,
    Z3 ln2, Z4..Z6 the polynomial, Z7 one; Z28 zero. integer_select: negative lanes by VPMINSD (x's bits
    against +0), the positive part by VPMAXSD, added to s - 1, instead of VPMOVD2M and VBLENDMPS."""
    X, A, T, K, P = ['Z%d' % (8 + 5 * v + i) for i in range(5)]
    o, y = 32 * v, 'Y%d' % (8 + 5 * v)
    if integer_select:
        head = [['VPMINSD Z28, %s, %s' % (X, A), 'VPMAXSD Z28, %s, %s' % (X, X)], ['VMAXPS %s, Z0, %s' % (A, A)]]
        tail = [['VADDPS %s, %s, %s' % (X, A, A)], ['VFMADD213PS %s, %s, %s' % (A, T, P)]]
    else:
        head = [['VMAXPS %s, Z0, %s' % (X, A)]]
        tail = [['VFMADD213PS %s, %s, %s' % (A, T, P)], ['VPMOVD2M %s, K%d' % (X, v + 1)],
                ['VBLENDMPS %s, %s, K%d, %s' % (P, X, v + 1, P)]]
    return [['VCVTPH2PS %d(CX), %s' % (o, X)]] + head + [
        ['VMOVUPS Z1, %s' % T, 'VFMADD231PS Z2, %s, %s' % (A, T)],  # t = x·log2e + magic
        ['VSUBPS Z1, %s, %s' % (T, K)],  # k
        ['VFNMADD231PS Z3, %s, %s' % (K, A)],  # r
        ['VPSLLD $23, %s, %s' % (T, T), 'VMOVUPS Z4, %s' % P],  # 2^k
        ['VFMADD213PS Z5, %s, %s' % (A, P)],
        ['VFMADD213PS Z6, %s, %s' % (A, P), 'VMULPS %s, %s, %s' % (A, A, K)],
        ['VFMADD213PS %s, %s, %s' % (A, K, P)],  # expm1(r)
        ['VSUBPS Z7, %s, %s' % (T, A)],  # 2^k - 1
    ] + tail + [['VCVTPS2PH $0, %s, %s' % (P, y)], ['VMOVDQU32 %s, %d(AX)' % (y, o)]]


def interleave(nv, integer_select=False):
    """nv vectors, stage by stage, as the generator interleaves its two."""
    s = [stages(v, integer_select) for v in range(nv)]
    return [ins for i in range(len(s[0])) for v in range(nv) for ins in s[v][i]]


def pipelined(nv, ahead):
    """The first `ahead` stages run for the next iteration after the rest of this one's (the loop runs in
    place, so 'next' is the same data: only the dependencies matter here)."""
    s = [stages(v, False) for v in range(nv)]
    order = list(range(ahead, len(s[0]))) + list(range(ahead))
    return [ins for i in order for v in range(nv) for ins in s[v][i]]


def chains(c, d):
    """c independent chains of d dependent FMAs, each from a load to a store."""
    return (['VMOVUPS %d(CX), Z%d' % (64 * i, i + 1) for i in range(c)] +
            ['VFMADD213PS Z30, Z31, Z%d' % (i + 1) for _ in range(d) for i in range(c)] +
            ['VMOVUPS Z%d, %d(AX)' % (i + 1, 64 * i) for i in range(c)])


def main():
    body = loop_body(os.path.join(ROOT, 'backend/cpu/elu_avx512_amd64.s'), 'eluAVX512F16', 'loop1')
    # The same arithmetic without the conversions: float32 loads and register moves instead.
    noconv = []
    for line in body:
        m = re.match(r'VCVTPH2PS\s+(\S*)\((CX)\), (Z\d+)', line)
        if m:
            noconv.append('VMOVUPS %s(CX), %s' % (m.group(1), m.group(3)))
        elif line.startswith('VCVTPS2PH'):
            src = line.split(',')[1].strip()
            noconv.append('VMOVAPS %s, Z28' % src)
        elif line.startswith('VMOVDQU'):
            continue
        else:
            noconv.append(line)
    convonly = [l for l in body if l.startswith(('VCVTPH2PS', 'VMOVDQU'))]
    convonly += ['VCVTPS2PH $0x00, %s, Y8' % r for r in ('Z8', 'Z9')]
    bodies = {'loop': body, 'loop-without-conversions': noconv, 'conversions-only': convonly,
              'every instruction independent': independent(body),
              'without conversions + 4 independent ones': ['VCVTPH2PS 128(CX), Z29', 'VCVTPH2PS 160(CX), Z30'] +
              noconv + ['VCVTPS2PH $0, Z31, Y26', 'VCVTPS2PH $0, Z31, Y27'],
              'stages, 2 vectors': interleave(2), 'stages, 4 vectors (per 32)': interleave(4),
              'stages, 2 vectors, next iteration ahead': pipelined(2, 5),
              'stages, 2 vectors, select without mask': interleave(2, integer_select=True)}
    for c, d in [(2, 8), (2, 16), (2, 32), (4, 32), (2, 64)]:
        bodies['%d chains of %d FMAs (pipes: %d)' % (c, d, c * d // 2)] = chains(c, d)
    per = {'stages, 4 vectors (per 32)': 2}

    asm = ['#include "textflag.h"', '']
    names = []

    def func(name, lines, n_per):
        ident = 'f%d' % len(names)
        names.append((name, ident, n_per))
        asm.extend(['TEXT ·%s(SB), NOSPLIT, $0-24' % ident, '\tMOVQ n+0(FP), DX', '\tMOVQ src+8(FP), CX',
                    '\tMOVQ src+8(FP), SI', '\tMOVQ dst+16(FP), AX', '\tVBROADCASTSS one<>(SB), Z0'] +
                   ['\tVMOVUPS Z0, Z%d' % i for i in range(1, 32)] + ['\tVPXORD Z28, Z28, Z28', 'loop_%s:' % ident] +
                   ['\t' + l for l in lines] + ['\tDECQ DX', '\tJNZ loop_%s' % ident, '\tVZEROUPPER', '\tRET', ''])

    def unrolled(ins_list):
        out = []
        for i in range(16):
            out += [x.strip() for x in ins_list[i % len(ins_list)].format(d=i + 1, k=i % 6 + 2).split(';')]
        return out

    for name, ins in SINGLE.items():
        func(name, unrolled([ins]), 16)
    for a, b in PAIRS:
        func('%s+%s' % (a, b), unrolled([SINGLE[a], SINGLE[b]]), 16)
    for name, lines in bodies.items():
        func(name, lines, per.get(name, 1))
    asm += ['TEXT ·chain(SB), NOSPLIT, $0-24', '\tMOVQ n+0(FP), CX', '\tXORQ AX, AX', 'loop_chain:'] + \
           ['\tADDQ $1, AX'] * 16 + ['\tDECQ CX', '\tJNZ loop_chain', '\tRET', '']
    asm += ['DATA one<>+0(SB)/4, $0x3f800000', 'GLOBL one<>(SB), RODATA, $4', '']

    go = ['package main', '', 'import ("fmt"; "time")', '']
    go += ['func %s(n int, src, dst *byte)' % ident for _, ident, _ in names] + ['func chain(n int, src, dst *byte)']
    go.append('var fns = []struct{name string; f func(int, *byte, *byte); per int}{')
    go += ['\t{"%s", %s, %d},' % (name, ident, per) for name, ident, per in names]
    go.append('}')
    go.append('''
func best(f func(int, *byte, *byte), n int, src, dst *byte) float64 {
	b := 0.0
	for r := 0; r < 5; r++ {
		t := time.Now()
		f(n, src, dst)
		if d := time.Since(t).Seconds(); r == 0 || d < b {
			b = d
		}
	}
	return b
}

func main() {
	src, dst := make([]byte, 1<<18), make([]byte, 1<<18) // page-aligned (large allocations)
	const n = 1000000
	cycle := best(chain, 2*n, nil, nil) / (2 * n * 16)
	fmt.Printf("clock from a dependent ADDQ chain: %.2f GHz\\n\\n", 1/cycle/1e9)
	fmt.Println("| code | cycles per instruction (16 in a row, independent) or per loop iteration |")
	fmt.Println("|---|---:|")
	for _, f := range fns {
		// dst 2112 bytes into its page from src: a load 4 KiB away from an earlier store (4K aliasing)
		// would wait for it.
		fmt.Printf("| %s | %.2f |\\n", f.name, best(f.f, n, &src[0], &dst[2112])/float64(n*f.per)/cycle)
	}
}''')
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, 'go.mod'), 'w').write('module uops\n\ngo 1.26\n')
        open(os.path.join(d, 'ops_amd64.s'), 'w').write('\n'.join(asm) + '\n')
        open(os.path.join(d, 'main.go'), 'w').write('\n'.join(go) + '\n')
        subprocess.run(['go', 'build', '-o', 'uops', '.'], cwd=d, check=True)
        subprocess.run([os.path.join(d, 'uops')], check=True)


if __name__ == '__main__':
    main()
