/* Differentiable backward rules (create_graph): each rule here computes what
 * its op's C rule computes, through recorded ops only, so that the gradient
 * it returns can be differentiated again. Masks (ReLU's, leaky ReLU's,
 * clamp's) are constants: their derivative is zero almost everywhere. */
#include "graph_rules.h"

#include <math.h>
#include <string.h>

#include "../ops/conv.h"
#include "../ops/ops.h"

/* unary.c's rules past the op table: clamp, then leaky_relu (GRAD_CLAMP, GRAD_LEAKY) */
enum { UNARY_CLAMP = ML_NUNARY, UNARY_LEAKY };

/* ---- temporaries: every intermediate is kept here and dropped at the end;
 * the helpers pass NULL through, so a chain stops at its first failure ---- */
typedef struct {
    ml_tensor *t[32];
    int n;
} temps;

static ml_tensor *keep(temps *T, ml_tensor *t) {
    if (t && T->n == 32) { ml_release(t); return ml_error("create_graph: too many temporaries"); }
    if (t) T->t[T->n++] = t;
    return t;
}
static void drop(temps *T) {
    for (int i = 0; i < T->n; i++) ml_release(T->t[i]);
    T->n = 0;
}
/* r as the rule's result: a new reference that outlives the temporaries */
static int give(temps *T, ml_tensor *r, ml_tensor **out) {
    *out = ml_retain(r);
    drop(T);
    return r ? 0 : -1;
}

static ml_tensor *mul(temps *T, ml_tensor *a, ml_tensor *b) { return a && b ? keep(T, ml_mul(a, b)) : NULL; }
static ml_tensor *dvd(temps *T, ml_tensor *a, ml_tensor *b) { return a && b ? keep(T, ml_div(a, b)) : NULL; }
static ml_tensor *add(temps *T, ml_tensor *a, ml_tensor *b) { return a && b ? keep(T, ml_add(a, b)) : NULL; }
/* a op s, or s op a when rev */
static ml_tensor *scal(temps *T, ml_binary_op op, ml_tensor *a, double s, bool rev) {
    return a ? keep(T, ml_binary_scalar(op, a, s, rev)) : NULL;
}
static ml_tensor *un(temps *T, ml_unary_op op, ml_tensor *a) { return a ? keep(T, ml_unary(op, a)) : NULL; }
static ml_tensor *tr(temps *T, ml_tensor *a) { return a ? keep(T, ml_transpose(a, a->ndim - 2, a->ndim - 1)) : NULL; }
static ml_tensor *mm(temps *T, ml_tensor *a, ml_tensor *b) { return a && b ? keep(T, ml_matmul(a, b)) : NULL; }
static ml_tensor *to_shape(temps *T, ml_tensor *a, ml_node *n, int k) {
    return a ? keep(T, ml_sum_to_shape(a, n->in_ndim[k], n->in_shape[k])) : NULL;
}
static ml_tensor *perm(temps *T, ml_tensor *a, const int *p) { return a ? keep(T, ml_permute(a, p)) : NULL; }
static ml_tensor *sub(temps *T, ml_tensor *a, ml_tensor *b) { return a && b ? keep(T, ml_sub(a, b)) : NULL; }
static ml_tensor *mean_rows(temps *T, ml_tensor *a) { return a ? keep(T, ml_mean(a, 1, true)) : NULL; } /* (M, D) -> (M, 1) */
static ml_tensor *sum_dim(temps *T, ml_tensor *a, int d) { return a ? keep(T, ml_sum(a, d, false)) : NULL; }
static ml_tensor *reshape(temps *T, ml_tensor *a, int nd, const int64_t *s) { return a ? keep(T, ml_reshape(a, nd, s)) : NULL; }

/* ---- the graph identities of saved tensors ---------------------------- */
/* Input k of n with its history: the saved values `data` as a tensor whose
 * gradient reaches input k (a saved contiguous copy has no grad_fn). */
