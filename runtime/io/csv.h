/* CSV files in and out of typed columns (data.read_csv, df:write_csv).
 *
 * Reading is three steps, so the policy (usecols by name, dtypes by name,
 * header names) stays in Lua between them:
 *   r = ml_csv_open(path, name, &opts)   reads (or starts streaming) the file,
 *                                        skips a BOM and skiprows, sniffs the
 *                                        delimiter, reads the first record
 *   ml_csv_select(r, nsel, sel, kinds, names)   which fields, given kinds
 *   ml_csv_next(r, maxrows, &chunk)      parses up to maxrows records into
 *                                        columns (1 chunk, 0 at the end, -1 error)
 *
 * ml_csv_next finds record boundaries in one quote-aware serial pass
 * (memchr over lines without quotes), then parses the records in 8 ranges
 * per thread (ml_get_threads()), handed out as threads come free. Each range
 * writes its rows straight into the column buffers and interns strings into
 * its own pools, merged (ml_strpool_merge) after. Column kinds are inferred
 * per chunk from every cell unless given; a range that meets a cell outside
 * its column's kind upgrades in place (int64 -> float64, date -> datetime)
 * or leaves the column to a second, string pass.
 *
 * gzip files are read transparently (zlib looks at the magic bytes). Errors
 * start with "data.read_csv: " and name "file:line[:column]". Nothing here
 * knows about Lua. */
#ifndef ML_IO_CSV_H
#define ML_IO_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../data/strpool.h"
#include "../tensor/tensor.h"

typedef enum {
    ML_CSV_AUTO = 0, /* infer (select) / no cell seen yet */
    ML_CSV_INT64,
    ML_CSV_FLOAT64,
    ML_CSV_BOOL,
    ML_CSV_DATE,     /* int64 seconds since 1970-01-01 UTC, at midnight */
    ML_CSV_DATETIME, /* int64 seconds since 1970-01-01 UTC */
    ML_CSV_STRING,   /* int64 codes into a string pool, 0 = missing */
    ML_CSV_NKINDS
} ml_csv_kind;

const char *ml_csv_kind_name(ml_csv_kind k); /* "int64", "float64", ... ("auto" for 0) */

typedef enum { ML_CSV_BAD_ERROR = 0, ML_CSV_BAD_SKIP, ML_CSV_BAD_WARN } ml_csv_bad;

typedef struct {
    char delimiter;        /* 0: sniff among , ; tab | */
    char comment;          /* 0: none; lines starting with it are skipped */
    char decimal;          /* 0 or '.': the usual; ',' reads "3,25" as 3.25 (pandas' decimal) */
    int header;            /* 1: the first record is a header, 0: data, -1: auto */
    int64_t skiprows;      /* lines skipped at the start, before the header */
    const char *const *na_values; /* extra strings read as missing */
    int n_na;
    bool default_na;       /* also pandas' default list ("", NA, NaN, null, N/A, ...) */
    ml_csv_bad on_bad;     /* a record with the wrong number of fields */
    bool streaming;        /* read through a bounded buffer (chunks) instead of whole */
} ml_csv_options;

typedef struct ml_csv_reader ml_csv_reader;

ml_csv_reader *ml_csv_open(const char *path, const ml_csv_options *opts);
void ml_csv_close(ml_csv_reader *r); /* NULL-safe */

char ml_csv_delimiter(const ml_csv_reader *r);
bool ml_csv_has_header(const ml_csv_reader *r);
/* The first record's fields (unquoted): the header's names, or the first data row. */
int ml_csv_first_fields(const ml_csv_reader *r, const char *const **fields);

/* Fields to read: sel[k] is a 0-based field index (ascending), kinds[k]
 * ML_CSV_AUTO to infer, names[k] for messages. Copied. 0 ok, -1 error. */
int ml_csv_select(ml_csv_reader *r, int nsel, const int *sel, const ml_csv_kind *kinds, const char *const *names);

typedef struct {
    ml_csv_kind kind;
    ml_tensor *values; /* [n]: float64 (NaN = missing), int64, bool, or int64 codes */
    ml_tensor *valid;  /* bool [n], true where present; NULL when nothing is missing or kind is float64/string */
    ml_strpool *pool;  /* string columns */
    int64_t mixed;     /* string columns: non-missing cells outside the most common kind of cell */
    ml_csv_kind majority; /* that most common kind (ML_CSV_STRING when text) */
} ml_csv_column;

#define ML_CSV_MAX_BAD 20 /* messages kept for skipped lines (all are counted) */

typedef struct {
    int64_t nrows;
    int ncols;
    ml_csv_column *cols;
    int64_t skipped;       /* bad lines skipped */
    int nbad;
    char *bad[ML_CSV_MAX_BAD]; /* "file:line: expected 5 fields, found 4" */
} ml_csv_chunk;

/* Parses up to maxrows (< 0: all) records: 1 with *out set, 0 when no
 * record is left, -1 on error. */
int ml_csv_next(ml_csv_reader *r, int64_t maxrows, ml_csv_chunk **out);
void ml_csv_chunk_free(ml_csv_chunk *c); /* NULL-safe; releases what was not taken (set to NULL) */

/* ---- cells (csv_cell.c) ------------------------------------------------ */
/* Each parses exactly s[0..n) (surrounding blanks allowed for numbers,
 * dates and bools); false when the text is not of that kind. */
bool ml_csv_parse_int(const char *s, size_t n, int64_t *out);
bool ml_csv_parse_float(const char *s, size_t n, double *out); /* strtod's result, exactly */
bool ml_csv_parse_bool(const char *s, size_t n, bool *out);    /* true/false in any case */
bool ml_csv_parse_date(const char *s, size_t n, int64_t *out); /* YYYY-MM-DD */
/* YYYY-MM-DD[(T| )HH:MM[:SS[.fff]][Z|(+|-)hh[:mm]]]; the fraction is dropped.
 * *has_time false for a bare date. */
bool ml_csv_parse_datetime(const char *s, size_t n, int64_t *out, bool *has_time);
/* The narrowest kind that reads s: INT64, FLOAT64, BOOL, DATE, DATETIME or STRING. */
ml_csv_kind ml_csv_classify(const char *s, size_t n);
/* Shortest decimal text that reads back as v (%.15g..%.17g), ".0" added to
 * integral values so they read back as floats; "inf", "-inf", "nan".
 * buf has at least 32 bytes; returns the length. */
int ml_csv_format_double(char *buf, double v);
/* "YYYY-MM-DD" (date) or "YYYY-MM-DD HH:MM:SS" into buf (32 bytes); the length. */
int ml_csv_format_time(char *buf, int64_t seconds, bool with_time);

/* ---- writing (csv_write.c) --------------------------------------------- */
typedef struct {
    ml_csv_kind kind;
    const ml_tensor *values; /* contiguous [nrows] */
    const ml_tensor *valid;  /* NULL or bool [nrows] */
    const ml_strpool *pool;
} ml_csv_wcolumn;

typedef struct {
    char delimiter;
    bool header;
    const char *na_rep;
} ml_csv_write_options;

/* Writes atomically (a temporary file renamed over path). 0 ok, -1 with
 * "df:write_csv: ..." set. */
int ml_csv_write(const char *path, const ml_csv_write_options *o, int ncols, const char *const *names,
                 const ml_csv_wcolumn *cols, int64_t nrows);

#endif
