// gpuact's CUDA kernels: the nine formulas of docs/SEMANTICS.md §1.1 for float32, float64, float16 and
// bfloat16, elementwise over device buffers that may start at any element (the Go side passes base +
// offset). The 16-bit kernels store float16/bfloat16 bits and compute in float32 with the float32
// kernels' formulas (SEMANTICS §1.6): inputs widened exactly, one rounding to nearest even at the end.
//
// Compiled ahead of time into activations.fatbin by `make generate` (gen_cuda.sh): no --use_fast_math, no
// flush-to-zero, so float32 denormals are preserved and IEEE rounding holds everywhere.
//
// Shape, for bandwidth: every kernel is a grid-stride loop sized by the host from the SM count. The
// "vec" kernels move 16 bytes per load and store (float4, double2, uint4 = 8 16-bit elements) and each thread keeps two of them in
// flight per input; a few scalar head elements bring the output to a 16-byte boundary and a scalar
// tail finishes. The host picks "vec" when the output and the inputs share their alignment modulo 16
// bytes, and the "scalar" kernels (four independent loads per thread per step) otherwise.
//
// Accuracy (SEMANTICS §2): ReLU and LeakyReLU are exact selects and one IEEE multiply in the data type.
// ELU evaluates exp and expm1 itself, with the algorithm of activations.cl (range reduction x = k·ln2 +
// r + c, a polynomial for expm1(r) carried as an unevaluated sum of two numbers, one rounding at the
// end; within 1 ULP of the exact value), in the data type's own arithmetic: the float32 and 16-bit kernels use no
// float64 instruction (activations.resources.txt counts them; a test in this package fails on any), and
// no libdevice function is called.
//
// Bit for bit on the host: every floating-point operation below is written out as an IEEE operation
// rounded to nearest (rn_add, rn_mul, rn_fma, ...: __fadd_rn, __fmul_rn, __fmaf_rn on the device, which
// nvcc never contracts or reorders; plain operators and fmaf/fma from <cmath> on the host, compiled
// with -ffp-contract=off), and the rest is integer work on the bits. So the host build of this file
// (emu/emu.cu, internal/cudaemu) computes the same bits as a GPU, and its checks of the math (emu.cu:
// every negative float32, 10^7 float64 samples) hold for the GPU; the GPU check confirms it.

#include <cmath>
#include <stdint.h>
#include <string.h>

#define BLOCK 256

// The formulas and loops are host-and-device code so that emu/emu.cu can run them on the CPU, thread by
// thread, to check indexing and the math where there is no GPU (gen_cuda.sh runs it after compiling).
#define HD __host__ __device__ __forceinline__

// ---- IEEE operations, rounded to nearest, never contracted: the same on the device and the host ----

#ifdef __CUDA_ARCH__
HD float rn_add(float a, float b) { return __fadd_rn(a, b); }
HD float rn_sub(float a, float b) { return __fsub_rn(a, b); }
HD float rn_mul(float a, float b) { return __fmul_rn(a, b); }
HD float rn_fma(float a, float b, float c) { return __fmaf_rn(a, b, c); }
HD double rn_add(double a, double b) { return __dadd_rn(a, b); }
HD double rn_sub(double a, double b) { return __dsub_rn(a, b); }
HD double rn_mul(double a, double b) { return __dmul_rn(a, b); }
HD double rn_fma(double a, double b, double c) { return __fma_rn(a, b, c); }
HD uint32_t bits_of(float v) { return __float_as_uint(v); }
HD float float_of(uint32_t u) { return __uint_as_float(u); }
HD uint64_t bits_of(double v) { return (uint64_t)__double_as_longlong(v); }
HD double double_of(uint64_t u) { return __longlong_as_double((long long)u); }
#else
// The host compiler must not contract these into FMAs (-ffp-contract=off: gen_cuda.sh, internal/cudaemu).
HD float rn_add(float a, float b) { return a + b; }
HD float rn_sub(float a, float b) { return a - b; }
HD float rn_mul(float a, float b) { return a * b; }
HD float rn_fma(float a, float b, float c) { return std::fma(a, b, c); }
HD double rn_add(double a, double b) { return a + b; }
HD double rn_sub(double a, double b) { return a - b; }
HD double rn_mul(double a, double b) { return a * b; }
HD double rn_fma(double a, double b, double c) { return std::fma(a, b, c); }
HD uint32_t bits_of(float v) { uint32_t u; memcpy(&u, &v, 4); return u; }
HD float float_of(uint32_t u) { float v; memcpy(&v, &u, 4); return v; }
HD uint64_t bits_of(double v) { uint64_t u; memcpy(&u, &v, 8); return u; }
HD double double_of(uint64_t u) { double v; memcpy(&v, &u, 8); return v; }
#endif

