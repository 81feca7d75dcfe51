package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sysCPUCache is where Linux describes the first CPU's caches.
const sysCPUCache = "/sys/devices/system/cpu/cpu0/cache"

// lastLevelCache reads the size of the highest-level data or unified cache under dir (a sysfs
// cpuN/cache directory); ok is false where there is none (not Linux, a container hiding sysfs).
func lastLevelCache(dir string) (size int64, ok bool) {
	idx, _ := filepath.Glob(filepath.Join(dir, "index*"))
	level := -1
	for _, d := range idx {
		read := func(name string) string {
			b, _ := os.ReadFile(filepath.Join(d, name))
			return strings.TrimSpace(string(b))
		}
		if t := read("type"); t != "Data" && t != "Unified" {
			continue
		}
		l, err1 := strconv.Atoi(read("level"))
		s, err2 := parseBytes(read("size"))
		if err1 != nil || err2 != nil || s <= 0 || l < level {
			continue
		}
		if l > level || s > size {
			level, size = l, s
		}
	}
	return size, level >= 0
}

// parseBytes reads a size: a number of bytes with an optional suffix K, M, G (powers of 1024, as sysfs
// writes them), KiB, MiB, GiB, or KB, MB, GB (powers of 1000).
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("size %q: want bytes, optionally with K, M, G, KiB, MiB, GiB, KB, MB or GB", s)
	}
	return int64(v * float64(mult)), nil
}
