// gpuact's activations in OpenCL C 1.2: ReLU, LeakyReLU and ELU, forward, backward from input and
// backward from output (docs/SEMANTICS.md §1.1), for float, float16 and bfloat16 (both computed in float,
// SEMANTICS §1.6) and, where the device has cl_khr_fp64, double.
//
// The host (backend/opencl) compiles this file once per device with:
//   -D VWF=n   the float vector width (4, 8 or 16) each work-item loads, computes and stores at once,
//              also the width of the float16 and bfloat16 kernels (which compute in float);
//   -D VWD=n   the same for double (2, 4 or 8);
//   -D HAVE_FP64       when the device has cl_khr_fp64 (the double kernels exist only then);
//   -D WITH_ALIGNED    to add the *_al kernels, which load through vector pointers and so need every
//                      buffer's start aligned to the vector (GPUs, where that gives wide loads, and
//                      CPUs, where PoCL stores a ushort vector through vstoren one element at a time).
//
// Every kernel takes the same arguments, in this order, so the host sets them the same way for all
// (backend/opencl names them argOut ... argExpCutoff):
//   out, out_off, in1, in1_off, in2, in2_off: the buffers and their offsets in elements (buffers are
//       views of allocations); in1 is x (forward) or dy, in2 is x or y (backward) and unused forward;
//   n: the number of elements;
//   vecs_per_item, item_stride, loop_stride: work-item g handles the vectors g*item_stride +
//       j*loop_stride for j < vecs_per_item: contiguous chunks on CPUs (item_stride = vecs_per_item,
//       loop_stride = 1), a grid-stride loop on GPUs (item_stride = 1, loop_stride = the number of
//       work-items), so that neighbouring work-items read neighbouring memory;
//   alpha: α rounded to the dtype (a float for float16 and bfloat16: α rounded to the 16-bit type);
//   alpha_mantissa, alpha_exponent: α = am·2^ae with 1 <= |am| < 2 (am = 0 for α = 0), which the
//       ELU backward-from-input helpers take as am and ae;
//   exp_cutoff: the smallest x for which the oracle's float64 α·exp(x) is not zero, xcut in those
//       helpers (see elu_bwd_in).
// Work-item 0 also handles the n % VW elements after the last whole vector.
//
// Accuracy (SEMANTICS §2). ReLU and LeakyReLU are selects and one multiply: bit-exact. ELU does not call
// the builtin exp or expm1, which OpenCL 1.2 lets be 3 ULP off (and which PoCL calls out of line, one
// element at a time: 1 GB/s). It reduces x = k·ln2 + r + c (r exact, c tiny), evaluates expm1(r) as
// an unevaluated sum qh + ql of two numbers (the low part carries what rounding the high part lost),
// and rounds once at the end, so the results are within 1 ULP of the exact value: float and double
// alike, subnormal exp(x) included (the 16-bit types, which need far less, take a shorter path: see
// EXPM1_SHORT). Everything is straight-line code of IEEE operations and fmas
// (no table, no branch), which PoCL compiles to SIMD and GPUs run at memory speed. FP_CONTRACT is
// off so that the compiler does not fuse the error-free transformations away. Selects are used
// throughout, never a multiply by a 0/1 mask, and a NaN x (or y) gives NaN.

#pragma OPENCL FP_CONTRACT OFF

#ifndef VWF
#define VWF 4
#endif
#ifndef VWD
#define VWD 2
#endif

// Every helper is inlined: a call in the kernel's loop would cost more than the helper's work (PoCL
// does not inline the larger ones by itself).
#ifdef __clang__
#define INL __attribute__((always_inline))
#else
#define INL
#endif

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

// ---------------------------------------------------------------------------------------------------
// float

#define VF CAT(float, VWF)
#define VI CAT(int, VWF)
#define VLOADF CAT(vload, VWF)
#define VSTOREF CAT(vstore, VWF)

// The reduction's m = k + 1.5·2^23 (a float) holds the integer k in its low mantissa bits.
INL VI k_of_m_f(VF m) { return CAT(as_int, VWF)(m) - 0x4B400000; }

