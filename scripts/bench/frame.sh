#!/usr/bin/env bash
# frame: describe and groupby-mean on a data frame of N = 1,000,000 rows
# (N="...") with 20 float64 columns of normal values, an int64 key of ~1000
# groups and a string key of 100 distinct strings, built from generated
# tensors (not from CSV): moonlab's df:describe() and
# df:groupby(key):agg{c1 = "mean", ..., c20 = "mean"} (scripts/bench/frame.lua)
# against pandas' df.describe() and df.groupby(key)[floats].mean()
# (scripts/bench/frame.py, /usr/bin/python3), both on the machine's threads
# (ml.threads default; pandas is single-threaded here), keys sorted as
# pandas' default sort=True. Target (issue 9): moonlab at least as fast as
# pandas (ratio ml/pd <= 1.00) for describe and groupby-mean.
# The two sides alternate, ROUNDS times (default 5), each run printing the
# median of REPS (default 5) timed calls after a warm-up; the table shows the
# median over rounds and the ratio of medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-5}
N=${N:-1000000}
ML=build/moonlab
PY=/usr/bin/python3
OPS="describe groupby_int groupby_str"

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import pandas' 2>/dev/null; then
  echo "(no pandas for $PY: make bench-deps installs python3-pandas)"
  exit 0
fi

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print "cpu: " $2}'
declare -A ml=() pd=()
for ((r = 0; r < ROUNDS; r++)); do
  while read -r _ op t; do ml[$op]+="$t "; done < <("$ML" scripts/bench/frame.lua "$N" "$REPS")
  while read -r _ op t; do pd[$op]+="$t "; done < <("$PY" scripts/bench/frame.py "$N" "$REPS")
done
echo "frame, N = $N rows x 20 float64 + int key (~1000 groups) + string key (100), seconds (median over $ROUNDS rounds of $REPS calls)"
printf "%-12s %10s %10s %8s\n" op moonlab pandas ml/pd
for op in $OPS; do
  m=$(printf '%s\n' ${ml[$op]} | median)
  p=$(printf '%s\n' ${pd[$op]} | median)
  printf "%-12s %10.4f %10.4f %8s\n" "$op" "$m" "$p" "$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a / b}')"
done
echo "(target: ml/pd <= 1.00 for describe and groupby; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
