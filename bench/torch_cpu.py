#!/usr/bin/env python3
"""PyTorch's CPU activations on the sizes gpuact's cpubench measures, as JSON rows gpubench -compare reads.

Every op writes into a preallocated output (the out= / grad_input= overloads of the aten ops), so no
row pays for an allocation; torch uses every core (torch.set_num_threads(os.cpu_count())). Each row is
the median over -reps timings of a batch of calls long enough (about 2 ms) to time well; where a single
call is so long that -reps of them would take over -row-budget seconds (the large sizes), fewer timings,
never under 3, as cpubench does on gpuact's side. An op that this
torch build lacks for a dtype (PyTorch 1.13's CPU ops have no float16 kernels: "not implemented for
'Half'") gets no row, and a line on stderr says so.

The JSON records torch's version, thread count and CPU capability: the kernel set (AVX2, AVX512, ...)
its dispatcher picked, which ATEN_CPU_CAPABILITY overrides (ATEN_CPU_CAPABILITY=avx512 python3 ...), and
that variable as set.

    python3 bench/torch_cpu.py -sizes 4096,16777216 -o torch.json
"""
import argparse
import datetime
import json
import os
import re
import socket
import statistics
import sys
import time

import torch

aten = torch.ops.aten


def passes(alpha_leaky=0.01, alpha_elu=1.0):
    """(pass, activation, fn(out, a, b)) for every pass torch has an op for. a is x (forward) or dy;
    b is x (backward-input) or y (backward-output)."""
    return [
        # relu.out in Debian's torch 1.13 runs ~10x slower than threshold.out(x, 0, 0), which computes
        # the same for every non-NaN x: both are timed and the faster is the row (its "op" says which).
        ("forward", "relu", lambda o, a, b: aten.relu.out(a, out=o)),
        ("forward", "relu", lambda o, a, b: aten.threshold.out(a, 0, 0, out=o)),
        ("forward", f"leakyrelu:{alpha_leaky:g}", lambda o, a, b: aten.leaky_relu.out(a, alpha_leaky, out=o)),
        ("forward", f"elu:{alpha_elu:g}", lambda o, a, b: aten.elu.out(a, alpha_elu, 1, 1, out=o)),
        # relu's autograd backward is threshold_backward of the result; from the input it is the same op.
        ("backward-input", "relu", lambda o, a, b: aten.threshold_backward.grad_input(a, b, 0, grad_input=o)),
        ("backward-input", f"leakyrelu:{alpha_leaky:g}",
         lambda o, a, b: aten.leaky_relu_backward.grad_input(a, b, alpha_leaky, False, grad_input=o)),
        ("backward-input", f"elu:{alpha_elu:g}",
         lambda o, a, b: aten.elu_backward.grad_input(a, alpha_elu, 1, 1, False, b, grad_input=o)),
        ("backward-output", "relu", lambda o, a, b: aten.threshold_backward.grad_input(a, b, 0, grad_input=o)),
        ("backward-output", f"leakyrelu:{alpha_leaky:g}",
         lambda o, a, b: aten.leaky_relu_backward.grad_input(a, b, alpha_leaky, True, grad_input=o)),
        ("backward-output", f"elu:{alpha_elu:g}",
         lambda o, a, b: aten.elu_backward.grad_input(a, alpha_elu, 1, 1, True, b, grad_input=o)),
    ]


BATCH_S = 0.002  # a timed batch of calls lasts at least this long
MIN_REPS = 3  # the fewest timings a row gets, however long one call is


def median_ns(fn, reps, row_budget_s, target_s=BATCH_S):
    fn()
    start = time.perf_counter_ns()
    fn()
    one = max(time.perf_counter_ns() - start, 1)
    batch = max(1, int(target_s * 1e9 / one))
    if batch == 1 and row_budget_s > 0:  # long calls: about row_budget_s of timings (cpubench's rule)
        reps = max(min(reps, int(row_budget_s * 1e9 / one)), min(reps, MIN_REPS))
    times = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter_ns() - start) / batch)
    return statistics.median(times)


