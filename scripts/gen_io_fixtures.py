#!/usr/bin/python3
"""Fixtures for tests/lua/test_io.lua, written with NumPy alone.

    scripts/gen_io_fixtures.py              writes tests/fixtures/io/
    scripts/gen_io_fixtures.py --roundtrip  the other way round (MOONLAB=command
        overrides build/moonlab): moonlab loads
        every fixture and saves it again as .npy and .safetensors; NumPy
        (np.load, and a strict safetensors reader below that checks what the
        safetensors library checks) and PyTorch (torch.from_numpy) read the
        results, which must equal the original arrays.

The .npy fixtures cover every dtype moonlab reads (f2/f4/f8, i1/i2/i4/i8,
u1/u2/u4, b1), Fortran order, big-endian data, a 0-d array, an empty and an
8-D array, and format versions 2.0 and 3.0. The safetensors fixtures are
written by hand (NumPy bytes + json) with the header's keys in a different
order from the data. expected.lua holds every value as exact Lua literals.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "io")

# name -> array; dtypes are NumPy's, loaded by moonlab as LOADS_AS[kind].
NPY = {
    "f32.npy": np.array([[0.1, -2.5, 3e-8], [1e20, -0.0, 7.0]], dtype="<f4"),
    "f64.npy": np.array([1 / 3, -1e-300, np.inf, np.nan], dtype="<f8"),
    "i64.npy": np.array([[-(2**40) - 1, 2**40], [0, -1]], dtype="<i8"),
    "bool.npy": np.array([True, False, True, True]),
    "i32.npy": np.array([[1, -2], [2**31 - 1, -(2**31)]], dtype="<i4"),
    "i16.npy": np.array([-32768, 32767, 5], dtype="<i2"),
    "i8.npy": np.array([-128, 127, 0], dtype="|i1"),
    "u8.npy": np.array([0, 255, 17], dtype="|u1"),
    "u16.npy": np.array([0, 65535], dtype="<u2"),
    "u32.npy": np.array([4294967295, 0, 7], dtype="<u4"),
    "f16.npy": np.array([0.5, -2.25, 65504, 2.0**-24, -np.inf], dtype="<f2"),
    "fortran.npy": np.asfortranarray(np.arange(24, dtype="<f8").reshape(2, 3, 4)),
    "fortran_i32.npy": np.asfortranarray(np.arange(6, dtype="<i4").reshape(3, 2) - 2),
    "be_f4.npy": np.array([[1.5, -2.0], [3.25, 1e10]], dtype=">f4"),
    "be_i8.npy": np.array([1, -2, 2**40], dtype=">i8"),
    "be_i2.npy": np.array([-300, 300], dtype=">i2"),
    "scalar.npy": np.array(3.5, dtype="<f8"),
    "empty.npy": np.zeros((0, 3), dtype="<f4"),
    "d8.npy": (np.arange(16, dtype="<f4") - 8).reshape(1, 2, 1, 2, 1, 2, 1, 2),
}
NPY_VERSIONED = {  # name -> (array, format version)
    "v2.npy": (np.array([1, 2, 3], dtype="<i8"), (2, 0)),
    "v3.npy": (np.array([[True], [False]]), (3, 0)),
}


def loads_as(a):
    k, size = a.dtype.kind, a.dtype.itemsize
    if k == "f":
        return "float64" if size == 8 else "float32"
    if k in "iu":
        return "int64"
    if k == "b":
        return "bool"
    raise ValueError(a.dtype)


def moonlab_value(a):
    """The array as moonlab holds it (float16 widened, ints as int64)."""
    return a.astype({"float32": "<f4", "float64": "<f8", "int64": "<i8", "bool": "?"}[loads_as(a)])


# ---- safetensors, by hand ------------------------------------------------
ST_CODES = {"<f4": "F32", "<f8": "F64", "<i8": "I64", "|b1": "BOOL", "<f2": "F16", "<i4": "I32",
            "<i2": "I16", "|i1": "I8", "|u1": "U8", "<u2": "U16", "<u4": "U32"}


def bf16_bytes(values):
    """bfloat16 is float32's upper half (values chosen exactly representable)."""
    bits = np.array(values, dtype="<f4").view("<u4") >> 16
    return bits.astype("<u2").tobytes()