// 2^k straight from m, for k in [-126, 0]: shifting m's bits left by 23 keeps only k's low bits.
INL VF pow2_m_f(VF m) { return CAT(as_float, VWF)((CAT(as_uint, VWF)(m) << 23) + 0x3f800000u); }

// expm1_reduced_f reduces x in [-300, 0] as x = k·ln2 + r + c, with r exact, |r| <= ln2/2 (plus a hair) and c tiny, and returns expm1(r + c) as
// qh + *ql. *m receives k + 1.5·2^23, from which k_of_m_f and pow2_m_f take k and 2^k.
INL VF expm1_reduced_f(VF x, VF *m, VF *ql) {
    // k = rint(x·log2(e)): adding 1.5·2^23 pushes the fraction out of the mantissa.
    VF mm = fma(x, (VF)0x1.715476p+0f, (VF)0x1.8p23f);
    VF kf = mm - 0x1.8p23f;
    *m = mm;
    // ln2 = L1 - L2 with L1 = float(ln2): kf·L1 is exact inside the fma and x - kf·L1 is
    // representable, so r is exact; c = kf·L2 is the rest of the reduction (|c| < 1e-6).
    VF r = fma(-kf, (VF)0x1.62e43p-1f, x);
    VF c = kf * 0x1.05c61p-29f;
    // expm1(r) = r + r²/2 + r³·P(r), P the Taylor series 1/3! + r/4! + ... + r^5/8! (the next term is
    // below 2^-32 here), evaluated in Estrin's scheme for a shorter dependency chain. r + r²/2 is
    // summed exactly (|r²/2| < |r|, so Fast2Sum applies); the rounding of r² itself costs < 0.1 ULP.
    VF rr = r * r;
    VF p01 = fma(r, (VF)0x1.555556p-5f, (VF)0x1.555556p-3f);
    VF p23 = fma(r, (VF)0x1.6c16c2p-10f, (VF)0x1.111112p-7f);
    VF p45 = fma(r, (VF)0x1.a01a02p-16f, (VF)0x1.a01a02p-13f);
    VF p = fma(rr, fma(rr, p45, p23), p01);
    VF hr = 0.5f * rr;
    VF qh = r + hr;
    VF lo = fma(r * rr, p, (r - qh) + hr); // expm1(r) = qh + lo
    // expm1(r + c) = expm1(r) + c·(1 + expm1(r)) to first order in the tiny c.
    *ql = fma(c, qh + lo, lo + c);
    return qh;
}

// NaN needs no test of its own: both x > 0 and x <= 0 are false for it, and the selects below are
// written so that the value left then is x (or α·x, a NaN too).
INL VF relu_fwd_f(VF x) { return select(x, (VF)0.0f, x <= 0.0f); }

// x > 0: dy; x <= 0: 0; NaN: x.
INL VF relu_bwd_f(VF dy, VF x) { return select(select(x, dy, x > 0.0f), (VF)0.0f, x <= 0.0f); }

INL VF leaky_fwd_f(VF x, float alpha) { return select(alpha * x, x, x > 0.0f); }

INL VF leaky_bwd_f(VF dy, VF x, float alpha) { return select(select(x, dy, x > 0.0f), alpha * dy, x <= 0.0f); }

// α·expm1(x). For x <= -30, expm1(x) rounds to -1 in float, so x is clamped there.
INL VF elu_fwd_f(VF x, float alpha) {
    VF m, ql;
    VF qh = expm1_reduced_f(clamp(x, -30.0f, 0.0f), &m, &ql);
    // expm1(x) = 2^k·(1 + qh + ql) - 1 = (2^k - 1) + 2^k·qh + 2^k·ql, summed as s + e without loss:
    // 2^k - 1 is exact for k >= -24 (and -1, rightly, below), and |2^k - 1| >= |2^k·qh| when k < 0.
    VF two = pow2_m_f(m);
    VF h = two - 1.0f;
    VF t = two * qh;
    VF s = h + t;
    VF e = fma(two, ql, (h - s) + t);
    // α·(s + e), rounded once by the fma. x > 0 and NaN x (for which x <= 0 is false) give x.
    return select(x, fma((VF)alpha, s, alpha * e), x <= 0.0f);
}

