/* ml._frame: the kernels of runtime/data/frame_ops.h for the data frame's
 * Lua methods (lualib/moonlab/data/). Row numbers and group ids are 1-based
 * here, 0 meaning none (a dropped row, an unmatched side of a join).
 *
 *   key spec: {values = tensor (float64, int64 or bool), valid = bool tensor | nil,
 *              codes = true (0 = missing), pool = pool (codes sorted by their strings),
 *              descending = bool, na_first = bool}
 *   factorize({key, ...}, {sort = bool, dropna = bool}) -> ids (int64 [n], 0 = dropped), G
 *   argsort({key, ...})                 -> order (int64 [n]): a stable sort by the keys
 *   group_agg(ids, G, op, {x, ...})     -> {out, ...}: float64 columns (NaN missing), op sum|mean|count|min|max|std|first|last
 *   group_agg_int(ids, G, op, x, [valid]) -> out (int64 [G]), valid (bool [G]): sum|count|min|max|first|last
 *   group_nunique(ids, G, pair_ids, P)  -> int64 [G]
 *   group_counts(ids, G)                -> int64 [G]
 *   duplicated(ids, G, keep)            -> bool [n] (keep "first" | "last" | "none")
 *   fill_source(missing, backward, [limit]) -> int64 [n]: the row each row takes its value from
 *   join(lid, rid, G, how)              -> lidx, ridx (int64, 0 = no row), how inner|left|right|outer
 *   describe({x, ...}, [{q, ...}])      -> float64 [ncols, 5 + #q]: count mean std min quantiles max
 *                                          (q ascending in [0, 1]; default 0.25, 0.5, 0.75)
 *   pool_ranks(pool)                    -> int64 [#pool + 1]: 0, then each code's rank in byte order
 *   pool_merge(dst, src)                -> remap (int64 [#src + 1]): src's codes as dst's
 *   map_codes(table, codes)             -> table[codes + 1] (table int64 or bool [#pool + 1])
 *   str_map(pool, op, [a, b])           -> new pool, remap: lower|upper|strip|lstrip|rstrip|replace (plain a -> b)
 *   str_test(pool, op, s)               -> bool [#pool + 1]: contains|startswith|endswith (plain)
 *   str_find(pool, pattern)             -> bool [#pool + 1]: string.find with a Lua pattern, once per string
 *   str_gsub(pool, pattern, repl)       -> new pool, remap: string.gsub, once per string
 *   str_len(pool)                       -> int64 [#pool + 1]: UTF-8 characters
 *   str_split(pool, sep, [maxsplit])    -> {{pool, remap}, ...}: one per piece */
#include <math.h>
#include <string.h>

#include "../data/frame_ops.h"
#include "../data/strpool.h"
#include "lbind.h"

/* A contiguous 1-D view of the tensor at idx (pushed, so the collector owns it). */
static ml_tensor *check_vec(lua_State *L, int idx, const char *fn, const char *what, int dtype) {
    ml_tensor *t = lb_check_tensor(L, idx, fn);
    if (dtype >= 0 && t->dtype != (ml_dtype)dtype)
        luaL_error(L, "%s: %s must be a %s tensor, got %s", fn, what, ml_dtype_name((ml_dtype)dtype), ml_dtype_name(t->dtype));
    if (t->ndim != 1) luaL_error(L, "%s: %s must be 1-D, got %d dims", fn, what, t->ndim);
    ml_tensor *c = ml_contiguous(t);
    lb_push_tensor(L, c);
    return c;
}

static ml_tensor *new_vec(lua_State *L, int64_t n, ml_dtype dt) {
    int64_t shape[1] = {n};
    ml_tensor *t = ml_empty(1, shape, dt);
    lb_push_tensor(L, t);
    return t;
}

/* Scratch bytes owned by a tensor pushed on the stack: the tensor storage's
 * block cache serves them (no fresh pages, see runtime/data/frame_scratch.h). */
