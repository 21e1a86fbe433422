/* Indexing, joining and sorting: index_select, gather, scatter_add,
 * masked_select, masked_fill, cat, stack, split, chunk, sort, topk.
 *
 * Conventions (1-based, as the rest of the Lua API):
 *   - dims are 1-based, negative from the end;
 *   - index values are 1-based: an index is an int64 tensor, or a (nested)
 *     table of integers, converted here to the runtime's 0-based indices;
 *     sort and topk return 1-based int64 indices;
 *   - a mask is a bool tensor (or a table of booleans);
 *   - sort and topk take an optional dim after their required arguments,
 *     then an options table, which may also carry the dim:
 *       t:sort([dim=-1], [{descending=false, stable=true}])
 *       t:topk(k, [dim=-1], [{largest=true, sorted=true}])
 *       t:sort({dim=1, descending=true}), t:topk(3, {dim=1})
 *   - cat, stack, split and chunk take dim as an optional last argument,
 *     default 1 (PyTorch's 0).
 * Each op is both ml.name(t, ...) and the method t:name(...); cat and stack
 * (which take a list) are ml.cat and ml.stack only. */
#include <string.h>

#include "../ops/ops.h"
#include "lbind.h"

/* ---- argument helpers ---------------------------------------------- */
/* A tensor made from the table at idx by ml.tensor (the ml table is upvalue 1),
 * left on the stack (so Lua owns it). Borrowed. */
static ml_tensor *table_tensor(lua_State *L, int idx, const char *fn) {
    idx = lua_absindex(L, idx);
    lua_getfield(L, lua_upvalueindex(1), "tensor");
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) { /* name the op the user called, not ml.tensor */
        const char *msg = lua_tostring(L, -1);
        const char *rest = msg ? strstr(msg, "ml.tensor: ") : NULL;
        luaL_error(L, "%s: %s", fn, rest ? rest + 11 : (msg ? msg : "bad table"));
    }
    return lb_check_tensor(L, -1, fn);
}

/* The index argument at idx as a 0-based int64 tensor: a NEW reference.
 * Call it after every other check that can raise, and release it before raising. */
static ml_tensor *index_arg(lua_State *L, int idx, const char *fn) {
    ml_tensor *t = lb_test_tensor(L, idx);
    int top = lua_gettop(L);
    if (!t) {
        if (!lua_istable(L, idx))
            luaL_error(L, "%s: index must be an int64 tensor or a table of integers, got %s", fn, luaL_typename(L, idx));
        t = table_tensor(L, idx, fn);
        if (t->numel == 0 && t->dtype != ML_INT64) {
            ml_tensor *e = ml_empty(t->ndim, t->shape, ML_INT64);
            lua_settop(L, top);
            return e ? e : (lb_raise(L), NULL);
        }
        if (t->dtype != ML_INT64) luaL_error(L, "%s: index table must hold integers, got %s values", fn, ml_dtype_name(t->dtype));
    } else if (t->dtype != ML_INT64) {
        luaL_error(L, "%s: index must be an int64 tensor, got %s", fn, ml_dtype_name(t->dtype));
    }
    ml_tensor *z = ml_binary_scalar(ML_SUB, t, 1, false);
    lua_settop(L, top);
    if (!z) lb_raise(L);
    return z;
}

/* The mask argument at idx: a bool tensor (or a table of booleans). Borrowed; may push. */
static ml_tensor *mask_arg(lua_State *L, int idx, const char *fn) {
    ml_tensor *m = lb_test_tensor(L, idx);
    if (!m) {
        if (!lua_istable(L, idx))
            luaL_error(L, "%s: mask must be a bool tensor, got %s", fn, luaL_typename(L, idx));
        m = table_tensor(L, idx, fn);
    }
    if (m->dtype != ML_BOOL) luaL_error(L, "%s: mask must be a bool tensor, got %s", fn, ml_dtype_name(m->dtype));
    return m;
}

/* Optional dim at idx (default def, 1-based as given by the user). */
static int opt_dim_arg(lua_State *L, int idx, int ndim, int def, const char *fn) {
    if (lua_isnoneornil(L, idx)) {
        int d = ml_norm_dim(fn, def, ndim);
        if (d < 0) lb_raise(L);
        return d;
    }
    return lb_check_dim(L, idx, ndim, fn);
}

