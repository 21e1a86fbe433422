/* Joining: cat and stack. (split and chunk are narrow views, made by the
 * bindings with ml_narrow.)
 *
 * cat promotes the inputs' dtypes like the elementwise ops (bool < int64 <
 * float32 < float64). Its backward hands each input the slice of the
 * gradient that covers it (a view, no copy). A node holds at most
 * ML_NODE_MAX_IN inputs, so a cat of more tensors is recorded as a tree:
 * groups of up to three inputs get a node on an intermediate header that
 * views their part of the output, and those headers are the inputs of the
 * next level. Nothing is copied twice. */
#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "ops.h"

/* ---- backward -------------------------------------------------------- */
/* ctx.cat: dim, and input k's start (relative to this node's output) and length along it. */
static int cat_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    int dim = n->ctx.cat.dim;
    for (int k = 0; k < n->n_in; k++) {
        if (!n->needs[k]) continue;
        ml_tensor *s = ml_narrow(g, dim, n->ctx.cat.start[k], n->ctx.cat.len[k]);
        if (s && s->dtype != n->in_dtype[k] && ml_dtype_is_float(n->in_dtype[k])) {
            ml_tensor *c = ml_to_dtype(s, n->in_dtype[k]);
            ml_release(s);
            s = c;
        }
        if (!s) return -1;
        gin[k] = s;
    }
    return 0;
}

/* One member of a level of the tree: a tensor (input or intermediate
 * header) covering [start, start + len) of the output along dim. */
typedef struct {
    ml_tensor *t; /* NULL: a group none of whose inputs requires grad */
    int64_t start, len;
    bool owned;
} member;

static ml_node *record_group(ml_tensor *out, member *m, int cnt, int dim, int64_t base) {
    ml_tensor *in[ML_NODE_MAX_IN] = {0};
    for (int k = 0; k < cnt; k++) in[k] = m[k].t;
    ml_node *n = ml_record("cat", cat_backward, out, cnt, in);
    if (!n) return NULL;
    n->ctx.cat.dim = dim;
    for (int k = 0; k < cnt; k++) {
        n->ctx.cat.start[k] = m[k].start - base;
        n->ctx.cat.len[k] = m[k].len;
    }
    return n;
}

static int record_cat(ml_tensor *out, int n, ml_tensor *const *ts, int dim) {
    member *lv = malloc(sizeof *lv * n);
    if (!lv) { ml_error("cat: out of memory"); return -1; }
    int64_t start = 0;
    for (int i = 0; i < n; i++) {
        lv[i] = (member){ts[i], start, ts[i]->shape[dim], false};
        start += ts[i]->shape[dim];
    }
    int cnt = n, rc = 0;
    while (cnt > ML_NODE_MAX_IN && rc == 0) {
        int next = 0;
        for (int i = 0; i < cnt; i += ML_NODE_MAX_IN) {
            int g = cnt - i < ML_NODE_MAX_IN ? cnt - i : ML_NODE_MAX_IN;
            member *grp = lv + i;
            int64_t s0 = grp[0].start, len = grp[g - 1].start + grp[g - 1].len - s0;
            member nm = {NULL, s0, len, false};
            ml_tensor *in[ML_NODE_MAX_IN];
            for (int k = 0; k < g; k++) in[k] = grp[k].t;
            if (g == 1) {
                nm = grp[0];
                grp[0].owned = false; /* moved */
            } else if (rc == 0 && ml_needs_record(g, in)) {
                int64_t shape[ML_MAX_DIMS];
                memcpy(shape, out->shape, sizeof shape);
                shape[dim] = len;
                nm.t = ml_view(out, out->ndim, shape, out->strides, out->offset + s0 * out->strides[dim]);
                nm.owned = true;
                if (!nm.t || !record_group(nm.t, grp, g, dim, s0)) rc = -1;
            }
            for (int k = 0; k < g; k++)
                if (grp[k].owned) ml_release(grp[k].t);
            lv[next++] = nm; /* next <= i: never overwrites an unread member */
        }
        cnt = next;
    }
    if (rc == 0) {
        ml_tensor *in[ML_NODE_MAX_IN];
        for (int k = 0; k < cnt; k++) in[k] = lv[k].t;
        if (ml_needs_record(cnt, in) && !record_group(out, lv, cnt, dim, 0)) rc = -1;
    }
    for (int k = 0; k < cnt; k++)
        if (lv[k].owned) ml_release(lv[k].t);
    free(lv);
    return rc;
}

