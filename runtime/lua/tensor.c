/* The tensor userdata: lifetime (__gc/__close), field and index access
 * (t[i], t[i] = v, t.grad), size queries and dtype conversion. */
#include <string.h>

#include "../autograd/autograd.h"
#include "../ops/ops.h"
#include "lbind.h"

/* One idempotent release for both __gc and __close. */
static int t_release(lua_State *L) {
    lb_box *b = lb_test_box(L, 1);
    if (!b) return luaL_error(L, "release: argument #1: expected a tensor, got %s", luaL_typename(L, 1));
    if (b->t) {
        ml_release(b->t);
        b->t = NULL;
        lb_boxes_live--;
    }
    return 0;
}

/* Index i (1-based, negative from the end) along a dim of size n, 0-based. */
static int64_t check_index(lua_State *L, int idx, int64_t n, int dim, const char *fn) {
    int isint;
    lua_Integer i = lua_tointegerx(L, idx, &isint);
    if (!isint) luaL_error(L, "%s: index must be an integer, got %s", fn, luaL_typename(L, idx));
    return lb_index(L, i, n, dim, fn);
}

static void push_number_of(lua_State *L, ml_tensor *t) {
    /* int64 read directly: through a double, 2^53 + 1 and INT64_MAX would come back wrong */
    if (t->dtype == ML_INT64) { lua_pushinteger(L, *(const int64_t *)ml_data(t)); return; }
    double v = ml_get_flat(t, 0);
    if (t->dtype == ML_INT64) lua_pushinteger(L, (lua_Integer)v);
    else if (t->dtype == ML_BOOL) lua_pushboolean(L, v != 0);
    else lua_pushnumber(L, v);
}

/* t[i]: a view of row i, or a number for a 1-D tensor (as Torch7). */
static int index_number(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "index");
    if (t->ndim == 0) return luaL_error(L, "index: cannot index a 0-d tensor (use :item())");
    int64_t i = check_index(L, 2, t->shape[0], 0, "index");
    if (t->ndim == 1) { /* a number, as Torch7; t:select(1, i) keeps the graph */
        ml_tensor *v = ml_view(t, 0, NULL, NULL, t->offset + i * t->strides[0]);
        if (!v) return lb_raise(L);
        push_number_of(L, v);
        ml_release(v);
        return 1;
    }
    lb_push_tensor(L, ml_select(t, 0, i));
    return 1;
}

/* __index: t:method (looked up first, with no check of t: every method
 * checks its own arguments, and this is the cost of each t:f() call),
 * t[i], t.grad and t.grad_fn. */
static int t_index(lua_State *L) {
    if (lua_type(L, 2) == LUA_TSTRING) {
        lua_pushvalue(L, 2);
        if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1; /* methods */
        ml_tensor *t = lb_check_tensor(L, 1, "index");
        const char *k = lua_tostring(L, 2);
        if (k[0] == 'g' && !strcmp(k, "grad")) {
            lb_push_tensor_shared(L, t->grad);
            return 1;
        }
        if (k[0] == 'g' && !strcmp(k, "grad_fn")) {
            if (t->grad_fn) lua_pushstring(L, t->grad_fn->name);
            else lua_pushnil(L);
        }
        return 1; /* nil */
    }
    if (lua_type(L, 2) == LUA_TNUMBER) return index_number(L);
    lb_check_tensor(L, 1, "index");
    return luaL_error(L, "index: expected an integer or a method name, got %s", luaL_typename(L, 2));
}

