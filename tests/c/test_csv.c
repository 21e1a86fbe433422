/* The CSV cells and reader from C (runtime/io/csv_cell.c, csv.c): floats
 * against glibc's strtod on random decimal texts (bit for bit), integers at
 * the int64 edges, dates against timegm, the shortest float text read back,
 * and the same file read whole and streamed in chunks, on 1 and 2 threads.
 * Prints "N passed, M failed" last; exits 1 on a failure. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../runtime/core/parallel.h"
#include "../../runtime/io/csv.h"

#include "check.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_floats(void) {
    char s[64];
    int bad = 0;
    for (int k = 0; k < 200000; k++) {
        int len = 0, digits = 1 + (int)(next() % 22);
        if (next() % 3 == 0) s[len++] = '-';
        int dot = (int)(next() % (digits + 1));
        for (int d = 0; d < digits; d++) {
            if (d == dot && d) s[len++] = '.';
            s[len++] = (char)('0' + next() % 10);
        }
        if (next() % 3 == 0) len += sprintf(s + len, "e%d", (int)(next() % 640) - 330);
        s[len] = 0;
        double want = strtod(s, NULL), got;
        if (!ml_csv_parse_float(s, (size_t)len, &got) || memcmp(&got, &want, 8) != 0) {
            if (bad++ < 5) fprintf(stderr, "float '%s': got %.17g, strtod %.17g\n", s, got, want);
        }
    }
    CHECK(bad == 0);
    double v;
    CHECK(!ml_csv_parse_float("0x10", 4, &v));
    CHECK(!ml_csv_parse_float("1e", 2, &v));
    CHECK(!ml_csv_parse_float(".", 1, &v));
    CHECK(!ml_csv_parse_float("1.2.3", 5, &v));
    CHECK(ml_csv_parse_float(" 2.5 ", 5, &v) && v == 2.5);
    CHECK(ml_csv_parse_float("-Infinity", 9, &v) && isinf(v) && v < 0);
}

static void test_ints(void) {
    int64_t v;
    CHECK(ml_csv_parse_int("9223372036854775807", 19, &v) && v == INT64_MAX);
    CHECK(ml_csv_parse_int("-9223372036854775808", 20, &v) && v == INT64_MIN);
    CHECK(!ml_csv_parse_int("9223372036854775808", 19, &v));
    CHECK(!ml_csv_parse_int("99999999999999999999", 20, &v));
    CHECK(!ml_csv_parse_int("-", 1, &v));
    CHECK(!ml_csv_parse_int("1_000", 5, &v));
    CHECK(ml_csv_parse_int("+42", 3, &v) && v == 42);
}

static void test_dates(void) {
    int bad = 0;
    for (int k = 0; k < 20000; k++) {
        int y = 1600 + (int)(next() % 800), m = 1 + (int)(next() % 12), d = 1 + (int)(next() % 28);
        int hh = (int)(next() % 24), mi = (int)(next() % 60), ss = (int)(next() % 60);
        struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = hh, .tm_min = mi, .tm_sec = ss};
        int64_t want = (int64_t)timegm(&tm), got;
        char s[40], back[40];
        int n = snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02d.5Z", y, m, d, hh, mi, ss);
        bool has_time;
        if (!ml_csv_parse_datetime(s, (size_t)n, &got, &has_time) || got != want || !has_time) bad++;
        ml_csv_format_time(back, got, true);
        s[10] = ' ';
        if (strncmp(back, s, 19) != 0) bad++;
    }
    CHECK(bad == 0);
    int64_t t;
    bool has_time;
    CHECK(ml_csv_parse_date("2024-02-29", 10, &t) && t == 1709164800);
    CHECK(!ml_csv_parse_date("2023-02-29", 10, &t));
    CHECK(!ml_csv_parse_date("2023-13-01", 10, &t));
    CHECK(ml_csv_parse_datetime("1970-01-01 01:00+01:00", 22, &t, &has_time) && t == 0);
    CHECK(ml_csv_parse_datetime("1969-12-31T23:59:59-0130", 24, &t, &has_time) && t == 5399);
    CHECK(!ml_csv_parse_datetime("2020-01-01T24:00", 16, &t, &has_time));
    char b[40];
    ml_csv_format_time(b, -1, true);
    CHECK(strcmp(b, "1969-12-31 23:59:59") == 0);
}

static void test_format(void) {
    char b[40];
    int bad = 0;
    for (int k = 0; k < 100000; k++) {
        uint64_t bits = next();
        double v;
        memcpy(&v, &bits, 8);
        if (!isfinite(v)) continue;
        int n = ml_csv_format_double(b, v);
        double r;
        if (!ml_csv_parse_float(b, (size_t)n, &r) || memcmp(&r, &v, 8) != 0) bad++;
    }
    CHECK(bad == 0);
    ml_csv_format_double(b, 0.1);
    CHECK(strcmp(b, "0.1") == 0);
    ml_csv_format_double(b, 100);
    CHECK(strcmp(b, "100.0") == 0);
}

/* Reads path whole, then streamed in chunks of 777 rows, on nthreads; the columns must agree. */
static void read_both_ways(const char *path, int nthreads) {
    ml_set_threads(nthreads);
    ml_csv_options o = {.header = 1, .default_na = true, .comment = '#'};
    ml_csv_reader *whole = ml_csv_open(path, &o);
    o.streaming = true;
    ml_csv_reader *stream = ml_csv_open(path, &o);
    CHECK(whole && stream);
    if (!whole || !stream) return;
    int sel[3] = {0, 1, 2};
    ml_csv_kind kinds[3] = {ML_CSV_AUTO, ML_CSV_AUTO, ML_CSV_STRING};
    const char *names[3] = {"a", "b", "c"};
    CHECK(ml_csv_select(whole, 3, sel, kinds, names) == 0 && ml_csv_select(stream, 3, sel, kinds, names) == 0);
    ml_csv_chunk *all = NULL, *part = NULL;
    CHECK(ml_csv_next(whole, -1, &all) == 1);
    int64_t row = 0;
    int bad = 0;
    while (ml_csv_next(stream, 777, &part) == 1) {
        const int64_t *a = ml_data(all->cols[0].values), *pa = ml_data(part->cols[0].values);
        const double *b = ml_data(all->cols[1].values), *pb = ml_data(part->cols[1].values);
        const int64_t *c = ml_data(all->cols[2].values), *pc = ml_data(part->cols[2].values);
        for (int64_t i = 0; i < part->nrows; i++) {
            size_t l1, l2;
            const char *s1 = ml_strpool_get(all->cols[2].pool, c[row + i], &l1);
            const char *s2 = ml_strpool_get(part->cols[2].pool, pc[i], &l2);
            if (a[row + i] != pa[i] || memcmp(&b[row + i], &pb[i], 8) != 0 || !s1 || !s2 || l1 != l2 || memcmp(s1, s2, l1)) bad++;
        }
        row += part->nrows;
        ml_csv_chunk_free(part);
    }
    CHECK(bad == 0);
    CHECK(row == all->nrows);
    CHECK(all->cols[0].kind == ML_CSV_INT64 && all->cols[1].kind == ML_CSV_FLOAT64);
    ml_csv_chunk_free(all);
    ml_csv_close(whole);
    ml_csv_close(stream);
}

