#!/usr/bin/env bash
# read_csv: data.read_csv against pandas.read_csv (default C engine) on the
# issue's file: 1,000,000 rows (N=...), 20 float columns with 5% empty
# cells, one text column and one ISO date column (~200 MB), made by
# scripts/gen_bench_csv.py under build/bench (kept there, never committed).
# pandas runs twice: as it comes (the date column stays strings) and with
# parse_dates=["date"] (both sides then parse dates). Each side is its own
# process; the time is the read_csv call alone (in-process clock), the
# memory is the process's peak RSS (/usr/bin/time -v), which includes the
# interpreter (python + pandas import ~ 60 MB, moonlab ~ 6 MB). The CPU
# column is the process's user + system seconds (import included), less
# hurt than wall time by neighbours on a shared machine.
# moonlab uses ml.threads() threads (THREADS=..., default 2), pandas one.
# Target (issue 9): at least 2x faster than pandas, lower peak memory.
# Sides alternate, ROUNDS times (default 5); medians, ratio, MB/s.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
N=${N:-1000000}
THREADS=${THREADS:-2}
ML=build/moonlab
PY=/usr/bin/python3
FILE=build/bench/read_csv_${N}.csv

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import pandas' 2>/dev/null; then
  echo "(no pandas for $PY: make bench-deps installs python3-pandas)"
  exit 0
fi
mkdir -p build/bench
[ -s "$FILE" ] || "$PY" scripts/gen_bench_csv.py "$FILE" "$N"
MB=$(awk -v b="$(stat -c %s "$FILE")" 'BEGIN {printf "%.1f", b / 1e6}')

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# runs a command; prints "seconds peak_rss_MB cpu_seconds" (the command prints its seconds)
measure() {
  local out
  out=$( { /usr/bin/time -f "RSS %M %U %S" "$@" 2>&1 1>&3 3>&-; } 3>&1 )
  awk '/^RSS/ {rss = $2 / 1024; cpu = $3 + $4} /^T / {t = $2} END {printf "%s %.0f %.2f\n", t, rss, cpu}' <<< "$out"
}

ML_CODE="ml.threads($THREADS); local t = ml.now(); local df = ml.data.read_csv('$FILE'); print('T ' .. (ml.now() - t)); assert(df.shape[1] == $N)"
PD_CODE="import time, pandas as pd; t = time.perf_counter(); df = pd.read_csv('$FILE'); print('T', time.perf_counter() - t)"
PDD_CODE="import time, pandas as pd; t = time.perf_counter(); df = pd.read_csv('$FILE', parse_dates=['date']); print('T', time.perf_counter() - t)"

declare -a mt mr mc pt pr pc dt dr dc
for ((r = 0; r < ROUNDS; r++)); do
  read -r a b c < <(measure "$ML" -e "$ML_CODE"); mt+=("$a"); mr+=("$b"); mc+=("$c")
  read -r a b c < <(measure "$PY" -c "$PD_CODE"); pt+=("$a"); pr+=("$b"); pc+=("$c")
  read -r a b c < <(measure "$PY" -c "$PDD_CODE"); dt+=("$a"); dr+=("$b"); dc+=("$c")
done
m=$(printf '%s\n' "${mt[@]}" | median); mrss=$(printf '%s\n' "${mr[@]}" | median); mcpu=$(printf '%s\n' "${mc[@]}" | median)
p=$(printf '%s\n' "${pt[@]}" | median); prss=$(printf '%s\n' "${pr[@]}" | median); pcpu=$(printf '%s\n' "${pc[@]}" | median)
d=$(printf '%s\n' "${dt[@]}" | median); drss=$(printf '%s\n' "${dr[@]}" | median); dcpu=$(printf '%s\n' "${dc[@]}" | median)
lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print "cpu: " $2}'
echo "read_csv of $FILE ($MB MB, $N rows x 22 columns), median of $ROUNDS rounds, sides alternated"
printf "%-34s %9s %9s %10s %8s\n" side seconds MB/s "peak MB" "CPU s"
row() { printf "%-34s %9.3f %9.1f %10s %8s\n" "$1" "$2" "$(awk -v a="$MB" -v t="$2" 'BEGIN {print a / t}')" "$3" "$4"; }
row "moonlab data.read_csv ($THREADS threads)" "$m" "$mrss" "$mcpu"
row "pandas read_csv" "$p" "$prss" "$pcpu"
row "pandas read_csv parse_dates" "$d" "$drss" "$dcpu"
echo "speed-up vs pandas: $(awk -v a="$p" -v b="$m" 'BEGIN {printf "%.2fx", a / b}'), vs pandas with parse_dates: $(awk -v a="$d" -v b="$m" 'BEGIN {printf "%.2fx", a / b}')"
echo "peak memory ml/pandas: $(awk -v a="$mrss" -v b="$drss" 'BEGIN {printf "%.2f", a / b}') (parse_dates), $(awk -v a="$mrss" -v b="$prss" 'BEGIN {printf "%.2f", a / b}') (plain)"
echo "CPU seconds ml/pandas: $(awk -v a="$mcpu" -v b="$dcpu" 'BEGIN {printf "%.2f", a / b}') (parse_dates), $(awk -v a="$mcpu" -v b="$pcpu" 'BEGIN {printf "%.2f", a / b}') (plain)"
echo "best round (s): ml $(printf '%s\n' "${mt[@]}" | sort -g | head -1), pandas $(printf '%s\n' "${pt[@]}" | sort -g | head -1), pandas parse_dates $(printf '%s\n' "${dt[@]}" | sort -g | head -1)"
echo "all rounds (s): ml ${mt[*]} | pd ${pt[*]} | pd+dates ${dt[*]}"
echo "(target: >= 2x faster than pandas, lower peak memory; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
