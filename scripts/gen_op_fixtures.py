#!/usr/bin/python3
"""Reference values for tests/lua/test_ops_torch.lua, from PyTorch.

    scripts/gen_op_fixtures.py        writes tests/fixtures/ops/torch_ops.lua

Each case applies one op to inputs made with a fixed seed (per case, from
the case's name), in float32 or float64, and stores the inputs, the forward
output, any integer outputs (indices of max/sort/topk, 1-based), a fixed
weight w and the gradients of (op(x) * w).sum() with respect to each float
input. The test rebuilds the inputs in moonlab, runs the same op and
compares everything with tight tolerances, so the tests need no Python.

Ops are written here with moonlab's Lua conventions (dims and indices
1-based, negative dims from the end) and translated to torch, so a case's
`op` and `args` mean the same thing on both sides.

Large inputs (a float32 sum of 1e6 elements) are stored as a short pattern
repeated ("tile"), large gradients as a tile or as runs of equal values; their reference values are computed in float64 from the
float32 inputs and rounded to float32: the exact answer, which a careful
float32 kernel must reach (torch's own float32 result is kept beside it as
`torch_out`, for information). Numbers are Lua literals: %.9g for float32
(round-trips exactly), %.17g for float64.

Made with Debian's python3-torch; the torch version is recorded in the file.
"""
import math
import os
import sys
import zlib

import numpy as np
import torch

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "ops", "torch_ops.lua")
MAX_LITERAL = 4096  # tensors larger than this must be periodic (stored as a tile)

F32, F64 = torch.float32, torch.float64
DTYPE_NAME = {F32: "float32", F64: "float64", torch.int64: "int64", torch.bool: "bool"}