// α·exp(x)·dy. Where exp(x) is subnormal (x < -87) the product may still be a normal number (dy up
// to 1e38), so exp(x) is never formed: the product am·dys·(hi + lo) of numbers of moderate size is
// rounded once, and the powers of two (2^k of exp(x), 2^ae of α = am·2^ae, the one taken out of dy)
// are applied at the end. No branch: every element takes this one path.
INL VF elu_bwd_in_f(VF dy, VF x, float alpha, float am, int ae, float xcut) {
    // Below -300, |α·dy| < 2^256 times exp(x) underflows anyway.
    VF m, ql;
    VF qh = expm1_reduced_f(clamp(x, -300.0f, 0.0f), &m, &ql);
    VF hi = 1.0f + qh;
    VF lo = ((1.0f - hi) + qh) + ql;
    // dy = dys·2^(ec - 127) exactly, ec being dy's biased exponent rounded down to a multiple of 64:
    // 2^-22 <= |dys| < 2^64 (subnormal dy included), so the product below can neither overflow nor
    // lose digits to the subnormals.
    VI ed = (CAT(as_int, VWF)(dy) >> 23) & 0xff;
    VI ec = ed & ~63;
    VF dys = dy * CAT(as_float, VWF)((254 - ec) << 23);
    // am·dys·(hi + lo) rounded once: dys·hi is split exactly by an fma.
    VF p = hi * dys;
    VF pl = fma(lo, dys, fma(hi, dys, -p));
    VF u = fma((VF)am, p, am * pl);
    // u·2^K, K = k + ae + ec - 127, in two exact steps (2^K itself may not be a float): K + 254,
    // floored at 2 (below, the result is 0 anyway), is split into the biased exponents e1 + e2 of
    // the two factors. K <= 192, so neither exceeds 223.
    VI kb = max(k_of_m_f(m) + (ae + 127) + ec, 2);
    VI e1 = kb >> 1;
    VF r = (u * CAT(as_float, VWF)(e1 << 23)) * CAT(as_float, VWF)((kb - e1) << 23);
    // dy = ±Inf or NaN: α·exp(x)·dy as the oracle's float64 has it: ±Inf, NaN, or NaN where α·exp(x)
    // is zero there (x < xcut, or α = 0).
    r = select(r, select((VF)0.0f, (VF)alpha, x >= xcut) * dy, ed == 0xff);
    return select(select(x, dy, x > 0.0f), r, x <= 0.0f);
}

// (y + α)·dy rounded once: y + α = s + e exactly (TwoSum), then s·dy + e·dy in one fma. Where the
// plain product is not finite it is the answer (the exact sum would turn Inf - Inf into NaN).
INL VF elu_bwd_out_f(VF dy, VF y, float alpha) {
    VF s = y + alpha;
    VF bb = s - y;
    VF e = (y - (s - bb)) + (alpha - bb);
    VF plain = s * dy;
    VF r = select(plain, fma(s, dy, e * dy), isfinite(plain));
    return select(select(y, dy, y > 0.0f), r, y <= 0.0f);
}

// ---------------------------------------------------------------------------------------------------
// Kernel bodies, shared by every dtype. A buffer holds elements of type PT (float, double; half or
// ushort for the 16-bit types), and the arithmetic runs in CT (float for the 16-bit types) on vectors VT
// of VW elements. LD(v, p) loads vector v of a buffer as a VT and ST(val, v, p) stores a VT there;
// LD1(i, p) and ST1(val, i, p) do the same for element i (the tail).

#define KERNEL_ARGS(PT, CT)                                                                         \
    __global PT *out, ulong out_off, __global const PT *in1, ulong in1_off, __global const PT *in2, \
        ulong in2_off, ulong n, ulong vecs_per_item, ulong item_stride, ulong loop_stride,          \
        CT alpha, CT alpha_mantissa, int alpha_exponent, CT exp_cutoff

