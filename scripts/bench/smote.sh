#!/usr/bin/env bash
# smote: SMOTE on 100,000 x 20 float64 rows with a 1:20 minority (4,762
# rows, made by scikit-learn's make_classification, the same .npy files for
# both sides): moonlab's prep.SMOTE{k_neighbors = 5}:fit_resample against
# imbalanced-learn's SMOTE(k_neighbors=5).fit_resample (/usr/bin/python3),
# in seconds per call, and the k-nearest-neighbour search inside it alone:
# moonlab's ml._neighbors.kneighbors (GEMM tiles + per-row heaps) against
# scikit-learn's NearestNeighbors(algorithm="brute").kneighbors (6
# neighbours with the row itself, as imblearn asks). Both sides on the
# machine's default threads (OMP_NUM_THREADS unset unless given).
# Target (issue 9): moonlab at least as fast as imbalanced-learn (ratio
# ml/imblearn <= 1.00).
# The two sides alternate ROUNDS times (default 5), each timing REPS calls
# (default 5) after a warm-up; the table shows the median over rounds of
# each run's median, the ratio of medians and the ratio of the best calls.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-5}
ML=build/moonlab
PY=/usr/bin/python3

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import imblearn' 2>/dev/null; then
  echo "(no imblearn for $PY: make bench-deps installs python3-imblearn)"
  exit 0
fi
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
"$PY" scripts/bench/smote.py make "$DIR"

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print "cpu: " $2}'
declare -A ml=() py=() mlb=() pyb=()
for ((r = 0; r < ROUNDS; r++)); do
  while read -r what med bst; do ml[$what]+="$med "; mlb[$what]+="$bst "; done < <("$ML" scripts/bench/smote.lua "$DIR" "$REPS")
  while read -r what med bst; do py[$what]+="$med "; pyb[$what]+="$bst "; done < <("$PY" scripts/bench/smote.py run "$DIR" "$REPS")
done
echo "smote, 100000 x 20 float64, minority 1:20, k = 5, seconds per call (median over $ROUNDS rounds of $REPS calls)"
printf "%-6s %9s %9s %11s %12s\n" what moonlab imblearn ml/imblearn "best ml/imb"
for what in SMOTE KNN; do
  m=$(printf '%s\n' ${ml[$what]} | median)
  p=$(printf '%s\n' ${py[$what]} | median)
  mb=$(printf '%s\n' ${mlb[$what]} | sort -g | head -1)
  pb=$(printf '%s\n' ${pyb[$what]} | sort -g | head -1)
  printf "%-6s %9.4f %9.4f %11s %12s\n" "$what" "$m" "$p" "$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a / b}')" \
    "$(awk -v a="$mb" -v b="$pb" 'BEGIN {printf "%.2f", a / b}')"
done
echo "(KNN: the minority class's 5 nearest neighbours among itself; imblearn column: scikit-learn's brute force)"
echo "(target: ml/imblearn <= 1.00 for SMOTE; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