// The kernels' α and what ELU backward from input takes with it (the host computes them:
// formula.MantissaExponent, formula.ExpCutoff): α = am·2^ae with 1 <= |am| < 2 (am = ae = 0 for α = 0),
// and xcut, the smallest x for which the oracle's float64 α·exp(x) is not zero.
template <typename T> struct Alpha {
    T a, am;
    int ae;
    T xcut;
};

// ---- float32 ELU, in float32 alone. Device functions of float, for any storage type's kernel. ----

// The reduction's m = k + 1.5·2^23 (a float) holds the integer k in its low mantissa bits.
HD int k_of_m_f32(float m) { return (int)(int32_t)(bits_of(m) - 0x4B400000u); }

// 2^k straight from m, for k in [-126, 0]: shifting m's bits left by 23 keeps only k's low bits.
HD float pow2_m_f32(float m) { return float_of((bits_of(m) << 23) + 0x3f800000u); }

// expm1_reduced_f32 reduces x in [-300, 0] as x = k·ln2 + r + c, with r exact, |r| <= ln2/2 (plus a
// hair) and c tiny, and returns expm1(r + c) as qh + *ql. *m receives k + 1.5·2^23 (k_of_m_f32,
// pow2_m_f32).
HD float expm1_reduced_f32(float x, float *m, float *ql) {
    // k = rint(x·log2(e)): adding 1.5·2^23 pushes the fraction out of the mantissa.
    const float mm = rn_fma(x, 0x1.715476p+0f, 0x1.8p23f);
    const float kf = rn_sub(mm, 0x1.8p23f);
    *m = mm;
    // ln2 = L1 - L2 with L1 = float(ln2): kf·L1 is exact inside the fma and x - kf·L1 is
    // representable, so r is exact; c = kf·L2 is the rest of the reduction (|c| < 1e-6).
    const float r = rn_fma(-kf, 0x1.62e43p-1f, x);
    const float c = rn_mul(kf, 0x1.05c61p-29f);
    // expm1(r) = r + r²/2 + r³·P(r), P the Taylor series 1/3! + r/4! + ... + r^5/8! (the next term is
    // below 2^-32 here), in Estrin's scheme. r + r²/2 is summed exactly (Fast2Sum: |r²/2| < |r|).
    const float rr = rn_mul(r, r);
    const float p01 = rn_fma(r, 0x1.555556p-5f, 0x1.555556p-3f);
    const float p23 = rn_fma(r, 0x1.6c16c2p-10f, 0x1.111112p-7f);
    const float p45 = rn_fma(r, 0x1.a01a02p-16f, 0x1.a01a02p-13f);
    const float p = rn_fma(rr, rn_fma(rr, p45, p23), p01);
    const float hr = rn_mul(0.5f, rr);
    const float qh = rn_add(r, hr);
    const float lo = rn_fma(rn_mul(r, rr), p, rn_add(rn_sub(r, qh), hr)); // expm1(r) = qh + lo
    // expm1(r + c) = expm1(r) + c·(1 + expm1(r)) to first order in the tiny c.
    *ql = rn_fma(c, rn_add(qh, lo), rn_add(lo, c));
    return qh;
}

// elu_f32_expm1 returns α·expm1(x) for x <= 0 (not NaN), within 1 ULP of the exact value. For x <= -30,
// expm1(x) rounds to -1 in float, so x is clamped there.
HD float elu_f32_expm1(float x, float alpha) {
    float m, ql;
    const float qh = expm1_reduced_f32(x < -30.0f ? -30.0f : x, &m, &ql);
    // expm1(x) = 2^k·(1 + qh + ql) - 1 = (2^k - 1) + 2^k·qh + 2^k·ql, summed as s + e without loss:
    // 2^k - 1 is exact for k >= -24 (and -1, rightly, below), and |2^k - 1| >= |2^k·qh| when k < 0.
    const float two = pow2_m_f32(m);
    const float h = rn_sub(two, 1.0f);
    const float t = rn_mul(two, qh);
    const float s = rn_add(h, t);
    const float e = rn_fma(two, ql, rn_add(rn_sub(h, s), t));
    return rn_fma(alpha, s, rn_mul(alpha, e)); // α·(s + e), rounded once
}

