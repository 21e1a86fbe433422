#!/usr/bin/python3
"""Reference values for tests/lua/test_nn_layers.lua and test_nn_losses.lua, from PyTorch.

    scripts/gen_nn_fixtures.py        writes tests/fixtures/nn/layers.lua and tests/fixtures/nn/losses.lua

Layer cases: a torch module in float64 with its own initial weights, an
input, the output, a fixed weight w and the gradients of (out * w).sum()
with respect to the input and every parameter. The weights are stored under
moonlab's names (Sequential children are 1..n, not 0..n-1) so the test loads
them with load_state_dict and runs the same module built from `ctor`, a
moonlab expression. BatchNorm cases also store the running statistics after
the training step and the output of a second forward in eval mode.

Loss cases: input, target, the loss, w and the gradient of (loss * w).sum()
with respect to the input (and to the target where PyTorch has one).
Class labels are written 1-based, as moonlab takes them; torch gets them
minus one. Numbers are Lua literals (%.17g, exact for float64 and float32).

Made with Debian's python3-torch; the torch version is recorded in the files.
"""
import os
import zlib

import torch
import torch.nn as tnn
import torch.nn.functional as F

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "nn")
F64, F32 = torch.float64, torch.float32
DTYPE_NAME = {F32: "float32", F64: "float64", torch.int64: "int64"}


# ---- Lua literals -------------------------------------------------------
def num(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if v != v:
        return "0/0"
    if v in (float("inf"), float("-inf")):
        return "math.huge" if v > 0 else "-math.huge"
    s = "%.17g" % v
    if "." not in s and "e" not in s and "n" not in s:
        s += ".0"
    return s


def tensor(t, plus_one=False):
    t = t.detach()
    data = t.reshape(-1).tolist()
    if plus_one:
        data = [int(v) + 1 for v in data]
    return "{shape={%s}, dtype=%q, data={%s}}".replace("%q", '"%s"') % (
        ", ".join(str(s) for s in t.shape), DTYPE_NAME[t.dtype], ", ".join(num(v) for v in data))


def lua_value(v, indent="  "):
    if isinstance(v, torch.Tensor):
        return tensor(v)
    if isinstance(v, Labels):
        return tensor(v.t, plus_one=True)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (bool, int, float)):
        return num(v)
    if v is None:
        return "nil"
    if isinstance(v, dict):
        inner = indent + "  "
        items = []
        for k in sorted(v):
            key = k if k.isidentifier() else '["%s"]' % k
            items.append("%s%s = %s" % (inner, key, lua_value(v[k], inner)))
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua_value(x, indent) for x in v) + "}"
    raise TypeError(type(v))


class Labels:
    """int64 class labels, 0-based in torch, written 1-based for moonlab."""

    def __init__(self, t):
        self.t = t


def write(path, cases, what):
    with open(path, "w") as f:
        f.write("-- %s fixtures for moonlab, written by scripts/gen_nn_fixtures.py (do not edit)\n" % what)
        f.write("return {\n  version = %d,\n  torch = \"%s\",\n  cases = {\n" % (VERSION, torch.__version__))
        for c in cases:
            f.write("    " + lua_value(c, "    ") + ",\n")
        f.write("  },\n}\n")
    print("wrote", os.path.relpath(path, ROOT), len(cases), "cases")


# ---- layers ---------------------------------------------------------------
def away(shape, gen, margin=0.2):
    x = torch.randn(shape, generator=gen, dtype=F64)
    return torch.where(x >= 0, x + margin, x - margin)


def layer_case(name, ctor, module, x, names=None, eval_after=False, bn_stats=None, int_input=False, grad_tol=None):
    """Runs module on x (training mode) and records everything."""
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    module = module.to(F64)
    if bn_stats is not None:  # random running statistics, for an eval-mode case
        with torch.no_grad():
            module.running_mean.copy_(torch.randn(module.num_features, generator=gen, dtype=F64))
            module.running_var.copy_(torch.rand(module.num_features, generator=gen, dtype=F64) + 0.5)
        module.eval()
    sd = {}
    for k, v in module.state_dict().items():
        key = names(k) if names else k
        sd[key] = v.detach().clone()
    if not int_input:
        x = x.clone().requires_grad_(True)
    out = module(x)
    w = torch.randn(out.shape, generator=gen, dtype=F64)
    (out * w).sum().backward()
    case = {
        "name": name, "ctor": ctor, "state": sd,
        "input": Labels(x) if int_input else x.detach(),
        "output": out.detach(), "w": w, "train": bn_stats is None,
    }
    if not int_input:
        case["grad_input"] = x.grad
    grads = {}
    for k, p in module.named_parameters():
        grads[names(k) if names else k] = p.grad if p.grad is not None else torch.zeros_like(p)
    case["grads"] = grads
    if hasattr(module, "running_mean") and module.running_mean is not None and bn_stats is None:
        case["running_mean"] = module.running_mean.detach().clone()
        case["running_var"] = module.running_var.detach().clone()
        if eval_after:
            module.eval()
            with torch.no_grad():
                case["eval_output"] = module(x.detach())
    if grad_tol:
        case["tol"] = grad_tol
    return case


