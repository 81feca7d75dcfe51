// emu.cu runs the kernels' loops and formulas of ../activations.cu on the CPU. Because the kernels'
// arithmetic is IEEE operations written out one by one (see activations.cu), this host build computes
// the bits a GPU computes, so it checks the device math as well as the indexing:
//
//   - indexing: every kernel, one grid thread at a time, for the sizes of SEMANTICS §3, aligned and
//     misaligned views, several grid sizes and in place: every element written once, nothing around a
//     view written, the inputs unchanged, each result within SEMANTICS §2 of the reference;
//   - float64 ELU math: 10^7 samples per pass and α (uniform, log-uniform down into the subnormals,
//     the range where exp(x) leaves the normal numbers, huge and tiny gradients, the edge values)
//     against a long double reference, within SEMANTICS §2's float64 tolerance;
//   - float32 ELU math: with -exhaustive, every negative float32 (2^31 bit patterns: -0, subnormals,
//     -Inf and NaNs included) for α = 1, 0.37 and 2.5 and each pass, against the oracle (float64 libm,
//     rounded once to float32, as backend/formula computes it), within SEMANTICS §2's 2 ULP; without
//     it, a sample of 2^24 per pass and α.
//
// It prints the largest distance in ULP seen per pass and α, and exits 1 on any failure. gen_cuda.sh
// builds and runs it (the quick checks) whenever the kernels are regenerated; `make cuda-math` runs it
// with -exhaustive (several minutes). The host compiler must not contract operations into FMAs:
//
//	nvcc -O2 -std=c++17 -Xcompiler -ffp-contract=off -o /tmp/emu kernels/emu/emu.cu && /tmp/emu
#include "../activations.cu"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

static std::atomic<int> failures{0};

// ---- the references ----

// The float32 oracle's α·exp(x)·d, as backend/formula's expTimes: plain where exp(x) and α·exp(x) are
// normal, else with the factors kept as mantissas and powers of two.
static double oracle_exp_times(double a, double x, double d) {
    const double e = exp(x), p = a * e;
    if ((e >= 0x1p-1022 && fabs(p) >= 0x1p-1022) || a == 0 || d == 0 || std::isinf(d) || d != d || x < -2200) return p * d;
    const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
    int ea, ed;
    const double fa = frexp(a, &ea), fd = frexp(d, &ed);
    const double k = round(x / 0.6931471805599453);
    const double r = (x - k * ln2hi) - k * ln2lo;
    return ldexp(fa * fd * exp(r), (int)k + ea + ed);
}

// The oracle of SEMANTICS §2 (backend/formula/oracle.go) for float32, alpha already rounded to float.
static float ref32(int op, float a, float b, float alpha) {
    switch (op) {
    case 0: return (a > 0 || a != a) ? a : 0.0f;
    case 1: return b != b ? b : (b > 0 ? a : 0.0f);
    case 2: return (a > 0 || a != a) ? a : alpha * a;
    case 3: return b != b ? b : (b > 0 ? a : alpha * a);
    case 4: return (a > 0 || a != a) ? a : (float)((double)alpha * expm1((double)a));
    case 5: return b != b ? b : (b > 0 ? a : (float)oracle_exp_times(alpha, b, a));
    case 6: return b != b ? b : (b > 0 ? a : (float)(((double)b + (double)alpha) * (double)a));
    }
    abort();
}

// The float64 reference: the formulas in long double (64-bit mantissa on x86-64, 113 on arm64), rounded
// once to double; where dy is ±Inf or NaN, the oracle's float64 α·exp(x) decides (SEMANTICS §2 measures
// against it there).
static double ref64(int op, double a, double b, double alpha) {
    typedef long double L;
    switch (op) {
    case 0: return (a > 0 || a != a) ? a : 0.0;
    case 1: return b != b ? b : (b > 0 ? a : 0.0);
    case 2: return (a > 0 || a != a) ? a : alpha * a;
    case 3: return b != b ? b : (b > 0 ? a : alpha * a);
    case 4: return (a > 0 || a != a) ? a : (double)((L)alpha * expm1l((L)a));
    case 5:
        if (b != b) return b;
        if (b > 0) return a;
        if (std::isinf(a) || a != a) return (alpha * exp(b)) * a;
        return (double)((L)alpha * expl((L)b) * (L)a);
    case 6:
        if (b != b) return b;
        if (b > 0) return a;
        if (std::isinf(b) || std::isinf(a)) return (b + alpha) * a;
        return (double)(((L)b + (L)alpha) * (L)a);
    }
    abort();
}

static const char *opnames[] = {"relu_fwd", "relu_bwd", "leaky_fwd", "leaky_bwd", "elu_fwd", "elu_bwd_in", "elu_bwd_out"};
static bool two(int op) { return op == 1 || op == 3 || op == 5 || op == 6; }

