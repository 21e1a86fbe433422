/* Argument checking, tensor boxing and GC accounting for the bindings. */
#include "lbind.h"

#include <ctype.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "../core/suggest.h"

/* The name the user called the current C function by (t:std, ml.std), or
 * NULL when it ran as a metamethod or through a local alias. */
static const char *called_name(lua_State *L) {
    lua_Debug ar;
    if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "n", &ar) || !ar.name || !ar.namewhat) return NULL;
    if (strcmp(ar.namewhat, "method") && strcmp(ar.namewhat, "field")) return NULL;
    return ar.name;
}

/* Length of a leading "name: " in msg (0 when there is none). */
static size_t prefix_len(const char *msg) {
    size_t i = 0;
    /* a name may hold dots and method colons: "prep.StandardScaler:fit: ", "df:write_csv: " */
    for (;;) {
        while (msg[i] && (isalnum((unsigned char)msg[i]) || msg[i] == '_' || msg[i] == '.')) i++;
        if (i > 0 && msg[i] == ':' && (isalpha((unsigned char)msg[i + 1]) || msg[i + 1] == '_')) { i++; continue; }
        break;
    }
    return (i > 0 && msg[i] == ':' && msg[i + 1] == ' ') ? i + 2 : 0;
}

int lb_raise_as(lua_State *L, const char *fn) {
    const char *msg = ml_last_error();
    size_t p = prefix_len(msg);
    if (!fn) return p ? luaL_error(L, "%s", msg) : luaL_error(L, "%s: %s", "moonlab", msg);
    return luaL_error(L, "%s: %s", fn, msg + p);
}

/* Runtime messages name the internal op (matmul inside addmm, fill inside
 * zero_): name the function the user called instead, when we know it. */
int lb_raise(lua_State *L) {
    const char *name = called_name(L);
    const char *msg = ml_last_error();
    size_t p = prefix_len(msg);
    if (p && name) { /* keep a prefix that already names it: "ml.load" for load */
        size_t n = strlen(name), k = p - 2;
        if (k >= n && !strncmp(msg + k - n, name, n) && (k == n || msg[k - n - 1] == '.')) name = NULL;
    }
    if (!name && p) return luaL_error(L, "%s", msg);
    return lb_raise_as(L, name);
}

/* Per-interpreter state the hot paths need, found through the state's
 * extra space (LUA_EXTRASPACE, which Lua copies into every coroutine made
 * after it is set) rather than a registry lookup by key: the tensor
 * metatable's identity, to check a userdata against it, and its registry
 * index, to push it by integer (the array part) for every new tensor. The
 * struct itself is a userdata in the registry, freed with the state. A
 * thread whose extra space is empty (the module opened in a coroutine)
 * finds it under the light-userdata key and remembers it. */
typedef struct {
    const void *tensor_mt; /* lua_topointer of the metatable */
    int ref[LB_NSLOTS];    /* registry indices of the slots' values (LUA_NOREF: unset) */
} lb_state;

static const char state_key = 0;

static lb_state *get_state_slow(lua_State *L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &state_key);
    lb_state *st = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (st) *(lb_state **)lua_getextraspace(L) = st;
    return st;
}

static inline lb_state *get_state(lua_State *L) {
    lb_state *st = *(lb_state **)lua_getextraspace(L);
    return st ? st : get_state_slow(L);
}

void lb_remember_tensor_mt(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lb_state *st = lua_newuserdatauv(L, sizeof *st, 0);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
    st->tensor_mt = lua_topointer(L, idx);
    for (int i = 0; i < LB_NSLOTS; i++) st->ref[i] = LUA_NOREF;
    *(lb_state **)lua_getextraspace(L) = st;
    lb_slot_set(L, LB_SLOT_TENSOR_MT, idx);
}

void lb_slot_set(lua_State *L, lb_slot slot, int idx) {
    lb_state *st = get_state(L);
    lua_pushvalue(L, idx);
    if (st->ref[slot] == LUA_NOREF) st->ref[slot] = luaL_ref(L, LUA_REGISTRYINDEX);
    else lua_rawseti(L, LUA_REGISTRYINDEX, st->ref[slot]);
}

