package backend_test

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gpuact/gpuact/backend"
)

// mlp is a 2-layer perceptron, y = relu(x·W1)·W2, trained on the squared error by plain gradient
// descent: gonum does the matrix products, an activation function the ReLU passes.
type mlp struct {
	w1, w2 *mat.Dense
	// h holds x·W1, then relu of it in place; dh holds the gradient flowing back into h.
	h, dh, out, dout, dw1, dw2 *mat.Dense
}

func newMLP(batch, in, hidden, outputs int, seed uint64) *mlp {
	rng := rand.New(rand.NewPCG(seed, 1))
	randn := func(r, c int, scale float64) *mat.Dense {
		d := make([]float64, r*c)
		for i := range d {
			d[i] = scale * rng.NormFloat64()
		}
		return mat.NewDense(r, c, d)
	}
	return &mlp{
		w1: randn(in, hidden, 1/math.Sqrt(float64(in))), w2: randn(hidden, outputs, 1/math.Sqrt(float64(hidden))),
		h: mat.NewDense(batch, hidden, nil), dh: mat.NewDense(batch, hidden, nil),
		out: mat.NewDense(batch, outputs, nil), dout: mat.NewDense(batch, outputs, nil),
		dw1: mat.NewDense(in, hidden, nil), dw2: mat.NewDense(hidden, outputs, nil),
	}
}

// step runs one training step and returns the loss before it. relu and reluBack act in place on the
// matrices' own memory: relu(h) → h, and dh ← relu'(y)·dh from the forward pass's output y = h.
func (m *mlp) step(x, target *mat.Dense, lr float64, relu func() error, reluBack func() error) (float64, error) {
	m.h.Mul(x, m.w1)
	if err := relu(); err != nil { // h = relu(x·W1), in place
		return 0, err
	}
	m.out.Mul(m.h, m.w2)
	m.dout.Sub(m.out, target)
	r, _ := m.dout.Dims()
	loss := mat.Norm(m.dout, 2) * mat.Norm(m.dout, 2) / float64(2*r)
	m.dout.Scale(1/float64(r), m.dout)
	m.dw2.Mul(m.h.T(), m.dout)
	m.dh.Mul(m.dout, m.w2.T())
	if err := reluBack(); err != nil { // dh = relu'·dh from the output h, in place
		return 0, err
	}
	m.dw1.Mul(x.T(), m.dh)
	m.w1.Add(m.w1, scaled(-lr, m.dw1))
	m.w2.Add(m.w2, scaled(-lr, m.dw2))
	return loss, nil
}

func scaled(f float64, a *mat.Dense) *mat.Dense {
	var s mat.Dense
	s.Scale(f, a)
	return &s
}

func mlpData(batch, in, outputs int) (x, target *mat.Dense) {
	rng := rand.New(rand.NewPCG(7, 7))
	xd := make([]float64, batch*in)
	for i := range xd {
		xd[i] = rng.NormFloat64()
	}
	x = mat.NewDense(batch, in, xd)
	target = mat.NewDense(batch, outputs, nil)
	for i := range batch {
		for j := range outputs {
			target.Set(i, j, math.Sin(x.At(i, j%in))+0.5*x.At(i, (j+1)%in))
		}
	}
	return x, target
}

// A training step of a 2-layer MLP: gonum multiplies matrices, gpuact's ReLU passes run in place on
// gonum's own memory (backend.Wrap), with no copy in or out.
func Example_mlpWithGonum() {
	b, err := backend.Open("cpu")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	const batch, in, hidden, outputs = 64, 8, 32, 2
	x, target := mlpData(batch, in, outputs)
	m := newMLP(batch, in, hidden, outputs, 1)

	// Wrap the activations' matrices once: the buffers are gonum's slices themselves.
	h, err := backend.Wrap(b, m.h.RawMatrix().Data)
	if err != nil {
		log.Fatal(err)
	}
	dh, err := backend.Wrap(b, m.dh.RawMatrix().Data)
	if err != nil {
		log.Fatal(err)
	}
	relu := func() error { return b.Forward(backend.ReLU(), h, h) }
	reluBack := func() error { return b.BackwardFromOutput(backend.ReLU(), dh, dh, h) }
	for i := range 200 {
		loss, err := m.step(x, target, 0.1, relu, reluBack)
		if err != nil {
			log.Fatal(err)
		}
		if i%50 == 0 {
			fmt.Printf("step %3d: loss %.4f\n", i, loss)
		}
	}
	// Output:
	// step   0: loss 1.4850
	// step  50: loss 0.0675
	// step 100: loss 0.0448
	// step 150: loss 0.0341
}

// The wrapped, in-place training matches the same training with ReLU written in Go, weight for
// weight: the passes compute exactly what the formulas say, on the matrices' own memory.
func TestMLPWrappedMatchesGo(t *testing.T) {
	b, err := backend.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const batch, in, hidden, outputs = 64, 8, 32, 2
	x, target := mlpData(batch, in, outputs)
	gpu, plain := newMLP(batch, in, hidden, outputs, 1), newMLP(batch, in, hidden, outputs, 1)
	h, err := backend.Wrap(b, gpu.h.RawMatrix().Data)
	if err != nil {
		t.Fatal(err)
	}
	dh, err := backend.Wrap(b, gpu.dh.RawMatrix().Data)
	if err != nil {
		t.Fatal(err)
	}
	goRelu := func() error {
		for i, v := range plain.h.RawMatrix().Data {
			plain.h.RawMatrix().Data[i] = max(v, 0)
		}
		return nil
	}
	goReluBack := func() error {
		hd := plain.h.RawMatrix().Data
		for i := range plain.dh.RawMatrix().Data {
			if !(hd[i] > 0) {
				plain.dh.RawMatrix().Data[i] = 0
			}
		}
		return nil
	}
	for range 20 {
		if _, err := gpu.step(x, target, 0.1, func() error { return b.Forward(backend.ReLU(), h, h) },
			func() error { return b.BackwardFromOutput(backend.ReLU(), dh, dh, h) }); err != nil {
			t.Fatal(err)
		}
		if _, err := plain.step(x, target, 0.1, goRelu, goReluBack); err != nil {
			t.Fatal(err)
		}
	}
	if !mat.Equal(gpu.w1, plain.w1) || !mat.Equal(gpu.w2, plain.w2) {
		t.Error("the weights after 20 steps differ between gpuact's in-place ReLU and Go's")
	}
}
