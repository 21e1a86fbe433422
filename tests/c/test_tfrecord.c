/* TFRecord framing, CRC-32C and the histogram kernel from C
 * (runtime/io/tfrecord.c, runtime/ops/histogram.c): RFC 3720 B.4's CRC
 * vectors on both code paths at every alignment, frame/next round trips and
 * refusals of cut or corrupt records, TensorFlow's default limits and the
 * squash of empty buckets. Prints "N passed, M failed" last. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/io/tfrecord.h"
#include "../../runtime/ops/histogram.h"
#include "../../runtime/tensor/tensor.h"

#include "check.h"

static void test_crc(void) {
    uint8_t zeros[32] = {0}, ones[32], inc[32], dec[32];
    for (int i = 0; i < 32; i++) ones[i] = 0xff, inc[i] = (uint8_t)i, dec[i] = (uint8_t)(31 - i);
    CHECK(ml_crc32c(0, zeros, 32) == 0x8A9136AAu);
    CHECK(ml_crc32c(0, ones, 32) == 0x62A8AB43u);
    CHECK(ml_crc32c(0, inc, 32) == 0x46DD794Eu);
    CHECK(ml_crc32c(0, dec, 32) == 0x113FDB5Cu);
    CHECK(ml_crc32c_table(0, dec, 32) == 0x113FDB5Cu);
    CHECK(ml_crc32c(0, "123456789", 9) == 0xE3069283u);
    CHECK(ml_crc32c(ml_crc32c(0, "1234", 4), "56789", 5) == 0xE3069283u);
    CHECK(ml_crc32c_mask(0xE3069283u) == 0xC78AB0E5u); /* by hand: see test_tensorboard.lua */
    uint8_t buf[200];
    for (int i = 0; i < 200; i++) buf[i] = (uint8_t)(i * 37 + 11);
    int same = 1;
    for (int off = 0; off < 8; off++)
        for (int n = 0; n + off <= 200; n++) same &= ml_crc32c(0, buf + off, n) == ml_crc32c_table(0, buf + off, n);
    CHECK(same);
}

static void test_frames(void) {
    ml_buf b = {0};
    ml_tfrecord_frame(&b, "hello", 5);
    ml_tfrecord_frame(&b, "", 0);
    CHECK(b.len == 21 + 16);
    size_t pos = 0;
    const uint8_t *d;
    uint64_t n;
    char err[160];
    CHECK(ml_tfrecord_next((uint8_t *)b.data, b.len, &pos, &d, &n, err, sizeof err) == 1 && n == 5 && !memcmp(d, "hello", 5));
    CHECK(ml_tfrecord_next((uint8_t *)b.data, b.len, &pos, &d, &n, err, sizeof err) == 1 && n == 0);
    CHECK(ml_tfrecord_next((uint8_t *)b.data, b.len, &pos, &d, &n, err, sizeof err) == 0);
    pos = 0;
    CHECK(ml_tfrecord_next((uint8_t *)b.data, 20, &pos, &d, &n, err, sizeof err) == -1 && strstr(err, "cut"));
    b.data[14] ^= 1; /* a data byte */
    pos = 0;
    CHECK(ml_tfrecord_next((uint8_t *)b.data, b.len, &pos, &d, &n, err, sizeof err) == -1 && strstr(err, "data's CRC"));
    b.data[2] ^= 1; /* the length */
    pos = 0;
    CHECK(ml_tfrecord_next((uint8_t *)b.data, b.len, &pos, &d, &n, err, sizeof err) == -1 && strstr(err, "length's CRC"));
    ml_buf_free(&b);
}

static void test_histogram(void) {
    int64_t k = ml_histogram_default_limits(NULL);
    CHECK(k == 1551);
    double *lim = malloc(k * sizeof *lim), *counts = malloc(k * sizeof *counts);
    ml_histogram_default_limits(lim);
    CHECK(lim[0] == -DBL_MAX && lim[k - 1] == DBL_MAX && lim[k / 2] == 0 && lim[k / 2 + 1] == 1e-12);
    int sorted = 1;
    for (int64_t i = 1; i < k; i++) sorted &= lim[i] > lim[i - 1] && lim[i] == -lim[k - 1 - i];
    CHECK(sorted);
    int64_t shape[1] = {4};
    ml_tensor *x = ml_empty(1, shape, ML_FLOAT64);
    double *v = ml_data(x);
    v[0] = 0, v[1] = 1e-12, v[2] = -1, v[3] = 0;
    ml_histogram_stats st;
    CHECK(ml_histogram("t", counts, &st, x, lim, k) == 0);
    CHECK(counts[k / 2 + 1] == 2 && counts[k / 2 + 2] == 1); /* 0 below the limit 1e-12; 1e-12 in the next bucket */
    CHECK(st.min == -1 && st.max == 1e-12 && st.num == 4 && st.sum == -1 + 1e-12);
    int64_t m = ml_histogram_squash(lim, counts, k);
    CHECK(m == 6); /* empties, -1's bucket, empties, the two 0s, 1e-12's bucket, empties: runs squashed */
    v[1] = 0.0 / 0.0;
    CHECK(ml_histogram("t", counts, &st, x, lim, k) == -1);
    ml_release(x);
    free(lim);
    free(counts);
}

int main(void) {
    test_crc();
    test_frames();
    test_histogram();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
