#!/usr/bin/env python3
"""PyTorch reference timings on a CUDA GPU, for gpuact's GPU check (scripts/gpu-check.sh).

Times torch.relu, F.leaky_relu, F.elu and their backward ops (aten threshold_backward,
leaky_relu_backward, elu_backward, the ops autograd runs) with CUDA events on the sizes gpubench sweeps,
and writes JSON rows in gpubench's -compare schema:

  {"tool": "torch", "date": ..., "host": ..., "rows": [{"backend": "torch-cuda", "device": ..., "pass": ...,
   "activation": ..., "dtype": ..., "n": ..., "median_ns": ..., "gbps": ...}]}

Method, the same as gpubench's device timing: after a warm-up, `batch` calls are queued between two CUDA
events and the elapsed time divided by `batch`; that is repeated and the median kept. Inputs are random
(never zeros); at sizes that fit in L2 the calls rotate among several input sets so the GPU reads memory,
not cache. Outputs are preallocated where the op has an out= form; forward ops allocate from PyTorch's
caching allocator otherwise (no cudaMalloc after warm-up).
"""
import argparse, datetime, json, math, platform, sys, time

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min", type=int, default=10, help="smallest size, as a power of two")
    ap.add_argument("--max", type=int, default=28, help="largest size, as a power of two")
    ap.add_argument("--dtype", default="float32", help="float32,float64")
    ap.add_argument("--reps", type=int, default=15, help="timed batches per row")
    ap.add_argument("--out", default="-", help="JSON output file (- for stdout)")
    ap.add_argument("--device", default="cuda", help="cuda, or cpu to try the script where there is no GPU (host timer)")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_gpu.py: torch.cuda.is_available() is False: no CUDA GPU for PyTorch here")
    dev = torch.device(args.device)
    if args.device == "cuda":
        props = torch.cuda.get_device_properties(dev)
        name, l2 = props.name, getattr(props, "L2_cache_size", 50 << 20) or (50 << 20)
        sync = torch.cuda.synchronize
    else:
        name, l2, sync = platform.processor() or "cpu", 32 << 20, (lambda: None)
    alpha_leaky, alpha_elu = 0.01, 1.0
    T = torch.ops.aten
    passes = [
        ("forward", "relu", 2, lambda x, dy, y, o: torch.relu(x)),
        ("forward", "leakyrelu:0.01", 2, lambda x, dy, y, o: F.leaky_relu(x, alpha_leaky)),
        ("forward", "elu:1", 2, lambda x, dy, y, o: F.elu(x, alpha_elu)),
        ("backward-input", "relu", 3, lambda x, dy, y, o: T.threshold_backward.grad_input(dy, x, 0, grad_input=o)),
        ("backward-input", "leakyrelu:0.01", 3, lambda x, dy, y, o: T.leaky_relu_backward.grad_input(dy, x, alpha_leaky, False, grad_input=o)),
        ("backward-input", "elu:1", 3, lambda x, dy, y, o: T.elu_backward.grad_input(dy, alpha_elu, 1, 1, False, x, grad_input=o)),
        ("backward-output", "relu", 3, lambda x, dy, y, o: T.threshold_backward.grad_input(dy, y, 0, grad_input=o)),
        ("backward-output", "leakyrelu:0.01", 3, lambda x, dy, y, o: T.leaky_relu_backward.grad_input(dy, y, alpha_leaky, True, grad_input=o)),
        ("backward-output", "elu:1", 3, lambda x, dy, y, o: T.elu_backward.grad_input(dy, alpha_elu, 1, 1, True, y, grad_input=o)),
    ]
    rows = []
    for dtname in args.dtype.split(","):
        dt = getattr(torch, dtname)
        size = torch.tensor([], dtype=dt).element_size()
        for e in range(args.min, args.max + 1):
            n = 1 << e
            sets = max(1, min(32, math.ceil(2 * l2 / (3 * n * size))))
            data = []
            for _ in range(sets):
                x = torch.rand(n, device=dev, dtype=dt) * 8 - 4
                dy = torch.rand(n, device=dev, dtype=dt) * 8 - 4
                data.append((x, dy, torch.empty_like(x)))
            out = torch.empty(n, device=dev, dtype=dt)
            batch = max(1, min(100, (1 << 24) // n))
            for pname, act, arrays, fn in passes:
                inputs = []
                for x, dy, y in data:
                    fwd = F.elu(x, alpha_elu) if act.startswith("elu") else (F.leaky_relu(x, alpha_leaky) if act.startswith("leaky") else torch.relu(x))
                    inputs.append((x, dy, fwd))
                for i in range(3):  # warm-up
                    fn(*inputs[i % sets], out)
                sync()
                times = []
                for r in range(args.reps):
                    if args.device == "cuda":
                        s, t = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                        s.record()
                        for i in range(batch):
                            fn(*inputs[(r * batch + i) % sets], out)
                        t.record()
                        t.synchronize()
                        times.append(s.elapsed_time(t) * 1e6 / batch)
                    else:
                        t0 = time.perf_counter_ns()
                        for i in range(batch):
                            fn(*inputs[(r * batch + i) % sets], out)
                        times.append((time.perf_counter_ns() - t0) / batch)
                times.sort()
                med = times[len(times) // 2]
                rows.append({"backend": "torch-" + args.device, "device": name, "pass": pname, "activation": act,
                             "dtype": dtname, "n": n, "median_ns": med, "gbps": arrays * n * size / med,
                             "p10_ns": times[len(times) // 10], "p90_ns": times[(9 * len(times)) // 10], "batch": batch})
                print(f"torch {pname:16s} {act:15s} {dtname} n=2^{e:<2d} {med/1e3:10.2f} us {rows[-1]['gbps']:8.1f} GB/s", file=sys.stderr)
            del data, inputs
            if args.device == "cuda":
                torch.cuda.empty_cache()
            if args.out != "-":
                write(args.out, name, rows)  # after every size: a run stopped by a time limit keeps its rows
    write(args.out, name, rows)


def write(out, device, rows):
    doc = {"tool": "torch", "version": torch.__version__, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
           "host": platform.node(), "devices": [device], "rows": rows}
    text = json.dumps(doc, indent=1)
    if out == "-":
        print(text)
        return
    with open(out, "w") as f:  # in place: the GPU check brings back at most 8 files, so no temporary beside it
        f.write(text)


if __name__ == "__main__":
    main()
