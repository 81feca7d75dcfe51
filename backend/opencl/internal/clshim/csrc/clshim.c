/* clshim: an OpenCL library for gpuact's tests. It exports every entry point that
 * backend/opencl/internal/cl binds, forwards each to the real ICD loader (GPUACT_CLSHIM_REAL, default
 * libOpenCL.so.1, opened with dlopen), and
 *
 *  - injects faults on request: the Nth call of an entry point (and the next times-1, or every later
 *    one) fails with a chosen status code. Calls that create or queue something are then not
 *    forwarded; clFinish, clFlush, clWaitForEvents and the release calls are forwarded and their
 *    status replaced, as a driver reporting an error of work it has finished would;
 *  - counts, per kind of object (context, queue, mem, program, kernel, event), what the caller created,
 *    retained and released, and keeps every live handle with the references the caller holds, so a
 *    test can see a leak or a double release. A release, retain or use of a handle the caller does not
 *    hold is a violation: it is counted, its description kept, and it is not forwarded (the driver
 *    would crash or corrupt itself).
 *
 * Control: the clshim_* functions below (bound by the Go package clshim), or GPUACT_CLSHIM_FAIL at
 * load time: "name:nth:times:code[,...]", e.g. "clCreateBuffer:3:1:-4".
 *
 * It needs only libc, libdl and pthreads: no OpenCL headers (the few types are declared here). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int32_t cl_int;
typedef uint32_t cl_uint;
typedef uint64_t cl_ulong;
typedef void *obj;

#define EXPORT __attribute__((visibility("default")))

/* Status codes used here. */
#define CL_INVALID_VALUE (-30)
#define CL_INVALID_CONTEXT (-34)
#define CL_INVALID_COMMAND_QUEUE (-36)
#define CL_INVALID_MEM_OBJECT (-38)
#define CL_INVALID_PROGRAM (-44)
#define CL_INVALID_KERNEL (-48)
#define CL_INVALID_EVENT (-58)
#define CL_PLATFORM_NOT_FOUND_KHR (-1001)

/* The entry points, in one list. */
#define ENTRY_POINTS                      \
  X(clGetPlatformIDs)                  \
  X(clGetPlatformInfo)                 \
  X(clGetDeviceIDs)                    \
  X(clGetDeviceInfo)                   \
  X(clCreateContext)                   \
  X(clReleaseContext)                  \
  X(clCreateCommandQueue)              \
  X(clReleaseCommandQueue)             \
  X(clCreateBuffer)                    \
  X(clReleaseMemObject)                \
  X(clRetainMemObject)                 \
  X(clGetMemObjectInfo)                \
  X(clCreateSubBuffer)                 \
  X(clRetainCommandQueue)              \
  X(clGetCommandQueueInfo)             \
  X(clEnqueueReadBuffer)               \
  X(clEnqueueWriteBuffer)              \
  X(clEnqueueCopyBuffer)               \
  X(clCreateProgramWithSource)         \
  X(clBuildProgram)                    \
  X(clGetProgramBuildInfo)             \
  X(clReleaseProgram)                  \
  X(clCreateKernel)                    \
  X(clReleaseKernel)                   \
  X(clSetKernelArg)                    \
  X(clGetKernelWorkGroupInfo)          \
  X(clEnqueueNDRangeKernel)            \
  X(clWaitForEvents)                   \
  X(clGetEventInfo)                    \
  X(clGetEventProfilingInfo)           \
  X(clRetainEvent)                     \
  X(clReleaseEvent)                    \
  X(clFlush)                           \
  X(clFinish)

enum {
#define X(name) FN_##name,
  ENTRY_POINTS
#undef X
  NFN
};

static const char *const fn_names[NFN] = {
#define X(name) #name,
    ENTRY_POINTS
#undef X
};

/* Kinds of object; the order is the Go package's. */
enum { K_CONTEXT, K_QUEUE, K_MEM, K_PROGRAM, K_KERNEL, K_EVENT, NKIND };
static const char *const kind_names[NKIND] = {"context", "queue", "mem", "program", "kernel", "event"};
static const cl_int kind_invalid[NKIND] = {CL_INVALID_CONTEXT, CL_INVALID_COMMAND_QUEUE, CL_INVALID_MEM_OBJECT,
                                           CL_INVALID_PROGRAM, CL_INVALID_KERNEL, CL_INVALID_EVENT};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* Faults and call counts, per entry point. */
