#!/usr/bin/env bash
# linear: issue 11's performance lines for the linear models and kNN, moonlab
# (scripts/bench/linear.lua) beside scikit-learn (scripts/bench/linear.py):
#  - LogisticRegression() fit (lbfgs, C = 1, tol 1e-4) on the standardized
#    breast cancer data (569 x 30): median of 30 fits in one process.
#    Target: faster than scikit-learn's lbfgs.
#  - KNeighborsClassifier(n_neighbors = 5) predict of 10,000 queries against
#    10,000 rows of 50 features; scikit-learn with algorithm = "brute" and
#    n_jobs = THREADS: median of 5 predicts. Target: faster than scikit-learn.
# Both at THREADS threads (default 2: OMP_NUM_THREADS for either side's BLAS).
# Sides alternate, ROUNDS times (default 5); the table shows the medians of
# the rounds and the ratios. Each round is logged to stderr with the load
# average (the machine may be shared).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
ML=build/moonlab
PY=/usr/bin/python3
[ -x "$ML" ] || make -j2

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A lr=() kn=() acc=() it=()
for ((r = 1; r <= ROUNDS; r++)); do
  for side in moonlab sklearn; do
    if [ $side = moonlab ]; then c="$ML scripts/bench/linear.lua $THREADS"; else c="$PY scripts/bench/linear.py $THREADS"; fi
    out=$(OMP_NUM_THREADS=$THREADS $c | grep '^RESULT') || { echo "failed: $c" >&2; exit 1; }
    read -r _ ms a ks n <<< "$out"
    printf '  round %d: %-8s logreg %8.3f ms (acc %s, %s iterations)  knn %7.3f s  (load %s)\n' "$r" "$side" "$ms" "$a" "$n" "$ks" \
      "$(cut -d' ' -f1 /proc/loadavg)" >&2
    lr[$side]+="$ms "; kn[$side]+="$ks "; acc[$side]=$a; it[$side]=$n
  done
done
for s in moonlab sklearn; do
  lr[$s]=$(printf '%s\n' ${lr[$s]} | median); kn[$s]=$(printf '%s\n' ${kn[$s]} | median)
done
echo "linear models and kNN at $THREADS threads; median over $ROUNDS rounds"
printf "%-8s %16s %10s %8s %18s\n" side "logreg fit ms" accuracy n_iter "knn predict s"
for s in moonlab sklearn; do
  printf "%-8s %16.3f %10s %8s %18.3f\n" $s "${lr[$s]}" "${acc[$s]}" "${it[$s]}" "${kn[$s]}"
done
awk -v a="${lr[moonlab]}" -v b="${lr[sklearn]}" -v c="${kn[moonlab]}" -v d="${kn[sklearn]}" 'BEGIN {
  printf "LogisticRegression fit: moonlab / sklearn = %.3f / %.3f ms = %.2fx (target < 1) %s\n", a, b, a / b, (a < b ? "ok" : "MISS")
  printf "kNN predict 10k x 10k x 50: moonlab / sklearn = %.3f / %.3f s = %.2fx (target < 1) %s\n", c, d, c / d, (c < d ? "ok" : "MISS")
}'