# ---- inputs -------------------------------------------------------------
# An input spec is a tuple:
#   ("randn", shape[, scale])        normal values
#   ("uniform", shape, lo, hi)       uniform in [lo, hi)
#   ("away", shape)                  normal values at least 0.2 away from 0
#   ("signed", shape, lo, hi)        uniform in [lo, hi) with a random sign
#   ("values", nested)               given values
#   ("tile", shape, pattern)         pattern repeated to fill shape (big inputs)
#   ("index", nested)                int64, 1-based (no gradient)
#   ("mask", nested)                 bool (no gradient)
def make_input(spec, dtype, gen):
    kind = spec[0]
    if kind == "randn":
        scale = spec[2] if len(spec) > 2 else 1.0
        return torch.randn(tuple(spec[1]), generator=gen, dtype=F64).to(dtype) * scale
    if kind == "uniform":
        _, shape, lo, hi = spec
        return (torch.rand(tuple(shape), generator=gen, dtype=F64) * (hi - lo) + lo).to(dtype)
    if kind == "away":
        x = torch.randn(tuple(spec[1]), generator=gen, dtype=F64)
        return torch.where(x >= 0, x + 0.2, x - 0.2).to(dtype)
    if kind == "signed":
        _, shape, lo, hi = spec
        x = torch.rand(tuple(shape), generator=gen, dtype=F64) * (hi - lo) + lo
        s = torch.rand(tuple(shape), generator=gen, dtype=F64) < 0.5
        return torch.where(s, x, -x).to(dtype)
    if kind == "values":
        return torch.tensor(spec[1], dtype=dtype)
    if kind == "tile":
        _, shape, pattern = spec
        n = math.prod(shape)
        p = torch.tensor(pattern, dtype=dtype)
        assert n % len(pattern) == 0
        return p.repeat(n // len(pattern)).reshape(shape)
    if kind == "index":
        return torch.tensor(spec[1], dtype=torch.int64)
    if kind == "mask":
        return torch.tensor(spec[1], dtype=torch.bool)
    raise ValueError(kind)


# ---- ops, in moonlab's conventions -----------------------------------------
def d(dim):
    """1-based (negative from the end) to torch's 0-based."""
    return dim - 1 if dim > 0 else dim


def reduce_all_or_dim(f_all, f_dim):
    def op(xs, args):
        if len(args) == 0:
            return f_all(xs[0])
        return f_dim(xs[0], d(args[0]), bool(args[1]) if len(args) > 1 else False)
    return op


def maxmin(is_max):
    def op(xs, args):
        x = xs[0]
        if len(args) == 0:
            return x.max() if is_max else x.min()
        r = torch.max(x, d(args[0]), keepdim=bool(args[1]) if len(args) > 1 else False) if is_max else \
            torch.min(x, d(args[0]), keepdim=bool(args[1]) if len(args) > 1 else False)
        return r.values, r.indices + 1
    return op


def varstd(is_std):
    # args: {dim or false, unbiased, keepdim}
    def op(xs, args):
        x = xs[0]
        dim, unbiased, keepdim = args
        f = torch.std if is_std else torch.var
        if dim is False:
            return f(x, unbiased=unbiased)
        return f(x, d(dim), unbiased=unbiased, keepdim=keepdim)
    return op


def norm(xs, args):
    # args: {p} or {p, dim, keepdim}
    x = xs[0]
    p = args[0]
    if len(args) == 1:
        return torch.linalg.vector_norm(x, ord=p)
    return torch.linalg.vector_norm(x, ord=p, dim=d(args[1]), keepdim=bool(args[2]))


def logsumexp(xs, args):
    x = xs[0]
    if len(args) == 0:
        return torch.logsumexp(x.reshape(-1), 0)
    return torch.logsumexp(x, d(args[0]), keepdim=bool(args[1]) if len(args) > 1 else False)


def addmm(xs, args):
    beta, alpha = args
    return torch.addmm(xs[0], xs[1], xs[2], beta=beta, alpha=alpha)


def sort(xs, args):
    dim, desc = args
    r = torch.sort(xs[0], dim=d(dim), descending=desc, stable=True)
    return r.values, r.indices + 1


def topk(xs, args):
    k, dim, largest = args
    r = torch.topk(xs[0], k, dim=d(dim), largest=largest, sorted=True)
    return r.values, r.indices + 1


OPS = {
    # binary, tensor-tensor with broadcasting
    "add": lambda xs, a: xs[0] + xs[1],
    "sub": lambda xs, a: xs[0] - xs[1],
    "mul": lambda xs, a: xs[0] * xs[1],
    "div": lambda xs, a: xs[0] / xs[1],
    "pow": lambda xs, a: xs[0] ** xs[1],
    "maximum": lambda xs, a: torch.maximum(xs[0], xs[1]),
    "minimum": lambda xs, a: torch.minimum(xs[0], xs[1]),
    # tensor op scalar, scalar op tensor
    "add_s": lambda xs, a: xs[0] + a[0],
    "sub_s": lambda xs, a: xs[0] - a[0],
    "mul_s": lambda xs, a: xs[0] * a[0],
    "div_s": lambda xs, a: xs[0] / a[0],
    "pow_s": lambda xs, a: xs[0] ** a[0],
    "s_add": lambda xs, a: a[0] + xs[0],
    "s_sub": lambda xs, a: a[0] - xs[0],
    "s_mul": lambda xs, a: a[0] * xs[0],
    "s_div": lambda xs, a: a[0] / xs[0],
    "s_pow": lambda xs, a: a[0] ** xs[0],
    "where": lambda xs, a: torch.where(xs[0], xs[1], xs[2]),
    # unary
    "neg": lambda xs, a: -xs[0],
    "abs": lambda xs, a: xs[0].abs(),
    "exp": lambda xs, a: xs[0].exp(),
    "log": lambda xs, a: xs[0].log(),
    "log1p": lambda xs, a: xs[0].log1p(),
    "sqrt": lambda xs, a: xs[0].sqrt(),
    "rsqrt": lambda xs, a: xs[0].rsqrt(),
    "sin": lambda xs, a: xs[0].sin(),
    "cos": lambda xs, a: xs[0].cos(),
    "tanh": lambda xs, a: xs[0].tanh(),
    "sigmoid": lambda xs, a: xs[0].sigmoid(),
    "relu": lambda xs, a: xs[0].relu(),
    # x Phi(x) with Phi from erfc: torch's gelu, 0.5 x (1 + erf(x / sqrt 2)), cancels for x < -1
    # (4% off at x = -5 in float32, 0 instead of -7.6e-23 at x = -10 even in float64)
    "gelu": lambda xs, a: xs[0] * 0.5 * torch.erfc(-xs[0] * 0.7071067811865476),
    "leaky_relu": lambda xs, a: torch.nn.functional.leaky_relu(xs[0], a[0]),
    "clamp": lambda xs, a: xs[0].clamp(a[0], a[1]),
    # reductions
    "sum": reduce_all_or_dim(lambda x: x.sum(), lambda x, dim, k: x.sum(dim, keepdim=k)),
    "mean": reduce_all_or_dim(lambda x: x.mean(), lambda x, dim, k: x.mean(dim, keepdim=k)),
    "prod": reduce_all_or_dim(lambda x: x.prod(), lambda x, dim, k: x.prod(dim, keepdim=k)),
    "max": maxmin(True),
    "min": maxmin(False),
    "argmax": lambda xs, a: torch.argmax(xs[0], d(a[0])) + 1,
    "argmin": lambda xs, a: torch.argmin(xs[0], d(a[0])) + 1,
    "var": varstd(False),
    "std": varstd(True),
    "norm": norm,
    "logsumexp": logsumexp,
    "softmax": lambda xs, a: torch.softmax(xs[0], d(a[0])),
    "log_softmax": lambda xs, a: torch.log_softmax(xs[0], d(a[0])),
    "cumsum": lambda xs, a: torch.cumsum(xs[0], d(a[0])),
    # linear algebra
    "matmul": lambda xs, a: torch.matmul(xs[0], xs[1]),
    "dot": lambda xs, a: torch.dot(xs[0], xs[1]),
    "outer": lambda xs, a: torch.outer(xs[0], xs[1]),
    "addmm": addmm,
    # views and copies (one case each; gradcheck covers them thoroughly)
    "permute_contiguous": lambda xs, a: xs[0].permute(2, 0, 1).contiguous(),
    "transpose_reshape": lambda xs, a: xs[0].transpose(0, 1).reshape(-1),
    "narrow_select": lambda xs, a: xs[0].narrow(1, 1, 2).select(0, 2),
    "expand": lambda xs, a: xs[0].expand(2, 3, 4),
    # indexing, joining, sorting
    "index_select": lambda xs, a: torch.index_select(xs[0], d(a[0]), xs[1] - 1),
    "gather": lambda xs, a: torch.gather(xs[0], d(a[0]), xs[1] - 1),
    "scatter_add": lambda xs, a: torch.scatter_add(xs[0], d(a[0]), xs[1] - 1, xs[2]),
    "masked_select": lambda xs, a: torch.masked_select(xs[0], xs[1]),
    "masked_fill": lambda xs, a: xs[0].masked_fill(xs[1], a[0]),
    "cat": lambda xs, a: torch.cat(xs, d(a[0])),
    "stack": lambda xs, a: torch.stack(xs, d(a[0])),
    "sort": sort,
    "topk": topk,
}

# ---- cases ----------------------------------------------------------------
CASES = []


def case(op, inputs, args=(), dtype=F32, name=None, exact_ref=False, strict=False):
    """exact_ref: the reference is computed in float64 and rounded to dtype (implies strict).
    strict: the test compares the output element by element with a relative tolerance
    (tiny results must be accurate too), instead of relative to the largest element."""
    shapes = " ".join((s[0] + str(list(np.shape(s[1])))) if s[0] in ("values", "index", "mask") else str(list(s[1]))
                      for s in inputs)
    name = name or f"{op} {shapes} {list(args)}"
    name = f"{name} {DTYPE_NAME[dtype]}"
    assert all(c["name"] != name for c in CASES), name
    CASES.append(dict(op=op, inputs=inputs, args=list(args), dtype=dtype, name=name, exact_ref=exact_ref,
                      strict=strict or exact_ref))


def both(*a, **k):
    case(*a, dtype=F32, **k)
    case(*a, dtype=F64, **k)


# binary: same shape, [3,1]x[1,4], [4] vs [3,4], [3,4] vs [4], 0-d vs [3,4]
BROADCASTS = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((4,), (3, 4)), ((3, 4), (4,)), ((), (3, 4)), ((2, 3, 1), (3, 4))]
for op in ["add", "sub", "mul", "div", "pow", "maximum", "minimum"]:
    for k, (sa, sb) in enumerate(BROADCASTS):
        if op == "pow":
            ins = [("uniform", sa, 0.5, 2.0), ("uniform", sb, -1.5, 1.5)]
        elif op == "div":
            ins = [("randn", sa), ("away", sb)]
        elif op in ("maximum", "minimum"):
            ins = [("signed", sa, 1.0, 3.0), ("uniform", sb, -0.9, 0.9)]
        else:
            ins = [("randn", sa), ("randn", sb)]
        (both if k == 1 else case)(op, ins)

