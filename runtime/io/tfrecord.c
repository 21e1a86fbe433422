/* CRC-32C and TFRecord framing (see tfrecord.h). */
#include <stdio.h>
#include <string.h>

#include "tfrecord.h"

#define POLY 0x82F63B78u /* Castagnoli, bit-reflected */

/* 8 tables, so the portable path eats 8 bytes per step (slicing-by-8). */
static uint32_t table[8][256];
static int have_table, have_sse42 = -1;

static void init_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    have_table = 1;
}

static uint32_t read32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

uint32_t ml_crc32c_table(uint32_t crc, const void *data, size_t n) {
    if (!have_table) init_table(); /* idempotent: a race writes the same values */
    const uint8_t *p = data;
    crc = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = read32(p) ^ crc, hi = read32(p + 4);
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
              table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
    }
    while (n--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif

uint32_t ml_crc32c(uint32_t crc, const void *p, size_t n) {
#if defined(__x86_64__)
    if (have_sse42 < 0) {
        __builtin_cpu_init();
        have_sse42 = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    }
    if (have_sse42) return crc32c_sse42(crc, p, n);
#endif
    return ml_crc32c_table(crc, p, n);
}

uint32_t ml_crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

static void put32(uint8_t *o, uint32_t v) {
    for (int i = 0; i < 4; i++) o[i] = (uint8_t)(v >> (8 * i));
}

void ml_tfrecord_frame(ml_buf *out, const void *data, size_t n) {
    uint8_t head[12], foot[4];
    for (int i = 0; i < 8; i++) head[i] = (uint8_t)((uint64_t)n >> (8 * i));
    put32(head + 8, ml_crc32c_mask(ml_crc32c(0, head, 8)));
    put32(foot, ml_crc32c_mask(ml_crc32c(0, data, n)));
    ml_buf_add(out, head, 12);
    ml_buf_add(out, data, n);
    ml_buf_add(out, foot, 4);
}

int ml_tfrecord_next(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **data, uint64_t *n, char *err,
                     size_t errlen) {
    size_t at = *pos;
    if (at >= len) return 0;
    if (len - at < 12) {
        snprintf(err, errlen, "byte %zu: a record header needs 12 bytes, %zu left", at, len - at);
        return -1;
    }
    uint64_t size = 0;
    for (int i = 7; i >= 0; i--) size = size << 8 | buf[at + i];
    if (ml_crc32c_mask(ml_crc32c(0, buf + at, 8)) != read32(buf + at + 8)) {
        snprintf(err, errlen, "byte %zu: the length's CRC does not match", at);
        return -1;
    }
    if (size > len - at - 12 || len - at - 12 - size < 4) {
        snprintf(err, errlen, "byte %zu: a record of %llu bytes is cut (%zu bytes left)", at, (unsigned long long)size,
                 len - at - 12);
        return -1;
    }
    const uint8_t *d = buf + at + 12;
    if (ml_crc32c_mask(ml_crc32c(0, d, size)) != read32(d + size)) {
        snprintf(err, errlen, "byte %zu: the data's CRC does not match", at);
        return -1;
    }
    *data = d, *n = size, *pos = at + 16 + size;
    return 1;
}
