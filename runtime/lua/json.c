/* ml.json: Lua values to JSON text and back.
 *
 *   ml.json.encode(v, [{indent}]) Lua value -> JSON text
 *   ml.json.decode(text)          JSON text -> Lua value
 *   ml.json.array([t]) / ml.json.object([t]) mark a table (an empty one above all) as an
 *                                 array or an object for encode; ml.json.null is JSON's null
 *
 * JSON: arrays are tables whose keys are exactly 1..n (n >= 1) or that carry
 * the array mark; tables with string keys are objects, written with sorted
 * keys so the same table always gives the same text. Lua integers are written
 * as integers and floats always with a '.' or an exponent (1.0, not 1), with
 * the fewest digits that read back to the same double, so a round trip keeps
 * both the value and the integer/float subtype. NaN and infinities, mixed
 * tables, functions and invalid UTF-8 are errors naming where they are. The
 * reader is runtime/io/json.c (strict RFC 8259); integers come back as Lua
 * integers, other numbers as floats, null as ml.json.null, and an empty JSON
 * array as an empty table with the array mark. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/utf8.h"
#include "../io/io.h"
#include "lbind.h"

/* ---- JSON: shared parts --------------------------------------------------- */

#define JSON_DEPTH 128
#define JSON_BUF_MT "moonlab.json.buffer"
#define JSON_TREE_MT "moonlab.json.tree"

/* Upvalues of encode/decode/array/object: 1 the array mark, 2 the object mark. */
#define ARRAY_MT lua_upvalueindex(1)
#define OBJECT_MT lua_upvalueindex(2)

static int json_buf_gc(lua_State *L) {
    ml_buf *b = luaL_checkudata(L, 1, JSON_BUF_MT);
    ml_buf_free(b);
    return 0;
}

static int json_tree_gc(lua_State *L) {
    ml_json **t = luaL_checkudata(L, 1, JSON_TREE_MT);
    ml_json_free(*t);
    *t = NULL;
    return 0;
}

/* ---- encode ---------------------------------------------------------------- */

typedef struct {
    lua_State *L;
    ml_buf *b;
    int indent;
    int depth;
    /* where we are, for messages: a key (string) or an index per level */
    const char *keys[JSON_DEPTH + 1];
    lua_Integer idx[JSON_DEPTH + 1];
} encoder;

