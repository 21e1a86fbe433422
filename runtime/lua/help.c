/* Docstrings: ml.help, ml.doc and lb_add_docs.
 *
 * A store in the registry maps documented values (functions, class tables)
 * to their one-line doc, and to the title of the section they are listed
 * under; both maps have weak keys, so documenting a value never keeps it
 * alive. The C bindings fill the store with lb_add_docs(L, tidx, docs) at
 * the end of their opener; Lua code (nn, optim ...) with ml.doc(value, text).
 * A doc is keyed by the value, not the name: ml.sum and t.sum are the same
 * function and share one doc, as do aliases (ml.mm is ml.matmul).
 *
 * ml.help(x) prints and returns the doc of x, where x is a value, a name
 * ("sum", "ml.sum", "Tensor.sum", "t:sum", "nn.Linear"), a tensor or
 * ml.Tensor (the tensor methods, by section), ml itself or nothing (an
 * overview). ml.help and ml.doc close over the ml table and the tensor
 * method table (upvalues 1 and 2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbind.h"

#define WRAP 78 /* listing width */

static char store_key;

/* Pushes the store {docs = {[v] = doc}, sections = {[v] = title},
 * titles = {title1, ..., [title] = rank}}, made on first use. */
static int push_store(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &store_key) == LUA_TTABLE) return lua_gettop(L);
    lua_pop(L, 1);
    lua_createtable(L, 0, 3);
    for (int i = 0; i < 2; i++) {
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_setfield(L, -2, i ? "sections" : "docs");
    }
    lua_newtable(L);
    lua_setfield(L, -2, "titles");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &store_key);
    return lua_gettop(L);
}

/* Pushes store[field]. */
static int push_store_field(lua_State *L, const char *field) {
    int s = push_store(L);
    lua_getfield(L, s, field);
    lua_remove(L, s);
    return lua_gettop(L);
}

static int documentable(lua_State *L, int idx) {
    int t = lua_type(L, idx);
    return t == LUA_TFUNCTION || t == LUA_TTABLE || t == LUA_TUSERDATA;
}

void lb_add_docs(lua_State *L, int tidx, const lb_doc *docs) {
    tidx = lua_absindex(L, tidx);
    int top = lua_gettop(L);
    int store = push_store(L);
    lua_getfield(L, store, "docs");
    lua_getfield(L, store, "sections");
    lua_getfield(L, store, "titles");
    int d = store + 1, s = store + 2, titles = store + 3;
    const char *section = NULL;
    for (; docs->name; docs++) {
        if (!docs->doc) { /* a section heading */
            section = docs->name;
            if (lua_getfield(L, titles, section) == LUA_TNIL) {
                lua_Integer rank = (lua_Integer)lua_rawlen(L, titles) + 1;
                lua_pushstring(L, section);
                lua_rawseti(L, titles, rank);
                lua_pushinteger(L, rank);
                lua_setfield(L, titles, section);
            }
            lua_pop(L, 1);
            continue;
        }
        lua_pushstring(L, docs->name);
        lua_rawget(L, tidx);
        if (!documentable(L, -1)) luaL_error(L, "lb_add_docs: no function '%s' to document", docs->name);
        lua_pushvalue(L, -1);
        lua_pushstring(L, docs->doc);
        lua_rawset(L, d);
        if (section) {
            lua_pushstring(L, section);
            lua_rawset(L, s);
        } else lua_pop(L, 1);
    }
    lua_settop(L, top);
}

/* The doc of the value at idx, or NULL. A table without its own doc takes
 * its class's: the __index chain of its metatables (an instance of nn.Linear
 * answers with nn.Linear's doc). The string stays anchored in the store. */
static const char *doc_of(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    int top = lua_gettop(L);
    int docs = push_store_field(L, "docs");
    const char *r = NULL;
    lua_pushvalue(L, idx);
    for (int depth = 0; depth < 8 && documentable(L, -1); depth++) {
        lua_pushvalue(L, -1);
        if (lua_rawget(L, docs) == LUA_TSTRING) {
            r = lua_tostring(L, -1);
            break;
        }
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TTABLE || !lua_getmetatable(L, -1)) break;
        lua_pushliteral(L, "__index");
        lua_rawget(L, -2);
        lua_remove(L, -2);
    }
    lua_settop(L, top);
    return r;
}

