package cpu

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// machine describes the host, read once.
var machine = readMachine()

type machineInfo struct {
	model, vendor string
	totalMemory   int64
}

func readMachine() machineInfo {
	m := machineInfo{model: runtime.GOARCH + " CPU", vendor: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() && s.Text() != "" { // the first processor's block is enough
			k, v, ok := strings.Cut(s.Text(), ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name", "Model", "cpu model":
				m.model = strings.TrimSpace(v)
			case "vendor_id", "vendor", "CPU implementer":
				m.vendor = strings.TrimSpace(v)
			}
		}
	}
	m.totalMemory = totalMemory()
	return m
}
