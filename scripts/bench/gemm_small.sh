#!/usr/bin/env bash
# gemm_small: the small-product kernel (runtime/ops/gemm_small.c, what
# ml.matmul and nn.Linear run under MOONLAB_GEMM=auto for m*n*k <= 32^3)
# against the two libraries it replaces there, OpenBLAS's cblas_sgemm and
# oneDNN's dnnl_sgemm, called raw from one C program (gemm_small.c), float32,
# 1 thread, ns per call. Shapes M x N x K and layouts: the tiny model's
# (10-32-1 at batch 32: forward x @ W1^T, W1's gradient g^T @ x and its
# transposed-layout form, h @ W2^T, g @ W2, g^T @ h), then 32^3 (the
# threshold) and, beyond it, 48^3, 64^3, 128^3 where oneDNN takes over
# ("-": past the kernel's stack buffer).
# Target: small/best < 1 at every shape up to the threshold.
# The three sides alternate inside one process, ROUNDS times (default 201),
# each a batch of calls lasting ~50 us; the table shows the medians.
# CALLGRIND=1 prints instructions per call instead (valgrind runs no
# AVX-512, so this is the AVX2 build of the kernel against OpenBLAS's
# Haswell one: 200 calls minus 100, over 100).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-201}
BLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-openmp
BLAS_INC=/usr/include/x86_64-linux-gnu/openblas-openmp
BIN=build/bench/gemm_small
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1

[ -f build/runtime/ops/gemm_small.o ] || make -j2
mkdir -p build/bench
gcc -std=gnu11 -O3 -fopenmp -I"$BLAS_INC" -o "$BIN" scripts/bench/gemm_small.c build/runtime/ops/gemm_small.o \
  build/runtime/ops/vecmath*.o -L"$BLAS_DIR" -Wl,-rpath,"$BLAS_DIR" -lopenblas -ldnnl -lsleef -lm

SHAPES=(
  "32 32 10 NT L1.fwd" "32 10 32 TN L1.dW" "10 32 32 TN L1.dW^T" "32 1 32 NT L2.fwd" "32 32 1 NN L2.dx"
  "1 32 32 TN L2.dW" "32 32 32 NN cube" "32 32 32 NT cube" "48 48 48 NN beyond" "64 64 64 NN beyond"
  "128 128 128 NN beyond"
)
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') (family $(lscpu | sed -n 's/^CPU family: *//p')), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${CALLGRIND:-0}" = 1 ]; then
  ir() { # instructions in one_call over CALLS calls
    valgrind --tool=callgrind --toggle-collect=one_call --callgrind-out-file=build/bench/gemm_small.cg "$BIN" "$@" >/dev/null 2>&1
    awk '/^summary:/ {print $2}' build/bench/gemm_small.cg
  }
  printf "%-14s %-2s %-8s %10s %10s %8s\n" "M x N x K" op what small cblas small/blas
  for s in "${SHAPES[@]}"; do
    read -r M N K TR WHAT <<< "$s"
    for lib in small openblas; do
      a=$(ir "$M" "$N" "$K" "$TR" 0 "$lib" 100); b=$(ir "$M" "$N" "$K" "$TR" 0 "$lib" 200)
      eval "i_$lib=$(( (b - a) / 100 ))"
    done
    # past the kernel's stack buffer (ml_small_fits) the small side does nothing
    fits=$(( K * ((M > N ? M : N) + 16) <= 8192 ))
    awk -v s="${M}x${N}x${K}" -v tr="$TR" -v w="$WHAT" -v a="$i_small" -v o="$i_openblas" -v f="$fits" 'BEGIN {
      if (f) printf "%-14s %-2s %-8s %10d %10d %8.2f\n", s, tr, w, a, o, a / o
      else printf "%-14s %-2s %-8s %10s %10d %8s\n", s, tr, w, "-", o, "-" }'
  done
  rm -f build/bench/gemm_small.cg
  exit 0
fi
echo "float32 product, 1 thread, ns per call (median of $ROUNDS alternating rounds)"
printf "%-14s %-2s %-8s %9s %9s %9s %10s\n" "M x N x K" op what small cblas dnnl small/best
for s in "${SHAPES[@]}"; do
  read -r M N K TR WHAT <<< "$s"
  read -r _ a o d < <("$BIN" "$M" "$N" "$K" "$TR" "$ROUNDS")
  awk -v s="${M}x${N}x${K}" -v tr="$TR" -v w="$WHAT" -v a="$a" -v o="$o" -v d="$d" 'BEGIN {
    best = o < d ? o : d
    printf "%-14s %-2s %-8s %9s %9.1f %9.1f %10s\n", s, tr, w, a, o, d, a == "-" ? "-" : sprintf("%.2f", a / best) }'
done
echo "(target: small/best < 1 up to 32x32x32; the machine may be shared: see the load above)"
