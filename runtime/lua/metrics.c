/* ml._metrics: the kernels of ml.metrics (runtime/ops/metrics.c).
 *
 *   unique(a, [b])                 -> classes: the sorted distinct values of a (and b); int64 or float64, 1-D
 *   codes(y, classes)              -> codes (int64 [n], 1..K, 0 = absent), first absent position (1-based) or nil
 *   confusion(t, p, k, [w])        -> C float64 [k, k]: summed weights of (true code, predicted code)
 *   class_sums(t, p, k, [w])       -> tp, pred, truth (float64 [k]): per-class weight sums, in sample order
 *   curve(score, pos, [w], [drop]) -> fps, tps, thr (float64 [m]): _binary_clf_curve (score float64 [n],
 *                                     pos bool [n], w float64 [n] or nil; drop: roc_curve's drop_intermediate)
 *   roc_auc(fps, tps)              -> the area under the ROC curve of that curve
 *   average_precision(fps, tps)    -> average precision of that curve */
#include <string.h>

#include "../ops/metrics.h"
#include "lbind.h"

/* A 1-D tensor argument of dtype dt, retained and contiguous (nil allowed when optional: NULL). */
static ml_tensor *check_vector(lua_State *L, int idx, const char *fn, const char *what, ml_dtype dt, bool optional) {
    if (optional && lua_isnoneornil(L, idx)) return NULL;
    ml_tensor *t = lb_check_tensor(L, idx, fn);
    if (t->ndim != 1 || t->dtype != dt)
        luaL_error(L, "%s: %s must be a 1-D %s tensor, got %d-D %s", fn, what, ml_dtype_name(dt), t->ndim, ml_dtype_name(t->dtype));
    ml_tensor *c = ml_contiguous(t);
    if (!c) lb_raise_as(L, fn);
    return c;
}

/* Pushes t (a new reference) narrowed to its first n elements. */
static void push_prefix(lua_State *L, ml_tensor *t, int64_t n, const char *fn) {
    t->shape[0] = n; /* a fresh contiguous tensor of our own: its header may shrink */
    t->numel = n;
    (void)fn;
    lb_push_tensor(L, t);
}

static int l_unique(lua_State *L) {
    static const char *fn = "ml._metrics.unique";
    ml_tensor *a0 = lb_check_tensor(L, 1, fn);
    ml_dtype dt = a0->dtype;
    if (dt != ML_INT64 && dt != ML_FLOAT64) luaL_error(L, "%s: labels must be int64 or float64, got %s", fn, ml_dtype_name(dt));
    ml_tensor *a = check_vector(L, 1, fn, "the labels", dt, false);
    ml_tensor *b = NULL;
    if (!lua_isnoneornil(L, 2)) {
        ml_tensor *b0 = lb_test_tensor(L, 2);
        if (!b0 || b0->ndim != 1 || b0->dtype != dt) {
            ml_release(a);
            return luaL_error(L, "%s: the second labels must be a 1-D %s tensor like the first", fn, ml_dtype_name(dt));
        }
        b = ml_contiguous(b0);
        if (!b) { ml_release(a); return lb_raise_as(L, fn); }
    }
    int64_t na = a->numel, nb = b ? b->numel : 0, shape[1] = {na + nb > 0 ? na + nb : 1}, k = 0;
    ml_tensor *out = ml_empty(1, shape, dt);
    int rc = !out ? -1
             : dt == ML_INT64 ? ml_label_unique_i64(ml_data(out), &k, ml_data(a), na, b ? ml_data(b) : NULL, nb)
                              : ml_label_unique_f64(ml_data(out), &k, ml_data(a), na, b ? ml_data(b) : NULL, nb);
    ml_release(a), ml_release(b);
    if (rc) { ml_release(out); return lb_raise_as(L, fn); }
    push_prefix(L, out, k, fn);
    lb_gc_account(L);
    return 1;
}

static int l_codes(lua_State *L) {
    static const char *fn = "ml._metrics.codes";
    ml_tensor *y0 = lb_check_tensor(L, 1, fn);
    ml_dtype dt = y0->dtype;
    if (dt != ML_INT64 && dt != ML_FLOAT64) luaL_error(L, "%s: labels must be int64 or float64, got %s", fn, ml_dtype_name(dt));
    ml_tensor *c0 = lb_check_tensor(L, 2, fn);
    if (c0->ndim != 1 || c0->dtype != dt) luaL_error(L, "%s: the classes must be a 1-D %s tensor like the labels", fn, ml_dtype_name(dt));
    ml_tensor *y = check_vector(L, 1, fn, "the labels", dt, false);
    ml_tensor *c = ml_contiguous(c0);
    if (!c) { ml_release(y); return lb_raise_as(L, fn); }
    int64_t n = y->numel, shape[1] = {n}, first = -1;
    ml_tensor *out = ml_empty(1, shape, ML_INT64);
    int rc = !out ? -1
             : dt == ML_INT64 ? ml_label_codes_i64(ml_data(out), &first, ml_data(y), n, ml_data(c), c->numel)
                              : ml_label_codes_f64(ml_data(out), &first, ml_data(y), n, ml_data(c), c->numel);
    ml_release(y), ml_release(c);
    if (rc) { ml_release(out); return lb_raise_as(L, fn); }
    lb_push_tensor(L, out);
    if (first < 0) lua_pushnil(L);
    else lua_pushinteger(L, first + 1);
    lb_gc_account(L);
    return 2;
}

