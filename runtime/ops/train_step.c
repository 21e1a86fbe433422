/* The compiled training step (see train_step.h): one forward, loss and
 * backward through preallocated buffers, gradients written into the
 * parameters' .grad. Every expression is the general path's (named at each
 * step below), so the bits agree. */
#include "train_step.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "vecmath.h"

struct ml_train_plan {
    int n;
    ml_ts_layer *layers; /* (n) */
    int64_t in0, rows;   /* input features, most rows a batch may have */
    int64_t *width;      /* (n + 1) width[0] = in0, width[i + 1] = layer i's output */
    ml_ts_loss loss;
    ml_reduction red;
    int64_t *labels;     /* (rows) cross-entropy's 0-based targets */
    double *lanes;       /* (2 rows) cross-entropy's row losses and weights */
    float **act;         /* (n) act[i]: (rows, width[i + 1]) layer i's output */
    float *g0, *g1;      /* (rows, max width) the gradient flowing down, ping-pong */
    int first_grad;      /* the lowest layer index whose input needs a gradient (below it, none) */
    int nparams;
    ml_tensor **params;  /* (nparams) borrowed from layers: weight, bias in order */
    void *block;         /* the one allocation every buffer above lives in */
};

void ml_train_plan_free(ml_train_plan *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) {
        ml_release(p->layers[i].w);
        ml_release(p->layers[i].b);
    }
    free(p->block);
    free(p);
}

static bool is_f32_matrix(const ml_tensor *t, int ndim) {
    return t && t->dtype == ML_FLOAT32 && t->ndim == ndim && ml_is_contiguous(t);
}

ml_train_plan *ml_train_plan_new(int n, const ml_ts_layer *layers, int64_t in0, int64_t rows, ml_ts_loss loss,
                                 ml_reduction red) {
    if (n < 1 || n > 1024) return ml_error("train_step: %d layers (1 to 1024 supported)", n);
    if (rows < 1 || in0 < 1) return ml_error("train_step: batch of %lld rows, %lld features", (long long)rows, (long long)in0);
    if (red != ML_REDUCE_MEAN && red != ML_REDUCE_SUM) return ml_error("train_step: the loss must be reduced (mean or sum)");
    if (loss < 0 || loss >= ML_TS_NLOSSES) return ml_error("train_step: unknown loss");
    int64_t w = in0, maxw = in0, acts = 0;
    int nparams = 0, first_param = -1;
    for (int i = 0; i < n; i++) {
        const ml_ts_layer *l = &layers[i];
        if (l->kind < 0 || l->kind >= ML_TS_NKINDS) return ml_error("train_step: layer %d: unknown kind", i + 1);
        if (l->kind == ML_TS_LINEAR) {
            if (!is_f32_matrix(l->w, 2)) return ml_error("train_step: layer %d: weight must be a contiguous float32 matrix", i + 1);
            if (l->w->shape[1] != w)
                return ml_error("train_step: layer %d takes %lld features, gets %lld", i + 1, (long long)l->w->shape[1], (long long)w);
            if (l->b && (!is_f32_matrix(l->b, 1) || l->b->shape[0] != l->w->shape[0]))
                return ml_error("train_step: layer %d: bias must be a contiguous float32 vector of %lld", i + 1,
                                (long long)l->w->shape[0]);
            w = l->w->shape[0];
            nparams += l->b ? 2 : 1;
            if (first_param < 0) first_param = i;
        }
        if (w > maxw) maxw = w;
        acts += rows * w;
    }
    if (first_param < 0) return ml_error("train_step: no Linear layer, nothing to train");
    ml_train_plan *p = calloc(1, sizeof *p);
    if (!p) return ml_error("out of memory");
    /* one block: layers, widths, pointers, params, then 64-byte aligned floats */
    size_t head = sizeof(ml_ts_layer) * n + sizeof(int64_t) * (n + 1) + sizeof(float *) * n +
                  sizeof(ml_tensor *) * nparams + sizeof(int64_t) * rows + sizeof(double) * 2 * rows;
    head = (head + 63) & ~(size_t)63;
    size_t floats = (size_t)acts + 2 * (size_t)(rows * maxw) + 16 * (size_t)n;
    if (posix_memalign(&p->block, 64, head + sizeof(float) * floats)) { free(p); return ml_error("out of memory"); }
    char *c = p->block;
    p->layers = (ml_ts_layer *)c, c += sizeof(ml_ts_layer) * n;
    p->width = (int64_t *)c, c += sizeof(int64_t) * (n + 1);
    p->act = (float **)c, c += sizeof(float *) * n;
    p->params = (ml_tensor **)c, c += sizeof(ml_tensor *) * nparams;
    p->labels = (int64_t *)c, c += sizeof(int64_t) * rows;
    p->lanes = (double *)c;
    float *f = (float *)((char *)p->block + head);
    p->n = n, p->in0 = in0, p->rows = rows, p->loss = loss, p->red = red, p->nparams = nparams, p->first_grad = first_param + 1;
    p->width[0] = in0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        ml_ts_layer *l = &p->layers[i];
        *l = layers[i];
        if (l->kind == ML_TS_LINEAR) {
            l->w = ml_retain(l->w);
            p->params[k++] = l->w;
            if (l->b) p->params[k++] = l->b = ml_retain(l->b);
        } else {
            l->w = l->b = NULL;
        }
        p->width[i + 1] = l->kind == ML_TS_LINEAR ? l->w->shape[0] : p->width[i];
        p->act[i] = f;
        f += (rows * p->width[i + 1] + 15) & ~(int64_t)15; /* each buffer 64-byte aligned */
    }
    p->g0 = f;
    p->g1 = f + ((rows * maxw + 15) & ~(int64_t)15);
    return p;
}

