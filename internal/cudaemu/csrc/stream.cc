// Streams and events. Each stream has a worker thread that runs its items in order, each no earlier than
// the stream delay after it was queued, so work is still pending when the call that queued it returns
// and a missing synchronisation reads stale data. Events are markers in a stream: complete, with the
// time, when the worker reaches them.
#include <thread>

#include "emu.h"

static void worker(std::shared_ptr<Stream> s) {
    State &st = S();
    std::unique_lock<std::mutex> lk(st.mu);
    Context *ctx = s->ctx;
    for (;;) {
        s->qcv.wait(lk, [&] { return !s->q.empty() || s->stop; });
        if (s->q.empty()) break; // destroyed and drained
        Item it = std::move(s->q.front());
        s->q.pop_front();
        bool skip = s->discard || ctx->sticky;
        if (!skip) {
            lk.unlock();
            std::this_thread::sleep_until(it.ready);
            lk.lock();
            skip = s->discard || ctx->sticky;
        }
        if (!skip) {
            if (it.fail == FAIL_STICKY) {
                ctx->sticky = CUDA_ERROR_ILLEGAL_ADDRESS; // the context is unusable from now on
            } else if (it.fail == FAIL_ASYNC) {
                if (!ctx->async_error) ctx->async_error = CUDA_ERROR_LAUNCH_FAILED;
            } else if (it.run) {
                lk.unlock();
                it.run();
                lk.lock();
                if (!it.event) st.counts[COUNT_LAUNCHES] += it.what == "kernel";
            }
        }
        if (it.event && it.event->gen == it.gen) {
            it.event->complete = true;
            it.event->when = Clock::now();
        }
        // Even in a sticky context: the block goes back to its pool, as the calls that release a handle
        // still release it (a discarded queue leaves it to destroy_context).
        if (it.pool_free && !s->discard) pool_reached(lk, s.get(), it.pool_free);
        for (Mem *m : it.uses) {
            m->pending--;
            if (--m->users[s.get()] == 0) m->users.erase(s.get());
        }
        s->done++;
        st.cv.notify_all();
    }
    s->exited = true;
    st.cv.notify_all();
}

std::shared_ptr<Stream> new_stream(Context *ctx, uint64_t handle) {
    auto s = std::make_shared<Stream>();
    s->handle = handle;
    s->ctx = ctx;
    auto &v = ctx->streams;
    for (size_t i = 0; i < v.size();) { // forget destroyed streams whose workers are done
        if (v[i]->exited)
            v.erase(v.begin() + (long)i);
        else
            i++;
    }
    v.push_back(s);
    std::thread(worker, s).detach();
    return s;
}

uint64_t enqueue(Stream *s, Item item) {
    State &st = S();
    item.ready = Clock::now() + std::chrono::microseconds(st.cfg.delay_us);
    for (Mem *m : item.uses) {
        m->pending++;
        m->users[s]++;
    }
    s->q.push_back(std::move(item));
    s->qcv.notify_one();
    return ++s->queued;
}

void wait_stream(std::unique_lock<std::mutex> &lk, Stream *s, uint64_t seq) {
    S().cv.wait(lk, [&] { return s->done >= seq || s->ctx->sticky || s->discard; });
}

CUresult sync_result(Context *ctx) {
    if (ctx->sticky) return ctx->sticky;
    CUresult r = ctx->async_error;
    ctx->async_error = CUDA_SUCCESS;
    return r;
}

Stream *stream_of(Context *ctx, const char *call, uint64_t h, CUresult *err) {
    State &st = S();
    if (h == 0) {
        if (!ctx->null_stream) ctx->null_stream = new_stream(ctx, 0);
        return ctx->null_stream.get();
    }
    auto it = st.streams.find(h);
    if (it == st.streams.end()) {
        violation("%s: %#llx is not a live stream", call, (unsigned long long)h);
        *err = CUDA_ERROR_INVALID_HANDLE;
        return nullptr;
    }
    if (it->second->ctx != ctx) {
        violation("%s: stream %#llx belongs to another context", call, (unsigned long long)h);
        *err = CUDA_ERROR_INVALID_HANDLE;
        return nullptr;
    }
    return it->second.get();
}

CUAPI CUresult cuStreamCreate(uint64_t *h, unsigned flags) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuStreamCreate", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    if (!h || (flags & ~1u)) return CUDA_ERROR_INVALID_VALUE;
    if (fault(FAULT_STREAM)) return CUDA_ERROR_OUT_OF_MEMORY;
    uint64_t handle = new_handle(TAG_STREAM);
    st.streams[handle] = new_stream(ctx, handle);
    *h = handle;
    return CUDA_SUCCESS;
}

