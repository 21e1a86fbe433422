/* The growable byte buffer of every writer: JSON and file headers, tensor
 * printing. Zero-initialize it; its data stays NUL-terminated (data[len] is
 * 0 once anything was added). On allocation failure `failed` is set and
 * later appends do nothing. */
#ifndef ML_CORE_BUF_H
#define ML_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} ml_buf;

void ml_buf_add(ml_buf *b, const void *p, size_t n);
void ml_buf_puts(ml_buf *b, const char *s);
void ml_buf_printf(ml_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ml_buf_spaces(ml_buf *b, int n); /* n <= 0: nothing */
void ml_buf_free(ml_buf *b);          /* frees data and zeroes b */

#endif
