// Device memory (host memory behind addresses that are not host addresses), pinned host memory, and the
// copies between them, every range checked against the live allocations. The pools that cuMemAllocAsync
// allocates from are in pool.cc; their blocks are device memory like cuMemAlloc's.
#include <cstdlib>
#include <cstring>
#include <thread>

#include "emu.h"

bool redzone_intact(Mem *m, const char *when) {
    for (size_t i = 0; i < REDZONE; i++) {
        if ((unsigned char)m->host[m->bytes + i] != REDZONE_BYTE) {
            violation("allocation %#llx of %zu bytes was written past its end (byte %zu after it; found %s)", (unsigned long long)m->dev, m->bytes, i,
                      when);
            return false;
        }
    }
    return true;
}

void release_mem(Mem *m) {
    State &st = S();
    if (m->pinned) {
        st.pinned.erase((uintptr_t)m->host);
    } else {
        redzone_intact(m, "at its release");
        if (st.mem.erase(m->dev) && m->pool) { // a live block: leaked by a destroyed context
            m->pool->used -= m->bytes;
            m->pool->live--;
        }
        if (m->pool) m->pool->reserved -= m->bytes;
        st.freed[m->dev] = m->bytes;
        st.used[m->ctx->device] -= m->bytes;
    }
    free(m->host);
    delete m;
}

void wait_unused(std::unique_lock<std::mutex> &lk, Mem *m) {
    S().cv.wait(lk, [&] { return m->pending == 0; });
}

void fill_garbage(Mem *m) {
    // Fresh device memory holds garbage: NaN bits where that is cheap, so an unwritten output shows.
    if (m->bytes <= (1u << 20)) memset(m->host, 0xff, m->bytes);
    memset(m->host + m->bytes, REDZONE_BYTE, REDZONE);
}

Mem *new_dev_mem(Context *ctx, size_t bytes) {
    State &st = S();
    if (bytes > st.cfg.memory - st.used[ctx->device]) return nullptr;
    void *h = nullptr;
    if (posix_memalign(&h, 256, bytes + REDZONE) != 0) return nullptr;
    Mem *m = new Mem;
    m->host = (char *)h;
    m->bytes = bytes;
    m->ctx = ctx;
    fill_garbage(m);
    m->dev = st.next_dev;
    st.next_dev += (bytes + 255) / 256 * 256 + 256; // a gap: one past the end is no other allocation
    st.used[ctx->device] += bytes;
    return m;
}

CUAPI CUresult cuMemAlloc_v2(uint64_t *p, size_t bytes) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuMemAlloc_v2", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    if (!p) return CUDA_ERROR_INVALID_VALUE;
    if (bytes == 0) {
        violation("cuMemAlloc_v2 of 0 bytes");
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (fault(FAULT_ALLOC)) return CUDA_ERROR_OUT_OF_MEMORY;
    // Unlike cuMemAllocAsync, cuMemAlloc does not take memory back from the pools: the real driver leaves
    // what they hold to their release threshold and cuMemPoolTrimTo.
    Mem *m = new_dev_mem(ctx, bytes);
    if (!m) return CUDA_ERROR_OUT_OF_MEMORY;
    st.mem[m->dev] = m;
    st.counts[COUNT_ALLOCS]++;
    *p = m->dev;
    return CUDA_SUCCESS;
}

