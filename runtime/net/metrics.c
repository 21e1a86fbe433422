/* Counters, gauges and histograms with labels, in Prometheus text format
 * 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
 *   # HELP name text          (backslash and newline escaped)
 *   # TYPE name counter|gauge|histogram
 *   name{k="v",...} value     (label values escape \, " and newline)
 *   name_bucket{...,le="0.5"} cumulative count ... le="+Inf", name_sum, name_count
 * A series is found by its rendered label text (labels sorted by name), so
 * the same labels in any order are the same series. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 16
#define MAX_BUCKETS 64

typedef struct {
    char *labels; /* rendered k="v",... without braces; "" for none */
    double value; /* counter and gauge; histogram: sum */
    double count; /* histogram */
    double *buckets; /* histogram: per-bucket (not cumulative) counts, nb of them */
} series;

typedef struct {
    char *name, *help;
    ml_metric_type type;
    double *bounds;
    int nb;
    series *s;
    int ns, cap;
} family;

struct ml_metrics {
    pthread_mutex_t mu;
    family *f;
    int nf, cap;
};

static const char *const type_names[] = {"counter", "gauge", "histogram"};
/* Prometheus' client defaults */
static const double default_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

ml_metrics *ml_metrics_new(void) {
    ml_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

void ml_metrics_free(ml_metrics *m) {
    if (!m) return;
    for (int i = 0; i < m->nf; i++) {
        family *f = &m->f[i];
        for (int j = 0; j < f->ns; j++) {
            free(f->s[j].labels);
            free(f->s[j].buckets);
        }
        free(f->s);
        free(f->name);
        free(f->help);
        free(f->bounds);
    }
    free(m->f);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static int fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b) {
    if (err && errlen) snprintf(err, errlen, fmt, a, b);
    return -1;
}

static int valid_name(const char *s, int colon) {
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
                 (p > s && c >= '0' && c <= '9');
        if (!ok) return 0;
    }
    return 1;
}

/* The family called name, created with type when new; NULL with err set on a clash. Lock held. */
static family *find_family(ml_metrics *m, const char *name, ml_metric_type type, int create, char *err, size_t errlen) {
    for (int i = 0; i < m->nf; i++)
        if (strcmp(m->f[i].name, name) == 0) {
            if (m->f[i].type != type) {
                char what[64];
                snprintf(what, sizeof what, "a %s, not a %s", type_names[m->f[i].type], type_names[type]);
                fail(err, errlen, "metric '%s' is %s", name, what);
                return NULL;
            }
            return &m->f[i];
        }
    if (!create) return NULL;
    if (!valid_name(name, 1)) {
        fail(err, errlen, "invalid metric name '%s' (expected [a-zA-Z_:][a-zA-Z0-9_:]*)%s", name, "");
        return NULL;
    }
    if (m->nf == m->cap) {
        int cap = m->cap ? 2 * m->cap : 16;
        family *f = realloc(m->f, cap * sizeof *f);
        if (!f) { fail(err, errlen, "out of memory%s%s", "", ""); return NULL; }
        m->f = f;
        m->cap = cap;
    }
    family *f = &m->f[m->nf];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    f->type = type;
    if (!f->name) { fail(err, errlen, "out of memory%s%s", "", ""); return NULL; }
    m->nf++;
    return f;
}

static void put_escaped(ml_buf *b, const char *s, int quote) {
    for (; *s; s++) {
        if (*s == '\\') ml_buf_add(b, "\\\\", 2);
        else if (*s == '\n') ml_buf_add(b, "\\n", 2);
        else if (quote && *s == '"') ml_buf_add(b, "\\\"", 2);
        else ml_buf_add(b, s, 1);
    }
}

