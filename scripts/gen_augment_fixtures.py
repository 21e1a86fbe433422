#!/usr/bin/python3
"""Reference values for tests/lua/test_augment.lua, from PyTorch.

    scripts/gen_augment_fixtures.py    writes tests/fixtures/augment/cases.lua

warp cases: a float32 batch x, normalized affine matrices theta [N, 2, 3]
and F.grid_sample(x, F.affine_grid(theta, x.shape, align_corners=False),
mode="bilinear", padding_mode="zeros", align_corners=False).

affine cases: fixed (angle, translate, scale, shear) applied the way
torchvision's F.affine does on tensors: its _get_inverse_affine_matrix
(copied below, as torchvision is not a dependency) about the centre, its
_gen_affine_grid, then grid_sample (bilinear, zeros, align_corners=False).

soft_ce cases: nn.CrossEntropyLoss on float class probabilities (mixup-like
soft labels) with weight, label_smoothing and each reduction: the loss and
the gradient of (loss * w).sum() with respect to the logits.

Numbers are Lua literals (%.17g); the torch version is recorded.
"""
import math
import os

import torch
import torch.nn.functional as F

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "augment", "cases.lua")
NAMES = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64"}


def num(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v + '"'
    return "%.17g" % v


def tensor(t):
    t = t.detach().contiguous()
    data = ", ".join(num(float(v)) if t.is_floating_point() else str(int(v)) for v in t.reshape(-1).tolist())
    shape = ", ".join(str(s) for s in t.shape)
    return "{shape={%s}, dtype=\"%s\", data={%s}}" % (shape, NAMES[t.dtype], data)


def lua(v, ind="  "):
    if isinstance(v, torch.Tensor):
        return tensor(v)
    if isinstance(v, dict):
        inner = ind + "  "
        items = ",\n".join("%s%s = %s" % (inner, k, lua(v[k], inner)) for k in sorted(v))
        return "{\n" + items + "\n" + ind + "}"
    if isinstance(v, (list, tuple)):
        inner = ind + "  "
        return "{\n" + ",\n".join(inner + lua(x, inner) for x in v) + "\n" + ind + "}"
    return num(v)


# torchvision.transforms.functional._get_inverse_affine_matrix (BSD-3-Clause), as of 0.15
def inverse_affine_matrix(center, angle, translate, scale, shear):
    rot = math.radians(angle)
    sx = math.radians(shear[0])
    sy = math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    matrix = [d, -b, 0.0, -c, a, 0.0]
    matrix = [x / scale for x in matrix]
    matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
    matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
    matrix[2] += cx
    matrix[5] += cy
    return matrix


# torchvision.transforms._functional_tensor._gen_affine_grid
def gen_affine_grid(theta, w, h):
    d = 0.5
    base = torch.empty(1, h, w, 3, dtype=theta.dtype)
    base[..., 0].copy_(torch.linspace(-w * 0.5 + d, w * 0.5 + d - 1, steps=w))
    base[..., 1].copy_(torch.linspace(-h * 0.5 + d, h * 0.5 + d - 1, steps=h).unsqueeze_(-1))
    base[..., 2].fill_(1)
    rescaled = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h], dtype=theta.dtype)
    return base.view(1, h * w, 3).bmm(rescaled).view(1, h, w, 2)


def tv_affine(x, angle, translate, scale, shear):
    n, c, h, w = x.shape
    m = inverse_affine_matrix([0.0, 0.0], angle, translate, scale, shear)
    theta = torch.tensor(m, dtype=torch.float32).view(1, 2, 3)
    grid = gen_affine_grid(theta, w, h).expand(n, h, w, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def main():
    torch.manual_seed(20241)
    warp, affine, soft = [], [], []
    for name, shape in (("NCHW", (3, 2, 7, 9)), ("square", (2, 1, 8, 8)), ("wide", (2, 3, 5, 11))):
        x = torch.rand(shape, dtype=torch.float32)
        n = shape[0]
        ang = torch.rand(n) * 2 - 1
        theta = torch.zeros(n, 2, 3, dtype=torch.float64)
        sc = 0.8 + 0.5 * torch.rand(n)
        theta[:, 0, 0] = torch.cos(ang) * sc
        theta[:, 0, 1] = -torch.sin(ang) * sc + 0.1 * torch.randn(n)
        theta[:, 1, 0] = torch.sin(ang) * sc
        theta[:, 1, 1] = torch.cos(ang) * sc
        theta[:, :, 2] = 0.3 * torch.randn(n, 2)
        grid = F.affine_grid(theta.float(), list(shape), align_corners=False)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        warp.append({"name": name, "x": x, "theta": theta, "out": out})
    for name, shape, p in (
        ("rotate 30", (2, 1, 9, 9), dict(angle=30.0, translate=[0, 0], scale=1.0, shear=[0.0, 0.0])),
        ("rotate -45 wide", (1, 2, 6, 10), dict(angle=-45.0, translate=[0, 0], scale=1.0, shear=[0.0, 0.0])),
        ("translate", (2, 1, 8, 8), dict(angle=0.0, translate=[2, -3], scale=1.0, shear=[0.0, 0.0])),
        ("scale", (1, 3, 7, 7), dict(angle=0.0, translate=[0, 0], scale=1.3, shear=[0.0, 0.0])),
        ("shear", (2, 1, 8, 12), dict(angle=0.0, translate=[0, 0], scale=1.0, shear=[15.0, -10.0])),
        ("all", (2, 2, 28, 28), dict(angle=12.5, translate=[3, 1], scale=0.9, shear=[8.0, 4.0])),
    ):
        x = torch.rand(shape, dtype=torch.float32)
        out = tv_affine(x, **p)
        affine.append({"name": name, "x": x, "angle": p["angle"], "tx": float(p["translate"][0]),
                       "ty": float(p["translate"][1]), "scale": p["scale"], "shear_x": p["shear"][0],
                       "shear_y": p["shear"][1], "out": out})
    for red in ("mean", "sum", "none"):
        for ls, weighted in ((0.0, False), (0.1, False), (0.0, True), (0.2, True)):
            n, k = 6, 4
            x = torch.randn(n, k, dtype=torch.float64, requires_grad=True)
            lam = 0.3
            a, b = torch.randint(0, k, (n,)), torch.randint(0, k, (n,))
            y = lam * F.one_hot(a, k).double() + (1 - lam) * F.one_hot(b, k).double()
            wt = torch.rand(k, dtype=torch.float64) + 0.5 if weighted else None
            loss = F.cross_entropy(x, y, weight=wt, label_smoothing=ls, reduction=red)
            w = torch.randn(loss.shape, dtype=torch.float64)
            (loss * w).sum().backward()
            case = {"name": "soft %s ls=%g%s" % (red, ls, " weight" if weighted else ""), "input": x, "target": y,
                    "reduction": red, "label_smoothing": ls, "output": loss, "w": w, "grad_input": x.grad}
            if weighted:
                case["weight"] = wt
            soft.append(case)
    with open(OUT, "w") as f:
        f.write("-- augmentation fixtures for moonlab, written by scripts/gen_augment_fixtures.py (do not edit)\n")
        f.write("return " + lua({"version": VERSION, "torch": torch.__version__, "warp": warp, "affine": affine,
                                 "soft_ce": soft}, "") + "\n")


if __name__ == "__main__":
    main()