CUAPI CUresult cuMemFree_v2(uint64_t p) {
    State &st = S();
    std::unique_lock<std::mutex> lk(st.mu);
    CUresult err;
    Context *ctx = current("cuMemFree_v2", &err);
    if (!ctx) return err;
    auto it = st.mem.find(p);
    if (it == st.mem.end() || it->second->pinned) {
        if (st.freed.count(p))
            violation("cuMemFree_v2(%#llx): double free", (unsigned long long)p);
        else
            violation("cuMemFree_v2(%#llx): not the start of a live allocation", (unsigned long long)p);
        return CUDA_ERROR_INVALID_VALUE;
    }
    Mem *m = it->second;
    if (m->pool) {
        // The driver lets cuMemFree free a cuMemAllocAsync block (synchronising first); gpuact never mixes
        // the two allocators, so doing it is a bug of the backend's bookkeeping (the stricter reading).
        violation("cuMemFree_v2(%#llx): a cuMemAllocAsync allocation (free it with cuMemFreeAsync)", (unsigned long long)p);
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (m->ctx != ctx) {
        violation("cuMemFree_v2(%#llx): allocation of another context", (unsigned long long)p);
        return CUDA_ERROR_INVALID_VALUE;
    }
    st.mem.erase(it); // a second free from now on is a double free
    st.freed[p] = m->bytes;
    if (m->pending > 0) {
        // The driver documents no ordering between cuMemFree and queued work: freeing memory that
        // queued work still uses is the caller's bug (the backend synchronises first).
        violation("cuMemFree_v2(%#llx) while %d queued operations still use it", (unsigned long long)p, m->pending);
        wait_unused(lk, m);
    }
    st.mem[p] = m; // release_mem unregisters it
    st.counts[COUNT_FREES]++;
    release_mem(m);
    return ctx->sticky ? ctx->sticky : CUDA_SUCCESS;
}

// cuPointerGetAttribute answers for device memory from cuMemAlloc and cuMemAllocAsync (live blocks only):
// its context, device, allocation range and memory type (CU_MEMORYTYPE_DEVICE). Like the driver it needs
// no current context, and a pointer it does not know is CUDA_ERROR_INVALID_VALUE, not a violation: asking
// is how a caller finds out (after cuMemFreeAsync the driver documents asking as undefined).
CUAPI CUresult cuPointerGetAttribute(void *data, int attr, uint64_t p) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (!st.initialized) {
        violation("cuPointerGetAttribute before cuInit");
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    if (!data) return CUDA_ERROR_INVALID_VALUE;
    auto it = st.mem.upper_bound(p);
    if (it == st.mem.begin()) return CUDA_ERROR_INVALID_VALUE;
    --it;
    Mem *m = it->second;
    if (m->pinned || p - m->dev >= m->bytes) return CUDA_ERROR_INVALID_VALUE;
    switch (attr) {
    case 1: *(uint64_t *)data = m->ctx->handle; break;        // CU_POINTER_ATTRIBUTE_CONTEXT
    case 2: *(unsigned *)data = 2; break;                     // CU_POINTER_ATTRIBUTE_MEMORY_TYPE: device
    case 9: *(int *)data = m->ctx->device; break;             // CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL
    case 11: *(uint64_t *)data = m->dev; break;               // CU_POINTER_ATTRIBUTE_RANGE_START_ADDR
    case 12: *(size_t *)data = m->bytes; break;               // CU_POINTER_ATTRIBUTE_RANGE_SIZE
    default: return CUDA_ERROR_INVALID_VALUE;                 // not emulated
    }
    return CUDA_SUCCESS;
}

CUAPI CUresult cuMemHostAlloc(void **pp, size_t bytes, unsigned flags) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuMemHostAlloc", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    if (!pp || bytes == 0 || (flags & ~7u)) return CUDA_ERROR_INVALID_VALUE;
    if (fault(FAULT_HOST_ALLOC)) return CUDA_ERROR_OUT_OF_MEMORY;
    void *h = nullptr;
    if (posix_memalign(&h, 4096, bytes) != 0) return CUDA_ERROR_OUT_OF_MEMORY;
    Mem *m = new Mem;
    m->host = (char *)h;
    m->bytes = bytes;
    m->pinned = true;
    m->ctx = ctx;
    st.pinned[(uintptr_t)h] = m;
    *pp = h;
    return CUDA_SUCCESS;
}

CUAPI CUresult cuMemFreeHost(void *p) {
    State &st = S();
    std::unique_lock<std::mutex> lk(st.mu);
    CUresult err;
    Context *ctx = current("cuMemFreeHost", &err);
    if (!ctx) return err;
    auto it = st.pinned.find((uintptr_t)p);
    if (it == st.pinned.end()) {
        violation("cuMemFreeHost(%p): not a live cuMemHostAlloc block (double free?)", p);
        return CUDA_ERROR_INVALID_VALUE;
    }
    Mem *m = it->second;
    st.pinned.erase(it);
    if (m->pending > 0) {
        violation("cuMemFreeHost(%p) while %d queued copies still use it", p, m->pending);
        wait_unused(lk, m);
    }
    st.pinned[(uintptr_t)p] = m;
    release_mem(m);
    return ctx->sticky ? ctx->sticky : CUDA_SUCCESS;
}

CUAPI CUresult cuMemGetInfo_v2(size_t *free, size_t *total) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuMemGetInfo_v2", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    *total = st.cfg.memory;
    *free = st.cfg.memory - st.used[ctx->device];
    return CUDA_SUCCESS;
}

// ---- copies ----