/* ---- names ----------------------------------------------------------- */

/* Pushes the value at the dotted path p (length n) from the value at base,
 * or nil. Indexing is ordinary (ml's lazy modules load, class chains are
 * followed); only tables and userdata are indexed. May raise. */
static void walk(lua_State *L, int base, const char *p, size_t n) {
    lua_pushvalue(L, base);
    while (n > 0) {
        size_t k = 0;
        while (k < n && p[k] != '.') k++;
        int t = lua_type(L, -1);
        if (k == 0 || (t != LUA_TTABLE && t != LUA_TUSERDATA)) {
            lua_pop(L, 1);
            lua_pushnil(L);
            return;
        }
        lua_pushlstring(L, p, k);
        lua_gettable(L, -2);
        lua_remove(L, -2);
        p += k;
        n -= k;
        if (n > 0) { p++; n--; }
        if (n == 0 && p[-1] == '.') { lua_pop(L, 1); lua_pushnil(L); return; } /* "ml." */
    }
}

/* Keeps the value on top when it is the first documented candidate, or the
 * first non-nil one (at *found, 0 if none yet); returns whether it is done. */
static int candidate(lua_State *L, int *found, int *documented) {
    if (lua_isnil(L, -1)) { lua_pop(L, 1); return 0; }
    int doc = doc_of(L, -1) != NULL;
    if (doc && !*documented) {
        if (*found) lua_remove(L, *found);
        *found = lua_gettop(L);
        *documented = 1;
        return 1;
    }
    if (!*found) *found = lua_gettop(L);
    else lua_pop(L, 1);
    return 0;
}

/* ---- the name index ------------------------------------------------------
 * For the names people type without their module: "fit", "Linear",
 * "CrossEntropyLoss", "model:fit", "Linear.forward". It walks ml, the Lua
 * modules of the library (every moonlab/NAME.lua or NAME/init.lua beside
 * package.moonlab_lualib that loads into a documented table; cli/ aside),
 * their documented tables (classes, nn.init ...) and the classes' method
 * chains. It walks tables, not file names, so a module reorganised into
 * folders is still found. Written in Lua (walking tables is its strength),
 * compiled once; index.find(ml, doc, name), index.modules(ml, doc),
 * index.label(ml, doc, value). */
