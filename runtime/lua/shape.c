/* View ops: reshape/view, transpose/t, permute, narrow, select, expand,
 * squeeze, unsqueeze, flatten, detach. None copies (reshape copies only
 * when no view can express the result). */
#include "../ops/ops.h"
#include "lbind.h"

/* shape from varargs or a table; sizes may be -1 here */
static int shape_arg(lua_State *L, int idx, int64_t *shape, const char *fn) {
    int n = 0;
    if (lua_istable(L, idx)) {
        n = (int)luaL_len(L, idx);
        if (n > ML_MAX_DIMS) luaL_error(L, "%s: at most %d dimensions, got %d", fn, ML_MAX_DIMS, n);
        for (int i = 0; i < n; i++) {
            lua_geti(L, idx, i + 1);
            int ok;
            shape[i] = lua_tointegerx(L, -1, &ok);
            if (!ok) luaL_error(L, "%s: size %d must be an integer, got %s", fn, i + 1, luaL_typename(L, -1));
            lua_pop(L, 1);
        }
        return n;
    }
    int top = lua_gettop(L);
    for (int i = idx; i <= top; i++) {
        if (n >= ML_MAX_DIMS) luaL_error(L, "%s: at most %d dimensions", fn, ML_MAX_DIMS);
        int ok;
        shape[n] = lua_tointegerx(L, i, &ok);
        if (!ok) luaL_error(L, "%s: size %d must be an integer, got %s", fn, n + 1, luaL_typename(L, i));
        n++;
    }
    return n;
}

static int s_reshape(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "reshape");
    int64_t s[ML_MAX_DIMS];
    int n = shape_arg(L, 2, s, "reshape");
    lb_push_tensor(L, ml_reshape(t, n, s));
    return 1;
}

static int s_view(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "view");
    int64_t s[ML_MAX_DIMS];
    int n = shape_arg(L, 2, s, "view");
    lb_push_tensor(L, ml_view_shape(t, n, s));
    return 1;
}

static int s_transpose(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "transpose");
    int d0 = lb_check_dim(L, 2, t->ndim, "transpose"), d1 = lb_check_dim(L, 3, t->ndim, "transpose");
    lb_push_tensor(L, ml_transpose(t, d0, d1));
    return 1;
}

/* t:t(): transpose of a 2-D tensor (1-D and 0-D are returned as they are) */
static int s_t(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "t");
    if (t->ndim > 2) return luaL_error(L, "t: expected a tensor with at most 2 dimensions, got %d (use transpose)", t->ndim);
    lb_push_tensor(L, t->ndim == 2 ? ml_transpose(t, 0, 1) : ml_retain(t));
    return 1;
}

static int s_permute(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "permute");
    int64_t s[ML_MAX_DIMS];
    int n = shape_arg(L, 2, s, "permute");
    if (n != t->ndim) return luaL_error(L, "permute: expected %d dimensions, got %d", t->ndim, n);
    int perm[ML_MAX_DIMS];
    for (int i = 0; i < n; i++) {
        int64_t d = s[i] < 0 ? s[i] + n + 1 : s[i];
        if (s[i] == 0)
            return luaL_error(L, "permute: dimension 0 is out of range (dimensions are 1-based: 1..%d, or -1..-%d from the end)",
                              n, n);
        if (d < 1 || d > n)
            return luaL_error(L, "permute: dimension %I out of range for a tensor with %d dimensions", (lua_Integer)s[i], n);
        perm[i] = (int)d - 1;
    }
    lb_push_tensor(L, ml_permute(t, perm));
    return 1;
}

/* t:narrow(dim, start, length): start is 1-based */
static int s_narrow(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "narrow");
    int d = lb_check_dim(L, 2, t->ndim, "narrow");
    lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
    if (start == 0)
        return luaL_error(L, "narrow: start 0 is out of range for dimension %d of size %I (indices are 1-based: 1..%I, "
                          "or -1..-%I from the end)", d + 1, (lua_Integer)t->shape[d], (lua_Integer)t->shape[d],
                          (lua_Integer)t->shape[d]);
    if (start < 0) start += t->shape[d] + 1;
    lb_push_tensor(L, ml_narrow(t, d, start - 1, len));
    return 1;
}

/* t:select(dim, index): index is 1-based, negative from the end */
static int s_select(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "select");
    int d = lb_check_dim(L, 2, t->ndim, "select");
    if (t->ndim == 0) return luaL_error(L, "select: cannot index a 0-d tensor");
    int64_t i = lb_index(L, luaL_checkinteger(L, 3), t->shape[d], d, "select");
    lb_push_tensor(L, ml_select(t, d, i));
    return 1;
}

