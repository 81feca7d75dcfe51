package opencl

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// discoveryChildEnv, set to a number of goroutines, makes the test binary a child process of
// TestConcurrentDiscovery instead of running tests (see TestMain).
const discoveryChildEnv = "GPUACT_TEST_DISCOVERY_CHILD"

const discoveryChildOK = "discovery child: ok"

func TestMain(m *testing.M) {
	if v := os.Getenv(discoveryChildEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "%s=%q: want a number of goroutines\n", discoveryChildEnv, v)
			os.Exit(2)
		}
		discoveryChild(n)
		fmt.Println(discoveryChildOK)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// discoveryChild runs the first OpenCL discovery of this process on n goroutines released at once:
// half list the devices (backend.List), half open device 0:0 (backend.Open("opencl:0:0")).
func discoveryChild(n int) {
	var ready, wg sync.WaitGroup
	ready.Add(1)
	for g := range n {
		wg.Go(func() {
			ready.Wait()
			if g%2 == 0 {
				Devices()
			} else if b, err := Open(0, 0); err == nil {
				b.Close()
			}
		})
	}
	ready.Done()
	wg.Wait()
}

// TestConcurrentDiscovery runs the first discovery of a fresh process on four goroutines at once, in
// fresh processes (the test binary, re-executed). Before discovery was serialised, PoCL 3.1 crashed
// most such processes with SIGSEGV in clGetDeviceInfo (see discovery in device.go).
// GPUACT_TEST_DISCOVERY_RUNS sets the number of processes.
func TestConcurrentDiscovery(t *testing.T) {
	usableDevices(t)
	runs := 8
	if v, err := strconv.Atoi(os.Getenv("GPUACT_TEST_DISCOVERY_RUNS")); err == nil && v > 0 {
		runs = v
	}
	const goroutines = 4
	var mu sync.Mutex
	var failed []string
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range runs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), discoveryChildEnv+"="+strconv.Itoa(goroutines))
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), discoveryChildOK) {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("process %d: %v\n%s", i, err, tail(string(out), 40)))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d fresh processes, %d goroutines each, in %v", runs, goroutines, time.Since(start).Round(time.Millisecond))
	if len(failed) > 0 {
		t.Fatalf("%d of %d processes running OpenCL discovery on %d goroutines at once failed; the first:\n%s",
			len(failed), runs, goroutines, failed[0])
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
