#!/usr/bin/python3
"""Reference values for tests/lua/test_optim.lua, from PyTorch.

    scripts/gen_optim_fixtures.py      writes tests/fixtures/optim/optimizers.lua
                                       and tests/fixtures/optim/schedules.lua

optimizers.lua: for each case, the initial parameters, the gradients given
at each of 3 steps (set as p.grad directly; `false` means grad None, so the
step skips that parameter) or a tiny deterministic loss whose backward makes
them, and the parameters after steps 1, 2 and 3 of torch.optim. Cases cover
every optimizer and its options (momentum, dampening, nesterov, weight
decay, amsgrad, centered, lr_decay, maximize), parameter groups with
different options, float32 and float64, and mixed dtypes in one group.

schedules.lua: for each schedule, the learning rates (and the momentum that
OneCycleLR cycles) after construction and after each of 30 steps, for an
optimizer with two parameter groups; ReduceLROnPlateau gets a fixed metric
sequence.

Numbers are Lua literals: %.9g for float32 (exact round trip), %.17g for
float64 and for learning rates. Made with Debian's python3-torch; the torch
version is recorded in each file.
"""
import math
import os
import zlib

import torch
from torch.optim import lr_scheduler as S

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "optim")
F32, F64 = torch.float32, torch.float64
NAME = {F32: "float32", F64: "float64"}


# ---- Lua literals ---------------------------------------------------------
def lua(v, fmt="%.17g"):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "nil"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "math.huge" if v > 0 else "-math.huge"
        s = repr(v) if fmt == "%.17g" else fmt % v
        if "." not in s and "e" not in s and "inf" not in s and "nan" not in s:
            s += ".0"
        return s
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x, fmt) for x in v) + "}"
    if isinstance(v, dict):
        parts = []
        for k, x in v.items():
            key = k if k.isidentifier() else "[" + lua(k) + "]"
            parts.append("%s = %s" % (key, lua(x, fmt)))
        return "{" + ", ".join(parts) + "}"
    raise TypeError(type(v))


def values(t):
    fmt = "%.9g" if t.dtype == F32 else "%.17g"
    return "{" + ", ".join(lua(float(x), fmt) for x in t.detach().reshape(-1).tolist()) + "}"


def gen_for(name):
    g = torch.Generator()
    g.manual_seed(zlib.crc32(name.encode()))
    return g


# ---- optimizers ------------------------------------------------------------
OPT = {
    "SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW,
    "RMSprop": torch.optim.RMSprop, "Adagrad": torch.optim.Adagrad,
}
SHAPES = [(3, 4), (4,), (2, 1, 3)]