// exp_times_f32 returns α·exp(x)·dy for x <= 0 (not NaN), α given as p. Where exp(x) is subnormal (x <
// -87) the product may still be a normal number (dy up to 1e38), so exp(x) is never formed: the
// product am·dys·(hi + lo) of numbers of moderate size is rounded once, and the powers of two (2^k of
// exp(x), 2^ae of α, the one taken out of dy) are applied at the end.
HD float exp_times_f32(float dy, float x, const Alpha<float> &p) {
    const uint32_t ed = (bits_of(dy) >> 23) & 0xff;
    // dy = ±Inf or NaN: α·exp(x)·dy as the oracle's float64 has it: ±Inf, NaN, or NaN where α·exp(x)
    // is zero there (x < xcut, or α = 0).
    if (ed == 0xff) return rn_mul(x >= p.xcut ? p.a : 0.0f, dy);
    // Below -300, |α·dy| < 2^256 times exp(x) underflows anyway.
    float m, ql;
    const float qh = expm1_reduced_f32(x < -300.0f ? -300.0f : x, &m, &ql);
    const float hi = rn_add(1.0f, qh);
    const float lo = rn_add(rn_add(rn_sub(1.0f, hi), qh), ql);
    // dy = dys·2^(ec - 127) exactly, ec being dy's biased exponent rounded down to a multiple of 64:
    // 2^-22 <= |dys| < 2^64 (subnormal dy included), so the product below can neither overflow nor
    // lose digits to the subnormals.
    const uint32_t ec = ed & ~63u;
    const float dys = rn_mul(dy, float_of((254u - ec) << 23));
    // am·dys·(hi + lo) rounded once: dys·hi is split exactly by an fma.
    const float ph = rn_mul(hi, dys);
    const float pl = rn_fma(lo, dys, rn_fma(hi, dys, -ph));
    const float u = rn_fma(p.am, ph, rn_mul(p.am, pl));
    // u·2^K, K = k + ae + ec - 127, in two exact steps (2^K itself may not be a float): K + 254,
    // floored at 2 (below, the result is 0 anyway), is split into the biased exponents e1 + e2 of
    // the two factors. K <= 192, so neither exceeds 223.
    int kb = k_of_m_f32(m) + (p.ae + 127) + (int)ec;
    kb = kb < 2 ? 2 : kb;
    const int e1 = kb >> 1;
    return rn_mul(rn_mul(u, float_of((uint32_t)e1 << 23)), float_of((uint32_t)(kb - e1) << 23));
}

// ---- float64 ELU: the same algorithms with double's constants (3 more Taylor terms) and ranges ----

HD long long k_of_m_f64(double m) { return (long long)(int64_t)(bits_of(m) - 0x4338000000000000ull); }

HD double pow2_m_f64(double m) { return double_of((bits_of(m) << 52) + 0x3ff0000000000000ull); }

