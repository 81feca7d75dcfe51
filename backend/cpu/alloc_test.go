package cpu_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/cpu"
	"github.com/gpuact/gpuact/backend/formula"
)

// allocChildEnv names the case a child process of TestAllocTooLarge runs (see TestMain).
const allocChildEnv = "GPUACT_CPU_ALLOC_CHILD"

// testExecEnv holds a command that runs this package's test binary where the kernel cannot run it
// directly (make test-386 sets it to qemu-i386 on kernels without 32-bit support); children started by
// the tests go through it too.
const testExecEnv = "GPUACT_TEST_EXEC"

// TestMain runs the case of TestAllocTooLarge named in allocChildEnv when this binary is its child.
func TestMain(m *testing.M) {
	if c := os.Getenv(allocChildEnv); c != "" {
		if err := allocChild(c); err != nil {
			fmt.Println("child failed:", err)
			os.Exit(1)
		}
		fmt.Println("child ok")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestAllocTooLarge: an allocation the machine cannot hold returns ErrOutOfMemory and leaves the backend
// working, where Go's make() would stop the process ("fatal error: runtime: out of memory") or panic
// ("makeslice: len out of range"). Each case runs in a child process, so a regression fails this test
// instead of killing the test binary.
func TestAllocTooLarge(t *testing.T) {
	t.Run("AvailableUnknown", func(t *testing.T) {
		// What every non-Linux system did (no figure at all), and Linux without MemAvailable.
		runAllocChild(t, "available-unknown")
	})
	t.Run("NoFigures", func(t *testing.T) {
		// No memory figure at all: only the system's refusal of the mapping stands between Alloc and
		// the fatal error.
		if runtime.GOOS != "linux" {
			t.Skipf("needs Linux's overcommit policy to refuse a 64 TiB mapping; %s may grant it lazily", runtime.GOOS)
		}
		if b, _ := os.ReadFile("/proc/sys/vm/overcommit_memory"); strings.TrimSpace(string(b)) == "1" {
			t.Skip("vm.overcommit_memory = 1: the kernel grants any mapping, so no size is refused")
		}
		runAllocChild(t, "no-figures")
	})
	t.Run("AddressSpace", func(t *testing.T) {
		// The address space runs out before memory does (a 32-bit process, or RLIMIT_AS as here):
		// two allocations of 3 GiB under a limit of 4 GiB more than the process has mapped.
		switch {
		case strconv.IntSize == 32:
			t.Skip("32-bit: the case 32-bit checks the real address space")
		case runtime.GOOS != "linux":
			t.Skip("limits the address space with Linux's RLIMIT_AS")
		case raceEnabled:
			t.Skip("the race detector's shadow memory does not fit under an RLIMIT_AS (make test-purego runs this)")
		case os.Getenv(testExecEnv) != "":
			t.Skip("under an emulator RLIMIT_AS limits the emulator's own address space, not the program's (make test-purego runs this)")
		}
		runAllocChild(t, "address-space")
	})
	t.Run("32-bit", func(t *testing.T) {
		if strconv.IntSize != 32 {
			t.Skip("for 32-bit platforms (make test-386)")
		}
		runAllocChild(t, "32-bit")
	})
}

func runAllocChild(t *testing.T, c string) {
	t.Helper()
	args := append(strings.Fields(os.Getenv(testExecEnv)), os.Args[0], "-test.run=^$")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), allocChildEnv+"="+c)
	emulated := os.Getenv(testExecEnv) != ""
	if emulated {
		ignoreChildExit()
	}
	out, err := cmd.CombinedOutput()
	if emulated && childReaped(err) {
		err = nil // the verdict is the child's output alone
	}
	// "child ok" is printed last by a child whose checks passed (a coverage build may add a line).
	if err != nil || !slices.Contains(strings.Split(string(out), "\n"), "child ok") {
		t.Fatalf("child %q: %v\n%s", c, err, out)
	}
	t.Logf("child %q:\n%s", c, out)
}

// allocChild runs one case of TestAllocTooLarge in this (child) process.
func allocChild(c string) error {
	b := cpu.New()
	defer b.Close()
	huge := int(min(int64(1)<<44, math.MaxInt)) // 64 TiB of float32 on 64-bit platforms
	switch c {
	case "available-unknown":
		_, total := cpu.MemoryFigures()
		defer cpu.SetMemoryFigures(0, total)()
		for _, dt := range formula.DTypes {
			if err := wantOutOfMemory(b, dt, huge); err != nil {
				return err
			}
		}
	case "no-figures":
		defer cpu.SetMemoryFigures(0, 0)()
		if err := wantOutOfMemory(b, formula.Float32, huge); err != nil {
			return err
		}
	case "address-space":
		if err := limitAddressSpace(4<<30 + 256<<20); err != nil {
			return err
		}
		if err := twoOf3GiB(b); err != nil {
			return err
		}
	case "32-bit":
		if err := wantOutOfMemory(b, formula.Float64, math.MaxInt); err != nil {
			return err
		}
		if err := wantOutOfMemory(b, formula.Float32, 1<<30); err != nil {
			return err
		}
		if err := twoOf3GiB(b); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown case %q", c)
	}
	return checkWorks(b)
}

