#!/usr/bin/env bash
# matmul: moonlab's ml.matmul(a, b) in float32 against the two raw libraries
# it may call, oneDNN's dnnl_sgemm and OpenBLAS's cblas_sgemm (the same
# OpenMP-variant OpenBLAS, pinned by OPENBLAS_CORETYPE as the environment
# sets it), from one C program (sgemm_ref.c), at 1 and 2 threads, in GFLOP/s.
# Shapes M x N x K: the issue's four (128x512x784, 128x10x512, 512^3,
# 1024^3, plain row-major), then the products of nn.Linear in the MLP
# 784-512-256-10 at batch 128: forward x @ W^T (NT), the input gradient
# g @ W (NN) and the weight gradient g^T @ x (TN), transposed operands as
# views (moonlab) or as transpose flags (C), never copied.
# Target: ml.matmul >= 90% of the faster raw library ("ml/best"); on a
# full-width AVX-512 CPU that means about 1.8x OpenBLAS ("ml/blas").
# Each run is a process; the three sides alternate, ROUNDS times (default 3),
# SECS seconds each (default 0.5); the table shows the median over rounds of
# each run's median call. OMP_WAIT_POLICY=PASSIVE on both sides (moonlab's
# default); the header names the CPU and what ml.config() chose.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-0.5}
BLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-openmp
BLAS_INC=/usr/include/x86_64-linux-gnu/openblas-openmp
ML=build/moonlab
REF=build/bench/sgemm_ref
export OMP_WAIT_POLICY=PASSIVE

[ -x "$ML" ] || make -j2
mkdir -p build/bench
if [ ! -x "$REF" ] || [ scripts/bench/sgemm_ref.c -nt "$REF" ] || [ scripts/bench/bench_clock.h -nt "$REF" ]; then
  gcc -std=gnu11 -O3 -fopenmp -I"$BLAS_INC" -o "$REF" scripts/bench/sgemm_ref.c \
    -L"$BLAS_DIR" -Wl,-rpath,"$BLAS_DIR" -lopenblas -ldnnl -lm
fi

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') (family $(lscpu | sed -n 's/^CPU family: *//p')), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$ML" --version
echo "matmul float32, GFLOP/s (median over $ROUNDS rounds of ${SECS}s)"
SHAPES=(
  "128 512 784 NN issue" "128 10 512 NN issue" "512 512 512 NN issue" "1024 1024 1024 NN issue"
  "128 512 784 NT L1.fwd" "512 784 128 TN L1.dW"
  "128 256 512 NT L2.fwd" "128 512 256 NN L2.dx" "256 512 128 TN L2.dW"
  "128 10 256 NT L3.fwd" "128 256 10 NN L3.dx" "10 256 128 TN L3.dW"
)
printf "%-16s %-2s %-7s %3s %10s %10s %10s %8s %8s\n" "M x N x K" op what thr ml.matmul dnnl_sgemm cblas ml/best ml/blas
for T in 1 2; do
  for s in "${SHAPES[@]}"; do
    read -r M N K TR WHAT <<< "$s"
    m=(); d=(); o=()
    for ((r = 0; r < ROUNDS; r++)); do
      read -r _ v _ < <("$ML" scripts/bench/matmul.lua "$M" "$N" "$K" "$TR" "$T" "$SECS"); m+=("$v")
      read -r _ v _ < <("$REF" onednn "$M" "$N" "$K" "$TR" "$T" "$SECS"); d+=("$v")
      read -r _ v _ < <("$REF" openblas "$M" "$N" "$K" "$TR" "$T" "$SECS"); o+=("$v")
    done
    mm=$(printf '%s\n' "${m[@]}" | median); dm=$(printf '%s\n' "${d[@]}" | median); om=$(printf '%s\n' "${o[@]}" | median)
    awk -v s="${M}x${N}x${K}" -v tr="$TR" -v w="$WHAT" -v t="$T" -v m="$mm" -v d="$dm" -v o="$om" 'BEGIN {
      best = d > o ? d : o
      printf "%-16s %-2s %-7s %3s %10.1f %10.1f %10.1f %7.0f%% %7.2fx\n", s, tr, w, t, m, d, o, 100 * m / best, m / o }'
  done
done
echo "(target: ml/best >= 90% at 1 and 2 threads; the machine may be shared: see the load above)"
