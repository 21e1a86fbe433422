#!/usr/bin/env bash
# search: how good the samplers are and how fast, beside Optuna 3.1
# (Debian's python3-optuna). On Branin (2-D), Hartmann-6, Rosenbrock-4 and a
# mixed integer / categorical / conditional function, each method gets the
# same budget of trials (BUDGET, default 60) for SEEDS seeds (default 20);
# the table gives the mean and median of the best value found (all
# minimized; lower is better). Targets (issue 12): Bayesian (TPE, GP) and
# genetic search beat random search at the same budget; our TPE does at
# least as well as Optuna's TPE; the sampler's own time for 200 TPE trials
# (a trivial objective) at most Optuna's. METHODS=random,tpe,gp,genetic,tpe_optuna
# picks moonlab's methods (tpe_optuna: our TPE with optuna = true, Optuna
# 3.1's sampler detail for detail); OPTUNA_MV=1 adds Optuna's multivariate
# TPE (optuna-tpe_mv) beside its default. SEED0=k runs seeds k .. k+SEEDS-1
# (default 1: tune on another set). OPTUNA_CACHE=FILE keeps the Optuna
# side's output in FILE and reuses it when it is there (it does not change
# with moonlab's code; delete it after changing SEEDS, SEED0 or BUDGET).
set -euo pipefail
cd "$(dirname "$0")/../.."
SEEDS=${SEEDS:-20}
BUDGET=${BUDGET:-60}
ML=build/moonlab
PY=/usr/bin/python3
[ -x "$ML" ] || make -j2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$ML" scripts/bench/search_functions.lua "$SEEDS" "$BUDGET" >> "$out"
if [ -n "${OPTUNA_CACHE:-}" ] && [ -s "$OPTUNA_CACHE" ]; then cat "$OPTUNA_CACHE" >> "$out"
elif "$PY" -c 'import optuna' 2>/dev/null; then
  "$PY" scripts/bench/search_functions.py "$SEEDS" "$BUDGET" > "$out.optuna"
  cat "$out.optuna" >> "$out"
  if [ -n "${OPTUNA_CACHE:-}" ]; then cp "$out.optuna" "$OPTUNA_CACHE"; fi
  rm -f "$out.optuna"
else echo "(no optuna for $PY: moonlab side only; make bench-deps installs python3-optuna)"; fi
echo "best value found in $BUDGET trials, $SEEDS seeds (lower is better): mean / median"
"$ML" scripts/bench/search_table.lua "$out"
awk '$1 == "TIME" { printf "sampler time, %d TPE trials: %-10s %.3f s\n", $3, $2, $4 }' "$out"
