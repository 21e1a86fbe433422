/* A chunk of records into typed columns (ml_csv_next): ranges of records
 * parsed in parallel, each with its own column states and string pools;
 * kinds merged across ranges, a string pass for columns whose cells did not
 * fit one kind, bad lines dropped, tensors handed out. */
#define _GNU_SOURCE
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../core/error.h"
#include "../core/parallel.h"
#include "csv_reader.h"
#include "io.h"

/* ---- parsing a chunk -------------------------------------------------- */

#define ST_FALLBACK ML_CSV_NKINDS /* a cell did not fit: the column goes to the string pass */

typedef struct {
    int state; /* ml_csv_kind (AUTO: no value seen yet) or ST_FALLBACK */
    int64_t missing;
    int64_t cls[ML_CSV_NKINDS]; /* string columns: cells by the kind they would read as */
    ml_strpool *pool;
} colstate;

typedef struct {
    int64_t r0, r1;   /* records [r0, r1) */
    colstate *cs;     /* [nsel] */
    field *f;         /* [nfields] */
    char *scratch;
    size_t scap;
    int64_t nbad;
    int64_t err_row;  /* first failing record (-1: none) */
    size_t err_off;
    int err_pos;      /* 0: no position, 1: file:line, 2: file:line:column */
    char err[320];
} worker;

typedef struct {
    int64_t *v;  /* [n] 8-byte slots: int64, double bits, codes */
    uint8_t *ok; /* [n] 1 where present */
    ml_tensor *tv, *tok;
} colbuf;

static bool forced(const ml_csv_reader *r, int k) { return r->kinds[k] != ML_CSV_AUTO; }

