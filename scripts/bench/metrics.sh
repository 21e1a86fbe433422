#!/usr/bin/env bash
# metrics: ml.metrics on 1,000,000 samples against sklearn.metrics (/usr/bin/python3) on the same .npy
# files: accuracy_score and f1_score(average="macro") and confusion_matrix of int64 labels of 5
# classes, roc_auc_score and average_precision_score of 0/1 labels with continuous float64 scores
# (one distinct score per sample: the sort's worst case), in seconds per call. Both sides on the
# machine's default threads (moonlab's metric kernels are one pass or one radix sort on one thread).
# Target (issue 11): moonlab at least 5 times faster for each (ratio ml/sk <= 0.20).
# The two sides alternate ROUNDS times (default 5), each timing REPS calls (default 5) after a
# warm-up; the table shows the median over rounds of each run's median, the ratio of medians, and
# the ratio of the best calls ("best ml/sk", less hurt by a noisy neighbour on the cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-5}
ML=build/moonlab
PY=/usr/bin/python3

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import sklearn' 2>/dev/null; then
  echo "(no scikit-learn for $PY: make bench-deps installs python3-sklearn)"
  exit 0
fi
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
"$PY" scripts/bench/metrics.py make "$DIR"

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print "cpu: " $2}'
declare -A ml=() py=() mlb=() pyb=()
for ((r = 0; r < ROUNDS; r++)); do
  while read -r what med bst; do ml[$what]+="$med "; mlb[$what]+="$bst "; done < <("$ML" scripts/bench/metrics.lua "$DIR" "$REPS")
  while read -r what med bst; do py[$what]+="$med "; pyb[$what]+="$bst "; done < <("$PY" scripts/bench/metrics.py run "$DIR" "$REPS")
done
echo "metrics, n = 1,000,000, seconds per call (median over $ROUNDS rounds of $REPS calls)"
printf "%-10s %9s %9s %7s %11s\n" metric moonlab sklearn ml/sk "best ml/sk"
for what in accuracy f1_macro confusion roc_auc avg_prec; do
  m=$(printf '%s\n' ${ml[$what]} | median)
  p=$(printf '%s\n' ${py[$what]} | median)
  mb=$(printf '%s\n' ${mlb[$what]} | sort -g | head -1)
  pb=$(printf '%s\n' ${pyb[$what]} | sort -g | head -1)
  printf "%-10s %9.4f %9.4f %7s %11s\n" "$what" "$m" "$p" "$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.3f", a / b}')" \
    "$(awk -v a="$mb" -v b="$pb" 'BEGIN {printf "%.3f", a / b}')"
done
echo "(target: ml/sk <= 0.20 for each; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
