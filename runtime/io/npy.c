/* NumPy's .npy format: "\x93NUMPY", a version (1.0: 2-byte header length,
 * 2.0 and 3.0: 4-byte), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline so the data starts at a multiple of 64,
 * then the raw data in C (or Fortran) order. */
#include <stdlib.h>
#include <string.h>

#include "io.h"

#define FN_LOAD "ml.load"
#define FN_SAVE "ml.save"
#define MAX_HEADER ((uint32_t)1 << 20)

static const bool host_big_endian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;

/* ---- the header's Python literal --------------------------------------- */
typedef struct {
    const char *s;
    size_t len, pos;
} lexer;

static void lskip(lexer *x) {
    while (x->pos < x->len && (x->s[x->pos] == ' ' || x->s[x->pos] == '\t' || x->s[x->pos] == '\n' || x->s[x->pos] == '\r'))
        x->pos++;
}

static bool lpeek(lexer *x, char c) {
    lskip(x);
    return x->pos < x->len && x->s[x->pos] == c;
}

static bool laccept(lexer *x, char c) {
    if (!lpeek(x, c)) return false;
    x->pos++;
    return true;
}

/* A quoted string ('...' or "...", no escapes) copied into out. */
static bool lstring(lexer *x, char *out, size_t outlen) {
    lskip(x);
    if (x->pos >= x->len || (x->s[x->pos] != '\'' && x->s[x->pos] != '"')) return false;
    char q = x->s[x->pos++];
    size_t start = x->pos;
    while (x->pos < x->len && x->s[x->pos] != q && x->s[x->pos] != '\\') x->pos++;
    if (x->pos >= x->len || x->s[x->pos] != q) return false;
    size_t n = x->pos - start;
    x->pos++;
    if (n >= outlen) return false;
    memcpy(out, x->s + start, n);
    out[n] = 0;
    return true;
}

static bool lword(lexer *x, const char *w) {
    lskip(x);
    size_t n = strlen(w);
    if (x->len - x->pos < n || memcmp(x->s + x->pos, w, n) != 0) return false;
    x->pos += n;
    return true;
}

typedef struct {
    char descr[32];
    int fortran; /* -1 when missing */
    int ndim;    /* -1 when missing */
    int64_t shape[ML_MAX_DIMS];
} npy_header;

/* Returns NULL on success, else what went wrong. */
static const char *parse_header(const char *s, size_t len, npy_header *h) {
    lexer x = {s, len, 0};
    h->descr[0] = 0;
    h->fortran = -1;
    h->ndim = -1;
    if (!laccept(&x, '{')) return "the header is not a Python dict";
    while (!laccept(&x, '}')) {
        char key[32];
        if (!lstring(&x, key, sizeof key)) return "expected a quoted key in the header";
        if (!laccept(&x, ':')) return "expected ':' in the header";
        if (!strcmp(key, "descr")) {
            if (lpeek(&x, '[')) return "structured dtypes (a list 'descr') are not supported";
            if (!lstring(&x, h->descr, sizeof h->descr)) return "'descr' is not a dtype string";
        } else if (!strcmp(key, "fortran_order")) {
            if (lword(&x, "True")) h->fortran = 1;
            else if (lword(&x, "False")) h->fortran = 0;
            else return "'fortran_order' is not True or False";
        } else if (!strcmp(key, "shape")) {
            if (!laccept(&x, '(')) return "'shape' is not a tuple";
            h->ndim = 0;
            while (!laccept(&x, ')')) {
                lskip(&x);
                if (x.pos < x.len && x.s[x.pos] == '-') return "'shape' has a negative size";
                if (x.pos >= x.len || x.s[x.pos] < '0' || x.s[x.pos] > '9') return "'shape' holds something other than integers";
                int64_t v = 0;
                while (x.pos < x.len && x.s[x.pos] >= '0' && x.s[x.pos] <= '9') {
                    if (v > (INT64_MAX - 9) / 10) return "'shape' has a size too large";
                    v = v * 10 + (x.s[x.pos++] - '0');
                }
                if (x.pos < x.len && x.s[x.pos] == 'L') x.pos++; /* Python 2 longs */
                if (h->ndim == ML_MAX_DIMS) return "'shape' has more than 8 dimensions";
                h->shape[h->ndim++] = v;
                if (!laccept(&x, ',') && !lpeek(&x, ')')) return "expected ',' or ')' in 'shape'";
            }
        } else {
            return "the header has a key other than 'descr', 'fortran_order' and 'shape'";
        }
        if (!laccept(&x, ',') && !lpeek(&x, '}')) return "expected ',' or '}' in the header";
    }
    lskip(&x);
    if (x.pos != x.len) return "unexpected text after the header's dict";
    if (!h->descr[0] || h->fortran < 0 || h->ndim < 0) return "the header lacks 'descr', 'fortran_order' or 'shape'";
    return NULL;
}