static void no_more_args(lua_State *L, int last, const char *fn) {
    if (lua_gettop(L) > last)
        luaL_error(L, "%s: unexpected argument #%d (%s)", fn, last + 1, luaL_typename(L, last + 1));
}

/* Pushes idx (0-based, a new reference) as 1-based indices. */
static void push_indices(lua_State *L, ml_tensor *idx) {
    ml_tensor *r = idx ? ml_binary_scalar(ML_ADD, idx, 1, false) : NULL;
    ml_release(idx);
    lb_push_tensor(L, r);
}

/* ---- index_select, gather, scatter_add ------------------------------- */
/* t:index_select(dim, index) */
static int l_index_select(lua_State *L) {
    const char *fn = "index_select";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    int dim = lb_check_dim(L, 2, t->ndim, fn);
    no_more_args(L, 3, fn);
    ml_tensor *ix = index_arg(L, 3, fn);
    ml_tensor *r = ml_index_select(t, dim, ix);
    ml_release(ix);
    lb_push_tensor(L, r);
    return 1;
}

/* t:gather(dim, index): out[i][j] = t[index[i][j]][j] (dim 1) */
static int l_gather(lua_State *L) {
    const char *fn = "gather";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    int dim = lb_check_dim(L, 2, t->ndim, fn);
    no_more_args(L, 3, fn);
    ml_tensor *ix = index_arg(L, 3, fn);
    ml_tensor *r = ml_gather(t, dim, ix);
    ml_release(ix);
    lb_push_tensor(L, r);
    return 1;
}

/* t:scatter_add(dim, index, src): a copy of t with src added at the index positions */
static int l_scatter_add(lua_State *L) {
    const char *fn = "scatter_add";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    int dim = lb_check_dim(L, 2, t->ndim, fn);
    ml_tensor *src = lb_check_tensor(L, 4, fn);
    no_more_args(L, 4, fn);
    ml_tensor *ix = index_arg(L, 3, fn);
    ml_tensor *r = ml_scatter_add(t, dim, ix, src);
    ml_release(ix);
    lb_push_tensor(L, r);
    return 1;
}

/* ---- masks ------------------------------------------------------------ */
/* t:masked_select(mask): the elements where mask is true, as a 1-D tensor */
static int l_masked_select(lua_State *L) {
    const char *fn = "masked_select";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    no_more_args(L, 2, fn);
    ml_tensor *m = mask_arg(L, 2, fn);
    lb_push_tensor(L, ml_masked_select(t, m));
    return 1;
}

/* t:masked_fill(mask, value): a copy of t with value where mask is true */
static int l_masked_fill(lua_State *L) {
    const char *fn = "masked_fill";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    double v;
    ml_tensor *vt = lb_test_tensor(L, 3);
    if (lua_type(L, 3) == LUA_TNUMBER) v = lua_tonumber(L, 3);
    else if (lua_isboolean(L, 3)) v = lua_toboolean(L, 3);
    else if (vt && vt->numel == 1) v = ml_get_flat(vt, 0);
    else return luaL_error(L, "%s: value must be a number, a boolean or a one-element tensor, got %s", fn,
                           vt ? "a tensor with more than one element" : luaL_typename(L, 3));
    no_more_args(L, 3, fn);
    ml_tensor *m = mask_arg(L, 2, fn);
    lb_push_tensor(L, ml_masked_fill(t, m, v));
    return 1;
}

