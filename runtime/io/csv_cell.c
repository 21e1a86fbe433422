#include <float.h>
/* One CSV cell's text as a value: integers, floats (exactly strtod's
 * double), bools, ISO dates and datetimes, and the reverse for the writer.
 * Pure functions, called once per cell by the reader's threads. */
#define _GNU_SOURCE
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

static inline bool is_blank(char c) { return c == ' ' || c == '\t'; }
static inline bool is_digit(char c) { return (unsigned)(c - '0') < 10u; }

static void trim(const char **s, size_t *n) {
    const char *p = *s, *e = *s + *n;
    while (p < e && is_blank(*p)) p++;
    while (e > p && is_blank(e[-1])) e--;
    *s = p;
    *n = (size_t)(e - p);
}

bool ml_csv_parse_int(const char *s, size_t n, int64_t *out) {
    trim(&s, &n);
    const char *e = s + n;
    bool neg = false;
    if (s < e && (*s == '-' || *s == '+')) neg = *s++ == '-';
    if (s == e) return false;
    uint64_t v = 0;
    for (; s < e; s++) {
        if (!is_digit(*s)) return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool ieq(const char *s, size_t n, const char *word) {
    size_t m = strlen(word);
    if (n != m) return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != word[i]) return false;
    return true;
}

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static locale_t c_locale;
static void make_c_locale(void) { c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

/* strtod in the C locale (whatever the process's locale says about commas). */
static double strtod_c(const char *s, size_t n) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_c_locale); /* the reader's threads call this too */
    char small[128], *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) return NAN;
    memcpy(buf, s, n);
    buf[n] = 0;
    double v = c_locale ? strtod_l(buf, NULL, c_locale) : strtod(buf, NULL);
    if (buf != small) free(buf);
    return v;
}

/* The grammar is checked here ([+-] digits [. digits] [e [+-] digits], inf,
 * infinity, nan): strtod alone would also take hex floats and stop early.
 * Up to 19 significant digits with a decimal exponent within 10^+-22 and a
 * mantissa below 2^53 are exact in one multiply or divide (Clinger's fast
 * path, the same double strtod returns); the rest go to strtod. */
bool ml_csv_parse_float(const char *s, size_t n, double *out) {
    trim(&s, &n);
    const char *p = s, *e = s + n;
    bool neg = false;
    if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
    if (p == e) return false;
    if (!is_digit(*p) && *p != '.') {
        size_t m = (size_t)(e - p);
        if (ieq(p, m, "inf") || ieq(p, m, "infinity")) { *out = neg ? -INFINITY : INFINITY; return true; }
        if (ieq(p, m, "nan")) { *out = NAN; return true; }
        return false;
    }
    /* the digits in one loop each side of the point; more than 19 of them
     * (leading zeros included) may have wrapped mant and go to strtod */
    const char *ds = p;
    uint64_t mant = 0;
    while (p < e && is_digit(*p)) mant = mant * 10 + (unsigned)(*p++ - '0');
    int ndigits = (int)(p - ds), exp10 = 0;
    if (p < e && *p == '.') {
        const char *fs = ++p;
        while (p < e && is_digit(*p)) mant = mant * 10 + (unsigned)(*p++ - '0');
        exp10 = -(int)(p - fs);
        ndigits += (int)(p - fs);
    }
    if (ndigits == 0) return false;
    bool exact = ndigits <= 19;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < e && (*p == '-' || *p == '+')) eneg = *p++ == '-';
        if (p == e || !is_digit(*p)) return false;
        int ev = 0;
        for (; p < e && is_digit(*p); p++)
            if (ev < 100000) ev = ev * 10 + (*p - '0');
        exp10 += eneg ? -ev : ev;
    }
    if (p != e) return false;
    double v;
    if (mant == 0) v = 0.0;
    else if (exact && mant <= (1ull << 53) && exp10 >= -22 && exp10 <= 22)
        v = exp10 >= 0 ? (double)mant * POW10[exp10] : (double)mant / POW10[-exp10];
    else { *out = strtod_c(s, n); return true; } /* strtod keeps the sign itself */
    *out = neg ? -v : v;
    return true;
}

