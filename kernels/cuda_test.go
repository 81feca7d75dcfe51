package kernels

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestFatbinMatchesSource fails when activations.cu or activations.fatbin was changed without
// regenerating both (make generate): a stale kernel must never ship.
func TestFatbinMatchesSource(t *testing.T) {
	src := sha256.Sum256(CUDASource)
	if got := hex.EncodeToString(src[:]); got != CUDASourceSHA256 {
		t.Errorf("activations.cu has SHA-256 %s, but the fatbin was built from %s: run make generate (needs nvcc)", got, CUDASourceSHA256)
	}
	bin := sha256.Sum256(CUDAFatbin)
	if got := hex.EncodeToString(bin[:]); got != CUDAFatbinSHA256 {
		t.Errorf("activations.fatbin has SHA-256 %s, but gen_cuda.sh wrote %s: it was changed by hand or not regenerated", got, CUDAFatbinSHA256)
	}
	// A fatbin starts with the magic 0xba55ed50 (little-endian).
	if len(CUDAFatbin) < 16 || CUDAFatbin[0] != 0x50 || CUDAFatbin[1] != 0xed || CUDAFatbin[2] != 0x55 || CUDAFatbin[3] != 0xba {
		t.Errorf("activations.fatbin does not start with the fatbin magic")
	}
}
