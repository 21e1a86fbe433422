/* Numeric rows out of a JSON body (see json_rows.h). */
#include "json_rows.h"

#include <stdio.h>
#include <string.h>

static int all_numbers(const ml_json *a) {
    for (int i = 0; i < a->n; i++)
        if (a->items[i].type != ML_JSON_NUMBER) return 0;
    return 1;
}

int ml_json_rows_parse(const char *text, size_t len, const char *const *keys, int nkeys, ml_json_rows *out,
                       char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->member = -1;
    out->tree = ml_json_parse(text, len, err, errlen);
    if (!out->tree) return -1;
    const ml_json *t = out->tree;
    if (t->type != ML_JSON_OBJECT) return 0;
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

void ml_json_rows_fill(const ml_json_rows *r, float *dst) {
    const ml_json *v = &r->tree->items[r->member];
    if (r->flat) {
        for (int64_t j = 0; j < r->d; j++) dst[j] = (float)v->items[j].number;
        return;
    }
    for (int64_t i = 0; i < r->n; i++) {
        const ml_json *row = &v->items[i];
        float *o = dst + i * r->d;
        for (int64_t j = 0; j < r->d; j++) o[j] = (float)row->items[j].number;
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