/* '<f4' -> raw type and whether its bytes need swapping. */
static int parse_descr(const char *d, ml_raw_type *raw, bool *swap) {
    bool big = host_big_endian;
    if (*d == '<') { big = false; d++; }
    else if (*d == '>') { big = true; d++; }
    else if (*d == '|' || *d == '=') d++;
    static const struct {
        const char *code;
        ml_raw_type raw;
    } codes[] = {
        {"f2", ML_RAW_F16}, {"f4", ML_RAW_F32}, {"f8", ML_RAW_F64}, {"i1", ML_RAW_I8},  {"i2", ML_RAW_I16},
        {"i4", ML_RAW_I32}, {"i8", ML_RAW_I64}, {"u1", ML_RAW_U8},  {"u2", ML_RAW_U16}, {"u4", ML_RAW_U32},
        {"b1", ML_RAW_BOOL}, {"?", ML_RAW_BOOL},
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (!strcmp(d, codes[i].code)) {
            *raw = codes[i].raw;
            *swap = big != host_big_endian && ml_raw_size(codes[i].raw) > 1;
            return 0;
        }
    return -1;
}

ml_tensor *ml_npy_read(const char *path) {
    int64_t size;
    FILE *f = ml_io_open_read(FN_LOAD, path, &size);
    if (!f) return NULL;
    char *text = NULL;
    ml_tensor *t = NULL, *out = NULL;
    unsigned char pre[12];
    if (size < 10 || fread(pre, 1, 10, f) != 10) {
        ml_error(FN_LOAD ": '%s': file too short (%lld bytes) to be a .npy file", path, (long long)size);
        goto done;
    }
    if (memcmp(pre, "\x93NUMPY", 6) != 0) {
        ml_error(FN_LOAD ": '%s': not a .npy file (no \\x93NUMPY magic)", path);
        goto done;
    }
    int major = pre[6];
    uint32_t hlen;
    int64_t hstart;
    if (major == 1) {
        hlen = pre[8] | (uint32_t)pre[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12 || fread(pre + 10, 1, 2, f) != 2) {
            ml_error(FN_LOAD ": '%s': file too short (%lld bytes) to be a .npy file", path, (long long)size);
            goto done;
        }
        hlen = pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
        hstart = 12;
    } else {
        ml_error(FN_LOAD ": '%s': .npy format version %d.%d is not supported (1.0, 2.0, 3.0 are)", path, major, pre[7]);
        goto done;
    }
    if ((int64_t)hlen > size - hstart) {
        ml_error(FN_LOAD ": '%s': header length %u runs past the end of the file (%lld bytes); truncated?", path, hlen,
                 (long long)size);
        goto done;
    }
    if (hlen > MAX_HEADER) {
        ml_error(FN_LOAD ": '%s': header length %u is over the 1 MB limit", path, hlen);
        goto done;
    }
    text = malloc(hlen ? hlen : 1);
    if (!text) { ml_error(FN_LOAD ": '%s': out of memory", path); goto done; }
    if (fread(text, 1, hlen, f) != hlen) { ml_error(FN_LOAD ": '%s': file ended inside the header", path); goto done; }
    npy_header h;
    const char *why = parse_header(text, hlen, &h);
    if (why) {
        ml_error(FN_LOAD ": '%s': bad .npy header: %s", path, why);
        goto done;
    }
    ml_raw_type raw;
    bool swap;
    if (parse_descr(h.descr, &raw, &swap) < 0) {
        char shown[ML_EXCERPT_SIZE]; /* a corrupt file's bytes must not reach the terminal raw */
        ml_excerpt(shown, sizeof shown, h.descr, strlen(h.descr));
        ml_error(FN_LOAD ": '%s': unsupported dtype '%s' (supported: f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, b1, "
                 "either byte order)", path, shown);
        goto done;
    }
    int64_t es = (int64_t)ml_raw_size(raw), nbytes = es, datalen = size - hstart - hlen;
    for (int i = 0; i < h.ndim; i++)
        if (h.shape[i] == 0) { nbytes = 0; break; }
    for (int i = 0; i < h.ndim && nbytes; i++)
        nbytes = nbytes > INT64_MAX / h.shape[i] ? INT64_MAX : nbytes * h.shape[i];
    if (nbytes > datalen) {
        char sb[160];
        ml_error(FN_LOAD ": '%s': shape %s of '%s' needs %s%lld bytes of data, the file has %lld; truncated?", path,
                 ml_shape_str(sb, sizeof sb, h.ndim, h.shape), h.descr, nbytes == INT64_MAX ? "more than " : "",
                 (long long)nbytes, (long long)datalen);
        goto done;
    }
    /* Fortran order is C order of the reversed shape. */
    int64_t shp[ML_MAX_DIMS];
    for (int i = 0; i < h.ndim; i++) shp[i] = h.fortran ? h.shape[h.ndim - 1 - i] : h.shape[i];
    t = ml_empty(h.ndim, shp, ml_raw_target(raw));
    if (!t) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", ml_last_error());
        ml_error(FN_LOAD ": '%s': %s", path, msg);
        goto done;
    }
    if (ml_io_read_data(f, hstart + hlen, t, raw, swap, FN_LOAD, path) < 0) goto done;
    if (h.fortran && h.ndim > 1) {
        int64_t st[ML_MAX_DIMS], rst[ML_MAX_DIMS];
        ml_contiguous_strides(h.ndim, shp, st);
        for (int i = 0; i < h.ndim; i++) rst[i] = st[h.ndim - 1 - i];
        ml_tensor *v = ml_view(t, h.ndim, h.shape, rst, 0);
        if (!v) goto done;
        out = ml_contiguous(v);
        ml_release(v);
    } else {
        out = t;
        t = NULL;
    }
done:
    fclose(f);
    free(text);
    ml_release(t);
    return out;
}