/* ---- cat, stack, split, chunk ----------------------------------------- */
/* The list of tensors at idx, as an array owned by Lua (a userdata left on the stack). */
static ml_tensor **tensor_list(lua_State *L, int idx, int *n, const char *fn) {
    if (!lua_istable(L, idx) || lb_test_tensor(L, idx))
        luaL_error(L, "%s: expected a list of tensors, got %s", fn, lb_test_tensor(L, idx) ? "a tensor" : luaL_typename(L, idx));
    lua_Integer len = luaL_len(L, idx);
    if (len < 1) luaL_error(L, "%s: expected a non-empty list of tensors", fn);
    if (len > (1 << 24)) luaL_error(L, "%s: too many tensors (%I)", fn, len);
    ml_tensor **ts = lua_newuserdatauv(L, sizeof *ts * (size_t)len, 0);
    for (lua_Integer i = 1; i <= len; i++) {
        lua_geti(L, idx, i);
        ml_tensor *t = lb_test_tensor(L, -1);
        if (!t) luaL_error(L, "%s: element %I of the list is %s, expected a tensor", fn, i, luaL_typename(L, -1));
        ts[i - 1] = t; /* kept alive by the list */
        lua_pop(L, 1);
    }
    *n = (int)len;
    return ts;
}

/* ml.cat({a, b, ...}, [dim=1]) */
static int l_cat(lua_State *L) {
    const char *fn = "cat";
    no_more_args(L, 2, fn);
    lua_settop(L, 2); /* the list's array goes at 3 */
    int n;
    ml_tensor **ts = tensor_list(L, 1, &n, fn);
    if (ts[0]->ndim == 0) return luaL_error(L, "%s: tensor 1 is 0-d; zero-dimensional tensors cannot be concatenated", fn);
    int dim = opt_dim_arg(L, 2, ts[0]->ndim, 1, fn);
    lb_push_tensor(L, ml_cat(n, ts, dim));
    return 1;
}

/* ml.stack({a, b, ...}, [dim=1]): a new dimension dim (1..ndim+1) */
static int l_stack(lua_State *L) {
    const char *fn = "stack";
    no_more_args(L, 2, fn);
    lua_settop(L, 2); /* the list's array goes at 3 */
    int n;
    ml_tensor **ts = tensor_list(L, 1, &n, fn);
    int dim = opt_dim_arg(L, 2, ts[0]->ndim + 1, 1, fn);
    lb_push_tensor(L, ml_stack(n, ts, dim));
    return 1;
}

/* Pushes a table of narrow views of t along dim with the given sizes. */
static void push_pieces(lua_State *L, ml_tensor *t, int dim, const int64_t *sizes, int64_t n) {
    lua_createtable(L, (int)n, 0);
    int64_t start = 0;
    for (int64_t i = 0; i < n; i++) {
        lb_push_tensor(L, ml_narrow(t, dim, start, sizes[i]));
        lua_rawseti(L, -2, i + 1);
        start += sizes[i];
    }
}

/* t:split(size, [dim=1]) -> pieces of `size` (the last may be smaller);
 * t:split({s1, s2, ...}, [dim=1]) -> pieces of those sizes (summing to the dim's size) */
static int l_split(lua_State *L) {
    const char *fn = "split";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    if (t->ndim == 0) return luaL_error(L, "%s: cannot split a 0-d tensor", fn);
    no_more_args(L, 3, fn);
    int dim = opt_dim_arg(L, 3, t->ndim, 1, fn);
    int64_t len = t->shape[dim], n;
    int64_t *sizes;
    if (lua_istable(L, 2) && !lb_test_tensor(L, 2)) {
        n = (int64_t)luaL_len(L, 2);
        sizes = lua_newuserdatauv(L, sizeof *sizes * (size_t)(n ? n : 1), 0);
        int64_t sum = 0;
        for (int64_t i = 0; i < n; i++) {
            lua_geti(L, 2, i + 1);
            int ok;
            lua_Integer s = lua_tointegerx(L, -1, &ok);
            if (!ok) luaL_error(L, "%s: size %d must be an integer, got %s", fn, (int)i + 1, luaL_typename(L, -1));
            if (s < 0) luaL_error(L, "%s: size %d must be non-negative, got %I", fn, (int)i + 1, s);
            lua_pop(L, 1);
            sizes[i] = s;
            sum += s;
        }
        if (sum != len)
            luaL_error(L, "%s: sizes sum to %I, expected %I (the size of dimension %d)", fn, (lua_Integer)sum,
                       (lua_Integer)len, dim + 1);
    } else {
        int ok;
        lua_Integer s = lua_tointegerx(L, 2, &ok);
        if (!ok) luaL_error(L, "%s: size must be an integer or a table of integers, got %s", fn, luaL_typename(L, 2));
        if (s < 1 && !(s == 0 && len == 0)) luaL_error(L, "%s: size must be positive, got %I", fn, s);
        n = len == 0 ? 1 : (len + s - 1) / s;
        sizes = lua_newuserdatauv(L, sizeof *sizes * (size_t)n, 0);
        for (int64_t i = 0; i < n; i++) sizes[i] = len - i * s < s ? len - i * s : s;
        if (len == 0) sizes[0] = 0;
    }
    push_pieces(L, t, dim, sizes, n);
    return 1;
}

