#!/usr/bin/python3
"""Known vectors for moonlab's TensorBoard writer (tests/lua/test_tensorboard.lua).

    /usr/bin/python3 scripts/gen_tensorboard_fixtures.py   # writes tests/fixtures/tensorboard/vectors.json

The messages are built with python3-protobuf classes that protoc compiles from
tests/fixtures/tensorboard/*.proto (TensorFlow's schema), serialized with
deterministic=True, and framed as TFRecords by scripts/decode_tfevents.py's
bit-by-bit CRC-32C. The CRC vectors are RFC 3720 B.4's (asserted here). The
histogram is TensorFlow's Histogram::Add and EncodeToProto, re-implemented
here with bisect over its default bucket limits.
"""
import bisect
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decode_tfevents as dt  # noqa: E402

VERSION = 1
OUT = os.path.join(dt.SCHEMA, "vectors.json")
DBL_MAX = sys.float_info.max


def tf_default_limits():
    pos, v = [], 1.0e-12
    while v < 1.0e20:
        pos.append(v)
        v *= 1.1
    pos.append(DBL_MAX)
    return [-x for x in reversed(pos)] + [0.0] + pos


def tf_histogram(values, limits):
    counts = [0.0] * len(limits)
    for x in values:
        counts[min(bisect.bisect_right(limits, x), len(limits) - 1)] += 1
    out_l, out_c, i = [], [], 0
    while i < len(counts):  # EncodeToProto(preserve_zero_buckets=false)
        end, count, j = limits[i], counts[i], i + 1
        while count <= 0 and j < len(counts) and counts[j] <= 0:
            end, count, j = limits[j], counts[j], j + 1
        out_l.append(end)
        out_c.append(count)
        i = j
    if not out_l:
        out_l, out_c = [DBL_MAX], [0.0]
    return {"min": min(values), "max": max(values), "num": float(len(values)), "sum": float(sum(values)),
            "sum_squares": float(sum(x * x for x in values)), "bucket_limit": out_l, "bucket": out_c}


