/* Elementwise math: arithmetic metamethods (+ - * / ^ unary -), binary and
 * unary functions, comparisons, where, clamp, and in-place updates. Each is
 * both ml.f(t, ...) and t:f(...). */
#include <math.h>
#include <string.h>

#include "../ops/divmod.h"
#include "../ops/ops.h"
#include "lbind.h"

/* The operands of a op b, where either side may be a number (the scalar
 * path avoids a tensor): false when both are tensors (*a, *b); true when one
 * is a number, with *a the tensor, *s the number and *reversed whether the
 * number came first. Raises when a side is neither. */
static bool scalar_operand(lua_State *L, const char *fn, ml_tensor **a, ml_tensor **b, double *s, bool *reversed) {
    *a = lb_test_tensor(L, 1);
    *b = lb_test_tensor(L, 2);
    if (*a && *b) return false;
    if (*a && lua_type(L, 2) == LUA_TNUMBER) {
        *s = lua_tonumber(L, 2);
        *reversed = false;
        return true;
    }
    if (*b && lua_type(L, 1) == LUA_TNUMBER) {
        *s = lua_tonumber(L, 1);
        *a = *b;
        *reversed = true;
        return true;
    }
    int bad = *a ? 2 : 1;
    luaL_error(L, "%s: argument #%d: expected a tensor or a number, got %s", fn, bad, luaL_typename(L, bad));
    return false;
}

/* add and sub take PyTorch's alpha (a + alpha * b); the other ops take two operands, nothing more */
static int binary(lua_State *L, ml_binary_op op, const char *fn) {
    ml_tensor *a, *b;
    double s;
    bool rev;
    bool has_alpha = (op == ML_ADD || op == ML_SUB) && !lua_isnoneornil(L, 3);
    double alpha = 1;
    if (has_alpha) {
        if (lua_type(L, 3) != LUA_TNUMBER) return luaL_error(L, "%s: argument #3 (alpha) must be a number, got %s", fn, luaL_typename(L, 3));
        alpha = lua_tonumber(L, 3);
    } else if (lua_gettop(L) > 2 && !lua_isnil(L, 3))
        return luaL_error(L, "%s: takes two operands, got a third argument (%s)", fn, luaL_typename(L, 3));
    if (scalar_operand(L, fn, &a, &b, &s, &rev)) {
        if (has_alpha && rev) { /* alpha scales the second operand, the tensor: s + alpha * a */
            ml_tensor *scaled = ml_binary_scalar(ML_MUL, a, alpha, false);
            if (!scaled) return lb_raise(L);
            lb_push_tensor(L, ml_binary_scalar(op, scaled, s, true));
            ml_release(scaled);
            return 1;
        }
        lb_push_tensor(L, ml_binary_scalar(op, a, has_alpha ? s * alpha : s, rev));
        return 1;
    }
    if (has_alpha && alpha != 1) {
        ml_tensor *scaled = ml_binary_scalar(ML_MUL, b, alpha, false);
        if (!scaled) return lb_raise(L);
        lb_push_tensor(L, ml_binary(op, a, scaled));
        ml_release(scaled);
        return 1;
    }
    lb_push_tensor(L, ml_binary(op, a, b));
    return 1;
}

/* m_add, m_sub ... one per row of ML_BINARY_OPS (ops/optable.h) */
#define BINARY_FN(E, name, ...) \
    static int m_##name(lua_State *L) { return binary(L, E, #name); }
ML_BINARY_OPS(BINARY_FN)

/* a // b and a % b, either side a number */
static int divmod(lua_State *L, ml_divmod_op op, const char *fn) {
    ml_tensor *a, *b;
    double s;
    bool rev;
    lb_push_tensor(L, scalar_operand(L, fn, &a, &b, &s, &rev) ? ml_divmod_scalar(op, a, s, rev) : ml_divmod(op, a, b));
    return 1;
}
static int m_floor_divide(lua_State *L) { return divmod(L, ML_FLOOR_DIVIDE, "floor_divide"); }
static int m_remainder(lua_State *L) { return divmod(L, ML_REMAINDER, "remainder"); }

static int unary(lua_State *L, ml_unary_op op, const char *fn) {
    lb_push_tensor(L, ml_unary(op, lb_check_tensor(L, 1, fn)));
    return 1;
}
/* m_neg, m_abs ... one per row of ML_UNARY_OPS */
#define UNARY_FN(E, name, ...) \
    static int m_##name(lua_State *L) { return unary(L, E, #name); }
ML_UNARY_OPS(UNARY_FN)

static int m_unm(lua_State *L) { return unary(L, ML_NEG, "unm"); }

static double opt_bound(lua_State *L, int idx, const char *fn) {
    if (lua_isnoneornil(L, idx)) return NAN;
    if (lua_type(L, idx) != LUA_TNUMBER) luaL_error(L, "%s: bounds must be numbers or nil, got %s", fn, luaL_typename(L, idx));
    return lua_tonumber(L, idx);
}

