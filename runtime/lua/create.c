/* Tensor creation: ml.tensor, empty/zeros/ones/full, arange, linspace, eye,
 * rand/randn/randint/randperm, the *_like family, and the generator's seed
 * and state (ml.seed, ml.initial_seed, ml.random_state, ml.set_random_state).
 *
 * Conventions: a shape is given as sizes (ml.zeros(2, 3)) or as one table
 * (ml.zeros({2, 3})), followed by an optional options table
 * {dtype = "float64", requires_grad = true}. Unknown options, extra
 * arguments and requires_grad on a non-float dtype are errors. The default
 * dtype is float32, except where the values decide (ml.tensor, ml.full,
 * ml.arange: integers give int64, booleans bool, as in PyTorch). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../ops/fill.h"
#include "../ops/random.h"
#include "lbind.h"

static const char *const OPT_DT_GRAD[] = {"dtype", "requires_grad", NULL};
static const char *const OPT_DT[] = {"dtype", NULL};

/* ---- argument helpers ------------------------------------------------ */
typedef struct {
    ml_dtype dtype;
    int has_dtype;
    int requires_grad;
} opts_t;

/* Raises the runtime's last error, prefixed with fn unless the runtime's
 * message already names the same function ("arange: ..." for ml.arange). */
static int raise_from(lua_State *L, const char *fn) {
    const char *msg = ml_last_error();
    const char *bare = strncmp(fn, "ml.", 3) == 0 ? fn + 3 : fn;
    size_t k = strlen(bare);
    if (strncmp(msg, bare, k) == 0 && msg[k] == ':') return luaL_error(L, "ml.%s", msg);
    return luaL_error(L, "%s: %s", fn, msg);
}

/* The options table at idx (may be none or nil), and nothing after it. */
static opts_t check_opts(lua_State *L, int idx, const char *fn, const char *const *known, ml_dtype def) {
    lb_check_options(L, idx, fn, known);
    opts_t o = {def, 0, 0};
    if (lua_istable(L, idx)) {
        if (lua_getfield(L, idx, "dtype") != LUA_TNIL) {
            o.dtype = lb_check_dtype_name(L, -1, fn);
            o.has_dtype = 1;
        }
        lua_pop(L, 1);
        int ty = lua_getfield(L, idx, "requires_grad");
        if (ty != LUA_TNIL && ty != LUA_TBOOLEAN)
            luaL_error(L, "%s: option 'requires_grad' must be a boolean, got %s", fn, luaL_typename(L, -1));
        o.requires_grad = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    if (lua_gettop(L) > idx)
        luaL_error(L, "%s: unexpected argument #%d (%s) after the options", fn, idx + 1, luaL_typename(L, idx + 1));
    return o;
}

/* requires_grad is only for float dtypes: checked before allocating. */
static void check_grad(lua_State *L, const char *fn, opts_t o, ml_dtype dt) {
    if (o.requires_grad && !ml_dtype_is_float(dt)) luaL_error(L, "%s: only float tensors can require grad", fn);
}

static void check_float_dtype(lua_State *L, const char *fn, ml_dtype dt) {
    if (!ml_dtype_is_float(dt))
        luaL_error(L, "%s: dtype must be float32 or float64, got %s", fn, ml_dtype_name(dt));
}

static void check_not_bool(lua_State *L, const char *fn, ml_dtype dt) {
    if (dt == ML_BOOL) luaL_error(L, "%s: dtype must be int64, float32 or float64, got bool", fn);
}

/* Pushes a new tensor (taking the reference), raising the runtime error on NULL. */
static int push_new(lua_State *L, ml_tensor *t, int requires_grad, const char *fn) {
    if (!t) return raise_from(L, fn);
    t->requires_grad = requires_grad != 0;
    lb_push_tensor(L, t);
    return 1;
}

static lua_Integer check_int_arg(lua_State *L, int idx, const char *fn, const char *what) {
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, idx, &isint);
    if (!isint) {
        if (lua_type(L, idx) == LUA_TNUMBER)
            luaL_error(L, "%s: %s must be an integer, got %s", fn, what, lua_tostring(L, idx));
        luaL_error(L, "%s: %s must be an integer, got %s", fn, what, luaL_typename(L, idx));
    }
    return v;
}

