#!/usr/bin/env bash
# tensorboard: writing TensorBoard event files, 1 thread: moonlab's
# track.TensorBoard against the same work done the way torch.utils.tensorboard's
# SummaryWriter does it (scripts/bench/tensorboard.py: python-protobuf, a Python
# CRC-32C, np.histogram over TensorFlow's bucket edges, PIL's PNG encoder;
# TensorBoard itself is not installed). Measured: 2000 scalar writes (each
# flushed), one histogram of 1M float32 values (TensorFlow's 1551 buckets), one
# 3x256x256 image; then (FIT=1) what callbacks.TensorBoard{histogram_freq = 1}
# adds to a Fashion-MNIST MLP epoch (10,000 rows, moonlab only).
# Target: moonlab at most the Python side's seconds (ratio ml/py <= 1.00) for
# each op; the callback under 2% of the epoch without histograms.
# The two sides alternate ROUNDS times (default 5); medians of the rounds' medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
ML=build/moonlab
PY=/usr/bin/python3
[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import google.protobuf, numpy, PIL' 2>/dev/null || ! command -v protoc >/dev/null; then
  echo "(needs /usr/bin/python3 with protobuf, numpy and PIL, and protoc)"; exit 0
fi
export OMP_NUM_THREADS=1
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A ml=() py=()
for ((r = 0; r < ROUNDS; r++)); do
  while read -r _ op s; do ml[$op]+="$s "; done < <("$ML" scripts/bench/tensorboard.lua "$TMP/ml$r" 5)
  while read -r _ op s; do py[$op]+="$s "; done < <("$PY" scripts/bench/tensorboard.py "$TMP/py$r" 5)
done
echo "tensorboard, 1 thread, seconds (median over $ROUNDS rounds of 5 reps)"
printf "%-16s %10s %10s %8s\n" op moonlab python ml/py
for op in scalars_2000 histogram_1M image_256; do
  m=$(printf '%s\n' ${ml[$op]} | median); p=$(printf '%s\n' ${py[$op]} | median)
  printf "%-16s %10.5f %10.5f %8s\n" "$op" "$m" "$p" "$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a / b}')"
done
if [ "${FIT:-1}" = 1 ]; then
  "$ML" scripts/bench/tensorboard.lua "$TMP/fit" "$ROUNDS" fit | awk '/^fit/ {v[$2] = $3} END {
    printf "fit epoch (10,000 rows, medians): %.3f s plain, %.3f s with TensorBoard{} (%+.1f%%), %.3f s with TensorBoard{histogram_freq = 1} (%+.1f%%)\n",
      v["epoch_plain"], v["epoch_scalars"], 100 * (v["epoch_scalars"] / v["epoch_plain"] - 1),
      v["epoch_tensorboard"], 100 * (v["epoch_tensorboard"] / v["epoch_plain"] - 1)
    printf "  the callback'"'"'s own on_epoch_end (scalars and histograms of 407,050 weights and their gradients): %.1f%% of the epoch\n", 100 * v["hook_share"] }'
fi
echo "(target: ml/py <= 1.00; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