static ml_tensor *graph_input(temps *T, ml_node *n, int k, ml_tensor *data) {
    if (!data) return NULL;
    if (n->leaf[k]) return keep(T, ml_retain(n->leaf[k]));
    if (!n->next[k] || data->grad_fn == n->next[k]) return keep(T, ml_retain(data));
    ml_tensor *a = ml_alias(data);
    if (!a) return NULL;
    a->grad_fn = n->next[k];
    a->grad_fn->refcount++;
    a->requires_grad = true;
    return keep(T, a);
}

/* n's saved output y as a tensor made by n: derivatives of y * ... flow back
 * through n itself (the node still never holds its output). */
static ml_tensor *graph_output(temps *T, ml_node *n, ml_tensor *y) {
    if (!y) return NULL;
    ml_tensor *a = ml_alias(y);
    if (!a) return NULL;
    a->grad_fn = n;
    n->refcount++;
    a->requires_grad = true;
    return keep(T, a);
}

/* A constant (no graph) made with recording off. */
typedef enum { MASK_POSITIVE, MASK_SIGN, MASK_ZERO, MASK_CLAMP } mask_kind;
static ml_tensor *constant_mask(temps *T, mask_kind kind, ml_tensor *x, double lo, double hi) {
    bool was = ml_grad_enabled();
    ml_set_grad_enabled(false);
    ml_tensor *d = ml_detach(x), *r = NULL;
    if (d) {
        if (kind == MASK_SIGN) {
            r = ml_unary(ML_SIGN, d);
        } else {
            ml_tensor *lo_t = ml_scalar(kind == MASK_CLAMP ? lo : 0, d->dtype);
            ml_compare_op op = kind == MASK_POSITIVE ? ML_GT : kind == MASK_ZERO ? ML_EQ : ML_GE;
            ml_tensor *b = lo_t ? ml_compare(op, d, lo_t) : NULL;
            r = b ? ml_to_dtype(b, d->dtype) : NULL;
            ml_release(b);
            ml_release(lo_t);
            if (r && kind == MASK_CLAMP) { /* NaN bounds are open, as unary.c's rule */
                if (lo != lo) { ml_release(r); r = ml_full(d->ndim, d->shape, d->dtype, 1); }
                ml_tensor *hi_t = r && hi == hi ? ml_scalar(hi, d->dtype) : NULL;
                ml_tensor *bh = hi_t ? ml_compare(ML_LE, d, hi_t) : NULL, *fh = bh ? ml_to_dtype(bh, d->dtype) : NULL;
                ml_tensor *both = fh ? ml_mul(r, fh) : NULL;
                if (hi == hi) { ml_release(r); r = both; } else ml_release(both);
                ml_release(hi_t), ml_release(bh), ml_release(fh);
            }
        }
    }
    ml_release(d);
    ml_set_grad_enabled(was);
    return r ? keep(T, r) : NULL;
}

/* ---- elementwise ------------------------------------------------------- */
static int unary_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    if ((n->saved[0] && !ml_saved(n, 0)) || (n->saved[1] && !ml_saved(n, 1))) return -1;
    temps T = {{0}, 0};
    ml_tensor *x = graph_input(&T, n, 0, n->saved[0]), *y = graph_output(&T, n, n->saved[1]), *r;
    switch (n->ctx.unary.op) {
    case ML_NEG: r = un(&T, ML_NEG, g); break;
    case ML_ABS: r = mul(&T, g, constant_mask(&T, MASK_SIGN, x, 0, 0)); break;
    case ML_EXP: r = mul(&T, g, y); break;
    case ML_LOG: r = dvd(&T, g, x); break;
    case ML_LOG1P: r = dvd(&T, g, scal(&T, ML_ADD, x, 1, false)); break;
    case ML_SQRT: r = scal(&T, ML_MUL, dvd(&T, g, y), 0.5, false); break;                      /* g / (2 y) */
    case ML_RSQRT: r = mul(&T, g, scal(&T, ML_MUL, mul(&T, y, mul(&T, y, y)), -0.5, false)); break; /* -y^3 / 2 */
    case ML_SIN: r = mul(&T, g, un(&T, ML_COS, x)); break;
    case ML_COS: r = un(&T, ML_NEG, mul(&T, g, un(&T, ML_SIN, x))); break;
    case ML_TANH: r = mul(&T, g, scal(&T, ML_SUB, mul(&T, y, y), 1, true)); break;              /* 1 - y^2 */
    case ML_SIGMOID: r = mul(&T, g, mul(&T, y, scal(&T, ML_SUB, y, 1, true))); break;          /* y (1 - y) */
    case ML_RELU: r = mul(&T, g, constant_mask(&T, MASK_POSITIVE, x, 0, 0)); break;
    case ML_SIGN: r = scal(&T, ML_MUL, g, 0, false); break;
    case UNARY_CLAMP: r = mul(&T, g, constant_mask(&T, MASK_CLAMP, x, n->ctx.unary.lo, n->ctx.unary.hi)); break;
    case UNARY_LEAKY: { /* slope + (1 - slope) [x > 0] */
        double s = n->ctx.unary.lo;
        ml_tensor *m = constant_mask(&T, MASK_POSITIVE, x, 0, 0);
        bool was = ml_grad_enabled();
        ml_set_grad_enabled(false);
        ml_tensor *f = scal(&T, ML_ADD, scal(&T, ML_MUL, m, 1 - s, false), s, false);
        ml_set_grad_enabled(was);
        r = mul(&T, g, f);
        break;
    }
    default:
        drop(&T);
        return ml_error("create_graph through %s is not supported yet", n->name) ? 0 : -1;
    }
    return give(&T, r, &gin[0]);
}

