/* ml._augment: the C entry points behind lualib/moonlab/prep/augment.lua.
 * They validate, call runtime/ops/augment.c and push; the transforms'
 * options and torchvision's conventions are in augment.lua.
 *
 *   plan(ops, seed)               -> plan userdata; ops: a list of {kind = "hflip" | "vflip" | "affine" |
 *                                    "crop" | "erase" | "jitter" | "noise", and that kind's fields
 *                                    (ml_aug_op's names; ranges as {lo, hi}, shear {x0, x1, y0, y1},
 *                                    size {h, w}, pad {left, top, right, bottom})}
 *   apply(plan, x, a, b)          -> the plan on batch x with streams (a, b)
 *   affine(x, angle, tx, ty, scale, shear_x, shear_y, fill) -> x warped by fixed parameters
 *   warp(x, theta, fill)          -> x warped by PyTorch-style normalized theta [N, 2, 3]
 *   mix_params(seed, stream, n, alpha, [h, w]) -> lam, perm (1-based int64 [n]), [y0, y1, x0, x1]
 *                                    (the cutmix box, 1-based first and last rows/columns)
 *   paste_box(x, perm, y0, y1, x0, x1) -> cutmix's paste (perm 1-based, box as mix_params gives it) */
#include <stdlib.h>
#include <string.h>

#include "../ops/augment.h"
#include "lbind.h"

#define LB_PLAN_MT "moonlab.AugmentPlan"
#define FN "prep.augment"

static const char *const KINDS[] = {"hflip", "vflip", "affine", "crop", "erase", "jitter", "noise", NULL};
_Static_assert(sizeof KINDS / sizeof KINDS[0] == ML_AUG_NKINDS + 1, "a name per op kind");

