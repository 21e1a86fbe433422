/* The string arena behind data frames' string and categorical columns: each
 * distinct string is stored once, in insertion order, and named by a 1-based
 * integer code (0 is reserved for a missing cell). A column is then an int64
 * tensor of codes plus the pool, so equal strings compare as equal codes and
 * string operations run once per distinct value, not once per row.
 *
 * A pool is reference counted (several columns may share one) and is not
 * thread-safe for writers: a parallel parser interns into one pool per
 * thread and merges them with ml_strpool_merge. Its bytes count in
 * ml_bytes_live, so the Lua collector sees them as it sees tensors. */
#ifndef ML_DATA_STRPOOL_H
#define ML_DATA_STRPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ml_strpool ml_strpool;

ml_strpool *ml_strpool_new(void);         /* NULL on allocation failure (ml error set) */
void ml_strpool_retain(ml_strpool *p);
void ml_strpool_release(ml_strpool *p);   /* NULL is fine */

/* The code of s (1-based), adding it when new; -1 on allocation failure. */
int64_t ml_strpool_intern(ml_strpool *p, const char *s, size_t len);
/* The code of s, or 0 when the pool does not hold it. */
int64_t ml_strpool_find(const ml_strpool *p, const char *s, size_t len);
int64_t ml_strpool_count(const ml_strpool *p);
/* The bytes of code 1..count (NUL-terminated; len may be NULL); NULL for any other code. */
const char *ml_strpool_get(const ml_strpool *p, int64_t code, size_t *len);
size_t ml_strpool_bytes(const ml_strpool *p); /* memory held, for df:info() */

/* Interns every string of src into dst; remap[k] (k = 1..count(src), remap[0]
 * is set to 0) receives src's code k as a code of dst. 0 ok, -1 on failure. */
int ml_strpool_merge(ml_strpool *dst, const ml_strpool *src, int64_t *remap);

#endif