int ml_train_plan_nparams(const ml_train_plan *p) { return p->nparams; }
ml_tensor *ml_train_plan_param(const ml_train_plan *p, int i) { return i >= 0 && i < p->nparams ? p->params[i] : NULL; }

/* The .grad a step writes, or NULL when it is not a contiguous float32 tensor of t's shape. */
static float *grad_of(const ml_tensor *t) {
    const ml_tensor *g = t->grad;
    if (!g || g->dtype != ML_FLOAT32 || !ml_same_shape(g, t) || !ml_is_contiguous(g)) return NULL;
    return ml_data(g);
}

/* ---- forward ------------------------------------------------------------ */
/* nn.Linear through ml_linear: the bias preset into the output rows, then
 * out = x @ W^T + out (beta 1), or x @ W^T (beta 0) without a bias. */
static void linear_fwd(float *restrict out, const float *x, const ml_ts_layer *l, int64_t m) {
    int64_t in = l->w->shape[1], o = l->w->shape[0];
    if (l->b) {
        const float *b = ml_data(l->b);
        for (int64_t i = 0; i < m; i++) memcpy(out + i * o, b, sizeof(float) * o);
    }
    ml_sgemm(false, true, m, o, in, 1.0f, x, in, ml_data(l->w), in, l->b ? 1.0f : 0.0f, out, o);
}

/* The elementwise loops are cloned for AVX-512 and AVX2 as the general
 * path's kernels are; each reads its operands into locals first (as
 * unary.c's loops do), so the selects vectorize. */
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
/* GCC's avx512f clone may fuse a * b + c (its EVEX FMA), which rounds once
 * where the general path (built for the baseline ISA) rounds twice:
 * contraction is off for this file. */
#pragma GCC optimize("fp-contract=off")

/* The activations: unary.c's expressions (optable.h's ML_RELU row, the
 * leaky kernel) and vecmath for the transcendental ones, as ml_unary does. */
CLONES static void act_fwd(const ml_ts_layer *l, float *restrict o, const float *restrict x, int64_t n) {
    switch (l->kind) {
    case ML_TS_RELU:
        for (int64_t i = 0; i < n; i++) { float v = x[i]; o[i] = !(v <= 0) ? v : 0; }
        break;
    case ML_TS_LEAKY_RELU: {
        float s = (float)l->slope;
        for (int64_t i = 0; i < n; i++) { float v = x[i]; o[i] = v > 0 ? v : v * s; }
        break;
    }
    case ML_TS_TANH: ml_vm_map_f32(ML_VM_TANH, o, x, n); break;
    case ML_TS_SIGMOID: ml_vm_map_f32(ML_VM_SIGMOID, o, x, n); break;
    case ML_TS_GELU: ml_vm_map_f32(ML_VM_GELU, o, x, n); break;
    default: break;
    }
}

