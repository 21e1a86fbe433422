#!/usr/bin/env bash
# search_jobs: the throughput of a search with jobs = 2 (two worker
# processes, one thread each) against jobs = 1 (one process, one thread):
# 20 trials of a small network on Fashion-MNIST. Target (issue 12): at least
# 1.7x. jobs = 1 is measured twice: at one thread (the strict baseline: the
# same work per core) and as a user runs it, at the default ml.threads (both
# cores inside each trial's GEMMs). Sides alternate, ROUNDS times (default 3); medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
ML=build/moonlab
[ -x "$ML" ] || make -j2
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
one=""; two=""; onet=""
NT=$(nproc)
for ((r = 0; r < ROUNDS; r++)); do
  read -r _ _ t _ <<< "$("$ML" scripts/bench/search_jobs.lua 1 | grep '^TIME')"; one+="$t "
  read -r _ _ t _ <<< "$("$ML" scripts/bench/search_jobs.lua 1 20 "$NT" | grep '^TIME')"; onet+="$t "
  read -r _ _ t _ <<< "$("$ML" scripts/bench/search_jobs.lua 2 | grep '^TIME')"; two+="$t "
  echo "  round $((r + 1)) (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
a=$(printf '%s\n' $one | median); b=$(printf '%s\n' $two | median); c=$(printf '%s\n' $onet | median)
printf "jobs=1 (1 thread) %.2f s, jobs=2 %.2f s: throughput x%.2f\n" "$a" "$b" "$(echo "$a / $b" | bc -l)"
printf "jobs=1 (%d threads, the default) %.2f s, jobs=2 %.2f s: throughput x%.2f\n" "$NT" "$c" "$b" "$(echo "$c / $b" | bc -l)"
# the machine's own ceiling: two processes of pure GEMM at once against one alone
s1=$("$ML" scripts/bench/two_core_ceiling.lua)
s2=$( ("$ML" scripts/bench/two_core_ceiling.lua & "$ML" scripts/bench/two_core_ceiling.lua & wait) | sort -g | tail -1)
printf "this machine: one GEMM process %.2f s, two at once %.2f s: two processes give at most x%.2f\n" "$s1" "$s2" "$(echo "2 * $s1 / $s2" | bc -l)"
