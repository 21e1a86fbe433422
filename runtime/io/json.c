/* A small, strict JSON reader (RFC 8259) into a tree, and writer helpers.
 *
 * The reader is made for untrusted file headers: it checks every byte it
 * looks at against the length it was given (the text need not end in NUL),
 * bounds the nesting depth, and reports the byte offset of the first
 * problem. Integer literals keep their exact int64 value beside the
 * double, so shapes and byte offsets beyond 2^53 survive. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

#define JSON_MAX_DEPTH 128

typedef struct {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
    bool failed;
} parser;

static void fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(parser *p, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = true;
    if (!p->err || !p->errlen) return;
    int k = snprintf(p->err, p->errlen, "byte %zu: ", p->pos);
    if (k < 0 || (size_t)k >= p->errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + k, p->errlen - k, fmt, ap);
    va_end(ap);
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static const char *what_is_here(parser *p) {
    if (p->pos >= p->len) return "the end of the text";
    static _Thread_local char buf[32];
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c >= 0x20 && c < 0x7f) snprintf(buf, sizeof buf, "'%c'", c);
    else snprintf(buf, sizeof buf, "byte 0x%02x", c);
    return buf;
}

static void json_clear(ml_json *v) {
    switch (v->type) {
    case ML_JSON_STRING: free(v->string); break;
    case ML_JSON_ARRAY:
    case ML_JSON_OBJECT:
        for (int i = 0; i < v->n; i++) {
            json_clear(&v->items[i]);
            if (v->keys) free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
        break;
    default: break;
    }
    memset(v, 0, sizeof *v);
}

void ml_json_free(ml_json *v) {
    if (!v) return;
    json_clear(v);
    free(v);
}

static void put_utf8(ml_buf *b, uint32_t cp) {
    unsigned char o[4];
    size_t n;
    if (cp < 0x80) { o[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { o[0] = 0xc0 | (cp >> 6); o[1] = 0x80 | (cp & 0x3f); n = 2; }
    else if (cp < 0x10000) { o[0] = 0xe0 | (cp >> 12); o[1] = 0x80 | ((cp >> 6) & 0x3f); o[2] = 0x80 | (cp & 0x3f); n = 3; }
    else {
        o[0] = 0xf0 | (cp >> 18); o[1] = 0x80 | ((cp >> 12) & 0x3f);
        o[2] = 0x80 | ((cp >> 6) & 0x3f); o[3] = 0x80 | (cp & 0x3f); n = 4;
    }
    ml_buf_add(b, o, n);
}

static int hex4(parser *p, uint32_t *out) {
    if (p->len - p->pos < 4) { fail(p, "incomplete \\u escape"); return -1; }
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) { fail(p, "bad hex digit in \\u escape"); return -1; }
        v = v * 16 + d;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

/* At the opening quote. Returns a malloc'd NUL-terminated string. */
static char *parse_string(parser *p, size_t *outlen) {
    if (p->pos >= p->len || p->s[p->pos] != '"') { fail(p, "expected a string, got %s", what_is_here(p)); return NULL; }
    p->pos++;
    ml_buf b = {0};
    for (;;) {
        if (p->pos >= p->len) { fail(p, "unterminated string"); goto bad; }
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') { p->pos++; break; }
        if (c < 0x20) { fail(p, "control character 0x%02x in a string", c); goto bad; }
        if (c != '\\') {
            size_t start = p->pos;
            while (p->pos < p->len && p->s[p->pos] != '"' && p->s[p->pos] != '\\' && (unsigned char)p->s[p->pos] >= 0x20) {
                size_t k = ml_utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
                if (!k) { fail(p, "invalid UTF-8 in a string"); goto bad; }
                p->pos += k;
            }
            ml_buf_add(&b, p->s + start, p->pos - start);
            continue;
        }
        p->pos++;
        if (p->pos >= p->len) { fail(p, "unterminated string"); goto bad; }
        char e = p->s[p->pos++];
        switch (e) {
        case '"': ml_buf_add(&b, "\"", 1); break;
        case '\\': ml_buf_add(&b, "\\", 1); break;
        case '/': ml_buf_add(&b, "/", 1); break;
        case 'b': ml_buf_add(&b, "\b", 1); break;
        case 'f': ml_buf_add(&b, "\f", 1); break;
        case 'n': ml_buf_add(&b, "\n", 1); break;
        case 'r': ml_buf_add(&b, "\r", 1); break;
        case 't': ml_buf_add(&b, "\t", 1); break;
        case 'u': {
            uint32_t cp;
            if (hex4(p, &cp) < 0) goto bad;
            if (cp >= 0xd800 && cp < 0xdc00) {
                uint32_t lo;
                if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                    fail(p, "unpaired surrogate in \\u escape");
                    goto bad;
                }
                p->pos += 2;
                if (hex4(p, &lo) < 0) goto bad;
                if (lo < 0xdc00 || lo >= 0xe000) { fail(p, "unpaired surrogate in \\u escape"); goto bad; }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                fail(p, "unpaired surrogate in \\u escape");
                goto bad;
            } else if (cp == 0) {
                fail(p, "\\u0000 in a string is not supported");
                goto bad;
            }
            put_utf8(&b, cp);
            break;
        }
        default: {
            char eb[ML_EXCERPT_SIZE];
            p->pos--;
            fail(p, "bad escape '\\%s'", ml_excerpt(eb, sizeof eb, &p->s[p->pos], 1));
            goto bad;
        }
        }
    }
    ml_buf_add(&b, "", 1); /* NUL, also makes "" a real allocation */
    if (b.failed) { fail(p, "out of memory"); goto bad; }
    *outlen = b.len - 1;
    return b.data;
