#!/usr/bin/python3
"""Reference values for tests/lua/test_gan.lua, from PyTorch.

    scripts/gen_gan_losses.py   writes tests/fixtures/gan/losses.lua

Losses as PyTorch GAN code writes them, on D's raw outputs (logits):
  D, minimax and non_saturating: BCEWithLogits(real, 1) + BCEWithLogits(fake, 0)
  G, minimax:        -BCEWithLogits(fake, 0)       = mean log(1 - sigmoid(fake))
  G, non_saturating:  BCEWithLogits(fake, 1)       = -mean log sigmoid(fake)
  D, wasserstein:     fake.mean() - real.mean();   G: -fake.mean()
with their gradients w.r.t. both logit tensors, in float64, on moderate and
extreme logits (|x| up to 1e4, where log(sigmoid(x)) written naively is
-inf), plus float32 values.

The gradient-penalty case: a float64 critic Linear(4, 5) - Tanh - Linear(5, 1)
with fixed weights, real and fake batches and mixing weights alpha; the
penalty 10 * mean((||d critic(x_hat) / d x_hat||_2 - 1)^2) at
x_hat = fake + alpha (real - fake), and its gradient w.r.t. every critic
parameter (torch.autograd.grad with create_graph=True, then backward).
"""
import os
import sys
import zlib

import torch
import torch.nn as tnn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn_fixtures import lua_value  # noqa: E402

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "gan", "losses.lua")
F64 = torch.float64


def gen(name):
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def bce(x, t):
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, t))


LOSSES = {
    ("discriminator", "minimax"): lambda r, f: bce(r, 1) + bce(f, 0),
    ("discriminator", "non_saturating"): lambda r, f: bce(r, 1) + bce(f, 0),
    ("discriminator", "wasserstein"): lambda r, f: f.mean() - r.mean(),
    ("generator", "minimax"): lambda r, f: -bce(f, 0),
    ("generator", "non_saturating"): lambda r, f: bce(f, 1),
    ("generator", "wasserstein"): lambda r, f: -f.mean(),
}


def loss_cases():
    g = gen("logits")
    inputs = {
        "moderate": (torch.randn(7, 1, generator=g, dtype=F64) * 2, torch.randn(5, 1, generator=g, dtype=F64) * 2),
        "extreme": (torch.tensor([[-1e4], [-80.0], [-30.0], [0.0], [30.0], [80.0], [1e4]], dtype=F64),
                    torch.tensor([1e4, 100.0, 40.0, -1e-3, -40.0, -100.0, -1e4], dtype=F64)),
        "flat": (torch.randn(3, 4, generator=g, dtype=F64), torch.randn(6, generator=g, dtype=F64)),
    }
    cases = []
    for iname, (real, fake) in inputs.items():
        for (who, kind), fn in LOSSES.items():
            for dt in (torch.float64, torch.float32):
                r = real.to(dt).clone().requires_grad_(True)
                f = fake.to(dt).clone().requires_grad_(True)
                loss = fn(r, f)
                loss.backward()
                cases.append({
                    "name": "%s %s %s %s" % (who, kind, iname, str(dt).split(".")[1]),
                    "who": who, "kind": kind,
                    "real": r.detach(), "fake": f.detach(),
                    "loss": loss.detach().to(F64).reshape(1),
                    "grad_real": r.grad if r.grad is not None else torch.zeros_like(r),
                    "grad_fake": f.grad,
                })
    return cases


def penalty_case():
    g = gen("penalty")
    torch.manual_seed(0)
    critic = tnn.Sequential(tnn.Linear(4, 5), tnn.Tanh(), tnn.Linear(5, 1)).to(F64)
    with torch.no_grad():
        for p in critic.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=F64))
    real = torch.randn(6, 4, generator=g, dtype=F64)
    fake = torch.randn(6, 4, generator=g, dtype=F64)
    alpha = torch.rand(6, generator=g, dtype=F64)
    x_hat = (fake + alpha[:, None] * (real - fake)).requires_grad_(True)
    out = critic(x_hat)
    grad, = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True)
    penalty = 10 * ((grad.reshape(6, -1).norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    return {
        "weight": 10, "real": real, "fake": fake, "alpha": alpha,
        "w1": critic[0].weight.detach(), "b1": critic[0].bias.detach(),
        "w2": critic[2].weight.detach(), "b2": critic[2].bias.detach(),
        "penalty": penalty.detach().reshape(1),
        "grad_w1": critic[0].weight.grad, "grad_b1": critic[0].bias.grad,
        "grad_w2": critic[2].weight.grad, "grad_b2": torch.zeros_like(critic[2].bias),
    }


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    data = {"version": VERSION, "torch": torch.__version__, "losses": loss_cases(), "penalty": penalty_case()}
    with open(OUT, "w") as f:
        f.write("-- nn.gan fixtures, written by scripts/gen_gan_losses.py (do not edit)\n")
        f.write("return " + lua_value(data, "") + "\n")
    print("wrote", os.path.relpath(OUT, ROOT), len(data["losses"]), "loss cases")


if __name__ == "__main__":
    main()