static void *scratch(lua_State *L, size_t bytes) { return ml_data(new_vec(L, (int64_t)(bytes ? bytes : 1), ML_BOOL)); }

/* ids (1-based, 0 none) at idx as 0-based (-1 none), checked against G and n. */
static int64_t *check_ids(lua_State *L, int idx, int64_t G, int64_t *n, const char *fn) {
    ml_tensor *t = check_vec(L, idx, fn, "ids", ML_INT64);
    const int64_t *v = ml_data(t);
    int64_t *ids = scratch(L, (size_t)t->numel * sizeof(int64_t));
    for (int64_t i = 0; i < t->numel; i++) {
        if (v[i] < 0 || v[i] > G) luaL_error(L, "%s: id %I at row %I is out of range 0..%I", fn, (lua_Integer)v[i], (lua_Integer)(i + 1), (lua_Integer)G);
        ids[i] = v[i] - 1;
    }
    *n = t->numel;
    return ids;
}

static int64_t check_count(lua_State *L, int idx, const char *fn, const char *what) {
    lua_Integer g = luaL_checkinteger(L, idx);
    if (g < 0) luaL_error(L, "%s: %s must be >= 0, got %I", fn, what, g);
    return (int64_t)g;
}

/* The key specs of the list at idx into keys (at most 16); returns the count and n. */
#define MAX_KEYS 16
static int check_keys(lua_State *L, int idx, ml_frame_key *keys, int64_t *n, const char *fn) {
    luaL_checktype(L, idx, LUA_TTABLE);
    int nk = (int)lua_rawlen(L, idx);
    if (nk < 1 || nk > MAX_KEYS) luaL_error(L, "%s: expected 1 to %d keys, got %d", fn, MAX_KEYS, nk);
    *n = -1;
    for (int k = 0; k < nk; k++) {
        luaL_checkstack(L, 16, fn);
        lua_rawgeti(L, idx, k + 1);
        int spec = lua_gettop(L);
        if (!lua_istable(L, spec)) luaL_error(L, "%s: key %d must be a table, got %s", fn, k + 1, luaL_typename(L, spec));
        ml_frame_key *key = &keys[k];
        memset(key, 0, sizeof *key);
        lua_getfield(L, spec, "values");
        ml_tensor *v = check_vec(L, lua_gettop(L), fn, "a key's values", -1);
        if (v->dtype == ML_FLOAT32) luaL_error(L, "%s: key %d: float32 keys are not supported (convert to float64)", fn, k + 1);
        key->kind = v->dtype == ML_FLOAT64 ? ML_KEY_F64 : v->dtype == ML_INT64 ? ML_KEY_I64 : ML_KEY_U8;
        key->values = ml_data(v);
        if (*n >= 0 && v->numel != *n) luaL_error(L, "%s: key %d has %I rows, key 1 has %I", fn, k + 1, (lua_Integer)v->numel, (lua_Integer)*n);
        *n = v->numel;
        lua_getfield(L, spec, "valid");
        if (!lua_isnil(L, -1)) {
            ml_tensor *m = check_vec(L, lua_gettop(L), fn, "a key's valid mask", ML_BOOL);
            if (m->numel != *n) luaL_error(L, "%s: key %d: the valid mask has %I rows, the values %I", fn, k + 1, (lua_Integer)m->numel, (lua_Integer)*n);
            key->valid = ml_data(m);
        }
        lua_getfield(L, spec, "codes");
        key->zero_missing = lua_toboolean(L, -1);
        lua_getfield(L, spec, "pool");
        if (!lua_isnil(L, -1)) {
            ml_strpool *p = lb_check_strpool(L, lua_gettop(L), fn);
            int64_t count = ml_strpool_count(p);
            if (key->kind != ML_KEY_I64) luaL_error(L, "%s: key %d: codes must be int64", fn, k + 1);
            const int64_t *c = key->values;
            for (int64_t i = 0; i < *n; i++)
                if (c[i] < 0 || c[i] > count) luaL_error(L, "%s: key %d: code %I at row %I is out of range 0..%I", fn, k + 1, (lua_Integer)c[i], (lua_Integer)(i + 1), (lua_Integer)count);
            int64_t *rank = scratch(L, (size_t)(count + 1) * sizeof(int64_t));
            if (ml_frame_pool_ranks(rank, p) < 0) lb_raise_as(L, fn);
            key->rank = rank;
            key->zero_missing = true;
        }
        lua_getfield(L, spec, "descending");
        key->descending = lua_toboolean(L, -1);
        lua_getfield(L, spec, "na_first");
        key->na_first = lua_toboolean(L, -1);
        /* what was pushed (the contiguous copies, the rank table) stays on the stack until the call returns */
    }
    return nk;
}

