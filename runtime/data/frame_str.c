/* String operations over a pool (see frame_ops.h): each computes once per
 * distinct string, and a column's result is its codes mapped through the
 * per-code table, so a million rows of twelve distinct values cost twelve
 * string operations and one gather. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "frame_ops.h"

void ml_frame_map_codes_i64(int64_t *out, const int64_t *table, const int64_t *codes, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = table[codes[i]];
}

void ml_frame_map_codes_u8(uint8_t *out, const uint8_t *table, const int64_t *codes, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = table[codes[i]];
}

/* Simple case mapping of the two-byte UTF-8 letters with one-to-one
 * mappings: Latin-1, Latin Extended-A, Greek, Cyrillic (U+0080..U+07FF, so a
 * letter keeps its length; ß and the like, whose upper case is longer, stay). */
static uint32_t lower_cp(uint32_t c) {
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) || (c >= 0x410 && c <= 0x42F))
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40F) return c + 0x50;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
    if (c == 0x178) return 0xFF;
    if (c == 0x386) return 0x3AC;
    if (c >= 0x388 && c <= 0x38A) return c + 0x25;
    if (c == 0x38C) return 0x3CC;
    if (c == 0x38E || c == 0x38F) return c + 0x3F;
    return c;
}

static uint32_t upper_cp(uint32_t c) {
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7) || (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) || (c >= 0x430 && c <= 0x44F))
        return c - 0x20;
    if (c >= 0x450 && c <= 0x45F) return c - 0x50;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c & ~1u;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c : c - 1;
    if (c == 0xFF) return 0x178;
    if (c == 0x3C2) return 0x3A3; /* final sigma */
    if (c == 0x3AC) return 0x386;
    if (c >= 0x3AD && c <= 0x3AF) return c - 0x25;
    if (c == 0x3CC) return 0x38C;
    if (c == 0x3CD || c == 0x3CE) return c - 0x3F;
    return c;
}

/* s[0..len) to lower or upper case in place: ASCII, and the two-byte letters above. */
static void change_case(char *s, size_t len, bool lower) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (lower && c >= 'A' && c <= 'Z') s[i] = (char)(c + 32);
            if (!lower && c >= 'a' && c <= 'z') s[i] = (char)(c - 32);
        } else if ((c & 0xE0) == 0xC0 && i + 1 < len && ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
            uint32_t cp = ((uint32_t)(c & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F);
            uint32_t m = lower ? lower_cp(cp) : upper_cp(cp);
            s[i] = (char)(0xC0 | (m >> 6)), s[i + 1] = (char)(0x80 | (m & 0x3F));
            i++;
        }
    }
}

static inline bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* A growable scratch buffer for one transformed string. */
typedef struct { char *p; size_t len, cap; } scratch;

static int scratch_put(scratch *s, const char *src, size_t n) {
    if (s->len + n + 1 > s->cap) {
        size_t cap = (s->len + n + 1) * 2;
        char *p = realloc(s->p, cap);
        if (!p) { ml_error("out of memory"); return -1; }
        s->p = p, s->cap = cap;
    }
    memcpy(s->p + s->len, src, n);
    s->len += n;
    return 0;
}

/* s through op into out (replacing its contents). */
static int transform(scratch *out, const char *s, size_t len, ml_str_map_op op, const char *a, size_t alen,
                     const char *b, size_t blen) {
    out->len = 0;
    if (op == ML_STR_STRIP || op == ML_STR_LSTRIP || op == ML_STR_RSTRIP) {
        size_t i = 0, j = len;
        if (op != ML_STR_RSTRIP) while (i < j && is_space((unsigned char)s[i])) i++;
        if (op != ML_STR_LSTRIP) while (j > i && is_space((unsigned char)s[j - 1])) j--;
        return scratch_put(out, s + i, j - i);
    }
    if (op == ML_STR_REPLACE) {
        size_t i = 0;
        while (i < len) {
            const char *hit = alen && alen <= len - i ? memmem(s + i, len - i, a, alen) : NULL;
            if (!hit) break;
            size_t at = (size_t)(hit - s);
            if (scratch_put(out, s + i, at - i) < 0 || scratch_put(out, b, blen) < 0) return -1;
            i = at + alen;
        }
        return scratch_put(out, s + i, len - i);
    }
    if (scratch_put(out, s, len) < 0) return -1;
    change_case(out->p, len, op == ML_STR_LOWER);
    return 0;
}

