// The stream-ordered allocator (CUDA 11.2): each device's default memory pool, cuMemAllocAsync and
// cuMemFreeAsync, the pool's attributes, and the release of freed memory back to the device.
//
// Where the driver leaves room, the emulator takes the reading that exposes a careless caller:
//   - a freed block is reused only once its stream has reached the free (the driver may also hand a block
//     freed earlier on the same stream to a later allocation before that, relying on stream order), and
//     only for an allocation of exactly its size (the driver also carves smaller allocations out of a
//     larger block), so every allocation's range and red zone stay exact;
//   - from cuMemFreeAsync on, the pointer is dead to new work (the driver documents using it as undefined),
//     and work of another stream that still uses it then is a violation: nothing orders it before the
//     free (the driver would follow an event dependency; gpuact frees on the stream that used the memory);
//   - freed blocks go back to the device only above the release threshold at stream, event and context
//     synchronisations, at cuMemPoolTrimTo, when an allocation would not fit otherwise, and at the
//     context's last release, so cuMemGetInfo shows what the pool holds as the driver's does.
#include <cstring>

#include "emu.h"

// release_oldest releases p's oldest freed block back to the device; false when p has none (lock held).
static bool release_oldest(Pool &p) {
    if (p.freed.empty()) return false;
    Mem *m = p.freed.front();
    p.freed.pop_front();
    release_mem(m);
    return true;
}

// trim releases p's freed blocks, oldest first, until it holds at most keep bytes or has none left: live
// and freeing blocks are not the pool's to release (lock held).
static void trim(Pool &p, uint64_t keep) {
    while (p.reserved > keep && release_oldest(p)) {
    }
}

void pool_sync(Context *ctx) {
    if (ctx->dead) return; // destroyed while the caller waited: destroy_context released its blocks
    Pool &p = *S().pools[ctx->device];
    trim(p, p.threshold);
}

void pool_reached(std::unique_lock<std::mutex> &lk, Stream *s, Mem *m) {
    // Work of its own stream that used the block is done (stream order); work of another stream that still
    // used it at cuMemFreeAsync (a violation counted then) must finish before it can be reused or released,
    // so the emulator stays memory-safe for a caller that is not.
    S().cv.wait(lk, [&] { return m->pending == 0 || s->discard; });
    if (s->discard) return; // the context is being destroyed: pool_drop_context releases it
    Pool &p = *m->pool;
    p.freeing.erase(m);
    // The last moment the previous owner's writes are known to be its own: check the red zone now, and
    // rewrite it so a block reused and released later is not reported twice.
    if (!redzone_intact(m, "when its stream reached cuMemFreeAsync")) memset(m->host + m->bytes, REDZONE_BYTE, REDZONE);
    p.freed.push_back(m);
}

void pool_drop_context(Context *ctx) {
    State &st = S();
    Pool &p = *st.pools[ctx->device];
    std::vector<Mem *> drop;
    for (Mem *m : p.freeing)
        if (m->ctx == ctx) drop.push_back(m);
    for (Mem *m : drop) p.freeing.erase(m);
    for (auto it = p.freed.begin(); it != p.freed.end();) {
        if ((*it)->ctx == ctx) {
            drop.push_back(*it);
            it = p.freed.erase(it);
        } else {
            ++it;
        }
    }
    for (Mem *m : drop) release_mem(m);
    // A new primary context starts with a fresh pool as far as a test can tell: the default threshold.
    p.threshold = 0;
}

// pool_of resolves a pool handle for call (lock held): pools unsupported is CUDA_ERROR_NOT_SUPPORTED, as
// the driver answers; an unknown handle is a violation.
static Pool *pool_of(const char *call, uint64_t h, CUresult *err) {
    State &st = S();
    if (!st.initialized) {
        violation("%s before cuInit", call);
        *err = CUDA_ERROR_NOT_INITIALIZED;
        return nullptr;
    }
    if (!st.cfg.pools) {
        *err = CUDA_ERROR_NOT_SUPPORTED;
        return nullptr;
    }
    for (auto &p : st.pools)
        if (p->handle == h) return p.get();
    violation("%s: %#llx is not a memory pool (cuDeviceGetDefaultMemPool)", call, (unsigned long long)h);
    *err = CUDA_ERROR_INVALID_VALUE;
    return nullptr;
}

CUAPI CUresult cuDeviceGetDefaultMemPool(uint64_t *pool, int dev) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    if (CUresult r = device("cuDeviceGetDefaultMemPool", dev)) return r;
    if (!st.cfg.pools) return CUDA_ERROR_NOT_SUPPORTED;
    if (!pool) return CUDA_ERROR_INVALID_VALUE;
    *pool = st.pools[dev]->handle;
    return CUDA_SUCCESS;
}

// The attributes are CUmemPool_attribute's numbers; the three emulated ones are cuuint64_t.
enum { POOL_RELEASE_THRESHOLD = 4, POOL_RESERVED_MEM_CURRENT = 5, POOL_USED_MEM_CURRENT = 7 };

