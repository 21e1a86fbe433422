/* ml._optim: the C side of ml.optim (lualib/moonlab/optim.lua holds the
 * policy: parameter groups, options, state_dict, schedules).
 *
 *   local flat = ml._optim.flatten("Adam", {w, b})   -- rebinds w and b into one block
 *   flat:step(group, 1)      -- one fused update with group's options (group 1, for messages)
 *   ml._optim.step_all({{flat, group, gi}, ...}), zero_all(list, [set_to_none])   every block in one call
 *   flat:zero_grad([set_to_none])
 *   flat:param(), flat:grad()            -- the flat blocks, 1-D tensors
 *   flat:params(), flat:count(), flat:numel(), flat:dtype(), flat:offsets()
 *   flat:steps(), flat:set_steps(array), flat:sync(), flat:has_grad()
 *   flat:state_names(), flat:state(name, [create, group]), flat:state_views(name)
 *
 * The binding validates and converts; the math is in runtime/ops/optim.c. */
#include <string.h>

#include "../ops/optim.h"
#include "lbind.h"

#define FLAT_MT "moonlab.FlatParams"

typedef struct {
    ml_flat *f;
    bool decoupled; /* AdamW */
    char name[16];  /* the class, for messages: "Adam" */
} lb_flat;

static const struct {
    const char *name;
    ml_optim_kind kind;
    bool decoupled;
} kinds[] = {
    {"SGD", ML_OPTIM_SGD, false},         {"Adam", ML_OPTIM_ADAM, false},       {"AdamW", ML_OPTIM_ADAM, true},
    {"RMSprop", ML_OPTIM_RMSPROP, false}, {"Adagrad", ML_OPTIM_ADAGRAD, false},
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

static lb_flat *check_flat(lua_State *L, int idx) {
    lb_flat *b = luaL_checkudata(L, idx, FLAT_MT);
    if (!b->f) luaL_error(L, "optim: the flattened parameter group was already freed");
    return b;
}

static int flat_release(lua_State *L) {
    lb_flat *b = luaL_checkudata(L, 1, FLAT_MT);
    ml_flat_free(b->f);
    b->f = NULL;
    return 0;
}

/* ml._optim.flatten(kind, {params...}) -> flat */
static int o_flatten(lua_State *L) {
    const char *kname = luaL_checkstring(L, 1);
    int k = 0;
    while (k < NKINDS && strcmp(kinds[k].name, kname)) k++;
    if (k == NKINDS) return luaL_error(L, "ml._optim.flatten: unknown optimizer '%s'", kname);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 2);
    if (n > 1 << 24) return luaL_error(L, "optim.%s: too many parameters (%I)", kname, n);
    ml_tensor **ps = lua_newuserdatauv(L, sizeof *ps * (n ? n : 1), 0); /* scratch, collected */
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 2, i);
        ps[i - 1] = lb_test_tensor(L, -1);
        if (!ps[i - 1])
            return luaL_error(L, "optim.%s: parameter %I is a %s, expected a tensor", kname, i, luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    lb_flat *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, FLAT_MT);
    b->f = ml_flat_new(kinds[k].kind, (int)n, ps);
    if (!b->f) {
        const char *e = ml_last_error();
        if (!strncmp(e, "flatten: ", 9)) e += 9;
        return luaL_error(L, "optim.%s: %s", kname, e);
    }
    b->decoupled = kinds[k].decoupled;
    snprintf(b->name, sizeof b->name, "%s", kname);
    lb_gc_account(L);
    return 1;
}

