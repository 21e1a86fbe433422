/* Printing and conversion to Lua values: tostring(t) (__tostring),
 * t:tolist(), t:item(), ml.set_printoptions{...}.
 *
 * The layout and number-format analysis live in runtime/tensor/format.c;
 * this file only reads options and pushes results. The print options are
 * per interpreter: one userdata shared as an upvalue by __tostring and
 * ml.set_printoptions. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "../tensor/format.h"
#include "lbind.h"

/* ---- tostring -------------------------------------------------------- */
static int t_tostring(lua_State *L) {
    const ml_printopts *o = lua_touserdata(L, lua_upvalueindex(1));
    lb_box *b = luaL_checkudata(L, 1, LB_TENSOR_MT);
    if (!b->t) { lua_pushliteral(L, "tensor(<freed>)"); return 1; }
    ml_buf sb = {0};
    if (ml_format_tensor(&sb, b->t, o) < 0) {
        ml_buf_free(&sb);
        return luaL_error(L, "tostring: out of memory formatting a tensor");
    }
    lua_pushlstring(L, sb.data, sb.len);
    ml_buf_free(&sb);
    return 1;
}

/* ---- tolist / item --------------------------------------------------- */
static void push_elem(lua_State *L, const ml_tensor *t, const char *base, int64_t off) {
    switch (t->dtype) {
    case ML_FLOAT32: lua_pushnumber(L, ((const float *)base)[off]); break;
    case ML_FLOAT64: lua_pushnumber(L, ((const double *)base)[off]); break;
    case ML_INT64: lua_pushinteger(L, ((const int64_t *)base)[off]); break;
    case ML_BOOL: lua_pushboolean(L, ((const uint8_t *)base)[off] != 0); break;
    default: lua_pushnil(L); break;
    }
}

#define ROW_LOOP(PUSH, CT)                                                                                   \
    do {                                                                                                     \
        const CT *p = (const CT *)base + off;                                                                \
        for (int64_t i = 0; i < n; i++) {                                                                    \
            PUSH(L, p[i * st]);                                                                              \
            lua_rawseti(L, -2, i + 1);                                                                       \
        }                                                                                                    \
    } while (0)
#define PUSH_BOOL(L, v) lua_pushboolean(L, (v) != 0)

/* Pushes dims d.. at element offset off as nested tables. */
static void tolist_rec(lua_State *L, const ml_tensor *t, const char *base, int d, int64_t off) {
    int64_t n = t->shape[d], st = t->strides[d];
    lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0);
    if (d < t->ndim - 1) {
        for (int64_t i = 0; i < n; i++) {
            tolist_rec(L, t, base, d + 1, off + i * st);
            lua_rawseti(L, -2, i + 1);
        }
        return;
    }
    switch (t->dtype) {
    case ML_FLOAT32: ROW_LOOP(lua_pushnumber, float); break;
    case ML_FLOAT64: ROW_LOOP(lua_pushnumber, double); break;
    case ML_INT64: ROW_LOOP(lua_pushinteger, int64_t); break;
    case ML_BOOL: ROW_LOOP(PUSH_BOOL, uint8_t); break;
    default: break;
    }
}

/* t:tolist(): nested tables of numbers (int64 as integers, bool as booleans);
 * a 0-d tensor gives its plain value. */
static int t_tolist(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "tolist");
    const char *base = (const char *)t->storage->data;
    if (t->ndim == 0) {
        push_elem(L, t, base, t->offset);
        return 1;
    }
    luaL_checkstack(L, t->ndim + 4, "tolist: tensor too deep");
    tolist_rec(L, t, base, 0, t->offset);
    return 1;
}

/* t:item(): the value of a one-element tensor. */
static int t_item(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "item");
    if (t->numel != 1)
        return luaL_error(L, "item: tensor has %I elements, expected 1", (lua_Integer)t->numel);
    /* every index is 0, so the element sits at the view's offset */
    push_elem(L, t, (const char *)t->storage->data, t->offset);
    return 1;
}

/* ---- ml.set_printoptions --------------------------------------------- */
static const char *const opt_names[] = {"precision", "edgeitems", "threshold", "linewidth", "sci_mode", "profile", NULL};

static lua_Integer int_field(lua_State *L, const char *key, lua_Integer lo, lua_Integer hi, lua_Integer cur) {
    lua_getfield(L, 1, key);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); return cur; }
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < lo || v > hi)
        luaL_error(L, "ml.set_printoptions: option '%s' must be an integer in [%I, %I], got %s", key, lo, hi,
                   luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
    return v;
}