static const char index_lua[] =
    "local M = {}\n"
    "local function safe(doc) -- doc of values only: a string would be looked up as a name\n"
    "  return function(v) local t = type(v); if t == 'table' or t == 'function' then return doc(v) end end\n"
    "end\n"
    "local function names(t)\n"
    "  local out = {}\n"
    "  for k in pairs(t) do if type(k) == 'string' and k:sub(1, 1) ~= '_' then out[#out + 1] = k end end\n"
    "  table.sort(out)\n"
    "  return out\n"
    "end\n"
    "function M.modules(ml, doc)\n"
    "  doc = safe(doc)\n"
    "  local out, seen = {}, {}\n"
    "  local ok, lfs = pcall(require, 'lfs')\n"
    "  local root = package.moonlab_lualib\n"
    "  if ok and root then\n"
    "    local dir = root .. '/moonlab'\n"
    "    if lfs.attributes(dir, 'mode') == 'directory' then\n"
    "      for f in lfs.dir(dir) do\n"
    "        local n = f:match('^([%a_][%w_]*)%.lua$')\n"
    "        if not n and f:match('^[%a_][%w_]*$') and lfs.attributes(dir .. '/' .. f .. '/init.lua', 'mode') then n = f end\n"
    "        if n and n ~= 'cli' and not seen[n] then\n"
    "          seen[n] = true\n"
    "          local okm, m = pcall(function() return ml[n] end)\n"
    "          if okm and type(m) == 'table' and doc(m) then out[#out + 1] = {name = n, value = m} end\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  -- tables of ml itself (ml.json ...): documented, or holding documented functions\n"
    "  for _, k in ipairs(names(ml)) do\n"
    "    local v = rawget(ml, k)\n"
    "    if not seen[k] and type(v) == 'table' and v ~= ml.Tensor then\n"
    "      local fns = {}\n"
    "      for _, f in ipairs(names(v)) do if type(v[f]) == 'function' and doc(v[f]) then fns[#fns + 1] = f end end\n"
    "      if doc(v) or #fns > 0 then out[#out + 1] = {name = k, value = v, fns = fns} end\n"
    "    end\n"
    "  end\n"
    "  table.sort(out, function(a, b) return a.name < b.name end)\n"
    "  for _, e in ipairs(out) do\n"
    "    e.summary = doc(e.value) or ('ml.' .. e.name .. ' — ' .. table.concat(e.fns or {}, ', '))\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "-- {qualified name, value} of every documented table under the modules, two levels deep\n"
    "local function tables(ml, doc)\n"
    "  local out = {}\n"
    "  for _, m in ipairs(M.modules(ml, doc)) do\n"
    "    out[#out + 1] = {name = m.name, value = m.value}\n"
    "    for _, k in ipairs(names(m.value)) do\n"
    "      local v = rawget(m.value, k)\n"
    "      if type(v) == 'table' and k ~= 'super' and doc(v) then\n"
    "        out[#out + 1] = {name = m.name .. '.' .. k, value = v, short = k}\n"
    "        for _, k2 in ipairs(names(v)) do\n"
    "          local v2 = rawget(v, k2)\n"
    "          if type(v2) == 'table' and k2 ~= 'super' and doc(v2) then\n"
    "            out[#out + 1] = {name = m.name .. '.' .. k .. '.' .. k2, value = v2, short = k2}\n"
    "          end\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "-- field k of t along its class chain (raw), or nil\n"
    "local function member(t, k)\n"
    "  for _ = 1, 8 do\n"
    "    if type(t) ~= 'table' then return nil end\n"
    "    local v = rawget(t, k)\n"
    "    if v ~= nil then return v end\n"
    "    local mt = getmetatable(t)\n"
    "    t = mt and rawget(mt, '__index')\n"
    "  end\n"
    "end\n"
    "-- a bare name: a table named so, then a field of a module or table, then a method;\n"
    "-- the modules in the order people meet them (?fit is the network's fit, not an estimator's)\n"
    "local FIRST = {nn = 1, optim = 2, data = 3, callbacks = 4, train = 5, prep = 6, metrics = 7}\n"
    "local function bare(ml, doc, n)\n"
    "  local all = tables(ml, doc)\n"
    "  for i, e in ipairs(all) do e.order = i end\n"
    "  local function rank(e) return FIRST[e.name:match('^[^.]+')] or 99 end\n"
    "  table.sort(all, function(a, b) local ra, rb = rank(a), rank(b); if ra ~= rb then return ra < rb end; return a.order < b.order end)\n"
    "  for _, e in ipairs(all) do if (e.short or e.name) == n then return e.value end end\n"
    "  for _, e in ipairs(all) do\n"
    "    local v = rawget(e.value, n)\n"
    "    if v ~= nil and doc(v) then return v end\n"
    "  end\n"
    "  for _, e in ipairs(all) do\n"
    "    local v = member(e.value, n)\n"
    "    if v ~= nil and doc(v) then return v end\n"
    "  end\n"
    "end\n"
    "function M.find(ml, doc, name)\n"
    "  doc = safe(doc)\n"
    "  local head, rest = name:match('^([%a_][%w_]*)(.*)$')\n"
    "  if not head then return nil end\n"
    "  local v = bare(ml, doc, head)\n"
    "  for sep, k in rest:gmatch('([.:])([%a_][%w_]*)') do\n"
    "    if v == nil then\n"
    "      if sep == ':' then v = bare(ml, doc, k) end -- x:fit with no x: the method fit\n"
    "    else v = member(v, k) end\n"
    "  end\n"
    "  if v ~= nil and doc(v) then return v end\n"
    "end\n"
    "-- the documented name closest to a misspelt one (its last part: ?nn.Lineer -> nn.Linear), or nil\n"
    "function M.suggest(ml, doc, name)\n"
    "  doc = safe(doc)\n"
    "  local ok, checks = pcall(require, 'moonlab.core.checks')\n"
    "  local head, last = name:match('^(.-)([%a_][%w_]*)$')\n"
    "  if not ok or not last then return nil end\n"
    "  local cands, seen = {}, {}\n"
    "  local function add(k) if not seen[k] then seen[k] = true; cands[#cands + 1] = k end end\n"
    "  for _, k in ipairs(names(ml)) do if doc(rawget(ml, k)) then add(k) end end\n"
    "  for _, e in ipairs(tables(ml, doc)) do\n"
    "    add(e.short or e.name)\n"
    "    for _, k in ipairs(names(e.value)) do if doc(rawget(e.value, k)) then add(k) end end\n"
    "  end\n"
    "  local s = checks.suggest(last, cands)\n"
    "  if s and s ~= last then return head .. s end\n"
    "end\n"
    "function M.label(ml, doc, value)\n"
    "  doc = safe(doc)\n"
    "  for _, e in ipairs(tables(ml, doc)) do if e.value == value then return e.name end end\n"
    "end\n"
    "return M\n";