static struct {
  long calls, failed;
  long skip; /* calls still to let through before failing */
  long left; /* calls still to fail: 0 none, -1 every one */
  cl_int code;
} fn_state[NFN];

/* Live handles: a chained hash table of (kind, handle) -> references the caller holds. */
typedef struct node {
  struct node *next;
  int kind;
  obj h;
  long refs;
} node;
#define NBUCKET 4096
static node *buckets[NBUCKET];
static long created[NKIND], retained[NKIND], released[NKIND], live[NKIND];
static long violations;
static char first_violation[512];

static unsigned bucket(int kind, obj h) {
  uintptr_t v = (uintptr_t)h;
  v ^= v >> 17;
  v *= 0x9E3779B97F4A7C15ull;
  return (unsigned)((v >> 40) ^ (unsigned)kind) % NBUCKET;
}

static node **find(int kind, obj h) {
  node **p = &buckets[bucket(kind, h)];
  while (*p && !((*p)->kind == kind && (*p)->h == h)) p = &(*p)->next;
  return p;
}

/* violation records a misuse; mu is held. */
static void violation(const char *fn, int kind, obj h, const char *what) {
  violations++;
  if (violations == 1)
    snprintf(first_violation, sizeof first_violation, "%s: %s %p %s", fn, kind_names[kind], h, what);
}

/* track records a handle the caller now holds (created by a call that succeeded). */
static void track(int kind, obj h) {
  if (!h) return;
  pthread_mutex_lock(&mu);
  node **p = find(kind, h);
  if (*p) {
    /* The driver reused a handle the caller still holds: impossible unless the shim lost count. */
    violation("create", kind, h, "handed out while the caller still holds it");
    (*p)->refs++;
  } else {
    node *n = calloc(1, sizeof *n);
    if (!n) abort();
    n->kind = kind, n->h = h, n->refs = 1;
    *p = n;
    live[kind]++;
  }
  created[kind]++;
  pthread_mutex_unlock(&mu);
}

/* held reports whether the caller holds h (a violation if not). */
static int held(int fn, int kind, obj h) {
  pthread_mutex_lock(&mu);
  int ok = *find(kind, h) != NULL;
  if (!ok) violation(fn_names[fn], kind, h, "is not held by the caller (released, or never created)");
  pthread_mutex_unlock(&mu);
  return ok;
}

/* retain counts one more reference to h; 0 if the caller does not hold it. */
static int retain(int fn, int kind, obj h) {
  pthread_mutex_lock(&mu);
  node **p = find(kind, h);
  int ok = *p != NULL;
  if (ok) {
    (*p)->refs++;
    retained[kind]++;
  } else {
    violation(fn_names[fn], kind, h, "retained but not held by the caller");
  }
  pthread_mutex_unlock(&mu);
  return ok;
}

/* release drops one reference to h; 0 if the caller does not hold it. */
static int release(int fn, int kind, obj h) {
  pthread_mutex_lock(&mu);
  node **p = find(kind, h);
  int ok = *p != NULL;
  if (ok) {
    released[kind]++;
    if (--(*p)->refs == 0) {
      node *n = *p;
      *p = n->next;
      free(n);
      live[kind]--;
    }
  } else {
    violation(fn_names[fn], kind, h, "released but not held by the caller (a double release?)");
  }
  pthread_mutex_unlock(&mu);
  return ok;
}

/* inject counts a call of fn and returns the status to fail it with, or 0. */
static cl_int inject(int fn) {
  cl_int code = 0;
  pthread_mutex_lock(&mu);
  fn_state[fn].calls++;
  if (fn_state[fn].left != 0) {
    if (fn_state[fn].skip > 0) {
      fn_state[fn].skip--;
    } else {
      code = fn_state[fn].code;
      fn_state[fn].failed++;
      if (fn_state[fn].left > 0) fn_state[fn].left--;
    }
  }
  pthread_mutex_unlock(&mu);
  return code;
}

static int fn_index(const char *name) {
  for (int i = 0; i < NFN; i++)
    if (strcmp(fn_names[i], name) == 0) return i;
  return -1;
}

/* ---- control ---- */

