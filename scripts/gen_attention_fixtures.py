#!/usr/bin/python3
"""Reference values for tests/lua/test_attention.lua, from PyTorch.

    scripts/gen_attention_fixtures.py     writes tests/fixtures/attention/attention.lua

SDPA cases: q, k, v in float64, a mask (none, bool (true takes part), float
added, causal), the output of softmax(q k^T / sqrt(E) + mask) v and the
gradients of (out * w).sum() with respect to q, k and v. (PyTorch 1.13 has
no F.scaled_dot_product_attention; the reference is the same formula in
torch ops, with autograd.)

Module cases: a torch module in float64 (MultiheadAttention, the encoder
and decoder layers pre and post norm, a small nn.Transformer), its weights
under moonlab's names (ModuleList children are 1..n), the inputs and masks
(bool masks are true where attention is not allowed, as PyTorch's modules),
the output (and MultiheadAttention's averaged weights), and the gradients of
(out * w).sum() with respect to the inputs and every parameter. Dropout is 0
so the values are deterministic. Numbers are Lua literals (%.17g).

Made with Debian's python3-torch; the torch version is recorded in the file.
"""
import math
import os
import re

import torch
import torch.nn as tnn

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "attention", "attention.lua")
F64 = torch.float64
DTYPE_NAME = {torch.float32: "float32", F64: "float64", torch.int64: "int64", torch.bool: "bool"}


def num(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if v in (float("inf"), float("-inf")):
        return "math.huge" if v > 0 else "-math.huge"
    s = "%.17g" % v
    if "." not in s and "e" not in s and "n" not in s:
        s += ".0"
    return s


def lua(v, indent="  "):
    if isinstance(v, torch.Tensor):
        t = v.detach()
        return '{shape={%s}, dtype="%s", data={%s}}' % (
            ", ".join(str(s) for s in t.shape), DTYPE_NAME[t.dtype], ", ".join(num(x) for x in t.reshape(-1).tolist()))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (bool, int, float)):
        return num(v)
    if isinstance(v, dict):
        inner = indent + "  "
        items = ["%s%s = %s" % (inner, k if k.isidentifier() else '["%s"]' % k, lua(v[k], inner)) for k in sorted(v)]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x, indent) for x in v) + "}"
    raise TypeError(type(v))


def moonlab_name(name):
    # ModuleList children: torch 0..n-1, moonlab 1..n
    return re.sub(r"\.layers\.(\d+)\.", lambda m: ".layers.%d." % (int(m.group(1)) + 1), name)


def sdpa_case(name, shape_q, shape_k, ev, mask=None, causal=False, mask_kind="none"):
    q = torch.randn(*shape_q, dtype=F64, requires_grad=True)
    k = torch.randn(*shape_k, dtype=F64, requires_grad=True)
    v = torch.randn(*shape_k[:-1], ev, dtype=F64, requires_grad=True)
    s = q @ k.transpose(-2, -1) / math.sqrt(shape_q[-1])
    L, S = shape_q[-2], shape_k[-2]
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
    if causal:
        s = s.masked_fill(torch.ones(L, S, dtype=torch.bool).triu(1), float("-inf"))
    out = torch.softmax(s, -1) @ v
    w = torch.randn(out.shape, dtype=F64)
    (out * w).sum().backward()
    c = {"name": name, "q": q, "k": k, "v": v, "output": out, "w": w, "grad_q": q.grad, "grad_k": k.grad,
         "grad_v": v.grad, "causal": causal}
    if mask is not None:
        c["mask"] = mask
    return c


def module_case(name, ctor, m, inputs, call, kwargs=None, masks=None):
    """inputs: list of tensors (require grad); call(m, *inputs) -> out or (out, weights)."""
    m = m.double()
    inputs = [x.detach().clone().requires_grad_(True) for x in inputs]
    r = call(m, *inputs)
    out, weights = (r if isinstance(r, tuple) else (r, None))
    w = torch.randn(out.shape, dtype=F64)
    (out * w).sum().backward()
    c = {"name": name, "ctor": ctor, "inputs": inputs, "output": out, "w": w,
         "grad_inputs": [x.grad for x in inputs],
         "state": {moonlab_name(k): v for k, v in m.state_dict().items()},
         "grads": {moonlab_name(k): p.grad for k, p in m.named_parameters()},
         "opts": kwargs or {}}
    if weights is not None:
        c["weights"] = weights
    return c