func wantOutOfMemory(b core.Backend, dt formula.DType, n int) error {
	buf, err := b.Alloc(dt, n)
	if err == nil {
		b.Free(buf)
		return fmt.Errorf("Alloc(%s, %d) succeeded, want ErrOutOfMemory", dt, n)
	}
	if !errors.Is(err, core.ErrOutOfMemory) {
		return fmt.Errorf("Alloc(%s, %d): %v, want ErrOutOfMemory", dt, n, err)
	}
	fmt.Printf("Alloc(%s, %d): %v\n", dt, n, err)
	return nil
}

// twoOf3GiB allocates 3 GiB of float32 twice where the address space holds at most one: the first may
// succeed, the second must return ErrOutOfMemory.
func twoOf3GiB(b core.Backend) error {
	const n = 3 << 28
	var bufs []core.Buffer
	defer func() {
		for _, buf := range bufs {
			b.Free(buf)
		}
	}()
	for i := range 2 {
		buf, err := b.Alloc(formula.Float32, n)
		fmt.Printf("Alloc #%d of %d float32: %v\n", i+1, n, err)
		if err == nil {
			bufs = append(bufs, buf)
		} else if !errors.Is(err, core.ErrOutOfMemory) {
			return fmt.Errorf("Alloc #%d of %d float32: %v, want ErrOutOfMemory", i+1, n, err)
		}
	}
	if len(bufs) == 2 {
		return errors.New("both allocations of 3 GiB succeeded: the case does not test what it should")
	}
	return nil
}

// checkWorks runs a pass on a small buffer and checks the result: a refused allocation must leave the
// backend working.
func checkWorks(b core.Backend) error {
	x, err := b.Alloc(formula.Float32, 1000)
	if err != nil {
		return fmt.Errorf("a small Alloc after the refusal: %v", err)
	}
	defer b.Free(x)
	in := make([]float32, 1000)
	for i := range in {
		in[i] = float32(i) - 500
	}
	got := make([]float32, len(in))
	if err := errors.Join(b.Upload(x, core.HostOf(in)), b.Forward(formula.ReLU(), x, x), b.Download(core.HostOf(got), x)); err != nil {
		return err
	}
	for i := range in {
		if got[i] != formula.ReLUForward(in[i]) {
			return fmt.Errorf("after the refusal, relu(%v) = %v", in[i], got[i])
		}
	}
	return nil
}

// TestAllocFromOS: buffers of OSAllocMin bytes or more are mapped from the operating system: zeroed,
// usable by every call, and unmapped by Free, by Close, and when a backend dropped without Close is
// collected.
func TestAllocFromOS(t *testing.T) {
	base := cpu.OSMappedBytes()
	mapped := func() int64 { return cpu.OSMappedBytes() - base }
	b := cpu.New()
	defer b.Close()
	n := cpu.OSAllocMin/4 + 3
	buf, err := b.Alloc(formula.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	if got := mapped(); got != int64(4*n) {
		t.Fatalf("after Alloc of %d bytes, %d bytes are mapped from the OS", 4*n, got)
	}
	// The ends of the buffer (the whole of it would cost a second of page faults here): zeroed, then
	// written, run in place through a view and read back.
	const k = 4096
	ends := func(lo int) core.Buffer {
		v, err := buf.Slice(lo, lo+k)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, lo := range []int{0, n - k} {
		v := ends(lo)
		got := make([]float32, k)
		if err := b.Download(core.HostOf(got), v); err != nil {
			t.Fatal(err)
		}
		for i, x := range got {
			if x != 0 {
				t.Fatalf("new buffer: element %d is %v, want 0", lo+i, x)
			}
		}
		in := make([]float32, k)
		for i := range in {
			in[i] = float32(i%7) - 3
		}
		if err := errors.Join(b.Upload(v, core.HostOf(in)), b.Forward(formula.ReLU(), v, v), b.Download(core.HostOf(got), v)); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != formula.ReLUForward(in[i]) {
				t.Fatalf("element %d: got %v, want %v", lo+i, got[i], formula.ReLUForward(in[i]))
			}
		}
	}
	if err := b.Free(buf); err != nil {
		t.Fatal(err)
	}
	// Free keeps the mapping in the pool for the next Alloc of the same size; Trim gives it back.
	if m, _ := b.Memory(); m.Pooled != int64(4*n) || mapped() != int64(4*n) {
		t.Fatalf("after Free: %d bytes pooled and %d mapped, want %d each", m.Pooled, mapped(), 4*n)
	}
	if err := b.Trim(); err != nil {
		t.Fatal(err)
	}
	if got := mapped(); got != 0 {
		t.Fatalf("after Free and Trim, %d bytes are still mapped", got)
	}
	if _, err := b.Alloc(formula.Float64, n); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := mapped(); got != 0 {
		t.Fatalf("after Close, %d bytes are still mapped", got)
	}

	func() {
		dropped := cpu.New()
		if _, err := dropped.Alloc(formula.Float32, n); err != nil {
			t.Fatal(err)
		}
	}()
	start := time.Now()
	for mapped() != 0 && time.Since(start) < 10*time.Second {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the dropped backend's memory was released %v after it became garbage", time.Since(start))
	if got := mapped(); got != 0 {
		t.Fatalf("a backend dropped without Close still holds %d bytes mapped after 10 s of collections", got)
	}
}