static int f_factorize(lua_State *L) {
    lua_settop(L, 2); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.factorize";
    ml_frame_key keys[MAX_KEYS];
    int64_t n;
    int nk = check_keys(L, 1, keys, &n, fn);
    int flags = 0;
    if (lua_istable(L, 2)) {
        if (lb_opt_bool_field(L, 2, "sort", 0)) flags |= ML_FACT_SORT;
        if (lb_opt_bool_field(L, 2, "dropna", 0)) flags |= ML_FACT_DROPNA;
    }
    ml_tensor *ids = new_vec(L, n, ML_INT64);
    int64_t *v = ml_data(ids);
    int64_t G = ml_frame_factorize(v, keys, nk, n, flags);
    if (G < 0) lb_raise_as(L, fn);
    for (int64_t i = 0; i < n; i++) v[i]++;
    lua_pushinteger(L, G);
    return 2;
}

static int f_argsort(lua_State *L) {
    lua_settop(L, 1); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.argsort";
    ml_frame_key keys[MAX_KEYS];
    int64_t n;
    int nk = check_keys(L, 1, keys, &n, fn);
    ml_tensor *order = new_vec(L, n, ML_INT64);
    int64_t *v = ml_data(order);
    if (ml_frame_argsort(v, keys, nk, n) < 0) lb_raise_as(L, fn);
    for (int64_t i = 0; i < n; i++) v[i]++;
    return 1;
}

static ml_agg_op check_agg(lua_State *L, int idx, const char *fn) {
    ml_agg_op op;
    const char *name = luaL_checkstring(L, idx);
    if (ml_agg_from_name(name, &op) < 0)
        luaL_error(L, "%s: unknown aggregation '%s' (expected sum, mean, count, min, max, std, first or last)", fn, name);
    return op;
}

static int f_group_agg(lua_State *L) {
    lua_settop(L, 4); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.group_agg";
    int64_t G = check_count(L, 2, fn, "the group count"), n;
    int64_t *ids = check_ids(L, 1, G, &n, fn);
    ml_agg_op op = check_agg(L, 3, fn);
    luaL_checktype(L, 4, LUA_TTABLE);
    int nc = (int)lua_rawlen(L, 4);
    const double **xs = scratch(L, (size_t)nc * sizeof(double *));
    double **outs = scratch(L, (size_t)nc * sizeof(double *));
    lua_createtable(L, nc, 0);
    int result = lua_gettop(L);
    for (int c = 0; c < nc; c++) {
        lua_rawgeti(L, 4, c + 1);
        ml_tensor *x = check_vec(L, lua_gettop(L), fn, "a column", ML_FLOAT64);
        if (x->numel != n) luaL_error(L, "%s: column %d has %I rows, the ids %I", fn, c + 1, (lua_Integer)x->numel, (lua_Integer)n);
        xs[c] = ml_data(x);
        lua_rawseti(L, result, -(c + 1)); /* keep the contiguous copy referenced */
        lua_pop(L, 1);
        outs[c] = ml_data(new_vec(L, G, ML_FLOAT64));
        lua_rawseti(L, result, c + 1);
    }
    ml_frame_group_f64_many(outs, op, ids, xs, nc, n, G);
    for (int c = 0; c < nc; c++) { lua_pushnil(L); lua_rawseti(L, result, -(c + 1)); }
    return 1;
}