/* ---- products ------------------------------------------------------------ */
/* a bias's gradient: beta * g summed to its shape */
static int bias_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    if (n->n_in < 3 || !n->needs[2]) return 0;
    temps T = {{0}, 0};
    ml_tensor *s = to_shape(&T, g, n, 2);
    if (n->ctx.addmm.beta != 1) s = scal(&T, ML_MUL, s, n->ctx.addmm.beta, false);
    return give(&T, s, &gin[2]);
}

/* d(a@b)/da = alpha g @ b^T ; d(a@b)/db = alpha a^T @ g, reduced over broadcast batch dims */
static int matmul_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *as = ml_saved(n, 0), *bs = ml_saved(n, 1);
    if (!as || !bs) return -1;
    double alpha = n->ctx.addmm.alpha;
    temps T = {{0}, 0};
    ml_tensor *a = graph_input(&T, n, 0, as), *b = graph_input(&T, n, 1, bs);
    for (int k = 0; k < 2; k++) {
        if (!n->needs[k]) continue;
        ml_tensor *p = k == 0 ? mm(&T, g, tr(&T, b)) : mm(&T, tr(&T, a), g);
        if (alpha != 1) p = scal(&T, ML_MUL, p, alpha, false);
        gin[k] = ml_retain(to_shape(&T, p, n, k));
        if (!gin[k]) { drop(&T); return -1; }
    }
    drop(&T);
    return bias_graph(n, g, gin);
}

/* linear: y = x @ w^T + bias; d/dx = g @ w ; d/dw = g^T @ x */
static int linear_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *xs = ml_saved(n, 0), *ws = ml_saved(n, 1);
    if (!xs || !ws) return -1;
    temps T = {{0}, 0};
    ml_tensor *x = graph_input(&T, n, 0, xs), *w = graph_input(&T, n, 1, ws);
    if (n->needs[0] && !(gin[0] = ml_retain(mm(&T, g, w)))) { drop(&T); return -1; }
    if (n->needs[1] && !(gin[1] = ml_retain(mm(&T, tr(&T, g), x)))) { drop(&T); return -1; }
    drop(&T);
    return bias_graph(n, g, gin);
}

/* ---- reductions and views ------------------------------------------------ */
/* y = s^(1/p): g y / (p s), 0 where s = 0 (y is 0 there; s is made 1 so no
 * infinity enters the graph) */
static int root_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *ss = ml_saved(n, 0), *ys = ml_saved(n, 1);
    if (!ss || !ys) return -1;
    temps T = {{0}, 0};
    ml_tensor *s = graph_input(&T, n, 0, ss), *y = graph_output(&T, n, ys);
    ml_tensor *safe = add(&T, s, constant_mask(&T, MASK_ZERO, s, 0, 0));
    ml_tensor *r = dvd(&T, mul(&T, g, y), scal(&T, ML_MUL, safe, n->ctx.root.p, false));
    return give(&T, r, &gin[0]);
}

