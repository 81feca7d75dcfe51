package backendtest

import (
	"math"
	"testing"

	"github.com/gpuact/gpuact/backend/core"
)

// testGradient checks each backward pass against a central finite difference of the backend's own
// forward pass, in float64, at points away from x = 0 where the derivative jumps: dx must be close to
// (f(x+h) − f(x−h)) / 2h · dy.
func testGradient(t *testing.T, b core.Backend) {
	if !b.Info().Float64 {
		t.Logf("%s has no float64: the gradient check runs in float32 with a looser tolerance", b.Info().Spec)
	}
	dt := dtypes(b)[len(dtypes(b))-1]
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
		h[i] = 1e-6 * max(1, math.Abs(x[i]))
		if dt == core.Float32 {
			h[i] = 1e-3 * max(1, math.Abs(x[i]))
		}
		xp[i], xm[i] = x[i]+h[i], x[i]-h[i]
	}
	run := func(p core.Pass, act core.Activation, in1, in2 []float64) []float64 {
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
				if dt == core.Float32 {
					f := make([]float32, n)
					for i := range v {
						f[i] = float32(v[i])
					}
					ok(t, b.Upload(buf, core.HostOf(f)), "Upload")
				} else {
					ok(t, b.Upload(buf, core.HostOf(v)), "Upload")
				}
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
		res := make([]float64, n)
		if dt == core.Float32 {
			f := make([]float32, n)
			ok(t, b.Download(core.HostOf(f), out), "Download")
			for i := range f {
				res[i] = float64(f[i])
			}
		} else {
			ok(t, b.Download(core.HostOf(res), out), "Download")
		}
		return res
	}
	tol := 1e-6
	if dt == core.Float32 {
		tol = 2e-2
	}
	for _, act := range []core.Activation{core.ReLU(), core.LeakyReLU(0.01), core.LeakyReLU(-0.3), core.ELU(1), core.ELU(0.37), core.ELU(-0.8)} {
		fp := run(core.Forward, act, xp, nil)
		fm := run(core.Forward, act, xm, nil)
		y := run(core.Forward, act, x, nil)
		passes := []core.Pass{core.BackwardFromInput}
		if act.Alpha() >= 0 {
			passes = append(passes, core.BackwardFromOutput)
		}
		for _, p := range passes {
			in2 := x
			if p == core.BackwardFromOutput {
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
