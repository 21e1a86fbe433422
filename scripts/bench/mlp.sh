#!/usr/bin/env bash
# mlp: training an MLP 784-512-256-10 (ReLU) on Fashion-MNIST with Adam
# (lr 1e-3), cross-entropy, batch 128, shuffled each epoch, default
# initialization on both sides: moonlab (model:fit with verbose = 0, and the
# explicit loop over data.loader) beside PyTorch (batches by a randperm of
# the whole tensors, "perm", and a DataLoader over a TensorDataset), at 1
# and 2 threads. At 2 threads PyTorch runs with OMP_WAIT_POLICY=PASSIVE
# (without it its OpenMP and OpenBLAS threads fight) and, for the perm loop,
# also without it; the ratios use its fastest configuration.
# Each run is a separate process that trains EPOCHS epochs (default 5) and
# prints its median epoch time, the test accuracy after the last epoch, its
# peak resident memory (VmHWM from /proc/self/status at the end) and the
# bytes of the dataset it loaded (train and test tensors, float32 images and
# int64 labels: the same on both sides). "Beyond data" is VmHWM minus those
# bytes: what training costs on top of holding the data (the runtime and its
# libraries, weights, gradients, optimizer state, batches, activations and
# whatever else a side keeps).
# Targets: moonlab's epoch at most 0.5 of PyTorch's at 1 and 2 threads, the
# same test accuracy within half a point, peak memory beyond the data at
# most a quarter of PyTorch's.
# moonlab's command sets OMP_WAIT_POLICY=PASSIVE itself unless the
# environment sets it (or GOMP_SPINCOUNT). Both sides use the same OpenBLAS
# (OpenMP variant), whose kernel follows OPENBLAS_CORETYPE when set (this
# machine's environment sets Haswell, the AVX2 kernels): the header says which.
# ML_ENV and TORCH_ENV add environment variables to one side's runs (to try
# e.g. OPENBLAS_CORETYPE=SkylakeX, or GOMP_SPINCOUNT=10000 for moonlab).
# Sides alternate, ROUNDS times (default 3; round r uses seed r-1 on both
# sides); the table shows medians over the rounds. Each run is also logged
# to stderr with the load average, to spot a run a neighbour disturbed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
EPOCHS=${EPOCHS:-5}
ML=build/moonlab
PY=/usr/bin/python3
ML_ENV=${ML_ENV:-}       # extra environment for the moonlab runs, e.g. OPENBLAS_CORETYPE=SkylakeX
TORCH_ENV=${TORCH_ENV:-} # extra environment for the PyTorch runs

[ -x "$ML" ] || make -j2
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  echo "(no torch/numpy for $PY: make bench-deps installs python3-torch; moonlab side only)"
  have_torch=0
else
  have_torch=1
fi

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# configurations: key -> command (THREADS, EPOCHS and SEED are filled in per run)
keys=()
declare -A cmd=() env=()
add() { keys+=("$1"); env[$1]=$2; cmd[$1]=$3; }
for T in 1 2; do
  add "moonlab fit $T -" "OMP_NUM_THREADS=$T $ML_ENV" "$ML scripts/bench/mlp.lua $T EPOCHS fit SEED"
  add "moonlab loop $T -" "OMP_NUM_THREADS=$T $ML_ENV" "$ML scripts/bench/mlp.lua $T EPOCHS loop SEED"
  if ((have_torch)); then
    if ((T == 1)); then
      add "torch perm 1 -" "OMP_NUM_THREADS=1 $TORCH_ENV" "$PY scripts/bench/mlp.py 1 EPOCHS perm SEED"
      add "torch dataloader 1 -" "OMP_NUM_THREADS=1 $TORCH_ENV" "$PY scripts/bench/mlp.py 1 EPOCHS dataloader SEED"
    else
      add "torch perm 2 passive" "OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE $TORCH_ENV" "$PY scripts/bench/mlp.py 2 EPOCHS perm SEED"
      add "torch dataloader 2 passive" "OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE $TORCH_ENV" \
        "$PY scripts/bench/mlp.py 2 EPOCHS dataloader SEED"
      add "torch perm 2 active" "OMP_NUM_THREADS=2 $TORCH_ENV" "$PY scripts/bench/mlp.py 2 EPOCHS perm SEED"
    fi
  fi
