package secureexec

import (
	"encoding/binary"
	"testing"
)

// auxvBytes writes pairs in the kernel's format with the given word size, ended by AT_NULL.
func auxvBytes(word int, pairs ...[2]uint64) []byte {
	var b []byte
	put := func(v uint64) {
		if word == 4 {
			b = binary.NativeEndian.AppendUint32(b, uint32(v))
		} else {
			b = binary.NativeEndian.AppendUint64(b, v)
		}
	}
	for _, p := range append(pairs, [2]uint64{0, 0}) {
		put(p[0])
		put(p[1])
	}
	return b
}

func TestAuxv(t *testing.T) {
	const atPagesz, atUID = 6, 11
	for _, word := range []int{4, 8} {
		for _, c := range []struct {
			name          string
			pairs         [][2]uint64
			secure, known bool
		}{
			{"AT_SECURE=1", [][2]uint64{{atPagesz, 4096}, {atUID, 1000}, {atSecure, 1}}, true, true},
			{"AT_SECURE=0", [][2]uint64{{atPagesz, 4096}, {atSecure, 0}, {atUID, 0}}, false, true},
			{"no AT_SECURE", [][2]uint64{{atPagesz, 4096}}, false, false},
			{"AT_SECURE after AT_NULL is not read", nil, false, false},
		} {
			b := auxvBytes(word, c.pairs...)
			if c.pairs == nil {
				b = append(auxvBytes(word), auxvBytes(word, [2]uint64{atSecure, 1})...)
			}
			v := parseAuxv(b, word)
			secure, known := auxvSecure(func() [][2]uintptr { return v })
			if secure != c.secure || known != c.known {
				t.Errorf("word %d, %s: parsed %v: secure %v known %v, want %v %v", word, c.name, v, secure, known, c.secure, c.known)
			}
			if secure && !decide(facts{secure: secure, known: known}) {
				t.Errorf("word %d, %s: AT_SECURE set but decide says ordinary", word, c.name)
			}
		}
	}
	// A truncated vector stops at the last whole pair.
	if v := parseAuxv(auxvBytes(8, [2]uint64{atSecure, 1})[:20], 8); len(v) != 1 || v[0] != [2]uintptr{atSecure, 1} {
		t.Errorf("truncated vector parsed as %v", v)
	}
	// The first source with a vector decides; an empty one is skipped.
	empty := func() [][2]uintptr { return nil }
	set := func() [][2]uintptr { return [][2]uintptr{{atSecure, 1}} }
	unset := func() [][2]uintptr { return [][2]uintptr{{atSecure, 0}} }
	if s, k := auxvSecure(empty, set); !s || !k {
		t.Error("empty runtime vector: /proc/self/auxv's AT_SECURE=1 not used")
	}
	if s, k := auxvSecure(unset, set); s || !k {
		t.Error("the runtime's vector did not take precedence")
	}
	if _, k := auxvSecure(empty, empty); k {
		t.Error("no vector at all, yet AT_SECURE known")
	}
}

// TestRealAuxv: this process's vectors, from the runtime and from /proc, both say AT_SECURE=0.
func TestRealAuxv(t *testing.T) {
	for name, src := range map[string]func() [][2]uintptr{"runtime": runtimeAuxv, "/proc/self/auxv": readProcAuxv} {
		v := src()
		if len(v) == 0 {
			t.Errorf("%s: no auxiliary vector", name)
			continue
		}
		secure, known := auxvSecure(func() [][2]uintptr { return v })
		if !known || secure {
			t.Errorf("%s: AT_SECURE secure=%v known=%v, want 0 in a test process", name, secure, known)
		}
	}
}
