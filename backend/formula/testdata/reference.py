#!/usr/bin/python3
"""Writes reference.json: the nine formulas of SEMANTICS §1.1 on edge values, computed independently of Go with
mpmath at 80 significant digits and rounded to the dtype, for oracle_test.go (and the CPU backend's TestReference).

Run `/usr/bin/python3 backend/formula/testdata/reference.py` (mpmath and numpy: scripts/setup/torch-cpu.sh) to rebuild it.
"""
import json, math, os, struct
import mpmath
import numpy as np

mpmath.mp.dps = 80

def edges(dt):
    if dt == 'float32':
        mags = [0.0, 2.0**-149, 2.0**-127, 1e-30, 1e-8, 1e-4, 0.5, 1.0, 17.0, 87.5, 88.0, 103.0, 104.0, 700.0,
                float(np.finfo(np.float32).max), math.inf]
    else:
        mags = [0.0, 5e-324, 2.0**-1023, 1e-300, 1e-8, 1e-4, 0.5, 1.0, 37.0, 700.0, 708.0, 745.0, 1e300,
                float(np.finfo(np.float64).max), math.inf]
    vals = []
    for m in mags:
        vals += [m, -m]
    vals.append(math.nan)
    # a few ordinary values where expm1 and exp are curved
    vals += [-0.1, -0.75, -2.5, -9.0, 0.3, 3.0]
    return [float(np.dtype(dt).type(v)) for v in vals]

def bits(dt, v):
    if dt == 'float32':
        return '0x%08x' % struct.unpack('<I', struct.pack('<f', v))[0]
    return '0x%016x' % struct.unpack('<Q', struct.pack('<d', v))[0]

def rnd(dt, v):
    """Round an mpf (or float) to dt: to float64 correctly, then to float32 (the double rounding is far
    inside the 2 ULP of SEMANTICS §2)."""
    if isinstance(v, mpmath.mpf):
        if mpmath.isnan(v):
            return math.nan
        if mpmath.isinf(v):
            return float(v)
        v = float(v)  # mpmath rounds to nearest
    return float(np.dtype(dt).type(v))

def T(dt, v):
    return np.dtype(dt).type(v)

def records():
    out = []
    for dt in ('float32', 'float64'):
        xs = edges(dt)
        dys = [T(dt, v) for v in (1.0, -3.5, 1e30 if dt == 'float32' else 1e300, -2.0**-140 if dt == 'float32' else -2.0**-1070)]
        for name, alpha in (('relu', 0.0), ('leakyrelu', 0.01), ('leakyrelu', 0.2), ('elu', 1.0), ('elu', 0.37), ('elu', 2.5)):
            a = T(dt, alpha)
            act = name if name == 'relu' else '%s:%r' % (name, alpha)
            for x in xs:
                xv = T(dt, x)
                # forward
                if x > 0 or math.isnan(x):
                    y = xv
                elif name == 'relu':
                    y = T(dt, 0.0)
                elif name == 'leakyrelu':
                    with np.errstate(all='ignore'):
                        y = a * xv
                else:
                    y = rnd(dt, mpmath.mpf(float(a)) * mpmath.expm1(mpmath.mpf(x))) if not math.isinf(x) else rnd(dt, -float(a))
                out.append((dt, 'forward', act, x, 0.0, float(y)))
                for dy in dys:
                    dyv = float(dy)
                    # backward from input
                    if math.isnan(x):
                        g = math.nan
                    elif x > 0:
                        g = dyv
                    elif name == 'relu':
                        g = 0.0
                    elif name == 'leakyrelu':
                        with np.errstate(all='ignore'):
                            g = float(a * dy)
                    else:
                        g = rnd(dt, mpmath.mpf(float(a)) * mpmath.exp(mpmath.mpf(x)) * mpmath.mpf(dyv)) if not math.isinf(x) else (0.0 if x < 0 else math.nan)
                    out.append((dt, 'backward-input', act, dyv, x, float(g)))
                    # backward from output, with y = x (any y is valid input)
                    yv = x
                    if math.isnan(yv):
                        g = math.nan
                    elif yv > 0:
                        g = dyv
                    elif name == 'relu':
                        g = 0.0
                    elif name == 'leakyrelu':
                        with np.errstate(all='ignore'):
                            g = float(a * dy)
                    elif math.isinf(yv) or math.isinf(dyv):
                        with np.errstate(all='ignore'):
                            g = float((T(dt, yv) + a) * dy)
                    else:
                        g = rnd(dt, (mpmath.mpf(yv) + mpmath.mpf(float(a))) * mpmath.mpf(dyv))
                    out.append((dt, 'backward-output', act, dyv, yv, float(g)))
    return out

def main():
    recs = [{'dtype': dt, 'pass': p, 'act': act, 'a': bits(dt, a), 'b': bits(dt, b), 'want': bits(dt, w)}
            for dt, p, act, a, b, w in records()]
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, 'reference.json'), 'w') as f:
        f.write('{"generated_by": "backend/formula/testdata/reference.py (mpmath %s, 80 digits); DO NOT EDIT",\n "records": [\n' % mpmath.__version__)
        f.write(',\n'.join(json.dumps(r, sort_keys=True) for r in recs))
        f.write('\n]}\n')
    print(len(recs), 'records')

main()
