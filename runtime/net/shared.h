/* State shared by the worker threads of one HTTP server: small strings by
 * key, and float64 accumulators (vectors added into elementwise). One mutex
 * each; values are copied in and out, so no caller ever holds a pointer
 * into the store. Knows nothing of Lua. */
#ifndef ML_NET_SHARED_H
#define ML_NET_SHARED_H

#include <stddef.h>
#include <stdint.h>

typedef struct ml_shared ml_shared;

ml_shared *ml_shared_new(void);
void ml_shared_free(ml_shared *s); /* NULL-safe */

/* Stores a copy of value (len bytes) under key; -1 on out of memory. */
int ml_shared_set(ml_shared *s, const char *key, const char *value, size_t len);
/* A malloc'd copy of the value under key (*len its length), or NULL when absent. */
char *ml_shared_get(ml_shared *s, const char *key, size_t *len);

/* A number that changes whenever a string's value changes (what a cache of
 * values derived from the strings compares, with no lock and no copy). */
uint64_t ml_shared_generation(ml_shared *s);

/* acc[key] += x elementwise (created as x at the first add). -1 with err
 * set when the length differs from the stored one. */
int ml_shared_acc_add(ml_shared *s, const char *key, const double *x, int64_t n, char *err, size_t errlen);
/* Copies the vector under key into a malloc'd array (*n its length), or NULL when absent. */
double *ml_shared_acc_get(ml_shared *s, const char *key, int64_t *n);

#endif
