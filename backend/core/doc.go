// Package core is gpuact's shared vocabulary: the Backend interface, buffers, data types, activations,
// device descriptions and the sentinel errors that every backend returns.
//
// Users import package backend, which re-exports everything here under the same names and adds Auto,
// Open and List. This package exists only to break an import cycle: package backend imports the
// backends (backend/cpu, backend/cuda, backend/opencl) so that a plain `import ".../backend"` sees them
// all without blank imports, and the backends need the vocabulary without importing package backend.
// A leaf package that both sides import is the usual way out of that cycle (database/sql/driver plays
// the same part for database/sql).
//
// Core also holds the bookkeeping that every backend would otherwise write again (see Owner): argument
// validation in the order of SEMANTICS §6.1, ownership of buffers, idempotent Free and Close, and the locks that make a
// Backend safe for concurrent use and keep a buffer alive while a call uses it.
package core
