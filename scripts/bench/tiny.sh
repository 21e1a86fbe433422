#!/usr/bin/env bash
# tiny: a tiny regression, where per-op and per-step overhead is everything:
# 10-32-1 (Linear, ACT, Linear), MSE, batch 32, 10,000 rows of synthetic data
# (NumPy, seed 0, saved as .npy and read by both sides), EPOCHS epochs
# (default 100, 31,300 steps), 1 thread, in two configurations: Adam (lr 1e-3)
# with ReLU, and SGD (lr 1e-2) with Tanh. moonlab runs model:fit (verbose = 0;
# its fused step, train/fused.lua), model:fit with MOONLAB_FUSED=0 (the
# general step, for comparison) and the explicit loop over data.loader;
# PyTorch runs batches by a randperm
# of the whole tensors ("perm"), and a DataLoader over a TensorDataset for
# DL_EPOCHS epochs (default 10) scaled to EPOCHS (said in the table). Each
# run prints its training time and the final MSE over all rows, so that
# speed never comes from doing less. Targets: a moonlab step at most 4 us,
# and at least 20 times faster than PyTorch's faster loop, in both configurations.
# Every run is pinned to one CPU (PIN, default 0: taskset -c $PIN; PIN= for
# none): this machine's vCPUs differ in speed.
# Sides alternate, ROUNDS times (default 3, round r uses seed r-1); the
# tables show medians over the rounds; each run is logged to stderr with the
# load average (on a shared machine, read the ratios rather than the times).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
EPOCHS=${EPOCHS:-100}
DL_EPOCHS=${DL_EPOCHS:-10}
CONFIGS=${CONFIGS:-"adam-relu sgd-tanh"}
PIN=${PIN-0}
pin=()
[ -n "$PIN" ] && command -v taskset > /dev/null && pin=(taskset -c "$PIN")
ML=build/moonlab
PY=/usr/bin/python3
DIR=build/bench

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  echo "(no torch/numpy for $PY: make bench-deps installs python3-torch and python3-numpy)"
  exit 0
fi
mkdir -p "$DIR"
[ -f "$DIR/tiny_x.npy" ] && [ -f "$DIR/tiny_y.npy" ] || "$PY" scripts/bench/tiny.py gen "$DIR"

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

keys=("moonlab fit" "moonlab fit general" "moonlab loop" "torch perm" "torch dataloader")
declare -A scale=([moonlab fit]=1 [moonlab fit general]=1 [moonlab loop]=1 [torch perm]=1
  [torch dataloader]=$(awk -v a="$EPOCHS" -v b="$DL_EPOCHS" 'BEGIN {print a / b}'))
steps=$(( (10000 + 31) / 32 * EPOCHS ))
for cfg in $CONFIGS; do
  declare -A cmd=([moonlab fit]="$ML scripts/bench/tiny.lua 1 $EPOCHS fit $DIR"
    [moonlab fit general]="env MOONLAB_FUSED=0 $ML scripts/bench/tiny.lua 1 $EPOCHS fit $DIR"
    [moonlab loop]="$ML scripts/bench/tiny.lua 1 $EPOCHS loop $DIR"
    [torch perm]="$PY scripts/bench/tiny.py 1 $EPOCHS perm $DIR"
    [torch dataloader]="$PY scripts/bench/tiny.py 1 $DL_EPOCHS dataloader $DIR")
  declare -A t=() mse=()
  for ((r = 0; r < ROUNDS; r++)); do
    for k in "${keys[@]}"; do
      out=$(OMP_NUM_THREADS=1 "${pin[@]}" ${cmd[$k]} "$r" "$cfg" | grep '^RESULT') || { echo "failed: ${cmd[$k]} $r $cfg" >&2; exit 1; }
      read -r _ sec m _ <<< "$out"
      printf "  %s round %d: %-20s %8.3f s  MSE %s  (load %s)\n" "$cfg" "$((r + 1))" "$k" "$sec" "$m" \
        "$(cut -d' ' -f1 /proc/loadavg)" >&2
      t[$k]+="$(awk -v s="$sec" -v f="${scale[$k]}" 'BEGIN {print s * f}') "; mse[$k]+="$m "
    done
  done
  echo "tiny model 10-32-1, $cfg, MSE, batch 32, 10,000 rows, $EPOCHS epochs ($steps steps), 1 thread;" \
    "median over $ROUNDS rounds${pin:+, pinned to CPU $PIN}"
  printf "%-20s %10s %9s %12s  %s\n" side "total s" "us/step" "final MSE" ""
  for k in "${keys[@]}"; do
    t[$k]=$(printf '%s\n' ${t[$k]} | median); mse[$k]=$(printf '%s\n' ${mse[$k]} | median)
    note=""; [ "${scale[$k]}" != 1 ] && note="(ran $DL_EPOCHS epochs, time x${scale[$k]}; MSE after $DL_EPOCHS)"
    printf "%-20s %10.3f %9.2f %12.6f  %s\n" "$k" "${t[$k]}" "$(awk -v s="${t[$k]}" -v n="$steps" 'BEGIN {print 1e6 * s / n}')" \
      "${mse[$k]}" "$note"
  done
  best="torch perm"
  awk -v x="${t[torch dataloader]}" -v y="${t[torch perm]}" 'BEGIN {exit !(x < y)}' && best="torch dataloader"
  for k in "moonlab fit" "moonlab fit general" "moonlab loop"; do
    awk -v m="${t[$k]}" -v p="${t[$best]}" -v k="$k" -v b="$best" -v n="$steps" 'BEGIN {
      us = 1e6 * m / n
      printf "%-19s vs %s: %5.1fx faster (target >= 20x) %s; %.2f us/step (target <= 4) %s\n", k, b, p / m,
        (p / m >= 20 ? "ok" : "MISS"), us, (us <= 4 ? "ok" : "MISS") }'
  done
  echo
  unset cmd t mse
done
