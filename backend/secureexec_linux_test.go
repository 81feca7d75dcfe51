package backend_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gpuact/gpuact/backend"
)

// secureChildEnv makes this test binary the child of TestLibraryEnvIgnoredWhenSecure: it prints what
// List says of every GPU device and exits before any test runs. (An init function, not TestMain, so
// that other tests of this package stay free to have one.)
const secureChildEnv = "GPUACT_TEST_SECURE_CHILD"

func init() {
	if os.Getenv(secureChildEnv) == "" {
		return
	}
	for _, d := range backend.List() {
		if d.Platform != backend.PlatformCPU {
			fmt.Printf("%s usable=%v reason=%q\n", d.Spec, d.Usable, d.Reason)
		}
	}
	fmt.Println("child ok")
	os.Exit(0)
}

// TestLibraryEnvIgnoredWhenSecure runs a copy of this test binary as user nobody with
// GPUACT_CUDA_LIBRARY and GPUACT_OPENCL_LIBRARY naming libraries that do not exist: plain, setuid root
// (AT_SECURE set, real and effective user ids differ) and with a file capability (AT_SECURE set, ids
// equal). The plain run must try exactly those libraries (List's reasons name them); the other two are
// in secure-execution mode and must ignore both variables, as the dynamic loader ignores LD_PRELOAD
// there, and try the system's libraries instead. Needs root, no extra package: CI runs it.
func TestLibraryEnvIgnoredWhenSecure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it makes a setuid-root copy of this test binary and runs it as another user")
	}
	dir, err := os.MkdirTemp("", "gpuact-secure-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // nobody must reach the binary
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "backend.test")
	copyFile(t, os.Args[0], bin)
	fakeCUDA, fakeCL := "/nonexistent/gpuact-secure-test/libcuda.so.1", "/nonexistent/gpuact-secure-test/libOpenCL.so.1"
	run := func(t *testing.T, mode os.FileMode) string {
		t.Helper()
		if err := os.Chmod(bin, mode); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), secureChildEnv+"=1", "GPUACT_CUDA_LIBRARY="+fakeCUDA, "GPUACT_OPENCL_LIBRARY="+fakeCL)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, NoSetGroups: true}}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "child ok") {
			t.Fatalf("child (mode %v): %v\n%s", mode, err, out)
		}
		t.Logf("child, mode %v:\n%s", mode, out)
		return string(out)
	}
	t.Run("plain", func(t *testing.T) {
		out := run(t, 0o755)
		for _, fake := range []string{fakeCUDA, fakeCL} {
			if !strings.Contains(out, fake) {
				t.Errorf("plain run as nobody: List does not name %s, so the variable was not honoured:\n%s", fake, out)
			}
		}
	})
	check := func(t *testing.T, out string) {
		t.Helper()
		for _, fake := range []string{fakeCUDA, fakeCL} {
			if strings.Contains(out, fake) {
				t.Errorf("List names %s: a secure-execution process honoured the variable:\n%s", fake, out)
			}
		}
	}
	t.Run("setuid", func(t *testing.T) { check(t, run(t, 0o755|os.ModeSetuid)) })
	t.Run("file-capabilities", func(t *testing.T) {
		// The ids stay equal (nobody): only AT_SECURE tells. A version 2 security.capability attribute
		// granting CAP_NET_BIND_SERVICE, permitted and effective (what setcap cap_net_bind_service+ep
		// writes).
		if err := os.Chmod(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		const capNetBindService = 10
		vfsCap := binary.LittleEndian.AppendUint32(nil, 0x02000000|0x1) // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
		vfsCap = binary.LittleEndian.AppendUint32(vfsCap, 1<<capNetBindService)
		vfsCap = append(vfsCap, make([]byte, 12)...) // inheritable, and the upper 32 capabilities
		if err := syscall.Setxattr(bin, "security.capability", vfsCap, 0); err != nil {
			t.Skipf("cannot set security.capability on %s: %v", bin, err)
		}
		defer syscall.Removexattr(bin, "security.capability")
		check(t, run(t, 0o755))
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
