#!/usr/bin/python3
"""The Flask side of scripts/bench/serve.sh: what users write today around
model.predict. The same MLP (weights read from moonlab's safetensors file), in
PyTorch under inference_mode, the same JSON API: POST /predict {"inputs": rows}
-> {"predictions": [...], "model": "fashion", "version": 1}.
   serve_flask.py MODEL.safetensors PORT"""
import json
import struct
import sys

import numpy as np
import torch
from flask import Flask, jsonify, request

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype=DTYPES[v["dtype"]]).reshape(v["shape"]).copy()
    return out


def build(path):
    t = read_safetensors(path)
    linears = sorted({k.rsplit(".", 1)[0] for k in t if k.endswith(".weight")}, key=lambda s: int(s.split(".")[-1]))
    layers = []
    for i, name in enumerate(linears):
        w = t[name + ".weight"]
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        lin.weight.data = torch.from_numpy(w)
        lin.bias.data = torch.from_numpy(t[name + ".bias"])
        layers.append(lin)
        if i + 1 < len(linears):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).eval()


torch.set_num_threads(1)
model = build(sys.argv[1])
app = Flask(__name__)


@app.route("/predict", methods=["POST"])
def predict():
    body = request.get_json(force=True)
    rows = body.get("inputs", body.get("instances"))
    with torch.inference_mode():
        out = model(torch.tensor(rows, dtype=torch.float32))
    return jsonify({"predictions": (out.argmax(1) + 1).tolist(), "model": "fashion", "version": 1})


@app.route("/health")
def health():
    return jsonify({"status": "ok"})


if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=int(sys.argv[2]), threaded=True)
