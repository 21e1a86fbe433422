#!/usr/bin/env bash
# overhead: ops per second of a tiny op from the scripting side, c = a + b on
# two 10-element float32 tensors, moonlab (Lua) beside PyTorch (Python,
# torch.set_num_threads(1)). Target: moonlab well under 1 us per op.
# Sides alternate, ROUNDS times (default 3), SECS seconds each (default 1);
# the table shows the median over rounds of each run's median batch.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-1}
ML=build/moonlab
PY=/usr/bin/python3

[ -x "$ML" ] || make -j2
have_torch=1
"$PY" -c 'import torch' 2>/dev/null || { have_torch=0; echo "(no torch for $PY: make bench-deps installs python3-torch)"; }

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A v=()
for ((r = 0; r < ROUNDS; r++)); do
  while read -r _ form med _; do v["ml $form"]+="$med "; done < <("$ML" scripts/bench/overhead.lua "$SECS")
  if ((have_torch)); then
    while read -r _ form med _; do v["torch $form"]+="$med "; done < <("$PY" scripts/bench/overhead.py "$SECS")
  fi
done
echo "tiny op (10-element float32 add), 1 thread, median over $ROUNDS rounds"
printf "%-16s %14s %10s\n" form "ops/s" "ns/op"
for k in "ml a+b" "ml ml.add" "torch torch.add" "torch a+b"; do
  [ -n "${v[$k]:-}" ] || continue
  m=$(printf '%s\n' ${v[$k]} | median)
  v[$k]=$m
  printf "%-16s %14.0f %10.0f\n" "$k" "$m" "$(awk -v m="$m" 'BEGIN {print 1e9 / m}')"
done
if ((have_torch)); then
  awk -v a="${v[ml a+b]}" -v b="${v[torch torch.add]}" -v c="${v[ml ml.add]}" 'BEGIN {
    printf "ratio moonlab a+b / torch.add: %.2fx the ops per second (ml.add: %.2fx)\n", a / b, c / b }'
fi
echo "(target: moonlab well under 1 us per op)"