static double check_num_arg(lua_State *L, int idx, const char *fn, const char *what) {
    if (lua_type(L, idx) != LUA_TNUMBER) luaL_error(L, "%s: %s must be a number, got %s", fn, what, luaL_typename(L, idx));
    return lua_tonumber(L, idx);
}

/* A shape starting at idx: sizes (numbers) or one table of sizes. A table
 * that holds only named keys is the options table of a 0-d shape
 * (ml.zeros({dtype = "int64"})). Returns the index of the options argument. */
static int check_shape_args(lua_State *L, int idx, int64_t *shape, int *ndim, const char *fn) {
    if (lua_type(L, idx) == LUA_TTABLE) {
        lua_Unsigned n = lua_rawlen(L, idx), keys = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            keys++;
        }
        if (n == 0 && keys > 0) { *ndim = 0; return idx; }
        if (keys != n) luaL_error(L, "%s: the shape table must hold only sizes; give options in a second table", fn);
        *ndim = lb_check_shape(L, idx, shape, fn);
        return idx + 1;
    }
    int t = lua_type(L, idx);
    if (t != LUA_TNUMBER && t != LUA_TNONE && t != LUA_TNIL)
        luaL_error(L, "%s: expected sizes (numbers or a table), got %s", fn, luaL_typename(L, idx));
    *ndim = lb_check_shape(L, idx, shape, fn);
    return idx + *ndim;
}

/* ---- scalar values (fill values and ml.tensor elements) -------------- */
enum { K_NONE = 0, K_BOOL, K_INT, K_FLOAT };

typedef struct {
    int kind;
    lua_Integer i; /* K_BOOL (0/1) and K_INT */
    double d;      /* K_FLOAT */
} scalar_t;

static ml_dtype kind_dtype(int kind) { return kind == K_BOOL ? ML_BOOL : kind == K_INT ? ML_INT64 : ML_FLOAT32; }

/* A float that can be stored in int64 (truncated toward zero, as PyTorch). */
static int fits_int64(double d) { return d >= -0x1p63 && d < 0x1p63; }

static ml_tensor *full_of(lua_State *L, const char *fn, int ndim, const int64_t *shape, ml_dtype dt, scalar_t v) {
    if (v.kind == K_FLOAT && dt == ML_INT64) {
        if (!fits_int64(v.d)) luaL_error(L, "%s: value %f cannot be stored as int64", fn, v.d);
        return ml_full_int(ndim, shape, dt, (int64_t)v.d);
    }
    if (v.kind == K_FLOAT) return ml_full(ndim, shape, dt, v.d);
    return ml_full_int(ndim, shape, dt, v.i);
}

static scalar_t check_value(lua_State *L, int idx, const char *fn) {
    scalar_t v = {K_NONE, 0, 0};
    if (lua_type(L, idx) == LUA_TBOOLEAN) {
        v.kind = K_BOOL;
        v.i = lua_toboolean(L, idx);
    } else if (lua_isinteger(L, idx)) {
        v.kind = K_INT;
        v.i = lua_tointeger(L, idx);
    } else if (lua_type(L, idx) == LUA_TNUMBER) {
        v.kind = K_FLOAT;
        v.d = lua_tonumber(L, idx);
    } else {
        luaL_error(L, "%s: fill value must be a number or a boolean, got %s", fn, luaL_typename(L, idx));
    }
    return v;
}

/* ---- ml.tensor ------------------------------------------------------- */
typedef struct {
    lua_State *L;
    int ndim;
    int64_t shape[ML_MAX_DIMS];
    lua_Integer path[ML_MAX_DIMS + 1];
    int kind;    /* widest element kind seen */
    ml_dtype dt; /* fill pass */
    char *out;
    int64_t k;
} walk_t;

static const char *path_str(walk_t *w, int depth, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < depth && k < n; i++) k += snprintf(buf + k, n - k, "[%lld]", (long long)w->path[i]);
    return buf;
}

static const char *elem_type(lua_State *L, int idx) {
    if (lb_test_tensor(L, idx)) return "a tensor";
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return "nil";
    case LUA_TTABLE: return "a table";
    case LUA_TNUMBER: return "a number";
    case LUA_TSTRING: return "a string";
    case LUA_TFUNCTION: return "a function";
    case LUA_TUSERDATA: return "a userdata";
    default: return luaL_typename(L, idx);
    }
}