/* t:clamp(lo, hi) or t:clamp{min=, max=}; either bound may be nil */
static int m_clamp(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "clamp");
    double lo, hi;
    if (lua_istable(L, 2)) {
        static const char *const known[] = {"min", "max", NULL};
        lb_check_options(L, 2, "clamp", known);
        lo = lb_opt_number_field(L, 2, "min", NAN);
        hi = lb_opt_number_field(L, 2, "max", NAN);
    } else {
        lo = opt_bound(L, 2, "clamp");
        hi = opt_bound(L, 3, "clamp");
    }
    if (lo != lo && hi != hi) return luaL_error(L, "clamp: give at least one of min and max");
    lb_push_tensor(L, ml_clamp(t, lo, hi));
    return 1;
}

static int m_leaky_relu(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "leaky_relu");
    lb_push_tensor(L, ml_leaky_relu(t, luaL_optnumber(L, 2, 0.01)));
    return 1;
}

/* ml.where(cond, a, b): a and b tensors or numbers */
static int m_where(lua_State *L) {
    ml_tensor *c = lb_check_tensor(L, 1, "where");
    ml_tensor *ta = lb_test_tensor(L, 2), *tb = lb_test_tensor(L, 3);
    ml_dtype like = ta ? ta->dtype : tb ? tb->dtype : ML_FLOAT32;
    for (int i = 2; i <= 3; i++) /* check both before either holds a reference */
        if (!lb_test_tensor(L, i) && lua_type(L, i) != LUA_TNUMBER && lua_type(L, i) != LUA_TBOOLEAN)
            return luaL_error(L, "where: argument #%d: expected a tensor or a number, got %s", i, luaL_typename(L, i));
    ml_tensor *a = lb_tensor_or_number(L, 2, "where", like);
    ml_tensor *b = lb_tensor_or_number(L, 3, "where", like);
    ml_tensor *r = ml_where(c, a, b);
    ml_release(a);
    ml_release(b);
    lb_push_tensor(L, r);
    return 1;
}

static int compare(lua_State *L, ml_compare_op op, const char *fn) {
    ml_tensor *a = lb_check_tensor(L, 1, fn);
    ml_tensor *b = lb_tensor_or_number(L, 2, fn, a->dtype);
    ml_tensor *r = ml_compare(op, a, b);
    ml_release(b);
    lb_push_tensor(L, r);
    return 1;
}
/* m_eq, m_ne ... one per row of ML_COMPARE_OPS */
#define COMPARE_FN(E, name, ...) \
    static int m_##name(lua_State *L) { return compare(L, E, #name); }
ML_COMPARE_OPS(COMPARE_FN)

static int m_isnan(lua_State *L) { lb_push_tensor(L, ml_isnan(lb_check_tensor(L, 1, "isnan"))); return 1; }
static int m_isinf(lua_State *L) { lb_push_tensor(L, ml_isinf(lb_check_tensor(L, 1, "isinf"))); return 1; }
static int m_logical_not(lua_State *L) {
    lb_push_tensor(L, ml_logical_not(lb_check_tensor(L, 1, "logical_not")));
    return 1;
}

/* ml.equal(a, b): same shape and values (a Lua boolean) */
static int m_equal(lua_State *L) {
    ml_tensor *a = lb_check_tensor(L, 1, "equal"), *b = lb_check_tensor(L, 2, "equal");
    if (!ml_same_shape(a, b)) { lua_pushboolean(L, 0); return 1; }
    ml_tensor *e = ml_compare(ML_EQ, a, b);
    if (!e) return lb_raise(L);
    int all = 1;
    const uint8_t *p = ml_data(e);
    for (int64_t i = 0; i < e->numel && all; i++) all = p[i];
    ml_release(e);
    lua_pushboolean(L, all);
    return 1;
}

/* ---- in place: t:add_(x, [alpha]) ... return t ------------------------- */
static int inplace(lua_State *L, ml_binary_op op, const char *fn) {
    ml_tensor *a = lb_check_tensor(L, 1, fn);
    bool has_alpha = op == ML_ADD && !lua_isnoneornil(L, 3);
    double alpha = has_alpha ? luaL_checknumber(L, 3) : 1; /* checked before b holds a reference */
    ml_tensor *b = lb_tensor_or_number(L, 2, fn, a->dtype);
    int r = has_alpha ? ml_add_inplace(a, b, alpha) : ml_binary_inplace(op, a, b);
    ml_release(b);
    if (r < 0) return lb_raise(L);
    lua_settop(L, 1);
    return 1;
}
static int m_add_(lua_State *L) { return inplace(L, ML_ADD, "add_"); }
static int m_sub_(lua_State *L) { return inplace(L, ML_SUB, "sub_"); }
static int m_mul_(lua_State *L) { return inplace(L, ML_MUL, "mul_"); }
static int m_div_(lua_State *L) { return inplace(L, ML_DIV, "div_"); }

