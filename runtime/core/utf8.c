/* UTF-8 validation (see utf8.h). */
#include "utf8.h"

#include <stdint.h>

size_t ml_utf8_len(const unsigned char *s, size_t n) {
    if (s[0] < 0x80) return 1;
    size_t k;
    uint32_t cp;
    if ((s[0] & 0xe0) == 0xc0) { k = 2; cp = s[0] & 0x1f; }
    else if ((s[0] & 0xf0) == 0xe0) { k = 3; cp = s[0] & 0x0f; }
    else if ((s[0] & 0xf8) == 0xf0) { k = 4; cp = s[0] & 0x07; }
    else return 0;
    if (n < k) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return 0;
    return k;
}

bool ml_utf8_valid(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t k = ml_utf8_len((const unsigned char *)s + i, n - i);
        if (!k) return false;
        i += k;
    }
    return true;
}
