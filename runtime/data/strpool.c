/* The string arena (see strpool.h): the bytes of every string back to back in
 * one growing block, an offset per code, and an open-addressing hash table of
 * codes (linear probing, power-of-two size, at most half full). */
#include "strpool.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../tensor/tensor.h"

struct ml_strpool {
    _Atomic int refs;
    char *bytes;          /* every string, each followed by a NUL */
    size_t nbytes, capbytes;
    size_t *start;        /* start[k - 1]: offset of code k; start[count] = nbytes */
    int64_t count, capcodes;
    int64_t *slots;       /* codes, 0 = empty */
    uint32_t *hashes;     /* the hash of each code (k - 1), so growing never rehashes bytes */
    int64_t nslots;
    size_t accounted;     /* what this pool added to ml_bytes_live */
};

/* FNV-1a, 64-bit folded to 32: short keys dominate and it has no setup cost. */
static uint32_t hash_bytes(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

static void account(ml_strpool *p) {
    size_t now = p->capbytes + (size_t)(p->capcodes + 1) * (sizeof(size_t) + sizeof(uint32_t)) +
                 (size_t)p->nslots * sizeof(int64_t) + sizeof(*p);
    ml_bytes_live += (int64_t)now - (int64_t)p->accounted;
    p->accounted = now;
}

ml_strpool *ml_strpool_new(void) {
    ml_strpool *p = calloc(1, sizeof(*p));
    if (!p) { ml_error("out of memory"); return NULL; }
    p->refs = 1;
    p->start = malloc(sizeof(size_t));
    if (!p->start) { free(p); ml_error("out of memory"); return NULL; }
    p->start[0] = 0;
    account(p);
    return p;
}

void ml_strpool_retain(ml_strpool *p) { atomic_fetch_add(&p->refs, 1); }

void ml_strpool_release(ml_strpool *p) {
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1) return;
    ml_bytes_live -= (int64_t)p->accounted;
    free(p->bytes);
    free(p->start);
    free(p->slots);
    free(p->hashes);
    free(p);
}

int64_t ml_strpool_count(const ml_strpool *p) { return p->count; }
size_t ml_strpool_bytes(const ml_strpool *p) { return p->accounted; }

const char *ml_strpool_get(const ml_strpool *p, int64_t code, size_t *len) {
    if (code < 1 || code > p->count) return NULL;
    size_t a = p->start[code - 1], b = p->start[code];
    if (len) *len = b - a - 1;
    return p->bytes + a;
}

static int64_t lookup(const ml_strpool *p, const char *s, size_t len, uint32_t h, int64_t *slot) {
    if (p->nslots == 0) { *slot = -1; return 0; }
    int64_t mask = p->nslots - 1;
    for (int64_t i = h & mask;; i = (i + 1) & mask) {
        int64_t c = p->slots[i];
        if (c == 0) { *slot = i; return 0; }
        if (p->hashes[c - 1] == h) {
            size_t a = p->start[c - 1];
            if (p->start[c] - a - 1 == len && memcmp(p->bytes + a, s, len) == 0) { *slot = i; return c; }
        }
    }
}

int64_t ml_strpool_find(const ml_strpool *p, const char *s, size_t len) {
    int64_t slot;
    return lookup(p, s, len, hash_bytes(s, len), &slot);
}

static int grow_slots(ml_strpool *p) {
    int64_t n = p->nslots ? p->nslots * 2 : 64;
    int64_t *slots = calloc((size_t)n, sizeof(int64_t));
    if (!slots) return -1;
    for (int64_t c = 1; c <= p->count; c++) {
        int64_t i = p->hashes[c - 1] & (n - 1);
        while (slots[i]) i = (i + 1) & (n - 1);
        slots[i] = c;
    }
    free(p->slots);
    p->slots = slots;
    p->nslots = n;
    return 0;
}

int64_t ml_strpool_intern(ml_strpool *p, const char *s, size_t len) {
    uint32_t h = hash_bytes(s, len);
    int64_t slot;
    int64_t c = lookup(p, s, len, h, &slot);
    if (c) return c;
    if ((p->count + 1) * 2 > p->nslots) {
        if (grow_slots(p)) goto oom;
        lookup(p, s, len, h, &slot);
    }
    if (p->count + 1 > p->capcodes) {
        int64_t cap = p->capcodes ? p->capcodes * 2 : 16;
        size_t *start = realloc(p->start, (size_t)(cap + 1) * sizeof(size_t));
        if (!start) goto oom;
        p->start = start;
        uint32_t *hashes = realloc(p->hashes, (size_t)cap * sizeof(uint32_t));
        if (!hashes) goto oom;
        p->hashes = hashes;
        p->capcodes = cap;
    }
    if (p->nbytes + len + 1 > p->capbytes) {
        size_t cap = p->capbytes ? p->capbytes * 2 : 256;
        while (cap < p->nbytes + len + 1) cap *= 2;
        char *bytes = realloc(p->bytes, cap);
        if (!bytes) goto oom;
        p->bytes = bytes;
        p->capbytes = cap;
    }
    if (len) memcpy(p->bytes + p->nbytes, s, len);
    p->bytes[p->nbytes + len] = 0;
    p->nbytes += len + 1;
    p->hashes[p->count] = h;
    p->count++;
    p->start[p->count] = p->nbytes;
    p->slots[slot] = p->count;
    account(p);
    return p->count;
oom:
    account(p);
    ml_error("out of memory");
    return -1;
}

int ml_strpool_merge(ml_strpool *dst, const ml_strpool *src, int64_t *remap) {
    remap[0] = 0;
    for (int64_t k = 1; k <= src->count; k++) {
        size_t len;
        const char *s = ml_strpool_get(src, k, &len);
        int64_t c = ml_strpool_intern(dst, s, len);
        if (c < 0) return -1;
        remap[k] = c;
    }
    return 0;
}