bad:
    ml_buf_free(&b);
    return NULL;
}

/* Clinger's fast path: a decimal with at most 19 significant digits whose
 * mantissa m fits in 2^53 and whose power of ten |e| <= 22 is m * 10^e (or
 * m / 10^-e) with both operands exact doubles, so the one rounding of the
 * product is the correctly rounded value strtod would give. It covers the
 * numbers of request bodies (pixels, features) at a tenth of strtod's cost;
 * the rest go to strtod. The text [s, end) is already a valid JSON number. */
static bool fast_number(const char *s, const char *end, bool integral, ml_json *v) {
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    bool neg = *s == '-';
    if (neg) s++;
    uint64_t m = 0;
    int digits = 0, frac = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        if (m || *s != '0') digits++;
        m = m * 10 + (uint64_t)(*s++ - '0');
        if (digits > 19) return false;
    }
    if (s < end && *s == '.') {
        for (s++; s < end && *s >= '0' && *s <= '9'; s++, frac++) {
            if (m || *s != '0') digits++;
            if (digits > 19) return false;
            m = m * 10 + (uint64_t)(*s - '0');
        }
    }
    int e = 0;
    if (s < end) { /* e or E */
        s++;
        bool eneg = *s == '-';
        if (*s == '+' || *s == '-') s++;
        for (; s < end; s++) {
            e = e * 10 + (*s - '0');
            if (e > 400) return false;
        }
        if (eneg) e = -e;
    }
    e -= frac;
    if (m > (1ULL << 53) || e < -22 || e > 22) return false;
    double d = e >= 0 ? (double)m * pow10[e] : (double)m / pow10[-e];
    v->number = neg ? -d : d;
    if (integral) {
        v->integer = neg ? -(int64_t)m : (int64_t)m;
        v->is_int = true;
    }
    return true;
}

