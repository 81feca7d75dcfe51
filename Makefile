# gpuact's tasks. `make test` is the test command of the README and of CI.
GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

PYTHON ?= /usr/bin/python3
BENCH_SIZES ?= 4096,16777216

.PHONY: test test-purego bench bench-vs-torch generate check-generated lint ci

# The whole suite with the race detector. OpenCL tests skip with a message where no OpenCL runtime is
# installed; set GPUACT_REQUIRE_OPENCL=1 to make that a failure (CI does).
test:
	$(GO) test -race -count=1 ./...

# The whole suite with every assembly kernel turned off (the plain Go loops everywhere).
test-purego:
	$(GO) test -tags purego -count=1 ./...

# The CPU backend's tests as a 32-bit program (linux/386): Alloc against a 4 GiB address space. Runs
# natively where the kernel runs 32-bit programs, else under qemu-i386 (apt-get install qemu-user);
# about 2.5 minutes emulated on 2 cores. See scripts/test-386.sh.
.PHONY: test-386
test-386:
	bash scripts/test-386.sh

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
ci: lint check-generated test test-purego
	CGO_ENABLED=0 $(GO) build ./...

# Builds the GPU check into build/gpu (CGO_ENABLED=0 test binaries, gpubench, the PyTorch script,
# run.sh); on a machine with an NVIDIA GPU, `bash build/gpu/run.sh` runs it. See the README.
.PHONY: gpu-check
gpu-check:
	bash scripts/gpu-check.sh