/* ---- backward ----------------------------------------------------------- */
/* g * f'(x) as unary.c's fused backward: x the saved input, y the output. */
CLONES static void act_bwd(const ml_ts_layer *l, float *restrict o, const float *restrict g, const float *restrict x,
                    const float *restrict y, int64_t n) {
    switch (l->kind) {
    case ML_TS_RELU:
        for (int64_t i = 0; i < n; i++) { float gv = g[i], xv = x[i]; o[i] = xv > 0 ? gv : 0; }
        break;
    case ML_TS_LEAKY_RELU: {
        float s = (float)l->slope;
        for (int64_t i = 0; i < n; i++) { float gv = g[i], xv = x[i]; o[i] = xv > 0 ? gv : gv * s; }
        break;
    }
    case ML_TS_TANH:
        for (int64_t i = 0; i < n; i++) o[i] = g[i] * (1 - y[i] * y[i]);
        break;
    case ML_TS_SIGMOID:
        for (int64_t i = 0; i < n; i++) o[i] = g[i] * y[i] * (1 - y[i]);
        break;
    case ML_TS_GELU: ml_vm_gelu_grad_f32(o, g, x, n); break;
    default: break;
    }
}

/* The bias gradient: g (m, n) summed over its rows in double, in row order
 * (autograd.c's colsum; for n == 1, reduce.c's sum_f32, which below 256 rows
 * is the same running double sum, and above it adds 16-lane float blocks). */
#define COLSUM_BLOCK 256
CLONES static void bias_grad(float *restrict db, const float *restrict g, int64_t m, int64_t n) {
    if (n == 1) {
        double total = 0;
        int64_t i = 0;
        for (; i + 256 <= m; i += 256) {
            float a[16] = {0};
            for (int j = 0; j < 256; j += 16)
                for (int k = 0; k < 16; k++) a[k] += g[i + j + k];
            double s = 0;
            for (int k = 0; k < 16; k++) s += a[k];
            total += s;
        }
        for (; i < m; i++) total += g[i];
        db[0] = (float)total;
        return;
    }
    for (int64_t j0 = 0; j0 < n; j0 += COLSUM_BLOCK) { /* columns in blocks, the accumulators on the stack */
        int64_t w = n - j0 < COLSUM_BLOCK ? n - j0 : COLSUM_BLOCK;
        double acc[COLSUM_BLOCK] = {0};
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < w; j++) acc[j] += g[i * n + j0 + j];
        for (int64_t j = 0; j < w; j++) db[j0 + j] = (float)acc[j];
    }
}

/* linear_backward's products: dW = g^T @ x, dx = g @ W (when wanted). */
static void linear_bwd(const ml_train_plan *p, const ml_ts_layer *l, float *gx, const float *g, const float *x,
                       int64_t m) {
    int64_t in = l->w->shape[1], o = l->w->shape[0];
    ml_sgemm(true, false, o, in, m, 1.0f, g, o, x, in, 0.0f, grad_of(l->w), in);
    if (l->b) bias_grad(grad_of(l->b), g, m, o);
    if (gx) ml_sgemm(false, false, m, in, o, 1.0f, g, o, ml_data(l->w), in, 0.0f, gx, in);
}

/* scale_saved's o = d * k, in place */
CLONES static void scale(float *restrict g, float k, int64_t n) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] * k;
}

/* Whether y fits the loss for m rows of wl outputs; cross-entropy's labels
 * are converted to 0-based ones (none out of range) on the way. */
static bool target_fits(ml_train_plan *p, const ml_tensor *y, int64_t m, int64_t wl) {
    if (p->loss != ML_TS_CROSS_ENTROPY) return is_f32_matrix(y, 2) && y->shape[0] == m && y->shape[1] == wl;
    if (!y || y->dtype != ML_INT64 || y->ndim != 1 || y->shape[0] != m || !ml_is_contiguous(y)) return false;
    const int64_t *v = ml_data(y);
    for (int64_t i = 0; i < m; i++) {
        if (v[i] < 1 || v[i] > wl) return false;
        p->labels[i] = v[i] - 1;
    }
    return true;
}

