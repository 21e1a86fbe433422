/* The metrics registry of one HTTP server: counters, gauges and histograms
 * with labels, shared by every worker thread (one mutex; each call holds it
 * for a lookup and an add), written out in Prometheus' text exposition
 * format 0.0.4. Knows nothing of Lua. */
#ifndef ML_NET_METRICS_H
#define ML_NET_METRICS_H

#include <stddef.h>

#include "../core/buf.h"

typedef enum { ML_METRIC_COUNTER, ML_METRIC_GAUGE, ML_METRIC_HISTOGRAM } ml_metric_type;

typedef struct ml_metrics ml_metrics;

ml_metrics *ml_metrics_new(void);
void ml_metrics_free(ml_metrics *m); /* NULL-safe */

/* Label pairs of one sample: keys[i] = vals[i], n of them (any order). */
typedef struct {
    const char *const *keys;
    const char *const *vals;
    int n;
} ml_labels;

/* Declares name's help text and type (creating the family when new). */
int ml_metrics_help(ml_metrics *m, const char *name, const char *help, ml_metric_type type, char *err, size_t errlen);
/* counter: += v (v >= 0); gauge: = v when set, else += v. */
int ml_metrics_add(ml_metrics *m, const char *name, ml_metric_type type, const ml_labels *l, double v, int set,
                   char *err, size_t errlen);
/* histogram: one observation; buckets (ascending upper bounds, nb of them)
 * are fixed by the first use of the name (NULL: the default buckets). */
int ml_metrics_observe(ml_metrics *m, const char *name, const ml_labels *l, double v, const double *buckets, int nb,
                       char *err, size_t errlen);
/* Appends the text exposition of every family, in the order they appeared. */
void ml_metrics_text(ml_metrics *m, ml_buf *out);
/* Shortest text that reads back to v ("+Inf", "-Inf", "NaN" as Prometheus writes them). */
void ml_metrics_put_number(ml_buf *b, double v);

#endif
