# gpuact's tasks. `make test` is the test command of the README and of CI.
GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

PYTHON ?= /usr/bin/python3
# n = 2^10, 2^12, ..., 2^26 (bench-vs-torch; narrow it with e.g. BENCH_SIZES=4096,16777216).
BENCH_SIZES ?= 1024,4096,16384,65536,262144,1048576,4194304,16777216,67108864
BENCH_DTYPES ?= float32,float64,bfloat16,float16

# The purego tag changes backend/cpu alone (no assembly: the plain Go loops); these are the packages
# that contain it. The GPU backends' packages do not change with the tag and run in make test.
PUREGO_PKGS = ./backend/cpu/ ./backend/ ./cmd/gpubench/

.PHONY: test test-purego bench bench-vs-torch generate check-generated lint ci

# The whole suite with the race detector, then the statement coverage of the CUDA packages, which run on
# the emulated driver and must stay at COVER_MIN percent (scripts/coverage.sh). Coverage is collected for
# them alone: counting statements in the CPU kernels' loops under -race (atomic counters) would make the
# suite several times slower. OpenCL tests skip with a message where no OpenCL runtime is installed; set
# GPUACT_REQUIRE_OPENCL=1 to make that a failure (CI does). The CUDA tests run on an emulated driver that
# they build with the C++ compiler (internal/cudaemu); GPUACT_REQUIRE_CUDA=1 runs them on the machine's
# GPU instead, GPUACT_CUDA_LIBRARY=none skips them. The OpenCL fault tests build a shim with the C
# compiler (backend/opencl/internal/clshim). gpubench's HTML report is rendered in headless Chromium where
# one is installed (scripts/setup/chromium.sh); GPUACT_REQUIRE_CHROMIUM=1 makes its absence a failure (CI).
#
# The conformance suite on wrapped memory (TestConformanceWrapped: host slices, cl_mem sub-buffers,
# external device pointers), on the emulated driver's second CUDA device (TestConformanceOtherDevices)
# and on the CPU implementations New does not pick (TestConformanceOtherImplementations: AVX2 where
# there is AVX-512, the plain loops), and the CPU kernels' checks against the oracle
# (TestAllImplementations) run second, without the race detector: they differ from the suites of the
# race run only in where the memory comes from, the device ordinal or the leaf kernels (assembly the
# detector does not see into), and under -race they would double the longest packages' time (the
# OpenCL package alone took 8 minutes with its wrapped suite on 2 cores, 4.6 without).
COVER_PKGS := ./backend/cuda ./backend/cuda/internal/cu
COVER_MIN ?= 85
# The plain Go loops' conformance suite and kernel checks are make test-purego's (the only implementation
# there).
PUREGO_COVERS := ^(TestConformanceOtherImplementations|TestAllImplementations)$$/^generic$$
NORACE := ^(TestConformanceWrapped|TestConformanceOtherDevices|TestConformanceOtherImplementations|TestAllImplementations)$$
test:
	mkdir -p build
	$(GO) test -race -count=1 -timeout 30m -skip '$(NORACE)' -coverpkg=$(shell echo $(COVER_PKGS) | tr ' ' ,) -coverprofile=build/cover.out ./...
	bash scripts/coverage.sh build/cover.out $(foreach p,$(COVER_PKGS),$(p)=$(COVER_MIN))
	$(GO) test -count=1 -timeout 10m -run '$(NORACE)' -skip '$(PUREGO_COVERS)' ./backend/cpu/ ./backend/opencl/ ./backend/cuda/

# The statement coverage of every backend package, without the race detector (a report; make test holds
# the CUDA packages to their minimum).
COVER_ALL := ./backend/cuda ./backend/cuda/internal/cu ./backend/opencl ./backend/opencl/internal/cl \
	./backend/cpu ./backend/core ./backend/formula ./backend
.PHONY: cover
cover:
	mkdir -p build
	$(GO) test -count=1 -coverpkg=$(shell echo $(COVER_ALL) | tr ' ' ,) -coverprofile=build/cover-all.out ./...
	bash scripts/coverage.sh build/cover-all.out $(COVER_ALL)

# The CPU backend with every assembly kernel turned off (the plain Go loops), and what contains it.
test-purego:
	$(GO) test -tags purego -count=1 $(PUREGO_PKGS)

# The CPU backend's tests as a 32-bit program (linux/386): Alloc against a 4 GiB address space. Runs
# natively where the kernel runs 32-bit programs, else under qemu-i386 (scripts/setup/qemu-user.sh);
# about 1 minute emulated on 2 cores (2.5 on a busy machine). See scripts/test-386.sh.
.PHONY: test-386
test-386:
	bash scripts/test-386.sh