// The kernels' α arguments as the Go side computes them (formula.MantissaExponent, formula.ExpCutoff).
template <typename T> static Alpha<T> alpha_args(T alpha) {
    Alpha<T> p = {alpha, 0, 0, T(INFINITY)};
    if (alpha == 0) return p;
    int e;
    const double f = frexp((double)alpha, &e);
    p.am = T(2 * f);
    p.ae = e - 1;
    // The smallest x of T for which (double)α·exp(x) is not zero: bisect over the magnitude's bits.
    if (sizeof(T) == 4) {
        uint32_t ok = 0, zero = bits_of(2000.0f);
        while (zero - ok > 1) {
            const uint32_t mid = ok + (zero - ok) / 2;
            if ((double)alpha * exp(-(double)float_of(mid)) == 0) zero = mid;
            else ok = mid;
        }
        p.xcut = T(-float_of(ok));
    } else {
        uint64_t ok = 0, zero = bits_of(2000.0);
        while (zero - ok > 1) {
            const uint64_t mid = ok + (zero - ok) / 2;
            if ((double)alpha * exp(-double_of(mid)) == 0) zero = mid;
            else ok = mid;
        }
        p.xcut = T(-double_of(ok));
    }
    return p;
}

// ---- distances ----

// ordered maps a float's bits to an unsigned integer in the order of the values, -0 and +0 alike.
template <typename T> static unsigned long long ordered(T v) {
    if (sizeof(T) == 4) {
        uint32_t u;
        memcpy(&u, &v, 4);
        return (u >> 31) ? 0x80000000ull - (u & 0x7fffffffu) : 0x80000000ull + u;
    }
    uint64_t u;
    memcpy(&u, &v, 8);
    return (u >> 63) ? 0x8000000000000000ull - (u & 0x7fffffffffffffffull) : 0x8000000000000000ull + u;
}
// ulps is SEMANTICS §2's distance: NaNs 0 apart, a NaN and a number infinitely far (~0ull).
template <typename T> static unsigned long long ulps(T got, T want) {
    if (got != got || want != want) return (got != got && want != want) ? 0 : ~0ull;
    const unsigned long long a = ordered(got), b = ordered(want);
    return a > b ? a - b : b - a;
}
static int tolerance(int op, bool f64) { return op < 4 ? 0 : (f64 && op != 6 ? 3 : 2); }

// ---- indexing ----

template <typename T> static void run(int op, bool vec, unsigned long long nth, T *o, const T *a, const T *b, unsigned long long n, const Alpha<T> &p) {
    typedef typename std::conditional<sizeof(T) == 4, float4, double2>::type V;
    for (unsigned long long tid = 0; tid < nth; tid++) {
#define CASE(I, OP, TWO)                                                                  \
    case I:                                                                               \
        if (vec) run_vec<OP, T, V, TWO>(tid, nth, o, a, b, n, p);                         \
        else run_scalar<OP, T, TWO>(tid, nth, o, a, b, n, p);                             \
        break;
        switch (op) {
            CASE(0, ReluFwd, false) CASE(1, ReluBwd, true) CASE(2, LeakyFwd, false) CASE(3, LeakyBwd, true)
            CASE(4, EluFwd, false) CASE(5, EluBwdIn, true) CASE(6, EluBwdOut, true)
        }
    }
}

template <typename T> static bool poison(T v) {
    if (sizeof(T) == 4) { uint32_t u; memcpy(&u, &v, 4); return u == 0x7fa5a5a5u; }
    uint64_t u; memcpy(&u, &v, 8); return u == 0x7ff4a5a5a5a5a5a5ull;
}
template <typename T> static T poisonValue() {
    T v;
    if (sizeof(T) == 4) { uint32_t u = 0x7fa5a5a5u; memcpy(&v, &u, 4); } else { uint64_t u = 0x7ff4a5a5a5a5a5a5ull; memcpy(&v, &u, 8); }
    return v;
}

template <typename T> static T edge(std::mt19937_64 &rng) {
    static const double f32[] = {0, 1.4e-45, 5.9e-39, 1e-30, 1e-8, 1e-4, 0.5, 1, 17, 87.5, 88, 103, 104, 700, 3.4028234e38, INFINITY, NAN};
    static const double f64[] = {0, 4.9e-324, 1.1e-308, 1e-300, 1e-8, 1e-4, 0.5, 1, 37, 700, 708, 745, 1e300, 1.7976931348623157e308, INFINITY, NAN};
    const double m = sizeof(T) == 4 ? f32[rng() % 17] : f64[rng() % 16];
    return T(rng() % 2 ? -m : m);
}

