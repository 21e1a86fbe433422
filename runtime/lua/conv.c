/* Bindings for convolution and pooling, under ml._conv (internal: nn.Conv2d,
 * nn.MaxPool2d ... and nn.functional call them). Arguments arrive resolved
 * by the Lua layer (pairs, pads per side); `name` is the function named in
 * errors ("nn.Conv2d").
 *
 *   conv2d(x, w, [b], sh, sw, pt, pb, pl, pr, dh, dw, groups, reflect, name)
 *   conv_transpose2d(x, w, [b], sh, sw, pt, pb, pl, pr, dh, dw, groups, oph, opw, name)
 *   max_pool2d(x, kh, kw, sh, sw, ph, pw, dh, dw, ceil_mode, name, [want_indices]) -> y[, indices (1-based, flat in the plane)]
 *   avg_pool2d(x, kh, kw, sh, sw, ph, pw, ceil_mode, count_include_pad, name)
 *   adaptive_pool2d(x, oh, ow, max, name, [want_indices]) -> y[, indices]
 *   batch_norm(x, [w], [b], eps, name) -> y, batch mean, biased batch variance
 *                                        x (N, C, P) in training mode (nn.BatchNorm2d) */
#include "../ops/batch_norm.h"
#include "../ops/conv.h"
#include "../ops/ops.h"
#include "../ops/pool.h"
#include "lbind.h"

static int int_arg(lua_State *L, int idx) { return (int)luaL_checkinteger(L, idx); }

static void conv_opts_at(lua_State *L, int idx, ml_conv_opts *o) {
    o->stride[0] = int_arg(L, idx), o->stride[1] = int_arg(L, idx + 1);
    for (int i = 0; i < 4; i++) o->pad[i] = int_arg(L, idx + 2 + i);
    o->dil[0] = int_arg(L, idx + 6), o->dil[1] = int_arg(L, idx + 7);
    o->groups = int_arg(L, idx + 8);
    o->reflect = false;
}

static int l_conv2d(lua_State *L) {
    const char *fn = luaL_optstring(L, 14, "conv2d");
    ml_tensor *x = lb_check_tensor(L, 1, fn), *w = lb_check_tensor(L, 2, fn);
    ml_tensor *b = lua_isnoneornil(L, 3) ? NULL : lb_check_tensor(L, 3, fn);
    ml_conv_opts o;
    conv_opts_at(L, 4, &o);
    o.reflect = lua_toboolean(L, 13);
    ml_tensor *y = ml_conv2d(x, w, b, &o);
    if (!y) return lb_raise_as(L, fn);
    lb_push_tensor(L, y);
    return 1;
}

static int l_conv_transpose2d(lua_State *L) {
    const char *fn = luaL_optstring(L, 15, "conv_transpose2d");
    ml_tensor *x = lb_check_tensor(L, 1, fn), *w = lb_check_tensor(L, 2, fn);
    ml_tensor *b = lua_isnoneornil(L, 3) ? NULL : lb_check_tensor(L, 3, fn);
    ml_conv_opts o;
    conv_opts_at(L, 4, &o);
    int op[2] = {int_arg(L, 13), int_arg(L, 14)};
    ml_tensor *y = ml_conv_transpose2d(x, w, b, &o, op);
    if (!y) return lb_raise_as(L, fn);
    lb_push_tensor(L, y);
    return 1;
}

/* 0-based flat indices to the 1-based ones Lua shows */
static void push_indices(lua_State *L, ml_tensor *ix) {
    ml_tensor *one = ml_binary_scalar(ML_ADD, ix, 1, false);
    ml_release(ix);
    if (!one) lb_raise(L);
    lb_push_tensor(L, one);
}

static int l_max_pool2d(lua_State *L) {
    const char *fn = luaL_optstring(L, 11, "max_pool2d");
    ml_tensor *x = lb_check_tensor(L, 1, fn), *ix = NULL;
    ml_pool_opts o = {{int_arg(L, 2), int_arg(L, 3)}, {int_arg(L, 4), int_arg(L, 5)}, {int_arg(L, 6), int_arg(L, 7)},
                      {int_arg(L, 8), int_arg(L, 9)}, lua_toboolean(L, 10), false};
    bool want = lua_toboolean(L, 12);
    ml_tensor *y = ml_max_pool2d(x, &o, want ? &ix : NULL);
    if (!y) return lb_raise_as(L, fn);
    lb_push_tensor(L, y);
    if (!want) return 1;
    push_indices(L, ix);
    return 2;
}

static int l_avg_pool2d(lua_State *L) {
    const char *fn = luaL_optstring(L, 10, "avg_pool2d");
    ml_tensor *x = lb_check_tensor(L, 1, fn);
    ml_pool_opts o = {{int_arg(L, 2), int_arg(L, 3)}, {int_arg(L, 4), int_arg(L, 5)}, {int_arg(L, 6), int_arg(L, 7)},
                      {1, 1}, lua_toboolean(L, 8), lua_toboolean(L, 9)};
    ml_tensor *y = ml_avg_pool2d(x, &o);
    if (!y) return lb_raise_as(L, fn);
    lb_push_tensor(L, y);
    return 1;
}

static int l_adaptive_pool2d(lua_State *L) {
    const char *fn = luaL_optstring(L, 5, "adaptive_pool2d");
    ml_tensor *x = lb_check_tensor(L, 1, fn), *ix = NULL;
    bool max = lua_toboolean(L, 4), want = max && lua_toboolean(L, 6);
    ml_tensor *y = ml_adaptive_pool2d(x, luaL_checkinteger(L, 2), luaL_checkinteger(L, 3), max, want ? &ix : NULL);
    if (!y) return lb_raise_as(L, fn);
    lb_push_tensor(L, y);
    if (!want) return 1;
    push_indices(L, ix);
    return 2;
}

static int l_batch_norm(lua_State *L) {
    const char *fn = luaL_optstring(L, 5, "batch_norm");
    ml_tensor *x = lb_check_tensor(L, 1, fn);
    ml_tensor *w = lua_isnoneornil(L, 2) ? NULL : lb_check_tensor(L, 2, fn);
    ml_tensor *b = lua_isnoneornil(L, 3) ? NULL : lb_check_tensor(L, 3, fn);
    ml_tensor *mean = NULL, *var = NULL;
    ml_tensor *y = ml_batch_norm_train(x, w, b, luaL_checknumber(L, 4), &mean, &var);
    if (!y) return lb_raise_as(L, fn);
    lb_push_tensor(L, y);
    lb_push_tensor(L, mean);
    lb_push_tensor(L, var);
    return 3;
}

static const luaL_Reg funcs[] = {
    {"batch_norm", l_batch_norm},
    {"conv2d", l_conv2d},
    {"conv_transpose2d", l_conv_transpose2d},
    {"max_pool2d", l_max_pool2d},
    {"avg_pool2d", l_avg_pool2d},
    {"adaptive_pool2d", l_adaptive_pool2d},
    {NULL, NULL},
};

void lb_open_conv(lua_State *L) {
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), funcs);
    lua_setfield(L, 1, "_conv");
}