// As expm1_reduced_f32, for x in [-2200, 0].
HD double expm1_reduced_f64(double x, double *m, double *ql) {
    const double mm = rn_fma(x, 0x1.71547652b82fep+0, 0x1.8p52);
    const double kf = rn_sub(mm, 0x1.8p52);
    *m = mm;
    // ln2 = L1 + L2 with L1 = double(ln2).
    const double r = rn_fma(-kf, 0x1.62e42fefa39efp-1, x);
    const double c = rn_mul(kf, -0x1.abc9e3b39803fp-56);
    // P(r) = 1/3! + r/4! + ... + r^10/13!; the next term is below 2^-61 here.
    double p = rn_fma(r, 0x1.6124613a86d09p-33, 0x1.1eed8eff8d898p-29);
    p = rn_fma(p, r, 0x1.ae64567f544e4p-26);
    p = rn_fma(p, r, 0x1.27e4fb7789f5cp-22);
    p = rn_fma(p, r, 0x1.71de3a556c734p-19);
    p = rn_fma(p, r, 0x1.a01a01a01a01ap-16);
    p = rn_fma(p, r, 0x1.a01a01a01a01ap-13);
    p = rn_fma(p, r, 0x1.6c16c16c16c17p-10);
    p = rn_fma(p, r, 0x1.1111111111111p-7);
    p = rn_fma(p, r, 0x1.5555555555555p-5);
    p = rn_fma(p, r, 0x1.5555555555555p-3);
    const double rr = rn_mul(r, r);
    const double hr = rn_mul(0.5, rr);
    const double qh = rn_add(r, hr);
    const double lo = rn_fma(rn_mul(r, rr), p, rn_add(rn_sub(r, qh), hr));
    *ql = rn_fma(c, rn_add(qh, lo), rn_add(lo, c));
    return qh;
}

// α·expm1(x) for x <= 0 (not NaN); for x <= -60, expm1(x) rounds to -1 in double.
HD double elu_f64_expm1(double x, double alpha) {
    double m, ql;
    const double qh = expm1_reduced_f64(x < -60.0 ? -60.0 : x, &m, &ql);
    const double two = pow2_m_f64(m);
    const double h = rn_sub(two, 1.0);
    const double t = rn_mul(two, qh);
    const double s = rn_add(h, t);
    const double e = rn_fma(two, ql, rn_add(rn_sub(h, s), t));
    return rn_fma(alpha, s, rn_mul(alpha, e));
}

// α·exp(x)·dy for x <= 0 (not NaN), as exp_times_f32.
HD double exp_times_f64(double dy, double x, const Alpha<double> &p) {
    const uint64_t ed = (bits_of(dy) >> 52) & 0x7ff;
    if (ed == 0x7ff) return rn_mul(x >= p.xcut ? p.a : 0.0, dy);
    // Below -2200, |α·dy| < 2^2048 times exp(x) underflows anyway.
    double m, ql;
    const double qh = expm1_reduced_f64(x < -2200.0 ? -2200.0 : x, &m, &ql);
    const double hi = rn_add(1.0, qh);
    const double lo = rn_add(rn_add(rn_sub(1.0, hi), qh), ql);
    // ec: dy's biased exponent rounded down to a multiple of 512; 2^-51 <= |dys| < 2^512.
    const uint64_t ec = ed & ~511ull;
    const double dys = rn_mul(dy, double_of((2046ull - ec) << 52));
    const double ph = rn_mul(hi, dys);
    const double pl = rn_fma(lo, dys, rn_fma(hi, dys, -ph));
    const double u = rn_fma(p.am, ph, rn_mul(p.am, pl));
    // K = k + ae + ec - 1023 <= 1536; K + 2046 floored at 2, split into e1 + e2 <= 3582.
    long long kb = k_of_m_f64(m) + (p.ae + 1023) + (long long)ec;
    kb = kb < 2 ? 2 : kb;
    const long long e1 = kb >> 1;
    return rn_mul(rn_mul(u, double_of((uint64_t)e1 << 52)), double_of((uint64_t)(kb - e1) << 52));
}

// ---- both dtypes ----

// (y + α)·dy rounded once, for y <= 0: y + α = s + e exactly (TwoSum), then s·dy + e·dy in one fma.
// Where the plain product is not finite it is the answer (the exact sum would turn Inf - Inf into NaN).
template <typename T> HD T sum_times(T y, T alpha, T dy) {
    const T s = rn_add(y, alpha);
    const T bb = rn_sub(s, y);
    const T e = rn_add(rn_sub(y, rn_sub(s, bb)), rn_sub(alpha, bb));
    const T plain = rn_mul(s, dy);
    if (rn_sub(plain, plain) != T(0)) return plain; // ±Inf or NaN
    return rn_fma(s, dy, rn_mul(e, dy));
}

HD float elu_expm1(float x, float alpha) { return elu_f32_expm1(x, alpha); }
HD double elu_expm1(double x, double alpha) { return elu_f64_expm1(x, alpha); }
HD float exp_times(float dy, float x, const Alpha<float> &p) { return exp_times_f32(dy, x, p); }
HD double exp_times(double dy, double x, const Alpha<double> &p) { return exp_times_f64(dy, x, p); }