def seq_names(k):
    i, rest = k.split(".", 1)
    return "%d.%s" % (int(i) + 1, rest)


def layers():
    torch.manual_seed(20240611)
    g = torch.Generator().manual_seed(7)
    C = []
    C.append(layer_case("Linear 2-D", 'nn.Linear(5, 3, {dtype="float64"})', tnn.Linear(5, 3),
                        torch.randn(4, 5, generator=g, dtype=F64)))
    C.append(layer_case("Linear 3-D", 'nn.Linear(5, 3, {dtype="float64"})', tnn.Linear(5, 3),
                        torch.randn(2, 3, 5, generator=g, dtype=F64)))
    C.append(layer_case("Linear 1-D", 'nn.Linear(5, 3, {dtype="float64"})', tnn.Linear(5, 3),
                        torch.randn(5, generator=g, dtype=F64)))
    C.append(layer_case("Linear no bias", 'nn.Linear(5, 3, {bias=false, dtype="float64"})',
                        tnn.Linear(5, 3, bias=False), torch.randn(4, 5, generator=g, dtype=F64)))
    acts = [
        ("ReLU", "nn.ReLU()", tnn.ReLU()),
        ("LeakyReLU", "nn.LeakyReLU(0.2)", tnn.LeakyReLU(0.2)),
        ("ELU", "nn.ELU(0.7)", tnn.ELU(0.7)),
        ("GELU", "nn.GELU()", tnn.GELU()),
        ("GELU tanh", 'nn.GELU({approximate="tanh"})', tnn.GELU(approximate="tanh")),
        ("SiLU", "nn.SiLU()", tnn.SiLU()),
        ("Sigmoid", "nn.Sigmoid()", tnn.Sigmoid()),
        ("Tanh", "nn.Tanh()", tnn.Tanh()),
        ("Softmax", "nn.Softmax(2)", tnn.Softmax(dim=1)),
        ("LogSoftmax", "nn.LogSoftmax(-1)", tnn.LogSoftmax(dim=-1)),
        ("Softmax dim 1", "nn.Softmax(1)", tnn.Softmax(dim=0)),
        ("Identity", "nn.Identity()", tnn.Identity()),
    ]
    for name, ctor, m in acts:
        C.append(layer_case(name, ctor, m, away((4, 6), g) * 2))
    C.append(layer_case("Flatten", "nn.Flatten()", tnn.Flatten(), torch.randn(2, 3, 4, generator=g, dtype=F64)))
    C.append(layer_case("Flatten 1..2", "nn.Flatten({start_dim=1, end_dim=2})", tnn.Flatten(0, 1),
                        torch.randn(2, 3, 4, generator=g, dtype=F64)))
    C.append(layer_case("Reshape", "nn.Reshape(2, 3)", tnn.Unflatten(1, (2, 3)),
                        torch.randn(4, 6, generator=g, dtype=F64)))
    # BatchNorm1d: training (2-D and 3-D), eval with given running stats, no affine
    for name, ctor, m, x in [
        ("BatchNorm1d 2-D", 'nn.BatchNorm1d(4, {dtype="float64"})', tnn.BatchNorm1d(4),
         torch.randn(6, 4, generator=g, dtype=F64) * 2 + 1),
        ("BatchNorm1d 3-D", 'nn.BatchNorm1d(3, {momentum=0.3, dtype="float64"})', tnn.BatchNorm1d(3, momentum=0.3),
         torch.randn(4, 3, 5, generator=g, dtype=F64) - 0.5),
        ("BatchNorm1d no affine", 'nn.BatchNorm1d(4, {affine=false, eps=1e-3, dtype="float64"})',
         tnn.BatchNorm1d(4, affine=False, eps=1e-3), torch.randn(5, 4, generator=g, dtype=F64)),
    ]:
        with torch.no_grad():  # non-trivial affine parameters
            if m.affine:
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g))
        C.append(layer_case(name, ctor, m, x, eval_after=True))
    m = tnn.BatchNorm1d(4)
    with torch.no_grad():
        m.weight.copy_(torch.rand(4, generator=g) + 0.5)
        m.bias.copy_(torch.randn(4, generator=g))
    C.append(layer_case("BatchNorm1d eval", 'nn.BatchNorm1d(4, {dtype="float64"})', m,
                        torch.randn(5, 4, generator=g, dtype=F64), bn_stats=True))
    m = tnn.BatchNorm1d(3)
    C.append(layer_case("BatchNorm1d eval 3-D", 'nn.BatchNorm1d(3, {dtype="float64"})', m,
                        torch.randn(2, 3, 4, generator=g, dtype=F64), bn_stats=True))
    # LayerNorm
    for name, ctor, m, x in [
        ("LayerNorm", 'nn.LayerNorm(6, {dtype="float64"})', tnn.LayerNorm(6), torch.randn(3, 6, generator=g, dtype=F64)),
        ("LayerNorm 2 dims", 'nn.LayerNorm({4, 5}, {eps=1e-3, dtype="float64"})', tnn.LayerNorm((4, 5), eps=1e-3),
         torch.randn(2, 4, 5, generator=g, dtype=F64) * 3),
        ("LayerNorm no affine", 'nn.LayerNorm(6, {elementwise_affine=false, dtype="float64"})',
         tnn.LayerNorm(6, elementwise_affine=False), torch.randn(2, 2, 6, generator=g, dtype=F64)),
    ]:
        with torch.no_grad():
            if m.elementwise_affine:
                m.weight.copy_(torch.rand(m.normalized_shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.normalized_shape, generator=g))
        C.append(layer_case(name, ctor, m, x))
    # Embedding
    idx = torch.tensor([[0, 1, 2], [5, 0, 1]])
    C.append(layer_case("Embedding", 'nn.Embedding(7, 4, {dtype="float64"})', tnn.Embedding(7, 4), idx, int_input=True))
    C.append(layer_case("Embedding padding", 'nn.Embedding(7, 4, {padding_idx=2, dtype="float64"})',
                        tnn.Embedding(7, 4, padding_idx=1), idx, int_input=True))
    # Sequential
    C.append(layer_case("Sequential MLP",
                        'nn.Sequential{nn.Linear(6, 8, {dtype="float64"}), nn.Tanh(), nn.Linear(8, 3, {dtype="float64"})}',
                        tnn.Sequential(tnn.Linear(6, 8), tnn.Tanh(), tnn.Linear(8, 3)),
                        torch.randn(5, 6, generator=g, dtype=F64), names=seq_names))
    C.append(layer_case("Sequential BN",
                        'nn.Sequential{nn.Linear(4, 5, {dtype="float64"}), nn.BatchNorm1d(5, {dtype="float64"}), nn.ReLU(), nn.Linear(5, 2, {dtype="float64"})}',
                        tnn.Sequential(tnn.Linear(4, 5), tnn.BatchNorm1d(5), tnn.ReLU(), tnn.Linear(5, 2)),
                        torch.randn(6, 4, generator=g, dtype=F64), names=seq_names))
    return C


