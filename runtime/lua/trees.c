/* ml._trees: the decision-tree kernels (runtime/ops/tree.c) for ml.models'
 * trees and forests.
 *
 *   fit(X, y, opts) -> forest, [oob, oob_count]
 *       X float32 [n, d] contiguous, finite; y int64 codes 1..K [n] (opts.n_classes = K) or float64 [n, t].
 *       opts: criterion ("gini" | "entropy" | "squared_error"), random_splitter, max_depth (-1: none),
 *       min_samples_split, min_samples_leaf, min_weight_fraction_leaf, max_features, max_leaf_nodes (0: none),
 *       min_impurity_decrease, seeds (int64 [T]: one tree per seed), bootstrap, max_samples,
 *       balanced_subsample, sample_weight (float64 [n] or nil), threads, oob.
 *       forest: {children_left, children_right, feature (1-based, 0 at leaves), threshold, value [N, K],
 *       impurity, n_node_samples, weighted_n_node_samples, offsets (int64 [T + 1]), max_depth (int64 [T])};
 *       oob: float64 [n, K] the mean over the trees each row was out of bag for, oob_count [n].
 *   predict(forest, X, normalize) -> float64 [n, K]: the mean of the trees' leaf values (probabilities when normalize)
 *   apply(forest, X) -> int64 [n, T]: 1-based leaf ids
 *   importances(forest, d) -> float64 [T, d]: each tree's normalized impurity-based importances
 *   fanova(forest, bounds, groups, [max_cells]) -> marginal float64 [T, G], total float64 [T]: fANOVA's variances
 *       (runtime/ops/fanova.c) of a regression forest over the box bounds float64 [d, 2], the columns in groups
 *       (int64 [d], 1-based, G the largest); max_cells (default 2^20) bounds a group's cells per tree */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/parallel.h"
#include "../ops/fanova.h"
#include "../ops/tree.h"
#include "lbind.h"

static const char *const FOREST_FIELDS[] = {"children_left", "children_right", "feature", "threshold", "value",
                                            "impurity", "n_node_samples", "weighted_n_node_samples", "offsets", "max_depth"};
enum { F_LEFT, F_RIGHT, F_FEATURE, F_THRESHOLD, F_VALUE, F_IMPURITY, F_NSAMPLES, F_WN, F_OFFSETS, F_DEPTH, F_COUNT };

/* The float32 [rows, d] X argument (borrowed, contiguous). */
static ml_tensor *check_X(lua_State *L, int idx, const char *fn) {
    ml_tensor *X = lb_check_tensor(L, idx, fn);
    if (X->dtype != ML_FLOAT32 || X->ndim != 2 || X->strides[1] != 1 || X->strides[0] != X->shape[1])
        luaL_error(L, "%s: X must be a contiguous float32 [rows, features] tensor, got %s with %d dims", fn, ml_dtype_name(X->dtype),
                   X->ndim);
    return X;
}

static ml_tensor *field_tensor(lua_State *L, int idx, const char *name, ml_dtype dt, const char *fn) {
    lua_getfield(L, idx, name);
    ml_tensor *t = lb_test_tensor(L, -1);
    lua_pop(L, 1); /* the table keeps it alive */
    if (!t || t->dtype != dt || t->numel != (t->ndim ? t->shape[0] * (t->ndim > 1 ? t->shape[1] : 1) : 1) ||
        (t->ndim == 2 && t->strides[1] != 1) || t->strides[0] != (t->ndim == 2 ? t->shape[1] : 1))
        luaL_error(L, "%s: the forest's '%s' must be a contiguous %s tensor", fn, name, ml_dtype_name(dt));
    return t;
}