/* ---- options --------------------------------------------------------- */
static double num_opt(lua_State *L, int g, const char *key, lb_flat *b, int gi) {
    lua_getfield(L, g, key);
    if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "optim.%s: param group %d: option '%s' must be a number, got %s", b->name, gi, key,
                   luaL_typename(L, -1));
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static bool bool_opt(lua_State *L, int g, const char *key, lb_flat *b, int gi) {
    lua_getfield(L, g, key);
    int t = lua_type(L, -1);
    if (t != LUA_TBOOLEAN && t != LUA_TNIL)
        luaL_error(L, "optim.%s: param group %d: option '%s' must be a boolean, got %s", b->name, gi, key,
                   luaL_typename(L, -1));
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Reads the options of f's kind from the group table at g. */
static void read_opts(lua_State *L, int g, lb_flat *b, int gi, ml_optim_opts *o) {
    memset(o, 0, sizeof *o);
    o->lr = num_opt(L, g, "lr", b, gi);
    o->weight_decay = num_opt(L, g, "weight_decay", b, gi);
    o->maximize = bool_opt(L, g, "maximize", b, gi);
    switch (b->f->kind) {
    case ML_OPTIM_SGD:
        o->momentum = num_opt(L, g, "momentum", b, gi);
        o->dampening = num_opt(L, g, "dampening", b, gi);
        o->nesterov = bool_opt(L, g, "nesterov", b, gi);
        break;
    case ML_OPTIM_ADAM:
        lua_getfield(L, g, "betas");
        if (!lua_istable(L, -1))
            luaL_error(L, "optim.%s: param group %d: option 'betas' must be a table {beta1, beta2}, got %s", b->name,
                       gi, luaL_typename(L, -1));
        for (int i = 1; i <= 2; i++) {
            if (lua_geti(L, -1, i) != LUA_TNUMBER)
                luaL_error(L, "optim.%s: param group %d: betas[%d] must be a number, got %s", b->name, gi, i,
                           luaL_typename(L, -1));
            *(i == 1 ? &o->beta1 : &o->beta2) = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        o->eps = num_opt(L, g, "eps", b, gi);
        o->amsgrad = bool_opt(L, g, "amsgrad", b, gi);
        o->decoupled = b->decoupled;
        break;
    case ML_OPTIM_RMSPROP:
        o->alpha = num_opt(L, g, "alpha", b, gi);
        o->eps = num_opt(L, g, "eps", b, gi);
        o->momentum = num_opt(L, g, "momentum", b, gi);
        o->centered = bool_opt(L, g, "centered", b, gi);
        break;
    case ML_OPTIM_ADAGRAD:
        o->lr_decay = num_opt(L, g, "lr_decay", b, gi);
        o->eps = num_opt(L, g, "eps", b, gi);
        o->initial_accumulator_value = num_opt(L, g, "initial_accumulator_value", b, gi);
        break;
    default: break;
    }
}

/* flat:step(group, [group_index]) */
static int f_step(lua_State *L) {
    lb_flat *b = check_flat(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    int gi = (int)luaL_optinteger(L, 3, 1);
    ml_optim_opts o;
    read_opts(L, 2, b, gi, &o);
    if (ml_flat_step(b->f, &o) < 0) return luaL_error(L, "optim.%s: step: %s", b->name, ml_last_error());
    lb_gc_account(L);
    return 0;
}

/* list[i] (list at idx), which must be a table {flat, ...}, pushed */
static void block_at(lua_State *L, int idx, lua_Integer i, const char *fn) {
    if (lua_rawgeti(L, idx, i) != LUA_TTABLE)
        luaL_error(L, "ml._optim.%s: block %d is a %s, expected {flat, group, index}", fn, (int)i, luaL_typename(L, -1));
}

/* ml._optim.step_all(list): flat:step(group, gi) for each {flat, group, gi}
 * of list in order: a library optimizer's whole step in one call. The fused
 * training step (train_step.c) calls it with the list at idx (absolute). */
int lb_optim_step_blocks(lua_State *L, int idx) {
    lua_Integer n = lua_rawlen(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        block_at(L, idx, i, "step_all"); /* {flat, group, gi} */
        lua_rawgeti(L, -1, 1);
        lb_flat *b = check_flat(L, -1);
        if (lua_rawgeti(L, -2, 2) != LUA_TTABLE)
            return luaL_error(L, "optim.%s: param group %d is a %s, expected a table", b->name, (int)i, luaL_typename(L, -1));
        lua_rawgeti(L, -3, 3);
        int gi = (int)lua_tointeger(L, -1);
        ml_optim_opts o;
        read_opts(L, lua_gettop(L) - 1, b, gi, &o);
        if (ml_flat_step(b->f, &o) < 0) return luaL_error(L, "optim.%s: step: %s", b->name, ml_last_error());
        lua_pop(L, 4);
    }
    lb_gc_account(L);
    return 0;
}

static int o_step_all(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    return lb_optim_step_blocks(L, 1);
}

/* ml._optim.zero_all(list, set_to_none): flat:zero_grad(set_to_none) for each {flat, ...} of list */
static int o_zero_all(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    bool none = lua_toboolean(L, 2);
    lua_Integer n = lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        block_at(L, 1, i, "zero_all");
        lua_rawgeti(L, -1, 1);
        ml_flat_zero_grad(check_flat(L, -1)->f, none);
        lua_pop(L, 2);
    }
    return 0;
}

/* flat:zero_grad([set_to_none=false]) */
static int f_zero_grad(lua_State *L) {
    ml_flat_zero_grad(check_flat(L, 1)->f, lua_toboolean(L, 2));
    return 0;
}

/* flat:sync() -> number of parameters with a gradient */
static int f_sync(lua_State *L) {
    lb_flat *b = check_flat(L, 1);
    int r = ml_flat_sync(b->f);
    if (r < 0) return luaL_error(L, "optim.%s: %s", b->name, ml_last_error());
    lua_pushinteger(L, r);
    return 1;
}

static int f_param(lua_State *L) {
    lb_push_tensor_shared(L, check_flat(L, 1)->f->param);
    return 1;
}

static int f_grad(lua_State *L) {
    lb_push_tensor_shared(L, check_flat(L, 1)->f->grad);
    return 1;
}

static int f_params(lua_State *L) {
    ml_flat *f = check_flat(L, 1)->f;
    lua_createtable(L, f->n, 0);
    for (int i = 0; i < f->n; i++) {
        lb_push_tensor_shared(L, f->params[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int f_count(lua_State *L) {
    lua_pushinteger(L, check_flat(L, 1)->f->n);
    return 1;
}

static int f_numel(lua_State *L) {
    lua_pushinteger(L, check_flat(L, 1)->f->numel);
    return 1;
}

static int f_dtype(lua_State *L) {
    lua_pushstring(L, ml_dtype_name(check_flat(L, 1)->f->dtype));
    return 1;
}

/* flat:offsets() -> {o1, ..., on}: 0-based element offset of each parameter in the block */
static int f_offsets(lua_State *L) {
    ml_flat *f = check_flat(L, 1)->f;
    lua_createtable(L, f->n, 0);
    for (int i = 0; i < f->n; i++) {
        lua_pushinteger(L, f->offsets[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int f_steps(lua_State *L) {
    ml_flat *f = check_flat(L, 1)->f;
    lua_createtable(L, f->n, 0);
    for (int i = 0; i < f->n; i++) {
        lua_pushinteger(L, f->steps[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* flat:set_steps({s1, ..., sn}): non-negative integers, one per parameter */
static int f_set_steps(lua_State *L) {
    lb_flat *b = check_flat(L, 1);
    ml_flat *f = b->f;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (luaL_len(L, 2) != f->n)
        return luaL_error(L, "optim.%s: %d step counts for %d parameters", b->name, (int)luaL_len(L, 2), f->n);
    for (int pass = 0; pass < 2; pass++) /* validate all, then write */
        for (int i = 0; i < f->n; i++) {
            lua_geti(L, 2, i + 1);
            int isint = 0;
            lua_Integer v = lua_tointegerx(L, -1, &isint);
            if (!isint || v < 0)
                return luaL_error(L, "optim.%s: step count %d must be a non-negative integer, got %s", b->name, i + 1,
                                  luaL_tolstring(L, -1, NULL));
            if (pass) f->steps[i] = v;
            lua_pop(L, 1);
        }
    return 0;
}

static int f_has_grad(lua_State *L) {
    ml_flat *f = check_flat(L, 1)->f;
    lua_createtable(L, f->n, 0);
    for (int i = 0; i < f->n; i++) {
        lua_pushboolean(L, f->has_grad[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int f_state_names(lua_State *L) {
    ml_flat *f = check_flat(L, 1)->f;
    const char *names[ML_OPTIM_MAX_STATE];
    int n = ml_optim_state_names(f->kind, names);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int state_slot(lua_State *L, lb_flat *b, int idx) {
    const char *name = luaL_checkstring(L, idx);
    const char *names[ML_OPTIM_MAX_STATE];
    int n = ml_optim_state_names(b->f->kind, names);
    for (int k = 0; k < n; k++)
        if (!strcmp(names[k], name)) return k;
    return luaL_error(L, "optim.%s: no state named '%s'", b->name, name);
}

/* flat:state(name, [create=false], [group]) -> the flat state tensor, or nil
 * when it was never made and create is false. group gives Adagrad's
 * initial_accumulator_value for a new slot. */
static int f_state(lua_State *L) {
    lb_flat *b = check_flat(L, 1);
    int k = state_slot(L, b, 2);
    ml_tensor *t = b->f->state[k];
    if (!t && lua_toboolean(L, 3)) {
        ml_optim_opts o, *op = NULL;
        if (lua_istable(L, 4) && b->f->kind == ML_OPTIM_ADAGRAD) {
            memset(&o, 0, sizeof o);
            o.initial_accumulator_value = num_opt(L, 4, "initial_accumulator_value", b, 1);
            op = &o;
        }
        t = ml_flat_state(b->f, k, op);
        if (!t) return lb_raise(L);
        lb_gc_account(L);
    }
    lb_push_tensor_shared(L, t);
    return 1;
}

/* flat:state_views(name) -> {view1, ..., viewn} shaped as the parameters, or nil */
static int f_state_views(lua_State *L) {
    lb_flat *b = check_flat(L, 1);
    int k = state_slot(L, b, 2);
    ml_flat *f = b->f;
    ml_tensor *s = f->state[k];
    if (!s) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, f->n, 0);
    for (int i = 0; i < f->n; i++) {
        ml_tensor *p = f->params[i];
        int64_t strides[ML_MAX_DIMS];
        ml_contiguous_strides(p->ndim, p->shape, strides);
        lb_push_tensor(L, ml_view(s, p->ndim, p->shape, strides, f->offsets[i]));
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static const luaL_Reg flat_methods[] = {
    {"step", f_step},         {"zero_grad", f_zero_grad},     {"sync", f_sync},
    {"param", f_param},       {"grad", f_grad},               {"params", f_params},
    {"count", f_count},       {"numel", f_numel},             {"dtype", f_dtype},
    {"offsets", f_offsets},   {"steps", f_steps},             {"set_steps", f_set_steps},
    {"has_grad", f_has_grad}, {"state_names", f_state_names}, {"state", f_state},
    {"state_views", f_state_views}, {NULL, NULL},
};

static int flat_tostring(lua_State *L) {
    lb_flat *b = luaL_checkudata(L, 1, FLAT_MT);
    if (!b->f) lua_pushliteral(L, "FlatParams(freed)");
    else
        lua_pushfstring(L, "FlatParams(%s, %d parameters, %I %s elements)", b->name, b->f->n,
                        (lua_Integer)b->f->numel, ml_dtype_name(b->f->dtype));
    return 1;
}

void lb_open_optim(lua_State *L) {
    if (luaL_newmetatable(L, FLAT_MT)) {
        lua_newtable(L);
        luaL_setfuncs(L, flat_methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, flat_release);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, flat_release);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, flat_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, o_flatten);
    lua_setfield(L, -2, "flatten");
    lua_pushcfunction(L, o_step_all);
    lua_setfield(L, -2, "step_all");
    lua_pushcfunction(L, o_zero_all);
    lua_setfield(L, -2, "zero_all");
    lua_setfield(L, 1, "_optim");
}
