#!/usr/bin/env python3
"""Medians (and min–max) of bench/elu/ab.sh's output: MB/s per row and binary, and each ELU row's
throughput as a share of copy() of the same dtype and n measured in the same round."""
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

print("row | " + " | ".join(bins) + " | " + " | ".join(f"{b} / copy()" for b in bins) + (" | B/A" if len(bins) > 1 else ""))
for name in rows:
    cells = [fmt(rows[name][b]) if rows[name][b] else "-" for b in bins]
    sh = [f"{statistics.median(share[name][b]):.2f}" if share[name][b] else "-" for b in bins]
    ratio = ""
    if len(bins) > 1 and rows[name][bins[0]] and rows[name][bins[1]]:
        ratio = f" | {statistics.median(rows[name][bins[1]]) / statistics.median(rows[name][bins[0]]):.3f}"
    print(f"{name} | " + " | ".join(cells) + " | " + " | ".join(sh) + ratio)
