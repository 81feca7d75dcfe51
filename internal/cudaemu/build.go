package cudaemu

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/gpuact/gpuact/kernels"
)

// The driver's sources. They sit in csrc/, a directory without Go files, so the go command never takes
// them for a cgo package's sources.
//
//go:embed csrc
var sources embed.FS

// CacheEnv names a directory to build into instead of the user cache directory.
const CacheEnv = "GPUACT_CUDAEMU_CACHE"

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// Build builds the emulated driver, once per process, and returns the path of the shared library. A
// library built from the same sources, kernels and compiler is reused from the cache directory, so only
// the first test process on a machine pays for the compiler (about 20 s of CPU).
func Build() (string, error) {
	buildOnce.Do(func() { builtPath, buildErr = build() })
	return builtPath, buildErr
}

// flags: no fast math and no FMA contraction, so the kernels' host fallbacks round as activations.cu
// says; no strict aliasing, because the vec kernels load floats as float4.
var flags = []string{"-std=c++17", "-O2", "-g0", "-fPIC", "-pthread", "-fvisibility=hidden", "-fvisibility-inlines-hidden",
	"-ffp-contract=off", "-fno-fast-math", "-fno-strict-aliasing", "-Wall"}

// ErrUnsupported: the emulated driver does not run on this OS or architecture.
var ErrUnsupported = errors.New("the emulated CUDA driver runs on linux and darwin, amd64 and arm64")

func build() (string, error) {
	if (runtime.GOOS != "linux" && runtime.GOOS != "darwin") || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		return "", fmt.Errorf("%w, not %s/%s", ErrUnsupported, runtime.GOOS, runtime.GOARCH)
	}
	cxx, err := compiler()
	if err != nil {
		return "", err
	}
	files, err := sourceFiles()
	if err != nil {
		return "", err
	}
	fv := fnv.New64a()
	fv.Write(kernels.CUDAFatbin)
	defs := []string{fmt.Sprintf("-DGPUACT_FATBIN_BYTES=%dull", len(kernels.CUDAFatbin)), fmt.Sprintf("-DGPUACT_FATBIN_FNV=%#xull", fv.Sum64())}
	version, err := exec.Command(cxx, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v", cxx, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s/%s\n%q\n%q\n", cxx, version, runtime.GOOS, runtime.GOARCH, flags, defs)
	for _, name := range sortedNames(files) {
		fmt.Fprintf(h, "%s %d\n", name, len(files[name]))
		h.Write(files[name])
	}
	key := hex.EncodeToString(h.Sum(nil))[:20]

	root, err := cacheRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, key)
	lib := filepath.Join(dir, "libcudaemu.so")
	if _, err := os.Stat(lib); err == nil {
		return lib, nil
	}
	// Test binaries of several packages start at once: one builds, the others wait for it.
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(lib); err == nil {
		return lib, nil
	}
	tmp, err := os.MkdirTemp(root, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return "", err
		}
	}
	if err := compile(cxx, tmp, files, defs); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return lib, nil
}

// compile compiles every .cc file of dir in parallel and links them into libcudaemu.so there.
func compile(cxx, dir string, files map[string][]byte, defs []string) error {
	var objs []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, name := range sortedNames(files) {
		if !strings.HasSuffix(name, ".cc") {
			continue
		}
		obj := strings.TrimSuffix(name, ".cc") + ".o"
		objs = append(objs, obj)
		wg.Go(func() {
			args := append(append(append([]string{}, flags...), defs...), "-c", "-o", obj, name)
			if err := run(dir, cxx, args...); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return run(dir, cxx, append([]string{"-shared", "-pthread", "-o", "libcudaemu.so"}, objs...)...)
}

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building the emulated CUDA driver: %s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

// sourceFiles is csrc/ plus kernels/activations.cu as committed (kernels.CUDASource).
func sourceFiles() (map[string][]byte, error) {
	files := map[string][]byte{"activations.cu": kernels.CUDASource}
	err := fs.WalkDir(sources, "csrc", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files[d.Name()], err = sources.ReadFile(path)
		return err
	})
	return files, err
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// compiler is $CXX, else the first of c++, g++ and clang++ on the PATH.
func compiler() (string, error) {
	if c := os.Getenv("CXX"); c != "" {
		return exec.LookPath(c)
	}
	for _, c := range []string{"c++", "g++", "clang++"} {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no C++ compiler (c++, g++ or clang++; or set CXX) to build the emulated CUDA driver: install g++ (CI does), or set GPUACT_CUDA_LIBRARY=none to run without the CUDA tests")
}

func cacheRoot() (string, error) {
	root := os.Getenv(CacheEnv)
	if root == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		root = filepath.Join(c, "gpuact-cudaemu")
	}
	return root, os.MkdirAll(root, 0o755)
}