def main():
    torch.manual_seed(20261202)
    cases = []
    # ---- SDPA ----
    cases.append(sdpa_case("sdpa plain", (2, 3, 4, 5), (2, 3, 6, 5), 7))
    cases.append(sdpa_case("sdpa bool mask", (2, 3, 4, 5), (2, 3, 6, 5), 7,
                           mask=torch.rand(4, 6) > 0.3))
    cases.append(sdpa_case("sdpa float mask", (2, 3, 4, 5), (2, 3, 6, 5), 3,
                           mask=torch.randn(2, 1, 4, 6, dtype=F64)))
    cases.append(sdpa_case("sdpa causal", (3, 5, 4), (3, 5, 4), 4, causal=True))
    cases.append(sdpa_case("sdpa causal rectangular", (2, 3, 6), (2, 5, 6), 2, causal=True))

    # ---- MultiheadAttention ----
    E, H, N, L, S = 8, 2, 3, 5, 4
    m = tnn.MultiheadAttention(E, H)
    q, kv = torch.randn(L, N, E, dtype=F64), torch.randn(S, N, E, dtype=F64)
    kpm = torch.zeros(N, S, dtype=torch.bool)
    kpm[0, 3] = True
    kpm[2, 0] = True
    am = torch.rand(L, S) > 0.8
    am[:, 1] = False  # every row keeps a key
    cases.append(module_case("mha cross, masks, need_weights", 'nn.MultiheadAttention(8, 2, {dtype="float64"})', m,
                             [q, kv, kv],
                             lambda m, a, b, c: m(a, b, c, key_padding_mask=kpm, attn_mask=am),
                             {"key_padding_mask": kpm, "attn_mask": am}))
    m = tnn.MultiheadAttention(E, H, batch_first=True)
    x = torch.randn(N, L, E, dtype=F64)
    fm = torch.randn(N * H, L, L, dtype=F64)
    cases.append(module_case("mha self, batch_first, 3-D float mask, per-head weights",
                             'nn.MultiheadAttention(8, 2, {batch_first=true, dtype="float64"})', m, [x],
                             lambda m, a: m(a, a, a, attn_mask=fm, average_attn_weights=False),
                             {"attn_mask": fm, "average_attn_weights": False, "self": True}))
    m = tnn.MultiheadAttention(E, 4, bias=False)
    cases.append(module_case("mha no bias, need_weights=false", 'nn.MultiheadAttention(8, 4, {bias=false, dtype="float64"})', m,
                             [q, kv, torch.randn(S, N, E, dtype=F64)],
                             lambda m, a, b, c: m(a, b, c, need_weights=False)[0], {"need_weights": False}))

    # ---- encoder and decoder layers ----
    for norm_first in (False, True):
        for act in ("relu", "gelu"):
            tag = "%s-norm %s" % ("pre" if norm_first else "post", act)
            m = tnn.TransformerEncoderLayer(E, H, dim_feedforward=12, dropout=0.0, activation=act,
                                            norm_first=norm_first, batch_first=True)
            ctor = 'nn.TransformerEncoderLayer(8, 2, {dim_feedforward=12, dropout=0, activation="%s", norm_first=%s, batch_first=true, dtype="float64"})' % (act, "true" if norm_first else "false")
            x = torch.randn(N, L, E, dtype=F64)
            skpm = torch.zeros(N, L, dtype=torch.bool)
            skpm[1, 4] = True
            cases.append(module_case("encoder layer " + tag, ctor, m, [x],
                                     lambda m, a: m(a, src_key_padding_mask=skpm), {"src_key_padding_mask": skpm}))
        m = tnn.TransformerDecoderLayer(E, H, dim_feedforward=12, dropout=0.0, norm_first=norm_first)
        ctor = 'nn.TransformerDecoderLayer(8, 2, {dim_feedforward=12, dropout=0, norm_first=%s, dtype="float64"})' % ("true" if norm_first else "false")
        tgt, mem = torch.randn(L, N, E, dtype=F64), torch.randn(S, N, E, dtype=F64)
        tmask = tnn.Transformer.generate_square_subsequent_mask(L).double()
        mkpm = torch.zeros(N, S, dtype=torch.bool)
        mkpm[0, 0] = True
        cases.append(module_case("decoder layer %s-norm causal" % ("pre" if norm_first else "post"), ctor, m, [tgt, mem],
                                 lambda m, a, b: m(a, b, tgt_mask=tmask, memory_key_padding_mask=mkpm),
                                 {"tgt_mask": tmask, "memory_key_padding_mask": mkpm}))

    # ---- a small Transformer ----
    m = tnn.Transformer(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=12,
                        dropout=0.0, batch_first=True)
    ctor = 'nn.Transformer({d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=12, dropout=0, batch_first=true, dtype="float64"})'
    src, tgt = torch.randn(N, L, E, dtype=F64), torch.randn(N, S, E, dtype=F64)
    tmask = tnn.Transformer.generate_square_subsequent_mask(S).double()
    cases.append(module_case("transformer", ctor, m, [src, tgt], lambda m, a, b: m(a, b, tgt_mask=tmask),
                             {"tgt_mask": tmask}))

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("-- attention fixtures for moonlab, written by scripts/gen_attention_fixtures.py (do not edit)\n")
        f.write("return " + lua({"version": VERSION, "torch": torch.__version__, "cases": cases}, "") + "\n")
    print("wrote", OUT, len(cases), "cases")


if __name__ == "__main__":
    main()
