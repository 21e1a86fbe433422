/* Tensors in and out of files: safetensors and NumPy's .npy, plus the small
 * JSON reader/writer the safetensors header (and, later, model files that
 * keep their architecture as JSON in __metadata__) is made of.
 *
 * Nothing here knows about Lua. Every function that can fail returns NULL
 * or -1 and leaves a message in ml_last_error() that starts with
 * "ml.load: " or "ml.save: " and names the file and the problem.
 *
 * Reading never trusts the file: lengths, offsets, shapes and dtypes are
 * checked against the file's size before anything is allocated, and each
 * tensor is one ml_empty() allocation that the data is read straight into.
 * Writing goes to a temporary file in the same folder that is renamed over
 * the target when complete, so a crash never leaves half a file. */
#ifndef ML_IO_H
#define ML_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/buf.h"  /* ml_buf */
#include "../core/utf8.h" /* ml_utf8_len */
#include "../tensor/tensor.h"

/* ---- safetensors ------------------------------------------------------ */
/* A loaded file: tensors in the header's order, and the string->string
 * __metadata__ map. All strings and tensor references are owned. */
typedef struct {
    int n;
    char **names;
    ml_tensor **tensors;
    int nmeta;
    char **mkeys;
    char **mvals;
} ml_tensor_file;

/* Writes n tensors (any strides; written contiguous, little-endian) under
 * names (unique, not "__metadata__"), and nmeta metadata string pairs.
 * Tensors are laid out by element size, then name, so every tensor's data
 * is aligned to its element size (as the safetensors library does). */
int ml_safetensors_write(const char *path, int n, const char *const *names, ml_tensor *const *ts, int nmeta,
                         const char *const *mkeys, const char *const *mvals);
/* Dtypes F32, F64, I64, BOOL load as themselves; F16 and BF16 as float32;
 * I32, I16, I8, U8, U16, U32 as int64. */
ml_tensor_file *ml_safetensors_read(const char *path);
void ml_tensor_file_free(ml_tensor_file *f); /* NULL-safe */

/* ---- npy -------------------------------------------------------------- */
/* Writes format 1.0 (2.0 when the header needs it), C order, '<f4', '<f8',
 * '<i8' or '|b1'. */
int ml_npy_write(const char *path, ml_tensor *t);
/* Reads versions 1.0, 2.0 and 3.0, C or Fortran order (returned C order),
 * either byte order; f2/f4/f8 (f2 as float32), i1/i2/i4/i8 and u1/u2/u4
 * (as int64), b1. */
ml_tensor *ml_npy_read(const char *path);

/* ---- JSON ------------------------------------------------------------- */
typedef enum { ML_JSON_NULL, ML_JSON_BOOL, ML_JSON_NUMBER, ML_JSON_STRING, ML_JSON_ARRAY, ML_JSON_OBJECT } ml_json_type;

typedef struct ml_json {
    ml_json_type type;
    bool boolean;
    double number;   /* every number */
    int64_t integer; /* exact value when is_int */
    bool is_int;     /* an integer literal (no '.', no exponent) that fits in int64 */
    char *string;    /* NUL-terminated UTF-8; "\u0000" is refused */
    size_t len;
    int n;                  /* array items or object members */
    struct ml_json *items;  /* n values */
    char **keys;            /* object keys (n), in the text's order */
} ml_json;

/* Parses exactly one JSON value (surrounding white space allowed). Refuses
 * duplicate object keys and nesting deeper than 128. On error returns NULL
 * and writes "byte K: what was expected" into err. */
ml_json *ml_json_parse(const char *text, size_t len, char *err, size_t errlen);
void ml_json_free(ml_json *v); /* NULL-safe */
/* Member of an object, or NULL. */
const ml_json *ml_json_get(const ml_json *obj, const char *key);

/* Appends s (len bytes) as a quoted, escaped JSON string. */
void ml_json_put_string(ml_buf *b, const char *s, size_t len);
/* A float as ml.json.encode writes a Lua float: the shortest of %.15g..%.17g
 * that reads back, ".0" added to an integral value; -1 (nothing written)
 * for NaN and the infinities. */
int ml_json_put_float(ml_buf *b, double v);
/* Appends a number: integers exactly, others with 17 significant digits;
 * NaN and infinities (not JSON) as null. */
void ml_json_put_number(ml_buf *b, double v);

/* ---- shared by the readers and writers (file.c) ------------------------ */
/* Element encodings found in files, and what each loads as. */
typedef enum {
    ML_RAW_F16, ML_RAW_BF16, ML_RAW_F32, ML_RAW_F64,
    ML_RAW_I8, ML_RAW_I16, ML_RAW_I32, ML_RAW_I64,
    ML_RAW_U8, ML_RAW_U16, ML_RAW_U32, ML_RAW_BOOL,
    ML_RAW_COUNT
} ml_raw_type;

size_t ml_raw_size(ml_raw_type r);
ml_dtype ml_raw_target(ml_raw_type r);

/* Opens path for reading; *size gets its length. NULL with
 * "fn: cannot open 'path': reason" on failure. */
FILE *ml_io_open_read(const char *fn, const char *path, int64_t *size);
/* Reads t->numel elements of type raw at byte pos of f into the fresh,
 * contiguous tensor t, converting to t's dtype, byte-swapping when swap. */
int ml_io_read_data(FILE *f, int64_t pos, ml_tensor *t, ml_raw_type raw, bool swap, const char *fn,
                    const char *path);

/* For messages that quote bytes from a file: text[0..len) with control
 * bytes and invalid UTF-8 escaped as \xNN (and a backslash doubled), cut to
 * ML_EXCERPT_CHARS characters and "..."; into buf (ML_EXCERPT_SIZE bytes
 * always suffice), which it returns. */
#define ML_EXCERPT_CHARS 40
#define ML_EXCERPT_SIZE (ML_EXCERPT_CHARS * 4 + 8)
const char *ml_excerpt(char *buf, size_t size, const char *text, size_t len);

/* Atomic write: begin opens a temporary file beside path; commit flushes,
 * syncs and renames it over path; abort removes it. Both end the writer. */
typedef struct {
    FILE *f;
    char *tmp;
    const char *path;
    const char *fn;
} ml_io_writer;

int ml_io_begin_write(ml_io_writer *w, const char *fn, const char *path);
int ml_io_write(ml_io_writer *w, const void *p, size_t n);
int ml_io_commit(ml_io_writer *w);
void ml_io_abort(ml_io_writer *w);

#endif
