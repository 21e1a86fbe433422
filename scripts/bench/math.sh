#!/usr/bin/env bash
# math: elementwise and transcendental kernels, float32 (and float64 exp and
# tanh), N = 16M elements (N=...), 1 thread: moonlab's t:exp() ... against
# PyTorch's torch.exp ... (/usr/bin/python3, torch.set_num_threads(1)), each
# op making a fresh output tensor, in ns per element. Ops: add, mul, exp,
# log, tanh, sigmoid, gelu (erf form, PyTorch's default), exp64, tanh64.
# Target (issue 8): moonlab at most PyTorch's ns/element for add, mul, exp,
# tanh, sigmoid, gelu (ratio ml/torch <= 1.00).
# The two sides alternate, ROUNDS times (default 3), each op SECS seconds
# (default 1) per round; the table shows the median over rounds of each
# run's median op, and the ratio of medians. Also prints the vector ISA
# moonlab chose (MOONLAB_ISA=avx2|scalar forces one).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-1}
N=${N:-16777216}
OPS=${OPS:-add,mul,exp,log,tanh,sigmoid,gelu,exp64,tanh64}
ML=build/moonlab
PY=/usr/bin/python3

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "(no torch for $PY: make bench-deps installs python3-torch)"
  exit 0
fi
export OMP_NUM_THREADS=1

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A ml=() pt=()
for ((r = 0; r < ROUNDS; r++)); do
  while read -r _ op med _; do ml[$op]+="$med "; done < <("$ML" scripts/bench/math.lua "$N" "$SECS" "$OPS")
  while read -r _ op med _; do pt[$op]+="$med "; done < <("$PY" scripts/bench/math.py "$N" "$SECS" "$OPS")
done

isa=$("$ML" -e 'io.write(ml.vecmath_isa and ml.vecmath_isa() or "?")' 2>/dev/null || echo "?")
echo "math, N = $N, 1 thread, ns/element (median over $ROUNDS rounds of ${SECS}s per op); moonlab ISA: $isa"
printf "%-8s %9s %9s %9s\n" op moonlab torch ml/torch
for op in ${OPS//,/ }; do
  m=$(printf '%s\n' ${ml[$op]} | median)
  p=$(printf '%s\n' ${pt[$op]} | median)
  printf "%-8s %9.3f %9.3f %9s\n" "$op" "$m" "$p" "$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a / b}')"
done
echo "(target: ml/torch <= 1.00 for add, mul, exp, tanh, sigmoid, gelu)"