def write_safetensors(path, tensors, metadata=None, data_order=None):
    """tensors: name -> ndarray, or name -> (code, shape, raw bytes)."""
    entries = {}
    for name, t in tensors.items():
        if isinstance(t, tuple):
            entries[name] = t
        else:
            entries[name] = (ST_CODES[t.dtype.str], list(t.shape), np.ascontiguousarray(t).tobytes())
    header, data = {}, b""
    for name in data_order or list(entries):
        code, shape, raw = entries[name]
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    keyed = {}
    if metadata is not None:
        keyed["__metadata__"] = metadata
    for name in entries:  # header order = insertion order, not data order
        keyed[name] = header[name]
    text = json.dumps(keyed).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


HAND = {
    "w": np.array([[1.0, -2.0, 0.25], [1e-3, 3e30, -0.0]], dtype="<f4"),
    "b": np.array([0.1, -1e300, 2.0], dtype="<f8"),
    "idx": np.array([0, -5, 2**40, 7], dtype="<i8"),
    "mask": np.array([[True, False], [False, True]]),
    "h": np.array([0.5, -65504, 0.0999755859375], dtype="<f2"),
    "bf": ("BF16", [2], bf16_bytes([1.0, -3.5])),
    "i32": np.array([-7, 2**31 - 1, 0], dtype="<i4"),
    "i16": np.array([-32768, 12], dtype="<i2"),
    "i8": np.array([-1, 100], dtype="|i1"),
    "u8": np.array([255, 1], dtype="|u1"),
    "u16": np.array([65535], dtype="<u2"),
    "u32": np.array([4000000000], dtype="<u4"),
    "empty": np.zeros((0, 3), dtype="<f4"),
    "scalar": np.array(-4.5, dtype="<f8"),
}
HAND_VALUES = dict(HAND, bf=np.array([1.0, -3.5], dtype="<f4"))
HAND_META = {"format": "pt", "note": 'tab\tquote" \u00fc \U0001f600', "arch": json.dumps({"layers": [1, 2]})}
SINGLE = {"tensor": np.array([2.5, -1.0], dtype="<f4")}


# ---- expected values as Lua ---------------------------------------------
def lua_num(x):
    if isinstance(x, (bool, np.bool_)):
        return "true" if x else "false"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if x != x:
        return "(0/0)"
    if x in (float("inf"), float("-inf")):
        return "(1/0)" if x > 0 else "(-1/0)"
    return repr(x)


def lua_str(s):
    return '"' + "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "".join(
        "\\%d" % b for b in c.encode()) for c in s) + '"'


def lua_tensor(a):
    v = moonlab_value(a)
    shape = ", ".join(str(s) for s in a.shape)
    values = ", ".join(lua_num(x) for x in v.reshape(-1).tolist())
    return "{dtype = %s, shape = {%s}, values = {%s}}" % (lua_str(loads_as(a)), shape, values)


def write_expected(path):
    lines = ["-- written by scripts/gen_io_fixtures.py; do not edit", "return {", "  version = %d," % VERSION,
             "  npy = {"]
    for name, a in list(NPY.items()) + [(k, v[0]) for k, v in NPY_VERSIONED.items()]:
        lines.append("    [%s] = %s," % (lua_str(name), lua_tensor(a)))
    lines.append("  },")
    lines.append("  hand = {")
    for name, a in HAND_VALUES.items():
        lines.append("    [%s] = %s," % (lua_str(name), lua_tensor(a)))
    lines.append("  },")
    lines.append("  hand_meta = {%s}," % ", ".join("[%s] = %s" % (lua_str(k), lua_str(v)) for k, v in HAND_META.items()))
    lines.append("  single = %s," % lua_tensor(SINGLE["tensor"]))
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def generate():
    os.makedirs(OUT, exist_ok=True)
    for name, a in NPY.items():
        np.save(os.path.join(OUT, name), a)
    for name, (a, version) in NPY_VERSIONED.items():
        with open(os.path.join(OUT, name), "wb") as f:
            np.lib.format.write_array(f, a, version=version)
    order = ["u8", "bf", "w", "mask", "i8", "b", "idx", "h", "i32", "i16", "u16", "u32", "empty", "scalar"]
    write_safetensors(os.path.join(OUT, "hand.safetensors"), HAND, HAND_META, order)
    write_safetensors(os.path.join(OUT, "single.safetensors"), SINGLE)
    write_expected(os.path.join(OUT, "expected.lua"))
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("wrote %d files, %d bytes, to %s" % (len(os.listdir(OUT)), total, OUT))


# ---- the other way round: what moonlab writes ----------------------------
ST_DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "BOOL": "?", "F16": "<f2", "I32": "<i4"}


