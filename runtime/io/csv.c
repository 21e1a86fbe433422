/* The CSV reader: the file in a buffer (whole, or streamed for chunks),
 * record boundaries, fields, and the parallel parse into typed columns
 * (see csv.h for the steps). Cells are turned into values by csv_cell.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../core/error.h"
#include "../core/parallel.h"
#include "csv.h"
#include "io.h"
#include <omp.h>

#define FN "data.read_csv"
#define STREAM_BLOCK (1 << 20) /* bytes read at a time when streaming */

typedef struct {
    const char *p;
    uint32_t len;
    bool raw; /* p..len is the raw quoted text ("" inside, text after the close): unescape first */
} field;

struct ml_csv_reader {
    char *path;
    gzFile gz;
    char *buf;
    size_t len, cap, pos; /* the bytes buf[pos..len) are not consumed yet */
    bool eof;
    bool mapped;           /* buf is the file mmap'ed (plain files read whole) */
    int64_t line_at_pos;   /* 1-based line number of buf[pos] */
    char delim, comment;
    ml_csv_bad on_bad;
    bool streaming, header;
    /* missing-cell strings, bucketed by first byte */
    char **na;             /* sorted by first byte */
    size_t *na_len;
    int n_na;
    uint8_t na_start[256], na_count[256]; /* the NA strings starting with a byte: na[start .. start+count) */
    size_t na_maxlen;
    int nfields;
    char **first;
    /* selection */
    int nsel;
    int *sel;
    ml_csv_kind *kinds;
    char **names;
    int *colmap; /* field -> selected column, or -1 */
    /* record boundaries of the current chunk (indices into buf) */
    size_t *rs, *re;
    int64_t nrec, reccap;
};

/* ---- the buffer ------------------------------------------------------- */

static void *fail_alloc(void) { return ml_error(FN ": out of memory"); }

/* Appends what the file gives next; grows the buffer when full. 0 at the end, -1 on error. */
static int fill(ml_csv_reader *r) {
    if (r->eof) return 0;
    if (r->cap - r->len < STREAM_BLOCK / 4) {
        size_t cap = r->cap * 2 + STREAM_BLOCK;
        char *b = realloc(r->buf, cap + 1);
        if (!b) return fail_alloc(), -1;
        r->buf = b;
        r->cap = cap;
    }
    size_t want = r->cap - r->len;
    if (want > (1u << 30)) want = 1u << 30;
    int got = gzread(r->gz, r->buf + r->len, (unsigned)want);
    if (got < 0) {
        int err;
        const char *msg = gzerror(r->gz, &err);
        ml_error(FN ": %s: %s", r->path, err == Z_ERRNO ? strerror(errno) : msg);
        return -1;
    }
    if (got == 0) { r->eof = true; return 0; }
    r->len += (size_t)got;
    r->buf[r->len] = 0;
    return got;
}

/* Drops the consumed bytes (streaming only: the whole-file buffer never moves). */
static void shift(ml_csv_reader *r) {
    if (r->eof || r->pos == 0) return;
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
}

static int64_t count_lines(const char *p, const char *e) {
    int64_t n = 0;
    while ((p = memchr(p, '\n', (size_t)(e - p)))) { n++; p++; }
    return n;
}

/* Line and column (1-based) of buf[off], off >= pos. */
static void position(const ml_csv_reader *r, size_t off, int64_t *line, int64_t *col) {
    *line = r->line_at_pos + count_lines(r->buf + r->pos, r->buf + off);
    const char *ls = r->buf + off;
    while (ls > r->buf && ls[-1] != '\n') ls--;
    *col = (r->buf + off) - ls + 1;
}

/* Consumes up to buf[to]; the line count is kept only where more records
 * may follow (the whole-file parse never needs it again). */
static void advance(ml_csv_reader *r, size_t to, bool count) {
    if (count) r->line_at_pos += count_lines(r->buf + r->pos, r->buf + to);
    r->pos = to;
}

/* ---- records ---------------------------------------------------------- */

enum { SCAN_OK = 0, SCAN_MORE = 1, SCAN_ERROR = -1 };

/* From a line start at i with a quote in it: the RFC 4180 state machine up
 * to the record's end (*end: its '\n' or the buffer's end). */
