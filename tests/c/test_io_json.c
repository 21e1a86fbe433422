/* The JSON reader and writer of runtime/io/json.c, which safetensors
 * headers (and model architectures kept in __metadata__) go through.
 * Prints "N passed, M failed" for tests/run.lua. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/io/io.h"

#include "check.h"

static ml_json *parse(const char *s, char *err) { return ml_json_parse(s, strlen(s), err, 200); }

/* Parsing must fail, with err containing want. */
static void bad(const char *s, const char *want) {
    char err[200];
    ml_json *v = parse(s, err);
    CHECK(v == NULL);
    if (v || !strstr(err, want)) fprintf(stderr, "  for %s: got error '%s', expected '%s'\n", s, err, want);
    ml_json_free(v);
}

static void test_values(void) {
    char err[200];
    ml_json *v = parse(" {\"a\": [1, -2.5e3, 0.125, true, false, null], \"b\": {\"c\": \"d\"}, \"e\": []} ", err);
    CHECK(v && v->type == ML_JSON_OBJECT && v->n == 3);
    const ml_json *a = ml_json_get(v, "a");
    CHECK(a && a->type == ML_JSON_ARRAY && a->n == 6);
    CHECK(a->items[0].is_int && a->items[0].integer == 1);
    CHECK(!a->items[1].is_int && a->items[1].number == -2500);
    CHECK(a->items[2].number == 0.125);
    CHECK(a->items[3].type == ML_JSON_BOOL && a->items[3].boolean);
    CHECK(a->items[4].type == ML_JSON_BOOL && !a->items[4].boolean);
    CHECK(a->items[5].type == ML_JSON_NULL);
    const ml_json *c = ml_json_get(ml_json_get(v, "b"), "c");
    CHECK(c && c->type == ML_JSON_STRING && !strcmp(c->string, "d") && c->len == 1);
    CHECK(ml_json_get(v, "e")->type == ML_JSON_ARRAY && ml_json_get(v, "e")->n == 0);
    CHECK(ml_json_get(v, "zz") == NULL);
    ml_json_free(v);
}

static void test_integers(void) {
    char err[200];
    ml_json *v = parse("[9223372036854775807, -9223372036854775808, 9223372036854775808, 9007199254740993, 1e2, -0]", err);
    CHECK(v && v->n == 6);
    CHECK(v->items[0].is_int && v->items[0].integer == INT64_MAX);
    CHECK(v->items[1].is_int && v->items[1].integer == INT64_MIN);
    CHECK(!v->items[2].is_int && v->items[2].number == 9223372036854775808.0); /* too large: a double */
    CHECK(v->items[3].is_int && v->items[3].integer == 9007199254740993LL);    /* exact beyond 2^53 */
    CHECK(!v->items[4].is_int && v->items[4].number == 100);
    CHECK(v->items[5].is_int && v->items[5].integer == 0);
    ml_json_free(v);
}

static void test_strings(void) {
    char err[200];
    ml_json *v = parse("\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\xc3\xa9\"", err);
    CHECK(v && v->type == ML_JSON_STRING);
    CHECK(v && !strcmp(v->string, "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9"));
    ml_json_free(v);
    v = parse("\"\"", err);
    CHECK(v && v->string && v->len == 0);
    ml_json_free(v);
}

static void test_errors(void) {
    bad("", "expected a value");
    bad("{", "expected a string");
    bad("{\"a\" 1}", "expected ':'");
    bad("{\"a\": 1,}", "expected a string");
    bad("[1 2]", "expected ',' or ']'");
    bad("[1,]", "expected a value");
    bad("01", "unexpected");
    bad("1.", "digit expected");
    bad("1e", "digit expected");
    bad("-", "bad number");
    bad("tru", "expected a value");
    bad("\"abc", "unterminated");
    bad("\"a\nb\"", "control character");
    bad("\"\\x\"", "bad escape");
    bad("\"\\u12\"", "incomplete");
    bad("\"\\u12g4\"", "hex digit");
    bad("\"\\ud800\"", "surrogate");
    bad("\"\\udc00\"", "surrogate");
    bad("\"\\u0000\"", "\\u0000");
    bad("\"\xff\"", "UTF-8");
    bad("\"\xc0\xaf\"", "UTF-8");       /* overlong '/' */
    bad("\"\xed\xa0\x80\"", "UTF-8");   /* encoded surrogate */
    bad("\"\xe2\x82\"", "UTF-8");       /* cut sequence */
    bad("{\"a\": 1, \"a\": 2}", "duplicate key \"a\"");
    bad("[1] x", "unexpected 'x'");
    char deep[400];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    bad(deep, "nesting deeper");
    /* the length given is a hard limit: the parser never reads past it */
    char err[200];
    ml_json *v = ml_json_parse("[1, 2]garbage", 6, err, sizeof err);
    CHECK(v && v->n == 2);
    ml_json_free(v);
    v = ml_json_parse("[1, 2]", 5, err, sizeof err);
    CHECK(v == NULL && strstr(err, "byte 5"));
    ml_json_free(v);
}

