#!/usr/bin/env bash
# Installs qemu-user (user-mode emulation: qemu-aarch64, qemu-arm, qemu-i386) and the arm64 C library, so
# test binaries built for linux/arm64, linux/arm and linux/386 run on an x86-64 machine: `make
# test-platforms` (CI) runs the CPU backend's and package backend's tests that way. A binary that imports
# package backend is dynamically linked (purego loads the GPU libraries), so it needs the target's
# dynamic loader and libc: qemu-aarch64 -L /usr/aarch64-linux-gnu. Debian 12, as root. Idempotent.
set -euo pipefail
if ! dpkg -s qemu-user libc6-arm64-cross >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user libc6-arm64-cross >/dev/null
fi
qemu-aarch64 --version | head -1