/* "at key 'a'.b[3]" or "at the top level" */
static const char *where(encoder *e) {
    lua_State *L = e->L;
    if (e->depth == 0) return "at the top level";
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "at ");
    for (int i = 1; i <= e->depth; i++) {
        if (i == 9 && e->depth > 12) { /* a cycle: the start and the end are enough */
            luaL_addstring(&b, "...");
            i = e->depth - 3;
        }
        if (e->keys[i]) {
            if (i > 1) luaL_addchar(&b, '.');
            luaL_addstring(&b, e->keys[i]);
        } else {
            lua_pushfstring(L, "[%I]", e->idx[i]);
            luaL_addvalue(&b);
        }
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

static int json_error(encoder *e, const char *what) {
    return luaL_error(e->L, "ml.json.encode: %s %s", what, where(e));
}


/* NUL is refused too: the reader refuses \u0000. */
static int valid_utf8(const char *s, size_t n) { return ml_utf8_valid(s, n) && !memchr(s, 0, n); }

static void put_string(encoder *e, int idx, const char *what) {
    size_t n;
    const char *s = lua_tolstring(e->L, idx, &n);
    if (!valid_utf8(s, n)) {
        lua_pushfstring(e->L, "%s is not valid UTF-8 text (or holds a NUL byte)", what);
        json_error(e, lua_tostring(e->L, -1));
    }
    ml_json_put_string(e->b, s, n);
}

/* The fewest digits (15 to 17) that read back to v, with ".0" added when
 * the text would otherwise read as an integer (io/json.c). */
static void put_float(encoder *e, double v) {
    if (ml_json_put_float(e->b, v) < 0) json_error(e, v != v ? "NaN is not a JSON number" : "an infinity is not a JSON number");
}

static void newline(encoder *e, int level) {
    if (!e->indent) return;
    ml_buf_add(e->b, "\n", 1);
    for (int i = 0; i < level * e->indent; i++) ml_buf_add(e->b, " ", 1);
}

typedef struct {
    const char *s;
    size_t n;
} key_ref;

static int key_cmp(const void *a, const void *b) {
    const key_ref *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static void encode_value(encoder *e, int idx);

/* Mark of the table at idx: 1 array, 2 object, 0 none. */
static int table_mark(lua_State *L, int idx) {
    if (!lua_getmetatable(L, idx)) return 0;
    int m = lua_rawequal(L, -1, ARRAY_MT) ? 1 : lua_rawequal(L, -1, OBJECT_MT) ? 2 : 0;
    lua_pop(L, 1);
    return m;
}

static void encode_table(encoder *e, int idx) {
    lua_State *L = e->L;
    if (e->depth >= JSON_DEPTH) json_error(e, "tables nest deeper than 128 levels (a cycle?)");
    luaL_checkstack(L, 8, "ml.json.encode: nesting too deep");
    int mark = table_mark(L, idx);
    /* Count the keys and see what kind they are. */
    lua_Integer count = 0, max_int = 0;
    int n_str = 0, n_other = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (lua_type(L, -1) == LUA_TSTRING) n_str++;
        else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
            lua_Integer k = lua_tointeger(L, -1);
            if (k > max_int) max_int = k;
        } else n_other++;
    }
    int is_array = mark == 1 || (mark == 0 && count > 0 && n_str == 0);
    if (n_other) json_error(e, "a table key is neither a string nor a positive integer");
    if (is_array && (n_str || max_int != count))
        json_error(e, n_str ? "a table has both array items (keys 1..n) and string keys"
                            : "an array has holes (its integer keys are not exactly 1..n)");
    if (!is_array && count > n_str)
        json_error(e, mark == 2 ? "an object has integer keys" : "a table has both array items (keys 1..n) and string keys");
    int level = e->depth;
    e->depth++;
    if (is_array) {
        ml_buf_add(e->b, "[", 1);
        for (lua_Integer i = 1; i <= count; i++) {
            if (i > 1) ml_buf_add(e->b, ",", 1);
            newline(e, level + 1);
            e->keys[e->depth] = NULL;
            e->idx[e->depth] = i;
            lua_rawgeti(L, idx, i);
            encode_value(e, lua_gettop(L));
            lua_pop(L, 1);
        }
        if (count) newline(e, level);
        ml_buf_add(e->b, "]", 1);
    } else {
        key_ref *keys = lua_newuserdatauv(L, sizeof *keys * (count ? count : 1), 0); /* freed by the collector */
        int k = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            keys[k].s = lua_tolstring(L, -1, &keys[k].n); /* a string key: no conversion */
            k++;
        }
        qsort(keys, (size_t)k, sizeof *keys, key_cmp);
        ml_buf_add(e->b, "{", 1);
        for (int i = 0; i < k; i++) {
            if (i) ml_buf_add(e->b, ",", 1);
            newline(e, level + 1);
            e->keys[e->depth] = keys[i].s;
            lua_pushlstring(L, keys[i].s, keys[i].n);
            put_string(e, -1, "a key");
            ml_buf_add(e->b, e->indent ? ": " : ":", e->indent ? 2 : 1);
            lua_rawget(L, idx);
            encode_value(e, lua_gettop(L));
            lua_pop(L, 1);
        }
        if (k) newline(e, level);
        ml_buf_add(e->b, "}", 1);
        lua_pop(L, 1); /* keys */
    }
    e->depth--;
}