/* Pass 1: the table on top of the stack, at nesting depth `depth`, has the
 * shape's sizes and only numbers or booleans at the last level. */
static void walk_check(walk_t *w, int depth) {
    lua_State *L = w->L;
    char buf[128];
    lua_Unsigned n = lua_rawlen(L, -1);
    if ((int64_t)n != w->shape[depth]) {
        if (depth == 1)
            luaL_error(L, "ml.tensor: ragged nested table: row %d has %d elements, expected %d", (int)w->path[0],
                       (int)n, (int)w->shape[depth]);
        luaL_error(L, "ml.tensor: ragged nested table: row %s has %d elements, expected %d",
                   path_str(w, depth, buf, sizeof buf), (int)n, (int)w->shape[depth]);
    }
    int leaf = depth == w->ndim - 1;
    for (lua_Unsigned i = 1; i <= n; i++) {
        w->path[depth] = (lua_Integer)i;
        int ty = lua_rawgeti(L, -1, (lua_Integer)i);
        if (!leaf) {
            if (ty != LUA_TTABLE || lb_test_tensor(L, -1))
                luaL_error(L, "ml.tensor: ragged nested table: element %s is %s, expected a table of %d elements",
                           path_str(w, depth + 1, buf, sizeof buf), elem_type(L, -1), (int)w->shape[depth + 1]);
            walk_check(w, depth + 1);
        } else if (ty == LUA_TNUMBER) {
            int k = lua_isinteger(L, -1) ? K_INT : K_FLOAT;
            if (k > w->kind) w->kind = k;
        } else if (ty == LUA_TBOOLEAN) {
            if (w->kind < K_BOOL) w->kind = K_BOOL;
        } else if (ty == LUA_TTABLE) {
            luaL_error(L, "ml.tensor: ragged nested table: element %s is a table, expected a number",
                       path_str(w, depth + 1, buf, sizeof buf));
        } else if (lb_test_tensor(L, -1)) {
            luaL_error(L, "ml.tensor: element %s is a tensor; ml.tensor takes numbers (join tensors with ml.stack or ml.cat)",
                       path_str(w, depth + 1, buf, sizeof buf));
        } else {
            luaL_error(L, "ml.tensor: element %s is %s, expected a number or a boolean",
                       path_str(w, depth + 1, buf, sizeof buf), elem_type(L, -1));
        }
        lua_pop(L, 1);
    }
}

/* Stores the number or boolean on top of the stack at w->out[w->k++]. */
static void put_elem(walk_t *w, int depth) {
    lua_State *L = w->L;
    int64_t k = w->k++;
    if (lua_type(L, -1) == LUA_TBOOLEAN || lua_isinteger(L, -1)) {
        lua_Integer v = lua_type(L, -1) == LUA_TBOOLEAN ? lua_toboolean(L, -1) : lua_tointeger(L, -1);
        switch (w->dt) {
        case ML_FLOAT32: ((float *)w->out)[k] = (float)v; break;
        case ML_FLOAT64: ((double *)w->out)[k] = (double)v; break;
        case ML_INT64: ((int64_t *)w->out)[k] = v; break;
        case ML_BOOL: ((uint8_t *)w->out)[k] = v != 0; break;
        default: break;
        }
        return;
    }
    double d = lua_tonumber(L, -1);
    switch (w->dt) {
    case ML_FLOAT32: ((float *)w->out)[k] = (float)d; break;
    case ML_FLOAT64: ((double *)w->out)[k] = d; break;
    case ML_INT64:
        if (!fits_int64(d)) {
            char buf[128];
            luaL_error(L, "ml.tensor: element %s = %f cannot be stored as int64", path_str(w, depth, buf, sizeof buf), d);
        }
        ((int64_t *)w->out)[k] = (int64_t)d;
        break;
    case ML_BOOL: ((uint8_t *)w->out)[k] = d != 0; break;
    default: break;
    }
}

