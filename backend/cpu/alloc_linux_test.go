package cpu_test

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// limitAddressSpace sets RLIMIT_AS to the address space this process has mapped now plus extra bytes.
func limitAddressSpace(extra uint64) error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return fmt.Errorf("VmSize %q: %v", rest, err)
			}
			lim := kb<<10 + extra
			fmt.Printf("RLIMIT_AS = %d bytes (%d mapped now)\n", lim, kb<<10)
			return syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim})
		}
	}
	return fmt.Errorf("no VmSize in /proc/self/status")
}

// ignoreChildExit ignores SIGCHLD, for runs under an emulator: qemu-user (7.2) delivers signals to a 386
// Go program so that its handler crashes. With SIGCHLD ignored, none is sent when a child exits, the
// kernel reaps the child itself, and Wait reports ECHILD instead of the exit status (childReaped).
func ignoreChildExit() { signal.Ignore(syscall.SIGCHLD) }

// childReaped reports whether err is Wait's ECHILD for a child that the kernel reaped (ignoreChildExit).
func childReaped(err error) bool { return errors.Is(err, syscall.ECHILD) }