# Fuzzing: every fuzz target in the repository (each func Fuzz... in a _test.go file; today FuzzPasses
# in backend/cpu), one after the other, each for FUZZTIME. By hand, one target:
#   go test -run '^$' -fuzz '^FuzzPasses$' -fuzztime 10m ./backend/cpu/
# A failing input is written to the package's testdata/fuzz/<target>/ and the run fails; commit the
# file with the fix, and every go test runs it from then on. fuzz-smoke is the short run CI can afford
# (FUZZ_SMOKE_TIME per target, plus the build of each instrumented test binary).
FUZZTIME ?= 5m
FUZZ_SMOKE_TIME ?= 10s
.PHONY: fuzz fuzz-smoke
fuzz: FUZZ_FOR = $(FUZZTIME)
fuzz-smoke: FUZZ_FOR = $(FUZZ_SMOKE_TIME)
fuzz fuzz-smoke:
	@set -e; targets=0; \
	for f in $$(git ls-files '*_test.go' | xargs grep -l '^func Fuzz'); do \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "fuzzing $$t in ./$$(dirname $$f) for $(FUZZ_FOR)"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZ_FOR) ./$$(dirname $$f)/; \
	    targets=$$((targets+1)); \
	  done; \
	done; \
	if [ $$targets -eq 0 ]; then echo "no fuzz targets found"; exit 1; fi

# Benchmarks of the CPU backend against copy() in the same run; gpubench for the whole sweep.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 0.5s ./backend/...

# gpuact's CPU backend and PyTorch's CPU ops (bench/torch_cpu.py; PyTorch from scripts/setup/torch-cpu.sh)
# on the same sizes (BENCH_SIZES: 2^10 to 2^26) and dtypes (PyTorch 1.13 has no float16 CPU ops: those
# rows show only gpuact), in alternating rounds (torch, then gpuact), every number the median over the
# rounds. It prints the machine (CPU model and SIMD flags, GOMAXPROCS, Go, torch's version, threads and
# CPU capability), a table of per-pass ratios and shares of copy() bandwidth, and a grid of gpuact /
# PyTorch per dtype × pass × activation and size with its minimum (* marks cells below 1). The median
# JSON rows and a plot of that grid against n land in bench/out/. Rows whose single call is long (the
# large sizes) get fewer than 9 timings a round, about 0.25 s of them (cpubench -row-budget): the
# default sweep takes about a minute a round on 2 idle cores, most of it at 2^26 (BENCH_ROUNDS=5: about
# 5 minutes; on a loaded machine up to twice that).
#
# BENCH_TORCH_CAPABILITY sets ATEN_CPU_CAPABILITY for torch: empty (the default) leaves torch to pick
# its kernels (the variable is unset for it), avx512 forces its AVX-512 kernels where the CPU has them
# (on the AMD EPYC, family 26, these benchmarks ran on, torch 1.13 picks AVX2 by itself). Both, one
# after the other (the outputs of the second carry the capability in their names, such as
# bench/out/torch-avx512.json):
#   make bench-vs-torch BENCH_ROUNDS=5
#   make bench-vs-torch BENCH_ROUNDS=5 BENCH_TORCH_CAPABILITY=avx512
BENCH_ROUNDS ?= 3
BENCH_TORCH_CAPABILITY ?=
BENCH_TAG = $(if $(BENCH_TORCH_CAPABILITY),-$(BENCH_TORCH_CAPABILITY))
BENCH_TORCH_ENV = $(if $(BENCH_TORCH_CAPABILITY),env ATEN_CPU_CAPABILITY=$(BENCH_TORCH_CAPABILITY),env -u ATEN_CPU_CAPABILITY)
bench-vs-torch:
	mkdir -p bench/out
	$(GO) run ./bench/cpubench -sizes $(BENCH_SIZES) -dtypes $(BENCH_DTYPES) -rounds $(BENCH_ROUNDS) -reps 9 \
		-torch-cmd "$(BENCH_TORCH_ENV) $(PYTHON) bench/torch_cpu.py" \
		-o bench/out/gpuact$(BENCH_TAG).json -torch-out bench/out/torch$(BENCH_TAG).json \
		-plot bench/out/vs-torch$(BENCH_TAG).png

# Regenerates every generated file (see each generator's header). generate-asm: the CPU kernels, from
# backend/cpu/_asm (avo, its own module; needs only the module proxy). generate-cuda: the CUDA fatbin,
# its resource report and hashes, and the CUresult names (needs nvcc and cuda.h: CUDA 11.8 from
# scripts/setup/cuda-toolkit.sh).
.PHONY: generate-asm generate-cuda
generate: generate-asm generate-cuda
generate-asm:
	$(GO) generate ./backend/cpu/...
