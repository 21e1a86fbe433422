/* ml._data: the C entry points behind lualib/moonlab/data.lua (ml.data).
 * They validate, call runtime/io/idx.c and runtime/data/loader.c, and
 * push; the policy (datasets, shuffling, options) is in data.lua.
 *
 *   read_idx(path, [scale])                  -> tensor (float32 * scale when scale is given)
 *   loader_new({t1, t2, ...}, batch_size, drop_last, [prefetch]) -> loader userdata
 *                                            (prefetch nil: as many batches as fit in 16 MB, 2 to 8)
 *   loader_start(ld, [order], [epoch])       order: 1-based int64 row numbers; nil = every row;
 *                                            epoch: the number the transform's randomness uses
 *   loader_transform(ld, plan | nil)         an augmentation plan (ml._augment) run on each batch's
 *                                            first tensor where it is gathered (the worker thread)
 *   loader_next(ld)                          -> t1, t2, ... (nothing at the end of the epoch)
 *   loader_iter(ld, control)                 the generic for's step: loader_next, after checking that
 *                                            control (the loop's last batch) is the last one handed out
 *   loader_active(ld)                        -> whether an epoch runs
 *   loader_stop(ld), loader_free(ld)         end the epoch; free (also __gc and __close)
 *   loader_batches(ld), loader_rows(ld)
 *   randperm(n, seed, stream)                -> a seeded permutation of 1..n (int64) */
#include <stdlib.h>
#include <string.h>

#include "../data/loader.h"
#include "../io/idx.h"
#include "lbind.h"

#define LB_LOADER_MT "moonlab.Loader"

/* The userdata: the loader, and the box of the first tensor of the last batch
 * handed out (compared, never dereferenced: a loop that holds its batch keeps
 * it alive, so the address cannot be reused while it matters). */
typedef struct {
    ml_loader *l;
    const void *last;
} lb_loader;

static const char *check_path(lua_State *L, int idx, const char *fn) {
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "%s: argument #%d: expected a path string, got %s", fn, idx, luaL_typename(L, idx));
    size_t len;
    const char *p = lua_tolstring(L, idx, &len);
    if (len == 0 || strlen(p) != len) luaL_error(L, "%s: argument #%d: the path is empty or contains a NUL byte", fn, idx);
    return p;
}

static int d_read_idx(lua_State *L) {
    const char *path = check_path(L, 1, "data.read_idx");
    if (lua_isnoneornil(L, 2)) {
        lb_push_tensor(L, ml_read_idx(path));
    } else {
        if (!lua_isnumber(L, 2)) luaL_error(L, "data.read_idx: option 'scale' must be a number, got %s", luaL_typename(L, 2));
        lb_push_tensor(L, ml_read_idx_scaled(path, lua_tonumber(L, 2)));
    }
    return 1;
}

/* ---- the loader userdata ------------------------------------------------ */
static lb_loader *check_box(lua_State *L, int idx) {
    lb_loader *b = luaL_checkudata(L, idx, LB_LOADER_MT);
    if (!b->l) luaL_error(L, "data.loader: the loader was closed");
    return b;
}
#define check_loader(L, idx) (&check_box(L, idx)->l)

static int d_loader_free(lua_State *L) {
    lb_loader *b = luaL_checkudata(L, 1, LB_LOADER_MT);
    ml_loader_free(b->l);
    b->l = NULL;
    b->last = NULL;
    return 0;
}

static int d_loader_new(lua_State *L) {
    const char *fn = "data.loader";
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer bs = luaL_checkinteger(L, 2);
    int drop_last = lua_toboolean(L, 3);
    lua_Integer prefetch = luaL_optinteger(L, 4, -1); /* -1: as many as fit in 16 MB, 2 to 8 */
    int n = (int)lua_rawlen(L, 1);
    if (n < 1 || n > ML_LOADER_MAX_SOURCES)
        luaL_error(L, "%s: expected 1 to %d tensors, got %d", fn, ML_LOADER_MAX_SOURCES, n);
    if (prefetch < -1 || prefetch > ML_LOADER_MAX_PREFETCH)
        luaL_error(L, "%s: option 'prefetch' must be 0 to %d, got %I", fn, ML_LOADER_MAX_PREFETCH, prefetch);
    ml_tensor *ts[ML_LOADER_MAX_SOURCES];
    for (int k = 0; k < n; k++) {
        lua_rawgeti(L, 1, k + 1);
        ts[k] = lb_test_tensor(L, -1);
        if (!ts[k]) luaL_error(L, "%s: element %d is a %s, expected a tensor", fn, k + 1, luaL_typename(L, -1));
        lua_pop(L, 1); /* still referenced by the table */
    }
    lb_loader *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->l = NULL;
    b->last = NULL;
    luaL_setmetatable(L, LB_LOADER_MT);
    b->l = ml_loader_new(n, ts, bs, drop_last, (int)prefetch);
    if (!b->l) lb_raise(L);
    lb_gc_account(L); /* contiguous copies of strided sources */
    return 1;
}

