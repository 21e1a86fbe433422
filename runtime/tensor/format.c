/* Tensor printing: format analysis and layout (see format.h). */
#include "format.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"

const ml_printopts ml_printopts_default = {4, 3, 1000, 80, -1};

/* ---- the printed elements -------------------------------------------- */
typedef enum { FMT_INT, FMT_BOOL, FMT_FIXED, FMT_INTFLOAT, FMT_SCI } fmt_kind;

typedef struct {
    const ml_tensor *t;
    const ml_printopts *o;
    const char *base; /* storage data (element offsets are absolute) */
    int summarize;
    int64_t edge;
    /* analysis */
    int int_valued;  /* every nonzero finite value is an integer */
    int any;         /* some nonzero finite value was seen */
    double amin, amax;
    fmt_kind kind;
    int width;       /* widest printed value */
} fctx;

static double read_float(const fctx *c, int64_t off) {
    return c->t->dtype == ML_FLOAT32 ? (double)((const float *)c->base)[off] : ((const double *)c->base)[off];
}

/* Wide enough for "%.30f" of -DBL_MAX (precision is capped at 30 by the bindings). */
#define VBUF 400

static int fmt_value_(const fctx *c, int64_t off, char *out) {
    switch (c->t->dtype) {
    case ML_INT64: return snprintf(out, VBUF, "%lld", (long long)((const int64_t *)c->base)[off]);
    case ML_BOOL: return snprintf(out, VBUF, "%s", ((const uint8_t *)c->base)[off] ? "true" : "false");
    default: break;
    }
    double v = read_float(c, off);
    if (isnan(v)) return snprintf(out, VBUF, "nan");
    if (isinf(v)) return snprintf(out, VBUF, v > 0 ? "inf" : "-inf");
    switch (c->kind) {
    case FMT_SCI: return snprintf(out, VBUF, "%.*e", c->o->precision, v);
    case FMT_INTFLOAT: return snprintf(out, VBUF, "%.0f.", v);
    default: return snprintf(out, VBUF, "%.*f", c->o->precision, v);
    }
}

/* Formats the element at off into out (VBUF bytes); returns its length. */
static int fmt_value(const fctx *c, int64_t off, char *out) {
    int n = fmt_value_(c, off, out);
    return n < 0 ? 0 : n >= VBUF ? VBUF - 1 : n;
}

typedef void (*visit_fn)(fctx *c, int64_t off);

/* Visits the printed elements of dims d.. in order, starting at offset off. */
static void visit(fctx *c, int d, int64_t off, visit_fn fn) {
    const ml_tensor *t = c->t;
    if (d == t->ndim) { fn(c, off); return; }
    int64_t n = t->shape[d], st = t->strides[d];
    if (c->summarize && n > 2 * c->edge) {
        for (int64_t i = 0; i < c->edge; i++) visit(c, d + 1, off + i * st, fn);
        for (int64_t i = n - c->edge; i < n; i++) visit(c, d + 1, off + i * st, fn);
    } else {
        for (int64_t i = 0; i < n; i++) visit(c, d + 1, off + i * st, fn);
    }
}

static void analyze_one(fctx *c, int64_t off) {
    double v = read_float(c, off);
    if (!isfinite(v) || v == 0) return;
    double a = fabs(v);
    if (!c->any) { c->any = 1; c->amin = c->amax = a; }
    else {
        if (a < c->amin) c->amin = a;
        if (a > c->amax) c->amax = a;
    }
    if (c->int_valued && v != ceil(v)) c->int_valued = 0;
}

static void measure_one(fctx *c, int64_t off) {
    char tmp[VBUF];
    int n = fmt_value(c, off, tmp);
    if (n > c->width) c->width = n;
}

/* Chooses the format from the printed values, then the column width. */
static void analyze(fctx *c) {
    const ml_tensor *t = c->t;
    c->width = 1;
    if (t->dtype == ML_INT64) c->kind = FMT_INT;
    else if (t->dtype == ML_BOOL) c->kind = FMT_BOOL;
    else {
        c->int_valued = 1;
        c->any = 0;
        if (t->numel > 0) visit(c, 0, t->offset, analyze_one);
        int sci = 0;
        if (c->any) {
            double ratio = c->amax / c->amin;
            if (c->int_valued) sci = ratio > 1000.0 || c->amax > 1e8;
            else sci = ratio > 1000.0 || c->amax > 1e8 || c->amin < 1e-4;
        }
        if (c->o->sci_mode >= 0) sci = c->o->sci_mode;
        c->kind = sci ? FMT_SCI : c->int_valued ? FMT_INTFLOAT : FMT_FIXED;
    }
    if (t->numel > 0) visit(c, 0, t->offset, measure_one);
}

static void emit_value(fctx *c, ml_buf *sb, int64_t off) {
    char tmp[VBUF];
    int n = fmt_value(c, off, tmp);
    ml_buf_spaces(sb, c->width - n);
    ml_buf_add(sb, tmp, (size_t)n);
}

/* One row (the last dimension), wrapped at linewidth: as many items per line
 * as fit in linewidth - indent, " ..." counting as an item. */