/* The forest table at idx as a view; checks the arrays agree. */
static void read_forest(lua_State *L, int idx, const char *fn, ml_forest_view *f) {
    luaL_checktype(L, idx, LUA_TTABLE);
    ml_tensor *left = field_tensor(L, idx, "children_left", ML_INT64, fn), *right = field_tensor(L, idx, "children_right", ML_INT64, fn);
    ml_tensor *feat = field_tensor(L, idx, "feature", ML_INT64, fn), *thr = field_tensor(L, idx, "threshold", ML_FLOAT64, fn);
    ml_tensor *val = field_tensor(L, idx, "value", ML_FLOAT64, fn), *off = field_tensor(L, idx, "offsets", ML_INT64, fn);
    int64_t N = left->numel;
    if (right->numel != N || feat->numel != N || thr->numel != N || val->ndim != 2 || val->shape[0] != N || off->numel < 2)
        luaL_error(L, "%s: the forest's arrays disagree in length", fn);
    const int64_t *o = ml_data(off);
    if (o[0] != 0 || o[off->numel - 1] != N) luaL_error(L, "%s: the forest's offsets do not cover its %I nodes", fn, (lua_Integer)N);
    for (int64_t t = 0; t + 1 < off->numel; t++)
        if (o[t + 1] <= o[t]) luaL_error(L, "%s: the forest's tree %I has no nodes", fn, (lua_Integer)(t + 1));
    /* every child id inside its tree, every feature in range: a corrupt file must not walk off the arrays */
    const int64_t *l = ml_data(left), *r = ml_data(right);
    for (int64_t t = 0; t + 1 < off->numel; t++)
        for (int64_t i = o[t]; i < o[t + 1]; i++) {
            int64_t size = o[t + 1] - o[t], local = i - o[t] + 1;
            if ((l[i] == 0) != (r[i] == 0) || (l[i] != 0 && (l[i] <= local || l[i] > size || r[i] <= local || r[i] > size)))
                luaL_error(L, "%s: the forest's node %I of tree %I has invalid children", fn, (lua_Integer)local, (lua_Integer)(t + 1));
        }
    *f = (ml_forest_view){.left = l, .right = r, .feature = ml_data(feat), .offsets = o, .threshold = ml_data(thr),
                          .value = ml_data(val), .n_trees = off->numel - 1, .n_values = val->shape[1]};
}

static void check_features(lua_State *L, const ml_forest_view *f, int64_t d, const char *fn) {
    int64_t N = f->offsets[f->n_trees];
    for (int64_t i = 0; i < N; i++)
        if (f->left[i] != 0 && (f->feature[i] < 1 || f->feature[i] > d))
            luaL_error(L, "%s: the forest splits on feature %I but X has %I columns", fn, (lua_Integer)f->feature[i], (lua_Integer)d);
}

static int64_t int_field(lua_State *L, int idx, const char *key, int64_t def) {
    lua_getfield(L, idx, key);
    int64_t v = lua_isnil(L, -1) ? def : (int64_t)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return v;
}

static ml_tensor *new_tensor(lua_State *L, int ndim, int64_t a, int64_t b, ml_dtype dt) {
    int64_t shape[2] = {a, b};
    ml_tensor *t = ml_zeros(ndim, shape, dt);
    if (!t) lb_raise(L);
    return t;
}

/* Pushes the forest table of n_trees grown trees (0-based arrays become 1-based ids); -1 when out of
 * memory (nothing pushed, the caller frees the trees and raises). */
