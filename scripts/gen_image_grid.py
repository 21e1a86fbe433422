#!/usr/bin/python3
"""Reference values for tests/lua/test_image.lua.

    scripts/gen_image_grid.py   writes tests/fixtures/image/grid.lua and tests/fixtures/image/*.png

torchvision is not installed here, so make_grid and save_image's pixel
conversion are written out in NumPy below, line for line after
torchvision.utils (0.14): a list is stacked, [H, W] and [C, H, W] become a
batch of one, one channel becomes three, normalize clamps to value_range
(or the min..max, of the batch or of each image with scale_each) and maps
it onto [0, 1], a batch of one is returned without padding, and the grid is
(C, (H + p) * rows + p, (W + p) * cols + p) filled with pad_value.

The PNG files are written by PIL (another encoder than ours) in the modes
load_png must read: palette, palette with transparency, 1-bit, 16-bit grey,
grey with alpha, RGBA; their expected [C, H, W] values in [0, 1] go in the
Lua file beside them.
"""
import math
import os
import sys
import zlib

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn_fixtures import lua_value  # noqa: E402

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "image")


def rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


# ---- torchvision.utils.make_grid, by hand ---------------------------------
def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    if isinstance(tensor, list):
        tensor = np.stack(tensor, 0)
    tensor = np.array(tensor, dtype=np.float64)
    if tensor.ndim == 2:
        tensor = tensor[None]
    if tensor.ndim == 3:
        if tensor.shape[0] == 1:
            tensor = np.concatenate([tensor] * 3, 0)
        tensor = tensor[None]
    if tensor.ndim == 4 and tensor.shape[1] == 1:
        tensor = np.concatenate([tensor] * 3, 1)
    if normalize:
        tensor = tensor.copy()

        def norm_ip(img, low, high):
            np.clip(img, low, high, out=img)
            img -= low
            img /= max(high - low, 1e-5)

        def norm_range(t):
            if value_range is not None:
                norm_ip(t, value_range[0], value_range[1])
            else:
                norm_ip(t, float(t.min()), float(t.max()))

        if scale_each:
            for t in tensor:
                norm_range(t)
        else:
            norm_range(tensor)
    if tensor.shape[0] == 1:
        return tensor[0]
    nmaps = tensor.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = tensor.shape[2] + padding, tensor.shape[3] + padding
    grid = np.full((tensor.shape[1], height * ymaps + padding, width * xmaps + padding), pad_value, dtype=tensor.dtype)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = tensor[k]
            k += 1
    return grid


def save_image_bytes(img, dt):
    """save_image's conversion of a float [C, H, W] image to bytes (before PIL), in the tensor's dtype dt."""
    return np.clip(np.floor(np.asarray(img, dtype=dt) * dt(255) + dt(0.5)), 0, 255)


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def grid_cases():
    cases = []

    def add(name, inputs, opts, as_list=False):
        want = make_grid(list(inputs) if as_list else inputs, **opts)
        cases.append({
            "name": name,
            "inputs": [t64(x) for x in inputs] if as_list else t64(inputs),
            "as_list": as_list,
            "opts": {k: (list(v) if isinstance(v, tuple) else v) for k, v in opts.items()},
            "want": t64(want),
        })

    r = rng("grid")
    add("batch of grey images, defaults", r.random((7, 1, 3, 4)), {})
    add("list of RGB images, nrow 2, padding 1, pad_value 0.5", r.random((5, 3, 4, 5)),
        {"nrow": 2, "padding": 1, "pad_value": 0.5}, as_list=True)
    add("nrow larger than the batch", r.random((3, 3, 2, 2)), {"nrow": 10, "padding": 0})
    add("normalize over the batch", r.normal(size=(4, 3, 3, 3)) * 3, {"normalize": True, "nrow": 3})
    add("normalize with value_range", r.normal(size=(4, 1, 3, 3)), {"normalize": True, "value_range": (-1, 1)})
    add("normalize each image", r.normal(size=(3, 3, 2, 3)) * np.array([1, 5, 20])[:, None, None, None],
        {"normalize": True, "scale_each": True, "padding": 3, "pad_value": 1})
    add("a batch of one has no padding", r.random((1, 3, 4, 4)), {"padding": 5})
    add("a constant image normalizes to 0", np.full((2, 3, 2, 2), 0.25), {"normalize": True})
    return cases


def save_case():
    """Values around the rounding points and outside [0, 1], as save_image stores them."""
    v = np.array([-0.5, 0, 0.4 / 255, 0.5 / 255, 0.6 / 255, 0.25, 0.5, 127.5 / 255, 1 - 0.5 / 255, 1, 1.5, 254.49 / 255],
                 dtype=np.float32)
    img = np.stack([v, v[::-1], np.roll(v, 5)])[:, None, :]  # (3, 1, 12)
    return {"input": torch.tensor(img),
            "want": torch.tensor(save_image_bytes(img, np.float32).astype(np.int64)),
            "want64": torch.tensor(save_image_bytes(img, np.float64).astype(np.int64))}


# ---- PNG files from PIL --------------------------------------------------
def png_cases():
    os.makedirs(OUT_DIR, exist_ok=True)
    r = rng("png")
    cases = []

    def add(file, img, want):
        img.save(os.path.join(OUT_DIR, file))
        cases.append({"file": file, "want": t64(want)})

    rgb = r.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    add("rgb.png", Image.fromarray(rgb, "RGB"), rgb.transpose(2, 0, 1) / 255.0)
    rgba = r.integers(0, 256, (4, 6, 4), dtype=np.uint8)
    add("rgba.png", Image.fromarray(rgba, "RGBA"), rgba.transpose(2, 0, 1) / 255.0)
    la = r.integers(0, 256, (3, 5, 2), dtype=np.uint8)
    add("grey_alpha.png", Image.fromarray(la, "LA"), la.transpose(2, 0, 1) / 255.0)
    g16 = r.integers(0, 65536, (4, 3), dtype=np.uint16)
    add("grey16.png", Image.frombytes("I;16", (3, 4), g16.astype("<u2").tobytes()), g16[None] / 65535.0)
    bits = r.integers(0, 2, (6, 9), dtype=np.uint8)
    add("one_bit.png", Image.fromarray(bits * 255, "L").convert("1"), bits[None].astype(np.float64))
    palette = r.integers(0, 256, (4, 3), dtype=np.uint8)
    idx = r.integers(0, 4, (3, 5), dtype=np.uint8)
    p = Image.fromarray(idx, "P")
    p.putpalette(palette.reshape(-1).tolist())
    add("palette.png", p, palette[idx].transpose(2, 0, 1) / 255.0)
    pt = Image.fromarray(idx, "P")
    pt.putpalette(palette.reshape(-1).tolist())
    pt.info["transparency"] = bytes([0, 128, 255, 64])
    alpha = np.array([0, 128, 255, 64])[idx]
    want = np.concatenate([palette[idx].transpose(2, 0, 1), alpha[None]], 0) / 255.0
    pt.save(os.path.join(OUT_DIR, "palette_alpha.png"), transparency=bytes([0, 128, 255, 64]))
    cases.append({"file": "palette_alpha.png", "want": t64(want)})
    return cases


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    out = os.path.join(OUT_DIR, "grid.lua")
    data = {"version": VERSION, "grid": grid_cases(), "save": save_case(), "png": png_cases()}
    with open(out, "w") as f:
        f.write("-- ml.image fixtures, written by scripts/gen_image_grid.py (do not edit)\n")
        f.write("return " + lua_value(data, "") + "\n")
    print("wrote", os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()