static char index_key;

/* Pushes index[fn] (compiled on first use), or nil when it fails to load. */
static void push_index_fn(lua_State *L, const char *fn) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &index_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        if (luaL_loadbuffer(L, index_lua, sizeof index_lua - 1, "=(help index)") != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
            lua_pop(L, 1);
            lua_pushnil(L);
            return;
        }
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &index_key);
    }
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
}

static int l_doc(lua_State *L);

/* Calls index[fn](ml, ml.doc, arg at idx or nothing) in protected mode;
 * pushes its result, or nil on failure. Needs upvalues ml and methods. */
static void call_index(lua_State *L, const char *fn, int idx) {
    if (idx) idx = lua_absindex(L, idx);
    push_index_fn(L, fn);
    if (lua_isnil(L, -1)) return;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushcclosure(L, l_doc, 2);
    if (idx) lua_pushvalue(L, idx);
    if (lua_pcall(L, idx ? 3 : 2, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

/* resolve(name) -> value | nil, with upvalues ml and methods; called in
 * protected mode (walking may load modules, which may fail).
 *   "x:name"    x (a global path, or under ml) then its field name, else the
 *               tensor method name ("t:sum" when there is no t)
 *   "a.b.c"     from the globals, from ml ("ml." dropped, or as given:
 *               "Tensor.sum", "nn.Linear"), then a tensor method ("sum")
 * The first candidate with a doc wins, else the first that exists. */
static int l_resolve(lua_State *L) {
    size_t n;
    const char *name = luaL_checklstring(L, 1, &n);
    int ml = lua_upvalueindex(1), methods = lua_upvalueindex(2);
    lua_pushglobaltable(L);
    int G = lua_gettop(L);
    int found = 0, documented = 0;
    const char *colon = memchr(name, ':', n);
    const char *path = name;
    size_t plen = n;
    const char *method = NULL;
    if (colon) {
        path = name;
        plen = (size_t)(colon - name);
        method = colon + 1;
        if (memchr(method, ':', n - plen - 1)) return 0;
    }
    int bases[2] = {G, ml};
    for (int i = 0; i < 2; i++) {
        const char *p = path;
        size_t len = plen;
        if (i == 1 && len >= 3 && memcmp(p, "ml.", 3) == 0) { p += 3; len -= 3; }
        if (len == 0) continue;
        walk(L, bases[i], p, len);
        if (method) {
            int t = lua_type(L, -1);
            if (t == LUA_TTABLE || t == LUA_TUSERDATA) lua_getfield(L, -1, method);
            else lua_pushnil(L);
            lua_remove(L, -2);
        }
        if (candidate(L, &found, &documented)) break;
    }
    if (!documented) {
        const char *m = method ? method : (memchr(name, '.', n) ? NULL : name);
        if (m && *m) {
            lua_getfield(L, methods, m);
            candidate(L, &found, &documented);
        }
    }
    if (!documented) { /* the library's names, by the name people type */
        call_index(L, "find", 1);
        candidate(L, &found, &documented);
    }
    if (!found) return 0;
    lua_pushvalue(L, found);
    return 1;
}

/* Pushes the value the name at idx stands for, or nil (errors while walking count as not found). */
static void resolve(lua_State *L, int idx) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushcclosure(L, l_resolve, 2);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

/* Pushes a name for the value at idx: "ml.zeros", "Tensor.sum", a global's
 * name, else tostring. */
static void push_label(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) { lua_pushvalue(L, idx); return; }
    const char *prefix[3] = {"ml.", "Tensor.", ""};
    lua_pushglobaltable(L);
    int tables[3] = {lua_upvalueindex(1), lua_upvalueindex(2), lua_gettop(L)};
    for (int i = 0; i < 3; i++) {
        lua_pushnil(L);
        while (lua_next(L, tables[i])) {
            if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, idx)) {
                lua_pop(L, 1);
                lua_pushstring(L, prefix[i]);
                lua_insert(L, -2);
                lua_concat(L, 2);
                lua_remove(L, tables[2]);
                return;
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    luaL_tolstring(L, idx, NULL);
}

/* ---- text ------------------------------------------------------------- */

/* Text is built as a list of pieces in a Lua table (a luaL_Buffer needs the
 * top of the stack, which the listings use), joined at the end. */
typedef struct {
    lua_State *L;
    int t;        /* the table of pieces */
    lua_Integer n;
} text;

static text text_new(lua_State *L) {
    lua_newtable(L);
    return (text){L, lua_gettop(L), 0};
}

static void add(text *x, const char *s) {
    lua_pushstring(x->L, s);
    lua_rawseti(x->L, x->t, ++x->n);
}

/* Replaces the table of pieces by their concatenation. */
static void text_push(text *x) {
    lua_State *L = x->L;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (lua_Integer i = 1; i <= x->n; i++) {
        lua_rawgeti(L, x->t, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_replace(L, x->t);
    lua_settop(L, x->t);
}

/* ---- listings -------------------------------------------------------- */

typedef struct {
    lua_Integer rank;
    const char *name;
} entry;

static int cmp_entry(const void *pa, const void *pb) {
    const entry *a = pa, *b = pb;
    if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* key at -2, value at -1: a string key without a leading "_" and a function
 * (or, with tables, a table) */
static int is_public_fn(lua_State *L, int tables) {
    int t = lua_type(L, -1);
    return lua_type(L, -2) == LUA_TSTRING && (t == LUA_TFUNCTION || (tables && t == LUA_TTABLE)) &&
           lua_tostring(L, -2)[0] != '_';
}

/* Collects the public functions (string key, no leading "_"; with tables,
 * the public tables too) of table t, sorted by section rank (by_section)
 * then name, into a userdata pushed on the stack. The names stay anchored as
 * keys of t. */
static entry *collect(lua_State *L, int t, int by_section, int tables, int *count) {
    t = lua_absindex(L, t);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        n += is_public_fn(L, tables);
        lua_pop(L, 1);
    }
    int sections = push_store_field(L, "sections");
    int titles = push_store_field(L, "titles");
    entry *e = lua_newuserdatauv(L, sizeof *e * (size_t)(n ? n : 1), 0);
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (is_public_fn(L, tables) && k < n) {
            e[k].name = lua_tostring(L, -2);
            e[k].rank = LUA_MAXINTEGER; /* "Other" */
            if (by_section && lua_rawget(L, sections) == LUA_TSTRING && lua_rawget(L, titles) == LUA_TNUMBER)
                e[k].rank = lua_tointeger(L, -1);
            k++;
        }
        lua_settop(L, titles + 2); /* the userdata and the key */
    }
    qsort(e, (size_t)k, sizeof *e, cmp_entry);
    lua_replace(L, sections);
    lua_settop(L, sections);
    *count = k;
    return e;
}

/* Adds the functions of table t, one section per line, wrapped:
 *   "  Reductions: argmax argmin cumsum ..." */
static void add_grouped(text *x, int t) {
    lua_State *L = x->L;
    int n;
    t = lua_absindex(L, t);
    entry *e = collect(L, t, 1, 0, &n);
    int anchor = lua_gettop(L);
    int titles = push_store_field(L, "titles");
    size_t col = 0;
    for (int i = 0; i < n; i++) {
        if (i == 0 || e[i].rank != e[i - 1].rank) {
            const char *title = "Other";
            if (e[i].rank != LUA_MAXINTEGER && lua_rawgeti(L, titles, e[i].rank) == LUA_TSTRING) title = lua_tostring(L, -1);
            lua_pushfstring(L, "%s  %s:", i ? "\n" : "", title);
            lua_rawseti(L, x->t, ++x->n);
            col = 3 + strlen(title);
            lua_settop(L, titles);
        }
        size_t len = strlen(e[i].name);
        if (col + 1 + len > WRAP) {
            add(x, "\n   ");
            col = 3;
        }
        add(x, " ");
        add(x, e[i].name);
        col += 1 + len;
    }
    if (n) add(x, "\n");
    lua_settop(L, anchor - 1);
}

/* Whether the value at idx has a doc of its own (not only its class's). */
static int has_own_doc(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    int docs = push_store_field(L, "docs");
    lua_pushvalue(L, idx);
    int r = lua_rawget(L, docs) == LUA_TSTRING;
    lua_pop(L, 2);
    return r;
}

/* Pushes {name = value} of what the help of table t lists: its public
 * functions and its public tables that have a doc of their own (a module's
 * classes and submodules; not "super", a class's parent), then those of its
 * classes, up the __index chain of its metatables (an instance lists its
 * class's methods, a class its inherited ones). For each name the first
 * documented value wins, so an undocumented override shows the base doc.
 * With own_only (a class), only the names t itself defines (their docs
 * still come from up the chain). The chain stops at ml, the tensor methods
 * and the globals. */
static void push_members(lua_State *L, int t, int own_only) {
    t = lua_absindex(L, t);
    lua_newtable(L);
    int out = lua_gettop(L);
    lua_pushglobaltable(L);
    int G = lua_gettop(L);
    lua_pushvalue(L, t);
    for (int depth = 0; depth < 8 && lua_type(L, -1) == LUA_TTABLE; depth++) {
        int cur = lua_gettop(L);
        if (depth > 0 && (lua_rawequal(L, cur, lua_upvalueindex(1)) || lua_rawequal(L, cur, lua_upvalueindex(2)) ||
                          lua_rawequal(L, cur, G)))
            break;
        lua_pushnil(L);
        while (lua_next(L, cur)) {
            int ok = is_public_fn(L, 1);
            if (ok && lua_type(L, -1) == LUA_TTABLE)
                ok = strcmp(lua_tostring(L, -2), "super") != 0 && has_own_doc(L, -1);
            if (ok) {
                lua_pushvalue(L, -2);
                int have = lua_rawget(L, out) != LUA_TNIL;
                int replace = (!have && !(own_only && depth > 0)) || (have && doc_of(L, -1) == NULL && doc_of(L, -2) != NULL);
                lua_pop(L, 1);
                if (replace) {
                    lua_pushvalue(L, -2);
                    lua_pushvalue(L, -2);
                    lua_rawset(L, out);
                }
            }
            lua_pop(L, 1);
        }
        if (!lua_getmetatable(L, cur)) break;
        lua_pushliteral(L, "__index");
        lua_rawget(L, -2);
        lua_replace(L, cur);
        lua_settop(L, cur);
    }
    lua_settop(L, out);
}

/* Adds the docs of the documented members of table t (push_members), sorted
 * by name, one per line after indent, an alias (a value met under an earlier
 * name) once; returns how many. */
static int add_member_docs(text *x, int t, const char *indent, int own_only) {
    lua_State *L = x->L;
    int n, added = 0;
    push_members(L, t, own_only);
    t = lua_gettop(L);
    entry *e = collect(L, t, 0, 1, &n);
    lua_newtable(L); /* the values listed */
    int seen = lua_gettop(L);
    for (int i = 0; i < n; i++) {
        lua_getfield(L, t, e[i].name);
        const char *d = doc_of(L, -1);
        lua_pushvalue(L, -1);
        if (d && lua_rawget(L, seen) == LUA_TNIL) {
            add(x, indent);
            add(x, d);
            add(x, "\n");
            added++;
            lua_pushvalue(L, -2);
            lua_pushboolean(L, 1);
            lua_rawset(L, seen);
        }
        lua_settop(L, seen);
    }
    lua_settop(L, t - 1); /* the members, the entries and the values listed */
    return added;
}

static void push_overview(lua_State *L) {
    text x = text_new(L);
    lua_getfield(L, lua_upvalueindex(1), "version");
    const char *v = lua_tostring(L, -1);
    lua_pushfstring(L, "moonlab %s: tensors, autograd and machine learning from Lua.\n", v ? v : "");
    lua_rawseti(L, x.t, ++x.n);
    lua_pop(L, 1);
    add(&x, "ml.help(x) prints the doc of x: a function (ml.help(ml.zeros)), a name (ml.help(\"sum\"),\n"
            "\"ml.zeros\", \"Tensor.sum\", \"t:sum\"), a tensor or ml.Tensor (the tensor methods), or a\n"
            "module (its documented functions). In the REPL: ?ml.zeros, ?sum, ?x:sum.\n"
            "ml.doc(f, \"text\") documents a Lua function or class.\n"
            "Dimensions and indices are 1-based; negative ones count from the end.\n"
            "Most tensor methods are also functions: t:sum(2) is ml.sum(t, 2).\n\n"
            "ml functions:\n");
    add_grouped(&x, lua_upvalueindex(1));
    add(&x, "\nTensor methods: ml.help(ml.Tensor)\n");
    /* the modules of the Lua library, loaded to read their docs */
    call_index(L, "modules", 0);
    if (lua_istable(L, -1) && lua_rawlen(L, -1) > 0) {
        int mods = lua_gettop(L);
        add(&x, "\nModules (ml.NAME; ?NAME for one):\n");
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, mods); i++) {
            lua_rawgeti(L, mods, i);
            lua_getfield(L, -1, "summary");
            lua_pushfstring(L, "  %s\n", lua_tostring(L, -1));
            lua_rawseti(L, x.t, ++x.n);
            lua_settop(L, mods);
        }
    }
    lua_settop(L, x.t);
    text_push(&x);
}

static void push_tensor_summary(lua_State *L) {
    text x = text_new(L);
    add(&x, "Tensor methods (ml.help(\"name\") for one; most are also ml.name(t, ...)):\n");
    add_grouped(&x, lua_upvalueindex(2));
    add(&x, "Also: + - * / ^ and unary -, t[i], t[i] = v, #t, tostring(t), the fields t.grad and t.grad_fn\n");
    text_push(&x);
}

/* Pushes the help text of the value at idx, or nil when it has none. */
static void push_help(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_isnoneornil(L, idx) || lua_rawequal(L, idx, lua_upvalueindex(1))) { push_overview(L); return; }
    if (lb_test_tensor(L, idx) || lua_rawequal(L, idx, lua_upvalueindex(2))) { push_tensor_summary(L); return; }
    const char *d = documentable(L, idx) ? doc_of(L, idx) : NULL;
    text x = text_new(L);
    if (d) {
        add(&x, d);
        add(&x, "\n");
    }
    /* then the documented members: a module's or class's functions, an object's methods */
    int members = 0;
    if (lua_type(L, idx) == LUA_TTABLE) {
        /* A class (a documented table with a parent class) lists what it
         * defines and names its parent, not every inherited method. */
        int parent = 0;
        if (has_own_doc(L, idx) && lua_getmetatable(L, idx)) {
            lua_pushliteral(L, "__index");
            if (lua_rawget(L, -2) == LUA_TTABLE && doc_of(L, -1) && !lua_rawequal(L, -1, lua_upvalueindex(1)) &&
                !lua_rawequal(L, -1, lua_upvalueindex(2)))
                parent = lua_gettop(L);
            else lua_pop(L, 2);
        }
        members = add_member_docs(&x, idx, d ? "  " : "", parent != 0);
        if (parent) {
            call_index(L, "label", parent);
            if (!lua_isstring(L, -1)) { lua_pop(L, 1); push_label(L, parent); }
            lua_pushfstring(L, "  (and the methods of %s: ?%s)\n", lua_tostring(L, -1), lua_tostring(L, -1));
            lua_rawseti(L, x.t, ++x.n);
            lua_settop(L, x.t);
            members++;
        }
    } else if (lua_type(L, idx) == LUA_TUSERDATA) {
        if (luaL_getmetafield(L, idx, "methods") == LUA_TTABLE) {
            int t = lua_gettop(L);
            const char *nm = luaL_getmetafield(L, idx, "__name") == LUA_TSTRING ? lua_tostring(L, -1) : "object";
        if (!strncmp(nm, "moonlab.", 8)) nm += 8;
            lua_pushfstring(L, "%s methods:\n", nm);
            lua_rawseti(L, x.t, ++x.n);
            members = add_member_docs(&x, t, "  ", 0);
        }
        lua_settop(L, x.t);
    }
    if (!d && !members) {
        lua_pushnil(L);
        lua_replace(L, x.t);
        return;
    }
    text_push(&x);
}

/* ml.help([x]) -> text | nil: prints the text (or that there is none) and returns it */
static int l_help(lua_State *L) {
    int none = lua_isnone(L, 1);
    lua_settop(L, 1);
    if (lua_type(L, 1) == LUA_TSTRING) resolve(L, 1);
    else lua_pushvalue(L, 1);
    /* 2: the value; a name that stands for nothing has no help */
    if (lua_isnil(L, 2) && !none && !lua_isnil(L, 1)) lua_pushnil(L);
    else push_help(L, 2);
    int txt = lua_gettop(L); /* the result: the text, or nil */
    if (lua_isnil(L, txt)) {
        push_label(L, 1);
        if (lua_type(L, 1) == LUA_TSTRING) call_index(L, "suggest", 1); /* a close documented name, or nil */
        else lua_pushnil(L);
        const char *hint = lua_tostring(L, -1);
        if (hint) lua_pushfstring(L, "ml.help: no help for '%s'; did you mean '%s'?", lua_tostring(L, -2), hint);
        else lua_pushfstring(L, "ml.help: no help for '%s'", lua_tostring(L, -2));
        lua_remove(L, -2);
        lua_remove(L, -2);
    } else { /* without the final newline: print adds one */
        size_t len;
        const char *s = lua_tolstring(L, txt, &len);
        lua_pushlstring(L, s, len && s[len - 1] == '\n' ? len - 1 : len);
        lua_replace(L, txt);
        lua_pushvalue(L, txt);
    }
    if (lua_getglobal(L, "print") == LUA_TFUNCTION) {
        lua_pushvalue(L, -2);
        lua_call(L, 1, 0);
    } else {
        lua_pop(L, 1);
        fprintf(stdout, "%s\n", lua_tostring(L, -1));
        fflush(stdout);
    }
    lua_pushvalue(L, txt);
    return 1;
}

/* ml.doc(value, text) -> value: documents a function or table (a class, a
 * module); ml.doc(x) -> the doc of x (a value or a name, as ml.help) or nil. */
static int l_doc(lua_State *L) {
    if (lua_gettop(L) >= 2) {
        if (!documentable(L, 1) || lb_test_tensor(L, 1))
            return luaL_error(L, "ml.doc: argument #1: expected a function or a table, got %s", luaL_typename(L, 1));
        if (lua_type(L, 2) != LUA_TSTRING)
            return luaL_error(L, "ml.doc: argument #2: expected a doc string, got %s", luaL_typename(L, 2));
        int docs = push_store_field(L, "docs");
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
        lua_rawset(L, docs);
        lua_settop(L, 1);
        return 1;
    }
    lua_settop(L, 1);
    if (lua_type(L, 1) == LUA_TSTRING) resolve(L, 1);
    else lua_pushvalue(L, 1);
    const char *d = documentable(L, 2) ? doc_of(L, 2) : NULL;
    if (d) lua_pushstring(L, d);
    else lua_pushnil(L);
    return 1;
}

void lb_open_help(lua_State *L) {
    static const luaL_Reg fns[] = {{"help", l_help}, {"doc", l_doc}, {NULL, NULL}};
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
        lua_pushcclosure(L, f->func, 2);
        lua_setfield(L, 1, f->name);
    }
    static const lb_doc docs[] = {
        {"Help", NULL},
        {"help", "ml.help([x]) -> string|nil — prints and returns the doc of x: a function, a name (\"sum\", "
                 "\"ml.zeros\", \"t:sum\"), a tensor (its methods), a module; no argument: an overview"},
        {"doc", "ml.doc(f, text) -> f — documents a Lua function or table (class, module) for ml.help; "
                "ml.doc(x) -> the doc of x or nil"},
        {NULL, NULL},
    };
    lb_add_docs(L, 1, docs);
}
