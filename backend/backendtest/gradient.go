package backendtest

import (
	"math"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
)

// testGradient checks each backward pass against a central finite difference of the backend's own
// forward pass, in float64, at points away from x = 0 where the derivative jumps: dx must be close to
// (f(x+h) − f(x−h)) / 2h · dy.
func testGradient(t *testing.T, b core.Backend) {
	dt := dtypes(b)[0]
	for _, d := range dtypes(b) {
		if d.Size() > dt.Size() {
			dt = d // the widest
		}
	}
	if dt != formula.Float64 {
		t.Logf("%s has no float64: the gradient check runs in %s with a looser tolerance", b.Info().Spec, dt)
	}
	step, tol := gradientData(t, dt)
	const n = 4096
	rng := seed(t)
	x := make([]float64, n)
	dy := make([]float64, n)
	for i := range x {
		for math.Abs(x[i]) < 1e-2 {
			x[i] = 10*rng.Float64() - 7 // [-7, 3): ELU's curved part and both sides of 0
		}
		dy[i] = 4*rng.Float64() - 2
	}
	h := make([]float64, n)
	xp := make([]float64, n)
	xm := make([]float64, n)
	for i := range x {
		h[i] = step * max(1, math.Abs(x[i]))
		xp[i], xm[i] = x[i]+h[i], x[i]-h[i]
	}
	run := func(p formula.Pass, act formula.Activation, in1, in2 []float64) []float64 {
		t.Helper()
		ups := make([]core.Buffer, 0, 3)
		defer func() {
			for _, u := range ups {
				b.Free(u)
			}
		}()
		up := func(v []float64) core.Buffer {
			buf, err := b.Alloc(dt, n)
			ok(t, err, "Alloc")
			ups = append(ups, buf)
			if v != nil {
				ok(t, uploadFloat64(b, buf, v), "Upload")
			}
			return buf
		}
		out := up(nil)
		a := up(in1)
		var c core.Buffer
		if in2 != nil {
			c = up(in2)
		}
		ok(t, core.Run(b, p, act, out, a, c), p.String())
		res, err := downloadFloat64(b, out)
		ok(t, err, "Download")
		return res
	}
	for _, act := range []formula.Activation{formula.ReLU(), formula.LeakyReLU(0.01), formula.LeakyReLU(-0.3), formula.ELU(1), formula.ELU(0.37), formula.ELU(-0.8)} {
		fp := run(formula.Forward, act, xp, nil)
		fm := run(formula.Forward, act, xm, nil)
		y := run(formula.Forward, act, x, nil)
		passes := []formula.Pass{formula.BackwardFromInput}
		if act.Alpha() >= 0 {
			passes = append(passes, formula.BackwardFromOutput)
		}
		for _, p := range passes {
			in2 := x
			if p == formula.BackwardFromOutput {
				in2 = y
			}
			dx := run(p, act, dy, in2)
			bad := 0
			for i := range dx {
				num := (fp[i] - fm[i]) / (xp[i] - xm[i]) * dy[i]
				if math.Abs(dx[i]-num) > tol*(1+math.Abs(num)) {
					if bad++; bad <= 3 {
						t.Errorf("%s %s at x=%v dy=%v: dx=%v, finite difference %v", p, act, x[i], dy[i], dx[i], num)
					}
				}
			}
		}
	}
}

// gradientData is the finite difference's step, relative to |x|, and the relative tolerance of the
// gradient check on dt: the step balances the difference's truncation error against dt's rounding.
func gradientData(t *testing.T, dt formula.DType) (step, tol float64) {
	switch dt {
	case formula.Float32:
		return 1e-3, 2e-2
	case formula.Float64:
		return 1e-6, 1e-6
	case formula.Float16, formula.BFloat16:
		// 8 or 11 significant bits: the difference of two rounded values over a wide step.
		return 3e-2, 2e-1
	}
	t.Fatalf("no gradient check data for %s", dt)
	return 0, 0
}

// uploadFloat64 uploads v, rounded to buf's dtype, into buf.
func uploadFloat64(b core.Backend, buf core.Buffer, v []float64) error {
	return byDType(buf.DType(), perDType{
		f32:  func() error { return uploadAs[float32](b, buf, v) },
		f64:  func() error { return uploadAs[float64](b, buf, v) },
		f16:  func() error { return uploadAs[formula.F16](b, buf, v) },
		bf16: func() error { return uploadAs[formula.BF16](b, buf, v) },
	})
}

func uploadAs[T formula.Elem](b core.Backend, buf core.Buffer, v []float64) error {
	h := make([]T, len(v))
	for i, x := range v {
		h[i] = of[T](x)
	}
	return b.Upload(buf, core.HostOf(h))
}

// downloadFloat64 downloads buf and widens it to float64.
func downloadFloat64(b core.Backend, buf core.Buffer) ([]float64, error) {
	out := make([]float64, buf.Len())
	err := byDType(buf.DType(), perDType{
		f32:  func() error { return downloadAs[float32](b, buf, out) },
		f64:  func() error { return downloadAs[float64](b, buf, out) },
		f16:  func() error { return downloadAs[formula.F16](b, buf, out) },
		bf16: func() error { return downloadAs[formula.BF16](b, buf, out) },
	})
	return out, err
}

func downloadAs[T formula.Elem](b core.Backend, buf core.Buffer, out []float64) error {
	h := make([]T, buf.Len())
	if err := b.Download(core.HostOf(h), buf); err != nil {
		return err
	}
	for i, x := range h {
		out[i] = f64(x)
	}
	return nil
}