/* Pass 2: copies the (checked) table on top of the stack into w->out. */
static void walk_fill(walk_t *w, int depth) {
    lua_State *L = w->L;
    int64_t n = w->shape[depth];
    int leaf = depth == w->ndim - 1;
    for (int64_t i = 1; i <= n; i++) {
        w->path[depth] = i;
        lua_rawgeti(L, -1, i);
        if (leaf) put_elem(w, depth + 1);
        else walk_fill(w, depth + 1);
        lua_pop(L, 1);
    }
}

static int l_tensor(lua_State *L) {
    const char *fn = "ml.tensor";
    if (lua_isnone(L, 1)) luaL_error(L, "ml.tensor: expected a table, number, boolean or tensor, got no value");
    opts_t o = check_opts(L, 2, fn, OPT_DT_GRAD, ML_FLOAT32);
    ml_tensor *src = lb_test_tensor(L, 1);
    if (src) { /* a copy, detached from src's graph */
        ml_dtype dt = o.has_dtype ? o.dtype : src->dtype;
        check_grad(L, fn, o, dt);
        ml_tensor *c = ml_empty(src->ndim, src->shape, dt);
        if (c && ml_copy_into(c, src) < 0) { ml_release(c); c = NULL; }
        return push_new(L, c, o.requires_grad, fn);
    }
    int ty = lua_type(L, 1);
    if (ty == LUA_TNUMBER || ty == LUA_TBOOLEAN) {
        scalar_t v = check_value(L, 1, fn);
        ml_dtype dt = o.has_dtype ? o.dtype : kind_dtype(v.kind);
        check_grad(L, fn, o, dt);
        return push_new(L, full_of(L, fn, 0, NULL, dt, v), o.requires_grad, fn);
    }
    if (ty != LUA_TTABLE) luaL_error(L, "ml.tensor: expected a table, number, boolean or tensor, got %s", luaL_typename(L, 1));

    walk_t w = {.L = L, .ndim = 0, .kind = K_NONE};
    luaL_checkstack(L, ML_MAX_DIMS + 8, "ml.tensor: nesting too deep");
    /* the shape: the lengths along the first elements */
    lua_pushvalue(L, 1);
    int pushed = 1;
    for (;;) {
        if (w.ndim == ML_MAX_DIMS)
            luaL_error(L, "ml.tensor: more than %d levels of nesting (tensors have at most %d dimensions)", ML_MAX_DIMS,
                       ML_MAX_DIMS);
        lua_Unsigned n = lua_rawlen(L, -1);
        w.shape[w.ndim++] = (int64_t)n;
        if (n == 0) break;
        if (lua_rawgeti(L, -1, 1) != LUA_TTABLE || lb_test_tensor(L, -1)) { lua_pop(L, 1); break; }
        pushed++;
    }
    lua_pop(L, pushed);

    lua_pushvalue(L, 1);
    walk_check(&w, 0);
    ml_dtype dt = o.has_dtype ? o.dtype : (w.kind == K_NONE ? ML_FLOAT32 : kind_dtype(w.kind));
    check_grad(L, fn, o, dt);
    ml_tensor *t = ml_empty(w.ndim, w.shape, dt);
    push_new(L, t, o.requires_grad, fn); /* owned by Lua from here: errors below cannot leak it */
    w.dt = dt;
    w.out = ml_data(t);
    w.k = 0;
    lua_pushvalue(L, 1);
    walk_fill(&w, 0);
    lua_pop(L, 1);
    return 1;
}

/* ---- empty, zeros, ones, full ---------------------------------------- */
static int make_const(lua_State *L, const char *fn, int what) {
    int64_t shape[ML_MAX_DIMS];
    int ndim;
    int oi = check_shape_args(L, 1, shape, &ndim, fn);
    opts_t o = check_opts(L, oi, fn, OPT_DT_GRAD, ML_FLOAT32);
    check_grad(L, fn, o, o.dtype);
    ml_tensor *t = what == 0 ? ml_empty(ndim, shape, o.dtype)
                 : what == 1 ? ml_zeros(ndim, shape, o.dtype)
                             : ml_full(ndim, shape, o.dtype, 1.0);
    return push_new(L, t, o.requires_grad, fn);
}

