/* The request hot path of the model server: a JSON body whose "inputs" (or
 * "instances") member holds rows of numbers, read straight into a float32
 * array. A fast scan reads the common body ({"inputs": [[numbers]], ...}) in
 * one pass with no tree: the rows strictly by JSON's number grammar, the
 * other members checked by runtime/io/json.c's strict reader. Anything else
 * (escaped keys, mixed rows, a malformed body) goes the slow way: the whole
 * text through json.c's reader, the rows copied from its tree, so errors
 * name the byte of the original text. The other members are cut out of the
 * text as they are (for the binding to decode), so nothing passes through
 * Lua values per number. Knows nothing of Lua. */
#ifndef ML_NET_JSON_ROWS_H
#define ML_NET_JSON_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../io/io.h"

typedef struct {
    ml_json *tree;  /* the whole document (free with ml_json_free); NULL when the fast scan read it */
    float *vals;    /* the rows read by the fast scan (free()), or NULL */
    int member;     /* index of the rows' member in the top object, or -1 */
    int members;    /* how many members the top object has (0 when it is no object) */
    int numeric;    /* the member holds numeric rows */
    int flat;       /* one flat array = one row */
    int64_t n, d;   /* rows, values per row */
} ml_json_rows;

/* Parses text and finds the first of keys present in its top-level object.
 * 0 on success; -1 with err "byte K: what" for malformed JSON; -2 with err
 * naming the row for ragged numeric rows. */
int ml_json_rows_parse(const char *text, size_t len, const char *const *keys, int nkeys, ml_json_rows *out,
                       char *err, size_t errlen);
/* Frees what parse made (tree or vals). */
void ml_json_rows_free(ml_json_rows *r);
/* Writes the n x d values as float32 into dst. */
void ml_json_rows_fill(const ml_json_rows *r, float *dst); /* dst: (n, d) */
/* Appends the top-level object's text without member number `skip`. */
void ml_json_rows_rest(const char *text, size_t len, int skip, ml_buf *out);

#endif