static int f_group_agg_int(lua_State *L) {
    lua_settop(L, 5); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.group_agg_int";
    int64_t G = check_count(L, 2, fn, "the group count"), n;
    int64_t *ids = check_ids(L, 1, G, &n, fn);
    ml_agg_op op = check_agg(L, 3, fn);
    if (op == ML_AGG_MEAN || op == ML_AGG_STD) luaL_error(L, "%s: %s of int64 values is computed in float64", fn, lua_tostring(L, 3));
    ml_tensor *x = check_vec(L, 4, fn, "the values", ML_INT64);
    if (x->numel != n) luaL_error(L, "%s: the values have %I rows, the ids %I", fn, (lua_Integer)x->numel, (lua_Integer)n);
    const uint8_t *valid = NULL;
    if (!lua_isnoneornil(L, 5)) {
        ml_tensor *m = check_vec(L, 5, fn, "the valid mask", ML_BOOL);
        if (m->numel != n) luaL_error(L, "%s: the valid mask has %I rows, the ids %I", fn, (lua_Integer)m->numel, (lua_Integer)n);
        valid = ml_data(m);
    }
    ml_tensor *out = new_vec(L, G, ML_INT64), *ov = new_vec(L, G, ML_BOOL);
    ml_frame_group_i64(ml_data(out), ml_data(ov), op, ids, ml_data(x), valid, n, G);
    return 2;
}

static int f_group_nunique(lua_State *L) {
    lua_settop(L, 4); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.group_nunique";
    int64_t G = check_count(L, 2, fn, "the group count"), P = check_count(L, 4, fn, "the pair count"), n, np;
    int64_t *ids = check_ids(L, 1, G, &n, fn);
    int64_t *pair = check_ids(L, 3, P, &np, fn);
    if (np != n) luaL_error(L, "%s: the pair ids have %I rows, the ids %I", fn, (lua_Integer)np, (lua_Integer)n);
    ml_tensor *out = new_vec(L, G, ML_INT64);
    if (ml_frame_group_nunique(ml_data(out), ids, pair, n, G, P) < 0) lb_raise_as(L, fn);
    return 1;
}

static int f_group_counts(lua_State *L) {
    lua_settop(L, 2); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.group_counts";
    int64_t G = check_count(L, 2, fn, "the group count"), n;
    int64_t *ids = check_ids(L, 1, G, &n, fn);
    ml_frame_group_counts(ml_data(new_vec(L, G, ML_INT64)), ids, n, G);
    return 1;
}

static int f_duplicated(lua_State *L) {
    lua_settop(L, 3); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.duplicated";
    int64_t G = check_count(L, 2, fn, "the group count"), n;
    int64_t *ids = check_ids(L, 1, G, &n, fn);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0) luaL_error(L, "%s: row %I has no group id", fn, (lua_Integer)(i + 1));
    static const char *const keeps[] = {"first", "last", "none", NULL};
    ml_keep keep = (ml_keep)luaL_checkoption(L, 3, "first", keeps);
    ml_tensor *dup = new_vec(L, n, ML_BOOL);
    if (ml_frame_duplicated(ml_data(dup), ids, n, G, keep) < 0) lb_raise_as(L, fn);
    return 1;
}

static int f_fill_source(lua_State *L) {
    lua_settop(L, 3); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.fill_source";
    ml_tensor *m = check_vec(L, 1, fn, "the missing mask", ML_BOOL);
    bool backward = lua_toboolean(L, 2);
    lua_Integer limit = luaL_optinteger(L, 3, -1);
    ml_tensor *src = new_vec(L, m->numel, ML_INT64);
    int64_t *v = ml_data(src);
    ml_frame_fill_source(v, ml_data(m), m->numel, backward, limit);
    for (int64_t i = 0; i < m->numel; i++) v[i]++;
    return 1;
}