static int l_empty(lua_State *L) { return make_const(L, "ml.empty", 0); }
static int l_zeros(lua_State *L) { return make_const(L, "ml.zeros", 1); }
static int l_ones(lua_State *L) { return make_const(L, "ml.ones", 2); }

/* ml.full(sizes..., value, [opts]) or ml.full({sizes}, value, [opts]). */
static int l_full(lua_State *L) {
    const char *fn = "ml.full";
    int64_t shape[ML_MAX_DIMS];
    int ndim, vi;
    if (lua_type(L, 1) == LUA_TTABLE) {
        ndim = lb_check_shape(L, 1, shape, fn);
        vi = 2;
    } else {
        int top = lua_gettop(L), k = 0;
        while (k < top && lua_type(L, k + 1) == LUA_TNUMBER) k++;
        vi = lua_type(L, k + 1) == LUA_TBOOLEAN ? k + 1 : k; /* the value: a boolean after the sizes, or the last number */
        if (vi < 1) luaL_error(L, "ml.full: expected sizes and a fill value, e.g. ml.full(2, 3, 0.5) or ml.full({2, 3}, 0.5)");
        if (vi - 1 > ML_MAX_DIMS) luaL_error(L, "ml.full: at most %d dimensions, got %d", ML_MAX_DIMS, vi - 1);
        ndim = 0;
        for (int i = 1; i < vi; i++) {
            char what[32];
            snprintf(what, sizeof what, "size %d", i);
            lua_Integer s = check_int_arg(L, i, fn, what);
            if (s < 0) luaL_error(L, "ml.full: size %d must be non-negative, got %I", i, (LUAI_UACINT)s);
            shape[ndim++] = s;
        }
    }
    if (lua_isnoneornil(L, vi)) luaL_error(L, "ml.full: missing the fill value");
    scalar_t v = check_value(L, vi, fn);
    opts_t o = check_opts(L, vi + 1, fn, OPT_DT_GRAD, kind_dtype(v.kind));
    check_grad(L, fn, o, o.dtype);
    return push_new(L, full_of(L, fn, ndim, shape, o.dtype, v), o.requires_grad, fn);
}

/* ---- arange, linspace, eye ------------------------------------------- */
/* ml.arange(end) | ml.arange(start, end, [step]), then [opts]. */
static int l_arange(lua_State *L) {
    const char *fn = "ml.arange";
    int k = 0;
    while (k < 3 && lua_type(L, k + 1) == LUA_TNUMBER) k++;
    if (k == 0) luaL_error(L, "ml.arange: expected (end) or (start, end, [step]), got %s", luaL_typename(L, 1));
    if (lua_type(L, k + 1) == LUA_TNUMBER) luaL_error(L, "ml.arange: expected at most 3 numbers (start, end, step)");
    int all_int = 1;
    for (int i = 1; i <= k; i++) all_int &= lua_isinteger(L, i);
    opts_t o = check_opts(L, k + 1, fn, OPT_DT_GRAD, all_int ? ML_INT64 : ML_FLOAT32);
    check_not_bool(L, fn, o.dtype);
    check_grad(L, fn, o, o.dtype);
    ml_tensor *t;
    if (all_int) {
        lua_Integer a = k == 1 ? 0 : lua_tointeger(L, 1), b = lua_tointeger(L, k == 1 ? 1 : 2);
        lua_Integer s = k == 3 ? lua_tointeger(L, 3) : 1;
        t = ml_arange_int(a, b, s, o.dtype);
    } else {
        double a = k == 1 ? 0 : lua_tonumber(L, 1), b = lua_tonumber(L, k == 1 ? 1 : 2);
        double s = k == 3 ? lua_tonumber(L, 3) : 1;
        t = ml_arange(a, b, s, o.dtype);
    }
    return push_new(L, t, o.requires_grad, fn);
}

static int l_linspace(lua_State *L) {
    const char *fn = "ml.linspace";
    double a = check_num_arg(L, 1, fn, "start");
    double b = check_num_arg(L, 2, fn, "end");
    lua_Integer n = check_int_arg(L, 3, fn, "the number of points");
    if (n < 0) luaL_error(L, "ml.linspace: the number of points must be non-negative, got %I", (LUAI_UACINT)n);
    opts_t o = check_opts(L, 4, fn, OPT_DT_GRAD, ML_FLOAT32);
    check_not_bool(L, fn, o.dtype);
    check_grad(L, fn, o, o.dtype);
    return push_new(L, ml_linspace(a, b, n, o.dtype), o.requires_grad, fn);
}

