#!/usr/bin/env bash
# elementwise: moonlab's a + b and a * b (a new float32 tensor per op) on
# N = 16M elements against a plain C loop (OpenMP, static schedule), at 1
# and 2 threads, in GB/s counting 3*4*N bytes per op. Target: >= 70% of C.
# C runs with a freshly malloc'd output per op ("fresh", as a new tensor) and
# with one reused output ("reuse"); "thp" is fresh with 2 MiB pages
# (madvise(MADV_HUGEPAGE)), shown as what a different allocator would give.
# moonlab runs with the result in a `local <close>` (freed at once, "close")
# and dropped to the collector ("gc").
# Sides alternate, ROUNDS times (default 3), SECS seconds each (default 1);
# the table shows the median over rounds of each run's median op, and the
# ratio of the best single ops (less hurt by a noisy neighbour on the cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-1}
N=${N:-16777216}
ML=build/moonlab
REF=build/bench/elementwise_ref

[ -x "$ML" ] || make -j2
mkdir -p build/bench
if [ ! -x "$REF" ] || [ scripts/bench/elementwise_ref.c -nt "$REF" ] || [ scripts/bench/bench_clock.h -nt "$REF" ]; then
  gcc -std=gnu11 -O3 -fopenmp -o "$REF" scripts/bench/elementwise_ref.c
fi

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f%%", 100 * a / b}'; }

echo "elementwise float32, N = $N, GB/s (median over $ROUNDS rounds of ${SECS}s)"
printf "%-4s %-3s %8s %8s %8s %9s %9s %9s %9s %9s\n" op thr "C fresh" "C reuse" "C thp" "ml close" "ml gc" \
  "ml/fresh" "ml/reuse" "best m/r"
for T in 1 2; do
  for OP in add mul; do
    declare -A v=() best=()
    for ((r = 0; r < ROUNDS; r++)); do
      for m in fresh reuse thp; do
        read -r _ med bst _ < <("$REF" "$N" "$T" "$SECS" "$OP" "$m"); v[$m]+="$med "; best[$m]+="$bst "
      done
      for m in close gc; do
        read -r _ med bst _ < <("$ML" scripts/bench/elementwise.lua "$N" "$T" "$SECS" "$OP" "$m")
        v[$m]+="$med "; best[$m]+="$bst "
      done
    done
    for k in fresh reuse thp close gc; do
      v[$k]=$(printf '%s\n' ${v[$k]} | median)
      best[$k]=$(printf '%s\n' ${best[$k]} | sort -g | tail -1)
    done
    printf "%-4s %-3s %8.2f %8.2f %8.2f %9.2f %9.2f %9s %9s %9s\n" "$OP" "$T" "${v[fresh]}" "${v[reuse]}" "${v[thp]}" \
      "${v[close]}" "${v[gc]}" "$(ratio "${v[close]}" "${v[fresh]}")" "$(ratio "${v[close]}" "${v[reuse]}")" \
      "$(ratio "${best[close]}" "${best[reuse]}")"
    unset v best
  done
done
echo "(target: ml >= 70% of the C loop; ratios use ml close)"
