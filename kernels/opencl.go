package kernels

import _ "embed"

// OpenCL is the OpenCL C 1.2 source of every activation kernel (activations.cl), built by the OpenCL
// backend once per device at run time. Its header lists the kernels, their arguments and the -D
// options the host passes.
//
//go:embed activations.cl
var OpenCL string