// inputs: SEMANTICS §3's mix: uniform in [-12, 12], an eighth edge values, tiny magnitudes down into the
// subnormals, and (x) the range where exp(x) leaves the normal numbers or (gradients) huge magnitudes.
template <typename T> static std::vector<T> inputs(std::mt19937_64 &rng, size_t n, bool grads) {
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<T> v(n);
    for (auto &x : v) {
        int c = rng() % 8;
        double s = u(rng) < 0.5 ? -1 : 1;
        if (c == 0) x = edge<T>(rng);
        else if (c == 1) x = grads ? T(s * pow(10, 20 + u(rng) * (sizeof(T) == 4 ? 18 : 287))) : T(sizeof(T) == 4 ? -80 - 30 * u(rng) : -700 - 50 * u(rng));
        else if (c == 2) x = T(s * pow(10, -3 - u(rng) * (sizeof(T) == 4 ? 42 : 320)));
        else x = T(24 * u(rng) - 12);
    }
    return v;
}

// check runs one kernel on views at the given offsets (in elements) and checks everything.
template <typename T> static void check(int op, bool vec, unsigned long long nth, size_t n, int oo, int oa, int ob, bool inplace, double alpha64, std::mt19937_64 &rng) {
    const size_t guard = 19;
    const Alpha<T> p = alpha_args(T(alpha64));
    std::vector<T> a = inputs<T>(rng, n, two(op)), b = inputs<T>(rng, n, false);
    std::vector<T> ba(oa + n + guard, poisonValue<T>()), bb(ob + n + guard, poisonValue<T>()), bo(oo + n + guard, poisonValue<T>());
    std::copy(a.begin(), a.end(), ba.begin() + oa);
    std::copy(b.begin(), b.end(), bb.begin() + ob);
    T *out = inplace ? ba.data() + oa : bo.data() + oo;
    run<T>(op, vec, nth, out, ba.data() + oa, bb.data() + ob, n, p);
    std::vector<T> &whole = inplace ? ba : bo;
    size_t off = inplace ? oa : oo;
    const int tol = tolerance(op, sizeof(T) == 8);
    for (size_t i = 0; i < whole.size(); i++) {
        bool inside = i >= off && i < off + n;
        T got = whole[i];
        if (!inside && !poison(got)) { printf("FAIL %s %s n=%zu guard %zu written\n", opnames[op], vec ? "vec" : "scalar", n, i); failures++; return; }
        if (!inside) continue;
        size_t k = i - off;
        if (poison(got)) { printf("FAIL %s %s %zu-byte n=%zu nth=%llu offs=%d,%d,%d element %zu not written\n", opnames[op], vec ? "vec" : "scalar", sizeof(T), n, nth, oo, oa, ob, k); failures++; return; }
        T want = sizeof(T) == 4 ? T(ref32(op, float(a[k]), float(b[k]), float(p.a))) : T(ref64(op, a[k], b[k], p.a));
        if (ulps(got, want) > (unsigned long long)tol) {
            printf("FAIL %s %s %zu-byte n=%zu element %zu inputs (%a, %a): got %a want %a\n", opnames[op], vec ? "vec" : "scalar", sizeof(T), n, k, (double)a[k], (double)b[k], (double)got, (double)want);
            failures++;
            return;
        }
    }
    if (!inplace) {
        for (size_t i = 0; i < ba.size(); i++) if (i >= (size_t)oa && i < oa + n ? ba[i] != a[i - oa] && !(a[i - oa] != a[i - oa]) : !poison(ba[i])) { printf("FAIL %s input written\n", opnames[op]); failures++; return; }
    }
}

static void check_indexing() {
    std::mt19937_64 rng(2024);
    const size_t sizes[] = {0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 1023, 1025, (1 << 16) + 3};
    const unsigned long long grids[] = {1, 256, 3 * 256, 7 * 256};
    const double alphas[] = {1.0, 0.37, 0.01};
    long runs = 0;
    for (int op = 0; op < 7; op++)
        for (int vec = 0; vec < 2; vec++)
            for (size_t n : sizes)
                for (unsigned long long nth : grids)
                    for (int o = 0; o < 4; o++) {
                        // vec kernels need the same alignment mod 16 bytes for every buffer: offsets that
                        // agree mod 4 elements (float32) or mod 2 (float64); the scalar ones take any.
                        int oo = o, oa = o, ob = o;
                        if (!vec) { oa = (o + 1) % 4; ob = (o + 3) % 4; }
                        double alpha = alphas[(op + o) % 3];
                        check<float>(op, vec, nth, n, oo, oa, ob, false, alpha, rng);
                        check<double>(op, vec, nth, n, oo & (vec ? 1 : 3), oa & (vec ? 1 : 3), ob & (vec ? 1 : 3), false, alpha, rng);
                        check<float>(op, vec, nth, n, oo, oa, ob, true, alpha, rng);
                        check<double>(op, vec, nth, n, oo & 1, oa & 1, ob & 1, true, alpha, rng);
                        runs += 4;
                    }
    printf("emu: indexing: %ld kernel runs, %d failures\n", runs, failures.load());
}