bool ml_csv_parse_bool(const char *s, size_t n, bool *out) {
    trim(&s, &n);
    if (ieq(s, n, "true")) { *out = true; return true; }
    if (ieq(s, n, "false")) { *out = false; return true; }
    return false;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits_at(const char *s, int k) {
    int v = 0;
    for (int i = 0; i < k; i++) {
        if (!is_digit(s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* YYYY-MM-DD at s (10 bytes available) -> days. */
static bool date_days(const char *s, int64_t *days) {
    int y = digits_at(s, 4), m = digits_at(s + 5, 2), d = digits_at(s + 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1 || s[4] != '-' || s[7] != '-') return false;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] || (m == 2 && d == 29 && !leap)) return false;
    *days = days_from_civil(y, (unsigned)m, (unsigned)d);
    return true;
}

bool ml_csv_parse_date(const char *s, size_t n, int64_t *out) {
    trim(&s, &n);
    int64_t days;
    if (n != 10 || !date_days(s, &days)) return false;
    *out = days * 86400;
    return true;
}

bool ml_csv_parse_datetime(const char *s, size_t n, int64_t *out, bool *has_time) {
    trim(&s, &n);
    int64_t days;
    if (n < 10 || !date_days(s, &days)) return false;
    if (n == 10) { *out = days * 86400; *has_time = false; return true; }
    const char *p = s + 10, *e = s + n;
    if ((*p != 'T' && *p != ' ') || e - p < 6) return false;
    int hh = digits_at(p + 1, 2), mm = digits_at(p + 4, 2), ss = 0;
    if (hh < 0 || hh > 23 || p[3] != ':' || mm < 0 || mm > 59) return false;
    p += 6;
    if (p < e && *p == ':') {
        if (e - p < 3 || (ss = digits_at(p + 1, 2)) < 0 || ss > 59) return false;
        p += 3;
        if (p < e && *p == '.') {
            p++;
            if (p == e || !is_digit(*p)) return false;
            while (p < e && is_digit(*p)) p++; /* the fraction: int64 seconds keep none of it */
        }
    }
    int64_t offset = 0;
    if (p < e && *p == 'Z') p++;
    else if (p < e && (*p == '+' || *p == '-')) {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (e - p < 2 || (oh = digits_at(p, 2)) < 0 || oh > 23) return false;
        p += 2;
        if (p < e && *p == ':') p++;
        if (e - p >= 2) {
            if ((om = digits_at(p, 2)) < 0 || om > 59) return false;
            p += 2;
        }
        offset = sign * (oh * 3600 + om * 60);
    }
    if (p != e) return false;
    *out = days * 86400 + hh * 3600 + mm * 60 + ss - offset;
    *has_time = true;
    return true;
}

ml_csv_kind ml_csv_classify(const char *s, size_t n) {
    int64_t i;
    double f;
    bool b, t;
    trim(&s, &n);
    if (n == 0) return ML_CSV_STRING;
    char c = s[0];
    if (is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'i' || c == 'I' || c == 'n' || c == 'N') {
        if (ml_csv_parse_int(s, n, &i)) return ML_CSV_INT64;
        if (ml_csv_parse_float(s, n, &f)) return ML_CSV_FLOAT64;
    }
    if ((c | 0x20) == 't' || (c | 0x20) == 'f') return ml_csv_parse_bool(s, n, &b) ? ML_CSV_BOOL : ML_CSV_STRING;
    if (is_digit(c) && n >= 10 && ml_csv_parse_datetime(s, n, &i, &t)) return t ? ML_CSV_DATETIME : ML_CSV_DATE;
    return ML_CSV_STRING;
}

int ml_csv_format_double(char *buf, double v) {
    if (isnan(v)) return sprintf(buf, "nan");
    if (isinf(v)) return sprintf(buf, v < 0 ? "-inf" : "inf");
    int len = 0;
    /* a subnormal carries fewer than 15 significant digits (5e-324 is one bit):
     * start lower there, so its text is the shortest too */
    int lo = (v != 0 && fabs(v) < DBL_MIN) ? 1 : 15;
    for (int prec = lo; prec <= 17; prec++) {
        len = snprintf(buf, 32, "%.*g", prec, v);
        if (prec == 17 || strtod_c(buf, (size_t)len) == v) break;
    }
    if (!strpbrk(buf, ".en")) { buf[len++] = '.'; buf[len++] = '0'; buf[len] = 0; }
    return len;
}

int ml_csv_format_time(char *buf, int64_t seconds, bool with_time) {
    int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    int64_t rest = seconds - days * 86400, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (!with_time) return snprintf(buf, 32, "%04lld-%02u-%02u", (long long)y, m, d);
    return snprintf(buf, 32, "%04lld-%02u-%02u %02d:%02d:%02d", (long long)y, m, d, (int)(rest / 3600),
                    (int)(rest / 60 % 60), (int)(rest % 60));
}

const char *ml_csv_kind_name(ml_csv_kind k) {
    static const char *names[ML_CSV_NKINDS] = {"auto", "int64", "float64", "bool", "date", "datetime", "string"};
    return (unsigned)k < ML_CSV_NKINDS ? names[k] : "?";
}
