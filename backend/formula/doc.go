// Package formula is the one home of what gpuact computes: the activation kinds and their parameter α,
// the three passes, the data types, and the table that ties each (kind, pass) to its formula, the
// kernel that runs it on every device, the rule α must meet and the accuracy every backend owes; and the
// oracle, the formulas written out one element at a time, against which every backend is tested.
//
// It is a leaf: it imports only the standard library, so every other package of gpuact can read it
// (core's argument checks, the backends' kernel choice, verify's tolerances, the conformance suite's
// expected values, gpubench's report). Users import package backend, which re-exports what they need.
//
// Adding an activation means: a Kind, its rows in the table (table.go), its oracle functions
// (oracle.go), one kernel per backend source (kernels/activations.cu, kernels/activations.cl, the CPU's
// loops) and its section in docs/SEMANTICS.md. A kind or pass without a row is an error wherever it is
// looked up (Lookup), never a fall-through to another formula.
//
// The contract these encode is docs/SEMANTICS.md; its sections are cited as "SEMANTICS §N".
package formula
