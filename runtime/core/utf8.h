/* UTF-8 validation, shared by the JSON reader and writer (and any text a
 * file format must check). */
#ifndef ML_CORE_UTF8_H
#define ML_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (n >= 1 bytes available), or 0:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
size_t ml_utf8_len(const unsigned char *s, size_t n);
/* True when s[0..n) is valid UTF-8 throughout. */
bool ml_utf8_valid(const char *s, size_t n);

#endif