/* t[i] = v (number or tensor, broadcast into row i); t.grad = nil|tensor. */
static int t_newindex(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "index assignment");
    if (lua_type(L, 2) == LUA_TNUMBER) {
        if (t->ndim == 0) return luaL_error(L, "index assignment: cannot index a 0-d tensor (use :fill_())");
        int64_t i = check_index(L, 2, t->shape[0], 0, "index assignment");
        if (t->requires_grad && ml_grad_enabled())
            return luaL_error(L, "index assignment: tensor requires grad; assign inside ml.no_grad or on a detached copy");
        ml_tensor *src = lb_tensor_or_number(L, 3, "index assignment", t->dtype);
        ml_tensor *row = ml_select(t, 0, i);
        int r = row ? ml_copy_into(row, src) : -1;
        ml_release(row);
        ml_release(src);
        if (r < 0) return lb_raise_as(L, "index assignment");
        ml_bump_version(t);
        return 0;
    }
    const char *k = lua_tostring(L, 2);
    if (k && !strcmp(k, "grad")) {
        ml_tensor *g = lua_isnil(L, 3) ? NULL : lb_check_tensor(L, 3, "grad assignment");
        if (g && !ml_same_shape(g, t)) {
            char gs[160], ts[160];
            return luaL_error(L, "grad assignment: assigned grad has data of a different size: got shape %s, the tensor has %s",
                              ml_shape_str(gs, sizeof gs, g->ndim, g->shape), ml_shape_str(ts, sizeof ts, t->ndim, t->shape));
        }
        if (g && g->dtype != t->dtype) /* backward would drop it: accumulation needs the tensor's dtype */
            return luaL_error(L, "grad assignment: assigned grad has dtype %s, expected the tensor's dtype %s",
                              ml_dtype_name(g->dtype), ml_dtype_name(t->dtype));
        if (g == t)
            return luaL_error(L, "grad assignment: a tensor cannot be its own gradient (assign a copy: t.grad = t:clone())");
        /* Store a detached header over g's data (no grad_fn, no .grad, not
         * requiring grad), never g itself: a gradient whose graph reaches t
         * (t.grad = t*1, t:view(n), t:narrow(...)) would otherwise own t
         * through its grad_fn, a refcount cycle that is never freed; and
         * since every stored .grad is such a fresh header, no chain of .grad
         * fields can lead back to t either. The data is shared, as in PyTorch. */
        ml_tensor *d = g ? ml_alias(g) : NULL;
        if (g && !d) return lb_raise_as(L, "grad assignment");
        ml_release(t->grad);
        t->grad = d;
        return 0;
    }
    return luaL_error(L, "tensor: cannot set field '%s' (tensors have no custom fields)", k ? k : luaL_typename(L, 2));
}

static int t_len(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "#");
    if (t->ndim == 0) return luaL_error(L, "#: a 0-d tensor has no length (use :numel())");
    lua_pushinteger(L, t->shape[0]);
    return 1;
}

/* Shapes are plain sequences (#, ipairs, indexing, table.concat work) with a
 * metatable that prints them as "[3, 4]" and compares them by value. */
static int shape_tostring(lua_State *L) {
    luaL_Buffer b;
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '[');
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        luaL_tolstring(L, -1, NULL);
        lua_remove(L, -2);
        luaL_addvalue(&b);
        if (i < n) luaL_addstring(&b, ", ");
    }
    luaL_addchar(&b, ']');
    luaL_pushresult(&b);
    return 1;
}

static int shape_eq(lua_State *L) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    int eq = lua_istable(L, 2) && (lua_Integer)lua_rawlen(L, 2) == n;
    for (lua_Integer i = 1; eq && i <= n; i++) {
        lua_rawgeti(L, 1, i);
        lua_rawgeti(L, 2, i);
        eq = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    lua_pushboolean(L, eq);
    return 1;
}

/* Pushes dims[0..n) as a sequence with the Shape metatable (shapes and strides). */
static void push_dims(lua_State *L, int n, const int64_t *dims) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushinteger(L, dims[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lb_slot_push(L, LB_SLOT_SHAPE_MT); /* made by lb_open_tensor */
    lua_setmetatable(L, -2);
}

static int t_shape(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "shape");
    push_dims(L, t->ndim, t->shape);
    return 1;
}

static int t_size(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "size");
    if (lua_isnoneornil(L, 2)) return t_shape(L);
    int d = lb_check_dim(L, 2, t->ndim, "size");
    lua_pushinteger(L, t->ndim ? t->shape[d] : 1);
    return 1;
}

static int t_stride(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "stride");
    if (!lua_isnoneornil(L, 2)) {
        int d = lb_check_dim(L, 2, t->ndim, "stride");
        lua_pushinteger(L, t->ndim ? t->strides[d] : 1);
        return 1;
    }
    push_dims(L, t->ndim, t->strides); /* prints as [3, 1], as shapes do */
    return 1;
}

static int t_dim(lua_State *L) {
    lua_pushinteger(L, lb_check_tensor(L, 1, "dim")->ndim);
    return 1;
}

static int t_numel(lua_State *L) {
    lua_pushinteger(L, lb_check_tensor(L, 1, "numel")->numel);
    return 1;
}

static int t_dtype(lua_State *L) {
    lua_pushstring(L, ml_dtype_name(lb_check_tensor(L, 1, "dtype")->dtype));
    return 1;
}

static int t_is_contiguous(lua_State *L) {
    lua_pushboolean(L, ml_is_contiguous(lb_check_tensor(L, 1, "is_contiguous")));
    return 1;
}

static int t_is_tensor(lua_State *L) {
    lua_pushboolean(L, lb_is_tensor(L, 1));
    return 1;
}

static int convert(lua_State *L, const char *fn, ml_dtype dt) {
    lb_push_tensor(L, ml_to(lb_check_tensor(L, 1, fn), dt));
    return 1;
}

