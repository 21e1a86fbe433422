#!/usr/bin/python3
"""Reference values for tests/lua/test_conv.lua and test_pool.lua, from PyTorch.

    scripts/gen_conv_fixtures.py      writes tests/fixtures/conv/layers.lua

Each case: a torch layer in float64 with its own initial weights, an input
of odd size, the output, a fixed weight w and the gradients of
(out * w).sum() with respect to the input and every parameter; the test
builds the same layer from `ctor` (a moonlab expression), loads the weights
and compares. Max-pooling cases also store the indices (1-based, flat in
each plane, as moonlab returns them). The layer_case and Lua-literal helpers
are gen_nn_fixtures.py's.
"""
import os
import sys
import zlib

import torch
import torch.nn as tnn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn_fixtures import Labels, layer_case, lua_value  # noqa: E402

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "conv", "layers.lua")
F64 = torch.float64


def inp(name, shape):
    gen = torch.Generator().manual_seed(zlib.crc32(("x" + name).encode()))
    return torch.randn(shape, generator=gen, dtype=F64)


def opts(s):
    return "{" + s + (", " if s else "") + 'dtype="float64"}'


CASES = [
    # name, moonlab ctor, torch module, input shape
    ("Conv2d 3->4 k3 pad1", "nn.Conv2d(3, 4, 3, %s)" % opts("padding=1"), lambda: tnn.Conv2d(3, 4, 3, padding=1), (2, 3, 7, 6)),
    ("Conv2d k(3,2) stride2 pad(1,2) dil(2,1) nobias", "nn.Conv2d(4, 5, {3, 2}, %s)" % opts("stride=2, padding={1, 2}, dilation={2, 1}, bias=false"),
     lambda: tnn.Conv2d(4, 5, (3, 2), stride=2, padding=(1, 2), dilation=(2, 1), bias=False), (2, 4, 9, 8)),
    ("Conv2d groups2 stride(1,2)", "nn.Conv2d(4, 6, 3, %s)" % opts("groups=2, stride={1, 2}"),
     lambda: tnn.Conv2d(4, 6, 3, groups=2, stride=(1, 2)), (3, 4, 7, 7)),
    ("Conv2d same k4 dil2", "nn.Conv2d(3, 2, 4, %s)" % opts('padding="same", dilation=2'),
     lambda: tnn.Conv2d(3, 2, 4, padding="same", dilation=2), (2, 3, 9, 7)),
    ("Conv2d same k(2,3)", "nn.Conv2d(2, 3, {2, 3}, %s)" % opts('padding="same"'),
     lambda: tnn.Conv2d(2, 3, (2, 3), padding="same"), (1, 2, 5, 6)),
    ("Conv2d valid", "nn.Conv2d(2, 3, 3, %s)" % opts('padding="valid"'), lambda: tnn.Conv2d(2, 3, 3, padding="valid"), (2, 2, 5, 6)),
    ("Conv2d reflect pad2", "nn.Conv2d(2, 3, 3, %s)" % opts('padding=2, padding_mode="reflect"'),
     lambda: tnn.Conv2d(2, 3, 3, padding=2, padding_mode="reflect"), (2, 2, 5, 6)),
    ("Conv2d reflect stride2 pad(1,2)", "nn.Conv2d(2, 2, {3, 5}, %s)" % opts('stride=2, padding={1, 2}, padding_mode="reflect"'),
     lambda: tnn.Conv2d(2, 2, (3, 5), stride=2, padding=(1, 2), padding_mode="reflect"), (2, 2, 7, 6)),
    ("Conv2d 1x1", "nn.Conv2d(5, 3, 1, %s)" % opts(""), lambda: tnn.Conv2d(5, 3, 1), (2, 5, 4, 3)),
    ("Conv2d depthwise", "nn.Conv2d(3, 6, 3, %s)" % opts("groups=3, padding=1"), lambda: tnn.Conv2d(3, 6, 3, groups=3, padding=1), (2, 3, 6, 5)),
    ("Conv1d k3 stride2 pad1", "nn.Conv1d(3, 4, 3, %s)" % opts("stride=2, padding=1"), lambda: tnn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 11)),
    ("Conv1d same groups2 dil3", "nn.Conv1d(4, 2, 4, %s)" % opts('padding="same", groups=2, dilation=3'),
     lambda: tnn.Conv1d(4, 2, 4, padding="same", groups=2, dilation=3), (2, 4, 13)),
    ("Conv1d reflect", "nn.Conv1d(2, 3, 5, %s)" % opts('padding=2, padding_mode="reflect"'),
     lambda: tnn.Conv1d(2, 3, 5, padding=2, padding_mode="reflect"), (3, 2, 9)),
    ("ConvTranspose2d k3 s2 p1 op1", "nn.ConvTranspose2d(3, 4, 3, %s)" % opts("stride=2, padding=1, output_padding=1"),
     lambda: tnn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), (2, 3, 5, 4)),
    ("ConvTranspose2d groups2 dil2 k(2,3)", "nn.ConvTranspose2d(4, 6, {2, 3}, %s)" % opts("groups=2, dilation=2, stride={1, 2}"),
     lambda: tnn.ConvTranspose2d(4, 6, (2, 3), groups=2, dilation=2, stride=(1, 2)), (2, 4, 3, 5)),
    ("ConvTranspose2d k4 s2 p1 nobias", "nn.ConvTranspose2d(2, 3, 4, %s)" % opts("stride=2, padding=1, bias=false"),
     lambda: tnn.ConvTranspose2d(2, 3, 4, stride=2, padding=1, bias=False), (1, 2, 4, 3)),
    ("MaxPool2d k3 s2 p1", "nn.MaxPool2d(3, {stride=2, padding=1})", lambda: tnn.MaxPool2d(3, 2, 1), (2, 3, 9, 8)),
    ("MaxPool2d k2 ceil", "nn.MaxPool2d(2, {ceil_mode=true})", lambda: tnn.MaxPool2d(2, ceil_mode=True), (2, 2, 7, 5)),
    ("MaxPool2d k(3,2) dil2 s(2,1)", "nn.MaxPool2d({3, 2}, {stride={2, 1}, dilation=2})", lambda: tnn.MaxPool2d((3, 2), (2, 1), dilation=2), (1, 2, 9, 7)),
    ("MaxPool1d k3 s2 p1 ceil", "nn.MaxPool1d(3, {stride=2, padding=1, ceil_mode=true})", lambda: tnn.MaxPool1d(3, 2, 1, ceil_mode=True), (2, 3, 10)),
    ("AvgPool2d k3 s2 p1", "nn.AvgPool2d(3, {stride=2, padding=1})", lambda: tnn.AvgPool2d(3, 2, 1), (2, 3, 9, 8)),
    ("AvgPool2d k3 s2 p1 nopad ceil", "nn.AvgPool2d(3, {stride=2, padding=1, count_include_pad=false, ceil_mode=true})",
     lambda: tnn.AvgPool2d(3, 2, 1, count_include_pad=False, ceil_mode=True), (2, 2, 8, 7)),
    ("AvgPool2d k(2,3) ceil", "nn.AvgPool2d({2, 3}, {ceil_mode=true})", lambda: tnn.AvgPool2d((2, 3), ceil_mode=True), (1, 2, 7, 8)),
    ("AvgPool1d k4 s3 p2", "nn.AvgPool1d(4, {stride=3, padding=2})", lambda: tnn.AvgPool1d(4, 3, 2), (2, 3, 11)),
    ("AdaptiveAvgPool2d (3,2)", "nn.AdaptiveAvgPool2d({3, 2})", lambda: tnn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d 1", "nn.AdaptiveAvgPool2d(1)", lambda: tnn.AdaptiveAvgPool2d(1), (2, 3, 6, 5)),
    ("AdaptiveMaxPool2d (4,3)", "nn.AdaptiveMaxPool2d({4, 3})", lambda: tnn.AdaptiveMaxPool2d((4, 3)), (2, 2, 9, 7)),
    ("BatchNorm2d", "nn.BatchNorm2d(3, %s)" % opts("momentum=0.3"), lambda: tnn.BatchNorm2d(3, momentum=0.3), (4, 3, 5, 3), {"eval_after": True}),
    ("BatchNorm2d no affine", "nn.BatchNorm2d(2, %s)" % opts("affine=false"), lambda: tnn.BatchNorm2d(2, affine=False), (3, 2, 3, 4), {"eval_after": True}),
    ("GroupNorm 2x4", "nn.GroupNorm(2, 4, %s)" % opts(""), lambda: tnn.GroupNorm(2, 4), (3, 4, 5, 3)),
    ("GroupNorm 3x3 no affine 1-D", "nn.GroupNorm(3, 3, %s)" % opts("affine=false"), lambda: tnn.GroupNorm(3, 3, affine=False), (2, 3, 7)),
    ("Upsample nearest x2", 'nn.Upsample({scale_factor=2})', lambda: tnn.Upsample(scale_factor=2), (2, 2, 3, 4)),
    ("Upsample nearest size(5,7)", 'nn.Upsample({size={5, 7}})', lambda: tnn.Upsample(size=(5, 7)), (1, 2, 3, 4)),
    ("Upsample bilinear size(5,7)", 'nn.Upsample({size={5, 7}, mode="bilinear"})', lambda: tnn.Upsample(size=(5, 7), mode="bilinear"), (1, 2, 3, 4)),
    ("Upsample bilinear x2 align", 'nn.Upsample({scale_factor=2, mode="bilinear", align_corners=true})',
     lambda: tnn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), (2, 1, 3, 5)),
    ("Upsample bilinear down size(2,3)", 'nn.Upsample({size={2, 3}, mode="bilinear"})', lambda: tnn.Upsample(size=(2, 3), mode="bilinear"), (1, 2, 5, 7)),
]


