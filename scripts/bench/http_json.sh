#!/usr/bin/env bash
# http_json: the model server's request hot path, a JSON body
# {"inputs": [[784 floats], ...]} (Fashion-MNIST rows) into a float32 tensor,
# at 1 and 64 rows (ROWS="..."), 1 thread: ml.http.json_rows (C: parse, then
# copy the rows straight from the tree) against ml.tensor(ml.json.decode(text).inputs)
# (a Lua table per row on the way) and Python's json.loads + np.asarray(float32)
# (/usr/bin/python3), in microseconds per body.
# Target (issue 13): json_rows several times faster than decode + tensor, and
# not slower than json.loads + numpy.
# The sides alternate ROUNDS times (default 5); the table shows the median
# over rounds of each round's median, and the ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-0.5}
ROWS=${ROWS:-1 64}
ML=build/moonlab
PY=/usr/bin/python3
[ -x "$ML" ] || make -j2
export OMP_NUM_THREADS=1
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A res=()
for ((r = 0; r < ROUNDS; r++)); do
  while read -r what n us; do res[$what.$n]+="$us "; done < <(taskset -c 0 "$ML" scripts/bench/http_json.lua "$ROWS" "$SECS")
  if "$PY" -c 'import numpy' 2>/dev/null; then
    while read -r what n us; do res[$what.$n]+="$us "; done < <(taskset -c 0 "$PY" scripts/bench/http_json.py "$ROWS" "$SECS")
  fi
done
printf "%6s %12s %16s %14s %14s %14s\n" rows json_rows_us decode_tensor_us numpy_us "decode/rows" "numpy/rows"
for n in $ROWS; do
  a=$(echo ${res[json_rows.$n]} | tr ' ' '\n' | median)
  b=$(echo ${res[decode_tensor.$n]} | tr ' ' '\n' | median)
  c=$(echo ${res[numpy.$n]:-0} | tr ' ' '\n' | median)
  printf "%6s %12.1f %16.1f %14.1f %14.2f %14.2f\n" "$n" "$a" "$b" "$c" "$(echo "$b / $a" | bc -l)" "$(echo "$c / $a" | bc -l)"
done
