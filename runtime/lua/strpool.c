/* ml._strings: the string pool (runtime/data/strpool.c) as a userdata, for
 * data frames' string and categorical columns (lualib/moonlab/data/).
 *
 *   new()                        -> pool
 *   from_list(list, [n])         -> codes (int64 [n]), pool: list[i] a string or number, or nil/false
 *                                   for a missing cell (code 0); n defaults to #list
 *   #pool                        the number of distinct strings
 *   pool:get(code)               -> the string of code 1..#pool; nil for 0; an error otherwise
 *   pool:intern(s)               -> its code, adding it when new
 *   pool:find(s)                 -> its code, or nil
 *   pool:list()                  -> {string of code 1, 2, ...}
 *   pool:decode(codes)           -> {string or nil per element of an int64 tensor}, n
 *   pool:bytes()                 -> memory held */
#include <string.h>

#include "../data/strpool.h"
#include "lbind.h"

#define LB_STRPOOL_MT "moonlab.StringPool"

typedef struct { ml_strpool *p; } lb_strpool;

void lb_push_strpool(lua_State *L, ml_strpool *p) {
    if (!p) lb_raise(L);
    lb_strpool *b = lua_newuserdatauv(L, sizeof(*b), 0);
    b->p = p; /* the box owns the caller's reference */
    luaL_setmetatable(L, LB_STRPOOL_MT);
}

ml_strpool *lb_check_strpool(lua_State *L, int idx, const char *fn) {
    lb_strpool *b = luaL_testudata(L, idx, LB_STRPOOL_MT);
    if (!b) luaL_error(L, "%s: argument #%d: expected a string pool, got %s", fn, idx, luaL_typename(L, idx));
    return b->p;
}

static int s_gc(lua_State *L) {
    lb_strpool *b = luaL_checkudata(L, 1, LB_STRPOOL_MT);
    ml_strpool_release(b->p);
    b->p = NULL;
    return 0;
}

static int s_new(lua_State *L) {
    lb_push_strpool(L, ml_strpool_new());
    return 1;
}

static int s_from_list(lua_State *L) {
    const char *fn = "strings.from_list";
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = lua_isnoneornil(L, 2) ? (lua_Integer)lua_rawlen(L, 1) : luaL_checkinteger(L, 2);
    if (n < 0) luaL_error(L, "%s: the length must be >= 0, got %I", fn, n);
    int64_t shape[1] = {n};
    ml_tensor *codes = ml_empty(1, shape, ML_INT64);
    lb_push_tensor(L, codes);
    lb_push_strpool(L, ml_strpool_new());
    ml_strpool *p = lb_check_strpool(L, -1, fn);
    int64_t *c = ml_data(codes);
    for (lua_Integer i = 1; i <= n; i++) {
        int t = lua_rawgeti(L, 1, i);
        if (t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))) c[i - 1] = 0;
        else if (t == LUA_TSTRING || t == LUA_TNUMBER) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            if ((c[i - 1] = ml_strpool_intern(p, s, len)) < 0) lb_raise(L);
        } else luaL_error(L, "%s: element %I is a %s, expected a string (or nil for a missing value)", fn, i, luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    return 2;
}

static int s_len(lua_State *L) {
    lua_pushinteger(L, ml_strpool_count(lb_check_strpool(L, 1, "pool:__len")));
    return 1;
}

static int s_get(lua_State *L) {
    ml_strpool *p = lb_check_strpool(L, 1, "pool:get");
    lua_Integer code = luaL_checkinteger(L, 2);
    if (code == 0) { lua_pushnil(L); return 1; }
    size_t len;
    const char *s = ml_strpool_get(p, code, &len);
    if (!s) luaL_error(L, "pool:get: code %I is out of range 0..%I", code, (lua_Integer)ml_strpool_count(p));
    lua_pushlstring(L, s, len);
    return 1;
}

static int s_intern(lua_State *L) {
    ml_strpool *p = lb_check_strpool(L, 1, "pool:intern");
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    int64_t c = ml_strpool_intern(p, s, len);
    if (c < 0) lb_raise(L);
    lua_pushinteger(L, c);
    return 1;
}

static int s_find(lua_State *L) {
    ml_strpool *p = lb_check_strpool(L, 1, "pool:find");
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    int64_t c = ml_strpool_find(p, s, len);
    if (c) lua_pushinteger(L, c); else lua_pushnil(L);
    return 1;
}

static int s_list(lua_State *L) {
    ml_strpool *p = lb_check_strpool(L, 1, "pool:list");
    int64_t n = ml_strpool_count(p);
    lua_createtable(L, (int)n, 0);
    for (int64_t k = 1; k <= n; k++) {
        size_t len;
        const char *s = ml_strpool_get(p, k, &len);
        lua_pushlstring(L, s, len);
        lua_rawseti(L, -2, k);
    }
    return 1;
}

static int s_decode(lua_State *L) {
    const char *fn = "pool:decode";
    ml_strpool *p = lb_check_strpool(L, 1, fn);
    ml_tensor *t = lb_check_tensor(L, 2, fn);
    if (t->dtype != ML_INT64) luaL_error(L, "%s: codes must be an int64 tensor, got %s", fn, ml_dtype_name(t->dtype));
    ml_tensor *c = ml_contiguous(t);
    if (!c) lb_raise(L);
    int64_t n = c->numel, count = ml_strpool_count(p);
    const int64_t *v = ml_data(c);
    lua_createtable(L, (int)n, 0);
    for (int64_t i = 0; i < n; i++) {
        if (v[i] == 0) continue;
        if (v[i] < 0 || v[i] > count) {
            ml_release(c);
            return luaL_error(L, "%s: code %I at element %I is out of range 0..%I", fn, (lua_Integer)v[i],
                              (lua_Integer)(i + 1), (lua_Integer)count);
        }
        size_t len;
        const char *s = ml_strpool_get(p, v[i], &len);
        lua_pushlstring(L, s, len);
        lua_rawseti(L, -2, i + 1);
    }
    ml_release(c);
    lua_pushinteger(L, n);
    return 2;
}

static int s_bytes(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ml_strpool_bytes(lb_check_strpool(L, 1, "pool:bytes")));
    return 1;
}

static int s_tostring(lua_State *L) {
    lua_pushfstring(L, "StringPool(%I strings)", (lua_Integer)ml_strpool_count(lb_check_strpool(L, 1, "pool")));
    return 1;
}

void lb_open_strpool(lua_State *L) {
    if (luaL_newmetatable(L, LB_STRPOOL_MT)) {
        static const luaL_Reg meta[] = {{"__gc", s_gc}, {"__len", s_len}, {"__tostring", s_tostring}, {NULL, NULL}};
        luaL_setfuncs(L, meta, 0);
        static const luaL_Reg methods[] = {{"get", s_get},       {"intern", s_intern}, {"find", s_find},
                                           {"list", s_list},     {"decode", s_decode}, {"bytes", s_bytes},
                                           {NULL, NULL}};
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"new", s_new}, {"from_list", s_from_list}, {NULL, NULL}};
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, 1, "_strings");
}
