/* The CSV reader's insides, shared by csv.c (the buffer, records, fields,
 * opening) and csv_parse.c (a chunk of records into typed columns). Not a
 * public header: see csv.h. */
#ifndef ML_IO_CSV_READER_H
#define ML_IO_CSV_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "csv.h"

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
    char delim, comment, decimal;
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

void *ml_csv_fail_alloc(void); /* "data.read_csv: out of memory"; NULL */
/* Drops the consumed bytes (streaming only: the whole-file buffer never moves). */
void ml_csv_shift(ml_csv_reader *r);
int64_t ml_csv_count_lines(const char *p, const char *e);
/* Line and column (1-based) of buf[off], off >= pos. */
void ml_csv_position(const ml_csv_reader *r, size_t off, int64_t *line, int64_t *col);
/* Consumes up to buf[to], counting lines when count. */
void ml_csv_advance(ml_csv_reader *r, size_t to, bool count);
/* Up to maxrows records from pos into r->rs/re (serial, quote-aware). 0 ok, -1 error. */
int ml_csv_scan_records(ml_csv_reader *r, int64_t maxrows, size_t *next);
/* The same for a whole file without quotes, in pieces: 1 when it does not apply. */
int ml_csv_scan_parallel(ml_csv_reader *r, int nthreads, size_t *next);
/* Splits [s, e) into fields (at most maxf stored); returns the count found. */
int ml_csv_split_record(const char *s, const char *e, char delim, field *f, int maxf);
/* The text of a raw quoted field into out (at least f->len bytes); its length. */
size_t ml_csv_unescape(const field *f, char *out);

/* Whether a cell is missing: empty, or one of the NA strings (bucketed by first byte). */
static inline bool ml_csv_is_na(const ml_csv_reader *r, const char *s, size_t n) {
    if (n == 0) return true;
    unsigned c = (unsigned char)s[0];
    if (!r->na_count[c] || n > r->na_maxlen) return false;
    for (int k = r->na_start[c], e = k + r->na_count[c]; k < e; k++)
        if (r->na_len[k] == n && memcmp(r->na[k], s, n) == 0) return true;
    return false;
}

#endif
