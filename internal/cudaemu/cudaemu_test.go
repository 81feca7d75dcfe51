package cudaemu

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gpuact/gpuact/kernels"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestRegistryMatchesSource: the emulator can run exactly the kernels activations.cu defines, the eight
// variants of every GPUACT_KERNELS(NAME, ...) invocation there. A kernel added to the source but not to
// csrc/kernels.cc (or the other way round) fails here.
func TestRegistryMatchesSource(t *testing.T) {
	e := Require(t)
	var want []string
	for _, m := range regexp.MustCompile(`(?m)^GPUACT_KERNELS\((\w+),`).FindAllStringSubmatch(string(kernels.CUDASource), -1) {
		for _, v := range []string{"f32_vec", "f32_scalar", "f64_vec", "f64_scalar", "f16_vec", "f16_scalar", "bf16_vec", "bf16_scalar"} {
			want = append(want, "gpuact_"+m[1]+"_"+v)
		}
	}
	if len(want) == 0 {
		t.Fatal("no GPUACT_KERNELS invocation found in activations.cu: the pattern above is out of date")
	}
	got := e.KernelNames()
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the emulator runs %v,\nactivations.cu defines %v", got, want)
	}
}

// TestOnlyTestsImportIt: no package of the module imports cudaemu outside its tests, so it can never be
// linked into the library or a command.
func TestOnlyTestsImportIt(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Deps " "}}`, "github.com/gpuact/gpuact/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const self = "github.com/gpuact/gpuact/internal/cudaemu"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ": ")
		if pkg != self && slices.Contains(strings.Fields(deps), self) {
			t.Errorf("%s imports %s outside its tests", pkg, self)
		}
	}
}