static int by_key(const void *a, const void *b) {
    return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

/* Renders the labels sorted by name into b (k="v",...). */
static int render_labels(ml_buf *b, const ml_labels *l, char *err, size_t errlen) {
    if (!l || l->n == 0) { ml_buf_add(b, "", 0); return 0; }
    if (l->n > MAX_LABELS) return fail(err, errlen, "too many labels (at most 16)%s%s", "", "");
    const char *const *order[MAX_LABELS];
    for (int i = 0; i < l->n; i++) {
        if (!valid_name(l->keys[i], 0) || strncmp(l->keys[i], "__", 2) == 0)
            return fail(err, errlen, "invalid label name '%s'%s", l->keys[i] ? l->keys[i] : "", "");
        order[i] = &l->keys[i];
    }
    qsort(order, l->n, sizeof order[0], by_key);
    for (int i = 0; i < l->n; i++) {
        int k = (int)(order[i] - l->keys);
        if (i > 0 && strcmp(l->keys[k], *order[i - 1]) == 0) return fail(err, errlen, "label '%s' given twice%s", l->keys[k], "");
        if (i) ml_buf_add(b, ",", 1);
        ml_buf_puts(b, l->keys[k]);
        ml_buf_add(b, "=\"", 2);
        put_escaped(b, l->vals[k], 1);
        ml_buf_add(b, "\"", 1);
    }
    ml_buf_add(b, "", 0);
    return b->failed ? fail(err, errlen, "out of memory%s%s", "", "") : 0;
}

/* The series of f with these labels, created when new. Lock held. */
static series *find_series(family *f, const ml_labels *l, char *err, size_t errlen) {
    ml_buf b = {0};
    if (render_labels(&b, l, err, errlen) < 0) { ml_buf_free(&b); return NULL; }
    const char *key = b.data ? b.data : "";
    for (int i = 0; i < f->ns; i++)
        if (strcmp(f->s[i].labels, key) == 0) { ml_buf_free(&b); return &f->s[i]; }
    if (f->ns == f->cap) {
        int cap = f->cap ? 2 * f->cap : 8;
        series *s = realloc(f->s, cap * sizeof *s);
        if (!s) { ml_buf_free(&b); fail(err, errlen, "out of memory%s%s", "", ""); return NULL; }
        f->s = s;
        f->cap = cap;
    }
    series *s = &f->s[f->ns];
    memset(s, 0, sizeof *s);
    s->labels = b.data ? b.data : strdup("");
    if (f->type == ML_METRIC_HISTOGRAM) s->buckets = calloc(f->nb ? f->nb : 1, sizeof *s->buckets);
    if (!s->labels || (f->type == ML_METRIC_HISTOGRAM && !s->buckets)) {
        free(s->labels);
        free(s->buckets);
        fail(err, errlen, "out of memory%s%s", "", "");
        return NULL;
    }
    f->ns++;
    return s;
}

int ml_metrics_help(ml_metrics *m, const char *name, const char *help, ml_metric_type type, char *err, size_t errlen) {
    pthread_mutex_lock(&m->mu);
    family *f = find_family(m, name, type, 1, err, errlen);
    if (f) {
        char *h = strdup(help ? help : "");
        if (h) { free(f->help); f->help = h; }
    }
    pthread_mutex_unlock(&m->mu);
    return f ? 0 : -1;
}

int ml_metrics_add(ml_metrics *m, const char *name, ml_metric_type type, const ml_labels *l, double v, int set,
                   char *err, size_t errlen) {
    if (type == ML_METRIC_COUNTER && !(v >= 0)) {
        char what[48];
        snprintf(what, sizeof what, "%g", v);
        return fail(err, errlen, "counter '%s' can only go up, got an increment of %s", name, what);
    }
    pthread_mutex_lock(&m->mu);
    family *f = find_family(m, name, type, 1, err, errlen);
    series *s = f ? find_series(f, l, err, errlen) : NULL;
    if (s) s->value = set ? v : s->value + v;
    pthread_mutex_unlock(&m->mu);
    return s ? 0 : -1;
}

int ml_metrics_observe(ml_metrics *m, const char *name, const ml_labels *l, double v, const double *buckets, int nb,
                       char *err, size_t errlen) {
    if (buckets) {
        if (nb < 1 || nb > MAX_BUCKETS) return fail(err, errlen, "histogram '%s': expected 1 to 64 buckets%s", name, "");
        for (int i = 0; i < nb; i++)
            if (!isfinite(buckets[i]) || (i && !(buckets[i] > buckets[i - 1])))
                return fail(err, errlen, "histogram '%s': buckets must be finite and ascending%s", name, "");
    }
    pthread_mutex_lock(&m->mu);
    family *f = find_family(m, name, ML_METRIC_HISTOGRAM, 1, err, errlen);
    if (f && !f->bounds) {
        const double *src = buckets ? buckets : default_bounds;
        int n = buckets ? nb : (int)(sizeof default_bounds / sizeof *default_bounds);
        f->bounds = malloc(n * sizeof *f->bounds);
        if (f->bounds) { memcpy(f->bounds, src, n * sizeof *src); f->nb = n; }
        else { fail(err, errlen, "out of memory%s%s", "", ""); f = NULL; }
    }
    series *s = f ? find_series(f, l, err, errlen) : NULL;
    if (s) {
        int i = 0;
        while (i < f->nb && v > f->bounds[i]) i++;
        if (i < f->nb) s->buckets[i] += 1;
        s->value += v;
        s->count += 1;
    }
    pthread_mutex_unlock(&m->mu);
    return s ? 0 : -1;
}

void ml_metrics_put_number(ml_buf *b, double v) {
    if (isnan(v)) { ml_buf_puts(b, "NaN"); return; }
    if (isinf(v)) { ml_buf_puts(b, v > 0 ? "+Inf" : "-Inf"); return; }
    if (v == floor(v) && fabs(v) < 1e15) { ml_buf_printf(b, "%.0f", v); return; }
    char s[40];
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v) break;
    }
    ml_buf_puts(b, s);
}

