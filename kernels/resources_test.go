package kernels

import (
	_ "embed"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

//go:embed activations.resources.txt
var resources string

// TestFloat32KernelsUseNoFP64 reads activations.resources.txt (gen_cuda.sh: ptxas and cuobjdump -sass of the
// fatbin) and fails when a float32, float16 or bfloat16 kernel (or its one-element probe) runs an
// instruction on the FP64 pipe on sm_80 or sm_90, or when the report lacks a kernel of activations.cu
// there: float32 arithmetic (the 16-bit kernels' too, SEMANTICS §1.6) must stay in float32, which most
// GPUs run 32 to 64 times faster than float64.
func TestFloat32KernelsUseNoFP64(t *testing.T) {
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^GPUACT_KERNELS\((\w+),`).FindAllStringSubmatch(string(CUDASource), -1) {
		for _, dt := range []string{"f32", "f16", "bf16"} {
			names = append(names, "gpuact_"+m[1]+"_"+dt+"_vec", "gpuact_"+m[1]+"_"+dt+"_scalar", "probe_"+m[1]+"_"+dt)
		}
	}
	if len(names) == 0 {
		t.Fatal("no GPUACT_KERNELS invocation found in activations.cu: the pattern above is out of date")
	}
	line := regexp.MustCompile(`^(\w+)\s+(?:\d+ regs .*\s)?(\d+) instr\s+(\d+) fp32\s+(\d+) fp64$`)
	arch := ""
	seen := map[string]bool{}
	for _, l := range strings.Split(resources, "\n") {
		if strings.HasPrefix(l, "## ") {
			arch = strings.TrimSuffix(strings.Fields(l)[1], ":")
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		seen[arch+" "+m[1]] = true
		if fp64, _ := strconv.Atoi(m[4]); fp64 != 0 && !strings.HasSuffix(m[1], "_f64") && !strings.Contains(m[1], "_f64_") {
			t.Errorf("%s on %s runs %d FP64 instructions (activations.resources.txt)", m[1], arch, fp64)
		}
	}
	for _, a := range []string{"sm_80", "sm_90"} {
		for _, n := range names {
			if !seen[a+" "+n] {
				t.Errorf("activations.resources.txt has no instruction counts for %s on %s: run make generate", n, a)
			}
		}
	}
}
