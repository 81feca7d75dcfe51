#!/usr/bin/env bash
# Installs Chromium (Debian's package), with which cmd/gpubench's TestHTML/chromium renders gpubench's
# HTML report headless (a screenshot and the DOM) and checks what a reader would see. CI runs it and sets
# GPUACT_REQUIRE_CHROMIUM=1, so that the test fails rather than skips without it. Debian 12, as root.
# Idempotent; about 350 MB installed, a minute or so the first time.
set -euo pipefail
if ! dpkg -s chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
chromium --version 2>/dev/null
