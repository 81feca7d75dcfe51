#!/usr/bin/env bash
# Installs the OpenCL ICD loader and PoCL, an OpenCL implementation that runs on this machine's CPU, so the
# OpenCL backend's tests run for real without a GPU (CI runs them this way). Debian or Ubuntu, as root.
# Idempotent; a few seconds.
set -euo pipefail
if ! dpkg -s pocl-opencl-icd ocl-icd-libopencl1 clinfo >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    pocl-opencl-icd ocl-icd-libopencl1 clinfo >/dev/null
fi
clinfo -l