int ml_frame_str_map(ml_strpool *dst, int64_t *remap, const ml_strpool *src, ml_str_map_op op, const char *a, size_t alen,
                     const char *b, size_t blen) {
    int64_t count = ml_strpool_count(src);
    scratch out = {0};
    remap[0] = 0;
    for (int64_t k = 1; k <= count; k++) {
        size_t len;
        const char *s = ml_strpool_get(src, k, &len);
        if (transform(&out, s, len, op, a, alen, b, blen) < 0 ||
            (remap[k] = ml_strpool_intern(dst, out.p ? out.p : "", out.len)) < 0) {
            free(out.p);
            return -1;
        }
    }
    free(out.p);
    return 0;
}

void ml_frame_str_test(uint8_t *out, const ml_strpool *p, ml_str_test_op op, const char *t, size_t tlen) {
    int64_t count = ml_strpool_count(p);
    out[0] = 0;
    for (int64_t k = 1; k <= count; k++) {
        size_t len;
        const char *s = ml_strpool_get(p, k, &len);
        bool r;
        if (tlen > len) r = false;
        else if (op == ML_STR_STARTSWITH) r = memcmp(s, t, tlen) == 0;
        else if (op == ML_STR_ENDSWITH) r = memcmp(s + len - tlen, t, tlen) == 0;
        else r = tlen == 0 || memmem(s, len, t, tlen) != NULL;
        out[k] = r;
    }
}

void ml_frame_str_len(int64_t *out, const ml_strpool *p) {
    int64_t count = ml_strpool_count(p);
    out[0] = 0;
    for (int64_t k = 1; k <= count; k++) {
        size_t len;
        const unsigned char *s = (const unsigned char *)ml_strpool_get(p, k, &len);
        int64_t chars = 0;
        for (size_t i = 0; i < len; i++) chars += (s[i] & 0xC0) != 0x80; /* count lead bytes */
        out[k] = chars;
    }
}

/* The bounds of piece k of s split by sep; false when s has fewer pieces. */
static bool piece(const char *s, size_t len, const char *sep, size_t seplen, int64_t maxsplit, int64_t k, size_t *a,
                  size_t *b) {
    size_t start = 0;
    for (int64_t p = 0;; p++) {
        const char *hit = (maxsplit < 0 || p < maxsplit) && seplen <= len - start
                              ? memmem(s + start, len - start, sep, seplen) : NULL;
        size_t end = hit ? (size_t)(hit - s) : len;
        if (p == k) { *a = start, *b = end; return true; }
        if (!hit) return false;
        start = end + seplen;
    }
}

int64_t ml_frame_str_split_width(const ml_strpool *p, const char *sep, size_t seplen, int64_t maxsplit) {
    int64_t count = ml_strpool_count(p), width = 1;
    for (int64_t k = 1; k <= count; k++) {
        size_t len, start = 0;
        const char *s = ml_strpool_get(p, k, &len);
        int64_t pieces = 1;
        while ((maxsplit < 0 || pieces <= maxsplit) && seplen <= len - start) {
            const char *hit = memmem(s + start, len - start, sep, seplen);
            if (!hit) break;
            start = (size_t)(hit - s) + seplen;
            pieces++;
        }
        if (pieces > width) width = pieces;
    }
    return width;
}

int ml_frame_str_split_piece(ml_strpool *dst, int64_t *remap, const ml_strpool *src, const char *sep, size_t seplen,
                             int64_t maxsplit, int64_t k) {
    int64_t count = ml_strpool_count(src);
    remap[0] = 0;
    for (int64_t c = 1; c <= count; c++) {
        size_t len, a, b;
        const char *s = ml_strpool_get(src, c, &len);
        if (!piece(s, len, sep, seplen, maxsplit, k, &a, &b)) { remap[c] = 0; continue; }
        if ((remap[c] = ml_strpool_intern(dst, s + a, b - a)) < 0) return -1;
    }
    return 0;
}