static void test_writer(void) {
    ml_buf b = {0};
    ml_json_put_string(&b, "a\"\\\n\x01\xc3\xa9", 7);
    ml_buf_puts(&b, " ");
    ml_json_put_number(&b, 3);
    ml_buf_puts(&b, " ");
    ml_json_put_number(&b, 0.1);
    ml_buf_puts(&b, " ");
    ml_json_put_number(&b, NAN);
    ml_buf_printf(&b, " %d", 42);
    CHECK(!b.failed && !strcmp(b.data, "\"a\\\"\\\\\\n\\u0001\xc3\xa9\" 3 0.10000000000000001 null 42"));
    /* what the writer writes, the reader reads back */
    char err[200];
    ml_buf_free(&b);
    ml_json_put_string(&b, "x\ty\x1f\"", 5);
    ml_json *v = ml_json_parse(b.data, b.len, err, sizeof err);
    CHECK(v && !strcmp(v->string, "x\ty\x1f\""));
    ml_json_free(v);
    ml_buf_free(&b);
}

/* Many keys: every duplicate found (the key set grows through rehashes),
 * the same key in sibling objects allowed. */
static void test_many_keys(void) {
    ml_buf b = {0};
    ml_buf_puts(&b, "{");
    for (int i = 0; i < 5000; i++) ml_buf_printf(&b, "%s\"k%d\":{\"k%d\":%d}", i ? "," : "", i, i, i);
    size_t open_len = b.len;
    ml_buf_puts(&b, "}");
    char err[200];
    ml_json *v = ml_json_parse(b.data, b.len, err, sizeof err);
    CHECK(v && v->n == 5000 && ml_json_get(v, "k4999") && ml_json_get(v, "k4999")->items[0].integer == 4999);
    ml_json_free(v);
    for (int d = 0; d < 5000; d += 997) {
        b.len = open_len;
        ml_buf_printf(&b, ",\"k%d\":0}", d);
        v = ml_json_parse(b.data, b.len, err, sizeof err);
        char want[64];
        snprintf(want, sizeof want, "duplicate key \"k%d\"", d);
        CHECK(!v && strstr(err, want));
        ml_json_free(v);
    }
    ml_buf_free(&b);
}

/* ml_excerpt: what messages quote from a file. */
static void test_excerpt(void) {
    char buf[ML_EXCERPT_SIZE];
    CHECK(!strcmp(ml_excerpt(buf, sizeof buf, "plain", 5), "plain"));
    CHECK(!strcmp(ml_excerpt(buf, sizeof buf, "a\x1b[31m\x07\\b", 9), "a\\x1b[31m\\x07\\\\b"));
    CHECK(!strcmp(ml_excerpt(buf, sizeof buf, "\xc3\xa9\xff\xc2\x85", 5), "\xc3\xa9\\xff\\xc2\\x85"));
    CHECK(!strcmp(ml_excerpt(buf, sizeof buf, "\0z", 2), "\\x00z"));
    /* valid UTF-8 is kept; overlong forms, surrogates, code points past
     * U+10FFFF and cut sequences are escaped byte by byte */
    CHECK(!strcmp(ml_excerpt(buf, sizeof buf, "\xe2\x82\xac\xf0\x9f\x98\x80", 7), "\xe2\x82\xac\xf0\x9f\x98\x80"));
    CHECK(!strcmp(ml_excerpt(buf, sizeof buf, "\xc0\xaf", 2), "\\xc0\\xaf"));
    CHECK(!strcmp(ml_excerpt(buf, sizeof buf, "\xe0\x80\x80", 3), "\\xe0\\x80\\x80"));
    CHECK(!strcmp(ml_excerpt(buf, sizeof buf, "\xed\xa0\x80", 3), "\\xed\\xa0\\x80"));
    CHECK(!strcmp(ml_excerpt(buf, sizeof buf, "\xf4\x90\x80\x80", 4), "\\xf4\\x90\\x80\\x80"));
    CHECK(!strcmp(ml_excerpt(buf, sizeof buf, "\xe2\x82", 2), "\\xe2\\x82"));
    char longs[100];
    memset(longs, 'x', sizeof longs);
    ml_excerpt(buf, sizeof buf, longs, sizeof longs);
    CHECK(strlen(buf) == ML_EXCERPT_CHARS + 3 && !strcmp(buf + ML_EXCERPT_CHARS, "..."));
    memset(longs, 1, sizeof longs); /* the widest case fits the buffer */
    ml_excerpt(buf, sizeof buf, longs, sizeof longs);
    CHECK(strlen(buf) == 4 * ML_EXCERPT_CHARS + 3);
    ml_excerpt(buf, 8, longs, sizeof longs); /* a small buffer: cut, still terminated */
    CHECK(strlen(buf) < 8);
}

int main(void) {
    test_many_keys();
    test_excerpt();
    test_values();
    test_integers();
    test_strings();
    test_errors();
    test_writer();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
