/* "Did you mean": optimal string alignment distance over short names. */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

#define MAX_LEN 64

static int min3(int a, int b, int c) { return a < b ? (a < c ? a : c) : (b < c ? b : c); }

static int distance(const char *a, int na, const char *b, int nb) {
    int d[MAX_LEN + 1][MAX_LEN + 1];
    for (int i = 0; i <= na; i++) d[i][0] = i;
    for (int j = 0; j <= nb; j++) d[0][j] = j;
    for (int i = 1; i <= na; i++) {
        for (int j = 1; j <= nb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int v = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (ca != cb));
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[na][nb];
}

static int is_prefix(const char *p, int np, const char *s, int ns) {
    if (np > ns) return 0;
    for (int i = 0; i < np; i++)
        if (tolower((unsigned char)p[i]) != tolower((unsigned char)s[i])) return 0;
    return 1;
}

const char *ml_suggest(const char *name, const char *const *known) {
    int n = (int)strlen(name);
    if (n == 0 || n > MAX_LEN) return NULL;
    const char *best = NULL;
    int bestd = 1 << 30;
    for (int i = 0; known[i]; i++) {
        int m = (int)strlen(known[i]);
        if (m > MAX_LEN) continue;
        int dd = distance(name, n, known[i], m);
        if ((is_prefix(name, n, known[i], m) || is_prefix(known[i], m, name, n)) && dd > 1) dd = 1;
        if (dd < bestd) { bestd = dd; best = known[i]; }
    }
    int limit = n / 3 < 3 ? n / 3 : 3;
    if (limit < 1) limit = 1;
    return bestd <= limit ? best : NULL;
}