/* Field key of the table at idx: n numbers (a list) into out; absent keeps out. */
static void numbers_field(lua_State *L, int idx, const char *key, double *out, int n) {
    lua_getfield(L, idx, key);
    if (!lua_isnil(L, -1)) {
        if (!lua_istable(L, -1) || (int)lua_rawlen(L, -1) != n)
            luaL_error(L, "%s: plan field '%s' must be a list of %d numbers", FN, key, n);
        for (int i = 0; i < n; i++) {
            lua_rawgeti(L, -1, i + 1);
            if (!lua_isnumber(L, -1)) luaL_error(L, "%s: plan field '%s' must be a list of %d numbers", FN, key, n);
            out[i] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

static void integers_field(lua_State *L, int idx, const char *key, int64_t *out, int n) {
    double v[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) v[i] = (double)out[i];
    numbers_field(L, idx, key, v, n);
    for (int i = 0; i < n; i++) {
        if (v[i] != (double)(int64_t)v[i]) luaL_error(L, "%s: plan field '%s' must hold integers", FN, key);
        out[i] = (int64_t)v[i];
    }
}

static void read_op(lua_State *L, int idx, ml_aug_op *o) {
    memset(o, 0, sizeof *o);
    lua_getfield(L, idx, "kind");
    o->kind = (ml_aug_kind)luaL_checkoption(L, -1, NULL, KINDS);
    lua_pop(L, 1);
    o->p = lb_opt_number_field(L, idx, "p", 1.0);
    o->scale[0] = o->scale[1] = 1.0;
    o->ratio[0] = o->ratio[1] = 1.0;
    o->brightness[0] = o->brightness[1] = o->contrast[0] = o->contrast[1] = 1.0;
    numbers_field(L, idx, "degrees", o->degrees, 2);
    numbers_field(L, idx, "translate", o->translate, 2);
    numbers_field(L, idx, "scale", o->scale, 2);
    numbers_field(L, idx, "shear", o->shear, 4);
    numbers_field(L, idx, "area", o->area, 2);
    numbers_field(L, idx, "ratio", o->ratio, 2);
    numbers_field(L, idx, "brightness", o->brightness, 2);
    numbers_field(L, idx, "contrast", o->contrast, 2);
    integers_field(L, idx, "size", o->size, 2);
    integers_field(L, idx, "pad", o->pad, 4);
    o->fill = lb_opt_number_field(L, idx, "fill", 0.0);
    o->value = lb_opt_number_field(L, idx, "value", 0.0);
    o->random_value = lb_opt_bool_field(L, idx, "random_value", 0);
    o->mean = lb_opt_number_field(L, idx, "mean", 0.0);
    o->std = lb_opt_number_field(L, idx, "std", 0.0);
    o->clip = lb_opt_bool_field(L, idx, "clip", 0);
}

static ml_aug_plan *check_plan(lua_State *L, int idx, const char *fn) {
    ml_aug_plan *p = luaL_testudata(L, idx, LB_PLAN_MT);
    if (!p) luaL_error(L, "%s: expected an augmentation plan, got %s", fn, luaL_typename(L, idx));
    return p;
}

static int a_plan(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer seed = luaL_checkinteger(L, 2);
    int n = (int)lua_rawlen(L, 1);
    if (n > ML_AUG_MAX_OPS) luaL_error(L, "%s.Compose: at most %d transforms, got %d", FN, ML_AUG_MAX_OPS, n);
    ml_aug_plan *p = lua_newuserdatauv(L, sizeof *p, 0);
    memset(p, 0, sizeof *p);
    luaL_setmetatable(L, LB_PLAN_MT);
    p->seed = (uint64_t)seed;
    p->nops = n;
    for (int j = 0; j < n; j++) {
        lua_rawgeti(L, 1, j + 1);
        if (!lua_istable(L, -1)) luaL_error(L, "%s: plan entry %d must be a table, got %s", FN, j + 1, luaL_typename(L, -1));
        read_op(L, lua_gettop(L), &p->ops[j]);
        lua_pop(L, 1);
    }
    if (ml_aug_plan_check(p) < 0) lb_raise(L);
    return 1;
}

static uint64_t check_stream(lua_State *L, int idx) { return (uint64_t)luaL_optinteger(L, idx, 0); }

static int a_apply(lua_State *L) {
    ml_aug_plan *p = check_plan(L, 1, FN);
    ml_tensor *x = lb_check_tensor(L, 2, FN);
    lb_push_tensor(L, ml_aug_apply(p, x, check_stream(L, 3), check_stream(L, 4), true));
    lb_gc_account(L);
    return 1;
}

static int a_affine(lua_State *L) {
    ml_tensor *x = lb_check_tensor(L, 1, FN ".affine");
    double v[7];
    for (int i = 0; i < 7; i++) v[i] = luaL_checknumber(L, i + 2);
    lb_push_tensor(L, ml_aug_affine(x, v[0], v[1], v[2], v[3], v[4], v[5], v[6]));
    lb_gc_account(L);
    return 1;
}

static int a_warp(lua_State *L) {
    ml_tensor *x = lb_check_tensor(L, 1, FN ".warp");
    ml_tensor *theta = lb_check_tensor(L, 2, FN ".warp");
    lb_push_tensor(L, ml_aug_warp(x, theta, luaL_optnumber(L, 3, 0.0)));
    lb_gc_account(L);
    return 1;
}

static int a_mix_params(lua_State *L) {
    lua_Integer seed = luaL_checkinteger(L, 1), stream = luaL_checkinteger(L, 2), n = luaL_checkinteger(L, 3);
    double alpha = luaL_checknumber(L, 4);
    lua_Integer h = luaL_optinteger(L, 5, 0), w = luaL_optinteger(L, 6, 0);
    if (n < 0 || h < 0 || w < 0) luaL_error(L, "%s: batch and image sizes must be >= 0", FN);
    int64_t shape[1] = {n};
    ml_tensor *perm = ml_empty(1, shape, ML_INT64);
    if (!perm) lb_raise(L);
    lb_push_tensor(L, perm); /* collected if we raise below */
    double lam;
    int64_t box[4];
    if (ml_aug_mix_params((uint64_t)seed, (uint64_t)stream, n, alpha, h, w, &lam, ml_data(perm), 1, box) < 0) lb_raise(L);
    lua_pushnumber(L, lam);
    lua_insert(L, -2);
    if (h == 0 || w == 0) return 2;
    lua_pushinteger(L, box[0] + 1);
    lua_pushinteger(L, box[1]);
    lua_pushinteger(L, box[2] + 1);
    lua_pushinteger(L, box[3]);
    return 6;
}

static int a_paste_box(lua_State *L) {
    ml_tensor *x = lb_check_tensor(L, 1, FN ".cutmix");
    ml_tensor *perm = lb_check_tensor(L, 2, FN ".cutmix");
    int64_t n = x->ndim > 0 ? x->shape[0] : 0;
    if (perm->dtype != ML_INT64 || perm->ndim != 1 || perm->numel != n || !ml_is_contiguous(perm))
        luaL_error(L, "%s.cutmix: the permutation must be a contiguous int64 [%I]", FN, (lua_Integer)n);
    int64_t box[4];
    for (int i = 0; i < 4; i++) box[i] = luaL_checkinteger(L, i + 3);
    box[0] -= 1, box[2] -= 1; /* 1-based first row and column, last ones inclusive: [y0, y1) x [x0, x1) */
    lb_push_tensor(L, ml_aug_paste_box(x, ml_data(perm), 1, box));
    lb_gc_account(L);
    return 1;
}

/* ---- the loader's transform ------------------------------------------------------ */
static ml_tensor *run_plan(void *ctx, const ml_tensor *batch, int64_t epoch, int64_t batch_no, bool worker) {
    return ml_aug_apply(ctx, batch, (uint64_t)epoch, (uint64_t)batch_no, !worker);
}

void lb_aug_loader_transform(lua_State *L, int idx, const char *fn,
                             ml_tensor *(**run)(void *, const ml_tensor *, int64_t, int64_t, bool), void **ctx) {
    ml_aug_plan *p = check_plan(L, idx, fn);
    ml_aug_plan *copy = malloc(sizeof *copy);
    if (!copy) luaL_error(L, "%s: out of memory", fn);
    *copy = *p;
    *run = run_plan;
    *ctx = copy;
}

void lb_open_augment(lua_State *L) {
    luaL_newmetatable(L, LB_PLAN_MT);
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"plan", a_plan},           {"apply", a_apply},         {"affine", a_affine}, {"warp", a_warp},
        {"mix_params", a_mix_params}, {"paste_box", a_paste_box}, {NULL, NULL},
    };
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, 1, "_augment");
}