static int l_eye(lua_State *L) {
    const char *fn = "ml.eye";
    lua_Integer n = check_int_arg(L, 1, fn, "n");
    lua_Integer m = n;
    int oi = 2;
    if (lua_type(L, 2) == LUA_TNUMBER) { m = check_int_arg(L, 2, fn, "m"); oi = 3; }
    if (n < 0 || m < 0) luaL_error(L, "ml.eye: sizes must be non-negative, got %I x %I", (LUAI_UACINT)n, (LUAI_UACINT)m);
    opts_t o = check_opts(L, oi, fn, OPT_DT_GRAD, ML_FLOAT32);
    check_grad(L, fn, o, o.dtype);
    return push_new(L, ml_eye(n, m, o.dtype), o.requires_grad, fn);
}

/* ---- random ---------------------------------------------------------- */
static int make_random(lua_State *L, const char *fn, int normal) {
    int64_t shape[ML_MAX_DIMS];
    int ndim;
    int oi = check_shape_args(L, 1, shape, &ndim, fn);
    opts_t o = check_opts(L, oi, fn, OPT_DT_GRAD, ML_FLOAT32);
    check_float_dtype(L, fn, o.dtype);
    ml_tensor *t = normal ? ml_randn(ndim, shape, o.dtype) : ml_rand(ndim, shape, o.dtype);
    return push_new(L, t, o.requires_grad, fn);
}

static int l_rand(lua_State *L) { return make_random(L, "ml.rand", 0); }
static int l_randn(lua_State *L) { return make_random(L, "ml.randn", 1); }

static void check_range(lua_State *L, const char *fn, lua_Integer lo, lua_Integer hi) {
    if (hi <= lo)
        luaL_error(L, "%s: high (%I) must be greater than low (%I); high is excluded", fn, (LUAI_UACINT)hi,
                   (LUAI_UACINT)lo);
}

/* ml.randint(low, high, sizes... | {sizes}, [opts]): int64 in [low, high). */
static int l_randint(lua_State *L) {
    const char *fn = "ml.randint";
    lua_Integer lo = check_int_arg(L, 1, fn, "low");
    lua_Integer hi = check_int_arg(L, 2, fn, "high");
    check_range(L, fn, lo, hi);
    int64_t shape[ML_MAX_DIMS];
    int ndim;
    int oi = check_shape_args(L, 3, shape, &ndim, fn);
    opts_t o = check_opts(L, oi, fn, OPT_DT, ML_INT64);
    check_not_bool(L, fn, o.dtype);
    return push_new(L, ml_randint(lo, hi, ndim, shape, o.dtype), 0, fn);
}

static int l_randperm(lua_State *L) {
    const char *fn = "ml.randperm";
    lua_Integer n = check_int_arg(L, 1, fn, "n");
    if (n < 0) luaL_error(L, "ml.randperm: n must be non-negative, got %I", (LUAI_UACINT)n);
    opts_t o = check_opts(L, 2, fn, OPT_DT, ML_INT64);
    check_not_bool(L, fn, o.dtype);
    return push_new(L, ml_randperm(n, o.dtype), 0, fn);
}

/* ---- *_like ---------------------------------------------------------- */
enum { LIKE_EMPTY, LIKE_ZEROS, LIKE_ONES, LIKE_FULL, LIKE_RAND, LIKE_RANDN, LIKE_RANDINT };

