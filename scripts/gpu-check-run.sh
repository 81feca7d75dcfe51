#!/usr/bin/env bash
# The GPU check, run on a machine with an NVIDIA GPU from the folder scripts/gpu-check.sh built
# (build/gpu). Prints the GPU, runs the conformance suite on CUDA, compares the CUDA kernels' output with the
# host emulation's bit for bit (TestMatchesEmulation), runs the suite on NVIDIA's OpenCL, times PyTorch
# on 2^10..2^28, runs gpubench over the same sizes with the device-to-device copy as the roofline and
# prints its table side by side with PyTorch's, then measures the host cost of a launch, the CUDA float32
# passes against the device's copy and the OpenCL passes (float32, float16, bfloat16) against
# clEnqueueCopyBuffer. Everything is also written to $OUT (default: ./out).
#
# The whole check keeps to GPU_CHECK_BUDGET seconds (default 540, so that it fits a 10-minute call with
# the copying around it): the steps run in the order above, most important first, each under its own
# time limit cut to what is left, and a step with under 20 s left is skipped and named at the end. A
# skipped step makes the check INCOMPLETE, never PASSED.
set -u
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$here/out}
mkdir -p "$OUT"
cd "$here"
# Everything printed also goes to check.log; with the logs, the two JSON files and the plot that is 8
# files, the most a device-tool run brings back.
exec > >(tee "$OUT/check.log") 2>&1
teepid=$!
start=$(date +%s)
budget=${GPU_CHECK_BUDGET:-540}
status=0
skipped=()
step() { echo; echo "== $* ($(( $(date +%s) - start )) s in)"; }
# limit MAX: MAX seconds, or what is left of the budget if that is less.
limit() {
  local left=$(( start + budget - $(date +%s) ))
  (( left < $1 )) && echo "$left" || echo "$1"
}
# enough NAME MAX: whether a step may start; if not, records it as skipped.
enough() {
  if (( $(limit "$2") < 20 )); then
    echo "skipped: $1 (out of the ${budget} s budget)"
    skipped+=("$1")
    return 1
  fi
}
# measured NAME RC: the outcome of a measuring step: stopped at its time limit (timeout's 124; what it
# measured is kept) makes the check incomplete, any other failure makes it fail.
measured() {
  if [ "$2" -eq 124 ]; then
    echo "$1: stopped at its time limit (its results so far are kept)"
    skipped+=("$1 (cut short)")
  elif [ "$2" -ne 0 ]; then
    echo "$1: exit $2"
    status=1
  fi
}

step "GPU ($(cat commit 2>/dev/null || echo unknown commit))"
timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.memory,power.limit --format=csv

# The driver's libraries may sit in a folder of their own that the loader's cache does not list (GPU
# containers mount them, e.g. /usr/local/nvidia/lib64): then the loader is told where.
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
    if [ -e "$d/libcuda.so.1" ]; then
      export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      echo "libcuda.so.1: $d (not in the loader's cache)"
      break
    fi
  done
fi

# The CUDA test binary runs on the machine's driver: without this it would build the emulated driver the
# tests use by default (internal/cudaemu), which needs a compiler. Its emulator-only tests skip, saying so.
export GPUACT_REQUIRE_CUDA=1

step "CUDA conformance suite"
if enough "CUDA conformance" 240; then
  t=$(limit 240)
  timeout -k 5 "$t" ./cuda.test -test.v -test.timeout "$(( t - 5 ))s" -test.run 'Conformance|NoLeak|SyncAfterWork|Unavailable|TimeDevice|Upload' >"$OUT/cuda-test.log" 2>&1
  rc=$?
  grep -E -- '^--- (FAIL|PASS|SKIP)|^(PASS|FAIL)$' "$OUT/cuda-test.log" | tail -24
  grep -E 'device free memory|compute units' "$OUT/cuda-test.log" | head -3
  [ $rc -eq 0 ] || { echo "CUDA conformance FAILED (exit $rc): see cuda-test.log"; grep -B2 -A10 -- '--- FAIL' "$OUT/cuda-test.log" | head -60; status=1; }
fi

step "CUDA kernels against the host emulation, bit for bit (2^21 elements per pass, dtype (float32, float64, float16, bfloat16) and α)"
if enough "CUDA against the emulation" 150; then
  t=$(limit 150)
  GPUACT_CUDAEMU_LIBRARY=$here/lib/libcudaemu.so timeout -k 5 "$t" ./cuda.test -test.v -test.timeout "$(( t - 5 ))s" -test.run 'MatchesEmulation' >"$OUT/cuda-emulation.log" 2>&1
  rc=$?
  grep -E -- '--- (FAIL|PASS)|emulation_test.go' "$OUT/cuda-emulation.log" | head -24
  [ $rc -eq 0 ] || { echo "CUDA kernels differ from the host emulation (exit $rc): see cuda-emulation.log"; status=1; }
fi

