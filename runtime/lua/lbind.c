/* Argument checking, tensor boxing and GC accounting for the bindings. */
#include "lbind.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "../autograd/autograd.h"

int lb_raise(lua_State *L) { return luaL_error(L, "%s", ml_last_error()); }

ml_tensor *lb_test_tensor(lua_State *L, int idx) {
    lb_box *b = luaL_testudata(L, idx, LB_TENSOR_MT);
    return b ? b->t : NULL;
}

ml_tensor *lb_check_tensor(lua_State *L, int idx, const char *fn) {
    lb_box *b = luaL_testudata(L, idx, LB_TENSOR_MT);
    if (!b) luaL_error(L, "%s: argument #%d: expected a tensor, got %s", fn, idx, luaL_typename(L, idx));
    if (!b->t) luaL_error(L, "%s: argument #%d: tensor was already freed", fn, idx);
    return b->t;
}

ml_tensor *lb_tensor_or_number(lua_State *L, int idx, const char *fn, ml_dtype like) {
    if (lua_type(L, idx) == LUA_TNUMBER) {
        ml_dtype dt = ml_dtype_is_float(like) ? like : (lua_isinteger(L, idx) ? ML_INT64 : ML_FLOAT32);
        ml_tensor *t = ml_scalar(lua_tonumber(L, idx), dt);
        if (!t) lb_raise(L);
        return t;
    }
    if (lua_type(L, idx) == LUA_TBOOLEAN) {
        ml_tensor *t = ml_scalar(lua_toboolean(L, idx), ML_BOOL);
        if (!t) lb_raise(L);
        return t;
    }
    return ml_retain(lb_check_tensor(L, idx, fn));
}

/* Collector pressure: every tensor byte allocated since the last check is
 * reported as if Lua had allocated it, so the incremental collector runs
 * (and frees dead tensors) at the pace tensors are made. */
void lb_gc_account(lua_State *L) {
    static _Thread_local int64_t seen = 0;
    int64_t now = ml_bytes_allocated_total;
    int64_t kb = (now - seen) >> 10;
    if (kb >= 64) {
        seen = now;
        lua_gc(L, LUA_GCSTEP, (int)(kb > (1 << 30) ? (1 << 30) : kb));
    }
}

void lb_push_tensor(lua_State *L, ml_tensor *t) {
    if (!t) lb_raise(L);
    lb_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->t = t;
    luaL_setmetatable(L, LB_TENSOR_MT);
    lb_gc_account(L);
}

static const char shared_key = 0;

void lb_push_tensor_shared(lua_State *L, ml_tensor *t) {
    if (!t) { lua_pushnil(L); return; }
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &shared_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_newtable(L);
        lua_pushstring(L, "v");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &shared_key);
    }
    if (lua_rawgetp(L, -1, t) == LUA_TUSERDATA) {
        lb_box *b = lua_touserdata(L, -1);
        if (b->t == t) { lua_remove(L, -2); return; }
    }
    lua_pop(L, 1);
    lb_push_tensor(L, ml_retain(t));
    lua_pushvalue(L, -1);
    lua_rawsetp(L, -3, t);
    lua_remove(L, -2);
}

int lb_check_dim(lua_State *L, int idx, int ndim, const char *fn) {
    lua_Integer d = luaL_checkinteger(L, idx);
    if (d < -64 || d > 64) luaL_error(L, "%s: dimension %I out of range for a tensor with %d dimensions", fn, d, ndim);
    int r = ml_norm_dim(fn, (int)d, ndim);
    if (r < 0) lb_raise(L);
    return r;
}

static int64_t check_size(lua_State *L, int idx, const char *fn, int k) {
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, idx, &isint);
    if (!isint) luaL_error(L, "%s: size %d must be an integer, got %s", fn, k, luaL_typename(L, idx));
    if (v < 0) luaL_error(L, "%s: size %d must be non-negative, got %I", fn, k, v);
    return v;
}

int lb_check_shape(lua_State *L, int idx, int64_t *shape, const char *fn) {
    int n;
    if (lua_istable(L, idx)) {
        n = (int)luaL_len(L, idx);
        if (n > ML_MAX_DIMS) luaL_error(L, "%s: at most %d dimensions, got %d", fn, ML_MAX_DIMS, n);
        for (int i = 0; i < n; i++) {
            lua_geti(L, idx, i + 1);
            shape[i] = check_size(L, -1, fn, i + 1);
            lua_pop(L, 1);
        }
        return n;
    }
    int top = lua_gettop(L);
    n = 0;
    for (int i = idx; i <= top && lua_type(L, i) == LUA_TNUMBER; i++) {
        if (n >= ML_MAX_DIMS) luaL_error(L, "%s: at most %d dimensions", fn, ML_MAX_DIMS);
        shape[n] = check_size(L, i, fn, n + 1);
        n++;
    }
    return n;
}

void lb_check_options(lua_State *L, int idx, const char *fn, const char *const *known) {
    if (lua_isnoneornil(L, idx)) return;
    if (!lua_istable(L, idx)) luaL_error(L, "%s: options must be a table, got %s", fn, luaL_typename(L, idx));
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s: option names must be strings", fn);
        const char *k = lua_tostring(L, -1);
        int ok = 0;
        for (int i = 0; known[i]; i++)
            if (!strcmp(k, known[i])) { ok = 1; break; }
        if (!ok) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (int i = 0; known[i]; i++) {
                if (i) luaL_addstring(&b, ", ");
                luaL_addstring(&b, known[i]);
            }
            luaL_pushresult(&b);
            luaL_error(L, "%s: unknown option '%s' (known: %s)", fn, k, lua_tostring(L, -1));
        }
    }
}

ml_dtype lb_check_dtype_name(lua_State *L, int idx, const char *fn) {
    const char *s = lua_tostring(L, idx);
    ml_dtype dt;
    if (!s || ml_dtype_from_name(s, &dt) < 0)
        luaL_error(L, "%s: unknown dtype '%s' (expected float32, float64, int64 or bool)", fn,
                   s ? s : luaL_typename(L, idx));
    return dt;
}

ml_dtype lb_opt_dtype(lua_State *L, int idx, const char *fn, ml_dtype def) {
    if (!lua_istable(L, idx)) return def;
    lua_getfield(L, idx, "dtype");
    ml_dtype dt = lua_isnil(L, -1) ? def : lb_check_dtype_name(L, -1, fn);
    lua_pop(L, 1);
    return dt;
}

int lb_opt_bool_field(lua_State *L, int idx, const char *key, int def) {
    if (!lua_istable(L, idx)) return def;
    lua_getfield(L, idx, key);
    int r = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

double lb_opt_number_field(lua_State *L, int idx, const char *key, double def) {
    if (!lua_istable(L, idx)) return def;
    lua_getfield(L, idx, key);
    double r = def;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "option '%s' must be a number, got %s", key, luaL_typename(L, -1));
        r = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return r;
}

void lb_setfuncs(lua_State *L, int tidx, const luaL_Reg *fns) {
    for (; fns->name; fns++) {
        lua_pushcfunction(L, fns->func);
        lua_setfield(L, tidx, fns->name);
    }
}
