/* safetensors: an 8-byte little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3],
 *    "data_offsets": [begin, end]}, ...}
 * padded with spaces to a multiple of 8, then the raw little-endian data;
 * offsets count from the end of the header. The format of Hugging Face's
 * safetensors library, readable by PyTorch, NumPy, JAX and Candle. */
#include <stdlib.h>
#include <string.h>

#include "io.h"

#define FN_LOAD "ml.load"
#define FN_SAVE "ml.save"
#define MAX_HEADER ((uint64_t)100 << 20) /* the safetensors library's limit */

static const struct {
    const char *name;
    ml_raw_type raw;
} st_dtypes[] = {
    {"F32", ML_RAW_F32}, {"F64", ML_RAW_F64}, {"I64", ML_RAW_I64}, {"BOOL", ML_RAW_BOOL},
    {"F16", ML_RAW_F16}, {"BF16", ML_RAW_BF16}, {"I32", ML_RAW_I32}, {"I16", ML_RAW_I16},
    {"I8", ML_RAW_I8}, {"U8", ML_RAW_U8}, {"U16", ML_RAW_U16}, {"U32", ML_RAW_U32},
};

static const char *st_name_of(ml_dtype dt) {
    switch (dt) {
    case ML_FLOAT32: return "F32";
    case ML_FLOAT64: return "F64";
    case ML_INT64: return "I64";
    case ML_BOOL: return "BOOL";
    default: return NULL;
    }
}

static const bool host_big_endian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;

void ml_tensor_file_free(ml_tensor_file *tf) {
    if (!tf) return;
    for (int i = 0; i < tf->n; i++) {
        if (tf->names) free(tf->names[i]);
        if (tf->tensors) ml_release(tf->tensors[i]);
    }
    for (int i = 0; i < tf->nmeta; i++) {
        if (tf->mkeys) free(tf->mkeys[i]);
        if (tf->mvals) free(tf->mvals[i]);
    }
    free(tf->names);
    free(tf->tensors);
    free(tf->mkeys);
    free(tf->mvals);
    free(tf);
}

/* ---- reading ---------------------------------------------------------- */
typedef struct {
    const char *name;
    ml_raw_type raw;
    int ndim;
    int64_t shape[ML_MAX_DIMS];
    int64_t begin, end;
} entry;

static int64_t json_nonneg_int(const ml_json *v) {
    if (!v || v->type != ML_JSON_NUMBER || !v->is_int || v->integer < 0) return -1;
    return v->integer;
}

