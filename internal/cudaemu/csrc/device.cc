// cuInit, error names, devices, primary contexts and the current context: what exists before any memory,
// stream or kernel does.
#include <cstdio>
#include <cstring>

#include "emu.h"

static const struct {
    CUresult code;
    const char *name, *desc;
} errors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_NO_BINARY_FOR_GPU, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready"},
    {CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {CUDA_ERROR_CONTEXT_IS_DESTROYED, "CUDA_ERROR_CONTEXT_IS_DESTROYED", "context is destroyed"},
    {CUDA_ERROR_LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

CUAPI CUresult cuGetErrorName(CUresult r, const char **p) {
    for (auto &e : errors)
        if (e.code == r) {
            *p = e.name;
            return CUDA_SUCCESS;
        }
    *p = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
}

CUAPI CUresult cuGetErrorString(CUresult r, const char **p) {
    for (auto &e : errors)
        if (e.code == r) {
            *p = e.desc;
            return CUDA_SUCCESS;
        }
    *p = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
}

CUAPI CUresult cuInit(unsigned flags) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    if (!st.initialized) {
        load_config();
        if (st.cfg.fail_init) return st.cfg.fail_init; // GPUACT_CUDAEMU_FAIL_INIT: every cuInit fails
        st.initialized = true;
    }
    return CUDA_SUCCESS;
}

CUAPI CUresult cuDriverGetVersion(int *v) {
    if (!v) return CUDA_ERROR_INVALID_VALUE;
    *v = 12080;
    return CUDA_SUCCESS;
}

CUresult device(const char *call, int dev) {
    State &st = S();
    if (!st.initialized) {
        violation("%s before cuInit", call);
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    if (dev < 0 || dev >= (int)st.devices.size()) return CUDA_ERROR_INVALID_DEVICE;
    return CUDA_SUCCESS;
}

CUAPI CUresult cuDeviceGetCount(int *n) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (!st.initialized) {
        violation("cuDeviceGetCount before cuInit");
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    *n = (int)st.devices.size();
    return CUDA_SUCCESS;
}

CUAPI CUresult cuDeviceGet(int *dev, int ordinal) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (CUresult r = device("cuDeviceGet", ordinal)) return r;
    *dev = ordinal;
    return CUDA_SUCCESS;
}

CUAPI CUresult cuDeviceGetName(char *name, int len, int dev) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (CUresult r = device("cuDeviceGetName", dev)) return r;
    if (!name || len <= 0) return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)len, "%s", st.cfg.name.c_str());
    return CUDA_SUCCESS;
}

CUAPI CUresult cuDeviceGetAttribute(int *v, int attr, int dev) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (CUresult r = device("cuDeviceGetAttribute", dev)) return r;
    const Config &c = st.cfg;
    switch (attr) {
    case 1: *v = 1024; break;             // max threads per block
    case 13: *v = 1755000; break;         // SM clock, kHz
    case 16: *v = c.sms; break;           // multiprocessors
    case 33: *v = 0x10 + dev; break;      // PCI bus
    case 34: *v = 0; break;               // PCI device
    case 36: *v = 2619000; break;         // memory clock, kHz
    case 37: *v = 5120; break;            // memory bus width, bits
    case 38: *v = 256 << 10; break;       // L2: small, so benchmarks rotate few buffers
    case 39: *v = 2048; break;            // max resident threads per multiprocessor
    case 75: *v = c.cc_major; break;
    case 76: *v = c.cc_minor; break;
    case 115: *v = c.pools; break;        // memory pools supported (cuMemAllocAsync); cudaemu_set_pools
    default: return CUDA_ERROR_INVALID_VALUE; // not emulated
    }
    return CUDA_SUCCESS;
}

CUAPI CUresult cuDeviceTotalMem_v2(size_t *bytes, int dev) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (CUresult r = device("cuDeviceTotalMem_v2", dev)) return r;
    *bytes = st.cfg.memory;
    return CUDA_SUCCESS;
}

CUAPI CUresult cuDevicePrimaryCtxRetain(uint64_t *ctx, int dev) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (CUresult r = device("cuDevicePrimaryCtxRetain", dev)) return r;
    Device &d = st.devices[dev];
    if (d.refs == 0) {
        d.primary = new Context;
        d.primary->handle = new_handle(TAG_CONTEXT);
        d.primary->device = dev;
        st.contexts[d.primary->handle] = d.primary;
    }
    d.refs++;
    *ctx = d.primary->handle;
    return CUDA_SUCCESS;
}

