package winlib

import "testing"

func TestFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		want uintptr
	}{
		{"nvcuda.dll", searchSystem32},
		{"OpenCL.dll", searchSystem32},
		{"OpenCL", searchSystem32},
		{`C:\drivers\nvcuda.dll`, searchDLLLoadDir | searchSystem32},
		{`.\OpenCL.dll`, searchDLLLoadDir | searchSystem32},
		{"lib/OpenCL.dll", searchDLLLoadDir | searchSystem32},
		{`\\server\share\OpenCL.dll`, searchDLLLoadDir | searchSystem32},
	} {
		if got := flags(c.name); got != c.want {
			t.Errorf("flags(%q) = %#x, want %#x", c.name, got, c.want)
		}
		// The DLL search path (flags 0, or LOAD_WITH_ALTERED_SEARCH_PATH) is never used.
		if flags(c.name)&searchSystem32 == 0 {
			t.Errorf("flags(%q) = %#x: the system directory is not searched", c.name, flags(c.name))
		}
	}
}
