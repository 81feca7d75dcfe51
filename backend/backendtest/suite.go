// Package backendtest is gpuact's conformance suite: one entry point, Run, that every backend's tests
// call unchanged. It checks docs/SEMANTICS.md (all that §3 lists) against the oracle: every pass × dtype at the sizes, edge
// values, unaligned views, poisoned outputs and tolerances of §2; in-place aliasing and refused
// overlaps; every bad-input case of §3 with its sentinel; a gradient check of each backward pass
// against a central difference of the forward pass; concurrent use from 32 goroutines;
// overlapping and disjoint windows of one allocation written and read at once; alloc/free
// loops that must not grow; and, on backends that implement core.Timer, TimeDevice: concurrent, nested,
// racing Close, with a failing or panicking enqueue function.
package backendtest

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// Opener returns a new backend of the kind under test. The suite calls it several times (some checks
// need a fresh backend to close) and closes everything it opens.
type Opener func() (core.Backend, error)

// Run runs the whole suite against the backends open returns.
func Run(t *testing.T, open Opener) {
	b := mustOpen(t, open)
	defer b.Close()
	t.Run("Info", func(t *testing.T) { testInfo(t, b) })
	t.Run("Passes", func(t *testing.T) { testPasses(t, b) })
	t.Run("InPlace", func(t *testing.T) { testInPlace(t, b) })
	t.Run("Overlap", func(t *testing.T) { testOverlap(t, b) })
	t.Run("ZeroLength", func(t *testing.T) { testZeroLength(t, b) })
	t.Run("Slices", func(t *testing.T) { testSlices(t, b) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, b, open) })
	t.Run("Gradient", func(t *testing.T) { testGradient(t, b) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, b) })
	t.Run("Ranges", func(t *testing.T) { testRanges(t, b) })
	t.Run("FreeWhileInUse", func(t *testing.T) { testFreeWhileInUse(t, b) })
	t.Run("AllocFreeNoGrowth", func(t *testing.T) { testNoGrowth(t, b) })
	t.Run("TimeDevice", func(t *testing.T) { testTimeDevice(t, b, open) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, open) })
	t.Run("CloseWhileInUse", func(t *testing.T) { testCloseWhileInUse(t, open) })
}

func mustOpen(t *testing.T, open Opener) core.Backend {
	t.Helper()
	b, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return b
}

// dtypes are the dtypes the backend supports (Info().DTypes): every check runs on each; the refusal of
// the others is checked in BadInput.
func dtypes(b core.Backend) []formula.DType { return b.Info().DTypes.List() }

// activations returns the activations pass p is checked with: every kind at its default α, and with
// long the other α of extraAlphas (those below zero not for backward from output, which refuses them).
// A kind added to formula.Kinds is checked at its default α without a change here.
func activations(p formula.Pass, long bool) []formula.Activation {
	var acts []formula.Activation
	for _, k := range formula.Kinds {
		acts = append(acts, k.Default())
	}
	if !long {
		return acts
	}
	var negative []formula.Activation
	for _, k := range formula.Kinds {
		for _, a := range extraAlphas[k] {
			if a < 0 {
				negative = append(negative, k.WithAlpha(a))
			} else {
				acts = append(acts, k.WithAlpha(a))
			}
		}
	}
	if p != formula.BackwardFromOutput {
		acts = append(acts, negative...)
	}
	return acts
}

// extraAlphas are the α each kind is also checked with: zero, negative, and values that are not exactly
// representable in any dtype or that scale by more than 2.
var extraAlphas = map[formula.Kind][]float64{
	formula.KindLeakyReLU: {0.2, 0, -0.3},
	formula.KindELU:       {0.37, 2.5, 0, -0.8},
}

func seed(t *testing.T) *rand.Rand {
	t.Helper()
	return rand.New(rand.NewPCG(0x6770756163742121, uint64(len(t.Name()))))
}

// is fails the test unless err matches want.
// is fails the test unless err matches want and has the one shape of gpuact's errors (core.Error): the
// kind first, then the backend and the operation, in every message (SEMANTICS §6).
func is(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
		return
	}
	var e *core.Error
	if !errors.As(err, &e) || e.Kind != want || e.Op == "" || !strings.HasPrefix(err.Error(), want.Error()+": ") {
		t.Errorf("%s: error %q is not a core.Error of kind %q naming its operation", what, err, want)
	}
}

func ok(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func testInfo(t *testing.T, b core.Backend) {
	info := b.Info()
	if info.Spec == "" {
		t.Error("Info().Spec is empty")
	}
	if _, err := core.ParseSpec(info.Spec); err != nil {
		t.Errorf("Info().Spec %q does not parse: %v", info.Spec, err)
	}
	if info.Platform < core.PlatformCUDA || info.Platform > core.PlatformCPU {
		t.Errorf("Info().Platform = %v", info.Platform)
	}
	if info.Name == "" || info.ComputeUnits <= 0 {
		t.Errorf("Info() lacks a name or compute units: %+v", info)
	}
	m, err := b.Memory()
	ok(t, err, "Memory")
	if m.Total < 0 || m.Free < 0 || m.InUse < 0 || m.Buffers < 0 {
		t.Errorf("Memory() = %+v", m)
	}
	t.Logf("%s: %s (%s), %d compute units, %d MiB, dtypes %v, denormals %v", info.Spec, info.Name, info.Vendor,
		info.ComputeUnits, info.Memory>>20, info.DTypes, info.Denormals)
}
