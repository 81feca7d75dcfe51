#!/usr/bin/env python3
"""Fits the float32 polynomial of the ELU kernels' expm1: P(r) with m coefficients such that
r + r²·P(r) approximates expm1(r) on |r| ≤ ln2/2 with the smallest maximum relative error
(iteratively reweighted least squares on a dense grid, coefficients rounded to float32, the error then
measured in 40-digit arithmetic). Needs numpy and mpmath (Debian: python3-numpy, python3-mpmath).

	/usr/bin/python3 backend/cpu/_asm/fit.py

m = 6 gave main.go's earlier polynomial (2^-28.7); m = 5, the one in use, 2^-25.7: the float32
exhaustive test (GPUACT_EXHAUSTIVE=1, bench/cpu-simd.md) still finds at most 1 ULP. The float64
polynomial (10 coefficients, 2^-54.8) needs more than float64 least squares; it is unchanged.
"""
import struct

import mpmath as mp
import numpy as np

mp.mp.dps = 40


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def fit(m, a, b, iters=30):
    xs = np.linspace(a, b, 4001)
    xs = xs[np.abs(xs) > 1e-6]
    em1 = np.array([float(mp.expm1(mp.mpf(x))) for x in xs])
    tgt = np.array([float((mp.expm1(mp.mpf(x)) - x) / x**2) for x in xs])  # what P should be
    w = np.ones_like(xs)
    for _ in range(iters):  # weights grow where the relative error is largest: towards minimax
        A = np.vstack([xs**i for i in range(m)]).T * (xs**2 / em1)[:, None]
        rhs = tgt * xs**2 / em1
        c, *_ = np.linalg.lstsq(A * w[:, None], rhs * w, rcond=None)
        err = np.abs(A @ c - rhs)
        w *= (err / err.max()) ** 0.3 + 1e-3
    coefs = [f32(v) for v in c]
    worst = 0
    for x in np.linspace(a, b, 20001):
        if abs(x) < 1e-8:
            continue
        X, P = mp.mpf(x), mp.mpf(0)
        for cc in reversed(coefs):
            P = P * X + mp.mpf(cc)
        worst = max(worst, abs((X + X * X * P - mp.expm1(X)) / mp.expm1(X)))
    return coefs, float(mp.log(worst, 2))


if __name__ == "__main__":
    h = float(mp.log(2)) / 2
    for m in (4, 5, 6):
        c, e = fit(m, -h, h)
        print(f"m = {m}: max relative error 2^{e:.2f}:", ", ".join(float(v).hex() for v in c))
