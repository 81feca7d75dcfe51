#!/usr/bin/env bash
# Installs NVIDIA's CUDA compiler (nvcc 11.8, ptxas, cuobjdump) and cuda.h from Debian's contrib and
# non-free components, which a default Debian 12 apt configuration leaves out. Needed only to rebuild
# kernels/activations.cu and the CUresult name table (make generate-cuda); nothing at run time needs it,
# and the tests do not (they run the kernels on the emulated driver, built with the system C compiler).
# Debian 12 (bookworm), as root. Idempotent; about 2.3 GB, 1-2 minutes.
set -euo pipefail
if command -v nvcc >/dev/null 2>&1; then nvcc --version | tail -1; exit 0; fi
src=/etc/apt/sources.list.d/debian.sources
dst=/etc/apt/sources.list.d/debian-nonfree.sources
if [ ! -f "$dst" ]; then
  if [ ! -f "$src" ]; then
    echo "cuda-toolkit.sh: no $src (a deb822 apt source); add contrib and non-free to your apt sources and install nvidia-cuda-toolkit" >&2
    exit 1
  fi
  # The same mirror and keyring as the main entry (its first stanza), with the other components.
  awk 'BEGIN{RS="";ORS="\n\n"} NR==1' "$src" | sed 's/^Components:.*/Components: contrib non-free/' \
    | sed '/^Suites:/s/ bookworm-security//' > "$dst"
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nvidia-cuda-toolkit >/dev/null
nvcc --version | tail -1
