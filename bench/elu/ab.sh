#!/bin/sh
# A/B timing of CPU-backend test binaries on the ELU exp passes, in alternating rounds so that load from
# other tenants hits every binary alike. Build each binary at the commit to compare:
#
#	go test -c -o /tmp/a.test ./backend/cpu   # at commit A, then the same for B
#	flock /tmp/gpuact-cpu.lock sh bench/elu/ab.sh 5 /tmp/a.test /tmp/b.test > /tmp/ab.txt
#	python3 bench/elu/summary.py /tmp/ab.txt
#
# Rows: BenchmarkPasses' ELU forward and backward from input at n = 2^12 (one goroutine, in L1/L2) and
# n = 2^24 (both cores, from memory, non-temporal stores), with copy() of the same bytes in the same run.
# BENCH_N overrides the sizes (a regexp alternative list, e.g. "65536|16777216").
rounds=$1
shift
n=${BENCH_N:-4096|16777216}
copies="BenchmarkPasses/^copy\$/^(float32|float64)\$/^n=($n)\$"
passes="BenchmarkPasses/^(forward|backward-input)\$/^elu\$/^(float32|float64)\$/^n=($n)\$"
for r in $(seq "$rounds"); do
	for bin in "$@"; do
		echo "# round $r $bin"
		for pat in "$copies" "$passes"; do
			"$bin" -test.run '^$' -test.bench "$pat" -test.benchtime "${BENCH_TIME:-0.3s}" | grep '^Benchmark'
		done
	done
done