static int scan_quoted(ml_csv_reader *r, size_t i, size_t *end) {
    const char *b = r->buf, *e = r->buf + r->len;
    const char *c = b + i;
    bool field_start = true;
    while (c < e) {
        char ch = *c;
        if (field_start && ch == '"') {
            const char *open = c++;
            for (;;) {
                const char *z = memchr(c, '"', (size_t)(e - c));
                if (!z || (z + 1 == e && !r->eof)) {
                    if (!r->eof) return SCAN_MORE;
                    int64_t line, col;
                    position(r, (size_t)(open - b), &line, &col);
                    ml_error(FN ": %s:%lld:%lld: unterminated quote (the quoted field opened here runs to the end of the file)",
                             r->path, (long long)line, (long long)col);
                    return SCAN_ERROR;
                }
                if (z + 1 < e && z[1] == '"') { c = z + 2; continue; }
                c = z + 1;
                break;
            }
            field_start = false;
            continue;
        }
        if (ch == '\n') { *end = (size_t)(c - b); return SCAN_OK; }
        field_start = ch == r->delim;
        c++;
    }
    if (!r->eof) return SCAN_MORE;
    *end = r->len;
    return SCAN_OK;
}

static int add_record(ml_csv_reader *r, size_t s, size_t e) {
    if (r->nrec == r->reccap) {
        int64_t cap = r->reccap ? r->reccap * 2 : 4096;
        size_t *a = realloc(r->rs, (size_t)cap * sizeof *a), *b2;
        if (!a) return fail_alloc(), -1;
        r->rs = a;
        if (!(b2 = realloc(r->re, (size_t)cap * sizeof *b2))) return fail_alloc(), -1;
        r->re = b2;
        r->reccap = cap;
    }
    r->rs[r->nrec] = s;
    r->re[r->nrec] = e;
    r->nrec++;
    return 0;
}

/* Finds up to maxrows records from pos (blank and comment lines skipped);
 * *next gets the index after the last one. 0 ok, -1 error. */
static int scan_records(ml_csv_reader *r, int64_t maxrows, size_t *next) {
    r->nrec = 0;
    size_t i = r->pos;
    size_t quote = (size_t)-1; /* index of the next '"' at or after i (or of a window end); -1: look again */
    bool quote_is_real = false;
    while (r->nrec < maxrows) {
        if (i >= r->len) {
            if (r->eof) break;
            if (fill(r) < 0) return -1;
            quote = (size_t)-1;
            continue;
        }
        const char *b = r->buf;
        const char *nl = memchr(b + i, '\n', r->len - i);
        if (!nl && !r->eof) {
            if (fill(r) < 0) return -1;
            quote = (size_t)-1;
            continue;
        }
        size_t end = nl ? (size_t)(nl - b) : r->len;
        if (r->comment && b[i] == r->comment) { /* a comment line ends at its newline, quotes or not */
            i = end < r->len ? end + 1 : r->len;
            continue;
        }
        if (quote == (size_t)-1 || quote < i || (!quote_is_real && quote <= end)) {
            /* a window at a time: one memchr per 64 KB for files without quotes
             * (quote is then the window's end, past this line) */
            size_t lim = end + 65536 < r->len ? end + 65536 : r->len;
            const char *q = memchr(b + i, '"', lim - i);
            quote = q ? (size_t)(q - b) : lim;
            quote_is_real = q != NULL;
        }
        if (quote < end) {
            int st = scan_quoted(r, i, &end);
            if (st == SCAN_ERROR) return -1;
            if (st == SCAN_MORE) {
                if (fill(r) < 0) return -1;
                quote = (size_t)-1;
                continue;
            }
            quote = (size_t)-1;
        }
        size_t re = end;
        if (re > i && r->buf[re - 1] == '\r') re--;
        if (re > i && add_record(r, i, re) < 0) return -1; /* blank lines are skipped */
        i = end < r->len ? end + 1 : r->len;
    }
    *next = i;
    return 0;
}

/* A whole file in memory without a single quote: its lines are records, so
 * the boundaries are found in nthreads pieces at once (cut after a '\n').
 * 1 when it does not apply (a quote, a stream, a small file), 0 done, -1 error. */
typedef struct {
    size_t *rs, *re;
    int64_t n, cap;
    bool quote, failed;
} piece;