def cpu_capability():
    """The kernel set torch's dispatcher uses, and where that was read. torch.backends.cpu.
    get_cpu_capability() is from PyTorch 2.0; 1.13 says it only in its build summary ("CPU capability
    usage: AVX2"), which reports the dispatcher's choice, ATEN_CPU_CAPABILITY included."""
    cpu = getattr(torch.backends, "cpu", None)
    if cpu is not None and hasattr(cpu, "get_cpu_capability"):
        return cpu.get_cpu_capability(), "torch.backends.cpu.get_cpu_capability"
    m = re.search(r"CPU capability usage: *(\S+)", torch.__config__.show())
    if m:
        return m.group(1), "torch.__config__.show"
    return os.environ.get("ATEN_CPU_CAPABILITY") or "default", "ATEN_CPU_CAPABILITY"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-sizes", default="4096,16777216", help="comma-separated element counts")
    ap.add_argument("-dtypes", default="float32,float64")
    ap.add_argument("-reps", type=int, default=15)
    ap.add_argument("-row-budget", type=float, default=0.25,
                    help="seconds of timings per row where one call is long (0: always -reps)")
    ap.add_argument("-o", default="-", help="JSON output file (- for stdout)")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    rows = []
    for dt_name in args.dtypes.split(","):
        dt = getattr(torch, dt_name)
        for n in (int(s) for s in args.sizes.split(",")):
            g = torch.Generator().manual_seed(1)
            # Drawn in float32 and rounded: torch.rand has no float16 CPU kernel in every build.
            x = (torch.rand(n, generator=g) * 8 - 4).to(dt)
            dy = (torch.rand(n, generator=g) * 8 - 4).to(dt)
            out = torch.empty(n, dtype=dt)
            for p, act, fn in passes():
                b = x
                if p == "backward-output":  # y = f(x), as training hands it over
                    b = torch.empty(n, dtype=dt)
                    fwd = {"relu": lambda: aten.relu.out(x, out=b),
                           "leakyrelu": lambda: aten.leaky_relu.out(x, 0.01, out=b),
                           "elu": lambda: aten.elu.out(x, 1.0, 1, 1, out=b)}[act.split(":")[0]]
                a = x if p == "forward" else dy
                try:
                    if p == "backward-output":
                        fwd()
                    fn(out, a, b)
                except RuntimeError as e:  # e.g. "elu_cpu" not implemented for 'Half'
                    print(f"torch {p:16} {act:15} {dt_name:8} n={n:<9} no op: {str(e).splitlines()[0]}", file=sys.stderr)
                    continue
                ns = median_ns(lambda: fn(out, a, b), args.reps, args.row_budget)
                arrays = 2 if p == "forward" else 3
                row = {"backend": "torch-cpu", "pass": p, "activation": act, "dtype": dt_name, "n": n,
                       "median_ns": round(ns), "gbps": round(arrays * n * x.element_size() / ns, 2),
                       "op": "aten." + ".".join(fn.__code__.co_names[1:])}
                if rows and all(rows[-1][k] == row[k] for k in ("pass", "activation", "dtype", "n")):
                    if rows[-1]["median_ns"] <= row["median_ns"]:
                        continue
                    rows.pop()
                rows.append(row)
                print(f"torch {p:16} {act:15} {dt_name:8} n={n:<9} {ns/1e3:10.1f} us {rows[-1]['gbps']:7.2f} GB/s",
                      file=sys.stderr)
    capability, source = cpu_capability()
    doc = {"tool": "torch", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "host": f"{socket.gethostname()} torch {torch.__version__} threads {torch.get_num_threads()} capability {capability}",
           "rows": rows,
           # Beyond gpubench -compare's schema (it ignores them): what the ratios depend on.
           "torch": {"version": torch.__version__, "threads": torch.get_num_threads(), "capability": capability,
                     "capability_source": source, "capability_env": os.environ.get("ATEN_CPU_CAPABILITY")},
           "method": {"reps": args.reps, "min_reps": MIN_REPS, "batch_s": BATCH_S, "row_budget_s": args.row_budget}}
    text = json.dumps(doc, indent=1)
    if args.o == "-":
        print(text)
    else:
        with open(args.o, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
