#!/usr/bin/python3
"""Reads a moonlab model file with NumPy alone and reproduces its predictions.

    check_safetensors_numpy.py MODEL.safetensors [INPUT.npy EXPECTED.npy] [--tol 1e-5]

A model file written by model:save is safetensors: an 8-byte little-endian
header length N, N bytes of JSON header ({name: {dtype, shape, data_offsets}},
plus "__metadata__": {string: string}), then the raw little-endian tensor
data. The metadata holds the architecture as JSON under "moonlab.model": a
tree of {"$module": class, "args": [...], "path": prefix of its weights}.
This script parses the file by hand (Debian has no safetensors package),
rebuilds a Sequential of Linear, activations, Flatten, Dropout (eval: the
identity), LayerNorm and BatchNorm1d (eval: running statistics) in NumPy,
runs it on INPUT and prints the largest absolute difference from EXPECTED
(moonlab's own predictions); it exits 1 when that passes --tol. Where the
`safetensors` Python package exists, safetensors.torch.load_file (or
safetensors.numpy) reads the file too, and every tensor must match.
"""
import json
import math
import struct
import sys

import numpy as np

DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "BOOL": np.bool_,
}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise SystemExit(f"{path}: {len(raw)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise SystemExit(f"{path}: header length {n} runs past the end of the file ({len(raw)} bytes)")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        if not (0 <= begin <= end <= len(data)):
            raise SystemExit(f"{path}: tensor {name!r} has offsets {begin}..{end} outside the data ({len(data)} bytes)")
        dt = np.dtype(DTYPES[info["dtype"]]).newbyteorder("<")
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if (end - begin) != count * dt.itemsize:
            raise SystemExit(f"{path}: tensor {name!r}: {end - begin} bytes for shape {shape} of {info['dtype']}")
        tensors[name] = np.frombuffer(data, dtype=dt, count=count, offset=begin).reshape(shape).astype(dt.newbyteorder("="))
    return tensors, meta


def softmax(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def axis_of(dim):
    return dim - 1 if dim > 0 else dim  # moonlab dims are 1-based, negative from the end


def opts_of(args, i):
    return args[i] if len(args) > i and isinstance(args[i], dict) else {}


def build(node, w):
    """A function x -> y for one architecture node; w holds the weights by name."""
    cls, args, path = node["$module"], node.get("args", []), node.get("path", "")

    def p(name):
        return w.get(f"{path}.{name}" if path else name)

    if cls in ("Sequential",):
        layers = [build(child, w) for child in args[0]]

        def seq(x):
            for f in layers:
                x = f(x)
            return x
        return seq
    if cls == "Linear":
        W, b = p("weight"), p("bias")
        return lambda x: x @ W.T + (b if b is not None else 0)
    if cls in ("Identity", "Dropout"):
        return lambda x: x
    if cls == "ReLU":
        return lambda x: np.maximum(x, 0)
    if cls == "Sigmoid":
        return lambda x: 1 / (1 + np.exp(-x))
    if cls == "Tanh":
        return np.tanh
    if cls == "SiLU":
        return lambda x: x / (1 + np.exp(-x))
    if cls == "LeakyReLU":
        slope = args[0] if args and isinstance(args[0], (int, float)) else 0.01
        return lambda x: np.where(x > 0, x, slope * x)
    if cls == "ELU":
        alpha = args[0] if args and isinstance(args[0], (int, float)) else 1.0
        return lambda x: np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))
    if cls == "GELU":
        if opts_of(args, 0).get("approximate", "none") == "tanh":
            c = math.sqrt(2 / math.pi)
            return lambda x: 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3)))
        erf = np.vectorize(math.erf)
        return lambda x: (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(x.dtype)
    if cls in ("Softmax", "LogSoftmax"):
        ax = axis_of(args[0] if args and isinstance(args[0], int) else -1)
        if cls == "Softmax":
            return lambda x: softmax(x, ax)
        return lambda x: np.log(softmax(x, ax))
    if cls == "Flatten":
        s, e = 2, -1
        if args and isinstance(args[0], int):
            s = args[0]
            if len(args) > 1 and isinstance(args[1], int):
                e = args[1]
        elif args and isinstance(args[0], dict):
            s, e = args[0].get("start_dim", 2), args[0].get("end_dim", -1)

        def flatten(x):
            a, b = axis_of(s) % x.ndim, axis_of(e) % x.ndim
            return x.reshape(x.shape[:a] + (-1,) + x.shape[b + 1:])
        return flatten
    if cls == "LayerNorm":
        shape = args[0] if isinstance(args[0], list) else [args[0]]
        eps = opts_of(args, 1).get("eps", 1e-5)
        W, b = p("weight"), p("bias")
        axes = tuple(range(-len(shape), 0))

        def ln(x):
            mu = x.mean(axis=axes, keepdims=True)
            var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
            y = (x - mu) / np.sqrt(var + eps)
            return y * (W if W is not None else 1) + (b if b is not None else 0)
        return ln
    if cls == "BatchNorm1d":
        eps = opts_of(args, 1).get("eps", 1e-5)
        W, b, mean, var = p("weight"), p("bias"), p("running_mean"), p("running_var")

        def bn(x):
            shape = (1, -1) + (1,) * (x.ndim - 2)
            y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
            if W is not None:
                y = y * W.reshape(shape) + b.reshape(shape)
            return y
        return bn
    raise SystemExit(f"class {cls!r} (at {path or 'the root'!r}) is not one this script rebuilds; "
                     "it knows Sequential, Linear, the activations, Flatten, Dropout, LayerNorm, BatchNorm1d")


def check_with_safetensors(path, tensors):
    try:
        from safetensors.torch import load_file
        loaded = {k: v.numpy() for k, v in load_file(path).items()}
        how = "safetensors.torch.load_file"
    except ImportError:
        try:
            from safetensors.numpy import load_file
            loaded = load_file(path)
            how = "safetensors.numpy.load_file"
        except ImportError:
            print("safetensors: not installed here (skipped)")
            return True
    ok = sorted(loaded) == sorted(tensors) and all(
        loaded[k].shape == tensors[k].shape and np.array_equal(loaded[k], tensors[k]) for k in tensors)
    print(f"{how}: {len(loaded)} tensors, {'identical to' if ok else 'DIFFERENT from'} the NumPy reading")
    return ok


def main(argv):
    tol = 1e-5
    if "--tol" in argv:
        i = argv.index("--tol")
        tol = float(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    if len(argv) not in (1, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path = argv[0]
    tensors, meta = read_safetensors(path)
    if "moonlab.model" not in meta:
        raise SystemExit(f"{path}: no 'moonlab.model' metadata; not a model written by model:save")
    arch = json.loads(meta["moonlab.model"])
    print(f"{path}: format {meta.get('moonlab.format')}, {len(tensors)} tensors, model {arch['$module']}")
    good = check_with_safetensors(path, tensors)
    if len(argv) == 3:
        x, want = np.load(argv[1]), np.load(argv[2])
        got = build(arch, tensors)(x)
        if got.shape != want.shape:
            print(f"shape {got.shape}, expected {want.shape}")
            return 1
        diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)))) if got.size else 0.0
        print(f"max abs difference {diff:.3g} over {got.size} outputs (tol {tol:g})")
        good = good and diff <= tol
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
