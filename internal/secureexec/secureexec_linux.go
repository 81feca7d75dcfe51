package secureexec

import (
	"encoding/binary"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// atSecure is AT_SECURE's key in the auxiliary vector.
const atSecure = 23

func systemFacts() facts {
	f := facts{}
	f.secure, f.known = auxvSecure(runtimeAuxv, readProcAuxv)
	return ids(f)
}

// runtimeAuxv is the auxiliary vector the Go runtime saved at start (nil where it has none).
func runtimeAuxv() [][2]uintptr {
	v, err := unix.Auxv()
	if err != nil {
		return nil
	}
	return v
}

// readProcAuxv is /proc/self/auxv (nil where it cannot be read: a process that is not dumpable, as a
// secure one is, may not read its own).
func readProcAuxv() [][2]uintptr {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return nil
	}
	return parseAuxv(b, int(unsafe.Sizeof(uintptr(0))))
}

// parseAuxv reads an auxiliary vector in the kernel's format: pairs of native-endian words (key,
// value), ended by AT_NULL.
func parseAuxv(b []byte, word int) [][2]uintptr {
	var v [][2]uintptr
	get := func(p []byte) uintptr {
		if word == 4 {
			return uintptr(binary.NativeEndian.Uint32(p))
		}
		return uintptr(binary.NativeEndian.Uint64(p))
	}
	for ; len(b) >= 2*word; b = b[2*word:] {
		k, val := get(b), get(b[word:])
		if k == 0 { // AT_NULL
			break
		}
		v = append(v, [2]uintptr{k, val})
	}
	return v
}

// auxvSecure reads AT_SECURE from the first source that has an auxiliary vector.
func auxvSecure(sources ...func() [][2]uintptr) (secure, known bool) {
	for _, src := range sources {
		v := src()
		if len(v) == 0 {
			continue
		}
		for _, kv := range v {
			if kv[0] == atSecure {
				return kv[1] != 0, true
			}
		}
		return false, false
	}
	return false, false
}