def indices_case(name, ctor, module, x):
    y, idx = module(x)
    return {"name": name, "ctor": ctor, "input": x, "output": y.detach(), "indices": Labels(idx)}


def main():
    cases = []
    for name, ctor, make, shape, *kw in CASES:
        torch.manual_seed(zlib.crc32(name.encode()))
        cases.append(layer_case(name, ctor, make(), inp(name, shape), **(kw[0] if kw else {})))
    idx = [
        indices_case("MaxPool2d indices k3 s2 p1", "nn.MaxPool2d(3, {stride=2, padding=1, return_indices=true})",
                     tnn.MaxPool2d(3, 2, 1, return_indices=True), inp("i2", (2, 3, 7, 6))),
        indices_case("MaxPool1d indices k2", "nn.MaxPool1d(2, {return_indices=true})",
                     tnn.MaxPool1d(2, return_indices=True), inp("i1", (2, 2, 9))),
        indices_case("AdaptiveMaxPool2d indices", "nn.AdaptiveMaxPool2d({3, 2}, {return_indices=true})",
                     tnn.AdaptiveMaxPool2d((3, 2), return_indices=True), inp("ia", (1, 2, 7, 5))),
    ]
    with open(OUT, "w") as f:
        f.write("-- conv and pool fixtures for moonlab, written by scripts/gen_conv_fixtures.py (do not edit)\n")
        f.write('return {\n  version = %d,\n  torch = "%s",\n  cases = {\n' % (VERSION, torch.__version__))
        for c in cases:
            f.write("    " + lua_value(c, "    ") + ",\n")
        f.write("  },\n  indices = {\n")
        for c in idx:
            f.write("    " + lua_value(c, "    ") + ",\n")
        f.write("  },\n}\n")
    print("wrote", os.path.relpath(OUT, ROOT), len(cases), "cases,", len(idx), "index cases")


if __name__ == "__main__":
    main()