/* clshim_fail makes calls nth..nth+times-1 of name, counted from now, fail with code (times < 0:
 * every call from the nth on; nth <= 0 or code 0: no fault). It returns -1 for an unknown name. */
EXPORT int clshim_fail(const char *name, long nth, long times, int code) {
  int fn = fn_index(name);
  if (fn < 0) return -1;
  pthread_mutex_lock(&mu);
  if (nth <= 0 || code == 0 || times == 0) {
    fn_state[fn].left = 0;
  } else {
    fn_state[fn].skip = nth - 1;
    fn_state[fn].left = times < 0 ? -1 : times;
    fn_state[fn].code = code;
  }
  pthread_mutex_unlock(&mu);
  return 0;
}

/* clshim_clear_faults removes every injected fault. */
EXPORT void clshim_clear_faults(void) {
  pthread_mutex_lock(&mu);
  for (int i = 0; i < NFN; i++) fn_state[i].left = 0;
  pthread_mutex_unlock(&mu);
}

/* clshim_calls is how many times name was called (-1: unknown name); failed, when not NULL, receives
 * how many of those calls a fault failed. */
EXPORT long clshim_calls(const char *name, long *failed) {
  int fn = fn_index(name);
  if (fn < 0) return -1;
  pthread_mutex_lock(&mu);
  long n = fn_state[fn].calls;
  if (failed) *failed = fn_state[fn].failed;
  pthread_mutex_unlock(&mu);
  return n;
}

/* clshim_objects fills out[0..3] with the objects of kind created, retained, released and live. */
EXPORT int clshim_objects(int kind, long *out) {
  if (kind < 0 || kind >= NKIND) return -1;
  pthread_mutex_lock(&mu);
  out[0] = created[kind], out[1] = retained[kind], out[2] = released[kind], out[3] = live[kind];
  pthread_mutex_unlock(&mu);
  return 0;
}

/* clshim_violations is the number of violations so far; the first is described in buf. */
EXPORT long clshim_violations(char *buf, long size) {
  pthread_mutex_lock(&mu);
  long n = violations;
  if (buf && size > 0) snprintf(buf, (size_t)size, "%s", first_violation);
  pthread_mutex_unlock(&mu);
  return n;
}

/* ---- the real library ---- */

static struct {
#define X(name) void *name;
  ENTRY_POINTS
#undef X
} real;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;

static void parse_env_faults(void) {
  const char *v = getenv("GPUACT_CLSHIM_FAIL");
  if (!v || !*v) return;
  char *s = strdup(v), *save = NULL;
  for (char *item = strtok_r(s, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    char name[64];
    long nth, times;
    int code;
    if (sscanf(item, "%63[^:]:%ld:%ld:%d", name, &nth, &times, &code) != 4 || clshim_fail(name, nth, times, code) != 0)
      fprintf(stderr, "clshim: GPUACT_CLSHIM_FAIL: cannot use \"%s\"\n", item);
  }
  free(s);
}

static void load(void) {
  const char *path = getenv("GPUACT_CLSHIM_REAL");
  if (!path || !*path) path = "libOpenCL.so.1";
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "clshim: %s\n", dlerror());
    return;
  }