/* ---- forward --------------------------------------------------------- */
static ml_tensor *cat_impl(const char *fn, int n, ml_tensor *const *ts, int dim) {
    if (n < 1) return ml_error("%s: expected a non-empty list of tensors", fn);
    const ml_tensor *t0 = ts[0];
    if (t0->ndim == 0) return ml_error("%s: tensor 1 is 0-d; zero-dimensional tensors cannot be concatenated", fn);
    if (dim < 0 || dim >= t0->ndim)
        return ml_error("%s: dimension %d out of range for tensors with %d dimensions", fn, dim + 1, t0->ndim);
    ml_dtype dt = t0->dtype;
    int64_t shape[ML_MAX_DIMS];
    memcpy(shape, t0->shape, sizeof shape);
    shape[dim] = 0;
    for (int i = 0; i < n; i++) {
        const ml_tensor *t = ts[i];
        bool ok = t->ndim == t0->ndim;
        for (int d = 0; ok && d < t0->ndim; d++) ok = d == dim || t->shape[d] == t0->shape[d];
        if (!ok) {
            char b1[128], b2[128];
            return ml_error("%s: tensor %d has shape %s, expected %s except in dimension %d", fn, i + 1,
                            ml_shape_str(b1, sizeof b1, t->ndim, t->shape),
                            ml_shape_str(b2, sizeof b2, t0->ndim, t0->shape), dim + 1);
        }
        shape[dim] += t->shape[dim];
        dt = ml_promote(dt, t->dtype);
    }
    ml_tensor *out = ml_empty(t0->ndim, shape, dt);
    if (!out) return NULL;
    /* out is (outer, total, inner); input i is (outer, n_i, inner) at offset start_i */
    int64_t outer = 1, inner = 1, total = shape[dim], start = 0;
    for (int d = 0; d < dim; d++) outer *= shape[d];
    for (int d = dim + 1; d < t0->ndim; d++) inner *= shape[d];
    size_t es = ml_dtype_size(dt);
    char *o = ml_data(out);
    for (int i = 0; i < n; i++) {
        ml_tensor *t = ts[i];
        int64_t ni = t->shape[dim];
        if (t->numel == 0) { start += ni; continue; }
        if (t->dtype == dt && ml_is_contiguous(t)) { /* block copies */
            const char *s = ml_data(t);
            size_t blk = (size_t)(ni * inner) * es;
            for (int64_t r = 0; r < outer; r++) memcpy(o + (size_t)((r * total + start) * inner) * es, s + r * blk, blk);
        } else {
            memcpy(shape, out->shape, sizeof shape);
            shape[dim] = ni;
            ml_tensor *v = ml_view(out, out->ndim, shape, out->strides, start * out->strides[dim]);
            int r = v ? ml_copy_into(v, t) : -1;
            ml_release(v);
            if (r < 0) { ml_release(out); return NULL; }
        }
        start += ni;
    }
    if (ml_needs_record(n, ts) && record_cat(out, n, ts, dim) < 0) {
        ml_release(out);
        return NULL;
    }
    return out;
}

ml_tensor *ml_cat(int n, ml_tensor *const *ts, int dim) { return cat_impl("cat", n, ts, dim); }

/* stack: every input gets a new dimension of size 1 at dim, then cat.
 * The backward is cat's slice followed by the unsqueeze's reshape. */
ml_tensor *ml_stack(int n, ml_tensor *const *ts, int dim) {
    const char *fn = "stack";
    if (n < 1) return ml_error("%s: expected a non-empty list of tensors", fn);
    const ml_tensor *t0 = ts[0];
    if (dim < 0 || dim > t0->ndim)
        return ml_error("%s: dimension %d out of range for stacking tensors with %d dimensions (1..%d)", fn, dim + 1,
                        t0->ndim, t0->ndim + 1);
    if (t0->ndim >= ML_MAX_DIMS) return ml_error("%s: at most %d dimensions", fn, ML_MAX_DIMS);
    for (int i = 1; i < n; i++) {
        if (!ml_same_shape(ts[i], t0)) {
            char b1[128], b2[128];
            return ml_error("%s: tensor %d has shape %s, expected %s (all tensors must have the same shape)", fn, i + 1,
                            ml_shape_str(b1, sizeof b1, ts[i]->ndim, ts[i]->shape),
                            ml_shape_str(b2, sizeof b2, t0->ndim, t0->shape));
        }
    }
    ml_tensor **us = calloc(n, sizeof *us);
    if (!us) return ml_error("%s: out of memory", fn);
    ml_tensor *out = NULL;
    int i;
    for (i = 0; i < n; i++)
        if (!(us[i] = ml_unsqueeze(ts[i], dim))) break;
    if (i == n) out = cat_impl(fn, n, us, dim);
    for (int k = 0; k < n; k++) ml_release(us[k]);
    free(us);
    return out;
}

/* the rule autograd/graph_rules.c knows by address (create_graph) */
const ml_backward_fn ml_rule_cat = cat_backward;