static int make_like(lua_State *L, const char *fn, int what) {
    ml_tensor *src = lb_check_tensor(L, 1, fn);
    int oi = 2;
    scalar_t v = {K_NONE, 0, 0};
    lua_Integer lo = 0, hi = 0;
    if (what == LIKE_FULL) {
        if (lua_isnoneornil(L, 2)) luaL_error(L, "%s: missing the fill value", fn);
        v = check_value(L, 2, fn);
        oi = 3;
    } else if (what == LIKE_RANDINT) {
        lo = check_int_arg(L, 2, fn, "low");
        hi = check_int_arg(L, 3, fn, "high");
        check_range(L, fn, lo, hi);
        oi = 4;
    }
    opts_t o = check_opts(L, oi, fn, what == LIKE_RANDINT ? OPT_DT : OPT_DT_GRAD, src->dtype);
    ml_dtype dt = o.dtype;
    if (what == LIKE_RAND || what == LIKE_RANDN) check_float_dtype(L, fn, dt);
    if (what == LIKE_RANDINT) check_not_bool(L, fn, dt);
    check_grad(L, fn, o, dt);
    ml_tensor *t = NULL;
    switch (what) {
    case LIKE_EMPTY: t = ml_empty(src->ndim, src->shape, dt); break;
    case LIKE_ZEROS: t = ml_zeros(src->ndim, src->shape, dt); break;
    case LIKE_ONES: t = ml_full(src->ndim, src->shape, dt, 1.0); break;
    case LIKE_FULL: t = full_of(L, fn, src->ndim, src->shape, dt, v); break;
    case LIKE_RAND: t = ml_rand(src->ndim, src->shape, dt); break;
    case LIKE_RANDN: t = ml_randn(src->ndim, src->shape, dt); break;
    case LIKE_RANDINT: t = ml_randint(lo, hi, src->ndim, src->shape, dt); break;
    }
    return push_new(L, t, o.requires_grad, fn);
}

static int l_empty_like(lua_State *L) { return make_like(L, "ml.empty_like", LIKE_EMPTY); }
static int l_zeros_like(lua_State *L) { return make_like(L, "ml.zeros_like", LIKE_ZEROS); }
static int l_ones_like(lua_State *L) { return make_like(L, "ml.ones_like", LIKE_ONES); }
static int l_full_like(lua_State *L) { return make_like(L, "ml.full_like", LIKE_FULL); }
static int l_rand_like(lua_State *L) { return make_like(L, "ml.rand_like", LIKE_RAND); }
static int l_randn_like(lua_State *L) { return make_like(L, "ml.randn_like", LIKE_RANDN); }
static int l_randint_like(lua_State *L) { return make_like(L, "ml.randint_like", LIKE_RANDINT); }

/* ---- the generator's seed and state ---------------------------------- */
/* ml.seed(n): any Lua integer; negative ones are taken as their 64-bit pattern. */
static int l_seed(lua_State *L) {
    lua_Integer n = check_int_arg(L, 1, "ml.seed", "the seed");
    if (lua_gettop(L) > 1) luaL_error(L, "ml.seed: expected one integer, got %d arguments", lua_gettop(L));
    ml_seed((uint64_t)n);
    return 0;
}

static int l_initial_seed(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ml_initial_seed());
    return 1;
}

/* The state as 64 hex digits: the four words, first word first. */
static int l_random_state(lua_State *L) {
    uint64_t s[4];
    char buf[65];
    ml_random_get_state(s);
    for (int i = 0; i < 4; i++) snprintf(buf + 16 * i, 17, "%016" PRIx64, s[i]);
    lua_pushlstring(L, buf, 64);
    return 1;
}

static int l_set_random_state(lua_State *L) {
    size_t n;
    const char *str = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    if (!str || n != 64)
        luaL_error(L, "ml.set_random_state: expected the 64-hex-digit string from ml.random_state(), got %s",
                   str ? "a string of another length" : luaL_typename(L, 1));
    uint64_t s[4] = {0, 0, 0, 0};
    for (int i = 0; i < 64; i++) {
        char c = str[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) luaL_error(L, "ml.set_random_state: '%c' at position %d is not a hex digit", c, i + 1);
        s[i / 16] = (s[i / 16] << 4) | (uint64_t)d;
    }
    if (ml_random_set_state(s) < 0) return raise_from(L, "ml.set_random_state");
    return 0;
}