/* Checks one tensor's header entry against the data section's length. */
static int check_entry(const char *path, const char *name, const ml_json *v, int64_t datalen, entry *e) {
    memset(e, 0, sizeof *e);
    e->name = name;
    char nm[ML_EXCERPT_SIZE]; /* the name as messages show it: it comes from the file */
    ml_excerpt(nm, sizeof nm, name, strlen(name));
    if (v->type != ML_JSON_OBJECT) {
        ml_error(FN_LOAD ": '%s': tensor '%s': header entry is not an object", path, nm);
        return -1;
    }
    const ml_json *dt = ml_json_get(v, "dtype"), *shape = ml_json_get(v, "shape"), *off = ml_json_get(v, "data_offsets");
    if (!dt || dt->type != ML_JSON_STRING) {
        ml_error(FN_LOAD ": '%s': tensor '%s': missing or non-string \"dtype\"", path, nm);
        return -1;
    }
    size_t k, nd = sizeof st_dtypes / sizeof st_dtypes[0];
    for (k = 0; k < nd; k++)
        if (!strcmp(dt->string, st_dtypes[k].name)) break;
    if (k == nd) {
        char db[ML_EXCERPT_SIZE];
        ml_error(FN_LOAD ": '%s': tensor '%s': unsupported dtype '%s' (supported: F32, F64, I64, BOOL, F16, BF16, "
                 "I32, I16, I8, U8, U16, U32)", path, nm, ml_excerpt(db, sizeof db, dt->string, dt->len));
        return -1;
    }
    e->raw = st_dtypes[k].raw;
    if (!shape || shape->type != ML_JSON_ARRAY) {
        ml_error(FN_LOAD ": '%s': tensor '%s': missing or non-array \"shape\"", path, nm);
        return -1;
    }
    if (shape->n > ML_MAX_DIMS) {
        ml_error(FN_LOAD ": '%s': tensor '%s': %d dimensions, at most %d are supported", path, nm, shape->n, ML_MAX_DIMS);
        return -1;
    }
    e->ndim = shape->n;
    int64_t es = (int64_t)ml_raw_size(e->raw), nbytes = es;
    for (int i = 0; i < shape->n; i++) {
        int64_t s = json_nonneg_int(&shape->items[i]);
        if (s < 0) {
            ml_error(FN_LOAD ": '%s': tensor '%s': shape entry %d is not a non-negative integer", path, nm, i + 1);
            return -1;
        }
        e->shape[i] = s;
    }
    for (int i = 0; i < shape->n; i++) { /* sizes multiply within the data section, or the check below fails */
        if (e->shape[i] == 0) { nbytes = 0; break; }
        nbytes = nbytes > INT64_MAX / e->shape[i] ? INT64_MAX : nbytes * e->shape[i];
    }
    if (!off || off->type != ML_JSON_ARRAY || off->n != 2 || json_nonneg_int(&off->items[0]) < 0 ||
        json_nonneg_int(&off->items[1]) < 0) {
        ml_error(FN_LOAD ": '%s': tensor '%s': \"data_offsets\" must be [begin, end], two non-negative integers", path,
                 nm);
        return -1;
    }
    e->begin = off->items[0].integer;
    e->end = off->items[1].integer;
    char sb[160];
    if (e->end < e->begin) {
        ml_error(FN_LOAD ": '%s': tensor '%s': data_offsets [%lld, %lld] end before they begin", path, nm,
                 (long long)e->begin, (long long)e->end);
        return -1;
    }
    if (e->end - e->begin != nbytes) {
        ml_error(FN_LOAD ": '%s': tensor '%s': data_offsets [%lld, %lld] hold %lld bytes, but shape %s of %s needs %s%lld",
                 path, nm, (long long)e->begin, (long long)e->end, (long long)(e->end - e->begin),
                 ml_shape_str(sb, sizeof sb, e->ndim, e->shape), st_dtypes[k].name,
                 nbytes == INT64_MAX ? "more than " : "", (long long)nbytes);
        return -1;
    }
    if (e->end > datalen) {
        ml_error(FN_LOAD ": '%s': tensor '%s': data_offsets [%lld, %lld] run past the end of the data (%lld bytes); "
                 "is the file truncated?", path, nm, (long long)e->begin, (long long)e->end, (long long)datalen);
        return -1;
    }
    return 0;
}

