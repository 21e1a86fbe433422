#!/usr/bin/env bash
# lstm: forward plus backward of an LSTM, input 64, hidden 128, sequence 50,
# batch 64, float32, 1 and 2 layers, at 1 and 2 threads: moonlab's nn.LSTM
# (one input GEMM per layer and direction over the whole sequence, then the
# fused scan of runtime/ops/rnn.c) beside PyTorch's nn.LSTM (its CPU path,
# the same OpenBLAS). One iteration: forward, loss sum(y * w) + sum(h_n) +
# sum(c_n), backward to the input and every parameter. Each run is a process
# doing ITERS iterations (default 20) after 3 warm-up ones and printing the
# median; sides alternate, ROUNDS times (default 5), and the table shows the
# medians over rounds. Peak memory (scripts/bench/peak.lua and peak.py, the
# same on both sides): the whole process's VmHWM, and the "loop peak": the
# high-water mark of the iterations (reset through /proc/self/clear_refs
# once the model and the input exist) minus the RSS at that moment, what the
# iterations add on top of the runtime, the model and the input; the fair
# comparison, since an idle Python with torch already holds ~230 MiB.
# Targets: moonlab's time at most PyTorch's; its loop peak at most PyTorch's.
# At 2 threads both sides run with OMP_WAIT_POLICY=PASSIVE (moonlab's command
# sets it itself).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
ITERS=${ITERS:-20}
ML=build/moonlab
PY=/usr/bin/python3
[ -x "$ML" ] || make -j2
have_torch=1
"$PY" -c 'import torch' 2>/dev/null || { echo "(no torch for $PY: moonlab side only)"; have_torch=0; }

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

keys=()
declare -A cmd=()
for L in 1 2; do
  for T in 1 2; do
    keys+=("moonlab $L $T"); cmd["moonlab $L $T"]="env OMP_NUM_THREADS=$T $ML scripts/bench/lstm.lua $T $L $ITERS"
    if ((have_torch)); then
      keys+=("torch $L $T"); cmd["torch $L $T"]="env OMP_NUM_THREADS=$T OMP_WAIT_POLICY=PASSIVE $PY scripts/bench/lstm.py $T $L $ITERS"
    fi
  done
done

declare -A t=() f=() m=() lp=()
for ((r = 1; r <= ROUNDS; r++)); do
  for k in "${keys[@]}"; do
    out=$(${cmd[$k]} | grep '^RESULT') || { echo "failed: ${cmd[$k]}" >&2; exit 1; }
    read -r _ tot fw peak loop <<< "$out"
    printf '  round %d: %-14s %8.2f ms (fwd %7.2f) peak %6.1f MiB, loop peak %6.1f MiB (load %s)\n' "$r" "$k" "$tot" "$fw" \
      "$peak" "$loop" "$(cut -d' ' -f1 /proc/loadavg)" >&2
    t[$k]+="$tot "; f[$k]+="$fw "; m[$k]+="$peak "; lp[$k]+="$loop "
  done
done

echo "LSTM 64 -> 128, T 50, B 64, float32, forward + backward; median over $ROUNDS rounds of $ITERS iterations"
printf "%-8s %6s %3s %12s %10s %10s %14s\n" side layers thr "fwd+bwd ms" "fwd ms" "peak MiB" "loop peak MiB"
for k in "${keys[@]}"; do
  for a in t f m lp; do declare -n arr=$a; arr[$k]=$(printf '%s\n' ${arr[$k]} | median); done
  read -r side L T <<< "$k"
  printf "%-8s %6s %3s %12.2f %10.2f %10.1f %14.1f\n" "$side" "$L" "$T" "${t[$k]}" "${f[$k]}" "${m[$k]}" "${lp[$k]}"
done
((have_torch)) || exit 0
for L in 1 2; do
  for T in 1 2; do
    awk -v mt="${t[moonlab $L $T]}" -v pt="${t[torch $L $T]}" -v ml="${lp[moonlab $L $T]}" -v pl="${lp[torch $L $T]}" \
      -v L="$L" -v T="$T" 'BEGIN {
      printf "%d layer%s, %d thr: moonlab / torch time %.2f / %.2f ms = %.2fx (target <= 1) %s; loop peak %.1f / %.1f MiB = %.2f (target <= 1) %s\n",
        L, (L > 1 ? "s" : " "), T, mt, pt, mt / pt, (mt <= pt ? "ok" : "MISS"), ml, pl, (pl > 0 ? ml / pl : 0), (ml <= pl ? "ok" : "MISS") }'
  done
done
