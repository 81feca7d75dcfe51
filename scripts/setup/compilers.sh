#!/usr/bin/env bash
# Installs a C and a C++ compiler, which the tests use to build their stand-ins for GPU drivers: the
# emulated CUDA driver (internal/cudaemu, C++) and the OpenCL fault-injection shim
# (backend/opencl/internal/clshim, C). Nothing gpuact builds for users needs them. Debian 12, as root.
# Idempotent.
set -euo pipefail
if ! command -v cc >/dev/null || ! command -v c++ >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc g++ libc6-dev >/dev/null
fi
c++ --version | head -1
