#!/usr/bin/env bash
# Prints the statement coverage of each package named, from a profile of `go test -coverpkg=...
# -coverprofile=PROFILE ./...`, and fails when a package named as PKG=MIN is below MIN percent. A block
# that several test binaries cover is counted once. make test runs it.
#
#   scripts/coverage.sh PROFILE PKG[=MIN]...
set -euo pipefail
profile=$1
shift
module=$(go list -m)
status=0
for arg in "$@"; do
  pkg=${arg%%=*} min=0
  [ "$arg" != "$pkg" ] && min=${arg#*=}
  path=$module/${pkg#./}
  path=${path%/.}
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
  verdict=""
  if [ "$min" != 0 ]; then
    verdict="(at least $min%: ok)"
    if awk -v p="$pct" -v m="$min" 'BEGIN { exit !(p < m) }'; then verdict="BELOW $min%"; status=1; fi
  fi
  printf 'coverage: %-32s %5s%% of %5d statements  %s\n' "$pkg" "$pct" "$total" "$verdict"
done
exit $status
