#!/usr/bin/env bash
# Prepares the GPU check: builds, here and with CGO_ENABLED=0, everything the GPU machine runs (it has no
# Go and no network) into build/gpu/, then `bash build/gpu/run.sh` runs it there. On any Linux x86-64
# machine with an NVIDIA GPU:
#
#   make gpu-check                 # build/gpu/: test binaries, the emulated driver, gpubench, the PyTorch script, run.sh
#   bash build/gpu/run.sh          # on the GPU machine; results land in $OUT (default build/gpu/out)
#
# TestMatchesEmulation compares the GPU's results with the emulated driver's (internal/cudaemu) bit for bit:
# the emulator is built here with the C++ compiler, as the tests build it, and carried along (it needs
# only libstdc++ and glibc there).
#
# The OpenCL part needs an ICD loader and NVIDIA's ICD file, which GPU containers often lack: the
# loader installed here (ocl-icd-libopencl1, from scripts/setup/opencl-pocl.sh) is carried along
# and run.sh writes an ICD file naming libnvidia-opencl.so.1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/gpu
rm -rf "$out"
mkdir -p "$out/lib"
export CGO_ENABLED=0 GOOS=linux GOARCH=amd64
# Without the symbol table and DWARF (stack traces keep their function names and lines): the folder is
# copied to the GPU machine with the working tree, and smaller copies faster.
strip=(-ldflags=-s\ -w)
go test -c "${strip[@]}" -o "$out/cuda.test" ./backend/cuda
if [ -d backend/opencl ] && ls backend/opencl/*_test.go >/dev/null 2>&1; then
  go test -c "${strip[@]}" -o "$out/opencl.test" ./backend/opencl
fi
go build "${strip[@]}" -o "$out/gpubench" ./cmd/gpubench
emucache=$(mktemp -d)
GPUACT_CUDAEMU_CACHE=$emucache go test -count=1 -run '^TestRegistryMatchesSource$' ./internal/cudaemu >/dev/null
cp "$(find "$emucache" -name libcudaemu.so | head -1)" "$out/lib/libcudaemu.so"
rm -rf "$emucache"
# TestUnavailable builds its fake drivers from testdata/ relative to where the binary runs, where the GPU
# machine has a C compiler.
mkdir -p "$out/testdata" && cp backend/cuda/testdata/fakecuda.c "$out/testdata/"
cp scripts/gpu-check-run.sh "$out/run.sh"
cp bench/torch_gpu.py "$out/"
# The OpenCL ICD loader, resolved through its symlink.
for lib in /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 /usr/lib/libOpenCL.so.1; do
  if [ -e "$lib" ]; then cp -L "$lib" "$out/lib/libOpenCL.so.1"; break; fi
done
if [ ! -e "$out/lib/libOpenCL.so.1" ] && command -v apt-get >/dev/null; then
  (cd "$out/lib" && apt-get download ocl-icd-libopencl1 >/dev/null 2>&1 && dpkg-deb -x ocl-icd-libopencl1_*.deb x &&
    cp -L x/usr/lib/x86_64-linux-gnu/libOpenCL.so.1 . && rm -rf x ./*.deb) || true
fi
[ -e "$out/lib/libOpenCL.so.1" ] || echo "gpu-check: no OpenCL ICD loader found here; the OpenCL part will use the GPU machine's, if any" >&2
git rev-parse HEAD > "$out/commit" 2>/dev/null || true
du -sh "$out"
echo "gpu-check: built $out; on the GPU machine run: bash $out/run.sh"