/* ---- writing ---------------------------------------------------------- */
static const char *descr_of(ml_dtype dt) {
    switch (dt) {
    case ML_FLOAT32: return host_big_endian ? ">f4" : "<f4";
    case ML_FLOAT64: return host_big_endian ? ">f8" : "<f8";
    case ML_INT64: return host_big_endian ? ">i8" : "<i8";
    case ML_BOOL: return "|b1";
    default: return NULL;
    }
}

int ml_npy_write(const char *path, ml_tensor *t) {
    const char *descr = descr_of(t->dtype);
    if (!descr) { ml_error(FN_SAVE ": '%s': tensor has an unknown dtype", path); return -1; }
    ml_buf h = {0};
    ml_buf_printf(&h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->ndim; i++) ml_buf_printf(&h, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    ml_buf_puts(&h, t->ndim == 1 ? ",), }" : "), }");
    /* Version 1.0 unless the header does not fit its 2-byte length. */
    int major = h.len + 11 > 65535 ? 2 : 1;
    size_t pre = major == 1 ? 10 : 12;
    while ((pre + h.len + 1) % 64) ml_buf_puts(&h, " ");
    ml_buf_puts(&h, "\n");
    if (h.failed) { ml_buf_free(&h); ml_error(FN_SAVE ": '%s': out of memory", path); return -1; }
    unsigned char p[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
    for (size_t i = 8; i < pre; i++) p[i] = (unsigned char)(h.len >> (8 * (i - 8)));
    ml_tensor *c = ml_contiguous(t);
    if (!c) { ml_buf_free(&h); return -1; }
    ml_io_writer w;
    int rc = -1;
    if (ml_io_begin_write(&w, FN_SAVE, path) == 0) {
        if (ml_io_write(&w, p, pre) == 0 && ml_io_write(&w, h.data, h.len) == 0 &&
            ml_io_write(&w, ml_data(c), (size_t)c->numel * ml_dtype_size(c->dtype)) == 0)
            rc = ml_io_commit(&w);
        else
            ml_io_abort(&w);
    }
    ml_release(c);
    ml_buf_free(&h);
    return rc;
}