static void scan_piece(const ml_csv_reader *r, size_t i, size_t hi, piece *pc) {
    const char *b = r->buf;
    if (memchr(b + i, '"', hi - i)) { pc->quote = true; return; }
    while (i < hi) {
        const char *nl = memchr(b + i, '\n', hi - i);
        size_t end = nl ? (size_t)(nl - b) : hi, re = end;
        if (re > i && b[re - 1] == '\r') re--;
        if (re > i && !(r->comment && b[i] == r->comment)) {
            if (pc->n == pc->cap) {
                int64_t cap = pc->cap ? pc->cap * 2 : 65536;
                size_t *a = realloc(pc->rs, (size_t)cap * sizeof *a);
                if (a) pc->rs = a;
                size_t *c = a ? realloc(pc->re, (size_t)cap * sizeof *c) : NULL;
                if (!c) { pc->failed = true; return; }
                pc->re = c;
                pc->cap = cap;
            }
            pc->rs[pc->n] = i;
            pc->re[pc->n] = re;
            pc->n++;
        }
        i = end + 1;
    }
}

static int scan_parallel(ml_csv_reader *r, int nthreads, size_t *next) {
    size_t lo = r->pos, hi = r->len;
    if (!r->eof || r->streaming || nthreads < 2 || hi - lo < ((size_t)8 << 20)) return 1;
    size_t cut[17];
    piece pcs[16];
    memset(pcs, 0, sizeof pcs);
    cut[0] = lo;
    cut[nthreads] = hi;
    for (int t = 1; t < nthreads; t++) {
        size_t c = lo + (hi - lo) / (size_t)nthreads * (size_t)t;
        const char *nl = memchr(r->buf + c, '\n', hi - c);
        cut[t] = nl ? (size_t)(nl - r->buf) + 1 : hi;
        if (cut[t] < cut[t - 1]) cut[t] = cut[t - 1];
    }
#pragma omp parallel for schedule(static, 1) num_threads(nthreads)
    for (int t = 0; t < nthreads; t++) scan_piece(r, cut[t], cut[t + 1], &pcs[t]);
    int rc = 0;
    int64_t total = 0;
    for (int t = 0; t < nthreads; t++) {
        if (pcs[t].quote) rc = 1;
        if (pcs[t].failed) rc = -1;
        total += pcs[t].n;
    }
    if (rc == 0 && total > r->reccap) {
        size_t *a = realloc(r->rs, (size_t)total * sizeof *a), *c;
        if (a) r->rs = a;
        if (!a || !(c = realloc(r->re, (size_t)total * sizeof *c))) rc = -1;
        else { r->re = c; r->reccap = total; }
    }
    if (rc == 0) {
        r->nrec = 0;
        for (int t = 0; t < nthreads; t++) {
            memcpy(r->rs + r->nrec, pcs[t].rs, (size_t)pcs[t].n * sizeof *r->rs);
            memcpy(r->re + r->nrec, pcs[t].re, (size_t)pcs[t].n * sizeof *r->re);
            r->nrec += pcs[t].n;
        }
        *next = hi;
    }
    for (int t = 0; t < nthreads; t++) { free(pcs[t].rs); free(pcs[t].re); }
    if (rc < 0) fail_alloc();
    return rc;
}

/* ---- fields ----------------------------------------------------------- */

/* Splits [s, e) into fields (at most maxf stored); returns the count found. */
static int split_record(const char *s, const char *e, char delim, field *f, int maxf) {
    int k = 0;
    const char *q = s;
    for (;;) {
        const char *c;
        field fl;
        if (q < e && *q == '"') {
            bool raw = false;
            c = q + 1;
            for (;;) {
                const char *z = memchr(c, '"', (size_t)(e - c));
                if (!z) { c = e; raw = true; break; }
                if (z + 1 < e && z[1] == '"') { raw = true; c = z + 2; continue; }
                c = z + 1;
                break;
            }
            if (c < e && *c != delim) {
                raw = true;
                while (c < e && *c != delim) c++;
            }
            fl.raw = raw;
            fl.p = raw ? q : q + 1;
            fl.len = (uint32_t)(raw ? c - q : c - q - 2);
        } else {
            c = q;
            while (c < e && *c != delim) c++;
            fl.p = q;
            fl.len = (uint32_t)(c - q);
            fl.raw = false;
        }
        if (k < maxf) f[k] = fl;
        k++;
        if (c >= e) break;
        q = c + 1;
    }
    return k;
}

/* The text of a raw quoted field into scratch (at least len bytes). */
static size_t unescape(const field *f, char *out) {
    const char *p = f->p + 1, *e = f->p + f->len;
    size_t n = 0;
    while (p < e) {
        if (*p == '"') {
            if (p + 1 < e && p[1] == '"') { out[n++] = '"'; p += 2; continue; }
            p++; /* the closing quote: what follows is kept as it is */
            while (p < e) out[n++] = *p++;
            break;
        }
        out[n++] = *p++;
    }
    return n;
}