static int push_forest(lua_State *L, const ml_tree *trees, int64_t n_trees, int64_t K) {
    int64_t N = 0;
    for (int64_t t = 0; t < n_trees; t++) N += trees[t].n_nodes;
    ml_tensor *tl[F_COUNT];
    for (int i = 0; i < F_COUNT; i++) {
        ml_dtype dt = (i == F_THRESHOLD || i == F_VALUE || i == F_IMPURITY || i == F_WN) ? ML_FLOAT64 : ML_INT64;
        int64_t len = i == F_OFFSETS ? n_trees + 1 : i == F_DEPTH ? n_trees : N;
        tl[i] = ml_empty(i == F_VALUE ? 2 : 1, (int64_t[]){len, K}, dt);
        if (!tl[i]) {
            for (int j = 0; j < i; j++) ml_release(tl[j]);
            return -1;
        }
    }
    lua_createtable(L, 0, F_COUNT);
    for (int i = 0; i < F_COUNT; i++) {
        lb_push_tensor(L, tl[i]); /* the table owns them; the tensors are filled below */
        lua_setfield(L, -2, FOREST_FIELDS[i]);
    }
    int64_t *left = ml_data(tl[F_LEFT]), *right = ml_data(tl[F_RIGHT]), *feat = ml_data(tl[F_FEATURE]), *ns = ml_data(tl[F_NSAMPLES]);
    int64_t *off = ml_data(tl[F_OFFSETS]), *depth = ml_data(tl[F_DEPTH]);
    double *thr = ml_data(tl[F_THRESHOLD]), *val = ml_data(tl[F_VALUE]), *imp = ml_data(tl[F_IMPURITY]), *wn = ml_data(tl[F_WN]);
    int64_t at = 0;
    for (int64_t t = 0; t < n_trees; t++) {
        const ml_tree *tr = &trees[t];
        off[t] = at, depth[t] = tr->max_depth;
        for (int64_t i = 0; i < tr->n_nodes; i++, at++) {
            left[at] = tr->left[i] + 1, right[at] = tr->right[i] + 1, feat[at] = tr->feature[i] + 1;
            thr[at] = tr->threshold[i], imp[at] = tr->impurity[i], wn[at] = tr->weighted_n[i], ns[at] = tr->n_samples[i];
        }
        memcpy(val + off[t] * K, tr->value, (size_t)(tr->n_nodes * K) * sizeof(double));
    }
    off[n_trees] = at;
    return 0;
}