generate-cuda:
	$(GO) generate ./kernels/... ./backend/cuda/...

# The CUDA kernels' math on the host, exhaustively (kernels/emu with -exhaustive; needs nvcc): every negative
# float32 through each float32 ELU pass for α = 1, 0.37 and 2.5 against the oracle, besides the quick
# checks make generate-cuda runs. The host build computes the GPU's bits (kernels/activations.cu), so
# this holds for the GPU. 2^31 inputs × 9, on every core: 11 minutes of CPU in all, measured (max 1 ULP
# everywhere); 33 minutes of wall time on a 2-core VM that other work kept busy.
.PHONY: cuda-math
cuda-math:
	EMU_ARGS=-exhaustive EMU_ONLY=1 bash kernels/gen_cuda.sh

# Fails when the assembly generator's own checks fail (its module is not part of ./...), when a generated
# file differs from what its generator makes now, or when a generator made a file (one whose header says
# DO NOT EDIT) that is not committed. CI has no CUDA toolkit, so it regenerates
# the assembly; the fatbin is guarded by kernels' TestFatbinMatchesSource instead.
check-generated: generate-asm
	cd backend/cpu/_asm && $(GO) vet . && $(GO) test -count=1 .
	git diff --exit-code
	@out=$$(git ls-files --others --exclude-standard -z | xargs -0 -r grep -l "DO NOT EDIT" --); if [ -n "$$out" ]; then echo "generated files not committed:"; echo "$$out"; exit 1; fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@# No build output in git: a binary once committed by mistake made the tree too large to copy to a GPU machine.
	@big=$$(git ls-files -z | xargs -0 wc -c -- | awk '{ n = $$1; sub(/^ *[0-9]+ /, "") } n > 4194304 && $$0 != "total" && $$0 != "kernels/activations.fatbin"'); \
		if [ -n "$$big" ]; then echo "tracked files over 4 MiB (build outputs? add them to .gitignore):"; echo "$$big"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Every platform gpuact supports builds and vets (tests and gpubench included) without cgo.
CROSS_PLATFORMS ?= linux/amd64 linux/arm64 linux/386 linux/arm darwin/arm64 darwin/amd64 windows/amd64
.PHONY: cross test-arm64
cross:
	@set -e; for p in $(CROSS_PLATFORMS); do echo "build + vet $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build ./... ; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) vet ./... ; done

# The CPU backend's and package backend's tests for linux/arm64 (the plain Go path), under qemu-user
# (scripts/setup/qemu-user.sh). A binary importing package backend is dynamically linked: -L gives
# qemu the arm64 loader and libc. TestLibraryEnvIgnoredWhenSecure is left out: it runs a setuid copy of
# its test binary, which the kernel must execute itself (make test runs it on amd64). GPUACT_TEST_EXEC
# starts the CPU tests' child processes under qemu too. QEMU_SKIP leaves out, under emulation, the tests
# whose code does not differ by platform and that make test and make test-purego run on amd64: the
# conformance suite on wrapped slices and the exhaustive 16-bit sweep (minutes each under qemu).
QEMU_SKIP = ^TestLibraryEnvIgnoredWhenSecure$$|^TestConformanceWrapped$$|^TestExhaustive16$$
QEMU_ARM64 ?= qemu-aarch64 -L /usr/aarch64-linux-gnu
test-arm64:
	@set -e; mkdir -p build/arm64; for pkg in backend backend/cpu; do \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) test -c -o build/arm64/$$(echo $$pkg | tr / _).test ./$$pkg; \
		echo "linux/arm64 under qemu: ./$$pkg"; \
		(cd $$pkg && GPUACT_TEST_EXEC="$(QEMU_ARM64)" $(QEMU_ARM64) $(CURDIR)/build/arm64/$$(echo $$pkg | tr / _).test -test.count=1 \
			-test.skip '$(QEMU_SKIP)'); done

# The platforms beyond linux/amd64: every one builds and vets (cross), and the tests that differ by
# platform run on linux/arm64 and linux/386 under qemu-user (scripts/setup/qemu-user.sh).
.PHONY: test-platforms
test-platforms: cross test-arm64 test-386

# What CI runs after installing its dependencies (.ci/run).
ci: lint check-generated test test-purego test-platforms fuzz-smoke
	CGO_ENABLED=0 $(GO) build ./...

# Builds the GPU check into build/gpu (CGO_ENABLED=0 test binaries, gpubench, the PyTorch script,
# run.sh); on a machine with an NVIDIA GPU, `bash build/gpu/run.sh` runs it. See the README.
.PHONY: gpu-check
gpu-check:
	bash scripts/gpu-check.sh
