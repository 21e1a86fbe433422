/* The C kernels behind data frames' operations (lualib/moonlab/data/):
 * keys factorized to dense group ids, the stable multi-key sort, segmented
 * aggregations, the hash join, duplicated rows, describe's statistics and
 * string operations over a pool. Nothing here knows about Lua or about
 * frames: a column is a plain array (n) plus, for integers, a validity mask.
 *
 * Row indices and group ids are 0-based here; -1 means "no row" (a dropped
 * row, an unmatched side of a join). The binding (runtime/lua/frame.c)
 * converts to moonlab's 1-based numbering. Functions that can fail return
 * -1 (or NULL) with the message in ml_last_error(). */
#ifndef ML_DATA_FRAME_OPS_H
#define ML_DATA_FRAME_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strpool.h"

/* ---- keys ---------------------------------------------------------------- */
typedef enum { ML_KEY_F64, ML_KEY_I64, ML_KEY_U8 } ml_key_kind;

/* One key column. Missing: NaN (F64), valid[i] == 0, or a 0 code when
 * zero_missing (string codes). rank (codes only, may be NULL) orders the
 * codes: rank[code] is the code's position in the sorted pool. */
typedef struct {
    ml_key_kind kind;
    const void *values;     /* (n) double, int64_t or uint8_t */
    const uint8_t *valid;   /* (n) or NULL */
    bool zero_missing;
    const int64_t *rank;    /* (count + 1) or NULL */
    bool descending;        /* sorted factorization: this key's order */
    bool na_first;          /* sorted factorization: missing before the values */
} ml_frame_key;

enum {
    ML_FACT_SORT = 1,   /* group ids in the keys' sorted order (lexicographic over keys) */
    ML_FACT_DROPNA = 2, /* a row with a missing key gets id -1 (else missing is a key of its own) */
};

/* ids (n): each row's group id in 0..G-1 (or -1, see ML_FACT_DROPNA).
 * Unsorted ids follow first appearance, the missing key's group included.
 * Returns G, or -1 on failure. */
int64_t ml_frame_factorize(int64_t *ids, const ml_frame_key *keys, int nkeys, int64_t n, int flags);

/* order (n): the rows in the keys' order (each key's descending and
 * na_first), equal keys kept in row order (stable). 0 ok, -1 failure. */
int ml_frame_argsort(int64_t *order, const ml_frame_key *keys, int nkeys, int64_t n);

/* rank (count + 1): rank[0] = 0, rank[code] = 1 + the position of the
 * code's string in byte order (UTF-8 byte order is code point order). */
int ml_frame_pool_ranks(int64_t *rank, const ml_strpool *p);

/* ---- rows ----------------------------------------------------------------- */
typedef enum { ML_KEEP_FIRST, ML_KEEP_LAST, ML_KEEP_NONE } ml_keep;
/* dup (n): 1 for a row whose group (ids, all >= 0) was seen before
 * (first), is seen later (last), or occurs more than once (none). */
int ml_frame_duplicated(uint8_t *dup, const int64_t *ids, int64_t n, int64_t G, ml_keep keep);

/* counts (G): rows per group (ids -1 skipped). */
void ml_frame_group_counts(int64_t *counts, const int64_t *ids, int64_t n, int64_t G);

/* src (n): the row each row takes its value from when filling missing
 * values forward (the last present row at or before it) or backward (the
 * next one at or after it); the row itself when there is none, or when the
 * gap since the last present row exceeds limit (limit < 0: no limit). */
void ml_frame_fill_source(int64_t *src, const uint8_t *missing, int64_t n, bool backward, int64_t limit);

/* ---- joins ---------------------------------------------------------------- */
typedef enum { ML_JOIN_INNER, ML_JOIN_LEFT, ML_JOIN_RIGHT, ML_JOIN_OUTER } ml_join_how;
/* Pairs of rows (lidx[k], ridx[k]) with equal group ids (lid, rid: one
 * factorization of both sides' keys, ids 0..G-1), in pandas' order: left
 * and right follow that side's rows, each with the other side's matches in
 * row order; inner and outer go group by group (groups in id order, each
 * left row with every right row), outer adding each side's unmatched rows
 * in their group's place. An unmatched side is -1. With lidx == NULL only
 * counts. Returns the number of pairs, or -1 on failure. */
int64_t ml_frame_join(int64_t *lidx, int64_t *ridx, const int64_t *lid, int64_t nl, const int64_t *rid, int64_t nr,
                      int64_t G, ml_join_how how);

