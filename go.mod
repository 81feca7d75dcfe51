module github.com/gpuact/gpuact

go 1.26