/* confusion (sums = false) or class_sums (sums = true): the same arguments */
static int codes_counts(lua_State *L, const char *fn, bool sums) {
    lua_Integer k = luaL_checkinteger(L, 3);
    /* the confusion matrix is k x k; the class sums are 3 x k, so any k the labels can hold
       (lua_pushfstring knows %I, not %lld) */
    lua_Integer kmax = sums ? ((lua_Integer)1 << 40) : ((lua_Integer)1 << 16);
    if (k < 1 || k > kmax) return luaL_error(L, "%s: k = %I, expected 1..%I classes", fn, k, kmax);
    ml_tensor *t = check_vector(L, 1, fn, "the true codes", ML_INT64, false);
    ml_tensor *p = NULL, *w = NULL, *C = NULL;
    const char *bad = NULL;
    char msg[160];
    ml_tensor *p0 = lb_test_tensor(L, 2), *w0 = lua_isnoneornil(L, 4) ? NULL : lb_test_tensor(L, 4);
    if (!p0 || p0->ndim != 1 || p0->dtype != ML_INT64 || p0->numel != t->numel) {
        snprintf(msg, sizeof msg, "the predicted codes must be a 1-D int64 tensor of %lld codes", (long long)t->numel);
        bad = msg;
        goto fail;
    }
    if (!lua_isnoneornil(L, 4) && (!w0 || w0->ndim != 1 || w0->dtype != ML_FLOAT64 || w0->numel != t->numel)) {
        snprintf(msg, sizeof msg, "the weights must be a 1-D float64 tensor of %lld values", (long long)t->numel);
        bad = msg;
        goto fail;
    }
    p = ml_contiguous(p0);
    w = w0 ? ml_contiguous(w0) : NULL;
    int64_t shape[2] = {sums ? 3 : k, k};
    C = ml_empty(2, shape, ML_FLOAT64);
    if (!p || (w0 && !w) || !C) {
        bad = ml_last_error();
        goto fail;
    }
    double *c = ml_data(C);
    const double *wd = w ? ml_data(w) : NULL;
    int rc = sums ? ml_class_sums(c, c + k, c + 2 * k, ml_data(t), ml_data(p), wd, t->numel, k)
                  : ml_confusion_counts(c, ml_data(t), ml_data(p), wd, t->numel, k);
    if (rc) {
        bad = ml_last_error();
        goto fail;
    }
    ml_release(t), ml_release(p), ml_release(w);
    lb_push_tensor(L, C);
    lb_gc_account(L);
    return 1;
fail: {
    char out[320];
    snprintf(out, sizeof out, "%s: %s", fn, bad);
    ml_release(t), ml_release(p), ml_release(w), ml_release(C);
    return luaL_error(L, "%s", out);
}
}

static int l_confusion(lua_State *L) { return codes_counts(L, "ml._metrics.confusion", false); }
static int l_class_sums(lua_State *L) { return codes_counts(L, "ml._metrics.class_sums", true); }