/* ---- segmented aggregations (frame_agg.c) ------------------------------- */
typedef enum {
    ML_AGG_SUM, ML_AGG_MEAN, ML_AGG_COUNT, ML_AGG_MIN, ML_AGG_MAX, ML_AGG_STD, ML_AGG_FIRST, ML_AGG_LAST, ML_AGG_NOPS
} ml_agg_op;
int ml_agg_from_name(const char *name, ml_agg_op *op); /* 0 ok, -1 unknown */

/* out (G) for float64 values (n, NaN missing and skipped), rows with id -1
 * skipped: sum (0 for an empty group), mean, min, max, first, last (NaN for
 * an empty group), count, std with ddof 1 (NaN below two values). */
void ml_frame_group_f64(double *out, ml_agg_op op, const int64_t *ids, const double *x, int64_t n, int64_t G);
/* The same over int64 values (valid may be NULL) for sum, count, min, max,
 * first, last: out_valid[g] = 0 for an empty group (min, max, first, last). */
void ml_frame_group_i64(int64_t *out, uint8_t *out_valid, ml_agg_op op, const int64_t *ids, const int64_t *x,
                        const uint8_t *valid, int64_t n, int64_t G);
/* Several float64 columns at once, one column per thread (ml.threads). */
void ml_frame_group_f64_many(double *const *outs, ml_agg_op op, const int64_t *ids, const double *const *xs, int ncols,
                             int64_t n, int64_t G);
/* out (G): distinct pair ids (0..P-1, -1 skipped) per group. */
int ml_frame_group_nunique(int64_t *out, const int64_t *ids, const int64_t *pair, int64_t n, int64_t G, int64_t P);

/* describe of float64 columns (NaN skipped), 5 + nq statistics per column
 * into out (ncols, 5 + nq): count, mean, std (ddof 1), min, the quantiles
 * q[0..nq) (at most 64, ascending, in [0, 1]; linear interpolation, as
 * numpy), max. Quantiles by radix selection, not a sort; columns run in
 * parallel.
 * 0 ok, -1 on failure. */
int ml_frame_describe_f64(double *out, const double *const *xs, int ncols, int64_t n, const double *q, int nq);

/* ---- strings over a pool (frame_str.c) ------------------------------------ */
/* A code map: out[i] = table[codes[i]] (codes 0..count, checked by the caller). */
void ml_frame_map_codes_i64(int64_t *out, const int64_t *table, const int64_t *codes, int64_t n);
void ml_frame_map_codes_u8(uint8_t *out, const uint8_t *table, const int64_t *codes, int64_t n);

typedef enum { ML_STR_LOWER, ML_STR_UPPER, ML_STR_STRIP, ML_STR_LSTRIP, ML_STR_RSTRIP, ML_STR_REPLACE } ml_str_map_op;
/* Each string of src through op (case: ASCII and the two-byte Latin, Greek and
 * Cyrillic letters; ASCII whitespace; REPLACE: every
 * plain occurrence of a by b) interned into dst: remap (count(src) + 1)
 * receives the new codes, remap[0] = 0. 0 ok, -1 failure. */
int ml_frame_str_map(ml_strpool *dst, int64_t *remap, const ml_strpool *src, ml_str_map_op op, const char *a, size_t alen,
                     const char *b, size_t blen);

typedef enum { ML_STR_CONTAINS, ML_STR_STARTSWITH, ML_STR_ENDSWITH } ml_str_test_op;
/* out (count + 1): whether each string contains / starts / ends with s; out[0] = 0. */
void ml_frame_str_test(uint8_t *out, const ml_strpool *p, ml_str_test_op op, const char *s, size_t len);
/* out (count + 1): each string's length in UTF-8 characters; out[0] = 0. */
void ml_frame_str_len(int64_t *out, const ml_strpool *p);
/* The number of pieces of the longest split of any string by sep (plain,
 * non-empty), with at most maxsplit splits (maxsplit < 0: no limit). */
int64_t ml_frame_str_split_width(const ml_strpool *p, const char *sep, size_t seplen, int64_t maxsplit);
/* Piece k (0-based) of each string: interned into dst, remap (count + 1)
 * receiving its code, 0 when the string has fewer pieces. 0 ok, -1 failure. */
int ml_frame_str_split_piece(ml_strpool *dst, int64_t *remap, const ml_strpool *src, const char *sep, size_t seplen,
                             int64_t maxsplit, int64_t k);

#endif
