#!/usr/bin/python3
"""The independent reader of moonlab's TensorBoard event files.

    /usr/bin/python3 scripts/decode_tfevents.py FILE... > events.json

Reads each file's TFRecord framing (lengths and masked CRC-32C checked with
a bit-by-bit CRC written here, not moonlab's), parses every record as a
tensorboard.Event with classes protoc compiles from the schema in
tests/fixtures/tensorboard/*.proto (python3-protobuf), and prints JSON: one
list per file of events, every field spelled out:

  {"wall_time", "step", "file_version"} or {"wall_time", "step", "summary": [value...]}
  value: {"tag", "kind": "simple_value"|"histo"|"image"|"tensor"|null, "simple_value",
          "histo": {min, max, num, sum, sum_squares, bucket_limit, bucket},
          "image": {height, width, colorspace, png_hex},
          "tensor": {dtype, dims, float_val, double_val, string_val},
          "metadata": {plugin_name, content_hex, data_class, hparams: {...decoded HParamsPluginData}}}
Doubles are printed with repr (17 digits); floats are widened to double as
protobuf gives them. Needs protoc (protobuf-compiler) and google.protobuf.
"""
import importlib
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "tests", "fixtures", "tensorboard")


def load_schema():
    """(tensorboard_pb2, hparams_pb2), compiled by protoc into a temporary folder."""
    out = tempfile.mkdtemp(prefix="tfevents_pb_")
    subprocess.run(["protoc", "-I" + SCHEMA, "-I/usr/include", "--python_out=" + out,
                    "tensorboard.proto", "hparams.proto"], check=True)
    sys.path.insert(0, out)
    return importlib.import_module("tensorboard_pb2"), importlib.import_module("hparams_pb2")


def crc32c(data):
    """CRC-32C, bit by bit (reflected polynomial 0x82F63B78)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data):
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", masked(crc32c(head))) + data + struct.pack("<I", masked(crc32c(data)))


def records(blob, name="file"):
    pos = 0
    while pos < len(blob):
        if len(blob) - pos < 12:
            raise ValueError("%s: byte %d: cut record header" % (name, pos))
        head = blob[pos:pos + 8]
        (n,) = struct.unpack("<Q", head)
        (hcrc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if hcrc != masked(crc32c(head)):
            raise ValueError("%s: byte %d: length CRC mismatch" % (name, pos))
        data = blob[pos + 12:pos + 12 + n]
        if len(data) != n or len(blob) < pos + 16 + n:
            raise ValueError("%s: byte %d: cut record" % (name, pos))
        (dcrc,) = struct.unpack("<I", blob[pos + 12 + n:pos + 16 + n])
        if dcrc != masked(crc32c(data)):
            raise ValueError("%s: byte %d: data CRC mismatch" % (name, pos))
        yield data
        pos += 16 + n


def struct_value(v):
    kind = v.WhichOneof("kind")
    return {"number_value": v.number_value, "string_value": v.string_value, "bool_value": v.bool_value}.get(kind)


def hparams_content(hp, content):
    d = hp.HParamsPluginData.FromString(content)
    which = d.WhichOneof("data")
    out = {"version": d.version, "data": which}
    if which == "experiment":
        x = d.experiment
        out["experiment"] = {
            "time_created_secs": x.time_created_secs,
            "hparam_infos": [{"name": h.name, "type": h.type} for h in x.hparam_infos],
            "metric_infos": [{"group": m.name.group, "tag": m.name.tag} for m in x.metric_infos]}
    elif which == "session_start_info":
        s = d.session_start_info
        out["session_start_info"] = {"hparams": {k: struct_value(v) for k, v in s.hparams.items()},
                                     "group_name": s.group_name, "start_time_secs": s.start_time_secs}
    elif which == "session_end_info":
        e = d.session_end_info
        out["session_end_info"] = {"status": e.status, "end_time_secs": e.end_time_secs}
    return out


def value_dict(hp, v):
    kind = v.WhichOneof("value")
    d = {"tag": v.tag, "kind": kind}
    if kind == "simple_value":
        d["simple_value"] = v.simple_value
    elif kind == "histo":
        h = v.histo
        d["histo"] = {"min": h.min, "max": h.max, "num": h.num, "sum": h.sum, "sum_squares": h.sum_squares,
                      "bucket_limit": list(h.bucket_limit), "bucket": list(h.bucket)}
    elif kind == "image":
        im = v.image
        d["image"] = {"height": im.height, "width": im.width, "colorspace": im.colorspace,
                      "png_hex": im.encoded_image_string.hex()}
    elif kind == "tensor":
        t = v.tensor
        d["tensor"] = {"dtype": t.dtype, "dims": [x.size for x in t.tensor_shape.dim],
                       "float_val": list(t.float_val), "double_val": list(t.double_val),
                       "string_val": [s.decode("utf-8") for s in t.string_val]}
    if v.HasField("metadata"):
        m = v.metadata
        md = {"plugin_name": m.plugin_data.plugin_name, "content_hex": m.plugin_data.content.hex(),
              "data_class": m.data_class}
        if m.plugin_data.plugin_name == "hparams":
            md["hparams"] = hparams_content(hp, m.plugin_data.content)
        d["metadata"] = md
    return d


def decode_file(tb, hp, path):
    with open(path, "rb") as f:
        blob = f.read()
    events = []
    for data in records(blob, path):
        e = tb.Event.FromString(data)
        d = {"wall_time": e.wall_time, "step": e.step}
        what = e.WhichOneof("what")
        if what == "file_version":
            d["file_version"] = e.file_version
        elif what == "summary":
            d["summary"] = [value_dict(hp, v) for v in e.summary.value]
        events.append(d)
    return events


def main(paths):
    tb, hp = load_schema()
    json.dump([decode_file(tb, hp, p) for p in paths], sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: decode_tfevents.py FILE...")
    main(sys.argv[1:])
