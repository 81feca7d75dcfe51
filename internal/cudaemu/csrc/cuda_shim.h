// What nvcc provides that kernels/activations.cu uses, for compiling it as host C++: the function
// qualifiers (empty), the vector types, and the thread and block indices (thread-locals that the launcher
// in kernels.cc sets before it calls a kernel once per thread). activations.cu's #ifndef __CUDA_ARCH__
// branches are its host fallbacks (plain operators for __dmul_rn and friends), so nothing else is needed.
#pragma once

#include <math.h>
#include <stdint.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)

struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
};

// One OS thread runs one launch at a time (a stream's worker), so the indices are per thread.
static thread_local uint3 threadIdx, blockIdx;
static thread_local dim3 blockDim, gridDim;

// 16-byte vectors, aligned as on the device: the vec kernels load and store them whole.
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(16) double2 {
    double x, y;
};
struct alignas(16) uint4 {
    unsigned int x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline double2 make_double2(double x, double y) { return double2{x, y}; }
inline uint4 make_uint4(unsigned int x, unsigned int y, unsigned int z, unsigned int w) { return uint4{x, y, z, w}; }
