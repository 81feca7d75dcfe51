// The real kernels of kernels/activations.cu, compiled for the host through cuda_shim.h, and the launcher
// that runs them as cuLaunchKernel would: kernelParams read as the driver reads them (as many pointers as
// the kernel has parameters, each pointing to a value of its parameter's size, the count and sizes taken
// from the kernel's C++ signature), then the kernel called once per thread of the grid and block the
// caller chose.
//
// activations.cu is not a copy: the Go builder writes kernels.CUDASource next to this file, so the
// emulator always runs the committed kernels.
#include "cuda_shim.h"
// clang-format off
#include "activations.cu"
// clang-format on

#include <array>
#include <cstring>
#include <thread>
#include <type_traits>
#include <utility>

#include "emu.h"

struct Dims {
    unsigned grid[3], block[3];
};

constexpr int MAX_PARAMS = 16;

struct Kernel {
    std::string name;
    int nparams = 0;
    std::array<size_t, MAX_PARAMS> size{}, offset{}, elem{}; // elem: the pointee's size, for pointers
    std::array<bool, MAX_PARAMS> pointer{};
    int count = -1;    // the element count (the unsigned long long parameter) that pointers cover
    size_t packed = 0; // bytes of the parameters, laid out as a struct of them
    std::function<void(const Dims &, const unsigned char *)> run;
};

template <typename T> static T load(const unsigned char *p) {
    T v;
    memcpy(&v, p, sizeof v);
    return v;
}

template <typename T> constexpr size_t elem_size() {
    if constexpr (std::is_pointer<T>::value)
        return sizeof(std::remove_pointer_t<T>);
    else
        return 0;
}

template <typename... A, size_t... I>
static void call(void (*fn)(A...), const unsigned char *args, const size_t *off, std::index_sequence<I...>) {
    fn(load<A>(args + off[I])...);
}

// make_kernel describes fn's parameters from its type and makes the per-thread loop that runs it.
template <typename... A> static Kernel make_kernel(const char *name, void (*fn)(A...)) {
    static_assert(sizeof...(A) > 0 && sizeof...(A) <= MAX_PARAMS, "kernel parameters");
    Kernel k;
    k.name = name;
    k.nparams = sizeof...(A);
    const size_t sizes[] = {sizeof(A)...}, aligns[] = {alignof(A)...}, elems[] = {elem_size<A>()...};
    const bool pointers[] = {std::is_pointer<A>::value...}, counts[] = {std::is_same<A, unsigned long long>::value...};
    size_t off = 0;
    for (int i = 0; i < k.nparams; i++) {
        off = (off + aligns[i] - 1) / aligns[i] * aligns[i];
        k.offset[i] = off;
        k.size[i] = sizes[i];
        k.elem[i] = elems[i];
        k.pointer[i] = pointers[i];
        if (counts[i] && k.count < 0) k.count = i;
        off += sizes[i];
    }
    k.packed = off;
    const std::array<size_t, MAX_PARAMS> offs = k.offset;
    k.run = [fn, offs](const Dims &d, const unsigned char *args) {
        gridDim = {d.grid[0], d.grid[1], d.grid[2]};
        blockDim = {d.block[0], d.block[1], d.block[2]};
        for (unsigned bz = 0; bz < d.grid[2]; bz++)
            for (unsigned by = 0; by < d.grid[1]; by++)
                for (unsigned bx = 0; bx < d.grid[0]; bx++) {
                    blockIdx = {bx, by, bz};
                    for (unsigned tz = 0; tz < d.block[2]; tz++)
                        for (unsigned ty = 0; ty < d.block[1]; ty++)
                            for (unsigned tx = 0; tx < d.block[0]; tx++) {
                                threadIdx = {tx, ty, tz};
                                call(fn, args, offs.data(), std::index_sequence_for<A...>{});
                            }
                }
    };
    return k;
}

