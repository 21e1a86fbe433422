#!/usr/bin/env bash
# tfidf: TfidfVectorizer fit_transform (default options: lowercase, the
# (?u)\b\w\w+\b pattern, unigrams, l2 norm, smooth idf) on 100,000 generated
# documents over a Zipf vocabulary of 50,000 words (scripts/gen_zipf_docs.py,
# written once under build/bench/, not committed): moonlab's
# prep.TfidfVectorizer (C tokenizer and counter, ml.threads() threads, 2 here)
# against scikit-learn's (/usr/bin/python3; single-threaded, as it is).
# Reading the file is not timed. Also prints the CPU seconds of each side's
# fit_transform (user + system, all threads), less hurt by a loaded machine.
# Also prints the CSR's size and each side's
# peak resident memory (GNU time), to show 100,000 x 50,000 fits as CSR.
# Target (issue 9): moonlab at least twice as fast (sk/ml >= 2.00).
# The two sides alternate, ROUNDS times (default 5), one fit_transform per
# process; medians and the ratio of medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
N=${N:-100000}
V=${V:-50000}
ML=build/moonlab
PY=/usr/bin/python3
DOCS=build/bench/zipf_docs_${N}_${V}.txt

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import sklearn' 2>/dev/null; then
  echo "(no scikit-learn for $PY: make bench-deps installs python3-sklearn)"
  exit 0
fi
mkdir -p build/bench
[ -s "$DOCS" ] || "$PY" scripts/gen_zipf_docs.py "$DOCS" "$N" "$V"

cat > build/bench/tfidf_ml.lua <<'LUA'
local docs = {}
for line in io.lines(arg[1]) do docs[#docs + 1] = line end
local c0, t0 = os.clock(), ml.now()
local X = ml.prep.TfidfVectorizer():fit_transform(docs)
local dt, cpu = ml.now() - t0, os.clock() - c0
local bytes = X:nnz() * 16 + (X.shape[1] + 1) * 8
print(string.format("time %.4f cpu %.4f rows %d cols %d nnz %d csr_mb %.1f", dt, cpu, X.shape[1], X.shape[2], X:nnz(), bytes / 2^20))
LUA
cat > build/bench/tfidf_sk.py <<'PY'
import sys, time
from sklearn.feature_extraction.text import TfidfVectorizer
docs = open(sys.argv[1]).read().split("\n")[:-1]
c0, t0 = time.process_time(), time.perf_counter()
X = TfidfVectorizer().fit_transform(docs)
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
b = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
print("time %.4f cpu %.4f rows %d cols %d nnz %d csr_mb %.1f" % (dt, cpu, X.shape[0], X.shape[1], X.nnz, b / 2**20))
PY

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
run() { # run CMD... -> "time rss_kb line"
  local out rss
  out=$( { /usr/bin/time -f "rss %M" "$@" 2>/tmp/tfidf_time.$$ ; } )
  rss=$(awk '/^rss/ {print $2}' /tmp/tfidf_time.$$)
  rm -f /tmp/tfidf_time.$$
  echo "$out rss_kb $rss"
}
lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print "cpu: " $2}'
mlt="" skt="" mlr="" skr="" mlc="" skc=""
for ((r = 0; r < ROUNDS; r++)); do
  m=$(run "$ML" build/bench/tfidf_ml.lua "$DOCS")
  s=$(run "$PY" build/bench/tfidf_sk.py "$DOCS")
  mlt+="$(echo "$m" | awk '{print $2}') "; mlc+="$(echo "$m" | awk '{print $4}') "; mlr+="$(echo "$m" | awk '{print $NF}') "
  skt+="$(echo "$s" | awk '{print $2}') "; skc+="$(echo "$s" | awk '{print $4}') "; skr+="$(echo "$s" | awk '{print $NF}') "
  mline=$m sline=$s
done
mt=$(printf '%s\n' $mlt | median); st=$(printf '%s\n' $skt | median)
mc=$(printf '%s\n' $mlc | median); sc=$(printf '%s\n' $skc | median)
mr=$(printf '%s\n' $mlr | median); sr=$(printf '%s\n' $skr | median)
echo "tfidf fit_transform, $N documents, Zipf vocabulary of $V words (median of $ROUNDS alternated runs)"
echo "moonlab: $(echo "$mline" | cut -d' ' -f5-12)"
echo "sklearn: $(echo "$sline" | cut -d' ' -f5-12)"
printf "%-10s %10s %10s %8s\n" "" moonlab sklearn sk/ml
printf "%-10s %10.3f %10.3f %8s\n" "seconds" "$mt" "$st" "$(awk -v a="$st" -v b="$mt" 'BEGIN {printf "%.2f", a / b}')"
printf "%-10s %10.3f %10.3f %8s\n" "cpu s" "$mc" "$sc" "$(awk -v a="$sc" -v b="$mc" 'BEGIN {printf "%.2f", a / b}')"
printf "%-10s %10.0f %10.0f %8s\n" "peak MB" "$(awk -v a="$mr" 'BEGIN {print a / 1024}')" "$(awk -v a="$sr" 'BEGIN {print a / 1024}')" \
  "$(awk -v a="$sr" -v b="$mr" 'BEGIN {printf "%.2f", a / b}')"
echo "(target: sk/ml >= 2.00; threads: moonlab $("$ML" -e 'print(ml.threads())'), sklearn 1; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