static void put_sample(ml_buf *b, const char *name, const char *suffix, const char *labels, const char *extra, double v) {
    ml_buf_puts(b, name);
    ml_buf_puts(b, suffix);
    if (*labels || extra) {
        ml_buf_add(b, "{", 1);
        ml_buf_puts(b, labels);
        if (extra) {
            if (*labels) ml_buf_add(b, ",", 1);
            ml_buf_puts(b, extra);
        }
        ml_buf_add(b, "}", 1);
    }
    ml_buf_add(b, " ", 1);
    ml_metrics_put_number(b, v);
    ml_buf_add(b, "\n", 1);
}

void ml_metrics_text(ml_metrics *m, ml_buf *out) {
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < m->nf; i++) {
        family *f = &m->f[i];
        if (f->help && *f->help) {
            ml_buf_printf(out, "# HELP %s ", f->name);
            put_escaped(out, f->help, 0);
            ml_buf_add(out, "\n", 1);
        }
        ml_buf_printf(out, "# TYPE %s %s\n", f->name, type_names[f->type]);
        for (int j = 0; j < f->ns; j++) {
            series *s = &f->s[j];
            if (f->type != ML_METRIC_HISTOGRAM) { put_sample(out, f->name, "", s->labels, NULL, s->value); continue; }
            double cum = 0;
            for (int k = 0; k <= f->nb; k++) {
                ml_buf le = {0};
                ml_buf_puts(&le, "le=\"");
                if (k < f->nb) ml_metrics_put_number(&le, f->bounds[k]);
                else ml_buf_puts(&le, "+Inf");
                ml_buf_puts(&le, "\"");
                cum = k < f->nb ? cum + s->buckets[k] : s->count;
                put_sample(out, f->name, "_bucket", s->labels, le.data ? le.data : "", cum);
                ml_buf_free(&le);
            }
            put_sample(out, f->name, "_sum", s->labels, NULL, s->value);
            put_sample(out, f->name, "_count", s->labels, NULL, s->count);
        }
    }
    pthread_mutex_unlock(&m->mu);
}