static int f_join(lua_State *L) {
    lua_settop(L, 4); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.join";
    int64_t G = check_count(L, 3, fn, "the group count"), nl, nr;
    int64_t *lid = check_ids(L, 1, G, &nl, fn);
    int64_t *rid = check_ids(L, 2, G, &nr, fn);
    static const char *const hows[] = {"inner", "left", "right", "outer", NULL};
    ml_join_how how = (ml_join_how)luaL_checkoption(L, 4, NULL, hows);
    for (int64_t i = 0; i < nl; i++)
        if (lid[i] < 0) luaL_error(L, "%s: left row %I has no key id (0); factorize without dropna", fn, (lua_Integer)(i + 1));
    for (int64_t j = 0; j < nr; j++)
        if (rid[j] < 0) luaL_error(L, "%s: right row %I has no key id (0); factorize without dropna", fn, (lua_Integer)(j + 1));
    int64_t m = ml_frame_join(NULL, NULL, lid, nl, rid, nr, G, how);
    if (m < 0) lb_raise_as(L, fn);
    ml_tensor *li = new_vec(L, m, ML_INT64), *ri = new_vec(L, m, ML_INT64);
    int64_t *a = ml_data(li), *b = ml_data(ri);
    ml_frame_join(a, b, lid, nl, rid, nr, G, how);
    for (int64_t k = 0; k < m; k++) a[k]++, b[k]++;
    return 2;
}

