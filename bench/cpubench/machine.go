package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// simdFlags are the /proc/cpuinfo flags that decide which kernels either side can run: gpuact's
// assembly needs avx2+fma (f16c for float16), and PyTorch's AVX512 kernels need avx512f/dq/bw/vl.
// Flags starting with "amx" are kept too (after these, sorted): Intel's matrix units.
var simdFlags = []string{"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw",
	"avx512vl", "avx512_bf16", "avx512_fp16"}

// machineCPU describes this machine's processor from /proc/cpuinfo; elsewhere (no such file) only
// the CPU count is known.
func machineCPU() *CPU {
	c := &CPU{CPUs: runtime.NumCPU(), SIMD: []string{}}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		c.Model = runtime.GOOS + "/" + runtime.GOARCH + " (no /proc/cpuinfo)"
		return c
	}
	defer f.Close()
	parseCPUInfo(f, c)
	return c
}

// parseCPUInfo fills c from the first processor's block of a /proc/cpuinfo (every core of a machine
// reports the same model and flags).
func parseCPUInfo(r io.Reader, c *CPU) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20) // the flags line is long
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" && c.Model != "" {
			break // the end of the first processor's block
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name":
			c.Model = v
		case "cpu family":
			c.Family, _ = strconv.Atoi(v)
		case "model":
			c.ModelNumber, _ = strconv.Atoi(v)
		case "flags":
			have := strings.Fields(v)
			for _, f := range simdFlags {
				if slices.Contains(have, f) {
					c.SIMD = append(c.SIMD, f)
				}
			}
			var amx []string
			for _, f := range have {
				if strings.HasPrefix(f, "amx") {
					amx = append(amx, f)
				}
			}
			slices.Sort(amx)
			c.SIMD = append(c.SIMD, amx...)
		}
	}
}

// String is the processor in one line, for the printed header and the plot's title.
func (c *CPU) String() string {
	if c == nil {
		return "unknown CPU"
	}
	s := c.Model
	if c.Family != 0 || c.ModelNumber != 0 {
		s += fmt.Sprintf(" (family %d, model %d)", c.Family, c.ModelNumber)
	}
	simd := "none of " + strings.Join(simdFlags, " ")
	if len(c.SIMD) > 0 {
		simd = strings.Join(c.SIMD, " ")
	}
	return fmt.Sprintf("%s, %d CPUs; SIMD: %s", s, c.CPUs, simd)
}

// String is torch's side in one line: version, threads and the kernels it dispatched to, with
// ATEN_CPU_CAPABILITY as set.
func (t *Torch) String() string {
	if t == nil {
		return "torch (the JSON records no version, threads or capability)"
	}
	env := "ATEN_CPU_CAPABILITY unset"
	if t.CapabilityEnv != nil {
		env = "ATEN_CPU_CAPABILITY=" + *t.CapabilityEnv
	}
	return fmt.Sprintf("torch %s, %d threads, CPU capability %s (%s)", t.Version, t.Threads, t.Capability, env)
}

func goVersion() string { return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH }

func hostname() string {
	h, _ := os.Hostname()
	return h
}
