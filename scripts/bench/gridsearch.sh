#!/usr/bin/env bash
# gridsearch: GridSearchCV of StandardScaler + LogisticRegression over 4 values
# of C with cv = 3 on the breast-cancer data, moonlab's search.GridSearchCV
# beside scikit-learn's, one thread each (OMP_NUM_THREADS=1). Target (issue
# 12): faster than scikit-learn, with the same best_params. Sides alternate,
# ROUNDS times (default 5); medians and the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
ML=build/moonlab
PY=/usr/bin/python3
[ -x "$ML" ] || make -j2
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
a=""; b=""
for ((r = 0; r < ROUNDS; r++)); do
  read -r _ t c s <<< "$(OMP_NUM_THREADS=1 "$ML" scripts/bench/gridsearch.lua 5 | grep '^TIME')"; a+="$t "; mc=$c; ms=$s
  read -r _ t c s <<< "$(OMP_NUM_THREADS=1 "$PY" scripts/bench/gridsearch.py 5 | grep '^TIME')"; b+="$t "; pc=$c; ps=$s
done
ta=$(printf '%s\n' $a | median); tb=$(printf '%s\n' $b | median)
printf "%-14s %10s %8s %10s\n" side seconds best_C best_score
printf "%-14s %10.4f %8s %10s\n" moonlab "$ta" "$mc" "$ms"
printf "%-14s %10.4f %8s %10s\n" scikit-learn "$tb" "$pc" "$ps"
echo "ratio moonlab / scikit-learn: $(echo "$ta / $tb" | bc -l | cut -c1-5)"