for op, s in [("add_s", 2.5), ("sub_s", 1.5), ("mul_s", -3.0), ("div_s", 4.0), ("pow_s", 2.0), ("pow_s", 3.0),
              ("s_add", 2.5), ("s_sub", 1.5), ("s_mul", -3.0), ("s_div", 2.0), ("s_pow", 2.0)]:
    case(op, [("away", (2, 3))], [s])
both("pow_s", [("uniform", (2, 3), 0.5, 2.0)], [0.5])
case("pow_s", [("uniform", (2, 3), 0.5, 2.0)], [-1.5])
case("s_div", [("away", (2, 3))], [2.0], dtype=F64)
case("s_pow", [("away", (2, 3))], [2.0], dtype=F64)
COND = [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
both("where", [("mask", COND), ("randn", (3, 4)), ("randn", (3, 4))])
case("where", [("mask", COND), ("randn", (3, 1)), ("randn", (4,))])

UNARY_INPUT = {
    "log": ("uniform", (3, 4), 0.1, 5.0), "sqrt": ("uniform", (3, 4), 0.1, 5.0),
    "rsqrt": ("uniform", (3, 4), 0.1, 5.0), "log1p": ("uniform", (3, 4), -0.9, 5.0),
    "abs": ("away", (3, 4)), "relu": ("away", (3, 4)), "sigmoid": ("randn", (3, 4), 3.0),
    "gelu": ("randn", (3, 4), 2.0), "exp": ("randn", (3, 4), 2.0), "tanh": ("randn", (3, 4), 2.0),
    "sin": ("randn", (3, 4), 3.0), "cos": ("randn", (3, 4), 3.0),
}
for op in ["neg", "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu", "gelu"]:
    both(op, [UNARY_INPUT.get(op, ("randn", (3, 4)))])
both("leaky_relu", [("away", (3, 4))], [0.01])
case("leaky_relu", [("away", (3, 4))], [0.2])
both("clamp", [("values", [[-2, -0.7, -0.45, -0.1], [0.05, 0.2, 0.47, 0.55], [1.5, -0.3, 0.3, 3]])], [-0.5, 0.5])
# unary ops at extreme arguments: stable formulas (no overflow, no cancellation)
EXTREME = {
    "sigmoid": [-100, -30, -5, 0, 5, 30, 100],
    "tanh": [-50, -10, -1e-4, 0, 1e-4, 10, 50],
    "log1p": [-0.5, -1e-7, 1e-10, 1e-5, 1, 1e5, 1e30],
    "exp": [-100, -10, -1e-8, 0, 1e-8, 10, 80],
    "gelu": [-10, -5, -1e-3, 0, 1e-3, 5, 10],
    "log": [1e-30, 1e-5, 0.5, 1, 2, 1e5, 1e30],
    "sqrt": [1e-30, 1e-5, 0.5, 1, 2, 1e5, 1e30],
    "rsqrt": [1e-30, 1e-5, 0.5, 1, 2, 1e5, 1e30],
    "sin": [-100, -1e-8, 0, 1e-8, 1, 100, 1000],
}
for op, v in EXTREME.items():
    both(op, [("values", v)], name=f"{op} extreme", strict=True, exact_ref=op == "gelu")

# reductions
X34 = ("away", (3, 4))
for op in ["sum", "mean", "prod"]:
    both(op, [X34], [])
    both(op, [X34], [1])
    case(op, [X34], [2, True])
    case(op, [X34], [-1])
    case(op, [("away", (2, 3, 4))], [2])
for op in ["max", "min"]:
    both(op, [X34], [])
    both(op, [X34], [2])
    case(op, [X34], [1, True])
    case(op, [("randn", (2, 3, 4))], [-1])
both("argmax", [X34], [2])
case("argmin", [X34], [1])
for op in ["var", "std"]:
    both(op, [X34], [False, True, False])
    case(op, [X34], [False, False, False])
    both(op, [X34], [1, True, False])
    case(op, [X34], [2, False, True])
for p in [1, 2, 3, math.inf]:
    both("norm", [X34], [p])
    case("norm", [X34], [p, 2, False])
case("norm", [X34], [2, 1, True])
for op in ["logsumexp"]:
    both(op, [X34], [])
    both(op, [X34], [2])
    case(op, [X34], [1, True])
for op in ["softmax", "log_softmax", "cumsum"]:
    both(op, [X34], [2])
    case(op, [X34], [1])
    case(op, [("randn", (2, 3, 4))], [2])
# stability: large magnitudes, mixed across rows and columns
BIG = [[1000, 1001, 999, 998], [-1000, -1002, -1001, -999.5], [1e4, -1e4, 0, 5e3], [0, -200, -50, -1e-3]]
for op in ["softmax", "log_softmax"]:
    both(op, [("values", BIG)], [2], name=f"{op} large rows", strict=True)
    both(op, [("values", BIG)], [1], name=f"{op} large columns", strict=True)
both("logsumexp", [("values", BIG)], [2], name="logsumexp large rows", strict=True)
both("logsumexp", [("values", BIG)], [1], name="logsumexp large columns", strict=True)
both("logsumexp", [("values", [[88, 89, 90], [-103, -104, -120]])], [], name="logsumexp large all", strict=True)

# linear algebra
both("matmul", [("randn", (3, 4)), ("randn", (4, 5))])
case("matmul", [("randn", (2, 3, 4)), ("randn", (2, 4, 5))])
case("matmul", [("randn", (2, 3, 4)), ("randn", (4, 5))])
case("matmul", [("randn", (2, 1, 3, 4)), ("randn", (3, 4, 2))])
both("matmul", [("randn", (3, 4)), ("randn", (4,))])
both("matmul", [("randn", (4,)), ("randn", (4, 5))])
case("matmul", [("randn", (4,)), ("randn", (4,))])
case("matmul", [("randn", (2, 3, 4)), ("randn", (4,))])
case("matmul", [("randn", (5, 33)), ("randn", (33, 6))], name="matmul larger")
both("dot", [("randn", (5,)), ("randn", (5,))])
both("outer", [("randn", (3,)), ("randn", (4,))])
both("addmm", [("randn", (3, 5)), ("randn", (3, 4)), ("randn", (4, 5))], [1.0, 1.0])
both("addmm", [("randn", (5,)), ("randn", (3, 4)), ("randn", (4, 5))], [0.5, -2.0])

# views
case("permute_contiguous", [("randn", (2, 3, 4))])
case("transpose_reshape", [("randn", (3, 4))])
case("narrow_select", [("randn", (3, 4))])
case("expand", [("randn", (3, 1))])

# index ops
case("index_select", [("randn", (3, 4)), ("index", [3, 1, 3])], [1])
case("index_select", [("randn", (3, 4)), ("index", [4, 2])], [2])
both("gather", [("randn", (3, 4)), ("index", [[1, 4], [2, 2], [4, 3]])], [2])
case("gather", [("randn", (3, 4)), ("index", [[3, 1, 1, 2]])], [1])
both("scatter_add", [("randn", (3, 4)), ("index", [[1, 4], [2, 2], [4, 3]]), ("randn", (3, 2))], [2])
case("masked_select", [("randn", (3, 4)), ("mask", COND)])
case("masked_select", [("randn", (3, 4)), ("mask", [True, False, False, True])])
case("masked_fill", [("randn", (3, 4)), ("mask", COND)], [2.5])
both("cat", [("randn", (2, 4)), ("randn", (3, 4))], [1])
case("cat", [("randn", (3, 2)), ("randn", (3, 4)), ("randn", (3, 1))], [2])
case("stack", [("randn", (3, 4)), ("randn", (3, 4))], [1])
case("stack", [("randn", (3, 4)), ("randn", (3, 4))], [3])
both("sort", [("randn", (3, 5))], [2, False])
case("sort", [("randn", (3, 5))], [1, True])
both("topk", [("randn", (3, 5))], [2, 2, True])
case("topk", [("randn", (3, 5))], [2, 1, False])

# float32 accuracy over many elements: the exact answer (float64 rounded), where
# naive float32 accumulation drifts (0.1 summed 1e6 times gives ~100958)
N = 1000000
case("sum", [("tile", (N,), [0.1])], [], name="sum 1e6 x 0.1", exact_ref=True)
case("mean", [("tile", (N,), [0.1])], [], name="mean 1e6 x 0.1", exact_ref=True)
case("sum", [("tile", (N,), [0.1, 0.7, 1.3, 0.01, 3.1, 2.2, 0.5, 0.9])], [], name="sum 1e6 mixed", exact_ref=True)
case("sum", [("tile", (2, N // 2), [0.1])], [2], name="sum rows of 5e5", exact_ref=True)
case("sum", [("tile", (N // 2, 2), [0.1, 0.3])], [1], name="sum columns of 5e5 (strided)", exact_ref=True)
case("mean", [("tile", (N // 2, 2), [0.1, 0.3])], [1], name="mean columns of 5e5 (strided)", exact_ref=True)
case("var", [("tile", (N,), [1000.1, 1000.2, 1000.3, 1000.4])], [False, True, False], name="var 1e6 offset 1000",
     exact_ref=True)
case("std", [("tile", (N,), [1000.1, 1000.2, 1000.3, 1000.4])], [False, False, False], name="std 1e6 offset 1000",
     exact_ref=True)
case("norm", [("tile", (N,), [0.1, -0.2])], [2], name="norm 1e6", exact_ref=True)
case("dot", [("tile", (N,), [0.1, 0.3]), ("tile", (N,), [1.0, -0.5, 0.25, 2.0])], name="dot 1e6", exact_ref=True)
case("matmul", [("tile", (1, N // 2), [0.1, 0.3]), ("tile", (N // 2, 2), [1.0, -0.5, 0.25, 2.0])],
     name="matmul inner 5e5", exact_ref=True)
case("logsumexp", [("tile", (N // 4, 4), [0.1, -0.2, 5.0, 1000.0])], [1], name="logsumexp columns of 2.5e5",
     exact_ref=True)
case("softmax", [("tile", (2, N // 2), [1000.0, 1000.5, 999.0, 1001.0])], [2], name="softmax rows of 5e5",
     exact_ref=True)


# ---- running a case ---------------------------------------------------------
def tile_of(flat):
    """The shortest period p <= 64 with flat == tile(flat[:p]), or None."""
    n = flat.shape[0]
    for p in range(1, 65):
        if n % p == 0 and np.array_equal(np.tile(flat[:p], n // p), flat):
            return p
    return None


def runs_of(flat):
    """Run-length pairs [(value, count)] when there are at most 64 runs, or None."""
    cuts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    if len(cuts) >= 64:
        return None
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [flat.shape[0]]])
    return [(flat[a], b - a) for a, b in zip(starts, ends)]


def lit(v, dtype):
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if dtype in ("int64",):
        return str(int(v))
    v = float(v)
    if math.isnan(v):
        return "0/0"
    if math.isinf(v):
        return "math.huge" if v > 0 else "-math.huge"
    s = ("%.9g" if dtype == "float32" else "%.17g") % v
    return s


def tensor_lit(t, indent=""):
    """{shape = {...}, dtype = "...", data = {...}}; a big tensor has instead tile = {...} (its
    flat data is that pattern repeated) or runs = {{value, count}, ...} (run-length)."""
    t = t.detach()
    dt = DTYPE_NAME[t.dtype]
    shape = "{" + ", ".join(str(s) for s in t.shape) + "}"
    flat = t.reshape(-1).numpy()
    if flat.shape[0] > MAX_LITERAL:
        p = tile_of(flat)
        if p is not None:
            body = "tile = {" + ", ".join(lit(v, dt) for v in flat[:p]) + "}"
        else:
            runs = runs_of(flat)
            if runs is None:
                raise ValueError(f"tensor of {flat.shape[0]} elements is neither periodic nor a few runs")
            body = "runs = {" + ", ".join(f"{{{lit(v, dt)}, {n}}}" for v, n in runs) + "}"
    else:
        body = "data = {" + ", ".join(lit(v, dt) for v in flat) + "}"
    return f'{{shape = {shape}, dtype = "{dt}", {body}}}'


def args_lit(args):
    out = []
    for a in args:
        if isinstance(a, bool):
            out.append("true" if a else "false")
        elif isinstance(a, int):
            out.append(str(a))
        else:
            out.append(lit(a, "float64"))
    return "{" + ", ".join(out) + "}"


def as_list(r):
    return list(r) if isinstance(r, tuple) else [r]


def run_case(c):
    gen = torch.Generator().manual_seed(zlib.crc32(c["name"].encode()))
    xs = [make_input(s, c["dtype"], gen) for s in c["inputs"]]
    for x in xs:
        if x.is_floating_point():
            x.requires_grad_(True)
    outs = as_list(OPS[c["op"]](xs, c["args"]))
    out, extra = outs[0], outs[1:]
    w = None
    grads = []
    torch_out = None
    if out.is_floating_point():
        if out.numel() > MAX_LITERAL:
            # a short period, so that w and the gradients can be stored as tiles
            assert out.numel() % 4 == 0
            w = torch.randn(4, generator=gen, dtype=F64).to(out.dtype).repeat(out.numel() // 4).reshape(out.shape)
        else:
            w = torch.randn(tuple(out.shape), generator=gen, dtype=F64).to(out.dtype)
        if c["exact_ref"]:
            torch_out = out.detach()
            xs64 = [x.detach().double().requires_grad_(x.requires_grad) for x in xs]
            out64 = as_list(OPS[c["op"]](xs64, c["args"]))[0]
            (out64 * w.double()).sum().backward()
            out = out64.detach().to(out.dtype)
            grads = [x.grad.to(x0.dtype) if x.grad is not None else None for x, x0 in zip(xs64, xs)]
        else:
            (out * w).sum().backward()
            grads = [x.grad for x in xs]
    strict = ", strict = true" if c["strict"] else ""
    lines = [f'  {{name = "{c["name"]}", op = "{c["op"]}", args = {args_lit(c["args"])}{strict},']
    lines.append("    inputs = {" + ", ".join(tensor_lit(x) for x in xs) + "},")
    lines.append("    out = " + tensor_lit(out) + ",")
    if extra:
        lines.append("    extra = {" + ", ".join(tensor_lit(e) for e in extra) + "},")
    if w is not None:
        lines.append("    w = " + tensor_lit(w) + ",")
        lines.append("    grads = {" + ", ".join(tensor_lit(g) if g is not None else "false" for g in grads) + "},")
    if torch_out is not None:
        lines.append("    torch_out = " + tensor_lit(torch_out) + ",")
    lines.append("  },")
    return "\n".join(lines)


def main():
    torch.set_num_threads(1)
    body = [run_case(c) for c in CASES]
    text = "\n".join([
        "-- Generated by scripts/gen_op_fixtures.py: do not edit; run the script again.",
        "-- Reference values from PyTorch for tests/lua/test_ops_torch.lua.",
        "return {",
        f"  version = {VERSION},",
        f'  torch = "{torch.__version__}",',
        f'  numpy = "{np.__version__}",',
        "  cases = {",
        *body,
        "  },",
        "}",
        "",
    ])
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}: {len(CASES)} cases, {len(text)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