static void emit_vector(fctx *c, ml_buf *sb, int64_t off, int indent) {
    const ml_tensor *t = c->t;
    int d = t->ndim - 1;
    int64_t n = t->shape[d], st = t->strides[d];
    int per_line = (c->o->linewidth - indent) / (c->width + 2);
    if (per_line < 1) per_line = 1;
    int summ = c->summarize && n > 2 * c->edge;
    int64_t items = summ ? 2 * c->edge + 1 : n;
    ml_buf_puts(sb, "[");
    for (int64_t k = 0; k < items; k++) {
        if (k > 0) {
            if (k % per_line == 0) {
                ml_buf_puts(sb, ",\n");
                ml_buf_spaces(sb, indent + 1);
            } else {
                ml_buf_puts(sb, ", ");
            }
        }
        if (!summ) emit_value(c, sb, off + k * st);
        else if (k < c->edge) emit_value(c, sb, off + k * st);
        else if (k == c->edge) ml_buf_puts(sb, c->edge ? " ..." : "...");
        else emit_value(c, sb, off + (n - (items - k)) * st);
    }
    ml_buf_puts(sb, "]");
}

/* Dims d.. at offset off; slices are separated by "," and one blank line per
 * dimension below the next. */
static void emit(fctx *c, ml_buf *sb, int d, int64_t off, int indent) {
    const ml_tensor *t = c->t;
    if (d == t->ndim - 1) { emit_vector(c, sb, off, indent); return; }
    int64_t n = t->shape[d], st = t->strides[d];
    int summ = c->summarize && n > 2 * c->edge;
    int64_t items = summ ? 2 * c->edge + 1 : n;
    int below = t->ndim - d - 1;
    ml_buf_puts(sb, "[");
    for (int64_t k = 0; k < items; k++) {
        if (k > 0) {
            ml_buf_puts(sb, ",");
            for (int i = 0; i < below; i++) ml_buf_puts(sb, "\n");
            ml_buf_spaces(sb, indent + 1);
        }
        if (!summ) emit(c, sb, d + 1, off + k * st, indent + 1);
        else if (k < c->edge) emit(c, sb, d + 1, off + k * st, indent + 1);
        else if (k == c->edge) ml_buf_puts(sb, "...");
        else emit(c, sb, d + 1, off + (n - (items - k)) * st, indent + 1);
        if (sb->failed) return;
    }
    ml_buf_puts(sb, "]");
}

/* Appends the body of t: "3.5000" for 0-d, "[]" when empty, else nested
 * brackets. `indent` is the column the body starts at (7 after "tensor("). */
static void format_body(ml_buf *sb, const ml_tensor *t, const ml_printopts *o, int indent) {
    fctx c;
    memset(&c, 0, sizeof c);
    c.t = t;
    c.o = o;
    c.base = t->storage ? (const char *)t->storage->data : NULL;
    c.edge = o->edgeitems < 0 ? 0 : o->edgeitems;
    c.summarize = t->numel > o->threshold;
    if (t->numel == 0) { ml_buf_puts(sb, "[]"); return; }
    analyze(&c);
    if (t->ndim == 0) { emit_value(&c, sb, t->offset); return; }
    emit(&c, sb, 0, t->offset, indent);
}

/* ", suffix", or ",\n<indent>suffix" when it would pass linewidth. */
static void add_suffix(ml_buf *sb, const char *suffix, int indent, int linewidth) {
    const char *nl = sb->data ? strrchr(sb->data, '\n') : NULL;
    size_t last = nl ? sb->len - (size_t)(nl + 1 - sb->data) : sb->len;
    if ((int)(last + 2 + strlen(suffix) + 1) > linewidth) {
        ml_buf_puts(sb, ",\n");
        ml_buf_spaces(sb, indent);
    } else {
        ml_buf_puts(sb, ", ");
    }
    ml_buf_puts(sb, suffix);
}

int ml_format_tensor(ml_buf *sb, const ml_tensor *t, const ml_printopts *o) {
    static const char prefix[] = "tensor(";
    const int indent = (int)sizeof prefix - 1;
    ml_buf_puts(sb, prefix);
    format_body(sb, t, o, indent);
    char suffix[160], shp[128];
    snprintf(suffix, sizeof suffix, "dtype=%s", ml_dtype_name(t->dtype));
    add_suffix(sb, suffix, indent, o->linewidth);
    snprintf(suffix, sizeof suffix, "shape=%s", ml_shape_str(shp, sizeof shp, t->ndim, t->shape));
    add_suffix(sb, suffix, indent, o->linewidth);
    if (t->grad_fn && t->grad_fn->name) {
        snprintf(suffix, sizeof suffix, "grad_fn=<%s>", t->grad_fn->name);
        add_suffix(sb, suffix, indent, o->linewidth);
    } else if (t->requires_grad) {
        add_suffix(sb, "requires_grad=true", indent, o->linewidth);
    }
    ml_buf_puts(sb, ")");
    return sb->failed ? -1 : 0;
}