static int l_fit(lua_State *L) {
    static const char *fn = "ml._trees.fit";
    static const char *const known[] = {"criterion", "random_splitter", "max_depth", "min_samples_split", "min_samples_leaf",
                                        "min_weight_fraction_leaf", "max_features", "max_leaf_nodes", "min_impurity_decrease",
                                        "n_classes", "seeds", "bootstrap", "max_samples", "balanced_subsample", "sample_weight",
                                        "threads", "oob", NULL};
    ml_tensor *X = check_X(L, 1, fn), *y = lb_check_tensor(L, 2, fn);
    luaL_checktype(L, 3, LUA_TTABLE);
    lb_check_options(L, 3, fn, known);
    int64_t n = X->shape[0], d = X->shape[1];
    lua_getfield(L, 3, "criterion");
    const char *crit = luaL_optstring(L, -1, "gini");
    lua_pop(L, 1);
    ml_tree_params p = {
        .criterion = !strcmp(crit, "gini") ? ML_TREE_GINI : !strcmp(crit, "entropy") ? ML_TREE_ENTROPY : ML_TREE_SQUARED_ERROR,
        .random_splitter = lb_opt_bool_field(L, 3, "random_splitter", 0),
        .max_depth = int_field(L, 3, "max_depth", -1),
        .min_samples_split = int_field(L, 3, "min_samples_split", 2),
        .min_samples_leaf = int_field(L, 3, "min_samples_leaf", 1),
        .min_weight_fraction_leaf = lb_opt_number_field(L, 3, "min_weight_fraction_leaf", 0),
        .max_features = int_field(L, 3, "max_features", d),
        .max_leaf_nodes = int_field(L, 3, "max_leaf_nodes", 0),
        .min_impurity_decrease = lb_opt_number_field(L, 3, "min_impurity_decrease", 0),
    };
    if (strcmp(crit, "gini") && strcmp(crit, "entropy") && strcmp(crit, "squared_error"))
        return luaL_error(L, "%s: criterion '%s', expected gini, entropy or squared_error", fn, crit);
    if (p.max_features < 1 || p.max_features > d || p.min_samples_leaf < 1 || p.min_samples_split < 2 || p.max_leaf_nodes == 1)
        return luaL_error(L, "%s: max_features 1..%I, min_samples_leaf >= 1, min_samples_split >= 2, max_leaf_nodes >= 2", fn,
                          (lua_Integer)d);
    int64_t K = int_field(L, 3, "n_classes", 0);
    ml_tree_data D = {.n = n, .d = d};
    bool classify = K > 0;
    if (classify) {
        if (y->dtype != ML_INT64 || y->ndim != 1 || y->shape[0] != n || y->strides[0] != 1)
            return luaL_error(L, "%s: y must be contiguous int64 codes [%I]", fn, (lua_Integer)n);
    } else if (y->dtype != ML_FLOAT64 || y->ndim < 1 || y->ndim > 2 || y->shape[0] != n || !(y->ndim == 1 || y->strides[1] == 1) ||
               y->strides[0] != (y->ndim == 2 ? y->shape[1] : 1))
        return luaL_error(L, "%s: y must be contiguous float64 [%I] or [%I, t]", fn, (lua_Integer)n, (lua_Integer)n);
    lua_getfield(L, 3, "seeds");
    ml_tensor *seeds = lb_test_tensor(L, -1);
    lua_pop(L, 1);
    if (!seeds || seeds->dtype != ML_INT64 || seeds->ndim != 1 || seeds->numel < 1 || seeds->strides[0] != 1)
        return luaL_error(L, "%s: seeds must be an int64 [trees] tensor", fn);
    lua_getfield(L, 3, "sample_weight");
    ml_tensor *sw = lb_test_tensor(L, -1);
    lua_pop(L, 1);
    if (sw && (sw->dtype != ML_FLOAT64 || sw->numel != n || sw->ndim != 1 || sw->strides[0] != 1))
        return luaL_error(L, "%s: sample_weight must be contiguous float64 [%I]", fn, (lua_Integer)n);
    int64_t T = seeds->numel;
    ml_forest_opts o = {.bootstrap = lb_opt_bool_field(L, 3, "bootstrap", 0), .max_samples = int_field(L, 3, "max_samples", n),
                        .balanced_subsample = lb_opt_bool_field(L, 3, "balanced_subsample", 0), .sample_weight = sw ? ml_data(sw) : NULL};
    bool oob = lb_opt_bool_field(L, 3, "oob", 0) && o.bootstrap;
    int threads = (int)int_field(L, 3, "threads", ml_get_threads());
    if (classify) {
        const int64_t *c = ml_data(y);
        int64_t *codes = malloc((size_t)n * sizeof(int64_t));
        if (!codes) return luaL_error(L, "%s: out of memory", fn);
        for (int64_t i = 0; i < n; i++) {
            if (c[i] < 1 || c[i] > K) {
                free(codes);
                return luaL_error(L, "%s: y[%I] = %I, expected a code 1..%I", fn, (lua_Integer)(i + 1), (lua_Integer)c[i], (lua_Integer)K);
            }
            codes[i] = c[i] - 1;
        }
        D.y_code = codes, D.n_classes = K;
    } else
        D.y = ml_data(y), D.n_outputs = y->ndim == 2 ? y->shape[1] : 1;
    int64_t V = classify ? K : D.n_outputs;
    ml_tree *trees = calloc((size_t)T, sizeof *trees);
    uint16_t *inbag = oob ? malloc((size_t)(T * n) * sizeof(uint16_t)) : NULL;
    char err[320] = "";
    if (!trees || (oob && !inbag)) snprintf(err, sizeof err, "%s: out of memory for %lld trees", fn, (long long)T);
    else if (ml_tree_data_init(&D, ml_data(X))) snprintf(err, sizeof err, "%s: %s", fn, ml_last_error());
    else if (ml_forest_fit(trees, T, &D, &o, &p, (const uint64_t *)ml_data(seeds), threads, inbag))
        snprintf(err, sizeof err, "%s: %s", fn, ml_last_error());
    ml_tree_data_free(&D);
    free((void *)D.y_code);
    if (err[0]) {
        free(trees), free(inbag);
        return luaL_error(L, "%s", err);
    }
    int pushed = push_forest(L, trees, T, V);
    for (int64_t t = 0; t < T; t++) ml_tree_free(&trees[t]);
    free(trees);
    if (pushed) {
        free(inbag);
        return lb_raise_as(L, fn);
    }
    if (!oob) {
        lb_gc_account(L);
        return 1;
    }
    ml_forest_view f;
    read_forest(L, lua_gettop(L), fn, &f);
    ml_tensor *out = ml_zeros(2, (int64_t[]){n, V}, ML_FLOAT64), *count = ml_zeros(1, (int64_t[]){n}, ML_FLOAT64);
    if (!out || !count) {
        free(inbag), ml_release(out), ml_release(count);
        return lb_raise_as(L, fn);
    }
    int rc = ml_forest_predict(ml_data(out), ml_data(count), &f, ml_data(X), n, d, classify, inbag);
    free(inbag);
    if (rc) {
        ml_release(out), ml_release(count);
        return lb_raise_as(L, fn);
    }
    lb_push_tensor(L, out);
    lb_push_tensor(L, count);
    lb_gc_account(L);
    return 3;
}

