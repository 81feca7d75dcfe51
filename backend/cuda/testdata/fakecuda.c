// A stand-in for libcuda.so.1 on machines without an NVIDIA driver, for the tests of the unavailable
// paths: built by cuda_test.go with the system C compiler. With -DNO_DEVICE every entry point exists
// and cuInit reports CUDA_ERROR_NO_DEVICE (what the toolkit's stub driver does on a machine without a
// GPU); with -DONLY_INIT the library lacks every symbol but cuInit (a driver too old).
typedef int CUresult;

static const char *name(CUresult r) {
    switch (r) {
    case 0: return "CUDA_SUCCESS";
    case 100: return "CUDA_ERROR_NO_DEVICE";
    }
    return "CUDA_ERROR_UNKNOWN";
}

CUresult cuInit(unsigned flags) { (void)flags; return 100; }

#ifndef ONLY_INIT
CUresult cuGetErrorName(CUresult r, const char **p) { *p = name(r); return 0; }
CUresult cuGetErrorString(CUresult r, const char **p) { *p = r == 100 ? "no CUDA-capable device is detected (fake)" : "fake"; return 0; }
#define STUB(f) CUresult f(void) { return 100; }
STUB(cuDriverGetVersion) STUB(cuDeviceGetCount) STUB(cuDeviceGet) STUB(cuDeviceGetName)
STUB(cuDeviceGetAttribute) STUB(cuDeviceTotalMem_v2) STUB(cuDevicePrimaryCtxRetain)
STUB(cuDevicePrimaryCtxRelease_v2) STUB(cuCtxSetCurrent) STUB(cuCtxSynchronize) STUB(cuMemGetInfo_v2)
STUB(cuMemAlloc_v2) STUB(cuMemFree_v2) STUB(cuMemHostAlloc) STUB(cuMemFreeHost) STUB(cuMemcpyHtoD_v2) STUB(cuMemcpyDtoH_v2)
STUB(cuMemcpyHtoDAsync_v2) STUB(cuMemcpyDtoHAsync_v2) STUB(cuMemcpyDtoDAsync_v2) STUB(cuMemsetD8Async)
STUB(cuModuleLoadData) STUB(cuModuleUnload) STUB(cuModuleGetFunction) STUB(cuFuncGetAttribute)
STUB(cuLaunchKernel) STUB(cuStreamCreate) STUB(cuStreamDestroy_v2) STUB(cuStreamSynchronize)
STUB(cuStreamQuery) STUB(cuEventCreate) STUB(cuEventRecord) STUB(cuEventSynchronize)
STUB(cuEventElapsedTime) STUB(cuEventDestroy_v2)
#endif
