package backend_test

import (
	"fmt"
	"log"

	"github.com/gpuact/gpuact/backend"
)

// Auto picks the best device: CUDA, then an OpenCL GPU, then the CPU. GPUACT_BACKEND=cpu (or cuda:1,
// opencl:0:1) overrides the choice.
func ExampleAuto() {
	b, err := backend.Auto()
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	x, err := backend.FromSlice(b, []float32{-2, -0.5, 0, 0.5, 2})
	if err != nil {
		log.Fatal(err)
	}
	y, err := b.Alloc(backend.Float32, x.Len())
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Forward(backend.ReLU(), y, x); err != nil {
		log.Fatal(err)
	}
	out, err := backend.ToSlice[float32](b, y) // a download waits for the device
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out)
	// Output: [0 0 0 0.5 2]
}

// A forward pass and both backward passes of ELU, in place where that saves memory.
func Example_roundTrip() {
	b, err := backend.Open("cpu")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	elu := backend.ELU(backend.DefaultELUAlpha)

	x, _ := backend.FromSlice(b, []float64{-1, 0.5, 2})
	dy, _ := backend.FromSlice(b, []float64{1, 1, 1})
	y, _ := b.Alloc(backend.Float64, 3)
	dx, _ := b.Alloc(backend.Float64, 3)

	if err := b.Forward(elu, y, x); err != nil {
		log.Fatal(err)
	}
	if err := b.BackwardFromInput(elu, dx, dy, x); err != nil {
		log.Fatal(err)
	}
	fromInput, _ := backend.ToSlice[float64](b, dx)
	// Backward from the output needs no copy of x, and may overwrite dy.
	if err := b.BackwardFromOutput(elu, dy, dy, y); err != nil {
		log.Fatal(err)
	}
	fromOutput, _ := backend.ToSlice[float64](b, dy)
	ys, _ := backend.ToSlice[float64](b, y)
	fmt.Printf("y            %.6f\n", ys)
	fmt.Printf("dx (input)   %.6f\n", fromInput)
	fmt.Printf("dx (output)  %.6f\n", fromOutput)
	// Output:
	// y            [-0.632121 0.500000 2.000000]
	// dx (input)   [0.367879 1.000000 1.000000]
	// dx (output)  [0.367879 1.000000 1.000000]
}

// bfloat16 storage for float32 data: round on the way in, widen on the way out.
func Example_bfloat16() {
	b, err := backend.Open("cpu")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	data := []float32{-3, -0.1, 0, 1.2, 300.7}
	h := make([]backend.BF16, len(data))
	backend.FromFloat32(h, data) // to nearest even: 8 significant bits
	x, err := backend.FromSlice(b, h)
	if err != nil {
		log.Fatal(err)
	}
	y, err := b.Alloc(backend.BFloat16, x.Len())
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Forward(backend.ELU(1), y, x); err != nil {
		log.Fatal(err)
	}
	out, err := backend.ToSlice[backend.BF16](b, y)
	if err != nil {
		log.Fatal(err)
	}
	f := make([]float32, len(out))
	backend.ToFloat32(f, out)
	fmt.Println(f)
	// Output: [-0.94921875 -0.095214844 0 1.203125 300]
}
