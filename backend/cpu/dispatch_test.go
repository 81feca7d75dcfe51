package cpu

import "testing"

// TestDisableTakesExtensions: GPUACT_CPU_DISABLE naming a level disables the levels built on it
// ("avx512" takes "avx512bf16" along), and naming the extension alone falls back to its base.
func TestDisableTakesExtensions(t *testing.T) {
	defer func(d map[string]bool) { disabled = d }(disabled)
	checked := 0
	for _, im := range implementations {
		if im.builtOn == "" {
			continue
		}
		checked++
		disabled = parseDisable(im.builtOn)
		if got := dispatch(); got == im || got.name == im.builtOn {
			t.Errorf("GPUACT_CPU_DISABLE=%s dispatches %s", im.builtOn, got.name)
		}
		disabled = parseDisable(im.name)
		if got := dispatch(); got.name != im.builtOn {
			t.Errorf("GPUACT_CPU_DISABLE=%s dispatches %s, want %s", im.name, got.name, im.builtOn)
		}
	}
	if checked == 0 {
		t.Skipf("no implementation here extends another (have %v)", Implementations())
	}
}
