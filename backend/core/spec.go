package core

import (
	"fmt"
	"strconv"
	"strings"
)

// Spec names a backend and, optionally, a device: what GPUACT_BACKEND and Open accept.
//
//	cpu            the native CPU backend
//	cuda           the first usable CUDA device;  cuda:N  device N
//	opencl         the first usable OpenCL GPU or accelerator, else the first OpenCL device of any type;
//	opencl:P       the first usable device of platform P;  opencl:P:D  device D of platform P
type Spec struct {
	Platform Platform
	// Index holds the numbers after the platform name: none, [N] for cuda, [P] or [P D] for opencl.
	Index []int
}

// ParseSpec parses a backend spec; a malformed one gives ErrBadSpec with the accepted forms.
func ParseSpec(s string) (Spec, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), ":")
	bad := func(why string) (Spec, error) {
		return Spec{}, Errorf(ErrBadSpec, "", "ParseSpec", "", "%q: %s (want cpu, cuda, cuda:N, opencl, opencl:P or opencl:P:D)", s, why)
	}
	var sp Spec
	maxIdx := 0
	switch parts[0] {
	case "cpu":
		sp.Platform = PlatformCPU
	case "cuda":
		sp.Platform, maxIdx = PlatformCUDA, 1
	case "opencl":
		sp.Platform, maxIdx = PlatformOpenCL, 2
	default:
		return bad("unknown backend " + strconv.Quote(parts[0]))
	}
	if len(parts)-1 > maxIdx {
		return bad(fmt.Sprintf("%s takes at most %d indices", parts[0], maxIdx))
	}
	for _, p := range parts[1:] {
		i, err := strconv.Atoi(p)
		if err != nil || i < 0 || p != strconv.Itoa(i) {
			return bad(fmt.Sprintf("index %q is not a non-negative integer", p))
		}
		sp.Index = append(sp.Index, i)
	}
	return sp, nil
}

func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(s.Platform.String())
	for _, i := range s.Index {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}