// As the driver documents: queued work still completes, then the worker exits.
CUAPI CUresult cuStreamDestroy_v2(uint64_t h) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuStreamDestroy_v2", &err);
    if (!ctx) return err;
    if (h == 0) {
        violation("cuStreamDestroy_v2 of the NULL stream");
        return CUDA_ERROR_INVALID_HANDLE;
    }
    Stream *s = stream_of(ctx, "cuStreamDestroy_v2", h, &err);
    if (!s) return err;
    s->stop = true;
    s->qcv.notify_all();
    st.streams.erase(h);
    return ctx->sticky ? ctx->sticky : CUDA_SUCCESS;
}

CUAPI CUresult cuStreamSynchronize(uint64_t h) {
    State &st = S();
    std::unique_lock<std::mutex> lk(st.mu);
    CUresult err;
    Context *ctx = current("cuStreamSynchronize", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    Stream *s = stream_of(ctx, "cuStreamSynchronize", h, &err);
    if (!s) return err;
    std::shared_ptr<Stream> keep = h ? st.streams[h] : ctx->null_stream; // a concurrent destroy must not free it
    wait_stream(lk, s, s->queued);
    pool_sync(ctx);
    return sync_result(ctx);
}

CUAPI CUresult cuStreamQuery(uint64_t h) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuStreamQuery", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    Stream *s = stream_of(ctx, "cuStreamQuery", h, &err);
    if (!s) return err;
    return s->done >= s->queued ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

// ---- events ----

static std::shared_ptr<Event> event_of(Context *ctx, const char *call, uint64_t h, CUresult *err) {
    State &st = S();
    auto it = st.events.find(h);
    if (it == st.events.end()) {
        violation("%s: %#llx is not a live event", call, (unsigned long long)h);
        *err = CUDA_ERROR_INVALID_HANDLE;
        return nullptr;
    }
    if (it->second->ctx != ctx) {
        violation("%s: event %#llx belongs to another context", call, (unsigned long long)h);
        *err = CUDA_ERROR_INVALID_HANDLE;
        return nullptr;
    }
    return it->second;
}

CUAPI CUresult cuEventCreate(uint64_t *h, unsigned flags) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuEventCreate", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    if (!h || (flags & ~7u)) return CUDA_ERROR_INVALID_VALUE;
    if (fault(FAULT_EVENT)) return CUDA_ERROR_OUT_OF_MEMORY;
    auto e = std::make_shared<Event>();
    e->handle = new_handle(TAG_EVENT);
    e->ctx = ctx;
    e->flags = flags;
    st.events[e->handle] = e;
    *h = e->handle;
    return CUDA_SUCCESS;
}

CUAPI CUresult cuEventRecord(uint64_t h, uint64_t stream) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuEventRecord", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    auto e = event_of(ctx, "cuEventRecord", h, &err);
    if (!e) return err;
    Stream *s = stream_of(ctx, "cuEventRecord", stream, &err);
    if (!s) return err;
    e->gen++;
    e->complete = false;
    Item it;
    it.what = "event";
    it.event = e;
    it.gen = e->gen;
    enqueue(s, std::move(it));
    return CUDA_SUCCESS;
}

CUAPI CUresult cuEventSynchronize(uint64_t h) {
    State &st = S();
    std::unique_lock<std::mutex> lk(st.mu);
    CUresult err;
    Context *ctx = current("cuEventSynchronize", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    auto e = event_of(ctx, "cuEventSynchronize", h, &err);
    if (!e) return err;
    st.cv.wait(lk, [&] { return e->complete || ctx->sticky || ctx->dead; });
    pool_sync(ctx);
    return sync_result(ctx);
}

CUAPI CUresult cuEventElapsedTime(float *ms, uint64_t start, uint64_t end) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuEventElapsedTime", &err);
    if (!ctx) return err;
    if (ctx->sticky) return ctx->sticky;
    auto a = event_of(ctx, "cuEventElapsedTime", start, &err);
    if (!a) return err;
    auto b = event_of(ctx, "cuEventElapsedTime", end, &err);
    if (!b) return err;
    if (!ms || (a->flags & 2) || (b->flags & 2) || a->gen == 0 || b->gen == 0) return CUDA_ERROR_INVALID_HANDLE;
    if (!a->complete || !b->complete) return CUDA_ERROR_NOT_READY;
    *ms = std::chrono::duration<float, std::milli>(b->when - a->when).count();
    return CUDA_SUCCESS;
}

// As the driver documents, an event may be destroyed before it completes.
CUAPI CUresult cuEventDestroy_v2(uint64_t h) {
    State &st = S();
    std::lock_guard<std::mutex> g(st.mu);
    CUresult err;
    Context *ctx = current("cuEventDestroy_v2", &err);
    if (!ctx) return err;
    if (!event_of(ctx, "cuEventDestroy_v2", h, &err)) return err;
    st.events.erase(h);
    return ctx->sticky ? ctx->sticky : CUDA_SUCCESS;
}
