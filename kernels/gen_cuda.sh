#!/usr/bin/env bash
# Compiles activations.cu into activations.fatbin (machine code for sm_50 ... sm_90 and PTX for compute_90,
# which newer GPUs JIT-compile), writes the compiler's resource report and the SASS instruction counts
# to activations.resources.txt and the hashes that tie the fatbin to its source to cuda_gen.go. Needs
# nvcc and cuobjdump (CUDA 11.8: scripts/setup/cuda-toolkit.sh). Run through `make generate` (go
# generate ./kernels). EMU_ARGS=-exhaustive makes the host check of the math exhaustive (make cuda-math).
set -euo pipefail
cd "$(dirname "$0")"
command -v nvcc >/dev/null || { echo "gen_cuda.sh: nvcc not found (install the CUDA toolkit: scripts/setup/cuda-toolkit.sh)" >&2; exit 1; }
archs="50 52 60 61 70 75 80 86 89 90"
flags=(-O3 -std=c++17 --fmad=true -Xptxas=-warn-spills)
gencode=()
for a in $archs; do gencode+=(-gencode "arch=compute_$a,code=sm_$a"); done
gencode+=(-gencode "arch=compute_90,code=compute_90")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpuact-gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# First the kernels on the CPU (emu/emu.cu): indexing, and the math, which the host computes bit for bit
# as the GPU does. The host compiler must not contract into FMAs (-ffp-contract=off); -mfma only makes
# the explicit fmas faster where the CPU has them.
hostflags=-ffp-contract=off
if [ "$(uname -m)" = x86_64 ] && grep -qw fma /proc/cpuinfo 2>/dev/null; then hostflags+=,-mfma; fi
nvcc -O2 -std=c++17 -Xcompiler "$hostflags" -o "$tmp/emu" emu/emu.cu
"$tmp/emu" ${EMU_ARGS:-}
if [ -n "${EMU_ONLY:-}" ]; then exit 0; fi

nvcc "${flags[@]}" "${gencode[@]}" -fatbin -o activations.fatbin activations.cu

# count.awk reads cuobjdump -sass and prints, per function, its instructions (NOPs left out) and those of
# them that run on the FP32 and on the FP64 pipe.
cat > "$tmp/count.awk" <<'AWK'
function pipe(op) {
  if (op ~ /^(DADD|DMUL|DFMA|DSETP|DSET|DMNMX|DMMA)/ || op ~ /^MUFU\.(RCP64H|RSQ64H)/) return 64
  if (op ~ /^(F2F|I2F|F2I|FRND)/ && op ~ /F64/) return 64
  if (op ~ /^(FADD|FMUL|FFMA|FSETP|FSET|FMNMX|FSEL|FCHK|FSWZADD|MUFU|FRND|F2F|I2F|F2I)/) return 32
  return 0
}
/Function :/ { if (name != "") print name, n, f32, f64; name = $NF; n = f32 = f64 = 0; next }
/^[ \t]+\/\*[0-9a-f]+\*\/[ \t]+[@A-Z]/ {
  s = $0; sub(/^[ \t]+\/\*[0-9a-f]+\*\/[ \t]+/, "", s); sub(/^@!?U?P[T0-9]+[ \t]+/, "", s)
  split(s, w, /[ \t;]+/)
  if (w[1] == "NOP") next
  n++; p = pipe(w[1]); if (p == 32) f32++; else if (p == 64) f64++
}
END { if (name != "") print name, n, f32, f64 }
AWK

# One-element probes of the ELU formulas (the loops left out), for the per-element counts.
{
  echo '#include "activations.cu"'
  echo 'template <class Op> using F16Of = Half<Op, false>; template <class Op> using BF16Of = Half<Op, true>;'
  echo '#define PROBE(NAME, OP, T, C, S) extern "C" __global__ void probe_##NAME##_##S(T *o, const T *a, const T *b, C alpha, C am, int ae, C xcut) { const Alpha<C> p = {alpha, am, ae, xcut}; o[threadIdx.x] = OP::apply(a[threadIdx.x], b[threadIdx.x], p); }'
  sed -n 's/^GPUACT_KERNELS(\([a-z_0-9]*\), \([A-Za-z0-9]*\), .*/PROBE(\1, \2, float, float, f32) PROBE(\1, \2, double, double, f64) PROBE(\1, F16Of<\2>, uint16_t, float, f16) PROBE(\1, BF16Of<\2>, uint16_t, float, bf16)/p' activations.cu
} > "$tmp/probe.cu"
cp activations.cu "$tmp/"

