package main

import (
	"bytes"
	"testing"
)

// TestEncodeCVTNE2PS2BF16 checks the encoder against `objdump -D -b binary -m i386:x86-64` (binutils
// 2.40) of these bytes: "vcvtne2ps2bf16 %zmm<src2>,%zmm<src1>,%zmm<dst>" for each case.
func TestEncodeCVTNE2PS2BF16(t *testing.T) {
	for _, c := range []struct {
		dst, src1, src2 int
		want            []byte
	}{
		{0, 1, 2, []byte{0x62, 0xf2, 0x77, 0x48, 0x72, 0xc2}},
		{8, 9, 10, []byte{0x62, 0x52, 0x37, 0x48, 0x72, 0xc2}},
		{16, 17, 18, []byte{0x62, 0xa2, 0x77, 0x40, 0x72, 0xc2}},
		{31, 30, 29, []byte{0x62, 0x02, 0x0f, 0x40, 0x72, 0xfd}},
		{5, 20, 12, []byte{0x62, 0xd2, 0x5f, 0x40, 0x72, 0xec}},
		{24, 3, 19, []byte{0x62, 0x22, 0x67, 0x48, 0x72, 0xc3}},
	} {
		if got := evexCVTNE2PS2BF16(c.dst, c.src1, c.src2); !bytes.Equal(got, c.want) {
			t.Errorf("VCVTNE2PS2BF16 Z%d, Z%d, Z%d: % x, want % x", c.src2, c.src1, c.dst, got, c.want)
		}
	}
}