done

declare -A t=() a=() m=() d=()
for ((r = 0; r < ROUNDS; r++)); do
  for k in "${keys[@]}"; do
    c=${cmd[$k]//EPOCHS/$EPOCHS}; c=${c//SEED/$r}
    out=$(env ${env[$k]} $c | grep '^RESULT') || { echo "failed: ${env[$k]} $c" >&2; exit 1; }
    read -r _ sec acc rss data <<< "$out"
    printf '  round %d: %-28s %8.3f s %6.2f %% %7.1f MiB peak, %7.1f MiB data  (load %s)\n' "$((r + 1))" "$k" "$sec" "$acc" \
      "$rss" "$data" "$(cut -d' ' -f1 /proc/loadavg)" >&2
    t[$k]+="$sec "; a[$k]+="$acc "; m[$k]+="$rss "; d[$k]=$data
  done
done
for k in "${keys[@]}"; do
  t[$k]=$(printf '%s\n' ${t[$k]} | median); a[$k]=$(printf '%s\n' ${a[$k]} | median)
  m[$k]=$(printf '%s\n' ${m[$k]} | median)
done

echo "MLP 784-512-256-10 on Fashion-MNIST, Adam 1e-3, batch 128, $EPOCHS epochs; median over $ROUNDS rounds"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset: OpenBLAS detects the CPU)}"
[ -z "$ML_ENV$TORCH_ENV" ] || echo "extra environment: moonlab '${ML_ENV}', PyTorch '${TORCH_ENV}'"
printf "%-8s %-11s %3s %-8s %10s %11s %13s %12s\n" side loop thr "wait" "epoch s" "test acc %" "peak RSS MiB" "beyond data"
for k in "${keys[@]}"; do
  read -r side loop thr wait <<< "$k"
  printf "%-8s %-11s %3s %-8s %10.3f %11.2f %13.1f %12.1f\n" "$side" "$loop" "$thr" "$wait" "${t[$k]}" "${a[$k]}" "${m[$k]}" \
    "$(awk -v m="${m[$k]}" -v d="${d[$k]}" 'BEGIN {print m - d}')"
done
((have_torch)) || exit 0

# PyTorch at its best, per thread count: its fastest configuration.
for T in 1 2; do
  best=""
  for k in "${keys[@]}"; do
    [[ $k == torch*" $T "* ]] || continue
    if [ -z "$best" ] || awk -v x="${t[$k]}" -v y="${t[$best]}" 'BEGIN {exit !(x < y)}'; then best=$k; fi
  done
  for l in fit loop; do
    k="moonlab $l $T -"
    awk -v mt="${t[$k]}" -v pt="${t[$best]}" -v ma="${a[$k]}" -v pa="${a[$best]}" -v mm="${m[$k]}" -v pm="${m[$best]}" \
      -v md="${d[$k]}" -v pd="${d[$best]}" -v l="$l" -v T="$T" -v b="${best#torch }" 'BEGIN {
      mb = mm - md; pb = pm - pd
      printf "%d thr: moonlab %-4s vs torch %-20s epoch %.3f / %.3f s = %.2fx (target <= 0.5) %s; " \
        "acc %+.2f pt (target within 0.5) %s; peak beyond data %.0f / %.0f MiB = %.2f (target <= 0.25) %s\n", T, l, b, mt, pt, mt / pt,
        (mt <= 0.5 * pt ? "ok" : "MISS"), ma - pa, (ma - pa <= 0.5 && pa - ma <= 0.5 ? "ok" : "MISS"), mb, pb, mb / pb,
        (mb <= 0.25 * pb ? "ok" : "MISS")
    }'
  done
done
