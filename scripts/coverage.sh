#!/usr/bin/env bash
# Prints the statement coverage of each package named, from a profile of `go test -coverpkg=...
# -coverprofile=PROFILE ./...`, and fails when one is below MIN percent. A block that several test
# binaries cover is counted once. make test-cover (and so make ci) runs it for the CUDA packages, whose
# statements run in CI on the emulated driver (internal/cudaemu).
#
#   scripts/coverage.sh PROFILE MIN PACKAGE...
set -euo pipefail
profile=$1 min=$2
shift 2
module=$(go list -m)
status=0
for pkg in "$@"; do
  path=$module/${pkg#./}
  read -r covered total < <(awk -v dir="$path" '
    NR > 1 {
      file = $1; sub(/:[^:]*$/, "", file)
      d = file; sub(/\/[^\/]*$/, "", d)
      if (d != dir) next
      stmts[$1] = $2
      if ($3 > 0) hit[$1] = 1
    }
    END {
      for (b in stmts) { total += stmts[b]; if (b in hit) covered += stmts[b] }
      print covered + 0, total + 0
    }' "$profile")
  if [ "$total" -eq 0 ]; then
    echo "coverage: $pkg: no statements in $profile"
    status=1
    continue
  fi
  pct=$(awk -v c="$covered" -v t="$total" 'BEGIN { printf "%.1f", 100 * c / t }')
  verdict=ok
  if awk -v p="$pct" -v m="$min" 'BEGIN { exit !(p < m) }'; then verdict="BELOW $min%"; status=1; fi
  printf 'coverage: %-32s %5s%% of %4d statements  %s\n' "$pkg" "$pct" "$total" "$verdict"
done
exit $status