static int m_fill_(lua_State *L) {
    ml_tensor *a = lb_check_tensor(L, 1, "fill_");
    double v = lua_isboolean(L, 2) ? lua_toboolean(L, 2) : luaL_checknumber(L, 2);
    if (ml_fill_inplace(a, v) < 0) return lb_raise(L);
    lua_settop(L, 1);
    return 1;
}

static int m_zero_(lua_State *L) {
    if (ml_fill_inplace(lb_check_tensor(L, 1, "zero_"), 0) < 0) return lb_raise(L);
    lua_settop(L, 1);
    return 1;
}

#define FN_REG(E, name, ...) {#name, m_##name},
static const luaL_Reg funcs[] = {
    ML_BINARY_OPS(FN_REG) {"floor_divide", m_floor_divide}, {"remainder", m_remainder},
    ML_UNARY_OPS(FN_REG)
    {"clamp", m_clamp}, {"leaky_relu", m_leaky_relu}, {"where", m_where},
    ML_COMPARE_OPS(FN_REG)
    {"isnan", m_isnan}, {"isinf", m_isinf}, {"logical_not", m_logical_not}, {"equal", m_equal},
    {"add_", m_add_}, {"sub_", m_sub_}, {"mul_", m_mul_}, {"div_", m_div_}, {"fill_", m_fill_}, {"zero_", m_zero_},
    {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__add", m_add}, {"__sub", m_sub}, {"__mul", m_mul}, {"__div", m_div}, {"__pow", m_pow}, {"__unm", m_unm},
    {"__idiv", m_floor_divide}, {"__mod", m_remainder},
    {NULL, NULL},
};

/* One doc per function: each is both ml.f(t, ...) and t:f(...). The op
 * families' docs are the last column of their rows in ops/optable.h. */
#define BINARY_DOC(E, name, fwd, saves, doc) {#name, doc},
#define UNARY_DOC(E, name, keeps_int, fwd, saves, bwd, doc) {#name, doc},
#define COMPARE_DOC(E, name, op, doc) {#name, doc},
static const lb_doc docs[] = {
    {"Elementwise math", NULL},
    ML_BINARY_OPS(BINARY_DOC) ML_UNARY_OPS(UNARY_DOC)
    {"floor_divide", "t:floor_divide(x) | t // x -> tensor — floor(t / x) elementwise, broadcasting, as Python's // and "
                     "torch.floor_divide; integers stay integers (division by zero is an error); gradient zero"},
    {"remainder", "t:remainder(x) | t % x -> tensor — t - x * floor(t / x), the sign of x, as Python's % and "
                  "torch.remainder; x a tensor or number on either side"},
    {"clamp", "t:clamp(min, max) | t:clamp{min=, max=} -> tensor — values limited to [min, max]; either bound may be nil"},
    {"leaky_relu", "t:leaky_relu([slope=0.01]) -> tensor — t where t > 0, else slope * t"},
    {"where", "ml.where(cond, a, b) -> tensor — a where the bool tensor cond is true, else b; a and b tensors or numbers, broadcast"},
    {"Comparison", NULL},
    ML_COMPARE_OPS(COMPARE_DOC)
    {"isnan", "t:isnan() -> tensor — bool mask, true where t is NaN"},
    {"isinf", "t:isinf() -> tensor — bool mask, true where t is +inf or -inf"},
    {"logical_not", "t:logical_not() -> tensor — bool mask, true where t is false or zero"},
    {"equal", "ml.equal(a, b) -> boolean — whether a and b have the same shape and equal values"},
    {"In place", NULL},
    {"add_", "t:add_(x, [alpha=1]) -> t — t += alpha * x in place, x broadcast into t; not recorded by autograd"},
    {"sub_", "t:sub_(x) -> t — t -= x in place, x broadcast into t; not recorded by autograd"},
    {"mul_", "t:mul_(x) -> t — t *= x in place, x broadcast into t; not recorded by autograd"},
    {"div_", "t:div_(x) -> t — t /= x in place, x broadcast into t; not recorded by autograd"},
    {"fill_", "t:fill_(value) -> t — sets every element to value (a number or boolean)"},
    {"zero_", "t:zero_() -> t — sets every element to 0"},
    {NULL, NULL},
};

void lb_open_math(lua_State *L) {
    lb_setfuncs(L, 1, funcs);
    lb_setfuncs(L, 2, funcs);
    luaL_getmetatable(L, LB_TENSOR_MT);
    lb_setfuncs(L, lua_gettop(L), metamethods);
    lua_pop(L, 1);
    lb_add_docs(L, 1, docs);
    lb_add_docs(L, 2, docs);
}