static int by_begin(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static int read_metadata(const char *path, const ml_json *m, ml_tensor_file *tf) {
    if (m->type == ML_JSON_NULL) return 0;
    if (m->type != ML_JSON_OBJECT) {
        ml_error(FN_LOAD ": '%s': \"__metadata__\" must be an object of strings", path);
        return -1;
    }
    tf->mkeys = calloc(m->n ? m->n : 1, sizeof(char *));
    tf->mvals = calloc(m->n ? m->n : 1, sizeof(char *));
    if (!tf->mkeys || !tf->mvals) { ml_error(FN_LOAD ": '%s': out of memory", path); return -1; }
    for (int i = 0; i < m->n; i++) {
        if (m->items[i].type != ML_JSON_STRING) {
            char kb[ML_EXCERPT_SIZE];
            ml_error(FN_LOAD ": '%s': \"__metadata__\" value for '%s' is not a string", path,
                     ml_excerpt(kb, sizeof kb, m->keys[i], strlen(m->keys[i])));
            return -1;
        }
        tf->mkeys[i] = strdup(m->keys[i]);
        tf->mvals[i] = strdup(m->items[i].string);
        tf->nmeta = i + 1;
        if (!tf->mkeys[i] || !tf->mvals[i]) { ml_error(FN_LOAD ": '%s': out of memory", path); return -1; }
    }
    return 0;
}

ml_tensor_file *ml_safetensors_read(const char *path) {
    int64_t size;
    FILE *f = ml_io_open_read(FN_LOAD, path, &size);
    if (!f) return NULL;
    char *text = NULL;
    ml_json *root = NULL;
    entry *entries = NULL, **order = NULL;
    ml_tensor_file *tf = NULL;
    unsigned char lenbuf[8];
    if (size < 8 || fread(lenbuf, 1, 8, f) != 8) {
        ml_error(FN_LOAD ": '%s': file too short (%lld bytes) to be a safetensors file", path, (long long)size);
        goto fail;
    }
    if (!memcmp(lenbuf, "\x93NUMPY", 6)) {
        ml_error(FN_LOAD ": '%s' is a NumPy .npy file, not safetensors; give it a .npy name or use ml.load_npy", path);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | lenbuf[i];
    if (hlen > (uint64_t)(size - 8)) {
        ml_error(FN_LOAD ": '%s': header length %llu runs past the end of the file (%lld bytes); truncated or not a "
                 "safetensors file", path, (unsigned long long)hlen, (long long)size);
        goto fail;
    }
    if (hlen > MAX_HEADER) {
        ml_error(FN_LOAD ": '%s': header length %llu is over the 100 MB limit", path, (unsigned long long)hlen);
        goto fail;
    }
    text = malloc(hlen ? hlen : 1);
    if (!text) { ml_error(FN_LOAD ": '%s': out of memory", path); goto fail; }
    if (fread(text, 1, hlen, f) != hlen) {
        ml_error(FN_LOAD ": '%s': file ended inside the header", path);
        goto fail;
    }
    if (hlen < 2 || text[0] != '{') {
        ml_error(FN_LOAD ": '%s': not a safetensors file (the header does not start with '{')", path);
        goto fail;
    }
    char jerr[200];
    root = ml_json_parse(text, hlen, jerr, sizeof jerr);
    if (!root) {
        ml_error(FN_LOAD ": '%s': bad JSON in the header: %s", path, jerr);
        goto fail;
    }
    if (root->type != ML_JSON_OBJECT) {
        ml_error(FN_LOAD ": '%s': the header is not a JSON object", path);
        goto fail;
    }
    int64_t datalen = size - 8 - (int64_t)hlen;
    tf = calloc(1, sizeof *tf);
    entries = calloc(root->n ? root->n : 1, sizeof *entries);
    order = calloc(root->n ? root->n : 1, sizeof *order);
    if (!tf || !entries || !order) { ml_error(FN_LOAD ": '%s': out of memory", path); goto fail; }
    int n = 0;
    for (int i = 0; i < root->n; i++) {
        if (!strcmp(root->keys[i], "__metadata__")) {
            if (read_metadata(path, &root->items[i], tf) < 0) goto fail;
            continue;
        }
        if (check_entry(path, root->keys[i], &root->items[i], datalen, &entries[n]) < 0) goto fail;
        order[n] = &entries[n];
        n++;
    }
    /* As the safetensors library requires: the tensors tile the data
     * section exactly, without overlaps, gaps or bytes left over. This is
     * what catches a header length off by a few bytes. */
    qsort(order, n, sizeof *order, by_begin);
    int64_t pos = 0;
    for (int i = 0; i < n; i++) {
        const entry *b = order[i];
        if (b->begin < pos) {
            const entry *a = order[i - 1];
            char an[ML_EXCERPT_SIZE], bn[ML_EXCERPT_SIZE];
            ml_error(FN_LOAD ": '%s': tensors '%s' [%lld, %lld] and '%s' [%lld, %lld] overlap", path,
                     ml_excerpt(an, sizeof an, a->name, strlen(a->name)), (long long)a->begin, (long long)a->end,
                     ml_excerpt(bn, sizeof bn, b->name, strlen(b->name)), (long long)b->begin, (long long)b->end);
            goto fail;
        }
        if (b->begin > pos) {
            char bn[ML_EXCERPT_SIZE];
            ml_error(FN_LOAD ": '%s': tensor '%s' starts at data byte %lld, but the bytes before it end at %lld "
                     "(the data must be contiguous)", path, ml_excerpt(bn, sizeof bn, b->name, strlen(b->name)),
                     (long long)b->begin, (long long)pos);
            goto fail;
        }
        pos = b->end;
    }
    if (pos != datalen) {
        ml_error(FN_LOAD ": '%s': the file has %lld bytes of data after the header, its tensors take %lld; corrupt "
                 "header or data", path, (long long)datalen, (long long)pos);
        goto fail;
    }
    tf->names = calloc(n ? n : 1, sizeof(char *));
    tf->tensors = calloc(n ? n : 1, sizeof(ml_tensor *));
    if (!tf->names || !tf->tensors) { ml_error(FN_LOAD ": '%s': out of memory", path); goto fail; }
    for (int i = 0; i < n; i++) {
        const entry *e = &entries[i];
        tf->names[i] = strdup(e->name);
        tf->tensors[i] = ml_empty(e->ndim, e->shape, ml_raw_target(e->raw));
        tf->n = i + 1;
        if (!tf->names[i]) { ml_error(FN_LOAD ": '%s': out of memory", path); goto fail; }
        if (!tf->tensors[i]) {
            char msg[400], en[ML_EXCERPT_SIZE];
            snprintf(msg, sizeof msg, "%s", ml_last_error());
            ml_error(FN_LOAD ": '%s': tensor '%s': %s", path, ml_excerpt(en, sizeof en, e->name, strlen(e->name)), msg);
            goto fail;
        }
        if (ml_io_read_data(f, 8 + (int64_t)hlen + e->begin, tf->tensors[i], e->raw, host_big_endian, FN_LOAD, path) < 0)
            goto fail;
    }
    fclose(f);
    free(text);
    free(entries);
    free(order);
    ml_json_free(root);
    return tf;
fail:
    fclose(f);
    free(text);
    free(entries);
    free(order);
    ml_json_free(root);
    ml_tensor_file_free(tf);
    return NULL;
}

/* ---- writing ---------------------------------------------------------- */
typedef struct {
    const char *name;
    int idx;
    size_t es;
} slot;

static int by_name(const void *a, const void *b) { return strcmp(((const slot *)a)->name, ((const slot *)b)->name); }

/* Wider elements first, so every tensor starts aligned to its element size. */
static int by_layout(const void *a, const void *b) {
    const slot *x = a, *y = b;
    if (x->es != y->es) return x->es > y->es ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int check_unique(slot *s, int n, const char *what, const char *path) {
    qsort(s, n, sizeof *s, by_name);
    for (int i = 1; i < n; i++)
        if (!strcmp(s[i - 1].name, s[i].name)) {
            ml_error(FN_SAVE ": '%s': %s '%s' appears twice", path, what, s[i].name);
            return -1;
        }
    return 0;
}

int ml_safetensors_write(const char *path, int n, const char *const *names, ml_tensor *const *ts, int nmeta,
                         const char *const *mkeys, const char *const *mvals) {
    int rc = -1;
    ml_buf h = {0};
    slot *s = calloc(n ? n : 1, sizeof *s), *ms = calloc(nmeta ? nmeta : 1, sizeof *ms);
    ml_tensor **c = calloc(n ? n : 1, sizeof *c);
    ml_io_writer w = {0};
    if (!s || !ms || !c) { ml_error(FN_SAVE ": out of memory"); goto done; }
    for (int i = 0; i < n; i++) {
        if (!names[i] || !ts[i]) { ml_error(FN_SAVE ": '%s': tensor %d has no name or no tensor", path, i + 1); goto done; }
        if (!strcmp(names[i], "__metadata__")) {
            ml_error(FN_SAVE ": '%s': '__metadata__' is reserved and cannot name a tensor", path);
            goto done;
        }
        if (!st_name_of(ts[i]->dtype)) { ml_error(FN_SAVE ": '%s': tensor '%s' has an unknown dtype", path, names[i]); goto done; }
        s[i] = (slot){names[i], i, ml_dtype_size(ts[i]->dtype)};
    }
    for (int i = 0; i < nmeta; i++) {
        if (!mkeys[i] || !mvals[i]) { ml_error(FN_SAVE ": '%s': metadata entry %d is NULL", path, i + 1); goto done; }
        ms[i] = (slot){mkeys[i], i, 0};
    }
    if (check_unique(s, n, "tensor name", path) < 0 || check_unique(ms, nmeta, "metadata key", path) < 0) goto done;
    qsort(s, n, sizeof *s, by_layout);

    ml_buf_puts(&h, "{");
    if (nmeta) {
        ml_buf_puts(&h, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) { /* sorted by key: the same table always writes the same bytes */
            if (i) ml_buf_puts(&h, ",");
            ml_json_put_string(&h, ms[i].name, strlen(ms[i].name));
            ml_buf_puts(&h, ":");
            ml_json_put_string(&h, mvals[ms[i].idx], strlen(mvals[ms[i].idx]));
        }
        ml_buf_puts(&h, "}");
    }
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        const ml_tensor *t = ts[s[i].idx];
        int64_t nb = t->numel * (int64_t)s[i].es;
        ml_buf_puts(&h, i || nmeta ? "," : "");
        ml_json_put_string(&h, s[i].name, strlen(s[i].name));
        ml_buf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", st_name_of(t->dtype));
        for (int d = 0; d < t->ndim; d++) ml_buf_printf(&h, d ? ",%lld" : "%lld", (long long)t->shape[d]);
        ml_buf_printf(&h, "],\"data_offsets\":[%lld,%lld]}", (long long)off, (long long)(off + nb));
        off += nb;
    }
    ml_buf_puts(&h, "}");
    while (h.len % 8) ml_buf_puts(&h, " ");
    if (h.failed) { ml_error(FN_SAVE ": '%s': out of memory", path); goto done; }

    for (int i = 0; i < n; i++) {
        c[i] = ml_contiguous(ts[s[i].idx]);
        if (!c[i]) goto done;
    }
    if (ml_io_begin_write(&w, FN_SAVE, path) < 0) goto done;
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    if (ml_io_write(&w, lenbuf, 8) < 0 || ml_io_write(&w, h.data, h.len) < 0) goto done;
    for (int i = 0; i < n; i++) {
        size_t nb = (size_t)c[i]->numel * s[i].es;
        if (!host_big_endian || s[i].es == 1) {
            if (ml_io_write(&w, ml_data(c[i]), nb) < 0) goto done;
        } else { /* swap a copy, element by element */
            const unsigned char *p = ml_data(c[i]);
            for (size_t k = 0; k < nb; k += s[i].es) {
                unsigned char e[8];
                for (size_t b = 0; b < s[i].es; b++) e[b] = p[k + s[i].es - 1 - b];
                if (ml_io_write(&w, e, s[i].es) < 0) goto done;
            }
        }
    }
    rc = ml_io_commit(&w);
done:
    if (rc < 0) ml_io_abort(&w);
    if (c)
        for (int i = 0; i < n; i++) ml_release(c[i]);
    free(c);
    free(s);
    free(ms);
    ml_buf_free(&h);
    return rc;
}