static void encode_value(encoder *e, int idx) {
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: ml_buf_puts(e->b, "null"); break;
    case LUA_TBOOLEAN: ml_buf_puts(e->b, lua_toboolean(L, idx) ? "true" : "false"); break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) ml_buf_printf(e->b, "%lld", (long long)lua_tointeger(L, idx));
        else put_float(e, lua_tonumber(L, idx));
        break;
    case LUA_TSTRING: put_string(e, idx, "a string"); break;
    case LUA_TTABLE: encode_table(e, idx); break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) { ml_buf_puts(e->b, "null"); break; }
        /* fall through */
    default: {
        lua_pushfstring(L, "a %s has no JSON form", luaL_typename(L, idx));
        json_error(e, lua_tostring(L, -1));
    }
    }
    if (e->b->failed) luaL_error(L, "ml.json.encode: out of memory");
}

static int l_json_encode(lua_State *L) {
    static const char *const known[] = {"indent", NULL};
    if (lua_isnone(L, 1)) return luaL_error(L, "ml.json.encode: argument #1: expected a value to encode, got no value");
    if (lua_gettop(L) > 2)
        return luaL_error(L, "ml.json.encode: takes a value and an options table, got %d arguments", lua_gettop(L));
    lb_check_options(L, 2, "ml.json.encode", known);
    int indent = 0;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "indent");
        if (lua_isboolean(L, -1)) indent = lua_toboolean(L, -1) ? 2 : 0;
        else if (!lua_isnil(L, -1)) {
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 || lua_tointeger(L, -1) > 16)
                luaL_error(L, "ml.json.encode: option 'indent' must be an integer 0..16 or a boolean");
            indent = (int)lua_tointeger(L, -1);
        }
        lua_pop(L, 1);
    }
    lua_settop(L, 1);
    ml_buf *b = lua_newuserdatauv(L, sizeof *b, 0); /* 2: freed by __gc, even on an error */
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, JSON_BUF_MT);
    encoder e;
    e.L = L;
    e.b = b;
    e.indent = indent;
    e.depth = 0;
    encode_value(&e, 1);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    ml_buf_free(b);
    return 1;
}

/* ---- decode ---------------------------------------------------------------- */

static void push_json(lua_State *L, const ml_json *v) {
    switch (v->type) {
    case ML_JSON_NULL: lua_pushlightuserdata(L, NULL); break;
    case ML_JSON_BOOL: lua_pushboolean(L, v->boolean); break;
    case ML_JSON_NUMBER:
        if (v->is_int) lua_pushinteger(L, (lua_Integer)v->integer);
        else lua_pushnumber(L, v->number);
        break;
    case ML_JSON_STRING: lua_pushlstring(L, v->string, v->len); break;
    case ML_JSON_ARRAY:
        luaL_checkstack(L, 4, "ml.json.decode: nesting too deep");
        lua_createtable(L, v->n, 0);
        for (int i = 0; i < v->n; i++) {
            push_json(L, &v->items[i]);
            lua_rawseti(L, -2, i + 1);
        }
        if (v->n == 0) {
            lua_pushvalue(L, ARRAY_MT);
            lua_setmetatable(L, -2);
        }
        break;
    case ML_JSON_OBJECT:
        luaL_checkstack(L, 4, "ml.json.decode: nesting too deep");
        lua_createtable(L, 0, v->n);
        for (int i = 0; i < v->n; i++) {
            lua_pushstring(L, v->keys[i]);
            push_json(L, &v->items[i]);
            lua_rawset(L, -3);
        }
        break;
    }
}