#define X(name)                                                  \
  real.name = dlsym(h, #name);                                        \
  if (!real.name) {                                                   \
    fprintf(stderr, "clshim: %s lacks %s\n", path, #name);           \
    return;                                                           \
  }
  ENTRY_POINTS
#undef X
  parse_env_faults();
  loaded = 1;
}

/* ENTER starts every entry point: load the real library once, then count the call and see whether
 * a fault is due (in fault). */
#define ENTER(name)                                   \
  pthread_once(&once, load);                          \
  if (!loaded) return CL_PLATFORM_NOT_FOUND_KHR;      \
  cl_int fault = inject(FN_##name);                   \
  (void)fault
/* ENTER_OBJ is ENTER for the create calls, which return an object and the status through errcode. */
#define ENTER_OBJ(name)                                  \
  pthread_once(&once, load);                             \
  if (!loaded) {                                         \
    if (errcode) *errcode = CL_PLATFORM_NOT_FOUND_KHR;   \
    return NULL;                                         \
  }                                                      \
  cl_int fault = inject(FN_##name);                      \
  if (fault) {                                           \
    if (errcode) *errcode = fault;                       \
    return NULL;                                         \
  }
#define FAIL_EARLY \
  if (fault) return fault
#define CALL(name, type) ((type)real.name)

/* ---- platforms and devices ---- */

EXPORT cl_int clGetPlatformIDs(cl_uint n, obj *platforms, cl_uint *num) {
  ENTER(clGetPlatformIDs);
  FAIL_EARLY;
  return CALL(clGetPlatformIDs, cl_int (*)(cl_uint, obj *, cl_uint *))(n, platforms, num);
}

EXPORT cl_int clGetPlatformInfo(obj p, cl_uint param, size_t size, void *value, size_t *ret) {
  ENTER(clGetPlatformInfo);
  FAIL_EARLY;
  return CALL(clGetPlatformInfo, cl_int (*)(obj, cl_uint, size_t, void *, size_t *))(p, param, size, value, ret);
}

EXPORT cl_int clGetDeviceIDs(obj p, cl_ulong type, cl_uint n, obj *devices, cl_uint *num) {
  ENTER(clGetDeviceIDs);
  FAIL_EARLY;
  return CALL(clGetDeviceIDs, cl_int (*)(obj, cl_ulong, cl_uint, obj *, cl_uint *))(p, type, n, devices, num);
}

EXPORT cl_int clGetDeviceInfo(obj d, cl_uint param, size_t size, void *value, size_t *ret) {
  ENTER(clGetDeviceInfo);
  FAIL_EARLY;
  return CALL(clGetDeviceInfo, cl_int (*)(obj, cl_uint, size_t, void *, size_t *))(d, param, size, value, ret);
}

/* ---- contexts, queues, buffers ---- */

EXPORT obj clCreateContext(const intptr_t *props, cl_uint n, const obj *devices, void *notify, void *user,
                           cl_int *errcode) {
  ENTER_OBJ(clCreateContext);
  cl_int code = 0;
  obj c = CALL(clCreateContext, obj (*)(const intptr_t *, cl_uint, const obj *, void *, void *, cl_int *))(
      props, n, devices, notify, user, &code);
  if (errcode) *errcode = code;
  if (code == 0) track(K_CONTEXT, c);
  return c;
}

/* RELEASE defines a release entry point: refused when the caller does not hold the handle, else
 * forwarded (and its status replaced when a fault is due). */
#define RELEASE(name, kind)                                   \
  EXPORT cl_int name(obj h) {                                 \
    ENTER(name);                                              \
    if (!release(FN_##name, kind, h)) return kind_invalid[kind]; \
    cl_int code = CALL(name, cl_int (*)(obj))(h);             \
    return fault ? fault : code;                              \
  }

RELEASE(clReleaseContext, K_CONTEXT)
RELEASE(clReleaseCommandQueue, K_QUEUE)
RELEASE(clReleaseMemObject, K_MEM)
RELEASE(clReleaseProgram, K_PROGRAM)
RELEASE(clReleaseKernel, K_KERNEL)
RELEASE(clReleaseEvent, K_EVENT)

EXPORT obj clCreateCommandQueue(obj c, obj d, cl_ulong props, cl_int *errcode) {
  ENTER_OBJ(clCreateCommandQueue);
  if (!held(FN_clCreateCommandQueue, K_CONTEXT, c)) {
    if (errcode) *errcode = CL_INVALID_CONTEXT;
    return NULL;
  }
  cl_int code = 0;
  obj q = CALL(clCreateCommandQueue, obj (*)(obj, obj, cl_ulong, cl_int *))(c, d, props, &code);
  if (errcode) *errcode = code;
  if (code == 0) track(K_QUEUE, q);
  return q;
}

EXPORT obj clCreateBuffer(obj c, cl_ulong flags, size_t size, void *host, cl_int *errcode) {
  ENTER_OBJ(clCreateBuffer);
  if (!held(FN_clCreateBuffer, K_CONTEXT, c)) {
    if (errcode) *errcode = CL_INVALID_CONTEXT;
    return NULL;
  }
  cl_int code = 0;
  obj m = CALL(clCreateBuffer, obj (*)(obj, cl_ulong, size_t, void *, cl_int *))(c, flags, size, host, &code);
  if (errcode) *errcode = code;
  if (code == 0) track(K_MEM, m);
  return m;
}

/* RETAIN defines a retain entry point: refused when the caller does not hold the handle, else
 * counted and forwarded (and uncounted if the driver refuses it). */
#define RETAIN(name, kind)                                    \
  EXPORT cl_int name(obj h) {                                 \
    ENTER(name);                                              \
    FAIL_EARLY;                                               \
    if (!retain(FN_##name, kind, h)) return kind_invalid[kind]; \
    cl_int code = CALL(name, cl_int (*)(obj))(h);             \
    if (code != 0) {                                          \
      pthread_mutex_lock(&mu);                                \
      node **p = find(kind, h);                               \
      if (*p) (*p)->refs--;                                   \
      retained[kind]--;                                       \
      pthread_mutex_unlock(&mu);                              \
    }                                                         \
    return code;                                              \
  }

RETAIN(clRetainMemObject, K_MEM)
RETAIN(clRetainCommandQueue, K_QUEUE)

EXPORT cl_int clGetMemObjectInfo(obj m, cl_uint param, size_t size, void *value, size_t *ret) {
  ENTER(clGetMemObjectInfo);
  FAIL_EARLY;
  if (!held(FN_clGetMemObjectInfo, K_MEM, m)) return CL_INVALID_MEM_OBJECT;
  return CALL(clGetMemObjectInfo, cl_int (*)(obj, cl_uint, size_t, void *, size_t *))(m, param, size, value, ret);
}

EXPORT cl_int clGetCommandQueueInfo(obj q, cl_uint param, size_t size, void *value, size_t *ret) {
  ENTER(clGetCommandQueueInfo);
  FAIL_EARLY;
  if (!held(FN_clGetCommandQueueInfo, K_QUEUE, q)) return CL_INVALID_COMMAND_QUEUE;
  return CALL(clGetCommandQueueInfo, cl_int (*)(obj, cl_uint, size_t, void *, size_t *))(q, param, size, value, ret);
}

EXPORT obj clCreateSubBuffer(obj m, cl_ulong flags, cl_uint type, const void *region, cl_int *errcode) {
  ENTER_OBJ(clCreateSubBuffer);
  if (!held(FN_clCreateSubBuffer, K_MEM, m)) {
    if (errcode) *errcode = CL_INVALID_MEM_OBJECT;
    return NULL;
  }
  cl_int code = 0;
  obj sub = CALL(clCreateSubBuffer, obj (*)(obj, cl_ulong, cl_uint, const void *, cl_int *))(m, flags, type, region, &code);
  if (errcode) *errcode = code;
  if (code == 0) track(K_MEM, sub);
  return sub;
}

/* ---- commands ---- */

/* events checks that the caller holds every event of a wait list. */
static int events_held(int fn, cl_uint n, const obj *evs) {
  for (cl_uint i = 0; i < n; i++)
    if (!held(fn, K_EVENT, evs[i])) return 0;
  return 1;
}

/* QUEUED ends an enqueue call: the caller now holds the command's event, if it asked for one. */
#define QUEUED(code, ev)                 \
  if ((code) == 0 && (ev)) track(K_EVENT, *(ev)); \
  return code

EXPORT cl_int clEnqueueReadBuffer(obj q, obj m, cl_uint blocking, size_t off, size_t size, void *ptr, cl_uint nwait,
                                  const obj *wait, obj *ev) {
  ENTER(clEnqueueReadBuffer);
  FAIL_EARLY;
  if (!held(FN_clEnqueueReadBuffer, K_QUEUE, q)) return CL_INVALID_COMMAND_QUEUE;
  if (!held(FN_clEnqueueReadBuffer, K_MEM, m)) return CL_INVALID_MEM_OBJECT;
  if (!events_held(FN_clEnqueueReadBuffer, nwait, wait)) return CL_INVALID_EVENT;
  cl_int code = CALL(clEnqueueReadBuffer, cl_int (*)(obj, obj, cl_uint, size_t, size_t, void *, cl_uint, const obj *, obj *))(
      q, m, blocking, off, size, ptr, nwait, wait, ev);
  QUEUED(code, ev);
}

EXPORT cl_int clEnqueueWriteBuffer(obj q, obj m, cl_uint blocking, size_t off, size_t size, const void *ptr,
                                   cl_uint nwait, const obj *wait, obj *ev) {
  ENTER(clEnqueueWriteBuffer);
  FAIL_EARLY;
  if (!held(FN_clEnqueueWriteBuffer, K_QUEUE, q)) return CL_INVALID_COMMAND_QUEUE;
  if (!held(FN_clEnqueueWriteBuffer, K_MEM, m)) return CL_INVALID_MEM_OBJECT;
  if (!events_held(FN_clEnqueueWriteBuffer, nwait, wait)) return CL_INVALID_EVENT;
  cl_int code = CALL(clEnqueueWriteBuffer,
                     cl_int (*)(obj, obj, cl_uint, size_t, size_t, const void *, cl_uint, const obj *, obj *))(
      q, m, blocking, off, size, ptr, nwait, wait, ev);
  QUEUED(code, ev);
}

EXPORT cl_int clEnqueueCopyBuffer(obj q, obj src, obj dst, size_t srcOff, size_t dstOff, size_t size, cl_uint nwait,
                                  const obj *wait, obj *ev) {
  ENTER(clEnqueueCopyBuffer);
  FAIL_EARLY;
  if (!held(FN_clEnqueueCopyBuffer, K_QUEUE, q)) return CL_INVALID_COMMAND_QUEUE;
  if (!held(FN_clEnqueueCopyBuffer, K_MEM, src) || !held(FN_clEnqueueCopyBuffer, K_MEM, dst))
    return CL_INVALID_MEM_OBJECT;
  if (!events_held(FN_clEnqueueCopyBuffer, nwait, wait)) return CL_INVALID_EVENT;
  cl_int code = CALL(clEnqueueCopyBuffer, cl_int (*)(obj, obj, obj, size_t, size_t, size_t, cl_uint, const obj *, obj *))(
      q, src, dst, srcOff, dstOff, size, nwait, wait, ev);
  QUEUED(code, ev);
}

EXPORT cl_int clEnqueueNDRangeKernel(obj q, obj k, cl_uint dims, const size_t *off, const size_t *global,
                                     const size_t *local, cl_uint nwait, const obj *wait, obj *ev) {
  ENTER(clEnqueueNDRangeKernel);
  FAIL_EARLY;
  if (!held(FN_clEnqueueNDRangeKernel, K_QUEUE, q)) return CL_INVALID_COMMAND_QUEUE;
  if (!held(FN_clEnqueueNDRangeKernel, K_KERNEL, k)) return CL_INVALID_KERNEL;
  if (!events_held(FN_clEnqueueNDRangeKernel, nwait, wait)) return CL_INVALID_EVENT;
  cl_int code = CALL(clEnqueueNDRangeKernel,
                     cl_int (*)(obj, obj, cl_uint, const size_t *, const size_t *, const size_t *, cl_uint, const obj *, obj *))(
      q, k, dims, off, global, local, nwait, wait, ev);
  QUEUED(code, ev);
}

EXPORT cl_int clFlush(obj q) {
  ENTER(clFlush);
  if (!held(FN_clFlush, K_QUEUE, q)) return CL_INVALID_COMMAND_QUEUE;
  cl_int code = CALL(clFlush, cl_int (*)(obj))(q);
  return fault ? fault : code;
}

EXPORT cl_int clFinish(obj q) {
  ENTER(clFinish);
  if (!held(FN_clFinish, K_QUEUE, q)) return CL_INVALID_COMMAND_QUEUE;
  cl_int code = CALL(clFinish, cl_int (*)(obj))(q);
  return fault ? fault : code;
}

/* ---- programs and kernels ---- */

EXPORT obj clCreateProgramWithSource(obj c, cl_uint count, const char **strings, const size_t *lengths,
                                     cl_int *errcode) {
  ENTER_OBJ(clCreateProgramWithSource);
  if (!held(FN_clCreateProgramWithSource, K_CONTEXT, c)) {
    if (errcode) *errcode = CL_INVALID_CONTEXT;
    return NULL;
  }
  cl_int code = 0;
  obj p = CALL(clCreateProgramWithSource, obj (*)(obj, cl_uint, const char **, const size_t *, cl_int *))(
      c, count, strings, lengths, &code);
  if (errcode) *errcode = code;
  if (code == 0) track(K_PROGRAM, p);
  return p;
}

EXPORT cl_int clBuildProgram(obj p, cl_uint n, const obj *devices, const char *options, void *notify, void *user) {
  ENTER(clBuildProgram);
  FAIL_EARLY;
  if (!held(FN_clBuildProgram, K_PROGRAM, p)) return CL_INVALID_PROGRAM;
  return CALL(clBuildProgram, cl_int (*)(obj, cl_uint, const obj *, const char *, void *, void *))(p, n, devices, options,
                                                                                                notify, user);
}

EXPORT cl_int clGetProgramBuildInfo(obj p, obj d, cl_uint param, size_t size, void *value, size_t *ret) {
  ENTER(clGetProgramBuildInfo);
  FAIL_EARLY;
  if (!held(FN_clGetProgramBuildInfo, K_PROGRAM, p)) return CL_INVALID_PROGRAM;
  return CALL(clGetProgramBuildInfo, cl_int (*)(obj, obj, cl_uint, size_t, void *, size_t *))(p, d, param, size, value,
                                                                                             ret);
}

EXPORT obj clCreateKernel(obj p, const char *name, cl_int *errcode) {
  ENTER_OBJ(clCreateKernel);
  if (!held(FN_clCreateKernel, K_PROGRAM, p)) {
    if (errcode) *errcode = CL_INVALID_PROGRAM;
    return NULL;
  }
  cl_int code = 0;
  obj k = CALL(clCreateKernel, obj (*)(obj, const char *, cl_int *))(p, name, &code);
  if (errcode) *errcode = code;
  if (code == 0) track(K_KERNEL, k);
  return k;
}

EXPORT cl_int clSetKernelArg(obj k, cl_uint index, size_t size, const void *value) {
  ENTER(clSetKernelArg);
  FAIL_EARLY;
  if (!held(FN_clSetKernelArg, K_KERNEL, k)) return CL_INVALID_KERNEL;
  return CALL(clSetKernelArg, cl_int (*)(obj, cl_uint, size_t, const void *))(k, index, size, value);
}

EXPORT cl_int clGetKernelWorkGroupInfo(obj k, obj d, cl_uint param, size_t size, void *value, size_t *ret) {
  ENTER(clGetKernelWorkGroupInfo);
  FAIL_EARLY;
  if (!held(FN_clGetKernelWorkGroupInfo, K_KERNEL, k)) return CL_INVALID_KERNEL;
  return CALL(clGetKernelWorkGroupInfo, cl_int (*)(obj, obj, cl_uint, size_t, void *, size_t *))(k, d, param, size,
                                                                                                value, ret);
}

/* ---- events ---- */

EXPORT cl_int clWaitForEvents(cl_uint n, const obj *evs) {
  ENTER(clWaitForEvents);
  if (!events_held(FN_clWaitForEvents, n, evs)) return CL_INVALID_EVENT;
  cl_int code = CALL(clWaitForEvents, cl_int (*)(cl_uint, const obj *))(n, evs);
  return fault ? fault : code;
}

EXPORT cl_int clGetEventInfo(obj e, cl_uint param, size_t size, void *value, size_t *ret) {
  ENTER(clGetEventInfo);
  FAIL_EARLY;
  if (!held(FN_clGetEventInfo, K_EVENT, e)) return CL_INVALID_EVENT;
  return CALL(clGetEventInfo, cl_int (*)(obj, cl_uint, size_t, void *, size_t *))(e, param, size, value, ret);
}

EXPORT cl_int clGetEventProfilingInfo(obj e, cl_uint param, size_t size, void *value, size_t *ret) {
  ENTER(clGetEventProfilingInfo);
  FAIL_EARLY;
  if (!held(FN_clGetEventProfilingInfo, K_EVENT, e)) return CL_INVALID_EVENT;
  return CALL(clGetEventProfilingInfo, cl_int (*)(obj, cl_uint, size_t, void *, size_t *))(e, param, size, value, ret);
}

EXPORT cl_int clRetainEvent(obj e) {
  ENTER(clRetainEvent);
  FAIL_EARLY;
  if (!retain(FN_clRetainEvent, K_EVENT, e)) return CL_INVALID_EVENT;
  cl_int code = CALL(clRetainEvent, cl_int (*)(obj))(e);
  if (code != 0) { /* not retained after all */
    pthread_mutex_lock(&mu);
    node **p = find(K_EVENT, e);
    if (*p) (*p)->refs--;
    retained[K_EVENT]--;
    pthread_mutex_unlock(&mu);
  }
  return code;
}
