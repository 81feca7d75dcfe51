// gpuact's CUDA kernels: the nine formulas of docs/SEMANTICS.md §1.1 for float32 and float64, elementwise over
// device buffers that may start at any element (the Go side passes base + offset).
//
// Compiled ahead of time into activations.fatbin by `make generate` (gen_cuda.sh): no --use_fast_math, no
// flush-to-zero, so float32 denormals are preserved and IEEE rounding holds everywhere.
//
// Shape, for bandwidth: every kernel is a grid-stride loop sized by the host from the SM count. The
// "vec" kernels move 16 bytes per load and store (float4, double2) and each thread keeps two of them in
// flight per input; a few scalar head elements bring the output to a 16-byte boundary and a scalar
// tail finishes. The host picks "vec" when the output and the inputs share their alignment modulo 16
// bytes, and the "scalar" kernels (four independent loads per thread per step) otherwise.
//
// Accuracy: ReLU and LeakyReLU are exact selects and one IEEE multiply in the data type. ELU on float32
// evaluates its x <= 0 branch in double, so the float32 result is the float64 oracle rounded once
// (CUDA's double exp and expm1 are within 1 ulp of double), except forward with a power-of-two alpha
// (elu_fwd_p2, below), which needs no double; ELU on float64 uses exp and expm1, with
// alpha*exp(x)*dy kept accurate where exp(x) is subnormal (exp_times, the same algorithm as the Go
// oracle's expTimes).

#include <math.h>
#include <stdint.h>

#define BLOCK 256

// The formulas and loops are host-and-device code so that emu/emu.cu can run them on the CPU, thread by
// thread, to check indexing and logic where there is no GPU (gen_cuda.sh runs it after compiling).
#define HD __host__ __device__ __forceinline__

// Double-precision operations that must not be contracted into FMAs (to match the Go oracle's rounding
// step for step); on the host, without -mfma, plain operators round the same way.
#ifdef __CUDA_ARCH__
#define DMUL(a, b) __dmul_rn((a), (b))
#define DADD(a, b) __dadd_rn((a), (b))
#define DSUB(a, b) __dsub_rn((a), (b))
#else
#define DMUL(a, b) ((a) * (b))
#define DADD(a, b) ((a) + (b))
#define DSUB(a, b) ((a) - (b))
#endif

// ---- the formulas: apply(a, b, alpha) with (a, b) = (x, -) forward, (dy, x) or (dy, y) backward ----

struct ReluFwd {
    template <typename T> HD static T apply(T x, T, T) {
        return (x > T(0) || x != x) ? x : T(0);
    }
};

// x > 0 ? dy : +0; from output with y in place of x.
struct ReluBwd {
    template <typename T> HD static T apply(T dy, T x, T) {
        return x != x ? x : (x > T(0) ? dy : T(0));
    }
};

struct LeakyFwd {
    template <typename T> HD static T apply(T x, T, T alpha) {
        return (x > T(0) || x != x) ? x : alpha * x;
    }
};

// x > 0 ? dy : alpha*dy; from output with y in place of x (alpha >= 0 is checked on the host).
struct LeakyBwd {
    template <typename T> HD static T apply(T dy, T x, T alpha) {
        return x != x ? x : (x > T(0) ? dy : alpha * dy);
    }
};

// a*exp(x)*d for double, accurate also where exp(x) or a*exp(x) is subnormal but the product is not:
// the factors are kept as mantissas and powers of two, exp(x) = 2^k*exp(r), |r| <= ln2/2.
HD double exp_times(double a, double x, double d) {
    // Plain only where exp(x) and a*exp(x) are both normal: with a > 1, a*exp(x) can be normal while
    // exp(x) (x in about [-709.8, -708.4]) is subnormal and has already lost digits.
    const double e = exp(x), p = a * e;
    if ((e >= 2.2250738585072014e-308 && fabs(p) >= 2.2250738585072014e-308) || a == 0.0 || d == 0.0 || isinf(d) ||
        d != d || x < -2200.0) {
        return p * d;
    }
    const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
    int ea, ed;
    double fa = frexp(a, &ea), fd = frexp(d, &ed);
    double k = round(x / 0.6931471805599453);
    double r = DSUB(DSUB(x, DMUL(k, ln2hi)), DMUL(k, ln2lo));
    return ldexp(DMUL(DMUL(fa, fd), exp(r)), (int)k + ea + ed);
}

struct EluFwd {
    HD static float apply(float x, float, float alpha) {
        if (x > 0.0f || x != x) return x;
        return (float)((double)alpha * expm1((double)x));
    }
    HD static double apply(double x, double, double alpha) {
        if (x > 0.0 || x != x) return x;
        return alpha * expm1(x);
    }
};

// ELU forward on float32 when alpha is a power of two (1, the default, among them) or zero: the
// product alpha*expm1f(x) is then exact, so the result is within expm1f's error (1 ulp, CUDA's bound)
// of the true value, and within 2 ulp of the oracle, without the float64 units that the general path
// needs (which consumer GPUs have few of).
struct EluFwdP2 {
    HD static float apply(float x, float, float alpha) {
        if (x > 0.0f || x != x) return x;
        return alpha * expm1f(x);
    }
    HD static double apply(double x, double, double alpha) { return EluFwd::apply(x, 0.0, alpha); }
};

struct EluBwdIn {
    HD static float apply(float dy, float x, float alpha) {
        if (x != x) return x;
        if (x > 0.0f) return dy;
        return (float)(((double)alpha * exp((double)x)) * (double)dy);
    }
    HD static double apply(double dy, double x, double alpha) {
        if (x != x) return x;
        if (x > 0.0) return dy;
        return exp_times(alpha, x, dy);
    }
};

