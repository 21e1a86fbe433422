#!/usr/bin/env bash
# board: the dashboard's JSON API (moonlab board: ml.http's libmicrohttpd server, 2 Lua worker
# states, board/api.lua with its incremental metrics cache) beside the same two routes in Flask
# (scripts/bench/board_flask.py: files read and parsed per request, the json module; MLflow's UI
# is a Flask app over such files), on the same run records (scripts/bench/board_runs.lua:
# RUNS=200 runs of 50 epochs, and one per-batch log of LONG=20000 lines). Measured with wrk
# (1 thread, 4 connections, DURATION=5 s per point):
#   list   GET /api/runs                                   the runs table (every run's final metrics)
#   poll   GET /api/runs/LONG/metrics?since=LONG-10        what the page asks every second of a live run
# Target: requests/s at least Flask's on both (the poll much more: it reads only the new bytes).
# Sides alternate, ROUNDS times (default 5); the table shows medians and the ratio. The machine may be
# shared (load average logged per round).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
RUNS=${RUNS:-200}
LONG=${LONG:-20000}
ML=build/moonlab
PY=/usr/bin/python3
[ -x "$ML" ] || make -j2
command -v wrk >/dev/null || { echo "board.sh: wrk is not installed (make bench-deps)"; exit 1; }
have_flask=1
"$PY" -c 'import flask' 2>/dev/null || { echo "(no flask for $PY: moonlab side only)"; have_flask=0; }

TMP=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
"$ML" scripts/bench/board_runs.lua "$TMP" "$RUNS" 50 "$LONG" >&2

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "board.sh: $1 did not come up" >&2; exit 1; }
P1=$(free_port); "$ML" board "$TMP/runs" --port "$P1" >/dev/null & pids+=($!)
wait_up "http://127.0.0.1:$P1/api/experiments"
sides=(moonlab); declare -A port=([moonlab]=$P1)
if ((have_flask)); then
  P2=$(free_port); "$PY" scripts/bench/board_flask.py "$TMP/runs" "$P2" >/dev/null 2>&1 & pids+=($!)
  wait_up "http://127.0.0.1:$P2/api/runs"; sides+=(flask); port[flask]=$P2
fi
declare -A path=([list]="/api/runs" [poll]="/api/runs/20260102-000000-long00/metrics?since=$((LONG - 10))")

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A rps=()
for ((r = 1; r <= ROUNDS; r++)); do
  for q in list poll; do
    for s in "${sides[@]}"; do
      out=$(wrk -t1 -c4 -d"${DURATION}s" "http://127.0.0.1:${port[$s]}${path[$q]}")
      v=$(awk '/Requests\/sec/ {print $2}' <<< "$out")
      printf '  round %d: %-5s %-8s %9.1f req/s (load %s)\n' "$r" "$q" "$s" "$v" "$(cut -d' ' -f1 /proc/loadavg)" >&2
      rps[$q,$s]+="$v "
    done
  done
done
printf '%-6s %14s %14s %8s\n' route "moonlab req/s" "flask req/s" ratio
for q in list poll; do
  m=$(tr ' ' '\n' <<< "${rps[$q,moonlab]}" | grep . | median)
  if ((have_flask)); then
    f=$(tr ' ' '\n' <<< "${rps[$q,flask]}" | grep . | median)
    printf '%-6s %14.1f %14.1f %7.2fx\n' "$q" "$m" "$f" "$(awk -v a="$m" -v b="$f" 'BEGIN {print a / b}')"
  else
    printf '%-6s %14.1f %14s %8s\n' "$q" "$m" - -
  fi
done
