#!/usr/bin/env bash
# matmul: moonlab's ml.matmul(a, b) against raw cblas_sgemm (same OpenBLAS,
# OpenMP variant), float32 N x N, at 1 and 2 threads. Target: moonlab >= 90%
# of the C program's GFLOP/s.
# The two sides run alternately, ROUNDS times (default 3), SECS seconds each
# (default 1); each run reports the median of its calls, and the table shows
# the median over the rounds (and the best single call, less hurt by noise).
# Also: what matmul's output allocation (ml.zeros) costs next to the product.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-1}
BLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-openmp
BLAS_INC=/usr/include/x86_64-linux-gnu/openblas-openmp
ML=build/moonlab
REF=build/bench/sgemm_ref

[ -x "$ML" ] || make -j2
mkdir -p build/bench
if [ ! -x "$REF" ] || [ scripts/bench/sgemm_ref.c -nt "$REF" ]; then
  gcc -std=gnu11 -O3 -fopenmp -I"$BLAS_INC" -o "$REF" scripts/bench/sgemm_ref.c \
    -L"$BLAS_DIR" -Wl,-rpath,"$BLAS_DIR" -lopenblas -lm
fi

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f%%", 100 * a / b}'; }

echo "matmul float32, GFLOP/s (median over $ROUNDS rounds of ${SECS}s; best call in brackets)"
printf "%-6s %-3s %18s %18s %8s %8s\n" size thr "cblas_sgemm" "ml.matmul" ratio "best"
for T in 1 2; do
  for N in 512 1024; do
    c_med=(); c_best=(); m_med=(); m_best=()
    for ((r = 0; r < ROUNDS; r++)); do
      read -r _ med best _ < <("$REF" "$N" "$T" "$SECS")
      c_med+=("$med"); c_best+=("$best")
      read -r _ med best _ < <("$ML" scripts/bench/matmul.lua "$N" "$T" "$SECS")
      m_med+=("$med"); m_best+=("$best")
    done
    cm=$(printf '%s\n' "${c_med[@]}" | median); cb=$(printf '%s\n' "${c_best[@]}" | sort -g | tail -1)
    mm=$(printf '%s\n' "${m_med[@]}" | median); mb=$(printf '%s\n' "${m_best[@]}" | sort -g | tail -1)
    printf "%-6s %-3s %10.1f [%5.1f] %10.1f [%5.1f] %8s %8s\n" "$N" "$T" "$cm" "$cb" "$mm" "$mb" \
      "$(ratio "$mm" "$cm")" "$(ratio "$mb" "$cb")"
  done
done
echo "(target: ml.matmul >= 90% of cblas_sgemm)"

# What the per-call output allocation (ml.zeros) costs at 512, 1 thread.
z=(); g=(); ca=()
for ((r = 0; r < ROUNDS; r++)); do
  read -r _ med _ _ < <("$ML" scripts/bench/matmul.lua 512 1 "$SECS" zeros); z+=("$med")
  read -r _ med _ _ < <("$ML" scripts/bench/matmul.lua 512 1 "$SECS"); g+=("$med")
  read -r _ med _ _ < <("$REF" 512 1 "$SECS" alloc); ca+=("$med")
done
zs=$(printf '%s\n' "${z[@]}" | median); gf=$(printf '%s\n' "${g[@]}" | median)
cag=$(printf '%s\n' "${ca[@]}" | median)
awk -v z="$zs" -v g="$gf" -v ca="$cag" 'BEGIN {
  t = 2 * 512 ^ 3 / (g * 1e9)
  printf "output allocation at 512, 1 thread: ml.zeros(512, 512) %.1f us = %.2f%% of one ml.matmul (%.0f us)\n", z * 1e6, 100 * z / t, t * 1e6
  printf "C with a calloc-like output per call: %.1f GFLOP/s (%s)\n", ca, (100 * z / t > 10) ? "allocation > 10%: use ml_empty" : "allocation < 10%: not worth changing"
}'