static void push_opts(lua_State *L, const ml_printopts *o) {
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, o->precision);
    lua_setfield(L, -2, "precision");
    lua_pushinteger(L, o->edgeitems);
    lua_setfield(L, -2, "edgeitems");
    if (o->threshold == INT64_MAX) lua_pushnumber(L, HUGE_VAL);
    else lua_pushinteger(L, o->threshold);
    lua_setfield(L, -2, "threshold");
    lua_pushinteger(L, o->linewidth);
    lua_setfield(L, -2, "linewidth");
    if (o->sci_mode < 0) lua_pushliteral(L, "auto");
    else lua_pushboolean(L, o->sci_mode);
    lua_setfield(L, -2, "sci_mode");
}

/* ml.set_printoptions{precision=4, edgeitems=3, threshold=1000, linewidth=80,
 * sci_mode=true|false|"auto", profile="default"|"short"|"full"}.
 * Options left out keep their value (profile is applied first). Returns the
 * previous options, so ml.set_printoptions(old) restores them; with no
 * argument it only returns the current ones. */
static int ml_set_printoptions(lua_State *L) {
    static const char fn[] = "ml.set_printoptions";
    ml_printopts *o = lua_touserdata(L, lua_upvalueindex(1));
    push_opts(L, o); /* the previous options, returned */
    if (lua_isnoneornil(L, 1)) return 1;
    lb_check_options(L, 1, fn, opt_names);
    ml_printopts n = *o;

    lua_getfield(L, 1, "profile");
    if (!lua_isnil(L, -1)) {
        const char *p = lua_tostring(L, -1);
        if (p && !strcmp(p, "default")) n = ml_printopts_default;
        else if (p && !strcmp(p, "short")) { n = ml_printopts_default; n.precision = 2; n.edgeitems = 2; }
        else if (p && !strcmp(p, "full")) { n = ml_printopts_default; n.threshold = INT64_MAX; }
        else luaL_error(L, "%s: profile must be 'default', 'short' or 'full', got %s", fn, luaL_tolstring(L, -1, NULL));
    }
    lua_pop(L, 1);

    n.precision = (int)int_field(L, "precision", 0, 30, n.precision);
    n.edgeitems = (int)int_field(L, "edgeitems", 0, 1 << 20, n.edgeitems);
    n.linewidth = (int)int_field(L, "linewidth", 1, 1 << 20, n.linewidth);

    lua_getfield(L, 1, "threshold");
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) >= 0))
            luaL_error(L, "%s: option 'threshold' must be a non-negative number, got %s", fn, luaL_tolstring(L, -1, NULL));
        if (lua_isinteger(L, -1)) n.threshold = lua_tointeger(L, -1);
        else {
            double v = floor(lua_tonumber(L, -1));
            n.threshold = v >= 9.2e18 ? INT64_MAX : (int64_t)v;
        }
    }
    lua_pop(L, 1);

    lua_getfield(L, 1, "sci_mode");
    if (lua_isboolean(L, -1)) n.sci_mode = lua_toboolean(L, -1);
    else if (lua_type(L, -1) == LUA_TSTRING && !strcmp(lua_tostring(L, -1), "auto")) n.sci_mode = -1;
    else if (!lua_isnil(L, -1))
        luaL_error(L, "%s: option 'sci_mode' must be true, false or \"auto\", got %s", fn, luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);

    *o = n;
    return 1;
}

void lb_open_print(lua_State *L) {
    ml_printopts *o = lua_newuserdatauv(L, sizeof *o, 0); /* shared by the closures below */
    *o = ml_printopts_default;

    luaL_getmetatable(L, LB_TENSOR_MT);
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, t_tostring, 1);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    lua_pushvalue(L, -1);
    lua_pushcclosure(L, ml_set_printoptions, 1);
    lua_setfield(L, 1, "set_printoptions");
    lua_pop(L, 1);

    static const luaL_Reg methods[] = {{"tolist", t_tolist}, {"item", t_item}, {NULL, NULL}};
    lb_setfuncs(L, 2, methods);

    static const lb_doc ml_docs[] = {
        {"Printing and values", NULL},
        {"set_printoptions", "ml.set_printoptions([{precision=4, edgeitems=3, threshold=1000, linewidth=80, "
                             "sci_mode=\"auto\", profile=\"default\"|\"short\"|\"full\"}]) -> table — sets how tensors "
                             "print; returns the previous options"},
        {NULL, NULL},
    };
    static const lb_doc method_docs[] = {
        {"Printing and values", NULL},
        {"tolist", "t:tolist() -> table — nested Lua tables of the values (int64 as integers, bool as booleans); "
                   "a 0-d tensor gives its value"},
        {"item", "t:item() -> number|boolean — the value of a one-element tensor"},
        {NULL, NULL},
    };
    lb_add_docs(L, 1, ml_docs);
    lb_add_docs(L, 2, method_docs);
}
