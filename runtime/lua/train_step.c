/* ml._train.plan / ml._train.step: the fused training step of fit (the
 * plan and its arithmetic are runtime/ops/train_step.c; which models get
 * one is lualib/moonlab/train/fused.lua's decision).
 *
 *   local plan = ml._train.plan(layers, in_features, rows, loss, reduction, blocks)
 *     layers: {{kind = "linear", weight = W, bias = b|nil}, {kind = "relu"},
 *              {kind = "leaky_relu", slope = 0.01}, {kind = "tanh"}, ...}
 *     loss: "mse", "cross_entropy" or "bce_with_logits"; reduction: "mean"
 *     or "sum"; blocks: the optimizer's _cblocks
 *   local loss, rows = ml._train.step(plan, x, y)
 *     one forward, loss, backward and optimizer update; nil when this batch
 *     must take the general path (the plan declines it, nothing touched). A
 *     non-finite loss comes back without an update (fit then stops).
 *   local loss, rows = ml._train.next(plan, loader_c, [general])
 *     the same on the next batch of a data.loader's C loader (loader._c),
 *     pulled here, so no batch tensor reaches Lua: false at the epoch's
 *     end; nil, x, y (the batch, for the general path) when the plan
 *     declines it or `general` is true.
 *
 * A step allocates nothing and makes no Lua value. */
#include <string.h>

#include "../data/loader.h"
#include "../ops/train_step.h"
#include "lbind.h"

#define PLAN_MT "moonlab.TrainPlan"

typedef struct { ml_train_plan *p; } lb_plan;

static int plan_release(lua_State *L) {
    lb_plan *b = luaL_checkudata(L, 1, PLAN_MT);
    ml_train_plan_free(b->p);
    b->p = NULL;
    return 0;
}

static const char *const kind_names[ML_TS_NKINDS] = {
    [ML_TS_LINEAR] = "linear", [ML_TS_RELU] = "relu", [ML_TS_LEAKY_RELU] = "leaky_relu",
    [ML_TS_TANH] = "tanh",     [ML_TS_SIGMOID] = "sigmoid", [ML_TS_GELU] = "gelu",
};

