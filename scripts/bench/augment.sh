#!/usr/bin/env bash
# augment: RandomAffine (rotation +-15 degrees, translation 0.1, scale 0.9..1.1,
# shear 5, bilinear) on a 128x1x28x28 float32 batch, 1 thread: moonlab's
# prep.augment.RandomAffine (per-sample draws and one C warp pass) against
# PyTorch without torchvision (/usr/bin/python3, torch.set_num_threads(1)): the
# same draws as torch tensors, theta [N, 2, 3], F.affine_grid + F.grid_sample.
# Microseconds per batch. Target (issue 9): moonlab at most PyTorch's time.
# The two sides alternate, ROUNDS times (default 5), SECS seconds each (default
# 1); the table shows the median over rounds of each run's median call, the
# ratio of medians, and the ratio of the fastest single calls ("best m/t").
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-1}
N=${N:-128}
ML=build/moonlab
PY=/usr/bin/python3

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "(no torch for $PY: make bench-deps installs python3-torch)"
  exit 0
fi
export OMP_NUM_THREADS=1

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print "cpu: " $2}'
ml="" pt="" mlb="" ptb=""
for ((r = 0; r < ROUNDS; r++)); do
  read -r _ _ med bst < <("$ML" scripts/bench/augment.lua "$N" "$SECS"); ml+="$med "; mlb+="$bst "
  read -r _ _ med bst < <("$PY" scripts/bench/augment.py "$N" "$SECS"); pt+="$med "; ptb+="$bst "
done
m=$(printf '%s\n' $ml | median); p=$(printf '%s\n' $pt | median)
mb=$(printf '%s\n' $mlb | sort -g | head -1); pb=$(printf '%s\n' $ptb | sort -g | head -1)
echo "RandomAffine on ${N}x1x28x28 float32, 1 thread, us per batch (median over $ROUNDS rounds of ${SECS}s)"
printf "%-10s %9s %9s %9s %10s\n" op moonlab torch ml/torch "best m/t"
printf "%-10s %9.1f %9.1f %9s %10s\n" affine "$m" "$p" "$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a / b}')" \
  "$(awk -v a="$mb" -v b="$pb" 'BEGIN {printf "%.2f", a / b}')"
echo "(target: ml/torch <= 1.00; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
