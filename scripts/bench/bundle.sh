#!/usr/bin/env bash
# bundle: what a model bundle's fast path adds to one-row inference. The same Fashion-MNIST MLP
# (784-512-10, eval mode, one thread) answers one row through model:predict(x) and through the
# bundle's b:predict_tensor(x) (what the server batches over), and b:predict on a decoded JSON row
# (validation, tensor, forward, labels) for scale. Target (issue 13): b:predict_tensor adds under
# ~5 us per call. Sides alternate in each of ROUNDS rounds (default 7) of N calls (default 20000);
# medians per call, the difference and the ratio. Pinned to one vCPU; the machine may be shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c 0 build/moonlab scripts/bench/bundle.lua
