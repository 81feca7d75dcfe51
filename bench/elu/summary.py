#!/usr/bin/env python3
"""Medians (and min–max) of bench/elu/ab.sh's output: MB/s per row and binary, each ELU row's
throughput as a share of copy() of the same dtype and n measured in the same round, and each binary's
median and best against the first binary's. On a shared machine other tenants only ever slow a
compute-bound loop down, so the best of many short rounds is the steadier estimate of its speed."""
import re, statistics, sys
from collections import defaultdict

rows = defaultdict(lambda: defaultdict(list))  # row -> bin -> [MB/s]
share = defaultdict(lambda: defaultdict(list))
bins = []
cur, copies = None, {}
for line in open(sys.argv[1]):
    m = re.match(r"# round (\d+) (\S+)", line)
    if m:
        cur, copies = m.group(2), {}
        if cur not in bins:
            bins.append(cur)
        continue
    m = re.match(r"BenchmarkPasses/(\S+?)-\d+\s+\d+\s+[\d.]+ ns/op\s+([\d.]+) MB/s", line)
    if not m:
        continue
    name, mbs = m.group(1), float(m.group(2))
    parts = name.split("/")
    if parts[0] == "copy":
        copies[(parts[1], parts[2])] = mbs
    else:
        share[name][cur].append(mbs / copies[(parts[2], parts[3])])
    rows[name][cur].append(mbs)

def fmt(v):
    return f"{statistics.median(v):8.0f} ({min(v):.0f}–{max(v):.0f})"

print("row | " + " | ".join(bins) + " | " + " | ".join(f"{b} / copy()" for b in bins) + "".join(f" | {b} / {bins[0]}: median (best)" for b in bins[1:]))
for name in rows:
    cells = [fmt(rows[name][b]) if rows[name][b] else "-" for b in bins]
    sh = [f"{statistics.median(share[name][b]):.2f}" if share[name][b] else "-" for b in bins]
    ratio = ""
    for b in bins[1:]:
        if rows[name][bins[0]] and rows[name][b]:
            ratio += (f" | {statistics.median(rows[name][b]) / statistics.median(rows[name][bins[0]]):.3f}"
                      f" (best {max(rows[name][b]) / max(rows[name][bins[0]]):.3f})")
    print(f"{name} | " + " | ".join(cells) + " | " + " | ".join(sh) + ratio)