/* narrow / select: g placed in zeros of the input's shape, as a cat */
static int slice_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    int dim = n->ctx.slice.dim;
    int64_t start = n->ctx.slice.start, len = n->ctx.slice.len;
    temps T = {{0}, 0};
    ml_tensor *body = len < 0 ? keep(&T, ml_unsqueeze(g, dim)) : g;
    if (len < 0) len = 1;
    int64_t shape[ML_MAX_DIMS], after = n->in_shape[0][dim] - start - len;
    memcpy(shape, n->in_shape[0], sizeof shape);
    ml_tensor *parts[3];
    int np = 0;
    if (start > 0) { shape[dim] = start; parts[np++] = keep(&T, ml_zeros(n->in_ndim[0], shape, g->dtype)); }
    parts[np++] = body;
    if (after > 0) { shape[dim] = after; parts[np++] = keep(&T, ml_zeros(n->in_ndim[0], shape, g->dtype)); }
    for (int i = 0; i < np; i++)
        if (!parts[i]) { drop(&T); return -1; }
    ml_tensor *r = np == 1 ? body : keep(&T, ml_cat(np, parts, dim));
    return give(&T, r, &gin[0]);
}

/* cat: the slice of g for each input, in its dtype (recorded) */
static int cat_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    for (int k = 0; k < n->n_in; k++) {
        if (!n->needs[k]) continue;
        ml_tensor *s = ml_narrow(g, n->ctx.cat.dim, n->ctx.cat.start[k], n->ctx.cat.len[k]);
        gin[k] = s ? ml_to(s, n->in_dtype[k]) : NULL;
        ml_release(s);
        if (!gin[k]) return -1;
    }
    return 0;
}

static int to_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    gin[0] = ml_to(g, n->in_dtype[0]);
    return gin[0] ? 0 : -1;
}

/* ---- convolution --------------------------------------------------------- */
/* Both directions are bilinear in three kernels of one convolution (input
 * xc, weight w, output yc; conv2d's x and y, conv_transpose2d's z and x):
 * the forward conv(xc, w), its input gradient (a transposed convolution of
 * dy by w) and its weight gradient (below). The derivatives of each are the
 * other two, so both rules are written in recorded conv2d and
 * conv_transpose2d. Only the leading pads (top, left) reach the kernels;
 * each call picks the trailing pads that give back the size it needs. */
typedef struct {
    int s[2], p[2], d[2], groups;
    int64_t in[2], out[2], k[2]; /* xc's, yc's and the kernel's (H, W) */
} conv_geom;

static void geom_of(conv_geom *c, const ml_node *n, bool transposed) {
    for (int i = 0; i < 2; i++) {
        c->s[i] = n->ctx.conv.stride[i], c->p[i] = n->ctx.conv.pad[i], c->d[i] = n->ctx.conv.dil[i];
        c->in[i] = transposed ? n->out_shape[2 + i] : n->in_shape[0][2 + i];
        c->out[i] = transposed ? n->in_shape[0][2 + i] : n->out_shape[2 + i];
        c->k[i] = n->in_shape[1][2 + i];
    }
    c->groups = n->ctx.conv.groups;
}

/* a's dims 2 and 3 cut to (h, w) when longer */
static ml_tensor *cut(temps *T, ml_tensor *a, int64_t h, int64_t w) {
    if (a && a->shape[2] > h) a = keep(T, ml_narrow(a, 2, 0, h));
    if (a && a->shape[3] > w) a = keep(T, ml_narrow(a, 3, 0, w));
    return a;
}

/* yc = conv(xc, w), cut to the geometry's output size */
static ml_tensor *conv_fwd(temps *T, const conv_geom *c, ml_tensor *xc, ml_tensor *w) {
    ml_conv_opts o = {{c->s[0], c->s[1]}, {c->p[0], 0, c->p[1], 0}, {c->d[0], c->d[1]}, c->groups, false};
    for (int i = 0; i < 2; i++) { /* rows enough for out outputs */
        int64_t need = (c->out[i] - 1) * c->s[i] + (int64_t)c->d[i] * (c->k[i] - 1) + 1 - c->in[i] - c->p[i];
        o.pad[2 * i + 1] = need > 0 ? (int)need : 0;
    }
    ml_tensor *y = xc && w ? keep(T, ml_conv2d(xc, w, NULL, &o)) : NULL;
    return cut(T, y, c->out[0], c->out[1]);
}

