#!/usr/bin/env bash
# overhead: the cost of one tiny op from the scripting side, on 10-element
# float32 tensors (a 2x5 one for t() and row indexing, a 0-d one for item),
# moonlab (Lua) beside PyTorch (Python, torch.set_num_threads(1)): c = a + b,
# ml.add / torch.add, a * 2, tanh, sum, mean, reshape, t(), m[2], item,
# shape, an empty no_grad block, and a recorded (w * a):sum() with its
# backward. Target: c = a + b at most 150 ns (issue 8).
# Both sides run pinned to one CPU (PIN, default 0: taskset -c $PIN; PIN= for
# none): this machine's vCPUs differ in speed by ~1.6x.
# Sides alternate, ROUNDS times (default 3), SECS seconds per form (default
# 1); each run reports its median batch (a batch is >= 10 ms of ops, so the
# collector's work is inside it); the table shows the median over rounds,
# in ns per op, and torch's time over moonlab's (> 1: moonlab faster).
#   FORMS="a+b a*2" bash scripts/bench/overhead.sh    (a subset)
#   CALLGRIND=1 bash scripts/bench/overhead.sh        (instructions per op
#     instead: callgrind runs of N and 2N ops differenced, N=${N:-50000})
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-1}
ML=build/moonlab
PY=/usr/bin/python3
PIN=${PIN-0}
pin=()
[ -n "$PIN" ] && command -v taskset > /dev/null && pin=(taskset -c "$PIN")
ALL="a+b ml.add a*2 a:tanh() a:sum() a:mean() a:reshape(2,5) m:t() m[2] x:item() a:shape() no_grad(f) (w*a):sum():backward()"
read -r -a forms <<< "${FORMS:-$ALL}"

[ -x "$ML" ] || make -j2

if [ -n "${CALLGRIND:-}" ]; then
  N=${N:-50000}
  ir() { # instructions of one run of form $1, $2 times
    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "$ML" scripts/bench/overhead.lua count "$1" "$2" 2>&1 | awk '/Collected/ {print $4}'
  }
  echo "instructions per op (callgrind, runs of $N and $((2 * N)) ops differenced)"
  for f in "${forms[@]}"; do
    printf "%-24s %8d\n" "$f" $(( ($(ir "$f" $((2 * N))) - $(ir "$f" "$N")) / N ))
  done
  exit 0
fi

have_torch=1
"$PY" -c 'import torch' 2>/dev/null || { have_torch=0; echo "(no torch for $PY: make bench-deps installs python3-torch)"; }

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A v=()
for ((r = 0; r < ROUNDS; r++)); do
  while read -r _ form med _; do v["ml $form"]+="$med "; done < <("${pin[@]}" "$ML" scripts/bench/overhead.lua "$SECS" "${forms[@]}")
  if ((have_torch)); then
    while read -r _ form med _; do v["torch $form"]+="$med "; done < <("${pin[@]}" "$PY" scripts/bench/overhead.py "$SECS" "${forms[@]}")
  fi
done
echo "tiny ops (10-element float32), 1 thread, ns per op, median over $ROUNDS rounds${pin:+, pinned to CPU $PIN} ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
printf "%-24s %10s %10s %8s\n" form moonlab torch "torch/ml"
for f in "${forms[@]}"; do
  m=$(printf '%s\n' ${v["ml $f"]} | median)
  mns=$(awk -v m="$m" 'BEGIN {printf "%.0f", 1e9 / m}')
  if ((have_torch)) && [ -n "${v["torch $f"]:-}" ]; then
    t=$(printf '%s\n' ${v["torch $f"]} | median)
    awk -v f="$f" -v m="$m" -v t="$t" 'BEGIN {printf "%-24s %10.0f %10.0f %7.2fx\n", f, 1e9 / m, 1e9 / t, m / t}'
  else
    printf "%-24s %10s %10s\n" "$f" "$mns" "-"
  fi
done
echo "(target: moonlab a+b at most 150 ns; ml.add is the same op called as a function)"