static inline bool is_na(const ml_csv_reader *r, const char *s, size_t n) {
    if (n == 0) return true;
    unsigned c = (unsigned char)s[0];
    if (!r->na_count[c] || n > r->na_maxlen) return false;
    for (int k = r->na_start[c], e = k + r->na_count[c]; k < e; k++)
        if (r->na_len[k] == n && memcmp(r->na[k], s, n) == 0) return true;
    return false;
}

/* ---- opening ---------------------------------------------------------- */

static const char *const DEFAULT_NA[] = {"",     "#N/A", "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN",
                                         "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",     "NA",       "NULL",
                                         "NaN",  "None", "n/a",      "nan",  "null"};

static int cmp_first_byte(const void *a, const void *b) {
    return (int)(unsigned char)**(char *const *)a - (int)(unsigned char)**(char *const *)b;
}

static int set_na(ml_csv_reader *r, const ml_csv_options *o) {
    int nd = o->default_na ? (int)(sizeof DEFAULT_NA / sizeof *DEFAULT_NA) : 0;
    if (nd + o->n_na > 250) return ml_error(FN ": na_values lists %d strings; at most 230 are supported", o->n_na), -1;
    r->na = calloc((size_t)(nd + o->n_na + 1), sizeof *r->na);
    r->na_len = calloc((size_t)(nd + o->n_na + 1), sizeof *r->na_len);
    if (!r->na || !r->na_len) return fail_alloc(), -1;
    for (int k = 0; k < nd + o->n_na; k++) {
        const char *s = k < nd ? DEFAULT_NA[k] : o->na_values[k - nd];
        if (!*s) continue; /* the empty cell is always missing */
        if (!(r->na[r->n_na] = strdup(s))) return fail_alloc(), -1;
        r->n_na++;
    }
    qsort(r->na, (size_t)r->n_na, sizeof *r->na, cmp_first_byte);
    for (int k = 0; k < r->n_na; k++) {
        unsigned c = (unsigned char)r->na[k][0];
        if (!r->na_count[c]) r->na_start[c] = (uint8_t)k;
        r->na_count[c]++;
        r->na_len[k] = strlen(r->na[k]);
        if (r->na_len[k] > r->na_maxlen) r->na_maxlen = r->na_len[k];
    }
    return 0;
}

/* Counts candidate delimiters outside quotes over the first lines and picks
 * the one found the same (non-zero) number of times on the most lines,
 * then the most frequent; ',' when none appears. */
static char sniff(ml_csv_reader *r) {
    static const char cand[4] = {',', '\t', ';', '|'};
    enum { LINES = 30 };
    int counts[LINES][4] = {{0}};
    int nl = 0;
    bool inq = false, line_start = true, skipping = false;
    for (size_t i = r->pos; i < r->len && nl < LINES; i++) {
        char c = r->buf[i];
        if (line_start) {
            line_start = false;
            skipping = (r->comment && c == r->comment) || c == '\n' || c == '\r';
        }
        if (c == '"' && !skipping) inq = !inq;
        else if (c == '\n' && !inq) {
            if (!skipping) nl++;
            line_start = true;
        } else if (!inq && !skipping)
            for (int k = 0; k < 4; k++) counts[nl][k] += c == cand[k];
    }
    if (nl < LINES && r->len > r->pos && r->buf[r->len - 1] != '\n') nl++;
    int best = -1, best_lines = 0, best_count = 0;
    for (int k = 0; k < 4; k++) {
        /* the most common non-zero count and on how many lines */
        int mode = 0, mode_lines = 0;
        for (int a = 0; a < nl; a++) {
            if (!counts[a][k]) continue;
            int same = 0;
            for (int b = 0; b < nl; b++) same += counts[b][k] == counts[a][k];
            if (same > mode_lines || (same == mode_lines && counts[a][k] > mode)) { mode = counts[a][k]; mode_lines = same; }
        }
        if (mode_lines > best_lines || (mode_lines == best_lines && mode_lines && mode > best_count)) {
            best = k;
            best_lines = mode_lines;
            best_count = mode;
        }
    }
    return best < 0 ? ',' : cand[best];
}