static int d_loader_start(lua_State *L) {
    ml_loader **box = check_loader(L, 1);
    ml_tensor *order = lua_isnoneornil(L, 2) ? NULL : lb_check_tensor(L, 2, "data.loader");
    if (!lua_isnoneornil(L, 3)) ml_loader_set_epoch(*box, luaL_checkinteger(L, 3));
    if (ml_loader_start(*box, order, 1) < 0) lb_raise(L);
    return 0;
}

/* Raises msg at the first Lua line outside lualib/moonlab/data/ (the user's
 * loop, or a library loop whose caller re-raises it at the user's line). */
static int raise_at_user(lua_State *L, const char *msg) {
    lua_Debug ar;
    lua_pushliteral(L, "");
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
        if (strstr(ar.source, "moonlab/data/")) continue;
        lua_pop(L, 1);
        lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
        break;
    }
    lua_pushstring(L, msg);
    lua_concat(L, 2);
    return lua_error(L);
}

/* The next batch pushed (remembered as the last one), or nothing at the end. */
static int push_next(lua_State *L, lb_loader *b) {
    int n = ml_loader_sources(b->l);
    ml_tensor *out[ML_LOADER_MAX_SOURCES];
    luaL_checkstack(L, n + 2, "data.loader");
    int rc = ml_loader_next(b->l, out);
    b->last = NULL;
    if (rc < 0) return raise_at_user(L, ml_last_error());
    if (rc == 0) return 0;
    for (int k = 0; k < n; k++) {
        lb_push_tensor(L, out[k]);
        if (k == 0) b->last = lua_touserdata(L, -1);
    }
    return n;
}

static int d_loader_next(lua_State *L) { return push_next(L, check_box(L, 1)); }

/* loader_iter(ld, control): one step of `for x, y in loader:iter()`. A loop
 * over the same loader inside this one restarts its epoch; this loop then
 * finds that its batch is not the loader's last one and stops with an error
 * rather than silently start over. */
static int d_loader_iter(lua_State *L) {
    lb_loader *b = check_box(L, 1);
    if (!lua_isnil(L, 2) && lua_touserdata(L, 2) != b->last)
        return raise_at_user(L, "data.loader: this loader is already being iterated (nested loops over one loader "
                                "are not supported; make a second loader)");
    return push_next(L, b);
}

static int d_loader_transform(lua_State *L) {
    ml_loader **box = check_loader(L, 1);
    if (lua_isnoneornil(L, 2)) {
        ml_loader_set_transform(*box, NULL, NULL, NULL);
        return 0;
    }
    ml_loader_transform_fn run;
    void *ctx;
    lb_aug_loader_transform(L, 2, "data.loader", &run, &ctx);
    ml_loader_set_transform(*box, run, ctx, free);
    return 0;
}

static int d_loader_active(lua_State *L) {
    lua_pushboolean(L, ml_loader_active(*check_loader(L, 1)));
    return 1;
}

static int d_loader_stop(lua_State *L) {
    lb_loader *b = luaL_checkudata(L, 1, LB_LOADER_MT);
    b->last = NULL;
    if (b->l) ml_loader_stop(b->l);
    return 0;
}

static int d_loader_batches(lua_State *L) {
    lua_pushinteger(L, ml_loader_batches(*check_loader(L, 1)));
    return 1;
}

static int d_loader_rows(lua_State *L) {
    lua_pushinteger(L, ml_loader_rows(*check_loader(L, 1)));
    return 1;
}

static int d_randperm(lua_State *L) {
    lua_Integer n = luaL_checkinteger(L, 1);
    lua_Integer seed = luaL_checkinteger(L, 2);
    lua_Integer stream = luaL_optinteger(L, 3, 0);
    if (n < 0) luaL_error(L, "data: a permutation needs n >= 0, got %I", n);
    lb_push_tensor(L, ml_seeded_randperm(n, (uint64_t)seed, (uint64_t)stream));
    return 1;
}

void lb_open_data(lua_State *L) {
    if (luaL_newmetatable(L, LB_LOADER_MT)) {
        lua_pushcfunction(L, d_loader_free);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, d_loader_free);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"read_idx", d_read_idx},         {"loader_new", d_loader_new},   {"loader_start", d_loader_start},
        {"loader_next", d_loader_next},   {"loader_stop", d_loader_stop}, {"loader_free", d_loader_free},
        {"loader_iter", d_loader_iter},   {"loader_active", d_loader_active}, {"loader_transform", d_loader_transform},
        {"loader_batches", d_loader_batches}, {"loader_rows", d_loader_rows}, {"randperm", d_randperm},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, 1, "_data");
}

/* For fit's fused step (train_step.c): the C loader in the box at idx,
 * which that step pulls batches from itself; no batch is the for loop's
 * "last" one from then on. */
ml_loader *lb_loader_of(lua_State *L, int idx) {
    lb_loader *b = check_box(L, idx);
    b->last = NULL;
    return b->l;
}