static int t_to(lua_State *L) {
    lb_check_tensor(L, 1, "to");
    return convert(L, "to", lb_check_dtype_name(L, 2, "to"));
}
static int t_float(lua_State *L) { return convert(L, "float", ML_FLOAT32); }
static int t_double(lua_State *L) { return convert(L, "double", ML_FLOAT64); }
static int t_long(lua_State *L) { return convert(L, "long", ML_INT64); }
static int t_bool(lua_State *L) { return convert(L, "bool", ML_BOOL); }

static int t_contiguous(lua_State *L) {
    lb_push_tensor(L, ml_contiguous_op(lb_check_tensor(L, 1, "contiguous")));
    return 1;
}

static int t_clone(lua_State *L) {
    lb_push_tensor(L, ml_clone_op(lb_check_tensor(L, 1, "clone")));
    return 1;
}

/* t:copy_(src): copies (broadcasting, converting dtype) into t in place. */
static int t_copy_(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "copy_");
    ml_tensor *s = lb_check_tensor(L, 2, "copy_");
    if (t->requires_grad && ml_grad_enabled())
        return luaL_error(L, "copy_: tensor requires grad; copy inside ml.no_grad");
    if (ml_copy_into(t, s) < 0) return lb_raise(L);
    ml_bump_version(t);
    lua_settop(L, 1);
    return 1;
}

static const luaL_Reg methods[] = {
    {"shape", t_shape},   {"size", t_size},     {"stride", t_stride},       {"dim", t_dim},
    {"numel", t_numel},   {"dtype", t_dtype},   {"is_contiguous", t_is_contiguous},
    {"to", t_to},         {"float", t_float},   {"double", t_double},       {"long", t_long},
    {"bool", t_bool},     {"contiguous", t_contiguous}, {"clone", t_clone}, {"copy_", t_copy_},
    {NULL, NULL},
};

static const lb_doc method_docs[] = {
    {"Shape and type", NULL},
    {"shape", "t:shape() -> table — the sizes as a Lua sequence, e.g. {2, 3} ({} for a 0-d tensor); prints as [2, 3], == compares sizes"},
    {"size", "t:size([dim]) -> table|integer — all sizes as a table, or the size of 1-based dim (negative from the end)"},
    {"stride", "t:stride([dim]) -> table|integer — the strides in elements, one per dimension (prints as [3, 1], as shapes), or the stride of 1-based dim"},
    {"dim", "t:dim() -> integer — the number of dimensions (0 for a 0-d tensor)"},
    {"numel", "t:numel() -> integer — the number of elements"},
    {"dtype", "t:dtype() -> string — the dtype's name: \"float32\", \"float64\", \"int64\" or \"bool\""},
    {"is_contiguous", "t:is_contiguous() -> boolean — whether the elements are dense, in row-major order"},
    {"Conversion and copies", NULL},
    {"to", "t:to(dtype) -> tensor — t converted to dtype (\"float32\", \"float64\", \"int64\", \"bool\"); t's data when it has that dtype"},
    {"float", "t:float() -> tensor — t converted to float32 (t:to(\"float32\"))"},
    {"double", "t:double() -> tensor — t converted to float64 (t:to(\"float64\"))"},
    {"long", "t:long() -> tensor — t converted to int64 (t:to(\"int64\"))"},
    {"bool", "t:bool() -> tensor — t converted to bool, true where nonzero (t:to(\"bool\"))"},
    {"contiguous", "t:contiguous() -> tensor — t's data when already contiguous, else a contiguous copy (differentiable)"},
    {"clone", "t:clone() -> tensor — a contiguous copy with its own storage (differentiable)"},
    {"copy_", "t:copy_(src) -> t — copies src into t in place, broadcasting and converting the dtype; not recorded by autograd"},
    {NULL, NULL},
};

static const lb_doc ml_docs[] = {
    {"Shape and type", NULL},
    {"is_tensor", "ml.is_tensor(x) -> boolean — whether x is a tensor"},
    {NULL, NULL},
};

void lb_open_tensor(lua_State *L) {
    luaL_newmetatable(L, "moonlab.Shape");
    lua_pushcfunction(L, shape_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, shape_eq);
    lua_setfield(L, -2, "__eq");
    lb_slot_set(L, LB_SLOT_SHAPE_MT, -1);
    lua_pop(L, 1);
    lb_setfuncs(L, 2, methods);
    lua_pushcfunction(L, t_is_tensor);
    lua_setfield(L, 1, "is_tensor");
    luaL_getmetatable(L, LB_TENSOR_MT);
    lua_pushcfunction(L, t_release);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, t_release);
    lua_setfield(L, -2, "__close");
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, t_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, t_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, t_len);
    lua_setfield(L, -2, "__len");
    lua_pushliteral(L, "Tensor");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
    lb_add_docs(L, 2, method_docs);
    lb_add_docs(L, 1, ml_docs);
}
