#!/usr/bin/env bash
# track_overhead: what run records (ml.track) add to training. One Fashion-MNIST epoch of the MLP
# 784-512-ReLU-Dropout(0.2)-10 (Adam lr 1e-3, batch 128, 60000 images, fit's fused steps) with tracking
# off (fit{track = false}) and on (a run open: fit's Track callback appends one JSON line per epoch
# and nothing per batch), alternating epoch by epoch in ONE process so both sides see the same
# machine state; ROUNDS rounds (default 5) after a warm-up epoch; medians and the ratio.
# BATCH_EVERY=N adds a third side that also logs every Nth batch (log_every_batch = N): a batch hook
# turns fit's fused steps off, so that side shows the price of per-batch logging, not of the records.
# The competitor is the same loop without records: the target (issue 14) is under 2% added by
# tracking. LIMIT=N trains on the first N images (quick look). THREADS (default 2) pins ml.threads.
# EPOCHS=N (default 1) trains N epochs per fit and reports seconds per epoch: a tracked fit writes
# its learning-curve PNG once at its end (about 15 ms), which one-epoch fits charge to every epoch.
# The machine may be shared: each epoch is logged to stderr with the load average.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
LIMIT=${LIMIT:-0}
THREADS=${THREADS:-2}
BATCH_EVERY=${BATCH_EVERY:-}
ML=build/moonlab
[ -x "$ML" ] || make -j2

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A t=()
keys=()
while read -r _ side sec; do
  [[ -n "${t[$side]+x}" ]] || keys+=("$side")
  t[$side]+="$sec "
  printf '  %-14s %8.4f s (load %s)\n' "$side" "$sec" "$(cut -d' ' -f1 /proc/loadavg)" >&2
done < <(OMP_NUM_THREADS=$THREADS "$ML" -e "ml.threads($THREADS)" scripts/bench/track_overhead.lua "$ROUNDS" "$LIMIT" $BATCH_EVERY | grep '^RESULT')

off=$(echo ${t[off]} | tr ' ' '\n' | median)
printf '%-16s %12s %10s\n' "tracking" "median epoch" "vs off"
for k in "${keys[@]}"; do
  m=$(echo ${t[$k]} | tr ' ' '\n' | median)
  printf '%-16s %10.4f s %+9.2f%%\n' "$k" "$m" "$(awk -v a="$m" -v b="$off" 'BEGIN {print (a / b - 1) * 100}')"
done
echo "target: 'on' under +2% (rounds $ROUNDS, threads $THREADS; the machine may be shared)"
