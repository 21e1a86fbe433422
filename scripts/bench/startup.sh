#!/usr/bin/env bash
# startup: wall time of `moonlab -e ''` (interpreter, ml module, exit),
# beside plain `lua5.4 -e ''`. hyperfine when installed (50 runs after 5
# warm-ups, median), else a timed loop of 50 runs (mean). Target: < 20 ms.
set -euo pipefail
cd "$(dirname "$0")/../.."
ML=build/moonlab
RUNS=${RUNS:-50}
[ -x "$ML" ] || make -j2

echo "start-up, ms"
if command -v hyperfine >/dev/null; then
  json=$(mktemp)
  trap 'rm -f "$json"' EXIT
  cmds=("$ML -e ''")
  command -v lua5.4 >/dev/null && cmds+=("lua5.4 -e ''")
  hyperfine -N --style none --warmup 5 --runs "$RUNS" --export-json "$json" "${cmds[@]}" >/dev/null 2>&1
  # median, mean and min of each command, from the JSON (one number a line)
  awk '
    /"command":/ { sub(/.*"command": *"/, ""); sub(/",?$/, ""); cmd = $0 }
    /"mean":/ { mean = $2 + 0 }
    /"median":/ { med = $2 + 0 }
    /"min":/ { mn = $2 + 0; printf "%-20s median %6.2f  mean %6.2f  min %6.2f  (hyperfine, %s runs)\n", cmd, med * 1e3, mean * 1e3, mn * 1e3, runs }
  ' runs="$RUNS" "$json"
else
  for cmd in "$ML" lua5.4; do
    command -v "$cmd" >/dev/null || continue
    t0=$(date +%s%N)
    for ((i = 0; i < RUNS; i++)); do "$cmd" -e '' >/dev/null; done
    t1=$(date +%s%N)
    awk -v c="$cmd -e ''" -v d=$((t1 - t0)) -v n="$RUNS" 'BEGIN {printf "%-20s mean %6.2f  (loop of %d runs)\n", c, d / n / 1e6, n}'
  done
fi
echo "(target: moonlab under 20 ms)"
