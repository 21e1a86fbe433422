/* The CSV writer (df:write_csv): rows formatted into a buffer that is
 * flushed to a temporary file renamed over the target at the end. A cell is
 * quoted when it holds the delimiter, a quote, CR or LF, or starts or ends
 * with a blank; floats are written with the shortest text that reads back
 * as the same double. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../core/error.h"
#include "csv.h"
#include "io.h"

#define WFN "df:write_csv"
#define FLUSH_AT (1 << 20)

/* The file, through a gzip stream when the path ends in ".gz". */
typedef struct {
    ml_io_writer w;
    bool gz;
    z_stream z;
    unsigned char out[1 << 16];
} sink;

static int sink_write(sink *s, const void *p, size_t n, bool last) {
    if (!s->gz) return n ? ml_io_write(&s->w, p, n) : 0;
    s->z.next_in = (unsigned char *)p;
    s->z.avail_in = (uInt)n;
    int rc;
    do {
        s->z.next_out = s->out;
        s->z.avail_out = sizeof s->out;
        rc = deflate(&s->z, last ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_ERROR) return ml_error(WFN ": %s: gzip failed", s->w.path), -1;
        size_t have = sizeof s->out - s->z.avail_out;
        if (have && ml_io_write(&s->w, s->out, have) < 0) return -1;
    } while (s->z.avail_out == 0 || (last && rc != Z_STREAM_END));
    return 0;
}

static void put_text(ml_buf *b, const char *s, size_t n, char delim) {
    bool quote = n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == delim || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) { ml_buf_add(b, s, n); return; }
    ml_buf_add(b, "\"", 1);
    for (const char *p = s, *e = s + n; p < e;) {
        const char *q = memchr(p, '"', (size_t)(e - p));
        if (!q) { ml_buf_add(b, p, (size_t)(e - p)); break; }
        ml_buf_add(b, p, (size_t)(q - p + 1));
        ml_buf_add(b, "\"", 1); /* doubled */
        p = q + 1;
    }
    ml_buf_add(b, "\"", 1);
}

static void put_cell(ml_buf *b, const ml_csv_wcolumn *c, int64_t i, const ml_csv_write_options *o) {
    const void *d = ml_data(c->values);
    if (c->valid && !((const bool *)ml_data(c->valid))[i]) { ml_buf_puts(b, o->na_rep); return; }
    char tmp[40];
    int len;
    switch (c->kind) {
    case ML_CSV_FLOAT64: {
        double v = ((const double *)d)[i];
        if (v != v) { ml_buf_puts(b, o->na_rep); return; }
        len = ml_csv_format_double(tmp, v);
        break;
    }
    case ML_CSV_INT64: len = snprintf(tmp, sizeof tmp, "%lld", (long long)((const int64_t *)d)[i]); break;
    case ML_CSV_BOOL: len = snprintf(tmp, sizeof tmp, "%s", ((const bool *)d)[i] ? "true" : "false"); break;
    case ML_CSV_DATE:
    case ML_CSV_DATETIME:
        len = ml_csv_format_time(tmp, ((const int64_t *)d)[i], c->kind == ML_CSV_DATETIME);
        break;
    default: {
        size_t n;
        const char *s = ml_strpool_get(c->pool, ((const int64_t *)d)[i], &n);
        if (!s) { ml_buf_puts(b, o->na_rep); return; }
        put_text(b, s, n, o->delimiter);
        return;
    }
    }
    ml_buf_add(b, tmp, (size_t)len);
}

int ml_csv_write(const char *path, const ml_csv_write_options *o, int ncols, const char *const *names,
                 const ml_csv_wcolumn *cols, int64_t nrows) {
    for (int k = 0; k < ncols; k++) {
        const ml_csv_wcolumn *c = &cols[k];
        ml_dtype want = c->kind == ML_CSV_FLOAT64 ? ML_FLOAT64 : c->kind == ML_CSV_BOOL ? ML_BOOL : ML_INT64;
        if (c->values->dtype != want || !ml_is_contiguous(c->values) || c->values->numel != nrows ||
            (c->valid && (c->valid->dtype != ML_BOOL || !ml_is_contiguous(c->valid) || c->valid->numel != nrows)) ||
            (c->kind == ML_CSV_STRING && !c->pool))
            return ml_error(WFN ": column '%s' is not a contiguous %s column of %lld rows", names[k],
                            ml_csv_kind_name(c->kind), (long long)nrows),
                   -1;
    }
    sink *out = calloc(1, sizeof *out);
    if (!out) return ml_error(WFN ": out of memory"), -1;
    size_t plen = strlen(path);
    out->gz = plen > 3 && strcmp(path + plen - 3, ".gz") == 0;
    if (out->gz && deflateInit2(&out->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return ml_error(WFN ": out of memory"), -1;
    }
    if (ml_io_begin_write(&out->w, WFN, path) < 0) goto fail;
    ml_buf b = {0};
    if (o->header && ncols) {
        for (int k = 0; k < ncols; k++) {
            if (k) ml_buf_add(&b, &o->delimiter, 1);
            put_text(&b, names[k], strlen(names[k]), o->delimiter);
        }
        ml_buf_add(&b, "\n", 1);
    }
    for (int64_t i = 0; i <= nrows; i++) {
        if (i < nrows) {
            size_t start = b.len;
            for (int k = 0; k < ncols; k++) {
                if (k) ml_buf_add(&b, &o->delimiter, 1);
                put_cell(&b, &cols[k], i, o);
            }
            if (b.len == start) ml_buf_add(&b, "\"\"", 2); /* a blank line would be skipped when read */
            ml_buf_add(&b, "\n", 1);
        }
        if (b.len >= FLUSH_AT || i == nrows) {
            if (b.failed) { ml_error(WFN ": out of memory"); goto abort; }
            if (sink_write(out, b.data, b.len, i == nrows) < 0) goto abort;
            b.len = 0;
        }
    }
    ml_buf_free(&b);
    if (out->gz) deflateEnd(&out->z);
    int rc = ml_io_commit(&out->w);
    free(out);
    return rc;
abort:
    ml_buf_free(&b);
    ml_io_abort(&out->w);
fail:
    if (out->gz) deflateEnd(&out->z);
    free(out);
    return -1;
}
