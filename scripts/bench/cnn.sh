#!/usr/bin/env bash
# cnn: training the issue's CNN conv(1->32, 3x3, pad 1)-ReLU-maxpool-
# conv(32->64, 3x3, pad 1)-ReLU-maxpool-Linear(3136->128)-ReLU-Linear(128->10)
# on Fashion-MNIST with Adam (lr 1e-3), cross-entropy, batch 128, shuffled
# each epoch, default initialization on both sides: moonlab (the explicit
# loop over data.loader, scripts/bench/cnn.lua) beside PyTorch (randperm
# batches, its fastest loop in mlp.sh; scripts/bench/cnn.py) at 1 and 2
# threads. At 2 threads PyTorch runs with and without OMP_WAIT_POLICY=PASSIVE
# and the ratio uses its faster configuration.
# Each run is a process that trains EPOCHS epochs (default 1) and prints its
# median epoch time, the test accuracy after the last epoch and two peak
# resident sizes (scripts/bench/peak.lua and peak.py, the same on both sides):
# the whole process's peak (VmHWM), and the working set: the peak during
# training and evaluation (the kernel's high-water mark reset through
# /proc/self/clear_refs once data, model and optimizer exist) minus the RSS at
# that moment. The working set is the fair comparison: an idle Python with
# torch holds ~230 MiB more than moonlab before any work, and the data are
# the same on both sides. LIMIT=N trains on the first N images (quick look).
# Targets (issue 10): epoch time at most PyTorch's at 1 and 2 threads (aim
# 0.7), the same accuracy, peak memory (working set) at most PyTorch's.
# Sides alternate, ROUNDS times (default 5; round r uses seed r-1); the table
# shows medians. Each run is logged to stderr with the load average (the
# machine may be shared: a run a neighbour disturbed shows there).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
EPOCHS=${EPOCHS:-1}
LIMIT=${LIMIT:-}
ML=build/moonlab
PY=/usr/bin/python3

[ -x "$ML" ] || make -j2
have_torch=1
"$PY" -c 'import torch, numpy' 2>/dev/null || { echo "(no torch/numpy for $PY: moonlab side only)"; have_torch=0; }

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

keys=()
declare -A cmd=() env=()
add() { keys+=("$1"); env[$1]=$2; cmd[$1]=$3; }
for T in 1 2; do
  add "moonlab $T -" "OMP_NUM_THREADS=$T" "$ML scripts/bench/cnn.lua $T EPOCHS SEED $LIMIT"
  if ((have_torch)); then
    add "torch $T active" "OMP_NUM_THREADS=$T" "$PY scripts/bench/cnn.py $T EPOCHS SEED $LIMIT"
    ((T == 1)) || add "torch $T passive" "OMP_NUM_THREADS=$T OMP_WAIT_POLICY=PASSIVE" "$PY scripts/bench/cnn.py $T EPOCHS SEED $LIMIT"
  fi
done

declare -A t=() a=() m=() w=()
for ((r = 0; r < ROUNDS; r++)); do
  for k in "${keys[@]}"; do
    c=${cmd[$k]//EPOCHS/$EPOCHS}; c=${c//SEED/$r}
    out=$(env ${env[$k]} $c | grep '^RESULT') || { echo "failed: ${env[$k]} $c" >&2; exit 1; }
    read -r _ sec acc rss ws <<< "$out"
    printf '  round %d: %-18s %8.3f s %6.2f %% %7.1f MiB peak %7.1f MiB working set (load %s)\n' "$((r + 1))" "$k" "$sec" \
      "$acc" "$rss" "$ws" "$(cut -d' ' -f1 /proc/loadavg)" >&2
    t[$k]+="$sec "; a[$k]+="$acc "; m[$k]+="$rss "; w[$k]+="$ws "
  done
done
for k in "${keys[@]}"; do
  t[$k]=$(printf '%s\n' ${t[$k]} | median); a[$k]=$(printf '%s\n' ${a[$k]} | median); m[$k]=$(printf '%s\n' ${m[$k]} | median)
  w[$k]=$(printf '%s\n' ${w[$k]} | median)
done

echo "CNN (conv32-pool-conv64-pool-fc128-fc10) on Fashion-MNIST${LIMIT:+ (first $LIMIT images)}, Adam 1e-3, batch 128, $EPOCHS epoch(s); median over $ROUNDS rounds"
printf "%-8s %3s %-8s %10s %11s %13s %16s\n" side thr wait "epoch s" "test acc %" "peak RSS MiB" "working set MiB"
for k in "${keys[@]}"; do
  read -r side thr wait <<< "$k"
  printf "%-8s %3s %-8s %10.3f %11.2f %13.1f %16.1f\n" "$side" "$thr" "$wait" "${t[$k]}" "${a[$k]}" "${m[$k]}" "${w[$k]}"
done
((have_torch)) || exit 0
for T in 1 2; do
  best=""
  for k in "${keys[@]}"; do
    [[ $k == "torch $T "* ]] || continue
    if [ -z "$best" ] || awk -v x="${t[$k]}" -v y="${t[$best]}" 'BEGIN {exit !(x < y)}'; then best=$k; fi
  done
  k="moonlab $T -"
  awk -v mt="${t[$k]}" -v pt="${t[$best]}" -v ma="${a[$k]}" -v pa="${a[$best]}" -v mm="${m[$k]}" -v pm="${m[$best]}" -v mw="${w[$k]}" -v pw="${w[$best]}" \
    -v T="$T" -v b="${best#torch }" 'BEGIN {
    printf "%d thr: moonlab vs torch %-10s epoch %.3f / %.3f s = %.2fx (target <= 1, aim 0.7) %s; acc %+.2f pt; working set %.0f / %.0f MiB = %.2f (target <= 1) %s; whole peak %.0f / %.0f MiB = %.2f\n",
      T, b, mt, pt, mt / pt, (mt <= pt ? "ok" : "MISS"), ma - pa, mw, pw, mw / pw, (mw <= pw ? "ok" : "MISS"), mm, pm, mm / pm
  }'
done