static int parse_number(parser *p, ml_json *v) {
    size_t start = p->pos;
    const char *s = p->s;
    bool integral = true;
    if (p->pos < p->len && s[p->pos] == '-') p->pos++;
    if (p->pos >= p->len || !(s[p->pos] >= '0' && s[p->pos] <= '9')) { fail(p, "bad number"); return -1; }
    if (s[p->pos] == '0') p->pos++;
    else while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') p->pos++;
    if (p->pos < p->len && s[p->pos] == '.') {
        integral = false;
        p->pos++;
        if (p->pos >= p->len || !(s[p->pos] >= '0' && s[p->pos] <= '9')) { fail(p, "bad number: digit expected after '.'"); return -1; }
        while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') p->pos++;
    }
    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        integral = false;
        p->pos++;
        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-')) p->pos++;
        if (p->pos >= p->len || !(s[p->pos] >= '0' && s[p->pos] <= '9')) { fail(p, "bad number: digit expected in exponent"); return -1; }
        while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') p->pos++;
    }
    v->type = ML_JSON_NUMBER;
    if (fast_number(s + start, s + p->pos, integral, v)) return 0;
    size_t n = p->pos - start;
    char small[64], *tmp = n < sizeof small ? small : malloc(n + 1);
    if (!tmp) { fail(p, "out of memory"); return -1; }
    memcpy(tmp, s + start, n);
    tmp[n] = 0;
    v->number = strtod(tmp, NULL);
    if (integral) {
        errno = 0;
        long long ll = strtoll(tmp, NULL, 10);
        if (errno == 0) { v->integer = ll; v->is_int = true; }
    }
    if (tmp != small) free(tmp);
    return 0;
}

static int parse_value(parser *p, ml_json *v, int depth);

/* The keys seen so far in one object: open addressing over indices into
 * v->keys (slot value index + 1, 0 empty), at most half full, so checking
 * for a duplicate costs O(1) and an object of n keys decodes in O(n). */
typedef struct {
    uint32_t *slot;
    size_t cap; /* a power of two, or 0 */
} key_set;

static uint64_t key_hash(const char *k) { /* FNV-1a over the C string (keys compare with strcmp) */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *c = (const unsigned char *)k; *c; c++) h = (h ^ *c) * 0x100000001b3ULL;
    return h;
}

/* Inserts keys[i]; 1 when an equal key is already there, 0 when added, -1 out of memory. */
static int key_set_add(key_set *ks, char *const *keys, int i) {
    if ((size_t)(i + 1) * 2 > ks->cap) {
        size_t nc = ks->cap ? ks->cap * 2 : 16;
        uint32_t *ns = calloc(nc, sizeof *ns);
        if (!ns) return -1;
        for (size_t j = 0; j < ks->cap; j++) {
            if (!ks->slot[j]) continue;
            size_t h = key_hash(keys[ks->slot[j] - 1]) & (nc - 1);
            while (ns[h]) h = (h + 1) & (nc - 1);
            ns[h] = ks->slot[j];
        }
        free(ks->slot);
        ks->slot = ns;
        ks->cap = nc;
    }
    size_t h = key_hash(keys[i]) & (ks->cap - 1);
    for (; ks->slot[h]; h = (h + 1) & (ks->cap - 1))
        if (!strcmp(keys[ks->slot[h] - 1], keys[i])) return 1;
    ks->slot[h] = (uint32_t)i + 1;
    return 0;
}

static int parse_items(parser *p, ml_json *v, int depth, bool object, key_set *ks);

static int parse_container(parser *p, ml_json *v, int depth, bool object) {
    key_set ks = {NULL, 0};
    int r = parse_items(p, v, depth, object, &ks);
    free(ks.slot);
    return r;
}