static int l_predict(lua_State *L) {
    static const char *fn = "ml._trees.predict";
    ml_forest_view f;
    read_forest(L, 1, fn, &f);
    ml_tensor *X = check_X(L, 2, fn);
    check_features(L, &f, X->shape[1], fn);
    ml_tensor *out = new_tensor(L, 2, X->shape[0], f.n_values, ML_FLOAT64);
    lb_push_tensor(L, out); /* owned by Lua before a raise */
    if (ml_forest_predict(ml_data(out), NULL, &f, ml_data(X), X->shape[0], X->shape[1], lua_toboolean(L, 3), NULL)) return lb_raise_as(L, fn);
    lb_gc_account(L);
    return 1;
}

static int l_apply(lua_State *L) {
    static const char *fn = "ml._trees.apply";
    ml_forest_view f;
    read_forest(L, 1, fn, &f);
    ml_tensor *X = check_X(L, 2, fn);
    check_features(L, &f, X->shape[1], fn);
    ml_tensor *out = new_tensor(L, 2, X->shape[0], f.n_trees, ML_INT64);
    lb_push_tensor(L, out);
    if (ml_forest_apply(ml_data(out), &f, ml_data(X), X->shape[0], X->shape[1])) return lb_raise_as(L, fn);
    lb_gc_account(L);
    return 1;
}

static int l_importances(lua_State *L) {
    static const char *fn = "ml._trees.importances";
    ml_forest_view f;
    read_forest(L, 1, fn, &f);
    lua_Integer d = luaL_checkinteger(L, 2);
    if (d < 1) return luaL_error(L, "%s: d = %I, expected >= 1", fn, (lua_Integer)d);
    check_features(L, &f, d, fn);
    ml_tensor *imp = field_tensor(L, 1, "impurity", ML_FLOAT64, fn), *wn = field_tensor(L, 1, "weighted_n_node_samples", ML_FLOAT64, fn);
    if (imp->numel != f.offsets[f.n_trees] || wn->numel != imp->numel) return luaL_error(L, "%s: the forest's arrays disagree in length", fn);
    ml_tensor *out = new_tensor(L, 2, f.n_trees, d, ML_FLOAT64);
    for (int64_t t = 0; t < f.n_trees; t++) ml_tree_importances((double *)ml_data(out) + t * d, &f, ml_data(imp), ml_data(wn), t, d);
    lb_push_tensor(L, out);
    lb_gc_account(L);
    return 1;
}

