package main

import (
	"strconv"

	"github.com/gpuact/gpuact/backend"
)

// defaultCacheBytes is assumed when a device does not say how large its last cache is.
const defaultCacheBytes = 64 << 20

// device is one opened backend and what gpubench derived from its Info.
type device struct {
	b     backend.Backend
	info  backend.Info
	timer backend.Timer // nil where the backend cannot time its own work
	// async: calls return before the device has finished (every platform but the native CPU).
	async bool
	// cache is the size of the cache to defeat (0: no rotation) and cacheFrom says where it came from.
	cache     int64
	cacheFrom string
	// peakGBps is the theoretical memory bandwidth from the Detail keys, 0 where unknown.
	peakGBps float64
}

func newDevice(b backend.Backend, cacheFlag int64, llc func() (int64, bool)) *device {
	d := &device{b: b, info: b.Info()}
	d.timer, _ = b.(backend.Timer)
	d.async = d.info.Platform != backend.PlatformCPU
	switch v, err := strconv.ParseInt(d.info.Details[backend.DetailCacheBytes], 10, 64); {
	case cacheFlag >= 0:
		d.cache, d.cacheFrom = cacheFlag, "-cache"
	case err == nil && v > 0:
		d.cache, d.cacheFrom = v, "device"
	default:
		d.cache, d.cacheFrom = defaultCacheBytes, "default"
		if d.info.Type == backend.DeviceCPU {
			if v, ok := llc(); ok {
				d.cache, d.cacheFrom = v, "sysfs LLC"
			}
		}
	}
	d.peakGBps = peakGBps(d.info.Details)
	return d
}

// peakGBps is the theoretical memory bandwidth: 2 (double data rate) × memory clock × bus width / 8, in
// GB/s; 0 when the device does not report both.
func peakGBps(details map[string]string) float64 {
	khz, err1 := strconv.ParseFloat(details[backend.DetailMemoryClockKHz], 64)
	bits, err2 := strconv.ParseFloat(details[backend.DetailMemoryBusBits], 64)
	if err1 != nil || err2 != nil || khz <= 0 || bits <= 0 {
		return 0
	}
	return 2 * khz * 1e3 * bits / 8 / 1e9
}
