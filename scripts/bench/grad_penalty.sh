#!/usr/bin/env bash
# grad_penalty: WGAN-GP critic steps, where the gradient of a gradient is
# the work: the critic on x_hat, the input gradient with create_graph
# (ml.grad / torch.autograd.grad), the penalty ((||g||_2 - 1)^2).mean(), its
# backward through that gradient's graph into the weights, and an Adam step;
# float32, batch 64, 1 thread, random data. Critics: "mlp" (784-512-256-1,
# LeakyReLU(0.2)) and "conv" (Conv2d 1->32 and 32->64, 4x4 stride 2 pad 1,
# LeakyReLU(0.2), Linear(3136, 1), 1x28x28 inputs).
# Target: a moonlab step at most PyTorch's (ratio torch/moonlab >= 1).
# Both sides run pinned to one CPU (PIN, default 0; PIN= for none), and
# alternate, ROUNDS times (default 5); each run reports its median ms per
# step over 5 blocks of STEPS/5 steps (STEPS default 50); the table shows
# the medians over rounds and torch's time over moonlab's.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-50}
CRITICS=${CRITICS:-"mlp conv"}
ML=build/moonlab
PY=/usr/bin/python3
PIN=${PIN-0}
pin=()
[ -n "$PIN" ] && command -v taskset > /dev/null && pin=(taskset -c "$PIN")
[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "(no torch for $PY: make bench-deps installs python3-torch)"
  exit 0
fi
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

printf "%-6s %14s %14s %8s\n" critic "moonlab ms" "torch ms" "torch/ml"
for c in $CRITICS; do
  ml_t="" py_t=""
  for ((r = 0; r < ROUNDS; r++)); do
    m=$(OMP_NUM_THREADS=1 "${pin[@]}" "$ML" scripts/bench/grad_penalty.lua "$c" "$STEPS" "$r" | awk '/^RESULT/ {print $2}')
    p=$(OMP_NUM_THREADS=1 "${pin[@]}" "$PY" scripts/bench/grad_penalty.py "$c" "$STEPS" "$r" | awk '/^RESULT/ {print $2}')
    echo "  $c round $((r + 1)): moonlab $m ms, torch $p ms (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    ml_t+="$m " py_t+="$p "
  done
  m=$(printf '%s\n' $ml_t | median) p=$(printf '%s\n' $py_t | median)
  printf "%-6s %14.3f %14.3f %8.2f\n" "$c" "$m" "$p" "$(awk -v a="$p" -v b="$m" 'BEGIN {print a / b}')"
done
