#!/usr/bin/env bash
# The CPU backend's tests as a 32-bit program (linux/386), where Alloc meets a 4 GiB address space:
# natively where the kernel runs 32-bit programs, else under qemu-i386 (Debian's qemu-user package:
# scripts/setup/qemu-user.sh). make test-386 runs it; extra arguments go to go test.
#
# Under qemu-user 7.2 a 386 Go program crashes in its signal handler when a signal arrives, so the
# emulated run turns off asynchronous preemption (GODEBUG=asyncpreemptoff=1: no SIGURG) and tells the
# tests, through GPUACT_TEST_EXEC, to start their child processes through qemu too (and to ignore
# SIGCHLD; see backend/cpu/alloc_test.go).
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 GOOS=linux GOARCH=386
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
go test -c -o "$probe/cpu.test" ./backend/cpu
if "$probe/cpu.test" -test.run '^$' >/dev/null 2>&1; then
  echo "test-386: running natively"
  exec go test -count=1 "$@" ./backend/cpu/
fi
if ! command -v qemu-i386 >/dev/null; then
  echo "test-386: this kernel does not run 32-bit programs and qemu-i386 is missing (apt-get install qemu-user)" >&2
  exit 1
fi
echo "test-386: this kernel does not run 32-bit programs; running under $(qemu-i386 --version | head -1)"
export GODEBUG=asyncpreemptoff=1 GPUACT_TEST_EXEC=qemu-i386
# The conformance suite on wrapped slices, the exhaustive 16-bit sweep, the per-implementation kernel
# checks (TestAllImplementations) and the suite's numerical part (TestConformance/Passes: every pass ×
# dtype at sizes up to 2^20) check only the plain Go loops here, the code make test-purego checks on
# amd64, which rounds as 386 does (arm64, which fuses multiply-adds, runs them under qemu); they do not
# differ by platform, and under emulation they take minutes (TestAllImplementations 51 s of 178 when it
# ran; the whole TestConformance 145 s of 150). The rest of the suite (bad input and sizes near the
# limits of a 32-bit int, slices, ranges, concurrency, lifecycle) runs.
exec go test -count=1 -exec qemu-i386 -skip '^TestConformanceWrapped$|^TestExhaustive16$|^TestAllImplementations$|^TestConformance$/^Passes$' "$@" ./backend/cpu/
