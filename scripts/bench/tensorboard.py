#!/usr/bin/python3
"""The competitor side of scripts/bench/tensorboard.sh: what torch.utils.tensorboard's
SummaryWriter does per call, rebuilt from its parts (TensorBoard itself is not
installed): Event protobufs through python-protobuf (protoc's classes from
tests/fixtures/tensorboard), TFRecord framing with a table-driven Python
CRC-32C (as tensorboard's record_writer without TensorFlow), histograms by
np.histogram over TensorFlow's bucket edges with zero runs trimmed
(torch's make_histogram, bins="tensorflow"), images through PIL's PNG encoder.
Each write flushed. Prints "tb OP seconds" lines: python3 tensorboard.py DIR [REPS]
"""
import io
import os
import struct
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import decode_tfevents as dt  # noqa: E402
from gen_tensorboard_fixtures import tf_default_limits  # noqa: E402

TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def frame(data):
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", dt.masked(crc32c(head))) + data + struct.pack("<I", dt.masked(crc32c(data)))


def main():
    out, reps = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    tb, _ = dt.load_schema()
    os.makedirs(out, exist_ok=True)
    f = open(os.path.join(out, "events.out.tfevents.py"), "wb")

    def write(value, step):
        e = tb.Event(wall_time=time.time(), step=step, summary=tb.Summary(value=[value]))
        f.write(frame(e.SerializeToString()))
        f.flush()

    limits = np.array(tf_default_limits())
    edges = np.concatenate([[-np.inf], limits])  # np.histogram bins: one more edge than buckets

    def histogram(x, step):
        x = x.astype(np.float64)
        counts, _ = np.histogram(x, bins=edges)
        nz = np.nonzero(counts)[0]
        lo, hi = (nz[0], nz[-1] + 2) if len(nz) else (0, 1)
        h = tb.HistogramProto(min=x.min(), max=x.max(), num=len(x), sum=x.sum(), sum_squares=x.dot(x),
                              bucket_limit=limits[lo:hi].tolist(), bucket=counts[lo:hi].astype(np.float64).tolist())
        write(tb.Summary.Value(tag="w", histo=h), step)

    def image(x, step):
        arr = (x.transpose(1, 2, 0) * 255 + 0.5).clip(0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG")
        write(tb.Summary.Value(tag="img", image=tb.Summary.Image(height=arr.shape[0], width=arr.shape[1], colorspace=3,
                                                                 encoded_image_string=buf.getvalue())), step)

    rng = np.random.default_rng(0)
    w = rng.standard_normal(1000000).astype(np.float32)
    img = rng.random((3, 256, 256), dtype=np.float32)

    def median(fn):
        t = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        return sorted(t)[(reps - 1) // 2]

    print("tb scalars_2000", median(lambda: [write(tb.Summary.Value(tag="loss", simple_value=1 / s), s) for s in range(1, 2001)]))
    print("tb histogram_1M", median(lambda: histogram(w, 1)))
    print("tb image_256", median(lambda: image(img, 1)))
    f.close()


if __name__ == "__main__":
    main()