static int l_json_decode(lua_State *L) {
    size_t len;
    if (lua_type(L, 1) != LUA_TSTRING) /* a number is not JSON text either (Python's json.loads refuses it too) */
        return luaL_error(L, "ml.json.decode: argument #1: expected a JSON string, got %s", luaL_typename(L, 1));
    const char *s = lua_tolstring(L, 1, &len);
    if (lua_gettop(L) > 1) return luaL_error(L, "ml.json.decode: takes one string, got %d arguments", lua_gettop(L));
    ml_json **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, JSON_TREE_MT);
    char err[200];
    *box = ml_json_parse(s, len, err, sizeof err);
    if (!*box) {
        /* err is "byte K: what"; say the line and column too */
        size_t pos = 0;
        const char *msg = err;
        if (sscanf(err, "byte %zu: ", &pos) == 1 && (msg = strstr(err, ": "))) msg += 2;
        else msg = err;
        if (pos > len) pos = len;
        size_t line = 1, col = 1;
        for (size_t i = 0; i < pos; i++) {
            if (s[i] == '\n') { line++; col = 1; }
            else col++;
        }
        return luaL_error(L, "ml.json.decode: line %d, column %d (byte %d): %s", (int)line, (int)col, (int)pos, msg);
    }
    push_json(L, *box);
    ml_json_free(*box);
    *box = NULL;
    return 1;
}

/* ml.json.array([t]) / ml.json.object([t]): sets the mark, returns t (a new table when none). */
static int mark_table(lua_State *L, int which) {
    const char *fn = which == 1 ? "ml.json.array" : "ml.json.object";
    if (lua_gettop(L) > 1) return luaL_error(L, "%s: takes at most one table, got %d arguments", fn, lua_gettop(L));
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    if (!lua_istable(L, 1))
        return luaL_error(L, "%s: argument #1: expected a table (or nothing), got %s", fn, luaL_typename(L, 1));
    lua_settop(L, 1);
    if (lua_getmetatable(L, 1) && !lua_rawequal(L, -1, ARRAY_MT) && !lua_rawequal(L, -1, OBJECT_MT))
        return luaL_error(L, "%s: the table already has a metatable", fn);
    lua_settop(L, 1);
    lua_pushvalue(L, which == 1 ? ARRAY_MT : OBJECT_MT);
    lua_setmetatable(L, 1);
    return 1;
}
static int l_json_array(lua_State *L) { return mark_table(L, 1); }
static int l_json_object(lua_State *L) { return mark_table(L, 2); }

/* ---- opening --------------------------------------------------------------- */

void lb_open_json(lua_State *L) {
    int ml = 1;
    luaL_newmetatable(L, JSON_BUF_MT);
    lua_pushcfunction(L, json_buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, JSON_TREE_MT);
    lua_pushcfunction(L, json_tree_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    lua_newtable(L); /* ml.json */
    int json = lua_gettop(L);
    lua_createtable(L, 0, 1); /* the array mark */
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
    lua_createtable(L, 0, 1); /* the object mark */
    lua_pushliteral(L, "object");
    lua_setfield(L, -2, "__jsontype");
    static const luaL_Reg json_fns[] = {
        {"encode", l_json_encode},
        {"decode", l_json_decode},
        {"array", l_json_array},
        {"object", l_json_object},
        {NULL, NULL},
    };
    for (const luaL_Reg *f = json_fns; f->name; f++) {
        lua_pushvalue(L, -2);
        lua_pushvalue(L, -2);
        lua_pushcclosure(L, f->func, 2);
        lua_setfield(L, json, f->name);
    }
    lua_pop(L, 2);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, json, "null");
    static const lb_doc docs[] = {
        {"JSON", NULL},
        {"encode", "ml.json.encode(value, [{indent=0}]) -> string — JSON text; arrays are tables with keys 1..n, "
                   "objects get sorted keys, integers stay integers, floats keep a '.' (1.0)"},
        {"decode", "ml.json.decode(text) -> value — strict JSON; integers as Lua integers, null as ml.json.null; "
                   "errors give the line and column"},
        {"array", "ml.json.array([t]) -> t — marks t as a JSON array, so an empty t encodes as []"},
        {"object", "ml.json.object([t]) -> t — marks t as a JSON object, so an empty t encodes as {}"},
        {NULL, NULL},
    };
    lb_add_docs(L, json, docs);
    lua_setfield(L, ml, "json");
}
