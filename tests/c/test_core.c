/* runtime/core from C: the error buffer, the growable byte buffer (growth,
 * NUL termination, printf past the small buffer), UTF-8 validation
 * (overlong forms, surrogates, truncation) and the parallel-for covering
 * [0, n) exactly once. Prints "N passed, M failed" last; exits 1 on a failure. */
#include <stdio.h>
#include <string.h>

#include "../../runtime/core/buf.h"
#include "../../runtime/core/error.h"
#include "../../runtime/core/parallel.h"
#include "../../runtime/core/utf8.h"

#include "check.h"

static void test_error(void) {
    CHECK(ml_error("f: %d of %s", 3, "x") == NULL);
    CHECK(strcmp(ml_last_error(), "f: 3 of x") == 0);
}

static void test_buf(void) {
    ml_buf b = {0};
    ml_buf_puts(&b, "ab");
    ml_buf_add(&b, "c", 1);
    ml_buf_spaces(&b, 2);
    ml_buf_spaces(&b, -1);
    ml_buf_printf(&b, "%d", 42);
    CHECK(b.len == 7 && strcmp(b.data, "abc  42") == 0);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ml_buf_printf(&b, "[%s]", big); /* longer than the 256-byte small buffer */
    CHECK(b.len == 7 + 1001 && b.data[b.len] == 0 && b.data[7] == '[' && b.data[b.len - 1] == ']');
    CHECK(!b.failed);
    ml_buf_free(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
}

static void test_utf8(void) {
    CHECK(ml_utf8_valid("", 0));
    CHECK(ml_utf8_valid("plain", 5));
    CHECK(ml_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    CHECK(ml_utf8_len((const unsigned char *)"\xe2\x82\xac", 3) == 3);
    CHECK(!ml_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    CHECK(!ml_utf8_valid("\xed\xa0\x80", 3));     /* a surrogate */
    CHECK(!ml_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    CHECK(!ml_utf8_valid("\xe2\x82", 2));         /* truncated */
    CHECK(!ml_utf8_valid("\x80", 1));             /* a lone continuation byte */
}

static int hits[100000];
static void mark(void *ctx, int64_t s, int64_t e) {
    for (int64_t i = s; i < e; i++) hits[i]++;
}

static void test_parallel(void) {
    int was = ml_get_threads();
    ml_set_threads(2);
    CHECK(ml_get_threads() == 2);
    ml_parallel_for(100000, 1000, mark, NULL);
    ml_parallel_for(7, 1000, mark, NULL); /* below the grain: one call */
    int ok = 1;
    for (int i = 0; i < 100000; i++) ok &= hits[i] == (i < 7 ? 2 : 1);
    CHECK(ok);
    ml_set_threads(0);
    CHECK(ml_get_threads() == 1);
    ml_set_threads(was);
}

int main(void) {
    test_error();
    test_buf();
    test_utf8();
    test_parallel();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
