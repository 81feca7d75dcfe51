// A stand-in for libcuda.so.1 on machines without an NVIDIA driver, for the tests of the unavailable
// paths and of Load's symbol rule: built by the tests with the system C compiler. It exports exactly
// the entry points backend/cuda/internal/cu resolves (its funcs), every one but cuGetErrorName and
// cuGetErrorString failing with CUDA_ERROR_NO_DEVICE, and none of those it no longer resolves
// (cuMemcpyHtoD_v2, cuMemcpyDtoH_v2, cuCtxSynchronize, cuStreamQuery, cuMemsetD8Async).
//
// By default (-DNO_DEVICE says so) cuInit reports CUDA_ERROR_NO_DEVICE (what the toolkit's stub driver
// does on a machine without a GPU). Defines:
//   -DINIT_RESULT=0   cuInit succeeds: a driver that loads;
//   -DONLY_INIT       the library lacks every symbol but cuInit (a driver too old);
//   -Dsym=other       exports entry point sym under another name: a driver that lacks sym.
typedef int CUresult;

#ifndef INIT_RESULT
#define INIT_RESULT 100
#endif

static const char *name(CUresult r) {
    switch (r) {
    case 0: return "CUDA_SUCCESS";
    case 100: return "CUDA_ERROR_NO_DEVICE";
    }
    return "CUDA_ERROR_UNKNOWN";
}

CUresult cuInit(unsigned flags) { (void)flags; return INIT_RESULT; }

#ifndef ONLY_INIT
CUresult cuGetErrorName(CUresult r, const char **p) { *p = name(r); return 0; }
CUresult cuGetErrorString(CUresult r, const char **p) { *p = r == 100 ? "no CUDA-capable device is detected (fake)" : "fake"; return 0; }
#define STUB(f) CUresult f(void) { return 100; }
STUB(cuDriverGetVersion) STUB(cuDeviceGetCount) STUB(cuDeviceGet) STUB(cuDeviceGetName)
STUB(cuDeviceGetAttribute) STUB(cuDeviceTotalMem_v2) STUB(cuDevicePrimaryCtxRetain)
STUB(cuDevicePrimaryCtxRelease_v2) STUB(cuCtxSetCurrent) STUB(cuMemGetInfo_v2)
STUB(cuMemAlloc_v2) STUB(cuMemFree_v2) STUB(cuMemHostAlloc) STUB(cuMemFreeHost)
STUB(cuMemcpyHtoDAsync_v2) STUB(cuMemcpyDtoHAsync_v2) STUB(cuMemcpyDtoDAsync_v2)
STUB(cuModuleLoadData) STUB(cuModuleUnload) STUB(cuModuleGetFunction) STUB(cuFuncGetAttribute)
STUB(cuLaunchKernel) STUB(cuPointerGetAttribute) STUB(cuStreamCreate) STUB(cuStreamDestroy_v2) STUB(cuStreamSynchronize)
STUB(cuEventCreate) STUB(cuEventRecord) STUB(cuEventSynchronize)
STUB(cuEventElapsedTime) STUB(cuEventDestroy_v2)
/* The stream-ordered allocator's entry points (CUDA 11.2), which a driver may lack. */
#ifndef NO_MEMORY_POOLS
STUB(cuDeviceGetDefaultMemPool) STUB(cuMemPoolSetAttribute) STUB(cuMemPoolGetAttribute)
STUB(cuMemPoolTrimTo) STUB(cuMemAllocAsync) STUB(cuMemFreeAsync)
#endif
#endif
