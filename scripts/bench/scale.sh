#!/usr/bin/env bash
# scale: StandardScaler and MinMaxScaler fit_transform on N x D float64
# (default 1,000,000 x 20, 160 MB), moonlab's ml.prep against scikit-learn's
# (/usr/bin/python3), both with the machine's default threads (moonlab's C
# kernels split rows over the cores; NumPy's reductions are single-threaded).
# Target (issue 9): moonlab at least 2x faster (ratio sk/ml >= 2).
# Also measured, in the same processes: a plain copy of X into an allocated
# matrix (moonlab Y:copy_(X), NumPy np.copyto(Y, X)), reading 160 MB and
# writing 160 MB, as the machine's practical memory bandwidth (GB/s = 320 MB
# / time). GB/s for the scalers counts the least traffic a
# fit_transform needs (read X once, write the output once: 2 x N x D x 8
# bytes); the statistics pass reads X again (StandardScaler twice: mean, then
# deviations), so the real traffic is 1.5-2x that.
# The two sides alternate ROUNDS times (default 5); each run reports the
# median of REPS (default 3) timed calls after a warm-up; the table shows the
# median over rounds and the ratio of medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-3}
N=${N:-1000000}
D=${D:-20}
ML=build/moonlab
PY=/usr/bin/python3

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import sklearn' 2>/dev/null; then
  echo "(no scikit-learn for $PY: make bench-deps installs python3-sklearn)"
  exit 0
fi

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print "cpu: " $2}'
declare -A ml=() sk=()
for ((r = 0; r < ROUNDS; r++)); do
  while read -r _ op s; do ml[$op]+="$s "; done < <("$ML" scripts/bench/scale.lua "$N" "$D" "$REPS")
  while read -r _ op s; do sk[$op]+="$s "; done < <("$PY" scripts/bench/scale.py "$N" "$D" "$REPS")
done
BYTES=$((2 * N * D * 8))
echo "scale, $N x $D float64, seconds (median over $ROUNDS alternated rounds of $REPS calls)"
printf "%-10s %10s %10s %8s %12s %12s\n" op moonlab sklearn sk/ml "ml GB/s" "sk GB/s"
for op in copy standard minmax; do
  m=$(printf '%s\n' ${ml[$op]} | median)
  s=$(printf '%s\n' ${sk[$op]} | median)
  printf "%-10s %10.4f %10.4f %8s %12s %12s\n" "$op" "$m" "$s" \
    "$(awk -v a="$s" -v b="$m" 'BEGIN {printf "%.2f", a / b}')" \
    "$(awk -v b="$BYTES" -v t="$m" 'BEGIN {printf "%.1f", b / t / 1e9}')" \
    "$(awk -v b="$BYTES" -v t="$s" 'BEGIN {printf "%.1f", b / t / 1e9}')"
done
echo "(copy = the memory bandwidth measured here; target: sk/ml >= 2 for standard and minmax; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
