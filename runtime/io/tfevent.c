/* Scalar events, protobuf-encoded by hand (see tfevent.h). Fields in
 * field-number order, proto3 defaults (step 0) left out, the oneof member
 * simple_value always written. */
#include <string.h>

#include "tfevent.h"

static void put_varint(ml_buf *b, uint64_t v) {
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) tmp[n++] = (uint8_t)(v | 0x80), v >>= 7;
    tmp[n++] = (uint8_t)v;
    ml_buf_add(b, tmp, (size_t)n);
}

static void put_key(ml_buf *b, int field, int wire) { put_varint(b, (uint64_t)(field << 3 | wire)); }

static void put_double(ml_buf *b, int field, double x) { /* little-endian hosts, as the runtime */
    put_key(b, field, 1);
    ml_buf_add(b, &x, 8);
}

static void put_bytes(ml_buf *b, int field, const void *p, size_t n) {
    put_key(b, field, 2);
    put_varint(b, n);
    ml_buf_add(b, p, n);
}

/* varint bytes of v */
static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) v >>= 7, n++;
    return n;
}

/* SummaryMetadata{plugin_data{plugin_name: "scalars"}, data_class: 1} */
static const uint8_t SCALARS_META[] = {0x0a, 0x09, 0x0a, 0x07, 's', 'c', 'a', 'l', 'a', 'r', 's', 0x20, 0x01};

/* TensorProto{dtype: DT_DOUBLE, double_val: [x]}'s first 4 bytes; the 8 of x follow. */
static const uint8_t DOUBLE_HEAD[] = {0x08, 0x02, 0x32, 0x08};
#define TENSOR_LEN (sizeof DOUBLE_HEAD + 8)

/* Bytes of one Summary.Value. */
static size_t value_len(size_t tag_len, bool as_double) {
    size_t n = tag_len ? 1 + varint_len(tag_len) + tag_len : 0;
    if (as_double) return n + 2 + TENSOR_LEN + 2 + sizeof SCALARS_META;
    return n + 5; /* simple_value: key + 4 bytes */
}

static void put_value(ml_buf *b, const char *tag, size_t tag_len, double v, bool as_double) {
    if (tag_len) put_bytes(b, 1, tag, tag_len);
    if (as_double) {
        ml_buf_add(b, (const uint8_t[]){0x42, (uint8_t)TENSOR_LEN}, 2); /* field 8: tensor */
        ml_buf_add(b, DOUBLE_HEAD, sizeof DOUBLE_HEAD);
        ml_buf_add(b, &v, 8);
        ml_buf_add(b, (const uint8_t[]){0x4a, (uint8_t)sizeof SCALARS_META}, 2); /* field 9: metadata */
        ml_buf_add(b, SCALARS_META, sizeof SCALARS_META);
        return;
    }
    float f = (float)v;
    put_key(b, 2, 5);
    ml_buf_add(b, &f, 4);
}

void ml_tfevent_scalars(ml_buf *out, double wall_time, int64_t step, int n, const char *const *tags,
                        const size_t *tag_lens, const double *values, bool as_double) {
    size_t summary = 0;
    for (int i = 0; i < n; i++) {
        size_t v = value_len(tag_lens[i], as_double);
        summary += 1 + varint_len(v) + v;
    }
    if (wall_time != 0) put_double(out, 1, wall_time);
    if (step != 0) {
        put_key(out, 2, 0);
        put_varint(out, (uint64_t)step);
    }
    put_key(out, 5, 2);
    put_varint(out, summary);
    for (int i = 0; i < n; i++) {
        put_key(out, 1, 2);
        put_varint(out, value_len(tag_lens[i], as_double));
        put_value(out, tags[i], tag_lens[i], values[i], as_double);
    }
}
