// Modules, functions and launches. cuModuleLoadData accepts only the fatbin embedded in gpuact
// (kernels.CUDAFatbin: the Go builder passes its size and hash); cuLaunchKernel queues the real kernel,
// compiled for the host (kernels.cc).
#include <cstring>
#include <vector>

#include "emu.h"

#ifndef GPUACT_FATBIN_BYTES
#error "build with -DGPUACT_FATBIN_BYTES=<size> -DGPUACT_FATBIN_FNV=<FNV-1a 64 of the fatbin> (internal/cudaemu does)"
#endif

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

// is_gpuact_fatbin reports whether the GPUACT_FATBIN_BYTES at b are gpuact's fatbin (lock held). The
// first match is kept, so later loads (one per Open) compare bytes instead of hashing them again.
static bool is_gpuact_fatbin(const unsigned char *b) {
    static std::vector<unsigned char> *known;
    if (known) return memcmp(known->data(), b, GPUACT_FATBIN_BYTES) == 0;
    if (fnv1a(b, GPUACT_FATBIN_BYTES) != GPUACT_FATBIN_FNV) return false;
    known = new std::vector<unsigned char>(b, b + GPUACT_FATBIN_BYTES);
    return true;
}

CUAPI CUresult cuModuleLoadData(uint64_t *mod, const void *image) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuModuleLoadData", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    if (!mod || !image) return CUDA_ERROR_INVALID_VALUE;
    // A fatbin: magic 0xba55ed50, version (2 bytes), header size (2), then the size of what follows (8).
    const unsigned char *b = (const unsigned char *)image;
    uint32_t magic;
    uint16_t header;
    uint64_t body;
    memcpy(&magic, b, 4);
    memcpy(&header, b + 6, 2);
    memcpy(&body, b + 8, 8);
    if (magic != 0xba55ed50u) {
        violation("cuModuleLoadData: not a fatbin (magic %#x)", magic);
        return CUDA_ERROR_INVALID_IMAGE;
    }
    if (header + body != GPUACT_FATBIN_BYTES || !is_gpuact_fatbin(b)) {
        violation("cuModuleLoadData: a fatbin of %llu bytes that is not gpuact's (kernels.CUDAFatbin)", (unsigned long long)(header + body));
        return CUDA_ERROR_INVALID_IMAGE;
    }
    // The fatbin has machine code for sm_50 and up (and PTX newer GPUs compile): nothing older runs it.
    if (fault(FAULT_MODULE) || st.cfg.cc_major < 5) return CUDA_ERROR_NO_BINARY_FOR_GPU;
    Module *m = new Module;
    m->handle = new_handle(TAG_MODULE);
    m->ctx = ctx;
    st.modules[m->handle] = m;
    *mod = m->handle;
    return CUDA_SUCCESS;
}

static Module *module_of(Context *ctx, const char *call, uint64_t h, CUresult *err) {
    State &st = S();
    auto it = st.modules.find(h);
    if (it == st.modules.end() || it->second->ctx != ctx) {
        violation("%s: %#llx is not a module loaded in the current context", call, (unsigned long long)h);
        *err = CUDA_ERROR_INVALID_HANDLE;
        return nullptr;
    }
    return it->second;
}

CUAPI CUresult cuModuleUnload(uint64_t h) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuModuleUnload", &err);
    if (!ctx) return err;
    Module *m = module_of(ctx, "cuModuleUnload", h, &err);
    if (!m) return err;
    for (auto &f : m->functions) { // launches already queued keep their kernel; new ones are refused
        delete st.functions[f.second];
        st.functions.erase(f.second);
    }
    st.modules.erase(h);
    delete m;
    return ctx->sticky ? ctx->sticky : CUDA_SUCCESS;
}

CUAPI CUresult cuModuleGetFunction(uint64_t *f, uint64_t h, const char *name) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuModuleGetFunction", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    Module *m = module_of(ctx, "cuModuleGetFunction", h, &err);
    if (!m) return err;
    if (!f || !name) return CUDA_ERROR_INVALID_VALUE;
    const Kernel *k = find_kernel(name);
    if (!k) return CUDA_ERROR_NOT_FOUND;
    uint64_t &fh = m->functions[name];
    if (!fh) {
        Function *fn = new Function;
        fn->handle = fh = new_handle(TAG_FUNCTION);
        fn->mod = m;
        fn->kernel = k;
        st.functions[fh] = fn;
    }
    *f = fh;
    return CUDA_SUCCESS;
}

static Function *function_of(Context *ctx, const char *call, uint64_t h, CUresult *err) {
    State &st = S();
    auto it = st.functions.find(h);
    if (it == st.functions.end() || it->second->mod->ctx != ctx) {
        violation("%s: %#llx is not a function of a module loaded in the current context", call, (unsigned long long)h);
        *err = CUDA_ERROR_INVALID_HANDLE;
        return nullptr;
    }
    return it->second;
}

CUAPI CUresult cuFuncGetAttribute(int *v, int attr, uint64_t h) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuFuncGetAttribute", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    Function *f = function_of(ctx, "cuFuncGetAttribute", h, &err);
    if (!f) return err;
    switch (attr) {
    case 0: *v = kernel_max_threads(f->kernel); break; // max threads per block
    case 3: *v = 0; break;                             // local memory bytes
    case 4: *v = 32; break;                            // registers: the emulator has no register file
    default: return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

CUAPI CUresult cuLaunchKernel(uint64_t h, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                              uint64_t stream, void **params, void **extra) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuLaunchKernel", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    Function *f = function_of(ctx, "cuLaunchKernel", h, &err);
    if (!f) return err;
    Stream *s = stream_of(ctx, "cuLaunchKernel", stream, &err);
    if (!s) return err;
    if (extra) {
        violation("cuLaunchKernel: extra is not emulated (gpuact passes kernelParams)");
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (!gx || !gy || !gz || !bx || !by || !bz || gx > 0x7fffffffu || gy > 65535 || gz > 65535 || bz > 64 ||
        (unsigned long long)bx * by * bz > 1024 || shared > 48 * 1024)
        return CUDA_ERROR_INVALID_VALUE;
    if ((unsigned long long)bx * by * bz > (unsigned long long)kernel_max_threads(f->kernel)) return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
    Item item;
    const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
    if (CUresult r = prepare_launch(ctx, f->kernel, grid, block, params, &item)) return r;
    if (fault(FAULT_LAUNCH)) {
        if (st.launch_how == FAIL_AT_LAUNCH) return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
        item.fail = st.launch_how;
    }
    enqueue(s, std::move(item));
    return CUDA_SUCCESS;
}