CUAPI CUresult cuMemPoolSetAttribute(uint64_t pool, int attr, void *value) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Pool *p = pool_of("cuMemPoolSetAttribute", pool, &err);
    if (!p) return err;
    if (!value) return CUDA_ERROR_INVALID_VALUE;
    switch (attr) {
    case POOL_RELEASE_THRESHOLD: memcpy(&p->threshold, value, sizeof p->threshold); break; // applies at the next synchronisation
    case POOL_RESERVED_MEM_CURRENT:
    case POOL_USED_MEM_CURRENT:
        violation("cuMemPoolSetAttribute(%#llx, %d): the attribute is read-only", (unsigned long long)pool, attr);
        return CUDA_ERROR_INVALID_VALUE;
    default: return CUDA_ERROR_INVALID_VALUE; // not emulated
    }
    return CUDA_SUCCESS;
}

CUAPI CUresult cuMemPoolGetAttribute(uint64_t pool, int attr, void *value) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Pool *p = pool_of("cuMemPoolGetAttribute", pool, &err);
    if (!p) return err;
    if (!value) return CUDA_ERROR_INVALID_VALUE;
    uint64_t v;
    switch (attr) {
    case POOL_RELEASE_THRESHOLD: v = p->threshold; break;
    case POOL_RESERVED_MEM_CURRENT: v = p->reserved; break;
    case POOL_USED_MEM_CURRENT: v = p->used; break;
    default: return CUDA_ERROR_INVALID_VALUE; // not emulated
    }
    memcpy(value, &v, sizeof v);
    return CUDA_SUCCESS;
}

// As the driver documents: freed memory goes back until the pool holds fewer than keep bytes, or there
// is none left it can safely release (live blocks, and blocks whose free their stream has not reached).
CUAPI CUresult cuMemPoolTrimTo(uint64_t pool, size_t keep) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Pool *p = pool_of("cuMemPoolTrimTo", pool, &err);
    if (!p) return err;
    trim(*p, keep);
    return CUDA_SUCCESS;
}

CUAPI CUresult cuMemAllocAsync(uint64_t *dp, size_t bytes, uint64_t stream) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuMemAllocAsync", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    if (!st.cfg.pools) return CUDA_ERROR_NOT_SUPPORTED;
    if (!stream_of(ctx, "cuMemAllocAsync", stream, &err)) return err;
    if (!dp) return CUDA_ERROR_INVALID_VALUE;
    if (bytes == 0) {
        violation("cuMemAllocAsync of 0 bytes");
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (fault(FAULT_ALLOC)) return CUDA_ERROR_OUT_OF_MEMORY;
    Pool &p = *st.pools[ctx->device];
    Mem *m = nullptr;
    for (auto it = p.freed.begin(); it != p.freed.end(); ++it) {
        if ((*it)->bytes == bytes && (*it)->ctx == ctx) {
            m = *it;
            p.freed.erase(it);
            break;
        }
    }
    if (m) {
        st.freed.erase(m->dev); // alive again: no more a use after free
        fill_garbage(m);        // what the last owner left is not the new owner's
    } else {
        // As the driver does before it gives up: the pool's freed memory goes back to the device first.
        while (bytes > st.cfg.memory - st.used[ctx->device] && release_oldest(p)) {
        }
        m = new_dev_mem(ctx, bytes);
        if (!m) return CUDA_ERROR_OUT_OF_MEMORY;
        m->pool = &p;
        p.reserved += bytes;
        st.counts[COUNT_POOL_RESERVES]++;
    }
    st.mem[m->dev] = m;
    p.used += bytes;
    p.live++;
    st.counts[COUNT_POOL_ALLOCS]++;
    *dp = m->dev;
    return CUDA_SUCCESS;
}

CUAPI CUresult cuMemFreeAsync(uint64_t dp, uint64_t stream) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuMemFreeAsync", &err);
    if (!ctx) return err;
    if (!st.cfg.pools) return CUDA_ERROR_NOT_SUPPORTED;
    Stream *s = stream_of(ctx, "cuMemFreeAsync", stream, &err);
    if (!s) return err;
    auto it = st.mem.find(dp);
    if (it == st.mem.end()) {
        if (st.freed.count(dp))
            violation("cuMemFreeAsync(%#llx): double free", (unsigned long long)dp);
        else
            violation("cuMemFreeAsync(%#llx): not the start of a live allocation", (unsigned long long)dp);
        return CUDA_ERROR_INVALID_VALUE;
    }
    Mem *m = it->second;
    if (!m->pool) {
        violation("cuMemFreeAsync(%#llx): a cuMemAlloc allocation (free it with cuMemFree_v2)", (unsigned long long)dp);
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (m->ctx != ctx) {
        violation("cuMemFreeAsync(%#llx): allocation of another context", (unsigned long long)dp);
        return CUDA_ERROR_INVALID_VALUE;
    }
    auto mine = m->users.find(s);
    int others = m->pending - (mine == m->users.end() ? 0 : mine->second);
    if (others > 0) // the free's stream could reach it, and the block be reused, while that work runs
        violation("cuMemFreeAsync(%#llx) on stream %#llx while %d queued operations of other streams still use it", (unsigned long long)dp,
                  (unsigned long long)s->handle, others);
    st.mem.erase(it); // dead to new work from now on, and a second free is a double free
    st.freed[dp] = m->bytes;
    Pool &p = *m->pool;
    p.used -= m->bytes;
    p.live--;
    p.freeing.insert(m);
    Item item;
    item.what = "cuMemFreeAsync";
    item.pool_free = m;
    enqueue(s, std::move(item));
    st.counts[COUNT_POOL_FREES]++;
    return ctx->sticky ? ctx->sticky : CUDA_SUCCESS;
}