static int s_expand(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "expand");
    int64_t s[ML_MAX_DIMS];
    int n = shape_arg(L, 2, s, "expand");
    lb_push_tensor(L, ml_expand(t, n, s));
    return 1;
}

static int s_expand_as(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "expand_as"), *o = lb_check_tensor(L, 2, "expand_as");
    lb_push_tensor(L, ml_expand(t, o->ndim, o->shape));
    return 1;
}

static int s_squeeze(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "squeeze");
    int d = lua_isnoneornil(L, 2) ? -1 : lb_check_dim(L, 2, t->ndim, "squeeze");
    lb_push_tensor(L, ml_squeeze(t, d));
    return 1;
}

static int s_unsqueeze(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "unsqueeze");
    int d = lb_check_dim(L, 2, t->ndim + 1, "unsqueeze");
    lb_push_tensor(L, ml_unsqueeze(t, d));
    return 1;
}

/* t:flatten([start_dim=1], [end_dim=-1]) */
static int s_flatten(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "flatten");
    if (t->ndim == 0) {
        int64_t one = 1;
        lb_push_tensor(L, ml_reshape(t, 1, &one));
        return 1;
    }
    int a = lua_isnoneornil(L, 2) ? 0 : lb_check_dim(L, 2, t->ndim, "flatten");
    int b = lua_isnoneornil(L, 3) ? t->ndim - 1 : lb_check_dim(L, 3, t->ndim, "flatten");
    if (a > b) return luaL_error(L, "flatten: start dimension %d is after end dimension %d", a + 1, b + 1);
    int64_t s[ML_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (i > a && i <= b) s[n - 1] *= t->shape[i];
        else s[n++] = t->shape[i];
    }
    lb_push_tensor(L, ml_reshape(t, n, s));
    return 1;
}

static int s_detach(lua_State *L) {
    lb_push_tensor(L, ml_detach(lb_check_tensor(L, 1, "detach")));
    return 1;
}

static const luaL_Reg funcs[] = {
    {"reshape", s_reshape}, {"view", s_view}, {"transpose", s_transpose}, {"t", s_t}, {"permute", s_permute},
    {"narrow", s_narrow}, {"select", s_select}, {"expand", s_expand}, {"expand_as", s_expand_as},
    {"squeeze", s_squeeze}, {"unsqueeze", s_unsqueeze}, {"flatten", s_flatten}, {"detach", s_detach},
    {NULL, NULL},
};

static const lb_doc docs[] = {
    {"Views", NULL},
    {"reshape", "t:reshape(sizes... | {sizes}) -> tensor — the elements in a new shape (one size may be -1); a view when possible, else a copy"},
    {"view", "t:view(sizes... | {sizes}) -> tensor — like reshape, but always a view: an error when t's strides allow none"},
    {"transpose", "t:transpose(dim1, dim2) -> tensor — a view with two 1-based dims swapped"},
    {"t", "t:t() -> tensor — the transpose of a 2-D tensor, a view (0-D and 1-D tensors come back as they are)"},
    {"permute", "t:permute(dims... | {dims}) -> tensor — a view with the 1-based dims reordered, e.g. t:permute(3, 1, 2)"},
    {"narrow", "t:narrow(dim, start, length) -> tensor — a view of length elements along dim from 1-based start"},
    {"select", "t:select(dim, index) -> tensor — a view of slice index (1-based, negative from the end) along dim, without dim"},
    {"expand", "t:expand(sizes... | {sizes}) -> tensor — a view repeating size-1 dims to sizes (-1 keeps a size), no copy"},
    {"expand_as", "t:expand_as(other) -> tensor — t:expand to other's shape"},
    {"squeeze", "t:squeeze([dim]) -> tensor — a view without size-1 dims (all of them, or only dim)"},
    {"unsqueeze", "t:unsqueeze(dim) -> tensor — a view with a new size-1 dim at 1-based position dim (1..ndim+1)"},
    {"flatten", "t:flatten([start_dim=1], [end_dim=-1]) -> tensor — dims start_dim..end_dim merged into one"},
    {"Autograd", NULL},
    {"detach", "t:detach() -> tensor — shares t's data, cut from the autograd graph"},
    {NULL, NULL},
};

void lb_open_shape(lua_State *L) {
    lb_setfuncs(L, 1, funcs);
    lb_setfuncs(L, 2, funcs);
    lb_add_docs(L, 1, docs);
    lb_add_docs(L, 2, docs);
}
