/* The CSV reader's front half: the file in a buffer (mapped whole, or
 * streamed for chunks), record boundaries, fields, opening (BOM, skiprows,
 * the delimiter sniffer, the header). csv_parse.c turns a chunk of records
 * into typed columns, csv_cell.c a cell into a value (see csv.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../core/error.h"
#include "../core/parallel.h"
#include "csv_reader.h"

/* ---- the buffer ------------------------------------------------------- */

void *ml_csv_fail_alloc(void) { return ml_error(FN ": out of memory"); }

/* Appends what the file gives next; grows the buffer when full. 0 at the end, -1 on error. */
static int fill(ml_csv_reader *r) {
    if (r->eof) return 0;
    if (r->cap - r->len < STREAM_BLOCK / 4) {
        size_t cap = r->cap * 2 + STREAM_BLOCK;
        char *b = realloc(r->buf, cap + 1);
        if (!b) return ml_csv_fail_alloc(), -1;
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
    if (got == 0) {
        /* zlib returns what it has when the compressed stream stops short, and
         * says so only through gzerror (Z_BUF_ERROR): a truncated file */
        int err;
        gzerror(r->gz, &err);
        if (err == Z_BUF_ERROR) {
            ml_error(FN ": %s: the gzip data is truncated (the compressed stream ends before its end marker)", r->path);
            return -1;
        }
        r->eof = true;
        return 0;
    }
    r->len += (size_t)got;
    r->buf[r->len] = 0;
    return got;
}

/* Drops the consumed bytes (streaming only: the whole-file buffer never moves). */
void ml_csv_shift(ml_csv_reader *r) {
    if (r->eof || r->pos == 0) return;
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
}

int64_t ml_csv_count_lines(const char *p, const char *e) {
    int64_t n = 0;
    while ((p = memchr(p, '\n', (size_t)(e - p)))) { n++; p++; }
    return n;
}

/* Line and column (1-based) of buf[off], off >= pos. */
void ml_csv_position(const ml_csv_reader *r, size_t off, int64_t *line, int64_t *col) {
    *line = r->line_at_pos + ml_csv_count_lines(r->buf + r->pos, r->buf + off);
    const char *ls = r->buf + off;
    while (ls > r->buf && ls[-1] != '\n') ls--;
    *col = (r->buf + off) - ls + 1;
}

/* Consumes up to buf[to]; the line count is kept only where more records
 * may follow (the whole-file parse never needs it again). */
void ml_csv_advance(ml_csv_reader *r, size_t to, bool count) {
    if (count) r->line_at_pos += ml_csv_count_lines(r->buf + r->pos, r->buf + to);
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
                    ml_csv_position(r, (size_t)(open - b), &line, &col);
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
        if (!a) return ml_csv_fail_alloc(), -1;
        r->rs = a;
        if (!(b2 = realloc(r->re, (size_t)cap * sizeof *b2))) return ml_csv_fail_alloc(), -1;
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
int ml_csv_scan_records(ml_csv_reader *r, int64_t maxrows, size_t *next) {
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
    while (i < hi) {
        const char *nl = memchr(b + i, '\n', hi - i);
        size_t end = nl ? (size_t)(nl - b) : hi, re = end;
        /* the quote test while the line is in L1: one pass over the file, not two */
        if (memchr(b + i, '"', end - i)) { pc->quote = true; return; }
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

int ml_csv_scan_parallel(ml_csv_reader *r, int nthreads, size_t *next) {
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
    if (rc < 0) ml_csv_fail_alloc();
    return rc;
}

/* ---- fields ----------------------------------------------------------- */

/* Splits [s, e) into fields (at most maxf stored); returns the count found. */
int ml_csv_split_record(const char *s, const char *e, char delim, field *f, int maxf) {
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
size_t ml_csv_unescape(const field *f, char *out) {
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
    if (!r->na || !r->na_len) return ml_csv_fail_alloc(), -1;
    for (int k = 0; k < nd + o->n_na; k++) {
        const char *s = k < nd ? DEFAULT_NA[k] : o->na_values[k - nd];
        if (!*s) continue; /* the empty cell is always missing */
        if (!(r->na[r->n_na] = strdup(s))) return ml_csv_fail_alloc(), -1;
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
    if (ml_csv_scan_records(r, 1, &next) < 0) return -1;
    if (r->nrec == 0) return ml_error(FN ": %s: the file is empty (no header and no rows)", r->path), -1;
    const char *s = r->buf + r->rs[0], *e = r->buf + r->re[0];
    /* a CR inside an unquoted first line: the file ends its lines with CR alone
     * (classic Mac), which would otherwise read as one long header of glued cells */
    const char *cr = memchr(s, '\r', (size_t)(e - s));
    if (cr && !memchr(s, '"', (size_t)(e - s)))
        return ml_error(FN ": %s:1:%d: a line break that is a lone CR (classic Mac line endings); "
                        "expected LF or CRLF line ends (convert the file, e.g. tr '\\r' '\\n')",
                        r->path, (int)(cr - s) + 1), -1;
    int n = ml_csv_split_record(s, e, r->delim, NULL, 0);
    field *f = malloc((size_t)n * sizeof *f);
    r->first = calloc((size_t)n, sizeof *r->first);
    if (!f || !r->first) return free(f), ml_csv_fail_alloc(), -1;
    ml_csv_split_record(s, e, r->delim, f, n);
    bool looks_like_data = false;
    for (int k = 0; k < n; k++) {
        char *t = malloc(f[k].len + 1);
        if (!t) return free(f), ml_csv_fail_alloc(), -1;
        size_t len = f[k].raw ? ml_csv_unescape(&f[k], t) : (memcpy(t, f[k].p, f[k].len), f[k].len);
        t[len] = 0;
        r->first[k] = t;
        if (len && ml_csv_classify(t, len) != ML_CSV_STRING) looks_like_data = true;
    }
    free(f);
    r->nfields = n;
    r->header = header < 0 ? !looks_like_data : header == 1;
    if (r->header) ml_csv_advance(r, next, true);
    else if (r->rs[0] > r->pos) ml_csv_advance(r, r->rs[0], true);
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
    if (!r) return close(fd), ml_csv_fail_alloc();
    r->streaming = o->streaming;
    r->path = strdup(path);
    if (!r->path) { close(fd); ml_csv_close(r); return ml_csv_fail_alloc(); }
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
        if (!r->gz) { close(fd); ml_csv_close(r); return ml_csv_fail_alloc(); }
        r->cap = o->streaming ? STREAM_BLOCK : (size_t)st.st_size * (gzipped ? 4 : 1) + STREAM_BLOCK;
        r->buf = malloc(r->cap + 1);
        if (!r->buf) { ml_csv_close(r); return ml_csv_fail_alloc(); }
        gzbuffer(r->gz, 1 << 18);
    }
    r->line_at_pos = 1;
    r->comment = o->comment;
    r->decimal = o->decimal == '.' ? 0 : o->decimal;
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
    if (!r->sel || !r->kinds || !r->names || !r->colmap) return ml_csv_fail_alloc(), -1;
    for (int j = 0; j < r->nfields; j++) r->colmap[j] = -1;
    for (int k = 0; k < nsel; k++) {
        if (sel[k] < 0 || sel[k] >= r->nfields) return ml_error(FN ": field %d is out of range 1..%d", sel[k] + 1, r->nfields), -1;
        r->sel[k] = sel[k];
        r->kinds[k] = kinds[k];
        r->colmap[sel[k]] = k;
        if (!(r->names[k] = strdup(names[k]))) return ml_csv_fail_alloc(), -1;
        r->nsel = k + 1;
    }
    return 0;
}