// One input (forward): a is the vector of in1.
#define UNARY_KERNEL(NAME, PT, CT, VT, VW, LD, ST, LD1, ST1, EXPR)                                  \
    __kernel void NAME(KERNEL_ARGS(PT, CT)) {                                                       \
        __global PT *po = out + out_off;                                                            \
        __global const PT *p1 = in1 + in1_off;                                                      \
        ulong nvec = n / VW;                                                                        \
        ulong gid = get_global_id(0);                                                               \
        ulong v = gid * item_stride;                                                                \
        for (ulong j = 0; j < vecs_per_item && v < nvec; j++, v += loop_stride) {                   \
            VT a = LD(v, p1);                                                                       \
            ST(EXPR, v, po);                                                                        \
        }                                                                                           \
        ulong done = nvec * VW;                                                                     \
        if (gid == 0 && done < n) {                                                                 \
            CT ta[VW], tr[VW];                                                                      \
            for (int i = 0; i < VW; i++)                                                            \
                ta[i] = done + i < n ? LD1(done + i, p1) : (CT)0;                                   \
            VT a = CAT(vload, VW)(0, ta);                                                           \
            CAT(vstore, VW)(EXPR, 0, tr);                                                           \
            for (int i = 0; i < VW && done + i < n; i++)                                            \
                ST1(tr[i], done + i, po);                                                           \
        }                                                                                           \
    }

// Two inputs (backward): a is the vector of in1 (dy), b of in2 (x or y).
#define BINARY_KERNEL(NAME, PT, CT, VT, VW, LD, ST, LD1, ST1, EXPR)                                 \
    __kernel void NAME(KERNEL_ARGS(PT, CT)) {                                                       \
        __global PT *po = out + out_off;                                                            \
        __global const PT *p1 = in1 + in1_off;                                                      \
        __global const PT *p2 = in2 + in2_off;                                                      \
        ulong nvec = n / VW;                                                                        \
        ulong gid = get_global_id(0);                                                               \
        ulong v = gid * item_stride;                                                                \
        for (ulong j = 0; j < vecs_per_item && v < nvec; j++, v += loop_stride) {                   \
            VT a = LD(v, p1);                                                                       \
            VT b = LD(v, p2);                                                                       \
            ST(EXPR, v, po);                                                                        \
        }                                                                                           \
        ulong done = nvec * VW;                                                                     \
        if (gid == 0 && done < n) {                                                                 \
            CT ta[VW], tb[VW], tr[VW];                                                              \
            for (int i = 0; i < VW; i++) {                                                          \
                ta[i] = done + i < n ? LD1(done + i, p1) : (CT)0;                                   \
                tb[i] = done + i < n ? LD1(done + i, p2) : (CT)0;                                   \
            }                                                                                       \
            VT a = CAT(vload, VW)(0, ta);                                                           \
            VT b = CAT(vload, VW)(0, tb);                                                           \
            CAT(vstore, VW)(EXPR, 0, tr);                                                           \
            for (int i = 0; i < VW && done + i < n; i++)                                            \
                ST1(tr[i], done + i, po);                                                           \
        }                                                                                           \
    }