/* The tensor field `key` of the table at -1 (nil allowed when optional), borrowed. */
static ml_tensor *field_tensor(lua_State *L, const char *key, int i, bool optional) {
    lua_getfield(L, -1, key);
    ml_tensor *t = lb_test_tensor(L, -1);
    if (!t && !(optional && lua_isnil(L, -1)))
        luaL_error(L, "ml._train.plan: layer %d: '%s' must be a tensor, got %s", i, key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return t;
}

/* ml._train.plan(layers, in_features, rows, loss, reduction, blocks) -> plan */
static int l_plan(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer in0 = luaL_checkinteger(L, 2), rows = luaL_checkinteger(L, 3);
    static const char *const losses[] = {[ML_TS_MSE] = "mse", [ML_TS_CROSS_ENTROPY] = "cross_entropy",
                                         [ML_TS_BCE_WITH_LOGITS] = "bce_with_logits", NULL};
    ml_ts_loss loss = (ml_ts_loss)luaL_checkoption(L, 4, NULL, losses);
    static const char *const reds[] = {"mean", "sum", NULL};
    ml_reduction red = luaL_checkoption(L, 5, NULL, reds) == 0 ? ML_REDUCE_MEAN : ML_REDUCE_SUM;
    luaL_checktype(L, 6, LUA_TTABLE);
    lua_Integer n = lua_rawlen(L, 1);
    if (n < 1 || n > 1024) return luaL_error(L, "ml._train.plan: %d layers (1 to 1024 supported)", (int)n);
    ml_ts_layer *ls = lua_newuserdatauv(L, sizeof *ls * n, 0); /* scratch, collected */
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
            return luaL_error(L, "ml._train.plan: layer %d is a %s, expected a table", (int)i, luaL_typename(L, -1));
        ml_ts_layer *l = &ls[i - 1];
        memset(l, 0, sizeof *l);
        lua_getfield(L, -1, "kind");
        const char *k = lua_tostring(L, -1);
        int kind = 0;
        while (kind < ML_TS_NKINDS && !(k && !strcmp(k, kind_names[kind]))) kind++;
        if (kind == ML_TS_NKINDS) return luaL_error(L, "ml._train.plan: layer %d: unknown kind '%s'", (int)i, k ? k : "?");
        lua_pop(L, 1);
        l->kind = (ml_ts_kind)kind;
        if (kind == ML_TS_LINEAR) {
            l->w = field_tensor(L, "weight", (int)i, false);
            l->b = field_tensor(L, "bias", (int)i, true);
        } else if (kind == ML_TS_LEAKY_RELU) {
            lua_getfield(L, -1, "slope");
            l->slope = luaL_checknumber(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lb_plan *b = lua_newuserdatauv(L, sizeof *b, 1);
    b->p = NULL;
    luaL_setmetatable(L, PLAN_MT);
    lua_pushvalue(L, 6);
    lua_setiuservalue(L, -2, 1); /* the optimizer's blocks, stepped after each batch */
    b->p = ml_train_plan_new((int)n, ls, in0, rows, loss, red);
    if (!b->p) return luaL_error(L, "ml._train.plan: %s", ml_last_error());
    return 1;
}

ml_train_plan *lb_train_plan_of(lua_State *L, int idx) {
    lb_plan *b = luaL_checkudata(L, idx, PLAN_MT);
    if (!b->p) luaL_error(L, "the training plan was freed");
    return b->p;
}

static int finish(lua_State *L, ml_ts_status st, double loss, int64_t rows);

/* ml._train.step(plan, x, y) -> loss, rows | nil */
static int l_step(lua_State *L) {
    lb_plan *b = luaL_checkudata(L, 1, PLAN_MT);
    if (!b->p) return luaL_error(L, "ml._train.step: the plan was freed");
    ml_tensor *x = lb_test_tensor(L, 2), *y = lb_test_tensor(L, 3);
    if (!x || !y) return 0; /* the general path says what is wrong */
    double loss;
    ml_ts_status st = ml_train_plan_run(b->p, x, y, &loss);
    if (st == ML_TS_DECLINE) return 0;
    return finish(L, st, loss, x->shape[0]);
}

/* The optimizer's update after a trained batch, then loss and rows pushed. */
static int finish(lua_State *L, ml_ts_status st, double loss, int64_t rows) {
    if (st == ML_TS_DONE) {
        lua_getiuservalue(L, 1, 1);
        lb_optim_step_blocks(L, lua_gettop(L));
        lua_pop(L, 1);
    }
    lua_pushnumber(L, loss);
    lua_pushinteger(L, rows);
    return 2;
}

/* ml._train.next(plan, loader_c, [general]) -> loss, rows | nil, x, y | false */
static int l_next(lua_State *L) {
    lb_plan *b = luaL_checkudata(L, 1, PLAN_MT);
    if (!b->p) return luaL_error(L, "ml._train.next: the plan was freed");
    ml_loader *ld = lb_loader_of(L, 2);
    bool general = lua_toboolean(L, 3);
    int n = ml_loader_sources(ld);
    ml_tensor *out[ML_LOADER_MAX_SOURCES];
    luaL_checkstack(L, n + 2, "ml._train.next");
    int rc = ml_loader_next(ld, out);
    if (rc < 0) return luaL_error(L, "fit: %s", ml_last_error());
    if (rc == 0) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (n == 2 && !general) {
        double loss;
        ml_ts_status st = ml_train_plan_run(b->p, out[0], out[1], &loss);
        if (st != ML_TS_DECLINE) {
            int64_t rows = out[0]->shape[0];
            ml_release(out[0]);
            ml_release(out[1]);
            return finish(L, st, loss, rows);
        }
    }
    lua_pushnil(L);
    for (int k = 0; k < n; k++) lb_push_tensor(L, out[k]);
    return 1 + n;
}

static int plan_tostring(lua_State *L) {
    lb_plan *b = luaL_checkudata(L, 1, PLAN_MT);
    if (!b->p) lua_pushliteral(L, "TrainPlan(freed)");
    else lua_pushfstring(L, "TrainPlan(%d parameters)", ml_train_plan_nparams(b->p));
    return 1;
}

void lb_train_step_register(lua_State *L) {
    int t = lua_gettop(L);
    if (luaL_newmetatable(L, PLAN_MT)) {
        lua_pushcfunction(L, plan_release);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, plan_release);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, plan_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"plan", l_plan}, {"step", l_step}, {"next", l_next}, {NULL, NULL}};
    lb_setfuncs(L, t, fns);
}