static void set_error(worker *w, int64_t row, size_t off, int pos, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void set_error(worker *w, int64_t row, size_t off, int pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    w->err_row = row;
    w->err_off = off;
    w->err_pos = pos;
}

/* Rows [r0, at) of a column that held int64 (or nothing) as doubles, NaN where missing. */
static void to_float(colbuf *c, int64_t r0, int64_t at) {
    for (int64_t i = r0; i < at; i++) {
        double d = c->ok[i] ? (double)c->v[i] : NAN;
        memcpy(&c->v[i], &d, 8);
    }
}

static bool intern(worker *w, colstate *cs, const char *s, size_t n, int64_t *code) {
    if (!cs->pool && !(cs->pool = ml_strpool_new())) return false;
    return (*code = ml_strpool_intern(cs->pool, s, n)) >= 0;
}

/* One cell of column k (main pass). false stops the worker (w->err set). */
static bool parse_cell(const ml_csv_reader *r, worker *w, colbuf *c, int k, int64_t i, const char *s, size_t n) {
    colstate *cs = &w->cs[k];
    if (ml_csv_is_na(r, s, n)) {
        cs->missing++;
        c->ok[i] = 0;
        if (cs->state == ML_CSV_FLOAT64) { double d = NAN; memcpy(&c->v[i], &d, 8); }
        else c->v[i] = 0;
        return true;
    }
    c->ok[i] = 1;
    /* decimal = ',': the numeric readers see "3,25" as "3.25" (one mark, and no '.'
     * in the cell); a string cell keeps its own text */
    const char *text = s;
    char dec[64];
    if (r->decimal && n < sizeof dec) {
        const char *m = memchr(s, r->decimal, n);
        if (m && !memchr(s, '.', n)) {
            memcpy(dec, s, n);
            dec[m - s] = '.';
            s = dec;
        }
    }
    if (cs->state == ML_CSV_AUTO) {
        cs->state = ml_csv_classify(s, n);
        if (cs->state == ML_CSV_FLOAT64) to_float(c, w->r0, i);
    }
    int64_t iv;
    double dv;
    bool bv, has_time;
    switch (cs->state) {
    case ML_CSV_INT64:
        if (ml_csv_parse_int(s, n, &iv)) { c->v[i] = iv; return true; }
        if (!forced(r, k) && ml_csv_parse_float(s, n, &dv)) {
            to_float(c, w->r0, i);
            cs->state = ML_CSV_FLOAT64;
            memcpy(&c->v[i], &dv, 8);
            return true;
        }
        break;
    case ML_CSV_FLOAT64:
        if (ml_csv_parse_float(s, n, &dv)) { memcpy(&c->v[i], &dv, 8); return true; }
        break;
    case ML_CSV_BOOL:
        if (ml_csv_parse_bool(s, n, &bv)) { c->v[i] = bv; return true; }
        break;
    case ML_CSV_DATE:
        if (ml_csv_parse_date(s, n, &iv)) { c->v[i] = iv; return true; }
        if (!forced(r, k) && ml_csv_parse_datetime(s, n, &iv, &has_time)) {
            cs->state = ML_CSV_DATETIME;
            c->v[i] = iv;
            return true;
        }
        break;
    case ML_CSV_DATETIME:
        if (ml_csv_parse_datetime(s, n, &iv, &has_time)) { c->v[i] = iv; return true; }
        break;
    case ML_CSV_STRING:
        cs->cls[ml_csv_classify(s, n)]++;
        if (!intern(w, cs, text, n, &c->v[i])) {
            set_error(w, i, 0, 0, "%s", ml_last_error());
            return false;
        }
        return true;
    default: /* ST_FALLBACK: the string pass reads it */
        return true;
    }
    if (!forced(r, k)) { cs->state = ST_FALLBACK; return true; }
    char ex[ML_EXCERPT_SIZE];
    set_error(w, i, (size_t)(text - r->buf), 2, "column '%s': cannot read '%s' as %s (the type given in dtypes)",
              r->names[k], ml_excerpt(ex, sizeof ex, text, n), ml_csv_kind_name(r->kinds[k]));
    return false;
}

/* The cell text of field f (unescaped into the worker's scratch when quoted with ""). */
static const char *cell_text(worker *w, const field *f, size_t *n) {
    if (!f->raw) { *n = f->len; return f->p; }
    if (w->scap < f->len) {
        char *s = realloc(w->scratch, f->len + 64);
        if (!s) return NULL;
        w->scratch = s;
        w->scap = f->len + 64;
    }
    *n = ml_csv_unescape(f, w->scratch);
    return w->scratch;
}

/* Records [w->r0, w->r1): the main pass (repass NULL) or the string pass of
 * the columns with repass[k]. */
static void parse_range(const ml_csv_reader *r, worker *w, colbuf *cols, uint8_t *bad, const bool *repass) {
    const uintptr_t PAGE = 4096, DROP_AT = 4 << 20;
    uintptr_t dropped = ((uintptr_t)(r->buf + r->rs[w->r0]) + PAGE - 1) & ~(PAGE - 1);
    for (int64_t i = w->r0; i < w->r1; i++) {
        if (r->mapped && (i & 4095) == 0) {
            /* the mapped file's pages behind us go back to the page cache, so the peak
             * memory is the columns, not the columns plus the file (a later read of
             * them, for a message or the string pass, maps them again) */
            uintptr_t upto = (uintptr_t)(r->buf + r->rs[i]) & ~(PAGE - 1);
            if (upto > dropped + DROP_AT) {
                madvise((void *)dropped, upto - dropped, MADV_DONTNEED);
                dropped = upto;
            }
        }
        if (repass && bad[i]) continue;
        const char *s = r->buf + r->rs[i], *e = r->buf + r->re[i];
        int nf = ml_csv_split_record(s, e, r->delim, w->f, r->nfields);
        if (nf != r->nfields) {
            if (r->on_bad == ML_CSV_BAD_ERROR) {
                set_error(w, i, r->rs[i], 1, "expected %d fields, found %d", r->nfields, nf);
                return;
            }
            bad[i] = 1;
            w->nbad++;
            for (int k = 0; k < r->nsel; k++) cols[k].ok[i] = 0, cols[k].v[i] = 0;
            continue;
        }
        for (int k = 0; k < r->nsel; k++) {
            if (repass && !repass[k]) continue;
            size_t n;
            const char *t = cell_text(w, &w->f[r->sel[k]], &n);
            if (!t) { set_error(w, i, 0, 0, "out of memory"); return; }
            if (!repass) {
                if (!parse_cell(r, w, &cols[k], k, i, t, n)) return;
                continue;
            }
            colstate *cs = &w->cs[k];
            if (ml_csv_is_na(r, t, n)) { cs->missing++; cols[k].v[i] = 0; continue; }
            cs->cls[ml_csv_classify(t, n)]++;
            if (!intern(w, cs, t, n, &cols[k].v[i])) { set_error(w, i, 0, 0, "%s", ml_last_error()); return; }
        }
    }
}

/* The column's kind from its workers' states. */
static int merged_state(const ml_csv_reader *r, worker *ws, int nw, int k) {
    if (forced(r, k)) return r->kinds[k];
    int st = ML_CSV_AUTO;
    for (int t = 0; t < nw; t++) {
        int s = ws[t].cs[k].state;
        if (s == ML_CSV_AUTO || s == st) continue;
        if (st == ML_CSV_AUTO) st = s;
        else if ((st == ML_CSV_INT64 && s == ML_CSV_FLOAT64) || (st == ML_CSV_FLOAT64 && s == ML_CSV_INT64)) st = ML_CSV_FLOAT64;
        else if ((st == ML_CSV_DATE && s == ML_CSV_DATETIME) || (st == ML_CSV_DATETIME && s == ML_CSV_DATE)) st = ML_CSV_DATETIME;
        else st = ST_FALLBACK;
    }
    if (st == ST_FALLBACK) return ML_CSV_STRING;
    return st == ML_CSV_AUTO ? ML_CSV_FLOAT64 : st; /* nothing but missing cells: float64 NaN, as pandas */
}

/* Drops the bad records' rows from every column; ranges shift with them. */
static void compact(colbuf *cols, int nsel, const uint8_t *bad, int64_t n, worker *ws, int nw) {
    int64_t shift = 0;
    for (int t = 0; t < nw; t++) {
        ws[t].r0 -= shift;
        shift += ws[t].nbad;
        ws[t].r1 -= shift;
    }
    for (int k = 0; k < nsel; k++) {
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (!bad[i]) { cols[k].v[m] = cols[k].v[i]; cols[k].ok[m] = cols[k].ok[i]; m++; }
    }
}

/* The first n elements of t as a tensor (t's reference is taken). */
static ml_tensor *truncated(ml_tensor *t, int64_t n) {
    if (!t || t->numel == n) return t;
    int64_t shape[1] = {n}, strides[1] = {1};
    ml_tensor *v = ml_view(t, 1, shape, strides, 0);
    ml_release(t);
    return v;
}

/* The column's tensors and pool from its buffers. 0 ok, -1 error. */
static int finish_column(ml_csv_column *out, colbuf *c, worker *ws, int nw, int k, int kind, int64_t n) {
    out->kind = (ml_csv_kind)kind;
    out->majority = (ml_csv_kind)kind;
    int64_t missing = 0;
    for (int t = 0; t < nw; t++) missing += ws[t].cs[k].missing;
    if (kind == ML_CSV_FLOAT64) {
        for (int t = 0; t < nw; t++)
            if (ws[t].cs[k].state != ML_CSV_FLOAT64) to_float(c, ws[t].r0, ws[t].r1);
        c->tv->dtype = ML_FLOAT64; /* same 8-byte slots, a fresh tensor no one else holds */
    } else if (kind == ML_CSV_STRING) {
        ml_strpool *pool = NULL;
        int64_t *remap = NULL;
        int64_t cls[ML_CSV_NKINDS] = {0};
        for (int t = 0; t < nw; t++) {
            colstate *cs = &ws[t].cs[k];
            for (int q = 0; q < ML_CSV_NKINDS; q++) cls[q] += cs->cls[q];
            if (!cs->pool) continue;
            if (!pool) { pool = cs->pool; ml_strpool_retain(pool); continue; }
            int64_t *m = realloc(remap, (size_t)(ml_strpool_count(cs->pool) + 1) * sizeof *m);
            if (!m || ml_strpool_merge(pool, cs->pool, m) < 0) {
                free(m ? m : remap);
                ml_strpool_release(pool);
                return m ? -1 : (ml_csv_fail_alloc(), -1);
            }
            remap = m;
            for (int64_t i = ws[t].r0; i < ws[t].r1; i++) c->v[i] = remap[c->v[i]];
        }
        free(remap);
        if (!pool && !(pool = ml_strpool_new())) return -1;
        out->pool = pool;
        /* numbers and temporal cells count as one kind each */
        int64_t num = cls[ML_CSV_INT64] + cls[ML_CSV_FLOAT64], tim = cls[ML_CSV_DATE] + cls[ML_CSV_DATETIME];
        int64_t total = num + tim + cls[ML_CSV_BOOL] + cls[ML_CSV_STRING], best = cls[ML_CSV_STRING];
        out->majority = ML_CSV_STRING;
        if (num > best) { best = num; out->majority = cls[ML_CSV_FLOAT64] ? ML_CSV_FLOAT64 : ML_CSV_INT64; }
        if (tim > best) { best = tim; out->majority = cls[ML_CSV_DATETIME] ? ML_CSV_DATETIME : ML_CSV_DATE; }
        if (cls[ML_CSV_BOOL] > best) { best = cls[ML_CSV_BOOL]; out->majority = ML_CSV_BOOL; }
        out->mixed = total - best;
    } else if (kind == ML_CSV_BOOL) {
        int64_t shape[1] = {n};
        ml_tensor *b = ml_empty(1, shape, ML_BOOL);
        if (!b) return -1;
        bool *bp = ml_data(b);
        for (int64_t i = 0; i < n; i++) bp[i] = c->v[i] != 0;
        ml_release(c->tv);
        c->tv = b;
    }
    out->values = truncated(c->tv, n);
    c->tv = NULL;
    if (missing && kind != ML_CSV_FLOAT64 && kind != ML_CSV_STRING) {
        out->valid = truncated(c->tok, n);
        c->tok = NULL;
    }
    return out->values ? 0 : -1;
}

/* "file:line[:col]: message" for a worker's error. */
static void raise_worker_error(ml_csv_reader *r, worker *w) {
    if (!w->err_pos) { ml_error(FN ": %s: %s", r->path, w->err); return; }
    int64_t line, col;
    ml_csv_position(r, w->err_off, &line, &col);
    if (w->err_pos == 2) ml_error(FN ": %s:%lld:%lld: %s", r->path, (long long)line, (long long)col, w->err);
    else ml_error(FN ": %s:%lld: %s", r->path, (long long)line, w->err);
}

static void bad_messages(ml_csv_reader *r, const uint8_t *bad, ml_csv_chunk *ch) {
    size_t last = r->pos;
    int64_t line = r->line_at_pos;
    for (int64_t i = 0; i < r->nrec && ch->nbad < ML_CSV_MAX_BAD; i++) {
        if (!bad[i]) continue;
        line += ml_csv_count_lines(r->buf + last, r->buf + r->rs[i]);
        last = r->rs[i];
        int nf = ml_csv_split_record(r->buf + r->rs[i], r->buf + r->re[i], r->delim, NULL, 0);
        char msg[512];
        snprintf(msg, sizeof msg, "%s:%lld: expected %d fields, found %d", r->path, (long long)line, r->nfields, nf);
        ch->bad[ch->nbad] = strdup(msg);
        if (ch->bad[ch->nbad]) ch->nbad++;
    }
}

static void free_workers(worker *ws, int nw, int nsel) {
    for (int t = 0; ws && t < nw; t++) {
        for (int k = 0; ws[t].cs && k < nsel; k++) ml_strpool_release(ws[t].cs[k].pool);
        free(ws[t].cs);
        free(ws[t].f);
        free(ws[t].scratch);
    }
    free(ws);
}

/* Fresh column buffers are written once, row by row across all columns:
 * 2 MB pages take 512 times fewer page faults (where THP is "madvise"). */
static void huge_pages(void *p, size_t n) {
    const uintptr_t H = (uintptr_t)2 << 20;
    uintptr_t s = ((uintptr_t)p + H - 1) & ~(H - 1), e = ((uintptr_t)p + n) & ~(H - 1);
    if (e > s) madvise((void *)s, e - s, MADV_HUGEPAGE);
}

/* The ranges go to the threads as they come free (on a shared machine a
 * thread that lost its core must not hold the others up at the end). */
static void run_workers(const ml_csv_reader *r, worker *ws, int nw, int nthreads, colbuf *cols, uint8_t *bad,
                        const bool *repass) {
    if (nthreads == 1) {
        for (int t = 0; t < nw; t++) parse_range(r, &ws[t], cols, bad, repass);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
    for (int t = 0; t < nw; t++) parse_range(r, &ws[t], cols, bad, repass);
}

int ml_csv_next(ml_csv_reader *r, int64_t maxrows, ml_csv_chunk **out) {
    *out = NULL;
    if (!r->sel) return ml_error(FN ": no fields selected"), -1;
    ml_csv_shift(r);
    size_t next;
    int nthreads = ml_get_threads();
    if (nthreads > 16) nthreads = 16;
    if (omp_in_parallel()) nthreads = 1;
    int scanned = maxrows < 0 ? ml_csv_scan_parallel(r, nthreads, &next) : 1;
    if (scanned < 0 || (scanned == 1 && ml_csv_scan_records(r, maxrows < 0 ? INT64_MAX : maxrows, &next) < 0)) return -1;
    int64_t n = r->nrec;
    if (n == 0) { ml_csv_advance(r, next, r->streaming); return 0; }
    /* 8 ranges per thread, each with its own column states and pools */
    if (n < 16384) nthreads = 1;
    int nw = nthreads == 1 ? 1 : nthreads * 8;
    int nsel = r->nsel;
    ml_csv_chunk *ch = calloc(1, sizeof *ch);
    worker *ws = calloc((size_t)nw, sizeof *ws);
    colbuf *cols = calloc((size_t)nsel + 1, sizeof *cols);
    uint8_t *bad = calloc((size_t)n, 1);
    bool *repass = calloc((size_t)nsel + 1, sizeof *repass);
    int *kinds = calloc((size_t)nsel + 1, sizeof *kinds);
    int rc = -1;
    if (!ch || !ws || !cols || !bad || !repass || !kinds) { ml_csv_fail_alloc(); goto done; }
    ch->cols = calloc((size_t)nsel + 1, sizeof *ch->cols);
    if (!ch->cols) { ml_csv_fail_alloc(); goto done; }
    int64_t shape[1] = {n};
    for (int k = 0; k < nsel; k++) {
        if (!(cols[k].tv = ml_empty(1, shape, ML_INT64)) || !(cols[k].tok = ml_empty(1, shape, ML_BOOL))) goto done;
        cols[k].v = ml_data(cols[k].tv);
        cols[k].ok = ml_data(cols[k].tok);
        huge_pages(cols[k].v, (size_t)n * 8);
    }
    for (int t = 0; t < nw; t++) {
        ws[t].r0 = n * t / nw;
        ws[t].r1 = n * (t + 1) / nw;
        ws[t].err_row = -1;
        ws[t].cs = calloc((size_t)nsel + 1, sizeof *ws[t].cs);
        ws[t].f = malloc(((size_t)r->nfields + 1) * sizeof *ws[t].f);
        if (!ws[t].cs || !ws[t].f) { ml_csv_fail_alloc(); goto done; }
        for (int k = 0; k < nsel; k++) ws[t].cs[k].state = r->kinds[k];
    }
    run_workers(r, ws, nw, nthreads, cols, bad, NULL);
    for (int t = 0; t < nw; t++)
        if (ws[t].err_row >= 0) { raise_worker_error(r, &ws[t]); goto done; }
    /* columns whose cells did not all fit one kind: read again as strings */
    bool any_repass = false;
    for (int k = 0; k < nsel; k++) {
        kinds[k] = merged_state(r, ws, nw, k);
        if (kinds[k] != ML_CSV_STRING) continue;
        for (int t = 0; t < nw; t++) {
            int s = ws[t].cs[k].state;
            if (s != ML_CSV_STRING && s != ML_CSV_AUTO) repass[k] = true;
        }
        if (!repass[k]) continue;
        any_repass = true;
        for (int t = 0; t < nw; t++) {
            colstate *cs = &ws[t].cs[k];
            ml_strpool_release(cs->pool);
            memset(cs, 0, sizeof *cs);
            cs->state = ML_CSV_STRING;
        }
    }
    if (any_repass) {
        run_workers(r, ws, nw, nthreads, cols, bad, repass);
        for (int t = 0; t < nw; t++)
            if (ws[t].err_row >= 0) { raise_worker_error(r, &ws[t]); goto done; }
    }
    int64_t nbad = 0;
    for (int t = 0; t < nw; t++) nbad += ws[t].nbad;
    if (nbad) {
        bad_messages(r, bad, ch);
        compact(cols, nsel, bad, n, ws, nw);
    }
    ch->skipped = nbad;
    ch->nrows = n - nbad;
    for (int k = 0; k < nsel; k++) {
        ch->ncols = k + 1;
        if (finish_column(&ch->cols[k], &cols[k], ws, nw, k, kinds[k], ch->nrows) < 0) goto done;
    }
    rc = 1;
done:
    for (int k = 0; cols && k < nsel; k++) { ml_release(cols[k].tv); ml_release(cols[k].tok); }
    free(cols);
    free(bad);
    free(repass);
    free(kinds);
    free_workers(ws, nw, nsel);
    if (rc < 0) { ml_csv_chunk_free(ch); return -1; }
    ml_csv_advance(r, next, r->streaming);
    *out = ch;
    return 1;
}

void ml_csv_chunk_free(ml_csv_chunk *c) {
    if (!c) return;
    for (int k = 0; c->cols && k < c->ncols; k++) {
        ml_release(c->cols[k].values);
        ml_release(c->cols[k].valid);
        ml_strpool_release(c->cols[k].pool);
    }
    free(c->cols);
    for (int k = 0; k < c->nbad; k++) free(c->bad[k]);
    free(c);
}