static int f_describe(lua_State *L) {
    lua_settop(L, 2); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.describe";
    luaL_checktype(L, 1, LUA_TTABLE);
    int nc = (int)lua_rawlen(L, 1);
    double q3[3] = {0.25, 0.5, 0.75}, *q = q3;
    int nq = 3;
    if (!lua_isnil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        nq = (int)lua_rawlen(L, 2);
        if (nq > 64) luaL_error(L, "%s: at most 64 quantiles, got %d", fn, nq);
        q = scratch(L, (size_t)nq * sizeof(double));
        for (int k = 0; k < nq; k++) {
            lua_rawgeti(L, 2, k + 1);
            if (!lua_isnumber(L, -1)) luaL_error(L, "%s: quantile %d must be a number, got %s", fn, k + 1, luaL_typename(L, -1));
            q[k] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    }
    const double **xs = scratch(L, (size_t)nc * sizeof(double *));
    lua_createtable(L, nc, 0);
    int keep = lua_gettop(L);
    int64_t n = -1;
    for (int c = 0; c < nc; c++) {
        lua_rawgeti(L, 1, c + 1);
        ml_tensor *x = check_vec(L, lua_gettop(L), fn, "a column", ML_FLOAT64);
        if (n >= 0 && x->numel != n) luaL_error(L, "%s: column %d has %I rows, column 1 %I", fn, c + 1, (lua_Integer)x->numel, (lua_Integer)n);
        n = x->numel;
        xs[c] = ml_data(x);
        lua_rawseti(L, keep, c + 1);
        lua_pop(L, 1);
    }
    int64_t shape[2] = {nc, 5 + nq};
    ml_tensor *out = ml_empty(2, shape, ML_FLOAT64);
    lb_push_tensor(L, out);
    if (nc > 0 && ml_frame_describe_f64(ml_data(out), xs, nc, n, q, nq) < 0) lb_raise_as(L, fn);
    return 1;
}

/* ---- pools and strings ------------------------------------------------------ */
static int f_pool_ranks(lua_State *L) {
    lua_settop(L, 1); /* the arguments; what the checks push goes above them */
    ml_strpool *p = lb_check_strpool(L, 1, "frame.pool_ranks");
    ml_tensor *r = new_vec(L, ml_strpool_count(p) + 1, ML_INT64);
    if (ml_frame_pool_ranks(ml_data(r), p) < 0) lb_raise_as(L, "frame.pool_ranks");
    return 1;
}

static int f_pool_merge(lua_State *L) {
    lua_settop(L, 2); /* the arguments; what the checks push goes above them */
    ml_strpool *dst = lb_check_strpool(L, 1, "frame.pool_merge"), *src = lb_check_strpool(L, 2, "frame.pool_merge");
    ml_tensor *r = new_vec(L, ml_strpool_count(src) + 1, ML_INT64);
    if (ml_strpool_merge(dst, src, ml_data(r)) < 0) lb_raise_as(L, "frame.pool_merge");
    return 1;
}

static int f_map_codes(lua_State *L) {
    lua_settop(L, 2); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.map_codes";
    ml_tensor *table = check_vec(L, 1, fn, "the table", -1);
    ml_tensor *codes = check_vec(L, 2, fn, "the codes", ML_INT64);
    if (table->dtype != ML_INT64 && table->dtype != ML_BOOL) luaL_error(L, "%s: the table must be int64 or bool, got %s", fn, ml_dtype_name(table->dtype));
    const int64_t *c = ml_data(codes);
    for (int64_t i = 0; i < codes->numel; i++)
        if (c[i] < 0 || c[i] >= table->numel) luaL_error(L, "%s: code %I at row %I is out of range 0..%I", fn, (lua_Integer)c[i], (lua_Integer)(i + 1), (lua_Integer)(table->numel - 1));
    ml_tensor *out = new_vec(L, codes->numel, table->dtype);
    if (table->dtype == ML_INT64) ml_frame_map_codes_i64(ml_data(out), ml_data(table), c, codes->numel);
    else ml_frame_map_codes_u8(ml_data(out), ml_data(table), c, codes->numel);
    return 1;
}

static int f_str_map(lua_State *L) {
    lua_settop(L, 4); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.str_map";
    ml_strpool *src = lb_check_strpool(L, 1, fn);
    static const char *const ops[] = {"lower", "upper", "strip", "lstrip", "rstrip", "replace", NULL};
    ml_str_map_op op = (ml_str_map_op)luaL_checkoption(L, 2, NULL, ops);
    size_t alen = 0, blen = 0;
    const char *a = luaL_optlstring(L, 3, "", &alen), *b = luaL_optlstring(L, 4, "", &blen);
    if (op == ML_STR_REPLACE && alen == 0) luaL_error(L, "%s: replace needs a non-empty string to find", fn);
    lb_push_strpool(L, ml_strpool_new());
    ml_strpool *dst = lb_check_strpool(L, -1, fn);
    ml_tensor *remap = new_vec(L, ml_strpool_count(src) + 1, ML_INT64);
    if (ml_frame_str_map(dst, ml_data(remap), src, op, a, alen, b, blen) < 0) lb_raise_as(L, fn);
    return 2;
}

static int f_str_test(lua_State *L) {
    lua_settop(L, 3); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.str_test";
    ml_strpool *p = lb_check_strpool(L, 1, fn);
    static const char *const ops[] = {"contains", "startswith", "endswith", NULL};
    ml_str_test_op op = (ml_str_test_op)luaL_checkoption(L, 2, NULL, ops);
    size_t len;
    const char *s = luaL_checklstring(L, 3, &len);
    ml_tensor *out = new_vec(L, ml_strpool_count(p) + 1, ML_BOOL);
    ml_frame_str_test(ml_data(out), p, op, s, len);
    return 1;
}

/* Calls string.<name> (at upvalue-free registry lookups) once per pool string. */
static void push_string_fn(lua_State *L, const char *name) {
    lua_getglobal(L, "string");
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

static int f_str_find(lua_State *L) {
    lua_settop(L, 2); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.str_find";
    ml_strpool *p = lb_check_strpool(L, 1, fn);
    luaL_checkstring(L, 2);
    int64_t count = ml_strpool_count(p);
    ml_tensor *out = new_vec(L, count + 1, ML_BOOL);
    uint8_t *o = ml_data(out);
    o[0] = 0;
    push_string_fn(L, "find");
    int f = lua_gettop(L);
    for (int64_t k = 1; k <= count; k++) {
        size_t len;
        const char *s = ml_strpool_get(p, k, &len);
        lua_pushvalue(L, f);
        lua_pushlstring(L, s, len);
        lua_pushvalue(L, 2);
        if (lua_pcall(L, 2, 1, 0) != LUA_OK) luaL_error(L, "%s: %s", fn, lua_tostring(L, -1));
        o[k] = !lua_isnil(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 1;
}

static int f_str_gsub(lua_State *L) {
    lua_settop(L, 3); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.str_gsub";
    ml_strpool *src = lb_check_strpool(L, 1, fn);
    luaL_checkstring(L, 2);
    luaL_checkany(L, 3);
    int64_t count = ml_strpool_count(src);
    lb_push_strpool(L, ml_strpool_new());
    ml_strpool *dst = lb_check_strpool(L, -1, fn);
    ml_tensor *remap = new_vec(L, count + 1, ML_INT64);
    int64_t *r = ml_data(remap);
    r[0] = 0;
    push_string_fn(L, "gsub");
    int f = lua_gettop(L);
    for (int64_t k = 1; k <= count; k++) {
        size_t len;
        const char *s = ml_strpool_get(src, k, &len);
        lua_pushvalue(L, f);
        lua_pushlstring(L, s, len);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        if (lua_pcall(L, 3, 1, 0) != LUA_OK) luaL_error(L, "%s: %s", fn, lua_tostring(L, -1));
        s = lua_tolstring(L, -1, &len);
        if ((r[k] = ml_strpool_intern(dst, s, len)) < 0) lb_raise_as(L, fn);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 2;
}

static int f_str_len(lua_State *L) {
    lua_settop(L, 1); /* the arguments; what the checks push goes above them */
    ml_strpool *p = lb_check_strpool(L, 1, "frame.str_len");
    ml_frame_str_len(ml_data(new_vec(L, ml_strpool_count(p) + 1, ML_INT64)), p);
    return 1;
}

static int f_str_split(lua_State *L) {
    lua_settop(L, 3); /* the arguments; what the checks push goes above them */
    const char *fn = "frame.str_split";
    ml_strpool *src = lb_check_strpool(L, 1, fn);
    size_t seplen;
    const char *sep = luaL_checklstring(L, 2, &seplen);
    if (seplen == 0) luaL_error(L, "%s: the separator must not be empty", fn);
    lua_Integer maxsplit = luaL_optinteger(L, 3, -1);
    int64_t width = ml_frame_str_split_width(src, sep, seplen, maxsplit);
    lua_createtable(L, (int)width, 0);
    for (int64_t k = 0; k < width; k++) {
        lua_createtable(L, 2, 0);
        lb_push_strpool(L, ml_strpool_new());
        ml_strpool *dst = lb_check_strpool(L, -1, fn);
        lua_rawseti(L, -2, 1);
        ml_tensor *remap = new_vec(L, ml_strpool_count(src) + 1, ML_INT64);
        lua_rawseti(L, -2, 2);
        if (ml_frame_str_split_piece(dst, ml_data(remap), src, sep, seplen, maxsplit, k) < 0) lb_raise_as(L, fn);
        lua_rawseti(L, -2, (lua_Integer)(k + 1));
    }
    return 1;
}

void lb_open_frame(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"factorize", f_factorize},       {"argsort", f_argsort},         {"group_agg", f_group_agg},
        {"group_agg_int", f_group_agg_int}, {"group_nunique", f_group_nunique}, {"group_counts", f_group_counts},
        {"duplicated", f_duplicated},     {"fill_source", f_fill_source}, {"join", f_join},
        {"describe", f_describe},         {"pool_ranks", f_pool_ranks},   {"pool_merge", f_pool_merge},
        {"map_codes", f_map_codes},       {"str_map", f_str_map},         {"str_test", f_str_test},
        {"str_find", f_str_find},         {"str_gsub", f_str_gsub},       {"str_len", f_str_len},
        {"str_split", f_str_split},       {NULL, NULL},
    };
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, 1, "_frame");
}