// ---- the formulas: apply(a, b, alpha) with (a, b) = (x, -) forward, (dy, x) or (dy, y) backward ----

struct ReluFwd {
    template <typename T> HD static T apply(T x, T, const Alpha<T> &) {
        return (x > T(0) || x != x) ? x : T(0);
    }
};

// x > 0 ? dy : +0; from output with y in place of x.
struct ReluBwd {
    template <typename T> HD static T apply(T dy, T x, const Alpha<T> &) {
        return x != x ? x : (x > T(0) ? dy : T(0));
    }
};

struct LeakyFwd {
    template <typename T> HD static T apply(T x, T, const Alpha<T> &p) {
        return (x > T(0) || x != x) ? x : rn_mul(p.a, x);
    }
};

// x > 0 ? dy : alpha*dy; from output with y in place of x (alpha >= 0 is checked on the host).
struct LeakyBwd {
    template <typename T> HD static T apply(T dy, T x, const Alpha<T> &p) {
        return x != x ? x : (x > T(0) ? dy : rn_mul(p.a, dy));
    }
};

struct EluFwd {
    template <typename T> HD static T apply(T x, T, const Alpha<T> &p) {
        return (x > T(0) || x != x) ? x : elu_expm1(x, p.a);
    }
};

struct EluBwdIn {
    template <typename T> HD static T apply(T dy, T x, const Alpha<T> &p) {
        return x != x ? x : (x > T(0) ? dy : exp_times(dy, x, p));
    }
};

// y > 0 ? dy : (y + alpha)*dy (alpha >= 0 is checked on the host).
struct EluBwdOut {
    template <typename T> HD static T apply(T dy, T y, const Alpha<T> &p) {
        return y != y ? y : (y > T(0) ? dy : sum_times(y, p.a, dy));
    }
};

// ---- the 16-bit storage types (SEMANTICS §1.6): float16 and bfloat16 bits in uint16_t ----
//
// The conversions are integer work on the bits plus at most one exact or correctly rounded float32
// operation, the same code on the device and the host, so the host build gives the GPU's bits by
// construction (no cvt instruction, no cuda_fp16.h/cuda_bf16.h, nothing that needs sm_53 or sm_80).

// widen_f16 is float16 → float32, exact: the algorithm of backend/cpu's widenF16 (F. Giesen's
// half_to_float_fast). A subnormal is normalised by one exact float32 subtraction (its result is a
// normal float32), so even flushing float32 denormals would not touch it.
HD float widen_f16(uint16_t h) {
    uint32_t o = (uint32_t)(h & 0x7fffu) << 13; // exponent and fraction, in float32's place
    const uint32_t e = o & (0x7c00u << 13);
    o += (127u - 15u) << 23; // rebias the exponent
    if (e == (0x7c00u << 13)) o += (128u - 16u) << 23; // Inf and NaN: exponent all ones, payload kept
    else if (e == 0) o = bits_of(rn_sub(float_of(o + (1u << 23)), float_of(113u << 23))); // zero, subnormal
    return float_of(o | (uint32_t)(h & 0x8000u) << 16);
}

// narrow_f16 is float32 → float16 rounded to nearest even (backend/cpu's narrowF16, after Giesen's
// float_to_half_fast3_rtne): from 65520 on ±Inf, a NaN the quiet NaN 0x7e00 with its sign.
HD uint16_t narrow_f16(float f) {
    uint32_t u = bits_of(f);
    const uint32_t sign = u & 0x80000000u;
    u ^= sign;
    uint32_t o;
    if (u >= (127u + 16u) << 23) { // 2^16 and up (after rounding, anything from 65520 is Inf), NaN
        o = u > 0x7f800000u ? 0x7e00u : 0x7c00u;
    } else if (u < 113u << 23) { // below 2^-14: a float16 subnormal or zero. Adding 0.5, whose float32 ULP
        // is float16's smallest subnormal 2^-24, rounds to nearest even; 0.5's bits taken away leave it.
        o = bits_of(rn_add(float_of(u), 0.5f)) - 0x3f000000u;
    } else { // normal: rebias, add half an ULP less one and the kept part's last bit (ties to even)
        o = (u - ((127u - 15u) << 23) + 0xfffu + ((u >> 13) & 1u)) >> 13;
    }
    return (uint16_t)(o | sign >> 16);
}

