#!/usr/bin/env bash
# forest: RandomForestClassifier fit on 80,000 x 20 float64 rows (the first 80% of
# scikit-learn's make_classification(100,000, 20, n_informative=10, random_state=0), the
# same .npy files for both sides), 100 trees and defaults otherwise (max_features sqrt,
# bootstrap, fully grown): moonlab's models.RandomForestClassifier{n_estimators = 100}
# on ml.threads() (both cores: OpenMP over trees in one C call) against scikit-learn's
# RandomForestClassifier(n_estimators=100, n_jobs=2); then predict_proba of the 20,000
# held-out rows, and the held-out accuracy (mean over the rounds' seeds).
# Target (issue 11): fit time ml/sklearn <= 1.00, accuracy within a point.
# The two sides alternate ROUNDS times (default 5), each timing REPS fits (default 1);
# the table shows the median over rounds of each run's median, the ratio of medians and
# the ratio of the best runs, wall seconds and the process's CPU seconds (the machine
# may be shared: CPU time is the steadier figure then).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-1}
ML=build/moonlab
PY=/usr/bin/python3

[ -x "$ML" ] || make -j2
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
"$PY" scripts/bench/forest.py make "$DIR"

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print "cpu: " $2}'
declare -A ml=() py=() mlb=() pyb=()
for ((r = 0; r < ROUNDS; r++)); do
  while read -r what med bst; do ml[$what]+="$med "; mlb[$what]+="$bst "; done < <("$ML" scripts/bench/forest.lua "$DIR" "$REPS" "$r")
  while read -r what med bst; do py[$what]+="$med "; pyb[$what]+="$bst "; done < <("$PY" scripts/bench/forest.py run "$DIR" "$REPS" "$r")
done
echo "random forest, 100 trees, fit 80000 x 20, predict 20000 rows (median over $ROUNDS rounds of $REPS)"
printf "%-12s %9s %9s %11s %12s\n" what moonlab sklearn ml/sklearn "best ml/sk"
for what in fit fit_cpu predict predict_cpu accuracy; do
  m=$(printf '%s\n' ${ml[$what]} | median)
  p=$(printf '%s\n' ${py[$what]} | median)
  mb=$(printf '%s\n' ${mlb[$what]} | sort -g | head -1)
  pb=$(printf '%s\n' ${pyb[$what]} | sort -g | head -1)
  printf "%-12s %9.4f %9.4f %11s %12s\n" "$what" "$m" "$p" "$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a / b}')" \
    "$(awk -v a="$mb" -v b="$pb" 'BEGIN {printf "%.2f", a / b}')"
done
echo "(seconds; *_cpu: the process's CPU seconds over both threads; accuracy on the 20,000 held-out rows)"
echo "(target: fit ml/sklearn <= 1.00, accuracy within 0.01; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