def opt_case(name, cls, opts, dtype=F32, groups=None, dtypes=None, skip=None, loss=False, shapes=SHAPES):
    """groups: list of (param indices 1-based, options) or None (one group).
    dtypes: per-parameter dtype (default: dtype for all).
    skip: {step: [param indices]} given grad None at that step."""
    gen = gen_for(name)
    dtypes = dtypes or [dtype] * len(shapes)
    params = [torch.randn(s, generator=gen, dtype=F64).to(dt).requires_grad_() for s, dt in zip(shapes, dtypes)]
    init = [p.detach().clone() for p in params]
    if groups:
        pg = [dict(params=[params[i - 1] for i in idx], **o) for idx, o in groups]
        opt = OPT[cls](pg, **opts)
    else:
        opt = OPT[cls](params, **opts)
    loss_spec = None
    if loss:  # sum over rows of (x @ W + b - y)^2, W [3,4], b [4]: the first two params
        x = torch.randn(5, 3, generator=gen, dtype=F64).to(dtypes[0])
        y = torch.randn(5, 4, generator=gen, dtype=F64).to(dtypes[0])
        loss_spec = (x, y)
    grads, after = [], []
    for step in range(1, 4):
        opt.zero_grad(set_to_none=True)
        gstep = []
        if loss:
            x, y = loss_spec
            out = ((x @ params[0] + params[1] - y) ** 2).sum() + (params[2] ** 2).sum() * 0.5
            out.backward()
            gstep = None
        else:
            for i, p in enumerate(params):
                if skip and (i + 1) in skip.get(step, []):
                    p.grad = None
                    gstep.append(None)
                else:
                    g = torch.randn(p.shape, generator=gen, dtype=F64).to(p.dtype)
                    p.grad = g.clone()
                    gstep.append(g)
        opt.step()
        grads.append(gstep)
        after.append([p.detach().clone() for p in params])
    lines = ["  {name = %s, class = %s, opts = %s," % (lua(name), lua(cls), lua(opts))]
    if groups:
        lines.append("    groups = {%s}," % ", ".join(
            "{params = %s, opts = %s}" % (lua(list(idx)), lua(o)) for idx, o in groups))
    lines.append("    params = {%s}," % ", ".join(
        "{shape = %s, dtype = %s, values = %s}" % (lua(list(p.shape)), lua(NAME[p.dtype]), values(p)) for p in init))
    if loss:
        x, y = loss_spec
        lines.append("    loss = {x = {shape = %s, values = %s}, y = {shape = %s, values = %s}}," % (
            lua(list(x.shape)), values(x), lua(list(y.shape)), values(y)))
    else:
        lines.append("    grads = {")
        for gstep in grads:
            lines.append("      {%s}," % ", ".join("false" if g is None else values(g) for g in gstep))
        lines.append("    },")
    lines.append("    after = {")
    for ps in after:
        lines.append("      {%s}," % ", ".join(values(p) for p in ps))
    lines.append("    },")
    lines.append("  },")
    return "\n".join(lines)