/* dxc = the input gradient of conv(., w) at dy: a transposed convolution
 * whose trailing pad and output padding give back xc's size */
static ml_tensor *conv_dgrad(temps *T, const conv_geom *c, ml_tensor *dy, ml_tensor *w) {
    ml_conv_opts o = {{c->s[0], c->s[1]}, {c->p[0], 0, c->p[1], 0}, {c->d[0], c->d[1]}, c->groups, false};
    int op[2];
    for (int i = 0; i < 2; i++) {
        int64_t base = (c->out[i] - 1) * c->s[i] - c->p[i] + (int64_t)c->d[i] * (c->k[i] - 1) + 1;
        o.pad[2 * i + 1] = c->in[i] >= base ? 0 : (int)(base - c->in[i]);
        op[i] = c->in[i] >= base ? (int)(c->in[i] - base) : 0; /* < stride: in - base is the leftover rows */
    }
    return dy && w ? keep(T, ml_conv_transpose2d(dy, w, NULL, &o, op)) : NULL;
}

/* dw[o,c] = sum over n of xc[n,c] correlated with dy[n,o]: a convolution
 * of xc^T (C, N, H, W) by dy^T (OC, N, OH, OW) with stride and dilation
 * swapped, cut to the kernel's size, transposed back */
static ml_tensor *conv_wgrad(temps *T, const conv_geom *c, ml_tensor *xc, ml_tensor *dy) {
    static const int swap01[4] = {1, 0, 2, 3};
    conv_geom t = {{c->d[0], c->d[1]}, {c->p[0], c->p[1]}, {c->s[0], c->s[1]}, 1,
                   {c->in[0], c->in[1]}, {c->k[0], c->k[1]}, {c->out[0], c->out[1]}};
    return perm(T, conv_fwd(T, &t, perm(T, xc, swap01), perm(T, dy, swap01)), swap01);
}

static int conv_unsupported(const ml_node *n) {
    if (n->ctx.conv.reflect)
        return ml_error("create_graph through %s with padding_mode 'reflect' is not supported yet", n->name) ? 0 : -1;
    if (n->needs[1] && n->ctx.conv.groups != 1)
        return ml_error("create_graph through %s's weight with groups > 1 is not supported yet", n->name) ? 0 : -1;
    return 0;
}

/* the bias's gradient: g summed over all but the channels */
static int conv_bias_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    if (n->n_in < 3 || !n->needs[2]) return 0;
    temps T = {{0}, 0};
    return give(&T, sum_dim(&T, sum_dim(&T, sum_dim(&T, g, 3), 2), 0), &gin[2]);
}

/* y = conv2d(x, w) + b: dx = dgrad(g, w), dw = wgrad(x, g) */
static int conv_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    if (conv_unsupported(n) < 0) return -1;
    ml_tensor *xs = ml_saved(n, 0), *ws = ml_saved(n, 1);
    if (!xs || !ws) return -1;
    conv_geom c;
    geom_of(&c, n, false);
    temps T = {{0}, 0};
    ml_tensor *x = graph_input(&T, n, 0, xs), *w = graph_input(&T, n, 1, ws);
    if ((n->needs[0] && !(gin[0] = ml_retain(conv_dgrad(&T, &c, g, w)))) ||
        (n->needs[1] && !(gin[1] = ml_retain(conv_wgrad(&T, &c, x, g))))) {
        drop(&T);
        return -1;
    }
    drop(&T);
    return conv_bias_graph(n, g, gin);
}

