# gpuact's tasks. `make test` is the test command of the README and of CI.
GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

PYTHON ?= /usr/bin/python3
BENCH_SIZES ?= 4096,16777216

.PHONY: test test-cover test-purego bench bench-vs-torch generate check-generated lint ci

# The whole suite with the race detector. OpenCL tests skip with a message where no OpenCL runtime is
# installed; set GPUACT_REQUIRE_OPENCL=1 to make that a failure (CI does). The CUDA tests run on an
# emulated driver that they build with the C++ compiler (internal/cudaemu); GPUACT_REQUIRE_CUDA=1 runs
# them on the machine's GPU instead, GPUACT_CUDA_LIBRARY=none skips them.
test:
	$(GO) test -race -count=1 ./...

# make test, also printing the statement coverage of the CUDA packages and failing below COVER_MIN
# percent: CI runs this in place of make test (the same tests, run once).
COVER_PKGS := ./backend/cuda ./backend/cuda/internal/cu
COVER_MIN ?= 85
test-cover:
	mkdir -p build
	$(GO) test -race -count=1 -coverpkg=$(shell echo $(COVER_PKGS) | tr ' ' ,) -coverprofile=build/cover.out ./...
	bash scripts/coverage.sh build/cover.out $(COVER_MIN) $(COVER_PKGS)

# The whole suite with every assembly kernel turned off (the plain Go loops everywhere).
test-purego:
	$(GO) test -tags purego -count=1 ./...

# Benchmarks of the CPU backend against copy() in the same run; gpubench for the whole sweep.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 0.5s ./backend/...

# gpuact's CPU backend and PyTorch's CPU ops (bench/torch_cpu.py) on the same sizes, in alternating
# rounds, then a table of per-pass ratios and shares of copy() bandwidth (medians over the rounds).
# The median JSON rows land in bench/out/.
BENCH_ROUNDS ?= 3
bench-vs-torch:
	mkdir -p bench/out
	$(GO) run ./bench/cpubench -sizes $(BENCH_SIZES) -rounds $(BENCH_ROUNDS) -reps 9 \
		-torch-cmd "$(PYTHON) bench/torch_cpu.py" -o bench/out/gpuact.json -torch-out bench/out/torch.json

# Regenerates every generated file (see each generator's header). generate-asm: the CPU kernels, from
# backend/cpu/_asm (avo, its own module; needs only the module proxy). generate-cuda: the CUDA fatbin,
# its resource report and hashes, and the CUresult names (needs nvcc and cuda.h: CUDA 11.8 from
# ../shared/setup/cuda-toolkit.sh).
.PHONY: generate-asm generate-cuda
generate: generate-asm generate-cuda
generate-asm:
	$(GO) generate ./backend/cpu/...
generate-cuda:
	$(GO) generate ./kernels/... ./backend/cuda/...

# Fails when a generated file differs from what its generator makes now, or a generator made a file
# (one whose header says DO NOT EDIT) that is not committed. CI has no CUDA toolkit, so it regenerates
# the assembly; the fatbin is guarded by kernels' TestFatbinMatchesSource instead.
check-generated: generate-asm
	git diff --exit-code
	@out=$$(git ls-files --others --exclude-standard -z | xargs -0 -r grep -l "DO NOT EDIT" --); if [ -n "$$out" ]; then echo "generated files not committed:"; echo "$$out"; exit 1; fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# What CI runs after installing its dependencies (.ci/run).
ci: lint check-generated test-cover test-purego
	CGO_ENABLED=0 $(GO) build ./...

# Builds the GPU check into build/gpu (CGO_ENABLED=0 test binaries, gpubench, the PyTorch script,
# run.sh); on a machine with an NVIDIA GPU, `bash build/gpu/run.sh` runs it. See the README.
.PHONY: gpu-check
gpu-check:
	bash scripts/gpu-check.sh