def read_safetensors_strict(path):
    """A reader that refuses what the safetensors library refuses."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    assert 8 + n <= len(buf) and n % 8 == 0, "header length %d (file %d bytes)" % (n, len(buf))
    text = buf[8:8 + n].decode("utf-8")
    assert text.startswith("{")
    header = json.loads(text)
    meta = header.pop("__metadata__", None) or {}
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    data = buf[8 + n:]
    pos, out = 0, {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        assert set(e) == {"dtype", "shape", "data_offsets"}, e
        b, end = e["data_offsets"]
        dt = np.dtype(ST_DTYPES[e["dtype"]])
        assert b == pos, "%s: offsets not contiguous (%d, expected %d)" % (name, b, pos)
        assert end - b == int(np.prod(e["shape"], dtype=np.int64)) * dt.itemsize, name
        assert b % dt.itemsize == 0, "%s: data not aligned" % name
        out[name] = np.frombuffer(data[b:end], dtype=dt).reshape(e["shape"])
        pos = end
    assert pos == len(data), "%d bytes of data, %d used" % (len(data), pos)
    return out, meta


def same(got, want, what):
    want = moonlab_value(want)
    assert got.dtype == want.dtype, "%s: dtype %s, expected %s" % (what, got.dtype, want.dtype)
    assert got.shape == want.shape, "%s: shape %s, expected %s" % (what, got.shape, want.shape)
    assert np.array_equal(got, want, equal_nan=got.dtype.kind == "f"), "%s: values differ" % what


ROUNDTRIP_LUA = r"""
local src, dst = arg[1], arg[2]
local names = {}
for name in io.popen("ls " .. src):lines() do names[#names + 1] = name end
local all = {}
for _, name in ipairs(names) do
  if name:match("%.npy$") then
    local t = ml.load(src .. "/" .. name)
    local base = name:gsub("%.npy$", "")
    ml.save(dst .. "/" .. name, t)
    ml.save(dst .. "/" .. base .. ".safetensors", t)
    all[base] = t
  end
end
local hand, meta = ml.load(src .. "/hand.safetensors")
ml.save(dst .. "/hand.safetensors", hand, {metadata = meta})
ml.save(dst .. "/all.safetensors", all, {metadata = {source = "moonlab"}})
local fortran = ml.load(src .. "/fortran.npy")
local ok, transpose = pcall(function() return fortran.transpose end)
if ok and transpose then
  local tt = fortran:transpose(1, 3)
  ml.save(dst .. "/transposed.npy", tt)
  ml.save(dst .. "/transposed.safetensors", {t = tt})
end
"""


def roundtrip():
    import torch

    moonlab = os.environ.get("MOONLAB", os.path.join(ROOT, "build", "moonlab"))
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "roundtrip.lua")
        with open(script, "w") as f:
            f.write(ROUNDTRIP_LUA)
        out = os.path.join(d, "out")
        os.mkdir(out)
        subprocess.run(moonlab.split() + [script, OUT, out], check=True)
        checked = 0
        for name, a in list(NPY.items()) + [(k, v[0]) for k, v in NPY_VERSIONED.items()]:
            base = name[:-4]
            got = np.load(os.path.join(out, name))
            same(got, a, name + " (np.load)")
            same(torch.from_numpy(got.copy()).numpy(), a, name + " (torch)")
            st, _ = read_safetensors_strict(os.path.join(out, base + ".safetensors"))
            same(st["tensor"], a, base + ".safetensors")
            checked += 3
        hand, meta = read_safetensors_strict(os.path.join(out, "hand.safetensors"))
        assert meta == HAND_META, meta
        for name, a in HAND_VALUES.items():
            same(hand[name], a, "hand.safetensors:" + name)
            checked += 1
        allt, meta = read_safetensors_strict(os.path.join(out, "all.safetensors"))
        assert meta == {"source": "moonlab"}
        assert len(allt) == len(NPY) + len(NPY_VERSIONED)
        for name, t in allt.items():
            torch.from_numpy(t.copy())
        if os.path.exists(os.path.join(out, "transposed.npy")):
            want = NPY["fortran.npy"].transpose(2, 1, 0)
            same(np.load(os.path.join(out, "transposed.npy")), want, "transposed.npy")
            same(read_safetensors_strict(os.path.join(out, "transposed.safetensors"))[0]["t"], want, "transposed.st")
            checked += 2
        else:
            print("(no transpose method yet: transposed case skipped)")
        print("roundtrip: %d checks passed (np.load, torch.from_numpy, strict safetensors reader)" % checked)


if __name__ == "__main__":
    if "--roundtrip" in sys.argv[1:]:
        roundtrip()
    else:
        generate()