// The last release destroys the primary context and everything in it: what the backend did not release
// is reported as leaked.
CUAPI CUresult cuDevicePrimaryCtxRelease_v2(int dev) {
    State &st = S();
    std::unique_lock<std::mutex> lk(st.mu);
    if (CUresult r = device("cuDevicePrimaryCtxRelease_v2", dev)) return r;
    Device &d = st.devices[dev];
    if (d.refs == 0) {
        violation("cuDevicePrimaryCtxRelease_v2(%d) without a retain", dev);
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    if (--d.refs == 0) {
        Context *ctx = d.primary;
        d.primary = nullptr;
        destroy_context(lk, ctx);
    }
    return CUDA_SUCCESS;
}

CUAPI CUresult cuCtxSetCurrent(uint64_t ctx) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (!st.initialized) {
        violation("cuCtxSetCurrent before cuInit");
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    if (ctx != 0 && !st.contexts.count(ctx)) {
        violation("cuCtxSetCurrent(%#llx): not a live context", (unsigned long long)ctx);
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    tls_ctx = ctx;
    return CUDA_SUCCESS;
}

CUAPI CUresult cuCtxSynchronize(void) {
    State &st = S();
    std::unique_lock<std::mutex> lk(st.mu);
    CUresult err;
    Context *ctx = current("cuCtxSynchronize", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    for (size_t i = 0; i < ctx->streams.size(); i++) {
        std::shared_ptr<Stream> s = ctx->streams[i];
        wait_stream(lk, s.get(), s->queued);
    }
    pool_sync(ctx);
    return sync_result(ctx);
}

void destroy_context(std::unique_lock<std::mutex> &lk, Context *ctx) {
    State &st = S();
    std::vector<std::shared_ptr<Stream>> streams = ctx->streams;
    for (auto &s : streams) {
        s->discard = s->stop = true;
        s->qcv.notify_all();
    }
    st.cv.notify_all(); // a worker waiting in pool_reached gives up on a discarded stream
    st.cv.wait(lk, [&] {
        for (auto &s : streams)
            if (!s->exited) return false;
        return true;
    });
    ctx->streams.clear();
    ctx->null_stream.reset();
    long leaked = 0;
    const unsigned long long c = ctx->handle;
    for (auto it = st.streams.begin(); it != st.streams.end();) {
        if (it->second->ctx != ctx) {
            ++it;
            continue;
        }
        note("leak: stream %#llx still live at the last release of context %#llx", (unsigned long long)it->first, c);
        leaked++;
        it = st.streams.erase(it);
    }
    for (auto it = st.events.begin(); it != st.events.end();) {
        if (it->second->ctx != ctx) {
            ++it;
            continue;
        }
        note("leak: event %#llx still live at the last release of context %#llx", (unsigned long long)it->first, c);
        leaked++;
        it = st.events.erase(it);
    }
    for (auto it = st.modules.begin(); it != st.modules.end();) {
        if (it->second->ctx != ctx) {
            ++it;
            continue;
        }
        note("leak: module %#llx still loaded at the last release of context %#llx", (unsigned long long)it->first, c);
        leaked++;
        for (auto &f : it->second->functions) {
            delete st.functions[f.second];
            st.functions.erase(f.second);
        }
        delete it->second;
        it = st.modules.erase(it);
    }
    pool_drop_context(ctx); // its freeing and freed blocks: the driver's to keep, no leak
    std::vector<Mem *> mems;
    for (auto &m : st.mem)
        if (m.second->ctx == ctx) mems.push_back(m.second);
    for (auto &m : st.pinned)
        if (m.second->ctx == ctx) mems.push_back(m.second);
    for (Mem *m : mems) {
        note("leak: %s of %zu bytes at %#llx still allocated at the last release of context %#llx",
             m->pinned ? "cuMemHostAlloc" : m->pool ? "cuMemAllocAsync" : "cuMemAlloc", m->bytes,
             (unsigned long long)(m->pinned ? (uintptr_t)m->host : m->dev), c);
        leaked++;
        release_mem(m);
    }
    st.counts[COUNT_LEAKED] += leaked;
    ctx->dead = true;
    st.contexts.erase(ctx->handle); // the Context itself stays: a thread may still have it current
}
