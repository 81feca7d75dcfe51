package kernels

import _ "embed"

//go:generate bash gen_cuda.sh

// CUDAFatbin is activations.cu compiled by nvcc into one fatbin: machine code for sm_50 to sm_90 and PTX
// for compute_90, which the driver JIT-compiles for newer GPUs. It is loaded with cuModuleLoadData.
//
//go:embed activations.fatbin
var CUDAFatbin []byte

// CUDASource is the source the fatbin was compiled from, for reports and the freshness test.
//
//go:embed activations.cu
var CUDASource []byte