/* t:chunk(n, [dim=1]): n pieces of ceil(size / n) (fewer when the size runs out) */
static int l_chunk(lua_State *L) {
    const char *fn = "chunk";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    if (t->ndim == 0) return luaL_error(L, "%s: cannot chunk a 0-d tensor", fn);
    int ok;
    lua_Integer k = lua_tointegerx(L, 2, &ok);
    if (!ok) luaL_error(L, "%s: the number of chunks must be an integer, got %s", fn, luaL_typename(L, 2));
    if (k < 1) luaL_error(L, "%s: the number of chunks must be positive, got %I", fn, k);
    no_more_args(L, 3, fn);
    int dim = opt_dim_arg(L, 3, t->ndim, 1, fn);
    int64_t len = t->shape[dim], s = len / k + (len % k != 0); /* no overflow for huge k */
    int64_t n = len == 0 ? 1 : (len + s - 1) / s;
    int64_t *sizes = lua_newuserdatauv(L, sizeof *sizes * (size_t)n, 0);
    for (int64_t i = 0; i < n; i++) sizes[i] = len - i * s < s ? len - i * s : s;
    if (len == 0) sizes[0] = 0;
    push_pieces(L, t, dim, sizes, n);
    return 1;
}

/* ---- sort and topk ------------------------------------------------------ */
/* [dim], [opts] from idx on: returns the 0-based dim and leaves the options index in *oi (0: none). */
static int dim_and_opts(lua_State *L, int idx, ml_tensor *t, const char *fn, const char *const *known, int *oi) {
    int has_dim = !lua_isnoneornil(L, idx) && !lua_istable(L, idx);
    int o = has_dim || lua_isnil(L, idx) ? idx + 1 : idx;
    no_more_args(L, o, fn);
    if (!lua_isnoneornil(L, o) && !lua_istable(L, o))
        luaL_error(L, "%s: options must be a table, got %s", fn, luaL_typename(L, o));
    lb_check_options(L, o, fn, known);
    *oi = lua_istable(L, o) ? o : 0;
    if (*oi && lua_getfield(L, o, "dim") != LUA_TNIL) {
        if (has_dim) luaL_error(L, "%s: dim given twice (as an argument and as an option)", fn);
        int d = lb_check_dim(L, -1, t->ndim, fn);
        lua_pop(L, 1);
        return d;
    }
    if (*oi) lua_pop(L, 1);
    if (has_dim) return lb_check_dim(L, idx, t->ndim, fn);
    int d = ml_norm_dim(fn, -1, t->ndim); /* the last dimension */
    if (d < 0) lb_raise(L);
    return d;
}

