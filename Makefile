# gpuact's tasks. `make test` is the test command of the README and of CI.
GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test bench generate lint ci

# The whole suite with the race detector. OpenCL tests skip with a message where no OpenCL runtime is
# installed; set GPUACT_REQUIRE_OPENCL=1 to make that a failure (CI does).
test:
	$(GO) test -race -count=1 ./...

# Benchmarks of the CPU backend against copy() in the same run; gpubench for the whole sweep.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 0.5s ./backend/...

# Regenerates every generated file (see each generator's header).
generate:
	$(GO) generate ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# What CI runs after installing its dependencies (.ci/run).
ci: lint test
	CGO_ENABLED=0 $(GO) build ./...

# Builds the GPU check into build/gpu (CGO_ENABLED=0 test binaries, gpubench, the PyTorch script,
# run.sh); on a machine with an NVIDIA GPU, `bash build/gpu/run.sh` runs it. See the README.
.PHONY: gpu-check
gpu-check:
	bash scripts/gpu-check.sh