// y > 0 ? dy : (y + alpha)*dy (alpha >= 0 is checked on the host).
struct EluBwdOut {
    HD static float apply(float dy, float y, float alpha) {
        if (y != y) return y;
        if (y > 0.0f) return dy;
        return (float)(((double)y + (double)alpha) * (double)dy);
    }
    HD static double apply(double dy, double y, double alpha) {
        if (y != y) return y;
        if (y > 0.0) return dy;
        return DMUL(DADD(y, alpha), dy);
    }
};

// ---- vectors ----

template <class Op> HD float4 apply_vec(float4 a, float4 b, float alpha) {
    return make_float4(Op::apply(a.x, b.x, alpha), Op::apply(a.y, b.y, alpha), Op::apply(a.z, b.z, alpha),
                       Op::apply(a.w, b.w, alpha));
}

template <class Op> HD double2 apply_vec(double2 a, double2 b, double alpha) {
    return make_double2(Op::apply(a.x, b.x, alpha), Op::apply(a.y, b.y, alpha));
}

// ---- the loops ----

// run_vec: scalar head up to the output's 16-byte boundary, 16-byte vectors (two per thread per step),
// scalar tail. The inputs share the output's alignment (the host checks).
// tid is the thread's index in the grid, nth the number of threads in the grid.
template <class Op, typename T, typename V, bool TWO>
HD void run_vec(unsigned long long tid, unsigned long long nth, T *out, const T *a, const T *b, unsigned long long n,
                T alpha) {
    const int W = sizeof(V) / sizeof(T);
    unsigned long long h = ((16 - ((uintptr_t)out & 15)) & 15) / sizeof(T);
    if (h > n) h = n;
    for (unsigned long long i = tid; i < h; i += nth) out[i] = Op::apply(a[i], TWO ? b[i] : T(0), alpha);
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
        vo[i] = apply_vec<Op>(x0, y0, alpha);
        vo[i + nth] = apply_vec<Op>(x1, y1, alpha);
    }
    if (i < m) {
        V x0 = va[i];
        vo[i] = apply_vec<Op>(x0, TWO ? vb[i] : x0, alpha);
    }
    const unsigned long long t = h + m * W;
    for (unsigned long long j = t + tid; j < n; j += nth) out[j] = Op::apply(a[j], TWO ? b[j] : T(0), alpha);
}

// run_scalar: inputs and output misaligned differently; four independent loads per thread per step.
template <class Op, typename T, bool TWO>
HD void run_scalar(unsigned long long tid, unsigned long long nth, T *out, const T *a, const T *b, unsigned long long n,
                   T alpha) {
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
        out[i] = Op::apply(x0, y0, alpha);
        out[i + nth] = Op::apply(x1, y1, alpha);
        out[i + 2 * nth] = Op::apply(x2, y2, alpha);
        out[i + 3 * nth] = Op::apply(x3, y3, alpha);
    }
    for (; i < n; i += nth) out[i] = Op::apply(a[i], TWO ? b[i] : T(0), alpha);
}

// ---- the entry points: gpuact_<op>_<dtype>_<vec|scalar>(out, a, b, n, alpha) ----

#define TID ((unsigned long long)blockIdx.x * blockDim.x + threadIdx.x)
#define NTH ((unsigned long long)gridDim.x * blockDim.x)

#define GPUACT_KERNELS(NAME, OP, TWO)                                                                          \
    extern "C" __global__ void __launch_bounds__(BLOCK)                                                        \
        gpuact_##NAME##_f32_vec(float *o, const float *a, const float *b, unsigned long long n, float alpha) { \
        run_vec<OP, float, float4, TWO>(TID, NTH, o, a, b, n, alpha);                                                    \
    }                                                                                                          \
    extern "C" __global__ void __launch_bounds__(BLOCK) gpuact_##NAME##_f32_scalar(                            \
        float *o, const float *a, const float *b, unsigned long long n, float alpha) {                         \
        run_scalar<OP, float, TWO>(TID, NTH, o, a, b, n, alpha);                                                         \
    }                                                                                                          \
    extern "C" __global__ void __launch_bounds__(BLOCK) gpuact_##NAME##_f64_vec(                               \
        double *o, const double *a, const double *b, unsigned long long n, double alpha) {                     \
        run_vec<OP, double, double2, TWO>(TID, NTH, o, a, b, n, alpha);                                                  \
    }                                                                                                          \
    extern "C" __global__ void __launch_bounds__(BLOCK) gpuact_##NAME##_f64_scalar(                            \
        double *o, const double *a, const double *b, unsigned long long n, double alpha) {                     \
        run_scalar<OP, double, TWO>(TID, NTH, o, a, b, n, alpha);                                                        \
    }

GPUACT_KERNELS(relu_fwd, ReluFwd, false)
GPUACT_KERNELS(relu_bwd, ReluBwd, true)
GPUACT_KERNELS(leaky_fwd, LeakyFwd, false)
GPUACT_KERNELS(leaky_bwd, LeakyBwd, true)
GPUACT_KERNELS(elu_fwd, EluFwd, false)
GPUACT_KERNELS(elu_fwd_p2, EluFwdP2, false)
GPUACT_KERNELS(elu_bwd_in, EluBwdIn, true)
GPUACT_KERNELS(elu_bwd_out, EluBwdOut, true)