static int read_first(ml_csv_reader *r, int header) {
    size_t next;
    if (scan_records(r, 1, &next) < 0) return -1;
    if (r->nrec == 0) return ml_error(FN ": %s: the file is empty (no header and no rows)", r->path), -1;
    const char *s = r->buf + r->rs[0], *e = r->buf + r->re[0];
    int n = split_record(s, e, r->delim, NULL, 0);
    field *f = malloc((size_t)n * sizeof *f);
    r->first = calloc((size_t)n, sizeof *r->first);
    if (!f || !r->first) return free(f), fail_alloc(), -1;
    split_record(s, e, r->delim, f, n);
    bool looks_like_data = false;
    for (int k = 0; k < n; k++) {
        char *t = malloc(f[k].len + 1);
        if (!t) return free(f), fail_alloc(), -1;
        size_t len = f[k].raw ? unescape(&f[k], t) : (memcpy(t, f[k].p, f[k].len), f[k].len);
        t[len] = 0;
        r->first[k] = t;
        if (len && ml_csv_classify(t, len) != ML_CSV_STRING) looks_like_data = true;
    }
    free(f);
    r->nfields = n;
    r->header = header < 0 ? !looks_like_data : header == 1;
    if (r->header) advance(r, next, true);
    else if (r->rs[0] > r->pos) advance(r, r->rs[0], true);
    return 0;
}

ml_csv_reader *ml_csv_open(const char *path, const ml_csv_options *o) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ml_error(FN ": cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return ml_error(FN ": cannot read '%s': it is a directory", path);
    }
    ml_csv_reader *r = calloc(1, sizeof *r);
    if (!r) return close(fd), fail_alloc();
    r->streaming = o->streaming;
    r->path = strdup(path);
    if (!r->path) { close(fd); ml_csv_close(r); return fail_alloc(); }
    unsigned char magic[2] = {0, 0};
    bool gzipped = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (!r->streaming && !gzipped && st.st_size > 0) {
        /* a plain file read whole: mapped, populated at once (no copy, no page fault per 4 KB) */
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (m != MAP_FAILED) {
            close(fd);
            r->buf = m;
            r->len = r->cap = (size_t)st.st_size;
            r->mapped = r->eof = true;
        }
    }
    if (!r->mapped) {
        r->gz = gzdopen(fd, "rb");
        if (!r->gz) { close(fd); ml_csv_close(r); return fail_alloc(); }
        r->cap = o->streaming ? STREAM_BLOCK : (size_t)st.st_size * (gzipped ? 4 : 1) + STREAM_BLOCK;
        r->buf = malloc(r->cap + 1);
        if (!r->buf) { ml_csv_close(r); return fail_alloc(); }
        gzbuffer(r->gz, 1 << 18);
    }
    r->line_at_pos = 1;
    r->comment = o->comment;
    r->on_bad = o->on_bad;
    if (set_na(r, o) < 0) goto fail;
    /* whole: read it all now; streaming: enough for the sniffer */
    while (r->streaming ? (r->len < STREAM_BLOCK / 2 && !r->eof) : !r->eof)
        if (fill(r) < 0) goto fail;
    if (r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) r->pos = 3;
    for (int64_t k = 0; k < o->skiprows; k++) {
        const char *nl;
        while (!(nl = memchr(r->buf + r->pos, '\n', r->len - r->pos)) && !r->eof)
            if (fill(r) < 0) goto fail;
        if (!nl) { r->pos = r->len; break; }
        r->pos = (size_t)(nl - r->buf) + 1;
        r->line_at_pos++;
    }
    r->delim = o->delimiter ? o->delimiter : sniff(r);
    if (read_first(r, o->header) < 0) goto fail;
    return r;
fail:
    ml_csv_close(r);
    return NULL;
}

void ml_csv_close(ml_csv_reader *r) {
    if (!r) return;
    if (r->gz) gzclose(r->gz);
    for (int k = 0; k < r->n_na; k++) free(r->na[k]);
    free(r->na);
    free(r->na_len);
    for (int k = 0; r->first && k < r->nfields; k++) free(r->first[k]);
    free(r->first);
    for (int k = 0; r->names && k < r->nsel; k++) free(r->names[k]);
    free(r->names);
    free(r->sel);
    free(r->kinds);
    free(r->colmap);
    free(r->rs);
    free(r->re);
    if (r->mapped) munmap(r->buf, r->len);
    else free(r->buf);
    free(r->path);
    free(r);
}

char ml_csv_delimiter(const ml_csv_reader *r) { return r->delim; }
bool ml_csv_has_header(const ml_csv_reader *r) { return r->header; }
int ml_csv_first_fields(const ml_csv_reader *r, const char *const **fields) {
    *fields = (const char *const *)r->first;
    return r->nfields;
}

