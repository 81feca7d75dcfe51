package backendtest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// testRanges checks exclusion by range (SEMANTICS §5) on one allocation carved into overlapping
// windows: writers fill windows with their own value (ReLU of a constant buffer, or an Upload), readers
// download windows, all at once from many goroutines. Every window starts on a block boundary and
// covers two blocks, so at any moment each block holds one writer's value throughout: a block with two
// values in a download means two overlapping writes interleaved, or a reader saw a range half written.
func testRanges(t *testing.T, b core.Backend) {
	const (
		block   = 1 << 13
		blocks  = 8
		writers = 6
		readers = 4
		rounds  = 40
	)
	whole, err := b.Alloc(formula.Float32, block*blocks)
	ok(t, err, "Alloc")
	defer b.Free(whole)
	ok(t, b.Upload(whole, core.HostOf(make([]float32, block*blocks))), "Upload") // GPU memory starts undefined
	src := make([]core.Buffer, writers)
	for w := range src {
		src[w], err = b.Alloc(formula.Float32, 2*block)
		ok(t, err, "Alloc")
		defer b.Free(src[w])
		v := make([]float32, 2*block)
		for i := range v {
			v[i] = float32(w + 1)
		}
		ok(t, b.Upload(src[w], core.HostOf(v)), "Upload")
	}
	window := func(rng *rand.Rand) core.Buffer {
		lo := rng.IntN(blocks-1) * block
		v, err := whole.Slice(lo, lo+2*block)
		if err != nil {
			panic(err) // the bounds are in range by construction
		}
		return v
	}
	errs := make(chan error, writers+readers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			fill := make([]float32, 2*block)
			for i := range fill {
				fill[i] = float32(w + 1)
			}
			for range rounds {
				var err error
				if rng.IntN(2) == 0 {
					err = b.Forward(formula.ReLU(), window(rng), src[w])
				} else {
					err = b.Upload(window(rng), core.HostOf(fill))
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 12))
			got := make([]float32, 2*block)
			for range rounds {
				v := window(rng)
				if err := b.Download(core.HostOf(got), v); err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				for half := range 2 {
					part := got[half*block : (half+1)*block]
					for i, x := range part {
						if x != part[0] {
							errs <- fmt.Errorf("reader %d: block at element %d holds %v at its start and %v at +%d: a write interleaved or was seen half done",
								r, v.Offset()+half*block, part[0], x, i)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