if [ -x ./opencl.test ]; then
  step "OpenCL conformance suite on NVIDIA's OpenCL"
  # NVIDIA's OpenCL driver, by full path where the loader's search would not find it (containers often
  # mount the driver's libraries in a folder of their own).
  icdlib=libnvidia-opencl.so.1
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
    if [ -e "$d/libnvidia-opencl.so.1" ]; then icdlib=$d/libnvidia-opencl.so.1; break; fi
  done
  echo "NVIDIA OpenCL driver: $icdlib"
  mkdir -p icd
  echo "$icdlib" > icd/nvidia.icd
  export OCL_ICD_VENDORS=$here/icd
  [ -e lib/libOpenCL.so.1 ] && export GPUACT_OPENCL_LIBRARY=$here/lib/libOpenCL.so.1
  if enough "OpenCL conformance" 180; then
    t=$(limit 180)
    GPUACT_REQUIRE_OPENCL=1 timeout -k 5 "$t" ./opencl.test -test.v -test.timeout "$(( t - 5 ))s" -test.run 'Conformance' >"$OUT/opencl-test.log" 2>&1
    rc=$?
    grep -E -- '^--- (FAIL|PASS|SKIP)|^(PASS|FAIL)$' "$OUT/opencl-test.log" | tail -10
    [ $rc -eq 0 ] || { echo "OpenCL conformance FAILED (exit $rc): see opencl-test.log"; grep -B2 -A10 -- '--- FAIL' "$OUT/opencl-test.log" | head -40; status=1; }
  fi
fi

step "PyTorch on the same sizes (CUDA events)"
if enough "PyTorch timings" 120; then
  PYTHONUNBUFFERED=1 timeout -k 5 "$(limit 120)" python3 torch_gpu.py --min 10 --max 28 --dtype float32,float64,float16,bfloat16 --out "$OUT/torch-cuda.json" 2>"$OUT/torch.log"
  rc=$?
  [ $rc -eq 0 ] || tail -5 "$OUT/torch.log"
  measured "torch_gpu.py" $rc
fi

step "gpubench, CUDA, 2^10..2^28, side by side with PyTorch (ratio > 1: gpuact faster)"
if enough "gpubench" 240; then
  ref=()
  # Only a whole file: torch_gpu.py rewrites it after every size, and a kill can cut one write short.
  if [ -s "$OUT/torch-cuda.json" ] && python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$OUT/torch-cuda.json" 2>/dev/null; then
    ref=(-compare "$OUT/torch-cuda.json")
  elif [ -s "$OUT/torch-cuda.json" ]; then
    echo "torch-cuda.json was cut short: gpubench runs without the comparison"
  fi
  # SIGTERM at the limit: gpubench finishes its row and writes the rows it has (-k: time for that).
  timeout -k 20 "$(limit 240)" ./gpubench -backend cuda:0 -min 10 -max 28 "${ref[@]}" -o "$OUT/gpubench-cuda.json" -plot "$OUT/gpubench-cuda.png"
  measured "gpubench" $?
fi

step "Host cost of one pass (enqueue, no sync) and of an Alloc+Free pair of 1 MiB"
if enough "host cost" 60; then
  timeout -k 5 "$(limit 60)" ./cuda.test -test.run '^$' -test.bench 'Enqueue|AllocFree' -test.benchtime 20000x 2>&1 | grep -E 'Benchmark|memory pool|ok|FAIL'
  measured "host cost" "${PIPESTATUS[0]}"
fi

step "float32 passes vs device-to-device copy at n = 2^28 (CUDA events)"
if enough "CUDA passes vs copy" 60; then
  timeout -k 5 "$(limit 60)" ./cuda.test -test.run '^$' -test.bench 'Passes' -test.benchtime 20x 2>&1 | grep -E 'Benchmark|ok|FAIL'
  measured "CUDA passes vs copy" "${PIPESTATUS[0]}"
fi

if [ -x ./opencl.test ]; then
  step "OpenCL passes vs clEnqueueCopyBuffer: float32 at n = 2^24, float16 and bfloat16 at 2^25 (profiling events)"
  if enough "OpenCL passes vs copy" 60; then
    GPUACT_REQUIRE_OPENCL=1 timeout -k 5 "$(limit 60)" ./opencl.test -test.run '^$' -test.bench 'Float32|Float16' -test.benchtime 20x 2>&1 | grep -E 'Benchmark|ok|FAIL'
    measured "OpenCL passes vs copy" "${PIPESTATUS[0]}"
  fi
fi

echo
echo "took $(( $(date +%s) - start )) s of the ${budget} s budget"
if (( ${#skipped[@]} > 0 )); then
  printf 'skipped for time: %s\n' "${skipped[@]}"
fi
if [ $status -ne 0 ]; then
  echo "GPU CHECK FAILED"
elif (( ${#skipped[@]} > 0 )); then
  echo "GPU CHECK INCOMPLETE"
  status=3
else
  echo "GPU CHECK PASSED"
fi
# Let tee write the last lines to check.log before the caller collects it.
exec >&- 2>&-
wait "$teepid"
exit $status
