/* Text features: tokenizing UTF-8 documents and counting their n-grams
 * into a vocabulary and CSR rows (prep.CountVectorizer / TfidfVectorizer,
 * lualib/moonlab/prep/text.lua), in parallel over documents.
 *
 * The default tokenizer is scikit-learn's: Python's str.lower(), then the
 * token pattern (?u)\b\w\w+\b, i.e. every maximal run of two or more word
 * code points (Python's \w: letters, digits, other numerics, underscore;
 * runtime/ops/text_unicode.h). Stop words are dropped before n-grams are
 * formed, and an n-gram is its tokens joined by one space, as there.
 *
 * Each thread counts its block of documents into its own string pool
 * (runtime/data/strpool.h); the pools are merged in document order, so the
 * result does not depend on the thread count. */
#ifndef ML_OPS_TEXT_H
#define ML_OPS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../data/strpool.h"
#include "../tensor/tensor.h"

typedef struct {
    int64_t n;
    const char *const *text; /* document i: text[i][0 .. len[i]) */
    const size_t *len;
    const int64_t *weight;   /* rows holding document i (a frame column's distinct strings), or NULL for 1 each */
} ml_text_docs;

typedef struct {
    bool lowercase;
    bool pretokenized;            /* documents are tokens separated by NUL bytes (a custom pattern split them) */
    int ngram_min, ngram_max;     /* 1 <= min <= max */
    const ml_strpool *stop_words; /* NULL: none */
} ml_text_opts;

/* Which terms fit keeps (scikit-learn's _limit_features): document
 * frequency in [min_df, max_df] (counts; fractions already multiplied by
 * the number of rows), then the max_features most frequent over the corpus
 * (ties: alphabetical order), <= 0 for all. Columns are in code point order. */
typedef struct {
    double min_df, max_df;
    int64_t max_features;
    bool binary; /* counts become 1 (before max_features ranks the terms) */
} ml_text_select;

/* The CSR result: indptr int64 [n+1], indices int64 [nnz] (0-based
 * columns, increasing within a row), values [nnz] of the dtype asked; df
 * int64 [terms]: the weighted number of documents holding each term. */
typedef struct {
    ml_tensor *indptr, *indices, *values, *df;
} ml_text_counts;

/* Learns the vocabulary (*vocab: a new pool, code = column + 1) and counts.
 * Returns 0, or -1 with ml_error set (names fn; an empty vocabulary is an error). */
int ml_text_fit(const char *fn, const ml_text_docs *docs, const ml_text_opts *o, const ml_text_select *sel, ml_dtype dt,
                ml_strpool **vocab, ml_text_counts *out);
/* Counts with a fixed vocabulary (code = column + 1); other terms are dropped. */
int ml_text_transform(const char *fn, const ml_text_docs *docs, const ml_text_opts *o, const ml_strpool *vocab, bool binary,
                      ml_dtype dt, ml_text_counts *out);

/* Python's str.lower() of UTF-8 src[0..n) into dst (room for 2 * n bytes); returns the bytes written. */
size_t ml_text_lower(char *dst, const char *src, size_t n);
/* Calls emit(ctx, token, len) for each token of the default pattern in s[0..n) (not lowered). */
void ml_text_tokens(const char *s, size_t n, void (*emit)(void *ctx, const char *tok, size_t len), void *ctx);

#endif