static int l_fanova(lua_State *L) {
    static const char *fn = "ml._trees.fanova";
    ml_forest_view f;
    read_forest(L, 1, fn, &f);
    ml_tensor *b = lb_check_tensor(L, 2, fn), *g = lb_check_tensor(L, 3, fn);
    if (b->dtype != ML_FLOAT64 || b->ndim != 2 || b->shape[1] != 2 || b->shape[0] < 1 || b->strides[1] != 1 || b->strides[0] != 2)
        return luaL_error(L, "%s: bounds must be a contiguous float64 [columns, 2] tensor", fn);
    int64_t D = b->shape[0];
    if (g->dtype != ML_INT64 || g->ndim != 1 || g->numel != D || g->strides[0] != 1)
        return luaL_error(L, "%s: groups must be a contiguous int64 [%I] tensor (one per column of bounds)", fn, (lua_Integer)D);
    if (f.n_values != 1) return luaL_error(L, "%s: the forest must be a one-output regression forest, got %I values per node", fn,
                                           (lua_Integer)f.n_values);
    check_features(L, &f, D, fn);
    const double *bd = ml_data(b);
    for (int64_t c = 0; c < D; c++)
        if (!(bd[2 * c] <= bd[2 * c + 1]) || !isfinite(bd[2 * c]) || !isfinite(bd[2 * c + 1]))
            return luaL_error(L, "%s: bounds[%I] = [%f, %f], expected finite low <= high", fn, (lua_Integer)(c + 1), bd[2 * c], bd[2 * c + 1]);
    const int64_t *gs = ml_data(g);
    int64_t G = 0;
    for (int64_t c = 0; c < D; c++) {
        if (gs[c] < 1 || gs[c] > D) return luaL_error(L, "%s: groups[%I] = %I, expected 1..%I", fn, (lua_Integer)(c + 1), (lua_Integer)gs[c], (lua_Integer)D);
        if (gs[c] > G) G = gs[c];
    }
    lua_Integer max_cells = luaL_optinteger(L, 4, (lua_Integer)1 << 20);
    if (max_cells < 1) return luaL_error(L, "%s: max_cells = %I, expected >= 1", fn, max_cells);
    int64_t *g0 = malloc((size_t)D * sizeof(int64_t));
    if (!g0) return luaL_error(L, "%s: out of memory", fn);
    for (int64_t c = 0; c < D; c++) g0[c] = gs[c] - 1;
    ml_tensor *marginal = ml_zeros(2, (int64_t[]){f.n_trees, G}, ML_FLOAT64), *total = ml_zeros(1, (int64_t[]){f.n_trees}, ML_FLOAT64);
    if (!marginal || !total) {
        free(g0), ml_release(marginal), ml_release(total);
        return lb_raise_as(L, fn);
    }
    lb_push_tensor(L, marginal); /* owned by Lua before a raise */
    lb_push_tensor(L, total);
    int rc = ml_fanova(ml_data(marginal), ml_data(total), &f, bd, g0, D, G, max_cells);
    free(g0);
    if (rc) return lb_raise_as(L, fn);
    lb_gc_account(L);
    return 2;
}

void lb_open_trees(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"fit", l_fit}, {"predict", l_predict}, {"apply", l_apply}, {"importances", l_importances}, {"fanova", l_fanova},
        {NULL, NULL}};
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), fns);
    static const lb_doc docs[] = {
        {"fit", "ml._trees.fit(X, y, opts) -> forest, [oob, oob_count] — grows one tree per seed (OpenMP over trees) on float32 X; "
                "the forest as flat arrays (1-based children and features)"},
        {"predict", "ml._trees.predict(forest, X, normalize) -> float64 [n, K] — the mean of the trees' leaf values (probabilities when normalize)"},
        {"apply", "ml._trees.apply(forest, X) -> int64 [n, T] — the 1-based leaf each row reaches in each tree"},
        {"importances", "ml._trees.importances(forest, d) -> float64 [T, d] — each tree's impurity-based importances, normalized"},
        {"fanova", "ml._trees.fanova(forest, bounds [d, 2], groups int64 [d], [max_cells]) -> marginal [T, G], total [T] — fANOVA: "
                   "each tree's variance over the box and the part each group of columns explains alone"},
        {NULL, NULL},
    };
    lb_add_docs(L, lua_gettop(L), docs);
    lua_setfield(L, 1, "_trees");
}
