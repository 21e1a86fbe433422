#!/usr/bin/python3
"""The competitor side of scripts/bench/board.sh: the same two routes of the dashboard's API
(GET /api/runs: every run's summary with its final metrics; GET /api/runs/ID/metrics?since=N:
the points after line N) written the way a Python dashboard over these files is (Flask, as
MLflow's UI server is; files read and parsed per request, the json module).
usage: board_flask.py ROOT PORT"""
import json
import os
import sys

from flask import Flask, jsonify, request

ROOT, PORT = sys.argv[1], int(sys.argv[2])
app = Flask(__name__)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def final_metrics(path):
    last, steps = {}, 0
    try:
        with open(path) as f:
            for line in f:
                if not line.endswith("\n") or not line.strip():
                    continue
                rec = json.loads(line)
                last.update({k: v for k, v in rec.get("metrics", {}).items() if isinstance(v, (int, float))})
                steps = max(steps, rec.get("step", 0))
    except OSError:
        pass
    return last, steps


@app.route("/api/runs")
def runs():
    out = []
    for exp in sorted(os.listdir(ROOT)):
        for rid in os.listdir(os.path.join(ROOT, exp)):
            d = os.path.join(ROOT, exp, rid)
            meta = read_json(os.path.join(d, "meta.json"))
            if meta is None:
                continue
            params = read_json(os.path.join(d, "params.json")) or {}
            last, steps = final_metrics(os.path.join(d, "metrics.jsonl"))
            out.append({"id": meta.get("id", rid), "name": meta.get("name"), "experiment": exp, "status": meta.get("status"),
                        "start_time": meta.get("start_time"), "end_time": meta.get("end_time"),
                        "params": params.get("resolved") or params.get("given") or {}, "metrics": last, "steps": steps,
                        "tags": meta.get("tags", {})})
    out.sort(key=lambda r: (r["start_time"] or 0, r["id"]), reverse=True)
    return jsonify(out)


@app.route("/api/runs/<rid>/metrics")
def metrics(rid):
    since = int(request.args.get("since", 0))
    for exp in os.listdir(ROOT):
        path = os.path.join(ROOT, exp, rid, "metrics.jsonl")
        if os.path.exists(path):
            points, n = [], 0
            with open(path) as f:
                for line in f:
                    if not line.endswith("\n") or not line.strip():
                        continue
                    n += 1
                    if n > since:
                        points.append(json.loads(line))
            return jsonify({"points": points, "next": n})
    return jsonify({"error": "no run"}), 404


if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=PORT, threaded=True)