static void test_reader(void) {
    char path[] = "/tmp/test_csv_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "a,b,c\r\n");
    for (int i = 0; i < 50000; i++) {
        /* quoted fields with delimiters, quotes and newlines now and then */
        if (i % 1000 == 7) fprintf(f, "%d,%d.25,\"x, \"\"%d\"\"\nnext\"\r\n", i, i, i);
        else fprintf(f, "%d,%.6f,w%d\r\n", i, (double)i / 3, i % 50);
    }
    fclose(f);
    read_both_ways(path, 1);
    read_both_ways(path, 2);
    /* over 8 MB and no quote: the whole read finds its records in pieces, in parallel */
    f = fopen(path, "w");
    fprintf(f, "a,b,c\n");
    for (int i = 0; i < 400000; i++) {
        if (i % 5000 == 3) fprintf(f, "# a comment\n\r\n");
        fprintf(f, "%d,%.6f,word%d\r\n", i, (double)i / 7, i % 333);
    }
    fclose(f);
    read_both_ways(path, 2);
    /* a quote near the end: the pieces give up and the serial search reads it right */
    f = fopen(path, "a");
    fprintf(f, "7,0.5,\"two\nlines, quoted\"\r\n8,1.5,last\r\n");
    fclose(f);
    read_both_ways(path, 2);
    remove(path);
}

int main(void) {
    test_floats();
    test_ints();
    test_dates();
    test_format();
    test_reader();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