int ml_csv_select(ml_csv_reader *r, int nsel, const int *sel, const ml_csv_kind *kinds, const char *const *names) {
    free(r->sel); free(r->kinds); free(r->colmap);
    for (int k = 0; r->names && k < r->nsel; k++) free(r->names[k]);
    free(r->names);
    r->nsel = 0;
    r->sel = malloc((size_t)(nsel + 1) * sizeof *r->sel);
    r->kinds = malloc((size_t)(nsel + 1) * sizeof *r->kinds);
    r->names = calloc((size_t)(nsel + 1), sizeof *r->names);
    r->colmap = malloc((size_t)(r->nfields + 1) * sizeof *r->colmap);
    if (!r->sel || !r->kinds || !r->names || !r->colmap) return fail_alloc(), -1;
    for (int j = 0; j < r->nfields; j++) r->colmap[j] = -1;
    for (int k = 0; k < nsel; k++) {
        if (sel[k] < 0 || sel[k] >= r->nfields) return ml_error(FN ": field %d is out of range 1..%d", sel[k] + 1, r->nfields), -1;
        r->sel[k] = sel[k];
        r->kinds[k] = kinds[k];
        r->colmap[sel[k]] = k;
        if (!(r->names[k] = strdup(names[k]))) return fail_alloc(), -1;
        r->nsel = k + 1;
    }
    return 0;
}

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
    if (is_na(r, s, n)) {
        cs->missing++;
        c->ok[i] = 0;
        if (cs->state == ML_CSV_FLOAT64) { double d = NAN; memcpy(&c->v[i], &d, 8); }
        else c->v[i] = 0;
        return true;
    }
    c->ok[i] = 1;
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
        if (!intern(w, cs, s, n, &c->v[i])) {
            set_error(w, i, 0, 0, "%s", ml_last_error());
            return false;
        }
        return true;
    default: /* ST_FALLBACK: the string pass reads it */
        return true;
    }
    if (!forced(r, k)) { cs->state = ST_FALLBACK; return true; }
    char ex[ML_EXCERPT_SIZE];
    set_error(w, i, (size_t)(s - r->buf), 2, "column '%s': cannot read '%s' as %s (the type given in dtypes)",
              r->names[k], ml_excerpt(ex, sizeof ex, s, n), ml_csv_kind_name(r->kinds[k]));
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
    *n = unescape(f, w->scratch);
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
        int nf = split_record(s, e, r->delim, w->f, r->nfields);
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
            if (is_na(r, t, n)) { cs->missing++; cols[k].v[i] = 0; continue; }
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
                return m ? -1 : (fail_alloc(), -1);
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
    position(r, w->err_off, &line, &col);
    if (w->err_pos == 2) ml_error(FN ": %s:%lld:%lld: %s", r->path, (long long)line, (long long)col, w->err);
    else ml_error(FN ": %s:%lld: %s", r->path, (long long)line, w->err);
}

static void bad_messages(ml_csv_reader *r, const uint8_t *bad, ml_csv_chunk *ch) {
    size_t last = r->pos;
    int64_t line = r->line_at_pos;
    for (int64_t i = 0; i < r->nrec && ch->nbad < ML_CSV_MAX_BAD; i++) {
        if (!bad[i]) continue;
        line += count_lines(r->buf + last, r->buf + r->rs[i]);
        last = r->rs[i];
        int nf = split_record(r->buf + r->rs[i], r->buf + r->re[i], r->delim, NULL, 0);
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
    shift(r);
    size_t next;
    int nthreads = ml_get_threads();
    if (nthreads > 16) nthreads = 16;
    if (omp_in_parallel()) nthreads = 1;
    int scanned = maxrows < 0 ? scan_parallel(r, nthreads, &next) : 1;
    if (scanned < 0 || (scanned == 1 && scan_records(r, maxrows < 0 ? INT64_MAX : maxrows, &next) < 0)) return -1;
    int64_t n = r->nrec;
    if (n == 0) { advance(r, next, r->streaming); return 0; }
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
    if (!ch || !ws || !cols || !bad || !repass || !kinds) { fail_alloc(); goto done; }
    ch->cols = calloc((size_t)nsel + 1, sizeof *ch->cols);
    if (!ch->cols) { fail_alloc(); goto done; }
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
        if (!ws[t].cs || !ws[t].f) { fail_alloc(); goto done; }
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
    advance(r, next, r->streaming);
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
