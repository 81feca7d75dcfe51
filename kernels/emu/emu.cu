// emu.cu runs the kernels' loops and formulas of ../activations.cu on the CPU, one grid thread at a
// time, for every kernel, the sizes of SEMANTICS §3, aligned and misaligned views, several grid sizes and
// in place; it checks that every element is written once, nothing around a view is written, and each
// result matches a plain reference of the formula. It cannot check device math (exp and expm1 differ
// between the CPU's libm and CUDA's): the conformance suite on a GPU does. gen_cuda.sh builds and runs
// it with nvcc whenever the kernels are regenerated.
//
//	nvcc -O2 -o /tmp/emu kernels/emu/emu.cu && /tmp/emu
#include "../activations.cu"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

static int failures = 0;

// The reference: SEMANTICS §1.1 written plainly, as backend/formula/oracle.go does (alpha already rounded to T).
template <typename T> static T ref(int op, T a, T b, T alpha) {
    switch (op) {
    case 0: return (a > 0 || a != a) ? a : T(0);                                   // relu_fwd(x)
    case 1: return b != b ? b : (b > 0 ? a : T(0));                                // relu_bwd(dy, x|y)
    case 2: return (a > 0 || a != a) ? a : alpha * a;                              // leaky_fwd(x)
    case 3: return b != b ? b : (b > 0 ? a : alpha * a);                           // leaky_bwd(dy, x|y)
    case 4: return (a > 0 || a != a) ? a : T((double)alpha * expm1((double)a));    // elu_fwd(x)
    case 5: return b != b ? b : (b > 0 ? a : T(exp_times((double)alpha, (double)b, (double)a))); // elu_bwd_in(dy, x)
    case 6: return b != b ? b : (b > 0 ? a : T(((double)b + (double)alpha) * (double)a));       // elu_bwd_out(dy, y)
    case 7: return ref<T>(4, a, b, alpha);                                                      // elu_fwd_p2(x)
    }
    abort();
}
static const char *opnames[] = {"relu_fwd", "relu_bwd", "leaky_fwd", "leaky_bwd", "elu_fwd", "elu_bwd_in", "elu_bwd_out", "elu_fwd_p2"};
static bool two(int op) { return op == 1 || op == 3 || op == 5 || op == 6; }

template <typename T> static void run(int op, bool vec, unsigned long long nth, T *o, const T *a, const T *b, unsigned long long n, T alpha) {
    typedef typename std::conditional<sizeof(T) == 4, float4, double2>::type V;
    for (unsigned long long tid = 0; tid < nth; tid++) {
#define CASE(I, OP, TWO)                                                                  \
    case I:                                                                               \
        if (vec) run_vec<OP, T, V, TWO>(tid, nth, o, a, b, n, alpha);                     \
        else run_scalar<OP, T, TWO>(tid, nth, o, a, b, n, alpha);                         \
        break;
        switch (op) {
            CASE(0, ReluFwd, false) CASE(1, ReluBwd, true) CASE(2, LeakyFwd, false) CASE(3, LeakyBwd, true)
            CASE(4, EluFwd, false) CASE(5, EluBwdIn, true) CASE(6, EluBwdOut, true) CASE(7, EluFwdP2, false)
        }
    }
}

