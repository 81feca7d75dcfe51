package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
)

// runTorch runs the torch script once (one round) with the same sizes, dtypes and timing as gpuact's
// side and reads its rows. cmd runs under sh, so it may set the environment first, as
// `make bench-vs-torch BENCH_TORCH_CAPABILITY=avx512` does (ATEN_CPU_CAPABILITY=avx512 python3 ...).
func runTorch(cmd, sizes, dtypes string, tm timing) Doc {
	f, err := os.CreateTemp("", "torch-*.json")
	if err != nil {
		log.Fatal(err)
	}
	f.Close()
	defer os.Remove(f.Name())
	budget := strconv.FormatFloat(tm.budget.Seconds(), 'g', -1, 64)
	c := exec.Command("sh", "-c", fmt.Sprintf("%s -sizes %s -dtypes %s -reps %d -row-budget %s -o %s", cmd, sizes, dtypes, tm.reps, budget, f.Name()))
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		log.Fatalf("%s: %v", cmd, err)
	}
	return readDoc(f.Name())
}