// ---- the math, element by element, on all cores ----

// Stats collects, per thread, the largest distance, the number beyond tolerance and the first of them.
struct Stats {
    unsigned long long max = 0, bad = 0, n = 0;
    double a = 0, b = 0, got = 0, want = 0;
    void add(unsigned long long d, int tol, double ai, double bi, double g, double w) {
        n++;
        if (d > max) max = d;
        if (d > (unsigned long long)tol && bad++ == 0) a = ai, b = bi, got = g, want = w;
    }
    void merge(const Stats &o) {
        if (o.bad && !bad) a = o.a, b = o.b, got = o.got, want = o.want;
        bad += o.bad, n += o.n;
        if (o.max > max) max = o.max;
    }
};

template <typename F> static void parallel(unsigned long long n, F body) {
    const unsigned nt = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < nt; t++) ts.emplace_back([=] { body(t, n * t / nt, n * (t + 1) / nt); });
    for (auto &t : ts) t.join();
}

static void report(const char *what, int op, double alpha, const Stats &s, int tol, double secs) {
    const unsigned long long inf = ~0ull;
    printf("emu: %s %-11s alpha=%-4g %12llu elements  max %s%llu ULP (tolerance %d)  %6.1f s", what, opnames[op], alpha, s.n, s.max == inf ? "inf " : "", s.max == inf ? 0 : s.max, tol, secs);
    if (s.bad) {
        printf("  FAIL: %llu beyond, first inputs (%a, %a) got %a want %a", s.bad, s.a, s.b, s.got, s.want);
        failures++;
    }
    printf("\n");
    fflush(stdout); // make cuda-math runs for minutes: show each line as it comes
}

