#!/usr/bin/env bash
# transformer: forward + backward of one TransformerEncoderLayer (d_model 128,
# 4 heads, sequence 64, batch 32; PyTorch's defaults: dim_feedforward 2048,
# dropout 0.1, ReLU, post-norm; batch_first; training mode), moonlab
# (scripts/bench/transformer.lua) beside PyTorch (scripts/bench/transformer.py),
# at 1 and 2 threads. A step: zero the gradients, forward, (y * w):sum(),
# backward; each run times STEPS steps (default 20) after 3 warm-up steps and
# prints its median step. Memory (scripts/bench/peak.lua and peak.py, the
# same on both sides): the whole process's peak resident set (VmHWM), and the
# "working set": the high-water mark of the steps (reset through
# /proc/self/clear_refs just before the first) minus the resident set at that
# moment, the activations, saved tensors and gradients a step needs, without
# the runtime's own libraries (an idle Python with torch holds ~230 MiB).
# Target: moonlab's step time at most PyTorch's at 1 and 2 threads, and its
# working set at most PyTorch's.
# Sides alternate, ROUNDS times (default 5); the table shows medians over the
# rounds and the ratios. At 2 threads PyTorch runs with OMP_WAIT_POLICY=PASSIVE
# as moonlab's command does (scripts/bench/mlp.sh explains why). The machine
# may be shared: each run is logged to stderr with the load average.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-20}
ML=build/moonlab
PY=/usr/bin/python3
[ -x "$ML" ] || make -j2
have_torch=1
"$PY" -c 'import torch' 2>/dev/null || { echo "(no torch for $PY: moonlab side only)"; have_torch=0; }

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

keys=()
declare -A cmd=() env=()
add() { keys+=("$1"); env[$1]=$2; cmd[$1]=$3; }
for T in 1 2; do
  add "moonlab $T" "OMP_NUM_THREADS=$T" "$ML scripts/bench/transformer.lua $T $STEPS"
  ((have_torch)) && add "torch $T" "OMP_NUM_THREADS=$T OMP_WAIT_POLICY=PASSIVE" "$PY scripts/bench/transformer.py $T $STEPS"
done

declare -A t=() m=() w=()
for ((r = 0; r < ROUNDS; r++)); do
  for k in "${keys[@]}"; do
    out=$(env ${env[$k]} ${cmd[$k]} "$r" | grep '^RESULT') || { echo "failed: ${cmd[$k]}" >&2; exit 1; }
    read -r _ ms peak ws <<< "$out"
    printf '  round %d: %-10s %9.2f ms %7.1f MiB peak %7.1f MiB working set (load %s)\n' "$((r + 1))" "$k" "$ms" "$peak" "$ws" \
      "$(cut -d' ' -f1 /proc/loadavg)" >&2
    t[$k]+="$ms "; m[$k]+="$peak "; w[$k]+="$ws "
  done
done
for k in "${keys[@]}"; do
  t[$k]=$(printf '%s\n' ${t[$k]} | median); m[$k]=$(printf '%s\n' ${m[$k]} | median); w[$k]=$(printf '%s\n' ${w[$k]} | median)
done

echo "TransformerEncoderLayer(128, 4, ff 2048, dropout 0.1), input (32, 64, 128), forward + backward; median of $ROUNDS rounds x $STEPS steps"
printf "%-10s %12s %14s %16s\n" side "step ms" "peak RSS MiB" "working set MiB"
for k in "${keys[@]}"; do printf "%-10s %12.2f %14.1f %16.1f\n" "$k" "${t[$k]}" "${m[$k]}" "${w[$k]}"; done
((have_torch)) || exit 0
for T in 1 2; do
  awk -v mt="${t[moonlab $T]}" -v pt="${t[torch $T]}" -v mw="${w[moonlab $T]}" -v pw="${w[torch $T]}" -v T="$T" 'BEGIN {
    printf "%d thr: step %.2f / %.2f ms = %.2fx (target <= 1) %s; working set %.0f / %.0f MiB = %.2f (target <= 1) %s\n",
      T, mt, pt, mt / pt, (mt <= pt ? "ok" : "MISS"), mw, pw, mw / pw, (mw <= pw ? "ok" : "MISS") }'
done