// The seven kernels of one dtype (backward from output shares ReLU's and LeakyReLU's backward
// kernels: y > 0 exactly when x > 0), named <kernel>_<S>, computed by the helpers <helper>_<F> (f for
// float, d for double, h and b for float16 and bfloat16).
#define ALL_KERNELS(S, F, PT, CT, VT, VW, LD, ST, LD1, ST1)                                        \
    UNARY_KERNEL(relu_fwd_##S, PT, CT, VT, VW, LD, ST, LD1, ST1, relu_fwd_##F(a))                  \
    BINARY_KERNEL(relu_bwd_##S, PT, CT, VT, VW, LD, ST, LD1, ST1, relu_bwd_##F(a, b))              \
    UNARY_KERNEL(leaky_fwd_##S, PT, CT, VT, VW, LD, ST, LD1, ST1, leaky_fwd_##F(a, alpha))         \
    BINARY_KERNEL(leaky_bwd_##S, PT, CT, VT, VW, LD, ST, LD1, ST1, leaky_bwd_##F(a, b, alpha))     \
    UNARY_KERNEL(elu_fwd_##S, PT, CT, VT, VW, LD, ST, LD1, ST1, elu_fwd_##F(a, alpha))             \
    BINARY_KERNEL(elu_bwd_in_##S, PT, CT, VT, VW, LD, ST, LD1, ST1,                                \
                  elu_bwd_in_##F(a, b, alpha, alpha_mantissa, alpha_exponent, exp_cutoff))         \
    BINARY_KERNEL(elu_bwd_out_##S, PT, CT, VT, VW, LD, ST, LD1, ST1, elu_bwd_out_##F(a, b, alpha))

// Element access of float and double: plain loads and stores.
#define LOAD1(i, p) ((p)[i])
#define STORE1(val, i, p) ((p)[i] = (val))

// Aligned access: the buffer's start (allocation base + offset) is a multiple of the vector size.
#define LOAD_AF(v, p) (((__global const VF *)(p))[v])
#define STORE_AF(val, v, p) (((__global VF *)(p))[v] = (val))

ALL_KERNELS(f32, f, float, float, VF, VWF, VLOADF, VSTOREF, LOAD1, STORE1)
#ifdef WITH_ALIGNED
ALL_KERNELS(f32_al, f, float, float, VF, VWF, LOAD_AF, STORE_AF, LOAD1, STORE1)
#endif

// ---------------------------------------------------------------------------------------------------
// float16 and bfloat16 (SEMANTICS §1.6): stored in 16 bits, computed in float on vectors of VWF (by the
// float helpers above, but for ELU's exp passes, which have shorter ones of their own below), rounded
// once to the storage type (to nearest, ties to even) when stored. α arrives
// already rounded to the 16-bit type, as a float.
//
// float16 goes through vload_half and vstore_half_rte, which are core OpenCL 1.2 (no cl_khr_fp16: the
// half type is only ever a pointer's target here) and round explicitly to nearest even, whatever the
// default rounding mode; every float16, subnormals included, is a normal float, so nothing here is
// flushed even on a device without float denormals. bfloat16 is the top half of a float, handled as
// ushort: widening shifts it up (exact), narrowing rounds by integer operations (add half an ULP, less
// one if the kept part is even, and drop the low 16 bits; a carry out of the fraction raises the
// exponent, to infinity past the largest finite value), and a NaN becomes a quiet NaN of its sign (its
// top fraction bit set, so that dropping the low bits cannot leave an infinity). A bfloat16 subnormal is
// a float subnormal once widened: a device that flushes float denormals flushes it (Info().Denormals
// says so, SEMANTICS §1.5).

#define VUS CAT(ushort, VWF)
#define VU CAT(uint, VWF)

// float16: vector v and element i of a buffer of halves; the *_AH forms need the start aligned to the
// vector (vloada_half).
#define LOAD_H(v, p) CAT(vload_half, VWF)(v, p)
#define STORE_H(val, v, p) CAT(CAT(vstore_half, VWF), _rte)(val, v, p)
#define LOAD_AH(v, p) CAT(vloada_half, VWF)(v, p)
#define STORE_AH(val, v, p) CAT(CAT(vstorea_half, VWF), _rte)(val, v, p)
#define LOAD1_H(i, p) vload_half(i, p)
#define STORE1_H(val, i, p) vstore_half_rte(val, i, p)

// ELU forward and backward from input for the 16-bit types. Their results keep 11 (float16) or 8
// (bfloat16) significant bits, so exp/expm1 needs a relative error far below the dtype's half ULP, not
// float's 1 ULP (SEMANTICS §2): one reduction with a single-float ln2 and a short polynomial, q = r +
// r²·P(r), instead of the compensated evaluation above, at about half its operations, in passes that
// are bound by arithmetic on a CPU device. P is the CPU kernels' (backend/cpu/_asm/dtypes.go, fitted
// by fit.py): 3 coefficients, relative error below 2^-15.5 (float16), and 2, below 2^-11.0 (bfloat16),
// a sixteenth of an ULP of the dtype; TestSixteenBitExhaustive checks every input. The helpers of the
// other passes are float's (the *_h and *_b names below point at them).
#define P_H(r) fma(r, fma(r, (VF)0x1.54db7p-5f, (VF)0x1.57067p-3f), (VF)0x1.000228p-1f)
#define P_B(r) fma(r, (VF)0x1.5618acp-3f, (VF)0x1.01e14ep-1f)

// expm1_short_<S> returns expm1(x) (x in [-300, 0]) as 2^k·(1 + q) - 1 through q, with *m = k +
// 1.5·2^23 as in expm1_reduced_f. ln2 rounded to float puts r off by |k|·1.9e-9, a relative error of
// exp(x) of as much: at most 2^-23 for float16's backward (k >= -58) and 2^-20.2 for bfloat16's (k >=
// -433), far inside the budget; in forward, where |expm1(x)| >= 0.29 once k != 0, less. (The CPU
// kernels' backward reduces with a two-part ln2; the polynomials' error bounds are the same.)
#define EXPM1_SHORT(S, P)                                          \
    INL VF expm1_short_##S(VF x, VF *m) {                          \
        VF mm = fma(x, (VF)0x1.715476p+0f, (VF)0x1.8p23f);         \
        VF r = fma(-(mm - 0x1.8p23f), (VF)0x1.62e43p-1f, x);       \
        *m = mm;                                                   \
        return fma(r * r, P(r), r);                                \
    }
EXPM1_SHORT(h, P_H)
EXPM1_SHORT(b, P_B)

// α·expm1(x), expm1(x) = 2^k·q + (2^k - 1) rounded once, then α times it: the second rounding costs
// 2^-24, nothing at 16 bits. Clamped at -30 as elu_fwd_f; NaN x gives x through the select.
#define ELU_FWD_16(S)                                              \
    INL VF elu_fwd_##S(VF x, float alpha) {                        \
        VF m;                                                      \
        VF q = expm1_short_##S(clamp(x, -30.0f, 0.0f), &m);        \
        VF two = pow2_m_f(m);                                      \
        return select(x, alpha * fma(two, q, two - 1.0f), x <= 0.0f); \
    }
ELU_FWD_16(h)
ELU_FWD_16(b)

// float16: α·exp(x)·dy = W·(1 + q), W = 2^k·α·dy exact (α·dy is a product of two 11-bit significands
// below 2^32, 2^k at least 2^-58): one rounding. Below x = -40, |α·exp(x)·dy| < 2^-25.7, under 2^-25,
// half the smallest float16 subnormal: it rounds to 0, so x is clamped there (2^k stays normal). dy infinite or NaN as in
// elu_bwd_in_f.
INL VF elu_bwd_in_h(VF dy, VF x, float alpha, float am, int ae, float xcut) {
    VF m;
    VF q = expm1_short_h(clamp(x, -40.0f, 0.0f), &m);
    VF w = pow2_m_f(m) * (alpha * dy);
    VF r = fma(w, q, w);
    r = select(r, select((VF)0.0f, (VF)alpha, x >= xcut) * dy, !isfinite(dy));
    return select(select(x, dy, x > 0.0f), r, x <= 0.0f);
}

// bfloat16 has float's range: α·dy may overflow, and exp(x) underflow, where their product does not, so
// the powers of two are applied last, in two steps, as in elu_bwd_in_f; p = am·dys is exact (two 8-bit
// significands) and p·(1 + q) is rounded once.
INL VF elu_bwd_in_b(VF dy, VF x, float alpha, float am, int ae, float xcut) {
    VF m;
    VF q = expm1_short_b(clamp(x, -300.0f, 0.0f), &m);
    VI ed = (CAT(as_int, VWF)(dy) >> 23) & 0xff;
    VI ec = ed & ~63;
    VF p = am * (dy * CAT(as_float, VWF)((254 - ec) << 23));
    VF u = fma(p, q, p);
    VI kb = max(k_of_m_f(m) + (ae + 127) + ec, 2);
    VI e1 = kb >> 1;
    VF r = (u * CAT(as_float, VWF)(e1 << 23)) * CAT(as_float, VWF)((kb - e1) << 23);
    r = select(r, select((VF)0.0f, (VF)alpha, x >= xcut) * dy, ed == 0xff);
    return select(select(x, dy, x > 0.0f), r, x <= 0.0f);
}

#define relu_fwd_h relu_fwd_f
#define relu_bwd_h relu_bwd_f
#define leaky_fwd_h leaky_fwd_f
#define leaky_bwd_h leaky_bwd_f
#define elu_bwd_out_h elu_bwd_out_f
#define relu_fwd_b relu_fwd_f
#define relu_bwd_b relu_bwd_f
#define leaky_fwd_b leaky_fwd_f
#define leaky_bwd_b leaky_bwd_f
#define elu_bwd_out_b elu_bwd_out_f

ALL_KERNELS(f16, h, half, float, VF, VWF, LOAD_H, STORE_H, LOAD1_H, STORE1_H)
#ifdef WITH_ALIGNED
ALL_KERNELS(f16_al, h, half, float, VF, VWF, LOAD_AH, STORE_AH, LOAD1_H, STORE1_H)
#endif

// bfloat16 widened to float (exact) and float rounded to bfloat16 (see above).
INL VF bf16_widen(VUS u) { return CAT(as_float, VWF)(CAT(convert_uint, VWF)(u) << 16); }

INL VUS bf16_narrow(VF f) {
    VU b = CAT(as_uint, VWF)(f);
    VU r = (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
    r = select(r, (b >> 16) | 0x40u, (b & 0x7fffffffu) > 0x7f800000u);
    return CAT(convert_ushort, VWF)(r);
}

INL float bf16_widen1(ushort u) { return as_float((uint)u << 16); }

INL ushort bf16_narrow1(float f) {
    uint b = as_uint(f);
    uint r = (b & 0x7fffffffu) > 0x7f800000u ? (b >> 16) | 0x40u : (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
    return (ushort)r;
}

#define LOAD_B(v, p) bf16_widen(CAT(vload, VWF)(v, p))
#define STORE_B(val, v, p) CAT(vstore, VWF)(bf16_narrow(val), v, p)
#define LOAD_AB(v, p) bf16_widen(((__global const VUS *)(p))[v])
#define STORE_AB(val, v, p) (((__global VUS *)(p))[v] = bf16_narrow(val))
#define LOAD1_B(i, p) bf16_widen1((p)[i])
#define STORE1_B(val, i, p) ((p)[i] = bf16_narrow1(val))

ALL_KERNELS(bf16, b, ushort, float, VF, VWF, LOAD_B, STORE_B, LOAD1_B, STORE1_B)
#ifdef WITH_ALIGNED
ALL_KERNELS(bf16_al, b, ushort, float, VF, VWF, LOAD_AB, STORE_AB, LOAD1_B, STORE1_B)
#endif

// ---------------------------------------------------------------------------------------------------
// double: the same algorithms with double's constants (3 more Taylor terms) and ranges.

#ifdef HAVE_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

#define VD CAT(double, VWD)
#define VL CAT(long, VWD)
#define VLOADD CAT(vload, VWD)
#define VSTORED CAT(vstore, VWD)

INL VL k_of_m_d(VD m) { return CAT(as_long, VWD)(m) - 0x4338000000000000L; }

INL VD pow2_m_d(VD m) { return CAT(as_double, VWD)((CAT(as_ulong, VWD)(m) << 52) + 0x3ff0000000000000UL); }

// As expm1_reduced_f, for x in [-2200, 0].
INL VD expm1_reduced_d(VD x, VD *m, VD *ql) {
    VD mm = fma(x, (VD)0x1.71547652b82fep+0, (VD)0x1.8p52);
    VD kf = mm - 0x1.8p52;
    *m = mm;
    // ln2 = L1 + L2 with L1 = double(ln2).
    VD r = fma(-kf, (VD)0x1.62e42fefa39efp-1, x);
    VD c = kf * -0x1.abc9e3b39803fp-56;
    // P(r) = 1/3! + r/4! + ... + r^10/13!; the next term is below 2^-61 here.
    VD p = fma(r, (VD)0x1.6124613a86d09p-33, (VD)0x1.1eed8eff8d898p-29);
    p = fma(p, r, (VD)0x1.ae64567f544e4p-26);
    p = fma(p, r, (VD)0x1.27e4fb7789f5cp-22);
    p = fma(p, r, (VD)0x1.71de3a556c734p-19);
    p = fma(p, r, (VD)0x1.a01a01a01a01ap-16);
    p = fma(p, r, (VD)0x1.a01a01a01a01ap-13);
    p = fma(p, r, (VD)0x1.6c16c16c16c17p-10);
    p = fma(p, r, (VD)0x1.1111111111111p-7);
    p = fma(p, r, (VD)0x1.5555555555555p-5);
    p = fma(p, r, (VD)0x1.5555555555555p-3);
    VD rr = r * r;
    VD hr = 0.5 * rr;
    VD qh = r + hr;
    VD lo = fma(r * rr, p, (r - qh) + hr);
    *ql = fma(c, qh + lo, lo + c);
    return qh;
}

INL VD relu_fwd_d(VD x) { return select(x, (VD)0.0, x <= 0.0); }

INL VD relu_bwd_d(VD dy, VD x) { return select(select(x, dy, x > 0.0), (VD)0.0, x <= 0.0); }

INL VD leaky_fwd_d(VD x, double alpha) { return select(alpha * x, x, x > 0.0); }

INL VD leaky_bwd_d(VD dy, VD x, double alpha) { return select(select(x, dy, x > 0.0), alpha * dy, x <= 0.0); }

// For x <= -60, expm1(x) rounds to -1 in double.
INL VD elu_fwd_d(VD x, double alpha) {
    VD m, ql;
    VD qh = expm1_reduced_d(clamp(x, -60.0, 0.0), &m, &ql);
    VD two = pow2_m_d(m);
    VD h = two - 1.0;
    VD t = two * qh;
    VD s = h + t;
    VD e = fma(two, ql, (h - s) + t);
    return select(x, fma((VD)alpha, s, alpha * e), x <= 0.0);
}

INL VD elu_bwd_in_d(VD dy, VD x, double alpha, double am, int ae, double xcut) {
    // Below -2200, |α·dy| < 2^2048 times exp(x) underflows anyway.
    VD m, ql;
    VD qh = expm1_reduced_d(clamp(x, -2200.0, 0.0), &m, &ql);
    VD hi = 1.0 + qh;
    VD lo = ((1.0 - hi) + qh) + ql;
    // ec: dy's biased exponent rounded down to a multiple of 512; 2^-51 <= |dys| < 2^512.
    VL ed = (CAT(as_long, VWD)(dy) >> 52) & 0x7ff;
    VL ec = ed & ~511L;
    VD dys = dy * CAT(as_double, VWD)((2046 - ec) << 52);
    VD p = hi * dys;
    VD pl = fma(lo, dys, fma(hi, dys, -p));
    VD u = fma((VD)am, p, am * pl);
    // K = k + ae + ec - 1023 <= 1536; K + 2046 floored at 2, split into e1 + e2 <= 3582.
    VL kb = max(k_of_m_d(m) + (long)(ae + 1023) + ec, 2L);
    VL e1 = kb >> 1;
    VD r = (u * CAT(as_double, VWD)(e1 << 52)) * CAT(as_double, VWD)((kb - e1) << 52);
    r = select(r, select((VD)0.0, (VD)alpha, x >= xcut) * dy, ed == 0x7ff);
    return select(select(x, dy, x > 0.0), r, x <= 0.0);
}

INL VD elu_bwd_out_d(VD dy, VD y, double alpha) {
    VD s = y + alpha;
    VD bb = s - y;
    VD e = (y - (s - bb)) + (alpha - bb);
    VD plain = s * dy;
    VD r = select(plain, fma(s, dy, e * dy), isfinite(plain));
    return select(select(y, dy, y > 0.0), r, y <= 0.0);
}

#define LOAD_AD(v, p) (((__global const VD *)(p))[v])
#define STORE_AD(val, v, p) (((__global VD *)(p))[v] = (val))

ALL_KERNELS(f64, d, double, double, VD, VWD, VLOADD, VSTORED, LOAD1, STORE1)
#ifdef WITH_ALIGNED
ALL_KERNELS(f64_al, d, double, double, VD, VWD, LOAD_AD, STORE_AD, LOAD1, STORE1)
#endif

#endif // HAVE_FP64
