/* ml._csv: the CSV reader and writer (runtime/io/csv.c) behind
 * lualib/moonlab/data/csv.lua, which holds the policy (options, names,
 * usecols and dtypes by name, frames).
 *
 *   open(path, {delimiter, comment, header = 1|0|-1, skiprows, na_values, default_na,
 *               on_bad = "error"|"skip"|"warn", streaming})   -> reader
 *   reader:info()                     -> {delimiter =, header = bool, fields = {first record's fields}}
 *   reader:select(sel, kinds, names)  sel: 1-based field numbers (ascending); kinds: "auto", "int64",
 *                                     "float64", "bool", "date", "datetime", "string"
 *   reader:next(maxrows)              -> nil at the end, or {nrows =, skipped =, bad = {messages},
 *                                        columns = {{kind =, values =, valid =, pool =, mixed =, majority =}, ...}}
 *   reader:close()                    also __gc and __close
 *   write(path, names, columns, nrows, {delimiter, header, na_rep}); columns as next's
 *   classify(s) -> kind name; format_double(x) -> text */
#include <string.h>

#include "../io/csv.h"
#include "lbind.h"

#define LB_CSV_MT "moonlab.CsvReader"
#define RFN "data.read_csv"

typedef struct { ml_csv_reader *r; } lb_csv;

static ml_csv_reader *check_reader(lua_State *L) {
    lb_csv *b = luaL_checkudata(L, 1, LB_CSV_MT);
    if (!b->r) luaL_error(L, RFN ": the reader was closed");
    return b->r;
}

static int c_close(lua_State *L) {
    lb_csv *b = luaL_checkudata(L, 1, LB_CSV_MT);
    ml_csv_close(b->r);
    b->r = NULL;
    return 0;
}

static const char *opt_string(lua_State *L, int idx, const char *key) {
    lua_getfield(L, idx, key);
    const char *s = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1); /* the string stays alive in the options table */
    return s;
}

