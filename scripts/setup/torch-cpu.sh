#!/usr/bin/env bash
# Installs Debian's PyTorch (CPU build), NumPy and mpmath for the system python (/usr/bin/python3): PyTorch
# is the reference implementation the CPU benchmarks are compared with side by side (make bench-vs-torch),
# mpmath computes backend/cpu/testdata/reference.json. Debian 12, as root. Idempotent; about a minute.
set -euo pipefail
if ! /usr/bin/python3 -c 'import torch, numpy, mpmath' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-torch python3-numpy python3-mpmath >/dev/null
fi
/usr/bin/python3 -c 'import torch; print("torch", torch.__version__, "threads", torch.get_num_threads())'