void lb_open_create(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"tensor", l_tensor},
        {"empty", l_empty},
        {"zeros", l_zeros},
        {"ones", l_ones},
        {"full", l_full},
        {"arange", l_arange},
        {"linspace", l_linspace},
        {"eye", l_eye},
        {"rand", l_rand},
        {"randn", l_randn},
        {"randint", l_randint},
        {"randperm", l_randperm},
        {"empty_like", l_empty_like},
        {"zeros_like", l_zeros_like},
        {"ones_like", l_ones_like},
        {"full_like", l_full_like},
        {"rand_like", l_rand_like},
        {"randn_like", l_randn_like},
        {"randint_like", l_randint_like},
        {"seed", l_seed},
        {"initial_seed", l_initial_seed},
        {"random_state", l_random_state},
        {"set_random_state", l_set_random_state},
        {NULL, NULL},
    };
    lb_setfuncs(L, 1, fns);

    static const lb_doc docs[] = {
        {"Creation", NULL},
        {"tensor", "ml.tensor(data, [{dtype=, requires_grad=}]) -> tensor — from a nested table, a number or boolean (0-d), "
                   "or a tensor (a detached copy); integers give int64, floats float32, booleans bool"},
        {"empty", "ml.empty(sizes... | {sizes}, [{dtype=\"float32\", requires_grad=false}]) -> tensor — uninitialized values"},
        {"zeros", "ml.zeros(sizes... | {sizes}, [{dtype=\"float32\", requires_grad=false}]) -> tensor — filled with 0"},
        {"ones", "ml.ones(sizes... | {sizes}, [{dtype=\"float32\", requires_grad=false}]) -> tensor — filled with 1"},
        {"full", "ml.full(sizes... | {sizes}, value, [{dtype=, requires_grad=}]) -> tensor — filled with value; "
                 "the dtype follows the value (integer: int64, float: float32, boolean: bool)"},
        {"arange", "ml.arange([start=0], end, [step=1], [{dtype=, requires_grad=}]) -> tensor — start, start+step, ... "
                   "excluding end; int64 when all are integers, else float32"},
        {"linspace", "ml.linspace(start, end, n, [{dtype=\"float32\", requires_grad=}]) -> tensor — n evenly spaced values, both ends included"},
        {"eye", "ml.eye(n, [m=n], [{dtype=\"float32\", requires_grad=}]) -> tensor — the n x m identity matrix"},
        {"empty_like", "ml.empty_like(t, [{dtype=, requires_grad=}]) -> tensor — uninitialized, with t's shape and dtype"},
        {"zeros_like", "ml.zeros_like(t, [{dtype=, requires_grad=}]) -> tensor — zeros with t's shape and dtype"},
        {"ones_like", "ml.ones_like(t, [{dtype=, requires_grad=}]) -> tensor — ones with t's shape and dtype"},
        {"full_like", "ml.full_like(t, value, [{dtype=, requires_grad=}]) -> tensor — filled with value, with t's shape and dtype"},
        {"Random", NULL},
        {"rand", "ml.rand(sizes... | {sizes}, [{dtype=\"float32\", requires_grad=}]) -> tensor — uniform in [0, 1); float dtypes only"},
        {"randn", "ml.randn(sizes... | {sizes}, [{dtype=\"float32\", requires_grad=}]) -> tensor — standard normal (mean 0, std 1); float dtypes only"},
        {"randint", "ml.randint(low, high, sizes... | {sizes}, [{dtype=\"int64\"}]) -> tensor — uniform integers in [low, high)"},
        {"randperm", "ml.randperm(n, [{dtype=\"int64\"}]) -> tensor — a random order of 1..n (1-based, to index with)"},
        {"rand_like", "ml.rand_like(t, [{dtype=, requires_grad=}]) -> tensor — uniform in [0, 1), with t's shape and (float) dtype"},
        {"randn_like", "ml.randn_like(t, [{dtype=, requires_grad=}]) -> tensor — standard normal, with t's shape and (float) dtype"},
        {"randint_like", "ml.randint_like(t, low, high, [{dtype=}]) -> tensor — integers in [low, high), with t's shape and dtype"},
        {"seed", "ml.seed(n) — seeds the one xoshiro256** generator; the same seed gives the same numbers on every machine"},
        {"initial_seed", "ml.initial_seed() -> integer — the last seed given to ml.seed (0 before any call)"},
        {"random_state", "ml.random_state() -> string — the generator's state as 64 hex digits, for ml.set_random_state"},
        {"set_random_state", "ml.set_random_state(s) — restores a state saved by ml.random_state(), to resume the same stream"},
        {NULL, NULL},
    };
    lb_add_docs(L, 1, docs);
}