static int parse_items(parser *p, ml_json *v, int depth, bool object, key_set *ks) {
    if (depth >= JSON_MAX_DEPTH) { fail(p, "nesting deeper than %d", JSON_MAX_DEPTH); return -1; }
    char close = object ? '}' : ']';
    v->type = object ? ML_JSON_OBJECT : ML_JSON_ARRAY;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) { p->pos++; return 0; }
    int cap = 0;
    for (;;) {
        if (v->n == cap) {
            int nc = cap ? cap * 2 : 4;
            ml_json *ni = realloc(v->items, sizeof *ni * nc);
            if (!ni) { fail(p, "out of memory"); return -1; }
            v->items = ni;
            if (object) {
                char **nk = realloc(v->keys, sizeof *nk * nc);
                if (!nk) { fail(p, "out of memory"); return -1; }
                v->keys = nk;
            }
            cap = nc;
        }
        ml_json *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        if (object) {
            skip_ws(p);
            size_t kpos = p->pos, klen;
            char *k = parse_string(p, &klen);
            if (!k) return -1;
            v->keys[v->n] = k;
            int dup = key_set_add(ks, v->keys, v->n);
            if (dup != 0) {
                if (dup > 0) {
                    p->pos = kpos;
                    char kb[ML_EXCERPT_SIZE];
                    fail(p, "duplicate key \"%s\"", ml_excerpt(kb, sizeof kb, k, strlen(k)));
                } else {
                    fail(p, "out of memory");
                }
                free(k);
                return -1;
            }
            v->n++; /* counted now so a failure below frees the key */
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') { fail(p, "expected ':', got %s", what_is_here(p)); return -1; }
            p->pos++;
            if (parse_value(p, item, depth + 1) < 0) return -1;
        } else {
            v->n++;
            if (parse_value(p, item, depth + 1) < 0) return -1;
        }
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') { p->pos++; continue; }
        if (p->pos < p->len && p->s[p->pos] == close) { p->pos++; return 0; }
        fail(p, "expected ',' or '%c', got %s", close, what_is_here(p));
        return -1;
    }
}

static int parse_literal(parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) {
        fail(p, "expected a value, got %s", what_is_here(p));
        return -1;
    }
    p->pos += n;
    return 0;
}

static int parse_value(parser *p, ml_json *v, int depth) {
    skip_ws(p);
    if (p->pos >= p->len) { fail(p, "expected a value, got the end of the text"); return -1; }
    char c = p->s[p->pos];
    switch (c) {
    case '{': return parse_container(p, v, depth, true);
    case '[': return parse_container(p, v, depth, false);
    case '"': {
        v->type = ML_JSON_STRING;
        v->string = parse_string(p, &v->len);
        return v->string ? 0 : -1;
    }
    case 't': v->type = ML_JSON_BOOL; v->boolean = true; return parse_literal(p, "true");
    case 'f': v->type = ML_JSON_BOOL; v->boolean = false; return parse_literal(p, "false");
    case 'n': v->type = ML_JSON_NULL; return parse_literal(p, "null");
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
        fail(p, "expected a value, got %s", what_is_here(p));
        return -1;
    }
}

ml_json *ml_json_parse(const char *text, size_t len, char *err, size_t errlen) {
    parser p = {text, len, 0, err, errlen, false};
    if (err && errlen) err[0] = 0;
    ml_json *v = calloc(1, sizeof *v);
    if (!v) { fail(&p, "out of memory"); return NULL; }
    if (parse_value(&p, v, 0) == 0) {
        skip_ws(&p);
        if (p.pos == p.len) return v;
        fail(&p, "unexpected %s after the value", what_is_here(&p));
    }
    ml_json_free(v);
    return NULL;
}

const ml_json *ml_json_get(const ml_json *obj, const char *key) {
    if (!obj || obj->type != ML_JSON_OBJECT) return NULL;
    for (int i = 0; i < obj->n; i++)
        if (!strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

/* ---- writing ---------------------------------------------------------- */
void ml_json_put_string(ml_buf *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    ml_buf_add(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        ml_buf_add(b, s + start, i - start);
        start = i + 1;
        char esc[7] = {'\\', 0};
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default: esc[1] = 'u'; esc[2] = '0'; esc[3] = '0'; esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; break;
        }
        ml_buf_puts(b, esc);
    }
    ml_buf_add(b, s + start, len - start);
    ml_buf_add(b, "\"", 1);
}

int ml_json_put_float(ml_buf *b, double v) {
    if (!isfinite(v)) return -1;
    char s[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v) break;
    }
    if (!strpbrk(s, ".eE")) strcat(s, ".0");
    ml_buf_puts(b, s);
    return 0;
}

void ml_json_put_number(ml_buf *b, double v) {
    if (!isfinite(v)) { ml_buf_puts(b, "null"); return; }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { ml_buf_printf(b, "%lld", (long long)v); return; }
    ml_buf_printf(b, "%.17g", v);
}
