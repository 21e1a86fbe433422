#!/usr/bin/env bash
# gan: one DCGAN training step of examples/gan.lua (generator Linear-
# BatchNorm2d-ConvTranspose2d x2-Tanh, discriminator Conv2d x2-LeakyReLU-
# Linear, width 32, batch 64, Adam on both, non-saturating loss: a D step on
# real and detached fake images, then a G step through D) in moonlab
# (scripts/bench/gan.lua, nn.gan's losses) beside PyTorch (scripts/bench/gan.py)
# at 1 and 2 threads (PyTorch with OMP_WAIT_POLICY=PASSIVE: its spinning
# threads lose badly on a shared machine, 5 s/step at load 10). Each run times STEPS steps (default 40) after 3 warm-up
# steps and prints seconds per step.
# Target: at most PyTorch's step time (the issue's "PyTorch's speed or better").
# Sides alternate, ROUNDS times (default 5); the table shows medians and the
# ratio. Runs are logged to stderr with the load average (a shared machine
# shows there).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-40}
ML=build/moonlab
PY=/usr/bin/python3
[ -x "$ML" ] || make -j2
have_torch=1
"$PY" -c 'import torch' 2>/dev/null || { echo "(no torch for $PY: moonlab side only)"; have_torch=0; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A t=()
for ((r = 0; r < ROUNDS; r++)); do
  for T in 1 2; do
    for side in moonlab torch; do
      ((have_torch)) || [ "$side" = moonlab ] || continue
      if [ "$side" = moonlab ]; then c="$ML scripts/bench/gan.lua $T $STEPS $r"; w=""; else c="$PY scripts/bench/gan.py $T $STEPS $r"; w="OMP_WAIT_POLICY=PASSIVE"; fi
      sec=$(env OMP_NUM_THREADS=$T $w $c | awk '/^RESULT/ {print $2}')
      printf '  round %d: %-8s %d thr %8.4f s/step  (load %s)\n' "$((r + 1))" "$side" "$T" "$sec" "$(cut -d' ' -f1 /proc/loadavg)" >&2
      t[$side $T]+="$sec "
    done
  done
done
echo "DCGAN step (width 32, batch 64, Adam, non-saturating), seconds per step, median of $ROUNDS rounds"
for T in 1 2; do
  m=$(printf '%s\n' ${t[moonlab $T]} | median)
  if ((have_torch)); then
    p=$(printf '%s\n' ${t[torch $T]} | median)
    awk -v m="$m" -v p="$p" -v T="$T" 'BEGIN {printf "%d thr: moonlab %.4f s  torch %.4f s  ratio %.2f (target <= 1) %s\n", T, m, p, m / p, (m <= p ? "ok" : "MISS")}'
  else
    echo "$T thr: moonlab $m s"
  fi
done
