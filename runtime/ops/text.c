/* Tokenizing and n-gram counting (see text.h). One pass per document:
 * lowercase into a scratch buffer, find the tokens, drop stop words, form
 * the n-grams and count them into (term, count) pairs with a per-thread
 * stamp table (one hash-table probe per n-gram). Then the per-thread term
 * tables are merged in document order, the terms chosen and sorted, and the
 * pairs written out as sorted CSR rows. */
#define _GNU_SOURCE /* qsort_r */
#include "text.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../core/parallel.h"
#include "text_unicode.h"

/* ---- code points --------------------------------------------------------- */
/* Decodes the UTF-8 sequence at s (n >= 1 bytes); *len gets its length. An
 * invalid byte decodes as itself (>= 0x80, never a word character here). */
static uint32_t decode(const unsigned char *s, size_t n, size_t *len) {
    uint32_t c = s[0];
    *len = 1;
    if (c < 0x80) return c;
    int k = c >= 0xF0 && c < 0xF5 ? 3 : c >= 0xE0 ? (c < 0xF0 ? 2 : 0) : c >= 0xC2 ? 1 : 0;
    if (!k || (size_t)k >= n) return 0xFFFFFFFFu;
    uint32_t cp = c & (0x3F >> k);
    for (int i = 1; i <= k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0xFFFFFFFFu;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0xFFFFFFFFu;
    *len = (size_t)k + 1;
    return cp;
}

static size_t encode(char *d, uint32_t c) {
    if (c < 0x80) { d[0] = (char)c; return 1; }
    if (c < 0x800) { d[0] = (char)(0xC0 | c >> 6); d[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) { d[0] = (char)(0xE0 | c >> 12); d[1] = (char)(0x80 | (c >> 6 & 0x3F)); d[2] = (char)(0x80 | (c & 0x3F)); return 3; }
    d[0] = (char)(0xF0 | c >> 18); d[1] = (char)(0x80 | (c >> 12 & 0x3F));
    d[2] = (char)(0x80 | (c >> 6 & 0x3F)); d[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

static bool is_word(uint32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    size_t lo = 0, hi = sizeof ml_word_ranges / sizeof ml_word_ranges[0];
    while (lo < hi) { /* the first range whose end is >= c */
        size_t mid = (lo + hi) / 2;
        if (ml_word_ranges[mid][1] < c) lo = mid + 1; else hi = mid;
    }
    return lo < sizeof ml_word_ranges / sizeof ml_word_ranges[0] && ml_word_ranges[lo][0] <= c;
}

/* Letters, roughly: word characters other than ASCII digits and the underscore
 * (Python's "cased", for the final sigma; numerics outside ASCII count too). */
static bool is_cased(uint32_t c) { return is_word(c) && !(c >= '0' && c <= '9') && c != '_'; }

static uint32_t lower_cp(uint32_t c) {
    if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
    size_t lo = 0, hi = sizeof ml_lower_pairs / sizeof ml_lower_pairs[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ml_lower_pairs[mid][0] < c) lo = mid + 1; else hi = mid;
    }
    return lo < sizeof ml_lower_pairs / sizeof ml_lower_pairs[0] && ml_lower_pairs[lo][0] == c ? ml_lower_pairs[lo][1] : c;
}

size_t ml_text_lower(char *dst, const char *src, size_t n) {
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;
    uint32_t prev = 0;
    while (i < n) {
        if (s[i] < 0x80) { /* ASCII run: the common case */
            unsigned char b = s[i++];
            dst[o++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
            prev = b;
            continue;
        }
        size_t len;
        uint32_t c = decode(s + i, n - i, &len);
        if (c == 0xFFFFFFFFu) { dst[o++] = (char)s[i++]; prev = 0; continue; }
        if (c == 0x130) { /* İ -> i + combining dot above, as Python */
            dst[o++] = 'i';
            o += encode(dst + o, 0x307);
        } else if (c == 0x3A3) { /* Σ: final sigma after a cased letter not followed by one (Python's rule, without
                                  * skipping case-ignorable marks between) */
            size_t nl = 0;
            uint32_t next = i + len < n ? decode(s + i + len, n - i - len, &nl) : 0;
            o += encode(dst + o, is_cased(prev) && !is_cased(next) ? 0x3C2 : 0x3C3);
        } else o += encode(dst + o, lower_cp(c));
        prev = c;
        i += len;
    }
    return o;
}

/* Token spans (offset, length) of the default pattern: maximal runs of at least two word code points. */
typedef struct { size_t off, len; } span;

typedef struct {
    span *v;
    int64_t n, cap;
} spans;

static int push_span(spans *t, size_t off, size_t len) {
    if (t->n == t->cap) {
        int64_t cap = t->cap ? t->cap * 2 : 256;
        span *v = realloc(t->v, (size_t)cap * sizeof(span));
        if (!v) return -1;
        t->v = v, t->cap = cap;
    }
    t->v[t->n++] = (span){off, len};
    return 0;
}

static int find_tokens(const char *text, size_t n, spans *t) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, start = 0;
    int64_t run = 0;
    t->n = 0;
    while (i < n) {
        size_t len = 1;
        uint32_t c = s[i] < 0x80 ? s[i] : decode(s + i, n - i, &len);
        if (is_word(c)) {
            if (!run) start = i;
            run++;
        } else {
            if (run >= 2 && push_span(t, start, i - start) < 0) return -1;
            run = 0;
        }
        i += len;
    }
    if (run >= 2 && push_span(t, start, n - start) < 0) return -1;
    return 0;
}

void ml_text_tokens(const char *s, size_t n, void (*emit)(void *ctx, const char *tok, size_t len), void *ctx) {
    spans t = {0};
    if (find_tokens(s, n, &t) == 0)
        for (int64_t i = 0; i < t.n; i++) emit(ctx, s + t.v[i].off, t.v[i].len);
    free(t.v);
}

static bool reserve(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return false;
    *p = q, *cap = n;
    return true;
}

/* ---- a block's term table ------------------------------------------------ */
/* Open addressing with the hash, length, id and arena offset inline in one
 * 16-byte slot, so a probe touches one cache line plus the bytes compared
 * (the string pool keeps them in three arrays: three misses per lookup on a
 * large vocabulary). Ids are dense, in first-seen order. */
typedef struct { uint32_t h, len, id1, off; } term_slot; /* id1 = id + 1, 0: empty */

typedef struct {
    term_slot *slot;
    int64_t cap, n;          /* slots (a power of two), terms */
    char *arena;             /* the terms' bytes */
    size_t arena_len, arena_cap;
    uint32_t *off, *len;     /* per id */
    int64_t ids_cap;
} termtab;

static uint32_t hash_key(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        s += 8, n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    return (uint32_t)(h ^ (h >> 29));
}

static int termtab_grow(termtab *t) {
    int64_t cap = t->cap ? t->cap * 2 : 4096;
    term_slot *ns = calloc((size_t)cap, sizeof(term_slot));
    if (!ns) return -1;
    for (int64_t i = 0; i < t->cap; i++)
        if (t->slot[i].id1) {
            int64_t k = t->slot[i].h & (cap - 1);
            while (ns[k].id1) k = (k + 1) & (cap - 1);
            ns[k] = t->slot[i];
        }
    free(t->slot);
    t->slot = ns, t->cap = cap;
    return 0;
}

/* The id of key, adding it when new; -1 when out of memory (or past 4 GiB of terms). */
static int64_t termtab_intern(termtab *t, const char *key, size_t len) {
    if (2 * (t->n + 1) > t->cap && termtab_grow(t) < 0) return -1;
    uint32_t h = hash_key(key, len);
    int64_t mask = t->cap - 1, k = h & mask;
    for (;; k = (k + 1) & mask) {
        term_slot *s = &t->slot[k];
        if (!s->id1) break;
        if (s->h == h && s->len == len && memcmp(t->arena + s->off, key, len) == 0) return s->id1 - 1;
    }
    if (t->arena_len + len > UINT32_MAX || len > UINT32_MAX) return -1;
    if (!reserve((void **)&t->arena, &t->arena_cap, t->arena_len + len + 1, 1)) return -1;
    if (t->n == t->ids_cap) {
        size_t c1 = (size_t)t->ids_cap, c2 = c1;
        if (!reserve((void **)&t->off, &c1, (size_t)t->n + 1, sizeof(uint32_t)) ||
            !reserve((void **)&t->len, &c2, (size_t)t->n + 1, sizeof(uint32_t))) return -1;
        t->ids_cap = (int64_t)(c1 < c2 ? c1 : c2);
    }
    memcpy(t->arena + t->arena_len, key, len);
    t->slot[k] = (term_slot){h, (uint32_t)len, (uint32_t)(t->n + 1), (uint32_t)t->arena_len};
    t->off[t->n] = (uint32_t)t->arena_len, t->len[t->n] = (uint32_t)len;
    t->arena_len += len;
    return t->n++;
}

static void termtab_free(termtab *t) {
    free(t->slot); free(t->arena); free(t->off); free(t->len);
    memset(t, 0, sizeof *t);
}

/* ---- counting one block of documents ----------------------------------- */
typedef struct {
    int64_t start, end;    /* documents [start, end) */
    termtab terms;         /* fit: this block's terms */
    int64_t *stamp, *slot; /* per term: last document that held it, its pair */
    int64_t terms_cap;
    int32_t *ids, *cnts;   /* the pairs, document after document */
    int64_t npairs, pairs_cap;
    int64_t *doc_end;      /* [end - start]: end of each document's pairs */
    char *low, *gram;
    size_t low_cap, gram_cap;
    spans toks;
    bool oom;
} block;

typedef struct {
    const ml_text_docs *docs;
    const ml_text_opts *o;
    const ml_strpool *vocab; /* transform: the fixed terms; NULL when fitting */
} job;


static int add_term(block *b, int64_t id, int64_t doc) {
    if (id >= b->terms_cap) {
        int64_t cap = b->terms_cap ? b->terms_cap : 1024;
        while (cap <= id) cap *= 2;
        int64_t *st = realloc(b->stamp, (size_t)cap * sizeof(int64_t)), *sl = st ? realloc(b->slot, (size_t)cap * sizeof(int64_t)) : NULL;
        if (st) b->stamp = st;
        if (!sl) return -1;
        b->slot = sl;
        for (int64_t i = b->terms_cap; i < cap; i++) b->stamp[i] = -1;
        b->terms_cap = cap;
    }
    if (b->stamp[id] == doc) { b->cnts[b->slot[id]]++; return 0; }
    if (b->npairs == b->pairs_cap) {
        int64_t cap = b->pairs_cap ? b->pairs_cap * 2 : 4096;
        int32_t *ids = realloc(b->ids, (size_t)cap * sizeof(int32_t)), *cnts = ids ? realloc(b->cnts, (size_t)cap * sizeof(int32_t)) : NULL;
        if (ids) b->ids = ids;
        if (!cnts) return -1;
        b->cnts = cnts, b->pairs_cap = cap;
    }
    b->stamp[id] = doc, b->slot[id] = b->npairs;
    b->ids[b->npairs] = (int32_t)id, b->cnts[b->npairs] = 1;
    b->npairs++;
    return 0;
}

/* The term id of key: fit interns it in the block's pool; transform looks it up (-1: not a term). */
static int64_t term_id(block *b, const job *j, const char *key, size_t len) {
    if (j->vocab) return ml_strpool_find(j->vocab, key, len) - 1;
    int64_t id = termtab_intern(&b->terms, key, len);
    return id < 0 ? -2 : id;
}

static int count_doc(block *b, const job *j, int64_t d) {
    const ml_text_opts *o = j->o;
    const char *text = j->docs->text[d];
    size_t n = j->docs->len[d];
    if (o->lowercase && !o->pretokenized) {
        if (!reserve((void **)&b->low, &b->low_cap, 2 * n + 8, 1)) return -1;
        n = ml_text_lower(b->low, text, n);
        text = b->low;
    }
    spans *t = &b->toks;
    if (o->pretokenized) { /* NUL-separated tokens */
        t->n = 0;
        size_t s = 0;
        for (size_t i = 0; i <= n; i++)
            if (i == n || text[i] == '\0') {
                if (i > s && push_span(t, s, i - s) < 0) return -1;
                s = i + 1;
            }
    } else if (find_tokens(text, n, t) < 0) return -1;
    if (o->stop_words) {
        int64_t k = 0;
        for (int64_t i = 0; i < t->n; i++)
            if (!ml_strpool_find(o->stop_words, text + t->v[i].off, t->v[i].len)) t->v[k++] = t->v[i];
        t->n = k;
    }
    for (int g = o->ngram_min; g <= o->ngram_max; g++)
        for (int64_t i = 0; i + g <= t->n; i++) {
            const char *key = text + t->v[i].off;
            size_t len = t->v[i].len;
            if (g > 1) { /* the tokens joined by single spaces */
                size_t need = 0;
                for (int k = 0; k < g; k++) need += t->v[i + k].len + 1;
                if (!reserve((void **)&b->gram, &b->gram_cap, need, 1)) return -1;
                len = 0;
                for (int k = 0; k < g; k++) {
                    if (k) b->gram[len++] = ' ';
                    memcpy(b->gram + len, text + t->v[i + k].off, t->v[i + k].len);
                    len += t->v[i + k].len;
                }
                key = b->gram;
            }
            int64_t id = term_id(b, j, key, len);
            if (id == -2 || (id >= 0 && add_term(b, id, d) < 0)) return -1;
        }
    b->doc_end[d - b->start] = b->npairs;
    return 0;
}

static void count_block(block *b, const job *j) {
    b->doc_end = malloc((size_t)(b->end - b->start + 1) * sizeof(int64_t));
    if (!b->doc_end) { b->oom = true; return; }
    /* room for the pairs up front (about one per 6 bytes of text), so they are not copied as they grow */
    size_t bytes = 0;
    for (int64_t d = b->start; d < b->end; d++) bytes += j->docs->len[d];
    b->pairs_cap = (int64_t)(bytes / 6) + 1024;
    b->ids = malloc((size_t)b->pairs_cap * sizeof(int32_t));
    b->cnts = malloc((size_t)b->pairs_cap * sizeof(int32_t));
    if (!b->ids || !b->cnts) { b->oom = true; return; }
    for (int64_t d = b->start; d < b->end; d++)
        if (count_doc(b, j, d) < 0) { b->oom = true; return; }
    free(b->stamp); free(b->slot); free(b->low); free(b->gram); free(b->toks.v);
    b->stamp = b->slot = NULL, b->low = b->gram = NULL, b->toks.v = NULL;
}

static void free_blocks(block *bl, int nb) {
    for (int k = 0; k < nb; k++) {
        block *b = &bl[k];
        termtab_free(&b->terms);
        free(b->stamp); free(b->slot); free(b->ids); free(b->cnts); free(b->doc_end);
        free(b->low); free(b->gram); free(b->toks.v);
    }
    free(bl);
}

/* Counts every document, nb blocks in parallel. NULL with the error set. */
static block *count_all(const char *fn, const job *j, int *nb_out) {
    int64_t n = j->docs->n;
    int nb = ml_get_threads();
    if (nb > n / 64) nb = (int)(n / 64);
    if (nb < 1) nb = 1;
    block *bl = calloc((size_t)nb, sizeof(block));
    if (!bl) return ml_error("%s: out of memory", fn);
    for (int k = 0; k < nb; k++) bl[k].start = n * k / nb, bl[k].end = n * (k + 1) / nb;
#pragma omp parallel for num_threads(nb) schedule(static, 1) if (nb > 1)
    for (int k = 0; k < nb; k++) count_block(&bl[k], j);
    for (int k = 0; k < nb; k++)
        if (bl[k].oom) { free_blocks(bl, nb); return ml_error("%s: out of memory while counting terms", fn); }
    *nb_out = nb;
    return bl;
}

/* ---- CSR rows ------------------------------------------------------------ */
/* Sorts packed (column << 32 | count) keys: insertion sort for short rows, quicksort above. */
static void sort_keys(uint64_t *a, int64_t n) {
    while (n > 24) {
        uint64_t p = a[n / 2], t;
        int64_t i = 0, k = n - 1;
        while (i <= k) {
            while (a[i] < p) i++;
            while (a[k] > p) k--;
            if (i <= k) { t = a[i]; a[i] = a[k]; a[k] = t; i++; k--; }
        }
        if (k + 1 < n - i) { sort_keys(a, k + 1); a += i; n -= i; }
        else { sort_keys(a + i, n - i); n = k + 1; }
    }
    for (int64_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        int64_t k = i - 1;
        while (k >= 0 && a[k] > v) { a[k + 1] = a[k]; k--; }
        a[k + 1] = v;
    }
}

/* Writes the pairs as CSR rows; col[id] maps a term id to its column (-1:
 * dropped), NULL for the identity. */
static int write_csr(const char *fn, block *bl, int nb, int64_t n, const int64_t *col, bool binary, ml_dtype dt, ml_text_counts *out) {
    int64_t np = n + 1;
    if (!(out->indptr = ml_empty(1, &np, ML_INT64))) return -1;
    int64_t *ip = ml_data(out->indptr);
    ip[0] = 0;
    for (int k = 0; k < nb; k++) {
        block *b = &bl[k];
        int64_t p = 0;
        for (int64_t d = b->start; d < b->end; d++) {
            int64_t e = b->doc_end[d - b->start], kept = 0;
            if (col) { for (; p < e; p++) kept += col[b->ids[p]] >= 0; }
            else kept = e - p, p = e;
            ip[d + 1] = ip[d] + kept;
        }
    }
    int64_t nnz = ip[n];
    out->indices = ml_empty(1, &nnz, ML_INT64);
    out->values = out->indices ? ml_empty(1, &nnz, dt) : NULL;
    if (!out->values) return -1;
    uint64_t *keys = ml_data(out->indices); /* packed in place, then unpacked */
#pragma omp parallel for num_threads(nb) schedule(static, 1) if (nb > 1)
    for (int k = 0; k < nb; k++) {
        block *b = &bl[k];
        int64_t p = 0;
        for (int64_t d = b->start; d < b->end; d++) {
            int64_t e = b->doc_end[d - b->start], w = ip[d];
            for (; p < e; p++) {
                int64_t c = col ? col[b->ids[p]] : b->ids[p];
                if (c >= 0) keys[w++] = (uint64_t)c << 32 | (uint32_t)b->cnts[p];
            }
            sort_keys(keys + ip[d], w - ip[d]);
            for (int64_t q = ip[d]; q < w; q++) {
                double v = binary ? 1 : (double)(keys[q] & 0xFFFFFFFFu);
                if (dt == ML_FLOAT32) ((float *)ml_data(out->values))[q] = (float)v;
                else ((double *)ml_data(out->values))[q] = v;
                ((int64_t *)keys)[q] = (int64_t)(keys[q] >> 32);
            }
        }
    }
    (void)fn;
    return 0;
}

static void release_counts(ml_text_counts *out) {
    ml_release(out->indptr); ml_release(out->indices); ml_release(out->values); ml_release(out->df);
    memset(out, 0, sizeof *out);
}

int ml_text_transform(const char *fn, const ml_text_docs *docs, const ml_text_opts *o, const ml_strpool *vocab, bool binary,
                      ml_dtype dt, ml_text_counts *out) {
    memset(out, 0, sizeof *out);
    job j = {docs, o, vocab};
    int nb;
    block *bl = count_all(fn, &j, &nb);
    if (!bl) return -1;
    int rc = write_csr(fn, bl, nb, docs->n, NULL, binary, dt, out);
    free_blocks(bl, nb);
    if (rc < 0) release_counts(out);
    return rc;
}

/* ---- choosing the terms -------------------------------------------------- */
typedef struct { const ml_strpool *pool; const int64_t *tf, *rank; } order_ctx;

static int by_text(const void *a, const void *b, void *ctx) {
    const ml_strpool *p = ((const order_ctx *)ctx)->pool;
    size_t la, lb;
    const char *sa = ml_strpool_get(p, *(const int64_t *)a + 1, &la), *sb = ml_strpool_get(p, *(const int64_t *)b + 1, &lb);
    int c = memcmp(sa, sb, la < lb ? la : lb); /* UTF-8 byte order is code point order, as Python sorts */
    return c ? c : (la > lb) - (la < lb);
}

static int by_frequency(const void *a, const void *b, void *ctx) {
    const order_ctx *o = ctx;
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (o->tf[x] != o->tf[y]) return o->tf[x] > o->tf[y] ? -1 : 1;
    return (o->rank[x] > o->rank[y]) - (o->rank[x] < o->rank[y]);
}

int ml_text_fit(const char *fn, const ml_text_docs *docs, const ml_text_opts *o, const ml_text_select *sel, ml_dtype dt,
                ml_strpool **vocab_out, ml_text_counts *out) {
    memset(out, 0, sizeof *out);
    *vocab_out = NULL;
    job j = {docs, o, NULL};
    int nb;
    block *bl = count_all(fn, &j, &nb);
    if (!bl) return -1;
    int rc = -1;
    int64_t *remap = NULL, *df = NULL, *tf = NULL, *keep = NULL, *rank = NULL, *col = NULL;
    ml_strpool *all = ml_strpool_new(), *vocab = NULL;
    if (!all) goto done;
    for (int k = 0; k < nb; k++) { /* merge in document order; local ids become global */
        block *b = &bl[k];
        termtab *t = &b->terms;
        free(remap);
        if (!(remap = malloc((size_t)(t->n ? t->n : 1) * sizeof(int64_t)))) { ml_error("%s: out of memory while merging vocabularies", fn); goto done; }
        for (int64_t i = 0; i < t->n; i++)
            if ((remap[i] = ml_strpool_intern(all, t->arena + t->off[i], t->len[i]) - 1) < 0) {
                ml_error("%s: out of memory while merging vocabularies", fn);
                goto done;
            }
        for (int64_t p = 0; p < b->npairs; p++) b->ids[p] = (int32_t)remap[b->ids[p]];
        termtab_free(t);
    }
    int64_t T = ml_strpool_count(all);
    if (T == 0) { ml_error("%s: empty vocabulary; perhaps the documents only contain stop words", fn); goto done; }
    df = calloc((size_t)T, sizeof(int64_t)), tf = calloc((size_t)T, sizeof(int64_t));
    keep = malloc((size_t)T * sizeof(int64_t)), rank = malloc((size_t)T * sizeof(int64_t)), col = malloc((size_t)T * sizeof(int64_t));
    if (!df || !tf || !keep || !rank || !col) { ml_error("%s: out of memory", fn); goto done; }
    for (int k = 0; k < nb; k++) {
        block *b = &bl[k];
        int64_t p = 0;
        for (int64_t d = b->start; d < b->end; d++) {
            int64_t w = docs->weight ? docs->weight[d] : 1;
            for (; p < b->doc_end[d - b->start]; p++) {
                df[b->ids[p]] += w;
                tf[b->ids[p]] += (sel->binary ? 1 : b->cnts[p]) * w;
            }
        }
    }
    int64_t nk = 0;
    for (int64_t t = 0; t < T; t++)
        if (df[t] >= sel->min_df && df[t] <= sel->max_df) keep[nk++] = t;
    if (nk == 0) { ml_error("%s: after pruning, no terms remain; try a lower min_df or a higher max_df", fn); goto done; }
    order_ctx oc = {all, tf, rank};
    qsort_r(keep, (size_t)nk, sizeof(int64_t), by_text, &oc);
    if (sel->max_features > 0 && nk > sel->max_features) { /* the most frequent, ties alphabetically, then back in order */
        for (int64_t i = 0; i < nk; i++) rank[keep[i]] = i;
        qsort_r(keep, (size_t)nk, sizeof(int64_t), by_frequency, &oc);
        nk = sel->max_features;
        qsort_r(keep, (size_t)nk, sizeof(int64_t), by_text, &oc);
    }
    for (int64_t t = 0; t < T; t++) col[t] = -1;
    if (!(vocab = ml_strpool_new())) goto done;
    if (!(out->df = ml_empty(1, &nk, ML_INT64))) goto done;
    for (int64_t i = 0; i < nk; i++) {
        size_t len;
        const char *s = ml_strpool_get(all, keep[i] + 1, &len);
        if (ml_strpool_intern(vocab, s, len) < 0) goto done;
        col[keep[i]] = i;
        ((int64_t *)ml_data(out->df))[i] = df[keep[i]];
    }
    if (write_csr(fn, bl, nb, docs->n, col, sel->binary, dt, out) < 0) goto done;
    *vocab_out = vocab;
    vocab = NULL;
    rc = 0;
done:
    if (rc < 0) release_counts(out);
    ml_strpool_release(vocab);
    ml_strpool_release(all);
    free(remap); free(df); free(tf); free(keep); free(rank); free(col);
    free_blocks(bl, nb);
    return rc;
}