// An Op is one copy or memset being checked and queued.
struct Op {
    const char *call;
    std::unique_lock<std::mutex> lk;
    Context *ctx = nullptr;
    Stream *s = nullptr;
    Item item;
    CUresult err = CUDA_SUCCESS;

    Op(const char *call, uint64_t stream) : call(call), lk(S().mu) {
        ctx = current(call, &err);
        if (!ctx) return;
        if (ctx->sticky) {
            err = ctx->sticky;
            return;
        }
        s = stream_of(ctx, call, stream, &err);
        item.what = call;
    }
    // dev adds device range [p, p+bytes) to the operation and returns where it lives.
    char *dev(const char *arg, uint64_t p, size_t bytes) {
        char *h = nullptr;
        if (err || bytes == 0) return nullptr;
        Mem *m = dev_range(ctx, call, arg, p, bytes, &h);
        if (!m) {
            err = CUDA_ERROR_INVALID_VALUE;
            return nullptr;
        }
        item.uses.push_back(m);
        return h;
    }
    // host adds host range [p, p+bytes); it reports whether the memory is pageable.
    bool host(const char *arg, const void *p, size_t bytes) {
        if (err || bytes == 0) return true;
        bool bad;
        Mem *m = host_range(call, arg, p, bytes, &bad);
        if (bad) err = CUDA_ERROR_INVALID_VALUE;
        if (m) item.uses.push_back(m);
        return m == nullptr;
    }
    // queue queues the operation; with wait, it returns once the operation has run.
    CUresult queue(bool wait) {
        if (err) return err;
        uint64_t seq = enqueue(s, std::move(item));
        if (wait) {
            wait_stream(lk, s, seq);
            if (ctx->sticky) return ctx->sticky;
        }
        return CUDA_SUCCESS;
    }
};

// From pageable memory the driver documents cuMemcpyHtoDAsync only as "might be synchronous": the
// emulator takes the other reading and reads src when the stream reaches the copy (after the delay), so a
// caller that reuses src before the copy has run gets a wrong result instead of passing by luck.
CUAPI CUresult cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, uint64_t stream) {
    Op op("cuMemcpyHtoDAsync_v2", stream);
    char *d = op.dev("dst", dst, bytes);
    if (op.host("src", src, bytes) && !op.err && bytes) S().counts[COUNT_PAGEABLE_HTOD]++;
    if (bytes == 0) return op.err;
    op.item.run = [d, src, bytes] { memcpy(d, src, bytes); };
    return op.queue(false);
}

// To pageable memory the driver returns only once the copy has completed; to pinned memory it does not wait.
CUAPI CUresult cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t bytes, uint64_t stream) {
    Op op("cuMemcpyDtoHAsync_v2", stream);
    const char *s = op.dev("src", src, bytes);
    bool pageable = op.host("dst", dst, bytes);
    if (bytes == 0) return op.err;
    op.item.run = [dst, s, bytes] { memcpy(dst, s, bytes); };
    return op.queue(pageable);
}

CUAPI CUresult cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, uint64_t stream) {
    Op op("cuMemcpyDtoDAsync_v2", stream);
    char *d = op.dev("dst", dst, bytes);
    const char *s = op.dev("src", src, bytes);
    if (bytes == 0) return op.err;
    op.item.run = [d, s, bytes] { memmove(d, s, bytes); };
    return op.queue(false);
}

CUAPI CUresult cuMemsetD8Async(uint64_t dst, unsigned char v, size_t n, uint64_t stream) {
    Op op("cuMemsetD8Async", stream);
    char *d = op.dev("dst", dst, n);
    if (n == 0) return op.err;
    op.item.run = [d, v, n] { memset(d, v, n); };
    return op.queue(false);
}

// The synchronous copies run on the context's NULL stream and return once done.
CUAPI CUresult cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes) {
    Op op("cuMemcpyHtoD_v2", 0);
    char *d = op.dev("dst", dst, bytes);
    op.host("src", src, bytes);
    if (bytes == 0) return op.err;
    op.item.run = [d, src, bytes] { memcpy(d, src, bytes); };
    return op.queue(true);
}

CUAPI CUresult cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t bytes) {
    Op op("cuMemcpyDtoH_v2", 0);
    const char *s = op.dev("src", src, bytes);
    op.host("dst", dst, bytes);
    if (bytes == 0) return op.err;
    op.item.run = [dst, s, bytes] { memcpy(dst, s, bytes); };
    return op.queue(true);
}