{
  echo "# Resource usage of activations.cu per kernel, from ptxas (registers, stack, spills) and cuobjdump -sass (instructions,"
  echo "# those on the FP32 pipe: FADD FMUL FFMA FSETP FMNMX FSEL MUFU ..., and on the FP64 pipe: DADD DMUL DFMA DSETP DMNMX"
  echo "# F2F/I2F/F2I with F64, MUFU.RCP64H/RSQ64H). The float32, float16 and bfloat16 kernels use no FP64 instruction"
  echo "# (TestFloat32KernelsUseNoFP64)."
  echo "# Static counts: the float32 vec kernels hold 14 copies of the formula (head, two vectors per step, one more, tail;"
  echo "# the 16-bit ones 2 + 3·8 = 26, float64's 2 + 3·2 = 8), the scalar ones 5. DO NOT EDIT: gen_cuda.sh writes it."
  echo "# $(nvcc --version | tail -1)"
  for a in 80 90; do
    cuobjdump -sass -arch "sm_$a" activations.fatbin | awk -f "$tmp/count.awk" > "$tmp/sass_$a"
    echo "## sm_$a: kernel, registers, stack frame bytes, spill stores, spill loads, SASS instructions, FP32, FP64"
    nvcc "${flags[@]}" -arch="sm_$a" -cubin -o /dev/null --resource-usage activations.cu 2>&1 | awk -v sass="$tmp/sass_$a" '
      BEGIN { while ((getline l < sass) > 0) { split(l, f, " "); ins[f[1]] = f[2]; f32[f[1]] = f[3]; f64[f[1]] = f[4] } }
      /Function properties for/ { name = $NF }
      /bytes stack frame/ { stack = $1; stores = $5; loads = $9 }
      /Used [0-9]+ registers/ { for (i = 1; i <= NF; i++) if ($i == "Used") regs = $(i+1)
        if (!(name in ins)) { print "gen_cuda.sh: no SASS for " name > "/dev/stderr"; exit 1 }
        printf "%-32s %3d regs  %d stack  %d spill-st  %d spill-ld  %4d instr  %3d fp32  %3d fp64\n", name, regs, stack, stores, loads, ins[name], f32[name], f64[name] }'
  done
  for a in 80 90; do
    echo "## sm_$a per element: each formula alone in a one-element kernel (probe_<formula>_<dtype>), static SASS counts: instructions, FP32, FP64"
    (cd "$tmp" && nvcc "${flags[@]}" -arch="sm_$a" -cubin -o "probe_$a.cubin" probe.cu)
    cuobjdump -sass "$tmp/probe_$a.cubin" | awk -f "$tmp/count.awk" | grep '^probe_' | sort |
      awk '{ printf "%-32s %4d instr  %3d fp32  %3d fp64\n", $1, $2, $3, $4 }'
  done
} > activations.resources.txt
src=$(sha256sum activations.cu | cut -d' ' -f1)
bin=$(sha256sum activations.fatbin | cut -d' ' -f1)
ver=$(nvcc --version | tail -1)
cat > cuda_gen.go <<GO
// Code generated by gen_cuda.sh; DO NOT EDIT.

package kernels

// The fatbin's provenance: TestFatbinMatchesSource fails when activations.cu or activations.fatbin
// changed without \`make generate\`, so a stale kernel cannot ship.
const (
	CUDASourceSHA256 = "$src"
	CUDAFatbinSHA256 = "$bin"
	CUDACompiler     = "$ver"
	CUDAArchs        = "sm_${archs// /, sm_}, compute_90 (PTX)"
)
GO
gofmt -w cuda_gen.go
ls -l activations.fatbin
