package main

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"slices"
)

// Doc and Row are the JSON schema shared with bench/torch_cpu.py and gpubench -compare. gpubench reads
// only tool, date, host and rows (and in each row backend, pass, activation, dtype, n, median_ns and
// gbps), so the fields after Rows are additions that it ignores: they say where and how the rows were
// measured, which the ratios mean nothing without.
type Doc struct {
	Tool string `json:"tool"`
	Date string `json:"date"`
	Host string `json:"host"`
	Rows []Row  `json:"rows"`

	CPU        *CPU    `json:"cpu,omitempty"`        // the processor both sides ran on (cpubench fills it in for both)
	GOMAXPROCS int     `json:"gomaxprocs,omitempty"` // gpuact's document
	Go         string  `json:"go,omitempty"`         // gpuact's: Go version, OS/arch
	Torch      *Torch  `json:"torch,omitempty"`      // torch's document: written by bench/torch_cpu.py
	Method     *Method `json:"method,omitempty"`     // how each number was taken
}

type Row struct {
	Backend    string  `json:"backend"`
	Pass       string  `json:"pass"`
	Activation string  `json:"activation"`
	DType      string  `json:"dtype"`
	N          int     `json:"n"`
	MedianNS   int64   `json:"median_ns"`
	GBps       float64 `json:"gbps"`
	Op         string  `json:"op,omitempty"` // torch: the aten op timed
}

// CPU is the processor, from /proc/cpuinfo (see machine.go).
type CPU struct {
	Model       string   `json:"model"`                  // "model name"
	Family      int      `json:"family,omitempty"`       // "cpu family"
	ModelNumber int      `json:"model_number,omitempty"` // "model"
	SIMD        []string `json:"simd"`                   // the flags of simdFlags it has, in that order
	CPUs        int      `json:"cpus"`                   // logical CPUs the OS gives this process
}

// Torch is what bench/torch_cpu.py records of the PyTorch it timed. Capability is the kernel set
// PyTorch's dispatcher picked (AVX2, AVX512, ... or DEFAULT, the plain C++ build); CapabilityEnv is
// ATEN_CPU_CAPABILITY as the script saw it (null: unset, torch chose by itself).
type Torch struct {
	Version          string  `json:"version"`
	Threads          int     `json:"threads"`
	Capability       string  `json:"capability"`
	CapabilitySource string  `json:"capability_source,omitempty"` // where Capability was read
	CapabilityEnv    *string `json:"capability_env"`
}

// Method is how the numbers were taken: each row of a round is the median of up to Reps timings of a
// batch of about BatchS seconds of calls; where one call is long, fewer timings (never under MinReps)
// so that a row costs about RowBudgetS; each reported number is the median over Rounds rounds.
type Method struct {
	Rounds     int     `json:"rounds,omitempty"` // cpubench's: the torch script sees one round
	Reps       int     `json:"reps"`
	MinReps    int     `json:"min_reps"`
	BatchS     float64 `json:"batch_s"`
	RowBudgetS float64 `json:"row_budget_s"`
}

func rowKey(r Row) string { return fmt.Sprintf("%s/%s/%s/%d", r.Pass, r.Activation, r.DType, r.N) }

// mergeDocs returns the first document with each row's time the median over all documents (the
// rounds); GB/s follows the time.
func mergeDocs(docs []Doc) Doc {
	times := map[string][]int64{}
	for _, d := range docs {
		for _, r := range d.Rows {
			times[rowKey(r)] = append(times[rowKey(r)], r.MedianNS)
		}
	}
	out := docs[0]
	out.Rows = slices.Clone(out.Rows)
	for i, r := range out.Rows {
		ts := times[rowKey(r)]
		slices.Sort(ts)
		m := ts[len(ts)/2]
		out.Rows[i].GBps = round2(r.GBps * float64(r.MedianNS) / float64(m))
		out.Rows[i].MedianNS = m
	}
	return out
}

func readDoc(path string) Doc {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	var d Doc
	if err := json.Unmarshal(data, &d); err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	return d
}

func writeDoc(path string, d Doc) {
	data, _ := json.MarshalIndent(d, "", " ")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}