# ---- losses -----------------------------------------------------------------
def loss_case(name, ctor, fn, x, y, target_grad=False, dtype=F64):
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    x = x.to(dtype).clone().requires_grad_(True)
    is_labels = isinstance(y, Labels)
    yt = y.t if is_labels else y.to(dtype).clone()
    if target_grad:
        yt.requires_grad_(True)
    out = fn(x, yt)
    w = torch.randn(out.shape, generator=gen, dtype=F64).to(dtype)
    (out * w).sum().backward()
    case = {"name": name, "ctor": ctor, "input": x.detach(), "target": y if is_labels else yt.detach(),
            "output": out.detach(), "w": w, "grad_input": x.grad}
    if target_grad:
        case["grad_target"] = yt.grad
    return case


def losses():
    g = torch.Generator().manual_seed(11)
    C = []
    rn = lambda *s: torch.randn(*s, generator=g, dtype=F64)
    rand = lambda *s: torch.rand(*s, generator=g, dtype=F64)
    labels = lambda n, c: Labels(torch.randint(0, c, (n,), generator=g))

    for red in ["mean", "sum", "none"]:
        C.append(loss_case("MSELoss " + red, 'nn.MSELoss({reduction="%s"})' % red,
                           lambda x, y, r=red: F.mse_loss(x, y, reduction=r), rn(4, 3), rn(4, 3), target_grad=True))
    C.append(loss_case("L1Loss", "nn.L1Loss()", F.l1_loss, rn(4, 3), rn(4, 3), target_grad=True))
    C.append(loss_case("L1Loss none", 'nn.L1Loss({reduction="none"})', lambda x, y: F.l1_loss(x, y, reduction="none"),
                       rn(5), rn(5)))
    C.append(loss_case("HuberLoss", "nn.HuberLoss()", F.huber_loss, rn(4, 3) * 2, rn(4, 3)))
    C.append(loss_case("HuberLoss delta", 'nn.HuberLoss({delta=0.5, reduction="sum"})',
                       lambda x, y: F.huber_loss(x, y, delta=0.5, reduction="sum"), rn(4, 3) * 2, rn(4, 3)))
    C.append(loss_case("SmoothL1Loss", "nn.SmoothL1Loss()", F.smooth_l1_loss, rn(4, 3) * 2, rn(4, 3)))
    C.append(loss_case("SmoothL1Loss beta", 'nn.SmoothL1Loss({beta=0.5, reduction="none"})',
                       lambda x, y: F.smooth_l1_loss(x, y, beta=0.5, reduction="none"), rn(4, 3) * 2, rn(4, 3)))

    # cross-entropy
    wts = rand(5) + 0.5
    ce = lambda **kw: (lambda x, y: F.cross_entropy(x, y, **kw))
    C.append(loss_case("CrossEntropyLoss", "nn.CrossEntropyLoss()", ce(), rn(6, 5) * 2, labels(6, 5)))
    C.append(loss_case("CrossEntropyLoss sum", 'nn.CrossEntropyLoss({reduction="sum"})', ce(reduction="sum"),
                       rn(6, 5), labels(6, 5)))
    C.append(loss_case("CrossEntropyLoss none", 'nn.CrossEntropyLoss({reduction="none"})', ce(reduction="none"),
                       rn(6, 5), labels(6, 5)))
    C.append(loss_case("CrossEntropyLoss weight", "nn.CrossEntropyLoss({weight=W})", ce(weight=wts),
                       rn(6, 5), labels(6, 5)) | {"weight": wts})
    C.append(loss_case("CrossEntropyLoss smoothing", "nn.CrossEntropyLoss({label_smoothing=0.1})",
                       ce(label_smoothing=0.1), rn(6, 5), labels(6, 5)))
    y = torch.tensor([0, 2, 1, 2, 4, 2])
    C.append(loss_case("CrossEntropyLoss ignore_index", "nn.CrossEntropyLoss({ignore_index=3})",
                       ce(ignore_index=2), rn(6, 5), Labels(y)))
    C.append(loss_case("CrossEntropyLoss weight smoothing ignore",
                       "nn.CrossEntropyLoss({weight=W, label_smoothing=0.2, ignore_index=3})",
                       ce(weight=wts, label_smoothing=0.2, ignore_index=2), rn(6, 5), Labels(y)) | {"weight": wts})
    C.append(loss_case("CrossEntropyLoss smoothing ignore", "nn.CrossEntropyLoss({label_smoothing=0.2, ignore_index=3})",
                       ce(label_smoothing=0.2, ignore_index=2), rn(6, 5), Labels(y)))
    C.append(loss_case("CrossEntropyLoss smoothing ignore none",
                       'nn.CrossEntropyLoss({label_smoothing=0.2, ignore_index=3, reduction="none"})',
                       ce(label_smoothing=0.2, ignore_index=2, reduction="none"), rn(6, 5), Labels(y)))
    C.append(loss_case("CrossEntropyLoss N-d", "nn.CrossEntropyLoss({weight=W})", ce(weight=wts),
                       rn(2, 5, 3), Labels(torch.randint(0, 5, (2, 3), generator=g))) | {"weight": wts})
    C.append(loss_case("CrossEntropyLoss N-d none", 'nn.CrossEntropyLoss({reduction="none", label_smoothing=0.1})',
                       ce(reduction="none", label_smoothing=0.1), rn(2, 5, 2, 2),
                       Labels(torch.randint(0, 5, (2, 2, 2), generator=g))))
    C.append(loss_case("CrossEntropyLoss extreme logits", "nn.CrossEntropyLoss()", ce(),
                       torch.tensor([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0], [0.0, 0.0, 0.0]], dtype=F64),
                       Labels(torch.tensor([1, 2, 0]))))
    C.append(loss_case("CrossEntropyLoss float32", "nn.CrossEntropyLoss({label_smoothing=0.05})",
                       ce(label_smoothing=0.05), rn(8, 10) * 3, labels(8, 10), dtype=F32))
    C.append(loss_case("CrossEntropyLoss unbatched", "nn.CrossEntropyLoss()", ce(), rn(5),
                       Labels(torch.tensor(3))))
    p = torch.softmax(rn(4, 5), 1)
    C.append(loss_case("CrossEntropyLoss probabilities", "nn.CrossEntropyLoss({label_smoothing=0.1})",
                       ce(label_smoothing=0.1), rn(4, 5), p))
    C.append(loss_case("CrossEntropyLoss probabilities weight", "nn.CrossEntropyLoss({weight=W})",
                       ce(weight=wts), rn(4, 5), p) | {"weight": wts})

    # NLL
    nll = lambda **kw: (lambda x, y: F.nll_loss(x, y, **kw))
    lp = lambda *s: torch.log_softmax(rn(*s), 1)
    C.append(loss_case("NLLLoss", "nn.NLLLoss()", nll(), lp(6, 5), labels(6, 5)))
    C.append(loss_case("NLLLoss weight ignore", "nn.NLLLoss({weight=W, ignore_index=3})",
                       nll(weight=wts, ignore_index=2), lp(6, 5), Labels(y)) | {"weight": wts})
    C.append(loss_case("NLLLoss none", 'nn.NLLLoss({weight=W, reduction="none"})', nll(weight=wts, reduction="none"),
                       lp(6, 5), labels(6, 5)) | {"weight": wts})
    C.append(loss_case("NLLLoss N-d sum", 'nn.NLLLoss({reduction="sum"})', nll(reduction="sum"), lp(2, 5, 3),
                       Labels(torch.randint(0, 5, (2, 3), generator=g))))

    # BCE
    bw = rand(3) + 0.5
    C.append(loss_case("BCELoss", "nn.BCELoss()", F.binary_cross_entropy, rand(4, 3) * 0.98 + 0.01, rand(4, 3)))
    C.append(loss_case("BCELoss weight none", 'nn.BCELoss({weight=W, reduction="none"})',
                       lambda x, y: F.binary_cross_entropy(x, y, weight=bw, reduction="none"),
                       rand(4, 3) * 0.98 + 0.01, (rand(4, 3) > 0.5).to(F64)) | {"weight": bw})
    bce = lambda **kw: (lambda x, y: F.binary_cross_entropy_with_logits(x, y, **kw))
    C.append(loss_case("BCEWithLogitsLoss", "nn.BCEWithLogitsLoss()", bce(), rn(4, 3) * 3, rand(4, 3),
                       target_grad=True))
    C.append(loss_case("BCEWithLogitsLoss pos_weight", "nn.BCEWithLogitsLoss({pos_weight=PW})",
                       bce(pos_weight=bw), rn(4, 3) * 3, rand(4, 3), target_grad=True) | {"pos_weight": bw})
    C.append(loss_case("BCEWithLogitsLoss weight pos_weight sum",
                       'nn.BCEWithLogitsLoss({weight=W, pos_weight=PW, reduction="sum"})',
                       bce(weight=bw, pos_weight=bw * 2, reduction="sum"), rn(4, 3) * 3, rand(4, 3))
              | {"weight": bw, "pos_weight": bw * 2})
    C.append(loss_case("BCEWithLogitsLoss extreme none", 'nn.BCEWithLogitsLoss({reduction="none"})',
                       bce(reduction="none"), torch.tensor([-200.0, -50.0, -1e-3, 0.0, 30.0, 800.0], dtype=F64),
                       torch.tensor([1.0, 0.0, 1.0, 0.5, 0.0, 1.0], dtype=F64)))

    # KL divergence
    kl = lambda **kw: (lambda x, y: F.kl_div(x, y, **kw))
    t = torch.softmax(rn(4, 5), 1)
    t[0, 1] = 0.0
    C.append(loss_case("KLDivLoss batchmean", 'nn.KLDivLoss({reduction="batchmean"})', kl(reduction="batchmean"),
                       lp(4, 5), t))
    C.append(loss_case("KLDivLoss mean", "nn.KLDivLoss()", kl(), lp(4, 5), t))
    C.append(loss_case("KLDivLoss log_target none", 'nn.KLDivLoss({reduction="none", log_target=true})',
                       kl(reduction="none", log_target=True), lp(4, 5), torch.log_softmax(rn(4, 5), 1),
                       target_grad=True))
    return C


if __name__ == "__main__":
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_num_threads(1)
    write(os.path.join(OUT_DIR, "layers.lua"), layers(), "nn layer")
    write(os.path.join(OUT_DIR, "losses.lua"), losses(), "nn loss")
