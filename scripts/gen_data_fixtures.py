#!/usr/bin/python3
"""Fixtures for tests/lua/test_data.lua, written with NumPy and gzip alone.

    scripts/gen_data_fixtures.py    writes tests/fixtures/data/

One gzipped IDX file per data type (u8, i8, i16, i32, f32, f64) with edge
values (extremes, negative zero, NaN, infinities), one plain (uncompressed)
u8 file, a file of two concatenated gzip members (gzip's multi-member
format, which zlib reads as one stream), an empty [0, 3] file, a 4-D one,
and absurd.idx.gz, whose header claims 256 GiB of data (not in
expected.lua: reading it is an error). IDX stores big-endian data after the magic 00 00 TYPE NDIM and NDIM
big-endian uint32 sizes. expected.lua holds every value as exact Lua
literals; the test writes its own plain and damaged variants.
"""
import gzip
import math
import os
import struct

import numpy as np

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "data")

CODES = {"u8": (0x08, ">u1"), "i8": (0x09, ">i1"), "i16": (0x0B, ">i2"), "i32": (0x0C, ">i4"),
         "f32": (0x0D, ">f4"), "f64": (0x0E, ">f8")}
TARGET = {"u8": "int64", "i8": "int64", "i16": "int64", "i32": "int64", "f32": "float32", "f64": "float64"}


def idx_bytes(kind, arr):
    code, be = CODES[kind]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", n) for n in arr.shape)
    return head + np.ascontiguousarray(arr, dtype=be).tobytes()


def gz(data):
    # mtime=0: the same bytes on every run
    return gzip.compress(data, compresslevel=9, mtime=0)


def lua_num(v, kind):
    if kind.startswith("f"):
        v = float(v)
        if math.isnan(v):
            return "(0/0)"
        if math.isinf(v):
            return "(1/0)" if v > 0 else "(-1/0)"
        if v == 0 and math.copysign(1, v) < 0:
            return "-0.0"
        return repr(v)
    return str(int(v))


def main():
    os.makedirs(OUT, exist_ok=True)
    arrays = {
        "u8": np.array([[0, 1, 127], [128, 254, 255]], dtype=np.uint8),
        "i8": np.array([-128, -1, 0, 1, 127], dtype=np.int8),
        "i16": np.array([[-32768, -300], [300, 32767]], dtype=np.int16),
        "i32": np.array([-2147483648, -1, 0, 65536, 2147483647], dtype=np.int32),
        "f32": np.array([[0.1, -2.5, 3e-8], [1e20, -0.0, np.inf]], dtype=np.float32),
        "f64": np.array([1 / 3, -1e-300, -np.inf, np.nan], dtype=np.float64),
    }
    files = {}  # name -> (kind, array)
    for kind, arr in arrays.items():
        name = kind + ".idx.gz"
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(gz(idx_bytes(kind, arr)))
        files[name] = (kind, arr)

    plain = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    with open(os.path.join(OUT, "u8_plain.idx"), "wb") as f:
        f.write(idx_bytes("u8", plain))
    files["u8_plain.idx"] = ("u8", plain)

    four = (np.arange(2 * 1 * 3 * 2, dtype=np.int16) - 6).reshape(2, 1, 3, 2)
    with open(os.path.join(OUT, "i16_4d.idx.gz"), "wb") as f:
        f.write(gz(idx_bytes("i16", four)))
    files["i16_4d.idx.gz"] = ("i16", four)

    empty = np.zeros((0, 3), dtype=np.float32)
    with open(os.path.join(OUT, "empty.idx.gz"), "wb") as f:
        f.write(gz(idx_bytes("f32", empty)))
    files["empty.idx.gz"] = ("f32", empty)

    # two gzip members: the header and the first row, then the second row
    multi = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8)
    raw = idx_bytes("u8", multi)
    cut = 4 + 2 * 4 + 3
    with open(os.path.join(OUT, "multi_member.idx.gz"), "wb") as f:
        f.write(gz(raw[:cut]) + gz(raw[cut:]))
    files["multi_member.idx.gz"] = ("u8", multi)

    # a header that claims [2^31, 16] f64 (256 GiB) in a file of a few bytes:
    # the reader must refuse it before allocating anything
    absurd = bytes([0, 0, 0x0E, 2]) + struct.pack(">II", 2**31, 16) + b"\0" * 8
    with open(os.path.join(OUT, "absurd.idx.gz"), "wb") as f:
        f.write(gz(absurd))

    with open(os.path.join(OUT, "expected.lua"), "w") as f:
        f.write("-- written by scripts/gen_data_fixtures.py; do not edit\n")
        f.write("return {\n  version = %d,\n  files = {\n" % VERSION)
        for name in sorted(files):
            kind, arr = files[name]
            vals = ", ".join(lua_num(v, kind) for v in arr.reshape(-1))
            shape = ", ".join(str(n) for n in arr.shape)
            f.write('    ["%s"] = {kind = "%s", dtype = "%s", shape = {%s}, values = {%s}},\n'
                    % (name, kind, TARGET[kind], shape, vals))
        f.write("  },\n}\n")
    print("wrote", len(files), "fixtures to", OUT)


if __name__ == "__main__":
    main()
