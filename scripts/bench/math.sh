#!/usr/bin/env bash
# math: elementwise and transcendental kernels, float32 (and float64 exp and
# tanh), at N = 4M and 16M elements (NS="..."), 1 thread: moonlab's t:exp() ... against
# PyTorch's torch.exp ... (/usr/bin/python3, torch.set_num_threads(1)), each
# op making a fresh output tensor, in ns per element. Ops: add, mul, exp,
# log, tanh, sigmoid, gelu (erf form, PyTorch's default), exp64, tanh64.
# Target (issue 8): moonlab at most PyTorch's ns/element for add, mul, exp,
# tanh, sigmoid, gelu (ratio ml/torch <= 1.00).
# The two sides alternate, ROUNDS times (default 3), each op SECS seconds
# (default 1) per round; the table shows the median over rounds of each
# run's median op, the ratio of medians, and the ratio of the fastest single
# ops ("best m/t", less hurt by a noisy neighbour on the cores). MOONLAB_ISA=avx2|scalar forces
# moonlab's vector ISA (default: the widest the CPU has).
# Why two sizes: glibc serves a fresh 16 MB block (4M floats) from its heap
# but maps and unmaps every 64 MB one, so at 16M PyTorch's fresh output pays
# page faults on every op (moonlab reuses big blocks from its storage cache);
# 4M is PyTorch at its best.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-1}
NS=${NS:-4194304 16777216}
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

lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print "cpu: " $2}'
for N in $NS; do
  declare -A ml=() pt=() mlb=() ptb=()
  for ((r = 0; r < ROUNDS; r++)); do
    while read -r _ op med bst _; do ml[$op]+="$med "; mlb[$op]+="$bst "; done < <("$ML" scripts/bench/math.lua "$N" "$SECS" "$OPS")
    while read -r _ op med bst _; do pt[$op]+="$med "; ptb[$op]+="$bst "; done < <("$PY" scripts/bench/math.py "$N" "$SECS" "$OPS")
  done
  echo "math, N = $N, 1 thread, ns/element (median over $ROUNDS rounds of ${SECS}s per op)"
  printf "%-8s %9s %9s %9s %10s\n" op moonlab torch ml/torch "best m/t"
  for op in ${OPS//,/ }; do
    m=$(printf '%s\n' ${ml[$op]} | median)
    p=$(printf '%s\n' ${pt[$op]} | median)
    mb=$(printf '%s\n' ${mlb[$op]} | sort -g | head -1)
    pb=$(printf '%s\n' ${ptb[$op]} | sort -g | head -1)
    printf "%-8s %9.3f %9.3f %9s %10s\n" "$op" "$m" "$p" "$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a / b}')" \
      "$(awk -v a="$mb" -v b="$pb" 'BEGIN {printf "%.2f", a / b}')"
  done
  unset ml pt mlb ptb
done
echo "(target: ml/torch <= 1.00 for add, mul, exp, tanh, sigmoid, gelu; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
