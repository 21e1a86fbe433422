#!/usr/bin/env bash
# plot: seconds to build a figure and save it as an 800x500 PNG, moonlab's ml.plot (cairo)
# against matplotlib 3.6 (Agg, /usr/bin/python3), for a line of 200,000 points (a random
# walk), a scatter of 50,000 points, a histogram of 1,000,000 values in 50 bins, and a
# two-panel learning-curves figure of 50 epochs (what fit and search write as artifacts).
# Target (issue 14): moonlab at most matplotlib's time on every case (ratio ml/mpl <= 1.00).
# Each side's run reports its fastest of REPS (default 3) saves per case; the two sides
# alternate ROUNDS times (default 5) and the table shows the medians of the runs and their ratio.
# Process start and imports are not timed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-3}
ML=build/moonlab
PY=/usr/bin/python3
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
  echo "(no matplotlib for $PY: apt-get install python3-matplotlib)"
  exit 0
fi
export OMP_NUM_THREADS=1
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A ml=() mp=()
CASES="line200k scatter50k hist1M curves"
for ((r = 0; r < ROUNDS; r++)); do
  while read -r _ c s; do ml[$c]+="$s "; done < <("$ML" scripts/bench/plot.lua "$REPS" "$OUT")
  while read -r _ c s; do mp[$c]+="$s "; done < <("$PY" scripts/bench/plot.py "$REPS" "$OUT")
done
echo "plot, 800x500 PNG, seconds per figure (median over $ROUNDS rounds of the fastest of $REPS)"
printf "%-11s %9s %11s %7s\n" case moonlab matplotlib ml/mpl
for c in $CASES; do
  m=$(printf '%s\n' ${ml[$c]} | median)
  p=$(printf '%s\n' ${mp[$c]} | median)
  printf "%-11s %9.4f %11.4f %7s\n" "$c" "$m" "$p" "$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a / b}')"
done
echo "(target: ml/mpl <= 1.00 on every case; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