def main():
    tb, hp = dt.load_schema()
    events = []

    def add(name, ev, **inputs):
        data = ev.SerializeToString(deterministic=True)
        events.append({"name": name, "hex": data.hex(), "record_hex": dt.frame(data).hex(), "inputs": inputs})

    def value(**kw):
        return tb.Summary(value=[tb.Summary.Value(**kw)])

    add("file_version", tb.Event(wall_time=1700000000.25, file_version="brain.Event:2"))
    add("scalar", tb.Event(wall_time=1700000001.5, step=3, summary=value(tag="loss", simple_value=0.125)))
    add("scalar_zero", tb.Event(wall_time=1700000002.0, step=0, summary=value(tag="epoch_loss", simple_value=0.0)))
    scal_md = tb.SummaryMetadata(plugin_data=tb.SummaryMetadata.PluginData(plugin_name="scalars"), data_class=1)
    add("scalar_double", tb.Event(wall_time=1700000003.0, step=12, summary=value(
        tag="val/acc", tensor=tb.TensorProto(dtype=tb.DT_DOUBLE, double_val=[0.8751]), metadata=scal_md)))

    hist_values = [-1.5, 0.0, 0.0, 0.25, 3.0, 1e-12, -2e5, 7.5, 0.25, 1e-300]
    h = tf_histogram(hist_values, tf_default_limits())
    add("histogram", tb.Event(wall_time=1700000004.0, step=5, summary=value(tag="dense/weight", histo=tb.HistogramProto(**h))),
        values=hist_values)

    # every 7th limit, just above and below it, and its negation: the bucket rule at its edges
    lims = tf_default_limits()
    edge_values = [x for v in lims[1:-1:7] for x in (v, v * (1 + 1e-15), v * (1 - 1e-15), -v)]
    edge_values += [float("inf"), float("-inf"), 5e-324, -0.0, DBL_MAX]
    h = tf_histogram(edge_values, lims)
    h["sum"], h["sum_squares"] = 0.0, 0.0  # inf - inf: the counts are what is checked here
    h["min"], h["max"] = 0.0, 0.0
    add("histogram_edges", tb.Event(wall_time=1.0, step=1, summary=value(tag="edges", histo=tb.HistogramProto(**h))))

    png = bytes(range(0, 256, 17))
    add("image", tb.Event(wall_time=1700000005.0, step=2, summary=value(tag="samples", image=tb.Summary.Image(
        height=28, width=56, colorspace=3, encoded_image_string=png))), png_hex=png.hex())

    text_md = tb.SummaryMetadata(plugin_data=tb.SummaryMetadata.PluginData(plugin_name="text"), data_class=2)
    add("text", tb.Event(wall_time=1700000006.0, step=1, summary=value(tag="notes", metadata=text_md, tensor=tb.TensorProto(
        dtype=tb.DT_STRING, tensor_shape=tb.TensorShapeProto(dim=[tb.TensorShapeProto.Dim(size=1)]),
        string_val=["hello *w\xf6rld*".encode("utf-8")]))))

    null_tensor = tb.TensorProto(dtype=tb.DT_FLOAT, tensor_shape=tb.TensorShapeProto(), float_val=[0.0])

    def hp_value(tag, data):
        content = data.SerializeToString(deterministic=True)
        md = tb.SummaryMetadata(plugin_data=tb.SummaryMetadata.PluginData(plugin_name="hparams", content=content))
        return tb.Summary.Value(tag=tag, metadata=md, tensor=null_tensor)

    exp = hp.Experiment(time_created_secs=1700000007.0, hparam_infos=[
        hp.HParamInfo(name="batch_norm", type=hp.DATA_TYPE_BOOL), hp.HParamInfo(name="lr", type=hp.DATA_TYPE_FLOAT64),
        hp.HParamInfo(name="optimizer", type=hp.DATA_TYPE_STRING)],
        metric_infos=[hp.MetricInfo(name=hp.MetricName(tag="accuracy")), hp.MetricInfo(name=hp.MetricName(tag="loss"))])
    add("hparams_experiment", tb.Event(wall_time=1700000007.0, summary=tb.Summary(value=[
        hp_value("_hparams_/experiment", hp.HParamsPluginData(experiment=exp))])))
    ssi = hp.SessionStartInfo(start_time_secs=1700000007.0)
    ssi.hparams["lr"].number_value = 0.001
    ssi.hparams["optimizer"].string_value = "adam"
    ssi.hparams["batch_norm"].bool_value = False
    add("hparams_session_start", tb.Event(wall_time=1700000007.0, summary=tb.Summary(value=[
        hp_value("_hparams_/session_start_info", hp.HParamsPluginData(session_start_info=ssi))])))
    sei = hp.SessionEndInfo(status=hp.STATUS_SUCCESS, end_time_secs=1700000008.5)
    add("hparams_session_end", tb.Event(wall_time=1700000008.5, summary=tb.Summary(value=[
        hp_value("_hparams_/session_end_info", hp.HParamsPluginData(session_end_info=sei))])))

    rfc = [("zeros", bytes(32), 0x8A9136AA), ("ones", b"\xff" * 32, 0x62A8AB43),
           ("incrementing", bytes(range(32)), 0x46DD794E), ("decrementing", bytes(range(31, -1, -1)), 0x113FDB5C),
           ("iscsi_read", bytes.fromhex("01c00000" + "00000000" * 3 + "14000000" "00000400" "00000014" "00000018"
                                           "28000000" "00000000" "02000000" "00000000"), 0xD9963A56),
           ("check", b"123456789", 0xE3069283)]
    crcs = []
    for name, data, want in rfc:
        got = dt.crc32c(data)
        assert got == want, (name, hex(got), hex(want))
        crcs.append({"name": name, "hex": data.hex(), "crc": got, "masked": dt.masked(got)})

    with open(OUT, "w") as f:
        json.dump({"version": VERSION, "generator": "scripts/gen_tensorboard_fixtures.py", "crc32c": crcs,
                   "events": events}, f, indent=1)
        f.write("\n")
    print("wrote", OUT, len(events), "events")


if __name__ == "__main__":
    main()