// bfloat16 is float32's top half: widening is a shift; narrowing rounds to nearest even by integer
// addition, and a NaN keeps its sign and top payload bits and is made quiet (backend/formula's BF16From).
HD float widen_bf16(uint16_t h) { return float_of((uint32_t)h << 16); }

HD uint16_t narrow_bf16(float f) {
    const uint32_t u = bits_of(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// Half<Op, BF> is formula Op on 16-bit storage: the inputs widened exactly to float, Op's float32 code
// (the float32 kernels' very formula), the result rounded once to the storage type.
template <class Op, bool BF> struct Half {
    HD static uint16_t apply(uint16_t a, uint16_t b, const Alpha<float> &p) {
        if (BF) return narrow_bf16(Op::apply(widen_bf16(a), widen_bf16(b), p));
        return narrow_f16(Op::apply(widen_f16(a), widen_f16(b), p));
    }
};

// ---- vectors ----

template <class Op> HD float4 apply_vec(float4 a, float4 b, const Alpha<float> &p) {
    return make_float4(Op::apply(a.x, b.x, p), Op::apply(a.y, b.y, p), Op::apply(a.z, b.z, p), Op::apply(a.w, b.w, p));
}

template <class Op> HD double2 apply_vec(double2 a, double2 b, const Alpha<double> &p) {
    return make_double2(Op::apply(a.x, b.x, p), Op::apply(a.y, b.y, p));
}

// Two 16-bit elements in a 32-bit word, the first in the low half (little-endian, as memory holds them).
template <class Op> HD uint32_t apply_pair(uint32_t a, uint32_t b, const Alpha<float> &p) {
    const uint32_t lo = Op::apply((uint16_t)(a & 0xffffu), (uint16_t)(b & 0xffffu), p);
    const uint32_t hi = Op::apply((uint16_t)(a >> 16), (uint16_t)(b >> 16), p);
    return lo | hi << 16;
}

// Eight 16-bit elements in a uint4.
template <class Op> HD uint4 apply_vec(uint4 a, uint4 b, const Alpha<float> &p) {
    return make_uint4(apply_pair<Op>(a.x, b.x, p), apply_pair<Op>(a.y, b.y, p), apply_pair<Op>(a.z, b.z, p),
                      apply_pair<Op>(a.w, b.w, p));
}

// ---- the loops ----

// run_vec: scalar head up to the output's 16-byte boundary, 16-byte vectors (two per thread per step),
// scalar tail. The inputs share the output's alignment (the host checks).
// tid is the thread's index in the grid, nth the number of threads in the grid.
template <class Op, typename T, typename V, bool TWO, typename C>
HD void run_vec(unsigned long long tid, unsigned long long nth, T *out, const T *a, const T *b, unsigned long long n,
                const Alpha<C> &p) {
    const int W = sizeof(V) / sizeof(T);
    unsigned long long h = ((16 - ((uintptr_t)out & 15)) & 15) / sizeof(T);
    if (h > n) h = n;
    for (unsigned long long i = tid; i < h; i += nth) out[i] = Op::apply(a[i], TWO ? b[i] : T(0), p);
    const unsigned long long m = (n - h) / W;
    V *vo = reinterpret_cast<V *>(out + h);
    const V *va = reinterpret_cast<const V *>(a + h);
    const V *vb = TWO ? reinterpret_cast<const V *>(b + h) : va;
    unsigned long long i = tid;
    for (; i + nth < m; i += 2 * nth) {
        V x0 = va[i], x1 = va[i + nth];
        V y0 = x0, y1 = x1;
        if (TWO) {
            y0 = vb[i];
            y1 = vb[i + nth];
        }
        vo[i] = apply_vec<Op>(x0, y0, p);
        vo[i + nth] = apply_vec<Op>(x1, y1, p);
    }
    if (i < m) {
        V x0 = va[i];
        vo[i] = apply_vec<Op>(x0, TWO ? vb[i] : x0, p);
    }
    const unsigned long long t = h + m * W;
    for (unsigned long long j = t + tid; j < n; j += nth) out[j] = Op::apply(a[j], TWO ? b[j] : T(0), p);
}

// run_scalar: inputs and output misaligned differently; four independent loads per thread per step.
template <class Op, typename T, bool TWO, typename C>
HD void run_scalar(unsigned long long tid, unsigned long long nth, T *out, const T *a, const T *b, unsigned long long n,
                   const Alpha<C> &p) {
    unsigned long long i = tid;
    for (; i + 3 * nth < n; i += 4 * nth) {
        T x0 = a[i], x1 = a[i + nth], x2 = a[i + 2 * nth], x3 = a[i + 3 * nth];
        T y0 = 0, y1 = 0, y2 = 0, y3 = 0;
        if (TWO) {
            y0 = b[i];
            y1 = b[i + nth];
            y2 = b[i + 2 * nth];
            y3 = b[i + 3 * nth];
        }
        out[i] = Op::apply(x0, y0, p);
        out[i + nth] = Op::apply(x1, y1, p);
        out[i + 2 * nth] = Op::apply(x2, y2, p);
        out[i + 3 * nth] = Op::apply(x3, y3, p);
    }
    for (; i < n; i += nth) out[i] = Op::apply(a[i], TWO ? b[i] : T(0), p);
}

// ---- the entry points: gpuact_<op>_<dtype>_<vec|scalar>(out, a, b, n, alpha, alpha_mantissa,
// alpha_exponent, exp_cutoff), every kernel the same parameters (see Alpha): the float32 and float64
// kernels take α and the rest in their own type, the 16-bit ones (storage uint16_t) in float, as the
// float32 kernels do, α rounded to the 16-bit type by the host ----

#define TID ((unsigned long long)blockIdx.x * blockDim.x + threadIdx.x)
#define NTH ((unsigned long long)gridDim.x * blockDim.x)

// T: the storage type, C: the type of α (the arithmetic's).
#define GPUACT_KERNEL(NAME, T, C, SUFFIX, RUN)                                                                 \
    extern "C" __global__ void __launch_bounds__(BLOCK) gpuact_##NAME##_##SUFFIX(                              \
        T *o, const T *a, const T *b, unsigned long long n, C alpha, C alpha_mantissa, int alpha_exponent,     \
        C exp_cutoff) {                                                                                        \
        const Alpha<C> p = {alpha, alpha_mantissa, alpha_exponent, exp_cutoff};                                \
        RUN(TID, NTH, o, a, b, n, p);                                                                          \
    }

#define GPUACT_KERNELS(NAME, OP, TWO)                                                                          \
    GPUACT_KERNEL(NAME, float, float, f32_vec, (run_vec<OP, float, float4, TWO>))                              \
    GPUACT_KERNEL(NAME, float, float, f32_scalar, (run_scalar<OP, float, TWO>))                                \
    GPUACT_KERNEL(NAME, double, double, f64_vec, (run_vec<OP, double, double2, TWO>))                          \
    GPUACT_KERNEL(NAME, double, double, f64_scalar, (run_scalar<OP, double, TWO>))                             \
    GPUACT_KERNEL(NAME, uint16_t, float, f16_vec, (run_vec<Half<OP, false>, uint16_t, uint4, TWO>))            \
    GPUACT_KERNEL(NAME, uint16_t, float, f16_scalar, (run_scalar<Half<OP, false>, uint16_t, TWO>))             \
    GPUACT_KERNEL(NAME, uint16_t, float, bf16_vec, (run_vec<Half<OP, true>, uint16_t, uint4, TWO>))            \
    GPUACT_KERNEL(NAME, uint16_t, float, bf16_scalar, (run_scalar<Half<OP, true>, uint16_t, TWO>))

GPUACT_KERNELS(relu_fwd, ReluFwd, false)
GPUACT_KERNELS(relu_bwd, ReluBwd, true)
GPUACT_KERNELS(leaky_fwd, LeakyFwd, false)
GPUACT_KERNELS(leaky_bwd, LeakyBwd, true)
GPUACT_KERNELS(elu_fwd, EluFwd, false)
GPUACT_KERNELS(elu_bwd_in, EluBwdIn, true)
GPUACT_KERNELS(elu_bwd_out, EluBwdOut, true)