// A gradient for element i, from a hash of it: mostly in [-10, 10], an eighth huge (1e20..1e38), an
// eighth tiny (down into the subnormals), a few edge values.
static float grad32(uint64_t i) {
    uint64_t h = (i + 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 29;
    const double u = (double)(h >> 11) * 0x1p-53, s = (h & 1) ? -1 : 1;
    switch ((h >> 1) & 15) {
    case 0: case 1: return float(s * pow(10, 20 + 18 * u));
    case 2: case 3: return float(s * pow(10, -45 * u));
    case 4: {
        static const float e[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 3.4028235e38f, 1.4e-45f, 1.0f};
        return e[(h >> 5) & 7];
    }
    default: return float(20 * u - 10);
    }
}

// Every negative float32 (exhaustive) or a sample of them, through the scalar formula, against ref32.
static void check_f32(bool exhaustive) {
    const double alphas[] = {1.0, 0.37, 2.5};
    for (int op = 4; op <= 6; op++)
        for (double alpha64 : alphas) {
            const Alpha<float> p = alpha_args(float(alpha64));
            const int tol = tolerance(op, false);
            const unsigned long long n = exhaustive ? 1ull << 31 : 1ull << 24;
            std::vector<Stats> st(std::max(1u, std::thread::hardware_concurrency()));
            const auto t0 = std::chrono::steady_clock::now();
            parallel(n, [&](unsigned t, unsigned long long lo, unsigned long long hi) {
                Stats s;
                for (unsigned long long i = lo; i < hi; i++) {
                    // Exhaustive: bit pattern 0x80000000 + i. Sampled: spread over the same range.
                    const uint32_t u = 0x80000000u | (uint32_t)(exhaustive ? i : (i * 0x9E3779B1ull) & 0x7fffffff);
                    const float x = float_of(u), dy = grad32(i);
                    float got, want;
                    if (op == 4) got = EluFwd::apply(x, 0.0f, p), want = ref32(4, x, 0, p.a);
                    else if (op == 5) got = EluBwdIn::apply(dy, x, p), want = ref32(5, dy, x, p.a);
                    else got = EluBwdOut::apply(dy, x, p), want = ref32(6, dy, x, p.a);
                    s.add(ulps(got, want), tol, op == 4 ? x : dy, x, got, want);
                }
                st[t] = s;
            });
            Stats all;
            for (auto &s : st) all.merge(s);
            report(exhaustive ? "float32 every negative x:" : "float32 sampled negative x:", op, alpha64, all,
                   tol, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
}

// x for the float64 samples: uniform in [-750, 0], log-uniform magnitudes from the subnormals to 1e3,
// the range where exp(x) is subnormal ([-745.2, -708.4]) and below, near the reductions' clamps (-60,
// -2200), and edge values. dy: uniform in [-10, 10], log-uniform over the whole range (subnormal to
// 1.8e308, where α·exp(x)·dy is normal while exp(x) is not, and where it overflows), edge values.
static double sample_x64(std::mt19937_64 &rng) {
    std::uniform_real_distribution<double> u(0, 1);
    switch (rng() % 10) {
    case 0: return -750 * u(rng);
    case 1: case 2: return -pow(10, 3 - 327 * u(rng));
    case 3: case 4: return -708.4 - 37 * u(rng);
    case 5: return -2200 - 1000 * (u(rng) - 0.5);
    case 6: return -60 - 2 * (u(rng) - 0.5);
    case 7: {
        static const double e[] = {-0.0, -4.9e-324, -2.2250738585072014e-308, -1e-300, -1e-8, -0.34657359027997264, -0.6931471805599453, -37, -708.3964185322641, -745.1332191019411, -745.1332191019412, -1.7976931348623157e308, -INFINITY, NAN};
        return e[rng() % 14];
    }
    default: return -12 * u(rng);
    }
}
static double sample_dy64(std::mt19937_64 &rng) {
    std::uniform_real_distribution<double> u(0, 1);
    const double s = rng() % 2 ? -1 : 1;
    switch (rng() % 8) {
    case 0: case 1: return s * pow(10, 308.25 * u(rng));
    case 2: return s * pow(10, -323.3 * u(rng));
    case 3: {
        static const double e[] = {0.0, INFINITY, NAN, 1.7976931348623157e308, 4.9e-324, 2.2250738585072014e-308, 1.0, 1e300};
        return s * e[rng() % 8];
    }
    default: return 20 * u(rng) - 10;
    }
}

static void check_f64(unsigned long long n) {
    const double alphas[] = {1.0, 0.37, 2.5};
    for (int op = 4; op <= 6; op++)
        for (double alpha : alphas) {
            const Alpha<double> p = alpha_args(alpha);
            const int tol = tolerance(op, true);
            std::vector<Stats> st(std::max(1u, std::thread::hardware_concurrency()));
            const auto t0 = std::chrono::steady_clock::now();
            parallel(n, [&](unsigned t, unsigned long long lo, unsigned long long hi) {
                std::mt19937_64 rng(lo * 7 + op * 1000003 + (uint64_t)(alpha * 100));
                Stats s;
                for (unsigned long long i = lo; i < hi; i++) {
                    double x = sample_x64(rng), dy = sample_dy64(rng);
                    if (op == 6 && rng() % 2) x = -alpha * (1 - pow(2, -60 * (double)(rng() >> 11) * 0x1p-53)); // y in [-α, 0]
                    double got, want;
                    if (op == 4) got = EluFwd::apply(x, 0.0, p), want = ref64(4, x, 0, alpha);
                    else if (op == 5) got = EluBwdIn::apply(dy, x, p), want = ref64(5, dy, x, alpha);
                    else got = EluBwdOut::apply(dy, x, p), want = ref64(6, dy, x, alpha);
                    s.add(ulps(got, want), tol, op == 4 ? x : dy, x, got, want);
                }
                st[t] = s;
            });
            Stats all;
            for (auto &s : st) all.merge(s);
            report("float64 sampled:", op, alpha, all, tol, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
}

// ---- the 16-bit kernels (SEMANTICS §1.6) ----

template <bool BF> static float widen16(uint16_t h) { return BF ? widen_bf16(h) : widen_f16(h); }
template <bool BF> static uint16_t narrow16(float f) { return BF ? narrow_bf16(f) : narrow_f16(f); }

// once16 is the oracle's rounding, written independently of the kernels' conversions: the double d
// rounded once to nearest even to the 16-bit type (11 significant bits down to 2^-14 for float16, 8 down
// to 2^-126 for bfloat16, subnormals below), ±Inf past the largest finite value, NaN the quiet NaN.
template <bool BF> static uint16_t once16(double d) {
    const int prec = BF ? 8 : 11, emin = BF ? -126 : -14, bias = BF ? 127 : 15;
    const double maxf = BF ? 0x1.fep127 : 65504.0;
    const uint16_t sign = std::signbit(d) ? 0x8000 : 0, inf = BF ? 0x7f80 : 0x7c00;
    if (d != d) return sign | (BF ? 0x7fc0 : 0x7e00);
    const double m = fabs(d);
    if (m == 0) return sign;
    if (std::isinf(m)) return sign | inf;
    const int e = std::max(ilogb(m), emin);
    const double v = ldexp(nearbyint(ldexp(m, prec - 1 - e)), e - (prec - 1)); // default mode: to nearest even
    if (v > maxf) return sign | inf;
    const int ev = ilogb(v);
    if (ev < emin) return sign | (uint16_t)ldexp(v, bias - 1 + prec - 1); // subnormal: v / smallest subnormal
    return sign | (uint16_t)((ev + bias) << (prec - 1)) | (uint16_t)(ldexp(v, prec - 1 - ev) - ldexp(1, prec - 1));
}

// decode16 is the 16-bit value as a double, again independently of the kernels' widening.
template <bool BF> static double decode16(uint16_t h) {
    const int prec = BF ? 8 : 11, emin = BF ? -126 : -14, emax = BF ? 255 : 31, bias = BF ? 127 : 15;
    const int e = (h & 0x7fff) >> (prec - 1), f = h & ((1 << (prec - 1)) - 1);
    const double s = (h & 0x8000) ? -1 : 1;
    if (e == emax) return f ? NAN : s * INFINITY;
    if (e == 0) return s * ldexp(f, emin - (prec - 1));
    return s * ldexp(f + (1 << (prec - 1)), e - bias - (prec - 1));
}

static bool nan16(bool bf, uint16_t h) { return bf ? (h & 0x7f80) == 0x7f80 && (h & 0x7f) : (h & 0x7c00) == 0x7c00 && (h & 0x3ff); }

// ulps16 is SEMANTICS §2's distance between two 16-bit values.
static unsigned long long ulps16(bool bf, uint16_t got, uint16_t want) {
    const bool gn = nan16(bf, got), wn = nan16(bf, want);
    if (gn || wn) return gn && wn ? 0 : ~0ull;
    auto ord = [](uint16_t u) { return (u >> 15) ? 0x8000ll - (u & 0x7fff) : 0x8000ll + u; };
    const long long d = ord(got) - ord(want);
    return d < 0 ? -d : d;
}

// ref16 is the oracle for 16-bit (a, b): the formula in double on the widened values (ref64 is the
// float64 reference: long double where it matters), α the 16-bit value, rounded once to the type.
template <bool BF> static uint16_t ref16(int op, uint16_t a, uint16_t b, float alpha) {
    return once16<BF>(ref64(op, decode16<BF>(a), decode16<BF>(b), alpha));
}
static int tolerance16(int op) { return op < 4 ? 0 : 1; }

template <bool BF> static void run16(int op, bool vec, unsigned long long nth, uint16_t *o, const uint16_t *a, const uint16_t *b, unsigned long long n, const Alpha<float> &p) {
    for (unsigned long long tid = 0; tid < nth; tid++) {
#define CASE16(I, OP, TWO)                                                                         \
    case I:                                                                                        \
        if (vec) run_vec<Half<OP, BF>, uint16_t, uint4, TWO>(tid, nth, o, a, b, n, p);             \
        else run_scalar<Half<OP, BF>, uint16_t, TWO>(tid, nth, o, a, b, n, p);                     \
        break;
        switch (op) {
            CASE16(0, ReluFwd, false) CASE16(1, ReluBwd, true) CASE16(2, LeakyFwd, false) CASE16(3, LeakyBwd, true)
            CASE16(4, EluFwd, false) CASE16(5, EluBwdIn, true) CASE16(6, EluBwdOut, true)
        }
    }
}

// The poison of the 16-bit checks: a NaN in both types that no kernel writes (float16 NaNs come out as
// 0x7e00/0xfe00, bfloat16 NaNs with bit 0x40 set), and no input holds.
static const uint16_t poison16 = 0xffa5;

// check16 is check for the 16-bit kernels: the inputs are random bit patterns (every class of value:
// subnormals, Inf, NaNs with payloads), the results checked against the oracle.
template <bool BF> static void check16(int op, bool vec, unsigned long long nth, size_t n, int oo, int oa, int ob, bool inplace, double alpha64, std::mt19937_64 &rng) {
    const size_t guard = 19;
    const Alpha<float> p = alpha_args(widen16<BF>(once16<BF>(alpha64)));
    std::vector<uint16_t> a(n), b(n);
    for (auto &v : a) do v = (uint16_t)rng(); while (v == poison16);
    for (auto &v : b) do v = (uint16_t)rng(); while (v == poison16);
    std::vector<uint16_t> ba(oa + n + guard, poison16), bb(ob + n + guard, poison16), bo(oo + n + guard, poison16);
    std::copy(a.begin(), a.end(), ba.begin() + oa);
    std::copy(b.begin(), b.end(), bb.begin() + ob);
    uint16_t *out = inplace ? ba.data() + oa : bo.data() + oo;
    run16<BF>(op, vec, nth, out, ba.data() + oa, bb.data() + ob, n, p);
    std::vector<uint16_t> &whole = inplace ? ba : bo;
    const size_t off = inplace ? oa : oo;
    const char *dt = BF ? "bfloat16" : "float16";
    for (size_t i = 0; i < whole.size(); i++) {
        const bool inside = i >= off && i < off + n;
        const uint16_t got = whole[i];
        if (!inside) {
            if (got != poison16) { printf("FAIL %s %s %s n=%zu guard %zu written\n", opnames[op], dt, vec ? "vec" : "scalar", n, i); failures++; return; }
            continue;
        }
        const size_t k = i - off;
        if (got == poison16) { printf("FAIL %s %s %s n=%zu nth=%llu offs=%d,%d,%d element %zu not written\n", opnames[op], dt, vec ? "vec" : "scalar", n, nth, oo, oa, ob, k); failures++; return; }
        const uint16_t want = ref16<BF>(op, a[k], b[k], p.a);
        if (ulps16(BF, got, want) > (unsigned long long)tolerance16(op)) {
            printf("FAIL %s %s %s n=%zu element %zu inputs (%#x, %#x): got %#x want %#x\n", opnames[op], dt, vec ? "vec" : "scalar", n, k, a[k], b[k], got, want);
            failures++;
            return;
        }
    }
    if (!inplace)
        for (size_t i = 0; i < ba.size(); i++)
            if (i >= (size_t)oa && i < oa + n ? ba[i] != a[i - oa] : ba[i] != poison16) { printf("FAIL %s %s input written\n", opnames[op], dt); failures++; return; }
}

static void check_indexing16() {
    std::mt19937_64 rng(2025);
    const size_t sizes[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 1023, 1025, (1 << 16) + 3};
    const unsigned long long grids[] = {1, 256, 3 * 256};
    const double alphas[] = {1.0, 0.37, 0.01};
    // vec: the same offset for every view, so that all share the alignment mod 16 bytes (8 elements),
    // with heads of 0, 3, 5 and 7 elements; scalar: different offsets.
    const int vecoffs[] = {0, 5, 3, 1};
    long runs = 0;
    const int before = failures.load();
    for (int op = 0; op < 7; op++)
        for (int vec = 0; vec < 2; vec++)
            for (size_t n : sizes)
                for (unsigned long long nth : grids)
                    for (int o = 0; o < 4; o++) {
                        int oo = vecoffs[o], oa = oo, ob = oo;
                        if (!vec) { oo = o; oa = (o + 1) % 8; ob = (o + 6) % 8; }
                        const double alpha = alphas[(op + o) % 3];
                        check16<false>(op, vec, nth, n, oo, oa, ob, o & 1, alpha, rng);
                        check16<true>(op, vec, nth, n, oo, oa, ob, !(o & 1), alpha, rng);
                        runs += 2;
                    }
    printf("emu: indexing, 16-bit: %ld kernel runs, %d failures\n", runs, failures.load() - before);
}

// check_conversions16: the kernels' widening against decode16 on all 65536 values, their narrowing
// against once16 on every float32 of each 2^16th slice of the bit patterns plus every float32 within 4
// ULP of a 16-bit value or of a midpoint between two (where rounding decides).
template <bool BF> static void check_conversions16() {
    const int before = failures.load();
    for (uint32_t h = 0; h < 65536; h++) {
        const double w = widen16<BF>((uint16_t)h), d = decode16<BF>((uint16_t)h);
        if (!(w == d && std::signbit(w) == std::signbit(d)) && !(w != w && d != d)) { if (failures++ - before < 5) printf("FAIL %s widen %#x: %a, want %a\n", BF ? "bfloat16" : "float16", h, w, d); }
    }
    auto narrow_ok = [&](uint32_t u) {
        const float f = float_of(u);
        const uint16_t got = narrow16<BF>(f), want = once16<BF>(f);
        if (got != want && !(nan16(BF, got) && nan16(BF, want) && (got & 0x8000) == (want & 0x8000))) { if (failures++ - before < 5) printf("FAIL %s narrow %a (%#x): %#x, want %#x\n", BF ? "bfloat16" : "float16", f, u, got, want); }
        if (BF && f != f && got != (uint16_t)((u >> 16) | 0x40)) { if (failures++ - before < 5) printf("FAIL bfloat16 narrow NaN %#x: %#x\n", u, got); }
    };
    for (uint64_t u = 0; u < (1ull << 32); u += 65521) narrow_ok((uint32_t)u);
    for (uint32_t h = 0; h < 65536; h++) {
        // h's value and the midpoint above it, in float32 bits.
        const double v = decode16<BF>((uint16_t)h);
        if (v != v || std::isinf(v)) continue;
        const double next = decode16<BF>((uint16_t)(h + 1));
        const double pts[] = {v, std::isinf(next) || next != next ? v : (v + next) / 2};
        for (double pt : pts) {
            const uint32_t c = bits_of((float)pt);
            for (int k = -4; k <= 4; k++) narrow_ok(c + k);
        }
    }
    narrow_ok(0x477ff000u), narrow_ok(0x477fefffu), narrow_ok(0x7f7fffffu), narrow_ok(0xff800000u), narrow_ok(0x7f800001u);
    printf("emu: %s conversions: %d failures\n", BF ? "bfloat16" : "float16", failures.load() - before);
}

// check16_all runs the 16-bit formula (Half<Op, BF>::apply, what every 16-bit kernel calls) on every one
// of the 65536 values of x (or y) for each α, with a set of gradients for the backward passes, against
// the oracle: ReLU and LeakyReLU bit-exact, ELU within 1 ULP (SEMANTICS §2).
template <bool BF> static void check16_all() {
    const double alphas[] = {0, 0.01, -0.3, 1, 0.37, 2.5};
    // Gradients (as float, rounded to the type): zeros, ones, ordinary values, the smallest and largest
    // subnormal, the largest finite value, infinities, NaN.
    const uint16_t dys[] = {
        0x0000, 0x8000, once16<BF>(1.0), once16<BF>(-1.0), once16<BF>(0.3), once16<BF>(-7.5), once16<BF>(1e-3),
        0x0001, 0x8001, (uint16_t)(BF ? 0x007f : 0x03ff), (uint16_t)(BF ? 0x7f7f : 0x7bff), (uint16_t)(BF ? 0xff7f : 0xfbff),
        (uint16_t)(BF ? 0x7f80 : 0x7c00), (uint16_t)(BF ? 0xff80 : 0xfc00), (uint16_t)(BF ? 0x7fc0 : 0x7e00), once16<BF>(BF ? 3e38 : 60000.0)};
    const int ndy = sizeof dys / sizeof dys[0];
    const char *dt = BF ? "bfloat16 every x:" : "float16 every x: ";
    for (int op = 0; op < 7; op++)
        for (double alpha64 : alphas) {
            if (op == 6 && alpha64 < 0) continue; // from output: α >= 0 (the host refuses others)
            const uint16_t a16 = once16<BF>(alpha64);
            const Alpha<float> p = alpha_args(widen16<BF>(a16));
            const int tol = tolerance16(op);
            const int nd = two(op) ? ndy : 1;
            std::vector<Stats> st(std::max(1u, std::thread::hardware_concurrency()));
            const auto t0 = std::chrono::steady_clock::now();
            parallel(65536ull * nd, [&](unsigned t, unsigned long long lo, unsigned long long hi) {
                Stats s;
                for (unsigned long long i = lo; i < hi; i++) {
                    const uint16_t x = (uint16_t)(i & 0xffff), dy = dys[i >> 16];
                    // (a, b) = (x, -) forward, (dy, x) backward.
                    const uint16_t a = two(op) ? dy : x, b = two(op) ? x : 0;
                    uint16_t got = 0;
                    switch (op) {
                    case 0: got = Half<ReluFwd, BF>::apply(a, b, p); break;
                    case 1: got = Half<ReluBwd, BF>::apply(a, b, p); break;
                    case 2: got = Half<LeakyFwd, BF>::apply(a, b, p); break;
                    case 3: got = Half<LeakyBwd, BF>::apply(a, b, p); break;
                    case 4: got = Half<EluFwd, BF>::apply(a, b, p); break;
                    case 5: got = Half<EluBwdIn, BF>::apply(a, b, p); break;
                    case 6: got = Half<EluBwdOut, BF>::apply(a, b, p); break;
                    }
                    const uint16_t want = ref16<BF>(op, a, b, p.a);
                    s.add(ulps16(BF, got, want), tol, decode16<BF>(a), decode16<BF>(b), decode16<BF>(got), decode16<BF>(want));
                }
                st[t] = s;
            });
            Stats all;
            for (auto &s : st) all.merge(s);
            report(dt, op, widen16<BF>(a16), all, tol, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
}

int main(int argc, char **argv) {
    bool exhaustive = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-exhaustive")) exhaustive = true;
        else { fprintf(stderr, "usage: %s [-exhaustive]\n", argv[0]); return 2; }
    }
    check_indexing();
    check_conversions16<false>();
    check_conversions16<true>();
    check_indexing16();
    check16_all<false>();
    check16_all<true>();
    check_f64(10000000);
    check_f32(exhaustive);
    printf("emu: %d failures\n", failures.load());
    return failures ? 1 : 0;
}
