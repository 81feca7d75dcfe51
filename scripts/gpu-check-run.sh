#!/usr/bin/env bash
# The GPU check, run on a machine with an NVIDIA GPU from the folder scripts/gpu-check.sh built
# (build/gpu). Prints the GPU, runs the conformance suite on CUDA, compares the CUDA kernels' output with the
# host emulation's bit for bit (TestMatchesEmulation), runs the suite on NVIDIA's OpenCL, measures the
# host cost of a launch, times PyTorch on 2^10..2^28, runs gpubench over the same sizes with the
# device-to-device copy as the roofline and prints its table side by side with PyTorch's last. Everything is also written
# to $OUT (default: ./out). Takes about 4 minutes on an H100.
set -u
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$here/out}
mkdir -p "$OUT"
cd "$here"
# Everything printed also goes to check.log; with the logs, the two JSON files and the plot that is 8
# files, the most a device-tool run brings back.
exec > >(tee "$OUT/check.log") 2>&1
status=0
step() { echo; echo "== $*"; }

step "GPU ($(cat commit 2>/dev/null || echo unknown commit))"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.memory,power.limit --format=csv

# The CUDA test binary runs on the machine's driver: without this it would build the emulated driver the
# tests use by default (internal/cudaemu), which needs a compiler. Its emulator-only tests skip, saying so.
export GPUACT_REQUIRE_CUDA=1

step "CUDA conformance suite"
timeout 300 ./cuda.test -test.v -test.timeout 280s -test.run 'Conformance|NoLeak|SyncAfterWork|Unavailable|TimeDevice|Upload' >"$OUT/cuda-test.log" 2>&1
rc=$?
grep -E '^(=== RUN|--- FAIL|--- PASS|--- SKIP|PASS|FAIL|ok)' "$OUT/cuda-test.log" | grep -v '=== RUN' | grep -E -- '--- FAIL|^(PASS|FAIL)|TestConformance |NoLeak|TestSyncAfterWork|TestUnavailable |TimeDevice|Upload' | tail -24
grep -E 'device free memory|compute units' "$OUT/cuda-test.log" | head -3
[ $rc -eq 0 ] || { echo "CUDA conformance FAILED (exit $rc): see cuda-test.log"; grep -B2 -A10 -- '--- FAIL' "$OUT/cuda-test.log" | head -60; status=1; }

step "CUDA kernels against the host emulation, bit for bit (2^21 elements per pass, dtype (float32, float64, float16, bfloat16) and α)"
GPUACT_CUDAEMU_LIBRARY=$here/lib/libcudaemu.so timeout 240 ./cuda.test -test.v -test.timeout 220s -test.run 'MatchesEmulation' >"$OUT/cuda-emulation.log" 2>&1
rc=$?
grep -E -- '--- (FAIL|PASS)|emulation_test.go' "$OUT/cuda-emulation.log" | head -24
[ $rc -eq 0 ] || { echo "CUDA kernels differ from the host emulation (exit $rc): see cuda-emulation.log"; status=1; }

step "Host cost of one pass (enqueue, no sync) and of an Alloc+Free pair of 1 MiB"
./cuda.test -test.run '^$' -test.bench 'Enqueue|AllocFree' -test.benchtime 20000x 2>&1 | grep -E 'Benchmark|memory pool|ok|FAIL' 

step "float32 passes vs device-to-device copy at n = 2^28 (CUDA events)"
./cuda.test -test.run '^$' -test.bench 'Passes' -test.benchtime 20x 2>&1 | grep -E 'Benchmark|ok|FAIL' 

if [ -x ./opencl.test ]; then
  step "OpenCL conformance suite on NVIDIA's OpenCL"
  mkdir -p icd
  echo "libnvidia-opencl.so.1" > icd/nvidia.icd
  export OCL_ICD_VENDORS=$here/icd
  [ -e lib/libOpenCL.so.1 ] && export GPUACT_OPENCL_LIBRARY=$here/lib/libOpenCL.so.1
  GPUACT_REQUIRE_OPENCL=1 timeout 240 ./opencl.test -test.v -test.timeout 220s -test.run 'Conformance' >"$OUT/opencl-test.log" 2>&1
  rc=$?
  grep -E -- '--- FAIL|^(PASS|FAIL)|TestConformance ' "$OUT/opencl-test.log" | tail -10
  [ $rc -eq 0 ] || { echo "OpenCL conformance FAILED (exit $rc): see opencl-test.log"; grep -B2 -A10 -- '--- FAIL' "$OUT/opencl-test.log" | head -40; status=1; }
  step "OpenCL float32 passes vs clEnqueueCopyBuffer at n = 2^24 (profiling events)"
  GPUACT_REQUIRE_OPENCL=1 timeout 120 ./opencl.test -test.run '^$' -test.bench 'Float32' -test.benchtime 20x 2>&1 | grep -E 'Benchmark|ok|FAIL'
fi

step "PyTorch on the same sizes (CUDA events)"
PYTHONUNBUFFERED=1 python3 torch_gpu.py --min 10 --max 28 --dtype float32,float64,float16,bfloat16 --out "$OUT/torch-cuda.json" 2>"$OUT/torch.log"
rc=$?
[ $rc -eq 0 ] || { echo "torch_gpu.py exit $rc"; tail -5 "$OUT/torch.log"; status=1; }

step "gpubench, CUDA, 2^10..2^28, side by side with PyTorch (ratio > 1: gpuact faster)"
ref=()
[ -s "$OUT/torch-cuda.json" ] && ref=(-compare "$OUT/torch-cuda.json")
timeout 300 ./gpubench -backend cuda:0 -min 10 -max 28 "${ref[@]}" -o "$OUT/gpubench-cuda.json" -plot "$OUT/gpubench-cuda.png"
rc=$?
[ $rc -eq 0 ] || { echo "gpubench exit $rc"; status=1; }
echo
[ $status -eq 0 ] && echo "GPU CHECK PASSED" || echo "GPU CHECK FAILED"
exit $status
