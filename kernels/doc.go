// Package kernels holds gpuact's GPU kernels and embeds them in the Go binary: activations.cl (OpenCL C,
// compiled by the driver at run time) and the CUDA fatbin compiled ahead of time from activations.cu.
package kernels
