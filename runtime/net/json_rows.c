/* Numeric rows out of a JSON body (see json_rows.h). */
#include "json_rows.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int all_numbers(const ml_json *a) {
    for (int i = 0; i < a->n; i++)
        if (a->items[i].type != ML_JSON_NUMBER) return 0;
    return 1;
}


/* ---- the fast scan --------------------------------------------------------- */

static size_t skip_ws(const char *s, size_t len, size_t p);
static size_t skip_string(const char *s, size_t len, size_t p);
static size_t skip_value(const char *s, size_t len, size_t p);

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* One JSON number at s[*p] (the grammar exactly) as the float32 that
 * ml.json.decode + ml.tensor give: an integer literal that fits in int64 is
 * converted from the integer (as Lua's integer is: "-0" is 0, and no double
 * rounding above 2^53), anything else from the correctly rounded double:
 * mantissas of up to 15 digits with a power of ten up to 22 are one exact
 * IEEE operation (Clinger's fast path); the rest go through strtod. 0 if the
 * text there is not a number. */
static int scan_number(const char *s, size_t len, size_t *p, float *outf) {
    double d, *out = &d;
    size_t i = *p, start = i;
    int neg = 0, digits = 0, frac_digits = 0;
    uint64_t m = 0;
    if (i < len && s[i] == '-') { neg = 1; i++; }
    if (i >= len) return 0;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (digits < 19) m = m * 10 + (uint64_t)(s[i] - '0');
            digits++;
            i++;
        }
    } else {
        return 0;
    }
    int int_digits = digits;
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9') return 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (digits < 19) { m = m * 10 + (uint64_t)(s[i] - '0'); frac_digits++; }
            if (m || digits) digits++; /* leading zeros of 0.00x are not significant */
            i++;
        }
    }
    int e = 0, has_e = 0, big_e = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        has_e = 1;
        i++;
        int eneg = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i >= len || s[i] < '0' || s[i] > '9') return 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (e < 100000) e = e * 10 + (s[i] - '0');
            else big_e = 1; /* not the exponent any more: strtod reads it */
            i++;
        }
        if (eneg) e = -e;
    }
    *p = i;
    if (!has_e && frac_digits == 0 && i - start == (size_t)neg + (size_t)(int_digits ? int_digits : 1) &&
        int_digits <= 19 && (m <= (uint64_t)INT64_MAX || (neg && m == (uint64_t)INT64_MAX + 1))) {
        /* an integer literal ("0", "-0", "255", up to int64): what Lua's integer gives */
        *outf = neg ? (m > (uint64_t)INT64_MAX ? (float)INT64_MIN : (float)-(int64_t)m) : (float)(int64_t)m;
        return 1;
    }
    int e10 = e - frac_digits;
    if (!big_e && digits <= 15 && e10 >= -22 && e10 <= 22) {
        double v = (double)m;
        v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
        *outf = (float)(neg ? -v : v);
        return 1;
    }
#if defined(__x86_64__) || defined(__i386__)
    /* 16 to 19 digits (what printing a float32 as a double gives, "0.0117647061124444"):
     * x87's 64-bit mantissa holds m and 10^k (k <= 27) exactly, so one operation
     * rounds once to 64 bits; rounding that to a double is the correct rounding
     * unless it landed exactly on a double's midpoint (low 11 bits 0x400), which
     * strtod settles. */
    if (!big_e && digits <= 19 && e10 >= -27 && e10 <= 27) {
        static const long double pow10_ld[28] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
                                                 1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
                                                 1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L}; /* exact */
        long double p10 = pow10_ld[e10 < 0 ? -e10 : e10];
        long double v = e10 < 0 ? (long double)m / p10 : (long double)m * p10;
        uint64_t mant;
        memcpy(&mant, &v, sizeof mant);
        if (v == 0 || (mant & 0x7FF) != 0x400) {
            *outf = (float)(neg ? -(double)v : (double)v);
            return 1;
        }
    }
#endif
    (void)has_e;
    char buf[64];
    size_t n = i - start;
    if (n >= sizeof buf) {
        char *b = malloc(n + 1);
        if (!b) return 0;
        memcpy(b, s + start, n);
        b[n] = 0;
        *out = strtod(b, NULL);
        free(b);
        *outf = (float)d;
        return 1;
    }
    memcpy(buf, s + start, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    *outf = (float)d;
    return 1;
}

typedef struct {
    float *v;
    int64_t n, cap;
} fbuf;

