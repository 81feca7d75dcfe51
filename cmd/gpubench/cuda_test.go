package main

import (
	"os"
	"strings"
	"testing"

	"github.com/gpuact/gpuact/internal/cudaemu"
)

// The tests run with the emulated CUDA driver (internal/cudaemu) unless GPUACT_CUDA_LIBRARY or
// GPUACT_REQUIRE_CUDA names another, so that gpubench's CUDA path runs end to end without a GPU.
func TestMain(m *testing.M) { os.Exit(cudaemu.Main(m)) }

// TestCUDA runs gpubench on cuda:0 end to end at small sizes: every pass, activation and dtype, timed
// with CUDA events, each row checked against the CPU oracle, the device-to-device copy as the roofline.
func TestCUDA(t *testing.T) {
	cudaemu.Require(t)
	r := runTest(t, args("-backend", "cuda:0", "-format", "json")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	rep := decodeJSON(t, r.stdout)
	if len(rep.Devices) != 1 || rep.Devices[0].Backend != "cuda:0" || !rep.Devices[0].Timer || !strings.Contains(rep.Devices[0].Name, "cudaemu") {
		t.Errorf("devices %+v, want cuda:0 of the emulated driver, with a timer", rep.Devices)
	}
	// 2 sizes × 3 activations × 3 passes × 4 dtypes, and a copy per size and dtype.
	if len(rep.Rows) != 72 || len(rep.Copy) != 8 || rep.Mismatches != 0 || len(rep.Errors) != 0 {
		t.Fatalf("%d rows, %d copy rows, %d mismatches, errors %q; want 72, 8, 0, none", len(rep.Rows), len(rep.Copy), rep.Mismatches, rep.Errors)
	}
	for _, row := range rep.Rows {
		if row.Backend != "cuda:0" || row.Timing != "kernel" || row.KernelNs <= 0 || row.EnqueueNs <= 0 || row.OK == nil || !*row.OK {
			t.Errorf("row %+v: want kernel timing, checked against the oracle", row)
		}
	}
}