// The registry: every kernel GPUACT_KERNELS(NAME, ...) defines in activations.cu. A Go test checks that
// this list and the GPUACT_KERNELS invocations there are the same.
#define EMU_KERNELS(NAME)                                                                      \
    v->push_back(make_kernel("gpuact_" #NAME "_f32_vec", gpuact_##NAME##_f32_vec));            \
    v->push_back(make_kernel("gpuact_" #NAME "_f32_scalar", gpuact_##NAME##_f32_scalar));      \
    v->push_back(make_kernel("gpuact_" #NAME "_f64_vec", gpuact_##NAME##_f64_vec));            \
    v->push_back(make_kernel("gpuact_" #NAME "_f64_scalar", gpuact_##NAME##_f64_scalar));      \
    v->push_back(make_kernel("gpuact_" #NAME "_f16_vec", gpuact_##NAME##_f16_vec));            \
    v->push_back(make_kernel("gpuact_" #NAME "_f16_scalar", gpuact_##NAME##_f16_scalar));      \
    v->push_back(make_kernel("gpuact_" #NAME "_bf16_vec", gpuact_##NAME##_bf16_vec));          \
    v->push_back(make_kernel("gpuact_" #NAME "_bf16_scalar", gpuact_##NAME##_bf16_scalar));

static const std::vector<Kernel> &registry() {
    static const std::vector<Kernel> *r = [] {
        auto *v = new std::vector<Kernel>;
        EMU_KERNELS(relu_fwd)
        EMU_KERNELS(relu_bwd)
        EMU_KERNELS(leaky_fwd)
        EMU_KERNELS(leaky_bwd)
        EMU_KERNELS(elu_fwd)
        EMU_KERNELS(elu_bwd_in)
        EMU_KERNELS(elu_bwd_out)
        return v;
    }();
    return *r;
}

const Kernel *find_kernel(const char *name) {
    for (const Kernel &k : registry())
        if (k.name == name) return &k;
    return nullptr;
}

// Every kernel is declared __launch_bounds__(BLOCK) in activations.cu.
int kernel_max_threads(const Kernel *) { return BLOCK; }

std::string kernel_names() {
    std::string s;
    for (const Kernel &k : registry()) s += k.name + "\n";
    return s;
}

CUresult prepare_launch(Context *ctx, const Kernel *k, const unsigned grid[3], const unsigned block[3], void **params, Item *item) {
    std::string call = "cuLaunchKernel(" + k->name + ")";
    if (!params) {
        violation("%s: kernelParams is NULL, but the kernel takes %d parameters", call.c_str(), k->nparams);
        return CUDA_ERROR_INVALID_VALUE;
    }
    // The driver copies the values before cuLaunchKernel returns (the caller may reuse them at once).
    auto args = std::make_shared<std::vector<unsigned char>>(k->packed);
    for (int i = 0; i < k->nparams; i++) {
        if (!params[i]) {
            violation("%s: kernelParams[%d] is NULL, but the kernel takes %d parameters", call.c_str(), i, k->nparams);
            return CUDA_ERROR_INVALID_VALUE;
        }
        memcpy(args->data() + k->offset[i], params[i], k->size[i]);
    }
    const unsigned long long n = k->count >= 0 ? load<unsigned long long>(args->data() + k->offset[k->count]) : 1;
    for (int i = 0; i < k->nparams; i++) {
        if (!k->pointer[i]) continue;
        uint64_t p = load<uint64_t>(args->data() + k->offset[i]);
        if (p == 0) continue; // an input the kernel does not read (forward passes take no second input)
        if (n > SIZE_MAX / k->elem[i]) {
            violation("%s: %llu elements overflow", call.c_str(), n);
            return CUDA_ERROR_INVALID_VALUE;
        }
        char arg[32];
        snprintf(arg, sizeof arg, "parameter %d", i);
        char *h;
        Mem *m = dev_range(ctx, call.c_str(), arg, p, n * k->elem[i], &h);
        if (!m) return CUDA_ERROR_INVALID_VALUE;
        uint64_t hp = (uint64_t)(uintptr_t)h;
        memcpy(args->data() + k->offset[i], &hp, sizeof hp);
        item->uses.push_back(m);
    }
    const Dims d = {{grid[0], grid[1], grid[2]}, {block[0], block[1], block[2]}};
    const long delay = S().cfg.kernel_delay_us;
    item->what = "kernel";
    item->run = [k, args, d, delay] {
        if (delay > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay));
        k->run(d, args->data());
    };
    return CUDA_SUCCESS;
}