/* The loss of the last output `out` (m, wl) and, into g, its gradient
 * before scaling by the reduction; returns the sum, *denom mean's divisor. */
static double loss_fwd(ml_train_plan *p, float *g, const float *out, const ml_tensor *y, int64_t m, int64_t wl,
                       double *denom) {
    int64_t numel = m * wl;
    double total;
    switch (p->loss) {
    case ML_TS_CROSS_ENTROPY: /* ml_cross_entropy: the row losses, divided by the rows' weight sum */
        total = ml_cross_entropy_raw(ML_FLOAT32, out, p->labels, m, wl, g, p->lanes, denom);
        break;
    case ML_TS_BCE_WITH_LOGITS:
        total = ml_bce_with_logits_raw(ML_FLOAT32, out, ml_data(y), g, numel);
        *denom = (double)numel;
        break;
    default: /* ml_mse_loss: g = 2 (x - y) */
        total = ml_mse_raw(ML_FLOAT32, out, ml_data(y), g, numel);
        *denom = (double)numel;
        break;
    }
    if (p->red != ML_REDUCE_MEAN) *denom = 1;
    return total;
}

const float *ml_train_plan_forward(ml_train_plan *p, const float *x, int64_t m) {
    if (m < 1 || m > p->rows) return NULL;
    const float *in = x;
    for (int i = 0; i < p->n; i++) {
        const ml_ts_layer *l = &p->layers[i];
        if (l->kind == ML_TS_LINEAR) linear_fwd(p->act[i], in, l, m);
        else act_fwd(l, p->act[i], in, m * p->width[i + 1]);
        in = p->act[i];
    }
    return in;
}

int64_t ml_train_plan_in_width(const ml_train_plan *p) { return p->width[0]; }
int64_t ml_train_plan_out_width(const ml_train_plan *p) { return p->width[p->n]; }
int64_t ml_train_plan_rows(const ml_train_plan *p) { return p->rows; }

ml_ts_status ml_train_plan_run(ml_train_plan *p, const ml_tensor *x, const ml_tensor *y, double *loss) {
    int n = p->n;
    if (!is_f32_matrix(x, 2) || x->shape[1] != p->in0 || x->shape[0] < 1 || x->shape[0] > p->rows) return ML_TS_DECLINE;
    int64_t m = x->shape[0], wl = p->width[n];
    for (int i = 0; i < p->nparams; i++)
        if (!grad_of(p->params[i])) return ML_TS_DECLINE;
    if (!target_fits(p, y, m, wl)) return ML_TS_DECLINE;

    const float *in = ml_train_plan_forward(p, ml_data(x), m);

    /* the 0-d float32 loss, and its backward: the saved gradient * (float)(1 / denom) (scale_saved) */
    int64_t numel = m * wl;
    double denom;
    float *g = p->g0, *gnext = p->g1;
    double total = loss_fwd(p, g, in, y, m, wl, &denom);
    float lv = (float)(p->red == ML_REDUCE_MEAN ? total / denom : total);
    *loss = lv;
    if (!isfinite(lv)) {
        /* fit stops here; the general path had zeroed the gradients before its forward */
        for (int i = 0; i < p->nparams; i++) memset(grad_of(p->params[i]), 0, sizeof(float) * p->params[i]->numel);
        return ML_TS_NONFINITE;
    }
    scale(g, (float)(1.0 / denom), numel);

    for (int i = n - 1; i >= p->first_grad - 1; i--) {
        const ml_ts_layer *l = &p->layers[i];
        const float *xin = i ? p->act[i - 1] : ml_data(x);
        bool want = i >= p->first_grad; /* does anything below need this layer's input gradient */
        if (l->kind == ML_TS_LINEAR) linear_bwd(p, l, want ? gnext : NULL, g, xin, m);
        else if (want) act_bwd(l, gnext, g, xin, p->act[i], m * p->width[i + 1]);
        if (!want) break;
        float *t = g;
        g = gnext;
        gnext = t;
    }
    for (int i = 0; i < p->nparams; i++) ml_bump_version(p->params[i]->grad);
    return ML_TS_DONE;
}
