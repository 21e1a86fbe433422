#!/usr/bin/python3
"""One round of the http_json benchmark, Python side: json.loads + np.asarray(float32)
of {"inputs": [[784 floats] x n]}, median microseconds per call."""
import json, sys, time
import numpy as np

rows = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "1 64").split()]
secs = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
rng = np.random.default_rng(1)
for n in rows:
    text = json.dumps({"inputs": rng.random((n, 784)).tolist()})
    f = lambda: np.asarray(json.loads(text)["inputs"], dtype=np.float32)
    t = time.perf_counter(); f(); one = time.perf_counter() - t
    reps = max(5, int(secs / max(one, 1e-6)))
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    ts.sort()
    print("numpy %d %.1f" % (n, ts[(reps - 1) // 2] * 1e6))