static int l_curve(lua_State *L) {
    static const char *fn = "ml._metrics.curve";
    ml_tensor *s0 = lb_check_tensor(L, 1, fn), *p0 = lb_check_tensor(L, 2, fn);
    ml_tensor *w0 = lua_isnoneornil(L, 3) ? NULL : lb_check_tensor(L, 3, fn);
    bool drop = lua_toboolean(L, 4);
    int64_t n = s0->numel;
    if (s0->ndim != 1 || s0->dtype != ML_FLOAT64) return luaL_error(L, "%s: the scores must be a 1-D float64 tensor", fn);
    if (p0->ndim != 1 || p0->dtype != ML_BOOL || p0->numel != n)
        return luaL_error(L, "%s: the positives must be a 1-D bool tensor of %I values", fn, (lua_Integer)n);
    if (w0 && (w0->ndim != 1 || w0->dtype != ML_FLOAT64 || w0->numel != n))
        return luaL_error(L, "%s: the weights must be a 1-D float64 tensor of %I values", fn, (lua_Integer)n);
    if (n > ML_CURVE_MAX_N)
        return luaL_error(L, "%s: at most %I scores, got %I", fn, (lua_Integer)ML_CURVE_MAX_N, (lua_Integer)n);
    ml_tensor *s = ml_contiguous(s0), *p = ml_contiguous(p0), *w = w0 ? ml_contiguous(w0) : NULL;
    int64_t shape[1] = {n > 0 ? n : 1}, m = 0;
    /* the sort's scratch as a tensor: big blocks come back from the storage cache, without page faults */
    int64_t scratch_shape[1] = {(int64_t)(2 * (n > 0 ? n : 1) * sizeof(ml_curve_item) / sizeof(double))};
    ml_tensor *fps = ml_empty(1, shape, ML_FLOAT64), *tps = ml_empty(1, shape, ML_FLOAT64), *thr = ml_empty(1, shape, ML_FLOAT64);
    ml_tensor *scratch = ml_empty(1, scratch_shape, ML_FLOAT64);
    int rc = (!s || !p || (w0 && !w) || !fps || !tps || !thr || !scratch)
                 ? -1
                 : ml_binary_clf_curve(ml_data(fps), ml_data(tps), ml_data(thr), &m, ml_data(scratch), ml_data(s), ml_data(p),
                                       w ? ml_data(w) : NULL, n);
    if (!rc && drop) ml_curve_drop_intermediate(ml_data(fps), ml_data(tps), ml_data(thr), &m);
    ml_release(s), ml_release(p), ml_release(w), ml_release(scratch);
    if (rc) {
        ml_release(fps), ml_release(tps), ml_release(thr);
        return lb_raise_as(L, fn);
    }
    push_prefix(L, fps, m, fn);
    push_prefix(L, tps, m, fn);
    push_prefix(L, thr, m, fn);
    lb_gc_account(L);
    return 3;
}

/* The two curve tensors of a summary, checked: float64, 1-D, the same non-zero length. */
static void check_curve(lua_State *L, const char *fn, ml_tensor **fps, ml_tensor **tps) {
    ml_tensor *f = lb_check_tensor(L, 1, fn), *t = lb_check_tensor(L, 2, fn);
    if (f->ndim != 1 || t->ndim != 1 || f->dtype != ML_FLOAT64 || t->dtype != ML_FLOAT64 || f->numel != t->numel || f->numel == 0)
        luaL_error(L, "%s: fps and tps must be non-empty 1-D float64 tensors of one length", fn);
    *fps = ml_contiguous(f);
    *tps = ml_contiguous(t);
    if (!*fps || !*tps) {
        ml_release(*fps), ml_release(*tps);
        lb_raise_as(L, fn);
    }
}

static int l_roc_auc(lua_State *L) {
    ml_tensor *f, *t;
    check_curve(L, "ml._metrics.roc_auc", &f, &t);
    double v = ml_curve_roc_auc(ml_data(f), ml_data(t), f->numel);
    ml_release(f), ml_release(t);
    lua_pushnumber(L, v);
    return 1;
}

static int l_average_precision(lua_State *L) {
    ml_tensor *f, *t;
    check_curve(L, "ml._metrics.average_precision", &f, &t);
    double v = ml_curve_average_precision(ml_data(f), ml_data(t), f->numel);
    ml_release(f), ml_release(t);
    lua_pushnumber(L, v);
    return 1;
}

void lb_open_metrics(lua_State *L) {
    static const luaL_Reg fns[] = {{"unique", l_unique},   {"codes", l_codes},     {"confusion", l_confusion}, {"class_sums", l_class_sums},
                                   {"curve", l_curve},     {"roc_auc", l_roc_auc}, {"average_precision", l_average_precision},
                                   {NULL, NULL}};
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), fns);
    static const lb_doc docs[] = {
        {"unique", "ml._metrics.unique(a, [b]) -> classes — the sorted distinct values of int64 or float64 labels a (and b)"},
        {"codes", "ml._metrics.codes(y, classes) -> codes, first_absent — each label's 1-based position among the sorted classes (0 absent)"},
        {"confusion", "ml._metrics.confusion(t, p, k, [w]) -> C float64 [k, k] — summed weights of (true code, predicted code)"},
        {"class_sums", "ml._metrics.class_sums(t, p, k, [w]) -> S float64 [3, k] — per class: weight predicted right, predicted as it, "
                       "truly of it (sums in sample order, as numpy's bincount)"},
        {"curve", "ml._metrics.curve(score, pos, [w], [drop]) -> fps, tps, thr — scikit-learn's _binary_clf_curve (distinct scores "
                  "descending), drop: roc_curve's drop_intermediate"},
        {"roc_auc", "ml._metrics.roc_auc(fps, tps) -> number — the area under the ROC curve of a curve"},
        {"average_precision", "ml._metrics.average_precision(fps, tps) -> number — the average precision of a curve"},
        {NULL, NULL},
    };
    lb_add_docs(L, lua_gettop(L), docs);
    lua_setfield(L, 1, "_metrics");
}
