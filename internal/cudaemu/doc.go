// Package cudaemu is an emulated CUDA driver for gpuact's tests, so that the CUDA backend runs on every
// commit on machines without a GPU. It is imported only by _test.go files (TestOnlyTestsImportIt checks)
// and is never part of the library.
//
// The driver is C++ (csrc/), built by Build with the system's C++ compiler (no nvcc, no CUDA toolkit) into
// a shared library cached under the user cache directory, keyed by a hash of its sources, and loaded by
// backend/cuda through GPUACT_CUDA_LIBRARY like any libcuda. It exports every driver entry point the
// backend resolves and:
//
//   - hands out device addresses that are not host addresses (a Go-side dereference faults), and checks
//     every pointer and byte range (copies, kernel arguments, frees) against the live allocations:
//     double frees, uses after free, ranges past an allocation, writes past its end, handles of another
//     context, no or the wrong context current on the calling OS thread, and freeing memory that queued
//     work still uses are counted as violations, which the tests assert to be zero;
//   - runs each stream's work in order on a worker thread, no earlier than a delay after it was queued, so
//     a missing synchronisation reads stale data; copies from pageable host memory read it only then;
//     events complete and are timed when the worker reaches them;
//   - accepts only gpuact's fatbin (kernels.CUDAFatbin) in cuModuleLoadData, and runs the real kernels of
//     kernels/activations.cu (kernels.CUDASource, compiled for the host through csrc/cuda_shim.h) with the
//     grid and block the backend chose, reading kernelParams as the driver does: as many as the kernel's
//     C++ signature has parameters, each of its size;
//   - emulates the stream-ordered allocator (each device's default memory pool: cuMemAllocAsync,
//     cuMemFreeAsync, the release threshold, cuMemPoolTrimTo): a freed pointer is dead to new work at
//     once, work of another stream that still uses it at the free is a violation, a freed block is
//     reused (same size only) once its stream has reached the free, and freed memory goes back to the
//     device above the release threshold at synchronisations (csrc/pool.cc says where it is stricter
//     than the driver);
//   - reports at the last release of a primary context every allocation, stream, event and module still
//     live in it (Leaked).
//
// The environment configures it when cuInit runs: GPUACT_CUDAEMU_DEVICES (2), GPUACT_CUDAEMU_NAME,
// GPUACT_CUDAEMU_SMS (4), GPUACT_CUDAEMU_MEMORY (bytes, 1 GiB), GPUACT_CUDAEMU_CC (9.0),
// GPUACT_CUDAEMU_DELAY_US (100: the stream delay), GPUACT_CUDAEMU_KERNEL_DELAY_US (0: extra time per
// kernel), GPUACT_CUDAEMU_POOLS (1; 0: no memory pools, as on a device without them, which
// Emu.SetMemoryPools also sets), and faults: GPUACT_CUDAEMU_FAIL_INIT=code (every cuInit fails with it),
// and GPUACT_CUDAEMU_FAIL_{ALLOC,MODULE,STREAM,EVENT,HOST_ALLOC}=N and GPUACT_CUDAEMU_FAIL_LAUNCH=N[:how]
// (the Nth such call fails; ALLOC counts cuMemAlloc and cuMemAllocAsync), which Emu.Fail also arms at
// run time. A failed allocation, stream, event or pinned block is CUDA_ERROR_OUT_OF_MEMORY, a failed
// module CUDA_ERROR_NO_BINARY_FOR_GPU; a launch fails at the call (CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES), at
// the next synchronisation (CUDA_ERROR_LAUNCH_FAILED, once; a real GPU makes that one sticky), or
// stickily (CUDA_ERROR_ILLEGAL_ADDRESS: every later call in the context fails, until its last release
// destroys it; the calls that release a handle still release it).
//
// Where the driver's documentation leaves room, the emulator takes the reading that exposes a careless
// caller: a pageable source is read late, freeing memory that queued work uses is a violation, and an
// error of asynchronous work is returned only by the synchronising calls (stream, event and context
// synchronisation), once, where a real driver may return it from any later call.
//
// The kernels' results are the GPU's bit for bit: activations.cu writes its arithmetic as explicit IEEE
// operations rounded to nearest (fmaf, __fmul_rn, ...; no libdevice call, no contraction left to the
// compiler, which builds this library with -ffp-contract=off), and the GPU check compares a GPU's output
// with this library's (TestMatchesEmulation in backend/cuda). What it cannot show: timing and speed,
// true parallelism between threads of a launch, and the driver's own behaviour where it is stricter or
// looser than its documentation. The GPU check (scripts/gpu-check.sh) runs the same conformance suite
// on a real GPU for those.
//
// Tests choose the driver in TestMain through Main: GPUACT_CUDA_LIBRARY, when set, names the driver (the
// emulator when that library exports cudaemu_count); otherwise GPUACT_REQUIRE_CUDA=1 (the GPU check)
// means the system's libcuda; otherwise the emulator is built and used (on linux and darwin; elsewhere
// the tests run as they would without it). Tests that need the emulator's controls call Require, which
// skips them, saying why, under another driver.
package cudaemu
