#!/usr/bin/env bash
# conv_layers: forward + backward of single layers, batch 128, float32:
# moonlab's im2col + GEMM convolutions and its own pooling / batch-norm
# kernels beside PyTorch 1.13, which runs its CPU convolutions through
# oneDNN 2.6 (the primitive the issue asks us to measure against: its
# profiler shows aten::mkldnn_convolution). This is the measurement behind
# "use oneDNN's primitives where they win, or im2col where that wins".
# moonlab runs three ways: its default rule (conv_dnnl.c: oneDNN's
# primitives from 16 input channels, im2col below), and each path forced
# with MOONLAB_CONV=im2col / =onednn, so the table shows which wins where.
# Sides alternate, ROUNDS times (default 3), at 1 and 2 threads; medians;
# ratio = moonlab's default / PyTorch (below 1: moonlab is faster).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
REPS=${REPS:-20}
ML=build/moonlab
PY=/usr/bin/python3
[ -x "$ML" ] || make -j2
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A ml=() im=() dn=() pt=()
names=()
for T in 1 2; do
  for ((r = 0; r < ROUNDS; r++)); do
    while read -r _ rest; do
      n="$T|${rest% *}"; ml[$n]+="${rest##* } "
      ((r == 0 && T == 1)) && names+=("${rest% *}")
    done < <(OMP_NUM_THREADS=$T "$ML" scripts/bench/conv_layers.lua "$T" "$REPS" | grep '^LAYER')
    while read -r _ rest; do n="$T|${rest% *}"; im[$n]+="${rest##* } "
    done < <(MOONLAB_CONV=im2col OMP_NUM_THREADS=$T "$ML" scripts/bench/conv_layers.lua "$T" "$REPS" | grep '^LAYER')
    while read -r _ rest; do n="$T|${rest% *}"; dn[$n]+="${rest##* } "
    done < <(MOONLAB_CONV=onednn OMP_NUM_THREADS=$T "$ML" scripts/bench/conv_layers.lua "$T" "$REPS" | grep '^LAYER')
    while read -r _ rest; do
      n="$T|${rest% *}"; pt[$n]+="${rest##* } "
    done < <(OMP_NUM_THREADS=$T "$PY" scripts/bench/conv_layers.py "$T" "$REPS" | grep '^LAYER')
    echo "  threads $T round $((r + 1)) done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  done
done
printf "%-28s %3s %12s %8s %8s %18s %7s\n" layer thr "moonlab ms" "im2col" "onednn" "PyTorch/oneDNN ms" ratio
for T in 1 2; do
  for name in "${names[@]}"; do
    k="$T|$name"
    a=$(printf '%s\n' ${ml[$k]} | median); b=$(printf '%s\n' ${pt[$k]} | median)
    i=$(printf '%s\n' ${im[$k]} | median); o=$(printf '%s\n' ${dn[$k]} | median)
    printf "%-28s %3d %12.3f %8.3f %8.3f %18.3f %7.2f\n" "$name" "$T" "$a" "$i" "$o" "$b" "$(echo "$a / $b" | bc -l)"
  done
done