void lb_slot_push(lua_State *L, lb_slot slot) {
    lb_state *st = get_state(L);
    if (!st || st->ref[slot] == LUA_NOREF) lua_pushnil(L);
    else lua_rawgeti(L, LUA_REGISTRYINDEX, st->ref[slot]);
}

/* The box at idx when it is a tensor userdata (freed or not), else NULL:
 * a full userdata of a box's size whose mark is this interpreter's (only
 * lb_push_tensor writes it; Lua code cannot make a userdata's bytes), read
 * without pushing its metatable (3 of the 4 API calls of a metatable check,
 * which every tensor argument and every finalizer paid). */
static inline lb_box *raw_box(lua_State *L, int idx) {
    lb_box *b = lua_touserdata(L, idx);
    if (!b || lua_rawlen(L, idx) != sizeof *b) return NULL; /* light userdata: length 0 */
    lb_state *st = get_state(L);
    return st && b->mark == st->tensor_mt ? b : NULL;
}

static lb_box *test_box(lua_State *L, int idx) {
    lb_box *b = raw_box(L, idx);
    if (b && !b->t) { /* closed with <close>: using it again is always a mistake */
        const char *name = called_name(L);
        luaL_error(L, "%s: argument #%d: tensor was already freed (closed by <close>)", name ? name : "tensor", idx);
    }
    return b;
}

bool lb_is_tensor(lua_State *L, int idx) { return raw_box(L, idx) != NULL; }

lb_box *lb_test_box(lua_State *L, int idx) { return raw_box(L, idx); }

ml_tensor *lb_test_tensor(lua_State *L, int idx) {
    lb_box *b = test_box(L, idx);
    return b ? b->t : NULL;
}

ml_tensor *lb_check_tensor(lua_State *L, int idx, const char *fn) {
    lb_box *b = test_box(L, idx);
    if (!b) luaL_error(L, "%s: argument #%d: expected a tensor, got %s", fn, idx, luaL_typename(L, idx));
    return b->t;
}

ml_tensor *lb_tensor_or_number(lua_State *L, int idx, const char *fn, ml_dtype like) {
    if (lua_type(L, idx) == LUA_TNUMBER) {
        ml_dtype dt = ml_dtype_is_float(like) ? like : (lua_isinteger(L, idx) ? ML_INT64 : ML_FLOAT32);
        ml_tensor *t = ml_scalar(lua_tonumber(L, idx), dt);
        if (!t) lb_raise(L);
        /* an integer kept exact (a double rounds 2^53 + 1 and INT64_MAX) */
        if (dt == ML_INT64) *(int64_t *)ml_data(t) = (int64_t)lua_tointeger(L, idx);
        return t;
    }
    if (lua_type(L, idx) == LUA_TBOOLEAN) {
        ml_tensor *t = ml_scalar(lua_toboolean(L, idx), ML_BOOL);
        if (!t) lb_raise(L);
        return t;
    }
    return ml_retain(lb_check_tensor(L, idx, fn));
}

/* Collector pressure: what only the collector can free grows, so it is
 * reported to Lua as if Lua had allocated it, and the incremental collector
 * runs (and frees dead tensors) at the pace they pile up. That is the
 * growth of live tensor bytes plus a header's worth per tensor held by a
 * Lua value (lb_boxes_live: for tiny tensors the headers, storages and
 * nodes are most of the memory; without them a loop of tiny ops let ~100K
 * dead tensors pile up per cycle, none of it in cache when reused).
 * Temporaries that C frees itself (a backward pass's gradients, a
 * product's packed copy) never reach the count: reporting every byte
 * allocated made the collector walk the heap 3-4x more often than needed
 * (12% of a tiny model's step). Reported in 64 KiB steps, so most ops pay
 * one comparison. */
