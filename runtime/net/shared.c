/* Shared strings and accumulators of one server (see shared.h). Few keys are
 * expected (a model version, drift sums per model), so lookups are linear. */
#include "shared.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key;
    char *str;     /* strings */
    size_t len;
    double *vec;   /* accumulators */
    int64_t n;
} entry;

struct ml_shared {
    pthread_mutex_t mu;
    entry *strs, *accs;
    int nstr, capstr, nacc, capacc;
    _Atomic uint64_t generation; /* bumped by every change of a string */
};

ml_shared *ml_shared_new(void) {
    ml_shared *s = calloc(1, sizeof *s);
    if (s) pthread_mutex_init(&s->mu, NULL);
    return s;
}

void ml_shared_free(ml_shared *s) {
    if (!s) return;
    for (int i = 0; i < s->nstr; i++) { free(s->strs[i].key); free(s->strs[i].str); }
    for (int i = 0; i < s->nacc; i++) { free(s->accs[i].key); free(s->accs[i].vec); }
    free(s->strs);
    free(s->accs);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static entry *find(entry *e, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].key, key) == 0) return &e[i];
    return NULL;
}

/* A new zeroed entry at the end of *list, or NULL. Lock held. */
static entry *append(entry **list, int *n, int *cap, const char *key) {
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 8;
        entry *e = realloc(*list, c * sizeof *e);
        if (!e) return NULL;
        *list = e;
        *cap = c;
    }
    entry *e = &(*list)[*n];
    memset(e, 0, sizeof *e);
    if (!(e->key = strdup(key))) return NULL;
    (*n)++;
    return e;
}

int ml_shared_set(ml_shared *s, const char *key, const char *value, size_t len) {
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, value, len);
    copy[len] = '\0';
    pthread_mutex_lock(&s->mu);
    entry *e = find(s->strs, s->nstr, key);
    if (!e) e = append(&s->strs, &s->nstr, &s->capstr, key);
    if (e) {
        if (!e->str || e->len != len || memcmp(e->str, copy, len) != 0) atomic_fetch_add(&s->generation, 1);
        free(e->str);
        e->str = copy;
        e->len = len;
    }
    pthread_mutex_unlock(&s->mu);
    if (!e) free(copy);
    return e ? 0 : -1;
}

uint64_t ml_shared_generation(ml_shared *s) { return atomic_load(&s->generation); }

char *ml_shared_get(ml_shared *s, const char *key, size_t *len) {
    char *out = NULL;
    pthread_mutex_lock(&s->mu);
    entry *e = find(s->strs, s->nstr, key);
    if (e && (out = malloc(e->len + 1))) {
        memcpy(out, e->str, e->len + 1);
        *len = e->len;
    }
    pthread_mutex_unlock(&s->mu);
    return out;
}

int ml_shared_acc_add(ml_shared *s, const char *key, const double *x, int64_t n, char *err, size_t errlen) {
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    entry *e = find(s->accs, s->nacc, key);
    if (!e) {
        double *v = malloc((n ? n : 1) * sizeof *v);
        if (v && (e = append(&s->accs, &s->nacc, &s->capacc, key))) {
            memcpy(v, x, n * sizeof *v);
            e->vec = v;
            e->n = n;
        } else {
            free(v);
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    } else if (e->n != n) {
        snprintf(err, errlen, "'%s' holds %lld values, got %lld", key, (long long)e->n, (long long)n);
        rc = -1;
    } else {
        for (int64_t i = 0; i < n; i++) e->vec[i] += x[i];
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

double *ml_shared_acc_get(ml_shared *s, const char *key, int64_t *n) {
    double *out = NULL;
    pthread_mutex_lock(&s->mu);
    entry *e = find(s->accs, s->nacc, key);
    if (e && (out = malloc((e->n ? e->n : 1) * sizeof *out))) {
        memcpy(out, e->vec, e->n * sizeof *out);
        *n = e->n;
    }
    pthread_mutex_unlock(&s->mu);
    return out;
}