def optimizer_cases():
    c = []
    # SGD
    c.append(opt_case("SGD plain", "SGD", dict(lr=0.1)))
    c.append(opt_case("SGD momentum", "SGD", dict(lr=0.1, momentum=0.9)))
    c.append(opt_case("SGD momentum dampening weight_decay", "SGD",
                      dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)))
    c.append(opt_case("SGD nesterov weight_decay", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)))
    c.append(opt_case("SGD maximize momentum", "SGD", dict(lr=0.1, momentum=0.5, maximize=True)))
    c.append(opt_case("SGD nesterov float64", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05),
                      dtype=F64))
    c.append(opt_case("SGD momentum skip", "SGD", dict(lr=0.1, momentum=0.9), skip={1: [2], 2: [3]}))
    # Adam
    c.append(opt_case("Adam default", "Adam", dict(lr=0.01)))
    c.append(opt_case("Adam weight_decay", "Adam", dict(lr=0.01, weight_decay=0.1)))
    c.append(opt_case("Adam amsgrad betas eps", "Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, amsgrad=True)))
    c.append(opt_case("Adam maximize", "Adam", dict(lr=0.01, maximize=True)))
    c.append(opt_case("Adam float64 amsgrad weight_decay", "Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True),
                      dtype=F64))
    c.append(opt_case("Adam skip", "Adam", dict(lr=0.01), skip={1: [2], 2: [1, 3]}))
    c.append(opt_case("Adam groups", "Adam", dict(lr=0.01),
                      groups=[([1], dict()), ([2, 3], dict(lr=0.1, weight_decay=0.1, betas=(0.5, 0.9)))]))
    c.append(opt_case("Adam mixed dtypes", "Adam", dict(lr=0.01), dtypes=[F32, F64, F32]))
    c.append(opt_case("Adam loss", "Adam", dict(lr=0.05), loss=True))
    # AdamW
    c.append(opt_case("AdamW default", "AdamW", dict(lr=0.01)))
    c.append(opt_case("AdamW weight_decay amsgrad", "AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)))
    c.append(opt_case("AdamW float64", "AdamW", dict(lr=0.01, weight_decay=0.05), dtype=F64))
    # RMSprop
    c.append(opt_case("RMSprop default", "RMSprop", dict(lr=0.01)))
    c.append(opt_case("RMSprop momentum", "RMSprop", dict(lr=0.01, momentum=0.9)))
    c.append(opt_case("RMSprop centered", "RMSprop", dict(lr=0.01, centered=True, alpha=0.9)))
    c.append(opt_case("RMSprop centered momentum weight_decay", "RMSprop",
                      dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-6)))
    c.append(opt_case("RMSprop float64 centered momentum", "RMSprop", dict(lr=0.01, centered=True, momentum=0.5),
                      dtype=F64))
    # Adagrad
    c.append(opt_case("Adagrad default", "Adagrad", dict(lr=0.1)))
    c.append(opt_case("Adagrad lr_decay weight_decay initial", "Adagrad",
                      dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5)))
    c.append(opt_case("Adagrad float64 lr_decay", "Adagrad", dict(lr=0.1, lr_decay=0.05), dtype=F64))
    c.append(opt_case("Adagrad skip", "Adagrad", dict(lr=0.1, lr_decay=0.2), skip={2: [2]}))
    # groups for the others
    c.append(opt_case("SGD groups", "SGD", dict(lr=0.1, momentum=0.9),
                      groups=[([1, 3], dict(lr=0.01)), ([2], dict(momentum=0, weight_decay=0.1))]))
    c.append(opt_case("RMSprop groups", "RMSprop", dict(lr=0.01),
                      groups=[([1], dict(centered=True)), ([2, 3], dict(lr=0.001, momentum=0.9))]))
    return c


# ---- schedules ---------------------------------------------------------------
def build(spec, opt):
    cls, opts = spec["class"], dict(spec.get("opts", {}))
    if cls == "Warmup":  # moonlab's warm-up is SequentialLR{LinearLR, after}
        after = build(opts.pop("after"), opt) if "after" in opts else None
        n = opts["warmup_steps"]
        lin = S.LinearLR(opt, start_factor=opts.get("start_factor", 1.0 / n), end_factor=1.0, total_iters=n)
        return S.SequentialLR(opt, [lin, after] if after else [lin], [n] if after else [])
    if cls == "SequentialLR":
        subs = [build(s, opt) for s in opts["schedulers"]]
        return S.SequentialLR(opt, subs, opts["milestones"])
    return getattr(S, cls)(opt, **opts)


def sched_case(name, spec, optimizer="SGD", lrs=(0.1, 0.05), steps=30, metrics=None):
    p1 = torch.zeros(2, requires_grad=True)
    p2 = torch.zeros(3, requires_grad=True)
    if optimizer == "SGD":
        opt = torch.optim.SGD([{"params": [p1], "lr": lrs[0]}, {"params": [p2], "lr": lrs[1]}], lr=lrs[0], momentum=0.9)
    else:
        opt = torch.optim.Adam([{"params": [p1], "lr": lrs[0]}, {"params": [p2], "lr": lrs[1]}], lr=lrs[0])
    sched = build(spec, opt)

    def momenta():
        return [g["betas"][0] if optimizer != "SGD" else g["momentum"] for g in opt.param_groups]

    seq = [[g["lr"] for g in opt.param_groups]]
    mom = [momenta()]
    for i in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[i])
        else:
            sched.step()
        seq.append([g["lr"] for g in opt.param_groups])
        mom.append(momenta())
    s = "  {name = %s, optimizer = %s, lrs = %s, spec = %s,\n" % (lua(name), lua(optimizer), lua(list(lrs)), lua(spec))
    if metrics is not None:
        s += "    metrics = %s,\n" % lua(list(metrics))
    s += "    lr = {%s},\n" % ", ".join(lua(x) for x in seq)
    s += "    momentum = {%s},\n  }," % ", ".join(lua(x) for x in mom)
    return s


def schedule_cases():
    c = []
    c.append(sched_case("StepLR", {"class": "StepLR", "opts": {"step_size": 4, "gamma": 0.5}}))
    c.append(sched_case("MultiStepLR", {"class": "MultiStepLR", "opts": {"milestones": [3, 7, 7, 15], "gamma": 0.3}}))
    c.append(sched_case("ConstantLR", {"class": "ConstantLR", "opts": {"factor": 0.25, "total_iters": 6}}))
    c.append(sched_case("ExponentialLR", {"class": "ExponentialLR", "opts": {"gamma": 0.9}}))
    c.append(sched_case("CosineAnnealingLR", {"class": "CosineAnnealingLR", "opts": {"T_max": 10, "eta_min": 0.001}}, steps=45))
    c.append(sched_case("CosineAnnealingLR no eta_min", {"class": "CosineAnnealingLR", "opts": {"T_max": 7}}))
    c.append(sched_case("LinearLR", {"class": "LinearLR", "opts": {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 8}}))
    c.append(sched_case("LinearLR decay", {"class": "LinearLR", "opts": {"start_factor": 1.0, "end_factor": 0.2, "total_iters": 12}}))
    c.append(sched_case("Warmup then cosine", {"class": "Warmup", "opts": {
        "warmup_steps": 5, "after": {"class": "CosineAnnealingLR", "opts": {"T_max": 20}}}}))
    c.append(sched_case("Warmup alone", {"class": "Warmup", "opts": {"warmup_steps": 6, "start_factor": 0.2}}))
    c.append(sched_case("Warmup then step", {"class": "Warmup", "opts": {
        "warmup_steps": 4, "start_factor": 0.5, "after": {"class": "StepLR", "opts": {"step_size": 5, "gamma": 0.5}}}}))
    c.append(sched_case("SequentialLR", {"class": "SequentialLR", "opts": {
        "schedulers": [{"class": "ConstantLR", "opts": {"factor": 0.5, "total_iters": 3}},
                       {"class": "ExponentialLR", "opts": {"gamma": 0.8}},
                       {"class": "MultiStepLR", "opts": {"milestones": [2, 5], "gamma": 0.5}}],
        "milestones": [4, 12]}}))
    c.append(sched_case("OneCycleLR cos SGD", {"class": "OneCycleLR", "opts": {"max_lr": 0.5, "total_steps": 30}}))
    c.append(sched_case("OneCycleLR linear Adam", {"class": "OneCycleLR", "opts": {
        "max_lr": [0.3, 0.1], "total_steps": 30, "pct_start": 0.25, "anneal_strategy": "linear",
        "div_factor": 10.0, "final_div_factor": 100.0}}, optimizer="Adam"))
    c.append(sched_case("OneCycleLR three_phase", {"class": "OneCycleLR", "opts": {
        "max_lr": 0.2, "epochs": 5, "steps_per_epoch": 6, "three_phase": True, "cycle_momentum": False}}))
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.8, 0.85, 0.85, 0.85, 0.85, 0.7, 0.71, 0.72, 0.73, 0.74,
               0.75, 0.76, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    c.append(sched_case("ReduceLROnPlateau", {"class": "ReduceLROnPlateau", "opts": {"patience": 2}}, metrics=metrics))
    c.append(sched_case("ReduceLROnPlateau max abs cooldown", {"class": "ReduceLROnPlateau", "opts": {
        "mode": "max", "factor": 0.5, "patience": 1, "threshold": 0.01, "threshold_mode": "abs", "cooldown": 2,
        "min_lr": 0.01}}, metrics=[-m for m in metrics]))
    return c


def write(path, what, cases):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("-- Generated by scripts/gen_optim_fixtures.py: do not edit; run the script again.\n")
        f.write("-- %s\n" % what)
        f.write("return {\n  version = %d,\n  torch = %s,\n  cases = {\n" % (VERSION, lua(torch.__version__)))
        f.write("\n".join(cases))
        f.write("\n  },\n}\n")
    print("wrote", os.path.relpath(path, ROOT), "(%d cases)" % len(cases))


if __name__ == "__main__":
    torch.set_num_threads(1)
    write(os.path.join(OUT_DIR, "optimizers.lua"),
          "Parameters after steps 1, 2 and 3 of torch.optim, from given initial values and gradients.", optimizer_cases())
    write(os.path.join(OUT_DIR, "schedules.lua"),
          "Learning rates (and cycled momentum) of torch.optim.lr_scheduler after construction and each step.",
          schedule_cases())