static int bool_opt(lua_State *L, int oi, const char *key, int def, const char *fn) {
    if (!oi) return def;
    int ty = lua_getfield(L, oi, key);
    if (ty != LUA_TNIL && ty != LUA_TBOOLEAN) luaL_error(L, "%s: option '%s' must be a boolean, got %s", fn, key, luaL_typename(L, -1));
    int r = ty == LUA_TNIL ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

/* t:sort([dim=-1], [{descending=false, stable=true}]) -> values, indices (1-based). Always stable. */
static int l_sort(lua_State *L) {
    const char *fn = "sort";
    static const char *const known[] = {"dim", "descending", "stable", NULL};
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    int oi;
    int dim = dim_and_opts(L, 2, t, fn, known, &oi);
    bool desc = bool_opt(L, oi, "descending", 0, fn);
    bool_opt(L, oi, "stable", 1, fn); /* sorting is always stable */
    ml_tensor *idx = NULL;
    lb_push_tensor(L, ml_sort(t, dim, desc, &idx));
    push_indices(L, idx);
    return 2;
}

/* t:topk(k, [dim=-1], [{largest=true, sorted=true}]) -> values, indices (1-based).
 * The result is always sorted (best first); ties keep their original order. */
static int l_topk(lua_State *L) {
    const char *fn = "topk";
    static const char *const known[] = {"dim", "largest", "sorted", NULL};
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    int ok;
    lua_Integer k = lua_tointegerx(L, 2, &ok);
    if (!ok) luaL_error(L, "%s: k must be an integer, got %s", fn, luaL_typename(L, 2));
    int oi;
    int dim = dim_and_opts(L, 3, t, fn, known, &oi);
    bool largest = bool_opt(L, oi, "largest", 1, fn);
    bool_opt(L, oi, "sorted", 1, fn);
    ml_tensor *idx = NULL;
    lb_push_tensor(L, ml_topk(t, (int64_t)k, dim, largest, &idx));
    push_indices(L, idx);
    return 2;
}

static const luaL_Reg methods[] = {
    {"index_select", l_index_select},
    {"gather", l_gather},
    {"scatter_add", l_scatter_add},
    {"masked_select", l_masked_select},
    {"masked_fill", l_masked_fill},
    {"split", l_split},
    {"chunk", l_chunk},
    {"sort", l_sort},
    {"topk", l_topk},
    {NULL, NULL},
};

static const luaL_Reg module_only[] = {
    {"cat", l_cat},
    {"stack", l_stack},
    {NULL, NULL},
};

/* Registers fns into the table at tidx, each closing over the ml table (index mlidx). */
static void set_closures(lua_State *L, int tidx, int mlidx, const luaL_Reg *fns) {
    for (; fns->name; fns++) {
        lua_pushvalue(L, mlidx);
        lua_pushcclosure(L, fns->func, 1);
        lua_setfield(L, tidx, fns->name);
    }
}

static const lb_doc docs[] = {
    {"Indexing and joining", NULL},
    {"index_select", "t:index_select(dim, index) -> tensor — the slices along dim at the 1-based indices (a 1-D int64 tensor or table)"},
    {"gather", "t:gather(dim, index) -> tensor — out[i][j] = t[index[i][j]][j] for dim 1; index 1-based, with t's number of dims"},
    {"scatter_add", "t:scatter_add(dim, index, src) -> tensor — a copy of t with src added at the 1-based index positions along dim"},
    {"masked_select", "t:masked_select(mask) -> tensor — the elements where the bool mask is true, as a 1-D tensor"},
    {"masked_fill", "t:masked_fill(mask, value) -> tensor — a copy of t with value where the bool mask is true"},
    {"split", "t:split(size | {sizes}, [dim=1]) -> table — views along dim of size elements (the last may be shorter), or of the given sizes"},
    {"chunk", "t:chunk(n, [dim=1]) -> table — n views along dim of ceil(size / n) elements (fewer when the size runs out)"},
    {"Sorting", NULL},
    {"sort", "t:sort([dim=-1], [{descending=false}]) -> values, indices — a stable sort along dim; indices 1-based int64"},
    {"topk", "t:topk(k, [dim=-1], [{largest=true}]) -> values, indices — the k largest (or smallest) along dim, best first; indices 1-based"},
    {NULL, NULL},
};

static const lb_doc module_docs[] = {
    {"Indexing and joining", NULL},
    {"cat", "ml.cat({a, b, ...}, [dim=1]) -> tensor — joins tensors along dim (same shape elsewhere; dtypes promote)"},
    {"stack", "ml.stack({a, b, ...}, [dim=1]) -> tensor — joins same-shaped tensors along a new dim (1..ndim+1)"},
    {NULL, NULL},
};

void lb_open_index(lua_State *L) {
    set_closures(L, 1, 1, methods);
    set_closures(L, 2, 1, methods);
    set_closures(L, 1, 1, module_only);
    lb_add_docs(L, 1, docs); /* closures: ml.gather and t.gather are two functions */
    lb_add_docs(L, 2, docs);
    lb_add_docs(L, 1, module_docs);
}