static int fpush(fbuf *b, float x) {
    if (b->n == b->cap) {
        int64_t cap = b->cap ? 2 * b->cap : 1024;
        float *v = realloc(b->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = x;
    return 0;
}

/* A rows value at s[*p]: [n, n, ...] (one row) or [[n, ...], [n, ...]].
 * 1 read (rows in b, *rows, *d), 0 not this shape (take the slow way: also
 * for ragged rows, which it names once it knows the text is valid JSON and
 * every row numeric). */
static int scan_rows(const char *s, size_t len, size_t *p, fbuf *b, int64_t *rows, int64_t *d, int *flat) {
    size_t i = *p;
    if (s[i] != '[') return 0;
    i = skip_ws(s, len, i + 1);
    if (i >= len) return 0;
    *flat = s[i] != '[';
    int64_t nrows = 0, width = -1;
    for (;;) {
        int64_t count = 0;
        if (!*flat) {
            if (i >= len || s[i] != '[') return 0;
            i = skip_ws(s, len, i + 1);
        }
        for (;;) { /* the numbers of one row */
            float x;
            if (i >= len || !scan_number(s, len, &i, &x)) return 0;
            if (fpush(b, x) < 0) return 0;
            count++;
            i = skip_ws(s, len, i);
            if (i < len && s[i] == ',') { i = skip_ws(s, len, i + 1); continue; }
            if (i < len && s[i] == ']') { i++; break; }
            return 0;
        }
        nrows++;
        if (*flat) { width = count; break; }
        if (width < 0) width = count;
        else if (count != width) return 0;
        i = skip_ws(s, len, i);
        if (i < len && s[i] == ',') { i = skip_ws(s, len, i + 1); continue; }
        if (i < len && s[i] == ']') { i++; break; }
        return 0;
    }
    *p = i;
    *rows = nrows;
    *d = width;
    return 1;
}

/* 1: read (out filled), 0: take the slow way. */
static int fast_rows(const char *s, size_t len, const char *const *keys, int nkeys, ml_json_rows *out, char *err,
                     size_t errlen) {
    size_t p = skip_ws(s, len, 0);
    if (p >= len || s[p] != '{') return 0;
    p = skip_ws(s, len, p + 1);
    int member = -1, index = 0, matches = 0, flat = 0;
    int64_t n = 0, d = 0;
    fbuf b = {0};
    if (p < len && s[p] == '}') return 0;
    for (;; index++) {
        if (p >= len || s[p] != '"') goto slow;
        size_t k0 = p + 1, k1 = k0;
        while (k1 < len && s[k1] != '"' && s[k1] != '\\') k1++;
        if (k1 >= len || s[k1] == '\\') goto slow; /* an escaped key: the reader decodes it */
        int is_key = 0;
        for (int k = 0; k < nkeys; k++)
            if (strlen(keys[k]) == k1 - k0 && memcmp(keys[k], s + k0, k1 - k0) == 0) is_key = 1;
        p = skip_ws(s, len, k1 + 1);
        if (p >= len || s[p] != ':') goto slow;
        p = skip_ws(s, len, p + 1);
        if (p >= len) goto slow;
        if (is_key) {
            if (++matches > 1) goto slow;
            member = index;
            /* ragged rows go the slow way too: the whole text may be
             * malformed (a JSON error then), or a later row not numeric */
            if (scan_rows(s, len, &p, &b, &n, &d, &flat) != 1) goto slow;
        } else {
            p = skip_value(s, len, p); /* checked below, with the rest */
        }
        p = skip_ws(s, len, p);
        if (p < len && s[p] == ',') { p = skip_ws(s, len, p + 1); continue; }
        if (p < len && s[p] == '}') { p++; break; }
        goto slow;
    }
    if (skip_ws(s, len, p) != len || member < 0) goto slow;
    if (index > 0) { /* other members: the strict reader checks them */
        ml_buf rest = {0};
        ml_json_rows_rest(s, len, member, &rest);
        ml_json *t = rest.failed ? NULL : ml_json_parse(rest.data, rest.len, err, errlen);
        ml_buf_free(&rest);
        if (!t) goto slow;
        ml_json_free(t);
    }
    out->vals = b.v;
    out->member = member;
    out->members = index + 1;
    out->numeric = 1;
    out->flat = flat;
    out->n = n;
    out->d = d;
    return 1;
slow:
    free(b.v);
    return 0;
}

void ml_json_rows_free(ml_json_rows *r) {
    ml_json_free(r->tree);
    free(r->vals);
    r->tree = NULL;
    r->vals = NULL;
}

int ml_json_rows_parse(const char *text, size_t len, const char *const *keys, int nkeys, ml_json_rows *out,
                       char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->member = -1;
    int fast = fast_rows(text, len, keys, nkeys, out, err, errlen);
    if (fast == 1) return 0;
    out->member = -1;
    out->tree = ml_json_parse(text, len, err, errlen);
    if (!out->tree) return -1;
    const ml_json *t = out->tree;
    if (t->type != ML_JSON_OBJECT) return 0;
    out->members = t->n;
    for (int k = 0; k < nkeys && out->member < 0; k++)
        for (int i = 0; i < t->n; i++)
            if (strcmp(t->keys[i], keys[k]) == 0) { out->member = i; break; }
    if (out->member < 0) return 0;
    const ml_json *v = &t->items[out->member];
    if (v->type != ML_JSON_ARRAY || v->n == 0) return 0;
    if (v->items[0].type == ML_JSON_NUMBER) { /* one flat row */
        if (!all_numbers(v)) return 0;
        out->numeric = out->flat = 1;
        out->n = 1;
        out->d = v->n;
        return 0;
    }
    for (int i = 0; i < v->n; i++)
        if (v->items[i].type != ML_JSON_ARRAY || !all_numbers(&v->items[i])) return 0; /* named fields or mixed */
    int64_t d = v->items[0].n;
    for (int i = 0; i < v->n; i++)
        if (v->items[i].n != d) {
            snprintf(err, errlen, "row %d has %d values, expected %lld (as row 1)", i + 1, v->items[i].n, (long long)d);
            return -2;
        }
    if (d == 0) return 0;
    out->numeric = 1;
    out->n = v->n;
    out->d = d;
    return 0;
}

/* A number of the tree as float32, as ml.json.decode + ml.tensor give it
 * (an integer literal from its exact int64 value). */
static float num_f32(const ml_json *v) { return v->is_int ? (float)v->integer : (float)v->number; }

void ml_json_rows_fill(const ml_json_rows *r, float *dst) {
    if (r->vals) {
        memcpy(dst, r->vals, (size_t)(r->n * r->d) * sizeof *dst);
        return;
    }
    const ml_json *v = &r->tree->items[r->member];
    if (r->flat) {
        for (int64_t j = 0; j < r->d; j++) dst[j] = num_f32(&v->items[j]);
        return;
    }
    for (int64_t i = 0; i < r->n; i++) {
        const ml_json *row = &v->items[i];
        float *o = dst + i * r->d;
        for (int64_t j = 0; j < r->d; j++) o[j] = num_f32(&row->items[j]);
    }
}

/* ---- the rest of the object, cut from valid JSON text -------------------- */

static size_t skip_ws(const char *s, size_t len, size_t p) {
    while (p < len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r')) p++;
    return p;
}

static size_t skip_string(const char *s, size_t len, size_t p) { /* at the opening quote */
    for (p++; p < len && s[p] != '"'; p++)
        if (s[p] == '\\') p++;
    return p + 1;
}

/* The text is valid (the reader accepted it), so a value ends where its
 * brackets balance outside strings, or, for a scalar, at a delimiter. */
static size_t skip_value(const char *s, size_t len, size_t p) {
    if (s[p] == '"') return skip_string(s, len, p);
    if (s[p] == '{' || s[p] == '[') {
        int depth = 0;
        while (p < len) {
            char c = s[p];
            if (c == '"') { p = skip_string(s, len, p); continue; }
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
        return p;
    }
    while (p < len && !strchr(",}] \t\r\n", s[p])) p++;
    return p;
}

void ml_json_rows_rest(const char *text, size_t len, int skip, ml_buf *out) {
    size_t p = skip_ws(text, len, 0) + 1; /* past '{' */
    int first = 1;
    ml_buf_add(out, "{", 1);
    for (int i = 0;; i++) {
        p = skip_ws(text, len, p);
        if (p >= len || text[p] == '}') break;
        size_t start = p;
        p = skip_string(text, len, p);
        p = skip_ws(text, len, p) + 1; /* ':' */
        p = skip_value(text, len, skip_ws(text, len, p));
        if (i != skip) {
            if (!first) ml_buf_add(out, ",", 1);
            ml_buf_add(out, text + start, p - start);
            first = 0;
        }
        p = skip_ws(text, len, p);
        if (p < len && text[p] == ',') p++;
    }
    ml_buf_add(out, "}", 1);
}