template <typename T> static unsigned long long ordered(T v) {
    if (sizeof(T) == 4) { int32_t i; memcpy(&i, &v, 4); if (i < 0) i = INT32_MIN - i; return (unsigned long long)(long long)i; }
    int64_t i; memcpy(&i, &v, 8); if (i < 0) i = INT64_MIN - i; return (unsigned long long)i;
}
template <typename T> static bool close(T got, T want, int ulps) {
    if (got != got || want != want) return got != got && want != want;
    unsigned long long a = ordered(got), b = ordered(want);
    return (a > b ? a - b : b - a) <= (unsigned long long)ulps;
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

template <typename T> static std::vector<T> inputs(std::mt19937_64 &rng, size_t n, bool grads) {
    std::vector<T> edge;
    const double f32[] = {0, 1.4e-45, 5.9e-39, 1e-30, 1e-8, 1e-4, 0.5, 1, 17, 87.5, 88, 103, 104, 700, 3.4028234e38, INFINITY};
    const double f64[] = {0, 4.9e-324, 1.1e-308, 1e-300, 1e-8, 1e-4, 0.5, 1, 37, 700, 708, 745, 1e300, 1.7976931348623157e308, INFINITY};
    if (sizeof(T) == 4) for (double m : f32) { edge.push_back(T(m)); edge.push_back(T(-m)); }
    else for (double m : f64) { edge.push_back(T(m)); edge.push_back(T(-m)); }
    edge.push_back(T(NAN));
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<T> v(n);
    for (auto &x : v) {
        int c = rng() % 8;
        double s = u(rng) < 0.5 ? -1 : 1;
        if (c == 0) x = edge[rng() % edge.size()];
        else if (c == 1) x = grads ? T(s * pow(10, 20 + u(rng) * (sizeof(T) == 4 ? 18 : 287))) : T(sizeof(T) == 4 ? -80 - 30 * u(rng) : -700 - 50 * u(rng));
        else if (c == 2) x = T(s * pow(10, -3 - u(rng) * (sizeof(T) == 4 ? 40 : 300)));
        else x = T(24 * u(rng) - 12);
    }
    return v;
}

// check runs one kernel on views at the given offsets (in elements) and checks everything.
template <typename T> static void check(int op, bool vec, unsigned long long nth, size_t n, int oo, int oa, int ob, bool inplace, double alpha64, std::mt19937_64 &rng) {
    const size_t guard = 19;
    T alpha = T(alpha64);
    std::vector<T> a = inputs<T>(rng, n, two(op)), b = inputs<T>(rng, n, false);
    std::vector<T> ba(oa + n + guard, poisonValue<T>()), bb(ob + n + guard, poisonValue<T>()), bo(oo + n + guard, poisonValue<T>());
    std::copy(a.begin(), a.end(), ba.begin() + oa);
    std::copy(b.begin(), b.end(), bb.begin() + ob);
    T *out = inplace ? ba.data() + oa : bo.data() + oo;
    run<T>(op, vec, nth, out, ba.data() + oa, bb.data() + ob, n, alpha);
    std::vector<T> &whole = inplace ? ba : bo;
    size_t off = inplace ? oa : oo;
    int tol = op >= 4 ? 2 : 0;
    for (size_t i = 0; i < whole.size(); i++) {
        bool inside = i >= off && i < off + n;
        T got = whole[i];
        if (!inside && !poison(got)) { printf("FAIL %s %s n=%zu guard %zu written\n", opnames[op], vec ? "vec" : "scalar", n, i); failures++; return; }
        if (!inside) continue;
        size_t k = i - off;
        if (poison(got)) { printf("FAIL %s %s %zu-byte n=%zu nth=%llu offs=%d,%d,%d element %zu not written\n", opnames[op], vec ? "vec" : "scalar", sizeof(T), n, nth, oo, oa, ob, k); failures++; return; }
        T want = ref<T>(op, a[k], b[k], alpha);
        if (!close(got, want, tol)) {
            printf("FAIL %s %s %zu-byte n=%zu element %zu inputs (%g, %g): got %g want %g\n", opnames[op], vec ? "vec" : "scalar", sizeof(T), n, k, (double)a[k], (double)b[k], (double)got, (double)want);
            failures++;
            return;
        }
    }
    if (!inplace) {
        for (size_t i = 0; i < ba.size(); i++) if (i >= (size_t)oa && i < oa + n ? ba[i] != a[i - oa] && !(a[i - oa] != a[i - oa]) : !poison(ba[i])) { printf("FAIL %s input written\n", opnames[op]); failures++; return; }
    }
}

int main() {
    std::mt19937_64 rng(2024);
    const size_t sizes[] = {0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 1023, 1025, (1 << 16) + 3};
    const unsigned long long grids[] = {1, 256, 3 * 256, 7 * 256};
    const double alphas[] = {1.0, 0.37, 0.01};
    long runs = 0;
    for (int op = 0; op < 8; op++)
        for (int vec = 0; vec < 2; vec++)
            for (size_t n : sizes)
                for (unsigned long long nth : grids)
                    for (int o = 0; o < 4; o++) {
                        // vec kernels need the same alignment mod 16 bytes for every buffer: offsets that
                        // agree mod 4 elements (float32) or mod 2 (float64); the scalar ones take any.
                        int oo = o, oa = o, ob = o;
                        if (!vec) { oa = (o + 1) % 4; ob = (o + 3) % 4; }
                        double alpha = op == 7 ? (o % 2 ? 0.5 : 1.0) : alphas[(op + o) % 3]; // p2: powers of two
                        check<float>(op, vec, nth, n, oo, oa, ob, false, alpha, rng);
                        check<double>(op, vec, nth, n, oo & (vec ? 1 : 3), oa & (vec ? 1 : 3), ob & (vec ? 1 : 3), false, alpha, rng);
                        check<float>(op, vec, nth, n, oo, oa, ob, true, alpha, rng);
                        check<double>(op, vec, nth, n, oo & 1, oa & 1, ob & 1, true, alpha, rng);
                        runs += 4;
                    }
    printf("emu: %ld kernel runs, %d failures\n", runs, failures);
    return failures ? 1 : 0;
}