_Thread_local int64_t lb_boxes_live = 0;
#define LB_BOX_BYTES 384 /* header + storage + userdata + a node, roughly */

void lb_gc_account(lua_State *L) {
    static _Thread_local int64_t base = 0, limit = 128 << 20;
    int64_t now = ml_bytes_live + lb_boxes_live * LB_BOX_BYTES;
    if (now < base) base = now; /* the collector freed some: growth counts from here */
    int64_t kb = (now - base) >> 10;
    if (kb >= 64) {
        base = now;
        lua_gc(L, LUA_GCSTEP, (int)(kb > (1 << 30) ? (1 << 30) : kb));
        /* A step adds debt but not heap size, so in generational mode only
         * minor collections run and old dead tensors pile up: when live
         * tensor bytes grow by 64 MiB (or a quarter) past the last full
         * collection, collect fully. A full collection costs in proportion
         * to Lua's heap, not to tensor bytes, so this stays cheap. */
        int64_t live = ml_bytes_live;
        int64_t margin = live / 4 > (64 << 20) ? live / 4 : (64 << 20);
        if (live + margin < limit) limit = live + margin; /* memory came back: tighten */
        if (live > limit) {
            lua_gc(L, LUA_GCCOLLECT);
            live = ml_bytes_live;
            limit = live + (live / 4 > (64 << 20) ? live / 4 : (64 << 20));
        }
    }
}

void lb_push_tensor(lua_State *L, ml_tensor *t) {
    if (!t) lb_raise(L);
    lb_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    lb_state *st = get_state(L);
    b->t = t;
    b->mark = st->tensor_mt;
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->ref[LB_SLOT_TENSOR_MT]);
    lua_setmetatable(L, -2);
    lb_boxes_live++;
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
    int n = ndim > 0 ? ndim : 1;
    if (d == 0) /* the 0-based habit: say what the numbering is */
        luaL_error(L, "%s: dimension 0 is out of range (dimensions are 1-based: 1..%d, or -1..-%d from the end)", fn, n, n);
    if (d < -n || d > n)
        luaL_error(L, "%s: dimension %I out of range for a tensor with %d dimension%s", fn, d, ndim, ndim == 1 ? "" : "s");
    return (int)(d < 0 ? d + n : d - 1);
}

int64_t lb_index(lua_State *L, lua_Integer i, int64_t n, int dim, const char *fn) {
    lua_Integer j = i < 0 ? i + (lua_Integer)n + 1 : i;
    if (j < 1 || j > (lua_Integer)n) {
        if (i == 0 && n > 0)
            luaL_error(L, "%s: index 0 is out of range for dimension %d of size %I (indices are 1-based: 1..%I, or -1..-%I "
                       "from the end)", fn, dim + 1, (lua_Integer)n, (lua_Integer)n, (lua_Integer)n);
        luaL_error(L, "%s: index %I is out of range for dimension %d of size %I", fn, i, dim + 1, (lua_Integer)n);
    }
    return (int64_t)(j - 1);
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
            const char *hint = ml_suggest(k, known);
            luaL_error(L, "%s: unknown option '%s' (known: %s)%s%s%s", fn, k, lua_tostring(L, -1),
                       hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
        }
    }
}

ml_dtype lb_check_dtype_name(lua_State *L, int idx, const char *fn) {
    const char *s = lua_tostring(L, idx);
    ml_dtype dt;
    if (!s || ml_dtype_from_name(s, &dt) < 0) {
        static const char *const names[] = {"float32", "float64", "int64", "bool", NULL};
        const char *hint = s ? ml_suggest(s, names) : NULL;
        luaL_error(L, "%s: unknown dtype '%s' (expected float32, float64, int64 or bool)%s%s%s", fn,
                   s ? s : luaL_typename(L, idx), hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
    }
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
        if (lua_type(L, -1) != LUA_TNUMBER) {
            const char *name = called_name(L);
            luaL_error(L, "%s: option '%s' must be a number, got %s", name ? name : "options", key, luaL_typename(L, -1));
        }
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
