#!/usr/bin/env python3
"""Print the loops of the generated ELU kernels and what llvm-mca (Zen 3 model) says of them.

Usage: go test -c -o /tmp/cpu.test ./backend/cpu && python3 bench/mca/loops.py /tmp/cpu.test [func-regexp] [-v]

A loop is the run of instructions from a backward jump's target to that jump. For each loop of each
matching kernel it prints the instruction count, the count per element, the count per 32-byte vector
by class (fma: FMA and multiply; fp01: compare, min/max, blend, which Zen 3 also runs on FP0/FP1 only;
fadd; other vector ops; moves, loads and stores; scalar loop overhead), and llvm-mca's block
reciprocal throughput (cycles per iteration at steady state, no cache misses) and resource pressure.
"""
import re, subprocess, sys

args = [a for a in sys.argv[1:] if a != "-v"]
binary = args[0]
pat = re.compile(args[1] if len(args) > 1 else r"^elu(BackwardInput)?AVX2F(32|64)$")
dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary], capture_output=True, text=True).stdout
funcs, cur = {}, None
for line in dis.splitlines():
    m = re.match(r"^[0-9a-f]+ <github.com/gpuact/gpuact/backend/cpu\.(\w+)\.abi0>:", line)
    if m:
        cur = m.group(1) if pat.search(m.group(1)) else None
        if cur:
            funcs[cur] = []
        continue
    if cur is None:
        continue
    m = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", line)
    if m:
        funcs[cur].append((int(m.group(1), 16), m.group(2).strip()))
    elif not line.strip():
        cur = None

for name, ins in funcs.items():
    elems = 16 if name.endswith("F32") else 8  # per iteration, at unroll 2: see blockBytes
    blk = re.search(r"blockBytes = (\d+)", open("backend/cpu/kernels_amd64.go").read())
    if blk:
        elems = int(blk.group(1)) // (4 if name.endswith("F32") else 8)
    addrs = [a for a, _ in ins]
    for i, (a, text) in enumerate(ins):
        m = re.match(r"jmp\s+([0-9a-f]+)", text)
        if not m or int(m.group(1), 16) >= a:
            continue
        start = addrs.index(int(m.group(1), 16))
        body = ins[start:i + 1]
        asm = []
        for _, t in body:
            t = re.sub(r"\s+#.*$", "", t)
            j = re.match(r"(j\w+)\s+[0-9a-f]+", t)
            asm.append(j.group(1) + " .Lout" if j else t)
        src = ".Lloop:\n" + "\n".join(asm[:-1]) + "\njmp .Lloop\n.Lout:\n"
        out = subprocess.run(["llvm-mca", "-mcpu=znver3", "-iterations=200", "-resource-pressure=true"],
                             input=src, capture_output=True, text=True).stdout
        rthr = re.search(r"Block RThroughput:\s+([\d.]+)", out)
        cyc = re.search(r"Total Cycles:\s+(\d+)", out)
        cls = {}
        for _, t in body:
            op = t.split()[0]
            if re.match(r"vf(n?)m(add|sub)|vmulp", op):
                c = "fma"  # FP0/FP1 on Zen 3
            elif re.match(r"vmaxp|vminp|vcmp|vblendv", op):
                c = "fp01"  # also FP0/FP1 on Zen 3 (compare, min/max, variable blend)
            elif re.match(r"vaddp|vsubp", op):
                c = "fadd"  # FP2/FP3
            elif re.match(r"vmov(ups|upd|aps|apd|ntps|ntpd)", op):
                c = "mov"  # loads, stores, register copies
            elif op.startswith("v"):
                c = "vec-other"  # integer vector ops, logic, movmsk
            else:
                c = "scalar"
            cls[c] = cls.get(c, 0) + 1
        mix = ", ".join(f"{k} {cls.get(k, 0)/elems*(32//(4 if name.endswith('F32') else 8)):.1f}" for k in ("fma", "fp01", "fadd", "vec-other", "mov", "scalar"))
        print(f"{name} loop at {hex(body[0][0])}: {len(body)} instructions, {len(body)/elems:.2f} per element; per vector: {mix}; "
              f"llvm-mca: {int(cyc.group(1))/200:.1f} cycles/iteration ({int(cyc.group(1))/200/elems:.2f} per element), "
              f"block rthroughput {rthr.group(1) if rthr else '?'}")
        if "-v" in sys.argv:
            pr = out[out.find("Resource pressure per iteration"):]
            print("\n".join(pr.splitlines()[:4]))