static lua_Integer opt_int(lua_State *L, int idx, const char *key, lua_Integer def) {
    lua_getfield(L, idx, key);
    lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

static int c_open(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    ml_csv_options o = {0};
    const char *d = opt_string(L, 2, "delimiter"), *c = opt_string(L, 2, "comment"), *bad = opt_string(L, 2, "on_bad");
    o.delimiter = d ? d[0] : 0;
    o.comment = c ? c[0] : 0;
    const char *dec = opt_string(L, 2, "decimal");
    o.decimal = dec ? dec[0] : 0;
    o.header = (int)opt_int(L, 2, "header", 1);
    o.skiprows = opt_int(L, 2, "skiprows", 0);
    o.default_na = lb_opt_bool_field(L, 2, "default_na", 1);
    o.streaming = lb_opt_bool_field(L, 2, "streaming", 0);
    o.on_bad = !bad || !strcmp(bad, "error") ? ML_CSV_BAD_ERROR : !strcmp(bad, "skip") ? ML_CSV_BAD_SKIP : ML_CSV_BAD_WARN;
    lua_getfield(L, 2, "na_values");
    int nna = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
    const char **na = lua_newuserdatauv(L, sizeof(char *) * (size_t)(nna + 1), 0); /* freed by the collector */
    for (int k = 0; k < nna; k++) {
        lua_rawgeti(L, -2, k + 1);
        if (!lua_isstring(L, -1)) luaL_error(L, RFN ": na_values[%d] is a %s, expected a string", k + 1, luaL_typename(L, -1));
        na[k] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    o.na_values = na;
    o.n_na = nna;
    lb_csv *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->r = NULL;
    luaL_setmetatable(L, LB_CSV_MT);
    if (!(b->r = ml_csv_open(path, &o))) lb_raise(L);
    return 1;
}

static int c_info(lua_State *L) {
    ml_csv_reader *r = check_reader(L);
    lua_createtable(L, 0, 3);
    char d[2] = {ml_csv_delimiter(r), 0};
    lua_pushstring(L, d);
    lua_setfield(L, -2, "delimiter");
    lua_pushboolean(L, ml_csv_has_header(r));
    lua_setfield(L, -2, "header");
    const char *const *f;
    int n = ml_csv_first_fields(r, &f);
    lua_createtable(L, n, 0);
    for (int k = 0; k < n; k++) {
        lua_pushstring(L, f[k]);
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "fields");
    return 1;
}

static ml_csv_kind kind_from_name(lua_State *L, const char *s) {
    for (int k = 0; k < ML_CSV_NKINDS; k++)
        if (!strcmp(s, ml_csv_kind_name((ml_csv_kind)k))) return (ml_csv_kind)k;
    return (ml_csv_kind)luaL_error(L, RFN ": unknown column kind '%s'", s);
}

static int c_select(lua_State *L) {
    ml_csv_reader *r = check_reader(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 2);
    int *sel = lua_newuserdatauv(L, sizeof(int) * (size_t)(n + 1), 0);
    ml_csv_kind *kinds = lua_newuserdatauv(L, sizeof(ml_csv_kind) * (size_t)(n + 1), 0);
    const char **names = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
    for (int k = 0; k < n; k++) {
        lua_rawgeti(L, 2, k + 1);
        sel[k] = (int)luaL_checkinteger(L, -1) - 1;
        lua_rawgeti(L, 3, k + 1);
        kinds[k] = kind_from_name(L, luaL_checkstring(L, -1));
        lua_rawgeti(L, 4, k + 1);
        names[k] = luaL_checkstring(L, -1); /* alive in the names table */
        lua_pop(L, 3);
    }
    if (ml_csv_select(r, n, sel, kinds, names) < 0) lb_raise(L);
    return 0;
}

static void push_column(lua_State *L, ml_csv_column *c) {
    lua_createtable(L, 0, 6);
    lua_pushstring(L, ml_csv_kind_name(c->kind));
    lua_setfield(L, -2, "kind");
    lb_push_tensor(L, c->values);
    c->values = NULL;
    lua_setfield(L, -2, "values");
    if (c->valid) {
        lb_push_tensor(L, c->valid);
        c->valid = NULL;
        lua_setfield(L, -2, "valid");
    }
    if (c->pool) {
        lb_push_strpool(L, c->pool);
        c->pool = NULL;
        lua_setfield(L, -2, "pool");
    }
    lua_pushinteger(L, c->mixed);
    lua_setfield(L, -2, "mixed");
    lua_pushstring(L, ml_csv_kind_name(c->majority));
    lua_setfield(L, -2, "majority");
}

static int c_next(lua_State *L) {
    ml_csv_reader *r = check_reader(L);
    lua_Integer maxrows = luaL_optinteger(L, 2, -1);
    ml_csv_chunk *ch;
    int rc = ml_csv_next(r, maxrows, &ch);
    lb_gc_account(L);
    if (rc < 0) lb_raise(L);
    if (rc == 0) { lua_pushnil(L); return 1; }
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, ch->nrows);
    lua_setfield(L, -2, "nrows");
    lua_pushinteger(L, ch->skipped);
    lua_setfield(L, -2, "skipped");
    lua_createtable(L, ch->nbad, 0);
    for (int k = 0; k < ch->nbad; k++) {
        lua_pushstring(L, ch->bad[k]);
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "bad");
    lua_createtable(L, ch->ncols, 0);
    for (int k = 0; k < ch->ncols; k++) {
        push_column(L, &ch->cols[k]);
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "columns");
    ml_csv_chunk_free(ch);
    return 1;
}

static int c_write(lua_State *L) {
    const char *fn = "df:write_csv";
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_Integer nrows = luaL_checkinteger(L, 4);
    luaL_checktype(L, 5, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 2);
    const char **names = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
    ml_csv_wcolumn *cols = lua_newuserdatauv(L, sizeof(ml_csv_wcolumn) * (size_t)(n + 1), 0);
    for (int k = 0; k < n; k++) {
        lua_rawgeti(L, 2, k + 1);
        names[k] = luaL_checkstring(L, -1);
        lua_pop(L, 1);
        lua_rawgeti(L, 3, k + 1);
        int t = lua_gettop(L);
        lua_getfield(L, t, "kind");
        cols[k].kind = kind_from_name(L, luaL_checkstring(L, -1));
        lua_getfield(L, t, "values");
        cols[k].values = lb_check_tensor(L, -1, fn);
        lua_getfield(L, t, "valid");
        cols[k].valid = lua_isnil(L, -1) ? NULL : lb_check_tensor(L, -1, fn);
        lua_getfield(L, t, "pool");
        cols[k].pool = lua_isnil(L, -1) ? NULL : lb_check_strpool(L, -1, fn);
        lua_settop(L, t - 1); /* the tensors stay alive in the columns table */
    }
    ml_csv_write_options o;
    const char *d = opt_string(L, 5, "delimiter"), *na = opt_string(L, 5, "na_rep");
    o.delimiter = d ? d[0] : ',';
    o.header = lb_opt_bool_field(L, 5, "header", 1);
    o.na_rep = na ? na : "";
    if (ml_csv_write(path, &o, n, names, cols, nrows) < 0) /* "df:write_csv: ..." already names it */
        return lb_raise_as(L, NULL);
    return 0;
}

static int c_classify(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_pushstring(L, ml_csv_kind_name(ml_csv_classify(s, n)));
    return 1;
}

static int c_format_double(lua_State *L) {
    char buf[40];
    int n = ml_csv_format_double(buf, luaL_checknumber(L, 1));
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

void lb_open_csv(lua_State *L) {
    if (luaL_newmetatable(L, LB_CSV_MT)) {
        static const luaL_Reg meta[] = {{"__gc", c_close}, {"__close", c_close}, {NULL, NULL}};
        luaL_setfuncs(L, meta, 0);
        static const luaL_Reg methods[] = {{"info", c_info}, {"select", c_select}, {"next", c_next},
                                           {"close", c_close}, {NULL, NULL}};
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"open", c_open},         {"write", c_write}, {"classify", c_classify},
                                   {"format_double", c_format_double}, {NULL, NULL}};
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, 1, "_csv");
}