/* z = conv_transpose2d(x, w) + b = dgrad(x, w): dx = conv(g, w), dw = wgrad(g, x) */
static int conv_transpose_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    if (conv_unsupported(n) < 0) return -1;
    ml_tensor *xs = ml_saved(n, 0), *ws = ml_saved(n, 1);
    if (!xs || !ws) return -1;
    conv_geom c;
    geom_of(&c, n, true);
    temps T = {{0}, 0};
    ml_tensor *x = graph_input(&T, n, 0, xs), *w = graph_input(&T, n, 1, ws);
    if ((n->needs[0] && !(gin[0] = ml_retain(conv_fwd(&T, &c, g, w)))) ||
        (n->needs[1] && !(gin[1] = ml_retain(conv_wgrad(&T, &c, g, x))))) {
        drop(&T);
        return -1;
    }
    drop(&T);
    return conv_bias_graph(n, g, gin);
}

/* ---- layer norm ------------------------------------------------------------ */
/* Over rows of D: xhat = (x - mean) rstd, rstd = (var + eps)^-1/2, recomputed
 * from x through recorded ops (rstd depends on x); with gw = g * weight:
 * dx = rstd (gw - mean(gw) - xhat mean(gw xhat)), dweight = sum over rows of
 * g xhat, dbias = sum over rows of g. */
static int layer_norm_graph(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *xs = ml_saved(n, 0), *ws = n->ctx.layer_norm.has_weight ? ml_saved(n, 1) : NULL;
    if (!xs || (n->ctx.layer_norm.has_weight && !ws)) return -1;
    int64_t D = n->ctx.layer_norm.D, rows[2] = {D ? xs->numel / D : 0, D};
    temps T = {{0}, 0};
    ml_tensor *x = graph_input(&T, n, 0, xs), *w = ws ? graph_input(&T, n, 1, ws) : NULL;
    ml_tensor *x2 = reshape(&T, x, 2, rows), *g2 = reshape(&T, g, 2, rows);
    ml_tensor *xc = sub(&T, x2, mean_rows(&T, x2)), *var = mean_rows(&T, mul(&T, xc, xc));
    ml_tensor *rstd = scal(&T, ML_POW, scal(&T, ML_ADD, var, n->ctx.layer_norm.eps, false), -0.5, false);
    ml_tensor *xhat = mul(&T, xc, rstd);
    if (n->needs[0]) {
        ml_tensor *gw = w ? mul(&T, g2, reshape(&T, w, 1, &D)) : g2;
        ml_tensor *inner = sub(&T, sub(&T, gw, mean_rows(&T, gw)), mul(&T, xhat, mean_rows(&T, mul(&T, gw, xhat))));
        ml_tensor *dx = mul(&T, inner, rstd);
        if (!dx || !(gin[0] = ml_reshape(dx, n->in_ndim[0], n->in_shape[0]))) { drop(&T); return -1; }
    }
    for (int k = 1; k <= 2; k++) {
        if (!n->needs[k]) continue;
        ml_tensor *s = sum_dim(&T, k == 1 ? mul(&T, g2, xhat) : g2, 0);
        if (!s || !(gin[k] = ml_reshape(s, n->in_ndim[k], n->in_shape[k]))) { drop(&T); return -1; }
    }
    drop(&T);
    return 0;
}

/* ---- the map --------------------------------------------------------------- */
ml_backward_fn ml_graph_rule(const ml_node *n) {
    ml_backward_fn b = n->backward;
    /* compositions of recorded ops already: the rule is its own graph form */
    if (b == ml_rule_binary || b == ml_rule_scalar || b == ml_rule_sum || b == ml_rule_reshape ||
        b == ml_rule_permute || b == ml_rule_expand || b == ml_rule_identity)
        return b;
    if (b == ml_rule_unary) return unary_graph;
    if (b == ml_rule_matmul) return matmul_graph;
    if (b == ml_rule_linear) return linear_graph;
    if (b == ml_rule_root) return root_graph;
    if (b == ml_rule_slice) return slice_graph;
    if (b == ml_rule_cat) return cat_graph;
    if (b == ml_rule_to) return to_graph;
    if (b == ml_rule_conv2d) return conv_graph;
    if (b == ml_rule_conv_transpose2d) return conv_transpose_graph;
    if (b == ml_rule_layer_norm) return layer_norm_graph;
    ml_error("create_graph through %s is not supported yet", n->name);
    return NULL;
}
