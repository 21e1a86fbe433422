/* ml.save / ml.load (safetensors, or .npy by extension), ml.save_npy /
 * ml.load_npy. These validate the arguments, call runtime/io, and push. */
#include <string.h>
#include <strings.h>

#include "../io/io.h"
#include "lbind.h"

#define LB_TENSOR_FILE_MT "moonlab.TensorFile"
#define SINGLE_NAME "tensor" /* the name ml.save(path, t) stores a lone tensor under */

enum { FMT_AUTO, FMT_NPY };

static bool is_npy_path(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".npy") == 0;
}

static const char *check_path(lua_State *L, const char *fn) {
    if (lua_type(L, 1) != LUA_TSTRING) luaL_error(L, "%s: argument #1: expected a path string, got %s", fn, luaL_typename(L, 1));
    size_t len;
    const char *p = lua_tolstring(L, 1, &len);
    if (len == 0 || strlen(p) != len) luaL_error(L, "%s: argument #1: the path is empty or contains a NUL byte", fn);
    return p;
}

/* A string key of the table being walked (at -2 during lua_next). */
static const char *check_key(lua_State *L, const char *fn, const char *what) {
    if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "%s: %s must be strings, got a %s key", fn, what, luaL_typename(L, -2));
    size_t len;
    const char *k = lua_tolstring(L, -2, &len);
    if (strlen(k) != len) luaL_error(L, "%s: %s cannot contain a NUL byte", fn, what);
    return k;
}

static int count_entries(lua_State *L, int idx) {
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { lua_pop(L, 1); n++; }
    return n;
}

/* Scratch arrays as userdata: the collector frees them if we raise. */
static void *scratch(lua_State *L, int n, size_t es) { return lua_newuserdatauv(L, (n ? n : 1) * es, 0); }

static int save_impl(lua_State *L, int fmt, const char *fn) {
    static const char *const known[] = {"metadata", NULL};
    const char *path = check_path(L, fn);
    if (lua_isnone(L, 2)) luaL_error(L, "%s: argument #2: expected a tensor or a table of tensors", fn);
    lb_check_options(L, 3, fn, known);
    int meta = 0;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "metadata");
        meta = lua_gettop(L);
        if (lua_isnil(L, meta)) meta = 0;
        else if (!lua_istable(L, meta))
            luaL_error(L, "%s: option 'metadata' must be a table of strings, got %s", fn, luaL_typename(L, meta));
    }
    ml_tensor *single = lb_test_tensor(L, 2);
    if (fmt == FMT_NPY || (fmt == FMT_AUTO && is_npy_path(path))) {
        if (!single)
            luaL_error(L, "%s: a .npy file holds one tensor, got a %s (save tables of tensors to a .safetensors file)", fn,
                       luaL_typename(L, 2));
        if (meta) luaL_error(L, "%s: .npy files hold no metadata; use a .safetensors file for option 'metadata'", fn);
        if (ml_npy_write(path, single) < 0) lb_raise(L);
        return 0;
    }

    int nmeta = meta ? count_entries(L, meta) : 0;
    const char **mkeys = scratch(L, nmeta, sizeof(char *)), **mvals = scratch(L, nmeta, sizeof(char *));
    if (meta) {
        int k = 0;
        lua_pushnil(L);
        while (lua_next(L, meta)) {
            mkeys[k] = check_key(L, fn, "metadata keys");
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "%s: metadata value for '%s' must be a string, got %s", fn, mkeys[k], luaL_typename(L, -1));
            mvals[k] = lua_tostring(L, -1);
            if (strlen(mvals[k]) != lua_rawlen(L, -1)) luaL_error(L, "%s: metadata value for '%s' contains a NUL byte", fn, mkeys[k]);
            k++;
            lua_pop(L, 1);
        }
    }

    int n;
    const char **names;
    ml_tensor **ts;
    if (single) {
        n = 1;
        names = scratch(L, 1, sizeof(char *));
        ts = scratch(L, 1, sizeof(ml_tensor *));
        names[0] = SINGLE_NAME;
        ts[0] = single;
    } else if (lua_istable(L, 2)) {
        n = count_entries(L, 2);
        names = scratch(L, n, sizeof(char *));
        ts = scratch(L, n, sizeof(ml_tensor *));
        int k = 0;
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            names[k] = check_key(L, fn, "tensor names");
            ts[k] = lb_test_tensor(L, -1);
            if (!ts[k]) luaL_error(L, "%s: value for '%s' is a %s, expected a tensor", fn, names[k], luaL_typename(L, -1));
            k++;
            lua_pop(L, 1);
        }
    } else {
        return luaL_error(L, "%s: argument #2: expected a tensor or a table of tensors, got %s", fn, luaL_typename(L, 2));
    }
    if (ml_safetensors_write(path, n, names, ts, nmeta, mkeys, mvals) < 0) lb_raise(L);
    return 0;
}

static int tensor_file_gc(lua_State *L) {
    ml_tensor_file **box = luaL_checkudata(L, 1, LB_TENSOR_FILE_MT);
    ml_tensor_file_free(*box);
    *box = NULL;
    return 0;
}

/* A tracked run records the data files it reads (track/run.lua's note_data, as data.read_csv calls it;
 * the module keeps the files read before a run opens, for the runs opened later): require("moonlab.track.run")
 * .note_data(path); a moonlab object file (a model or a pipeline, 'moonlab.format' in its metadata) is not data.
 * Leaves the stack as it found it; a library without the module (an embedder's) notes nothing. */
static void note_data(lua_State *L, int path_idx) {
    int top = lua_gettop(L);
    if (lua_getglobal(L, "require") == LUA_TFUNCTION) {
        lua_pushliteral(L, "moonlab.track.run");
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1) && lua_getfield(L, -1, "note_data") == LUA_TFUNCTION) {
            lua_pushvalue(L, path_idx);
            lua_call(L, 1, 0);
        }
    }
    lua_settop(L, top);
}

static int load_impl(lua_State *L, int fmt, const char *fn) {
    static const char *const known[] = {NULL};
    const char *path = check_path(L, fn);
    lb_check_options(L, 2, fn, known);
    lua_settop(L, 1);
    if (fmt == FMT_NPY || (fmt == FMT_AUTO && is_npy_path(path))) {
        lb_push_tensor(L, ml_npy_read(path));
        lua_newtable(L);
        note_data(L, 1);
        return 2;
    }
    /* The loaded file sits in a collectable box so a Lua error while pushing frees it. */
    ml_tensor_file **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, LB_TENSOR_FILE_MT);
    ml_tensor_file *tf = ml_safetensors_read(path);
    if (!tf) lb_raise(L);
    *box = tf;
    if (tf->n == 1 && !strcmp(tf->names[0], SINGLE_NAME)) {
        lb_push_tensor(L, tf->tensors[0]);
        tf->tensors[0] = NULL;
    } else {
        lua_createtable(L, 0, tf->n);
        for (int i = 0; i < tf->n; i++) {
            lb_push_tensor(L, tf->tensors[i]);
            tf->tensors[i] = NULL;
            lua_setfield(L, -2, tf->names[i]);
        }
    }
    lua_createtable(L, 0, tf->nmeta);
    for (int i = 0; i < tf->nmeta; i++) {
        lua_pushstring(L, tf->mvals[i]);
        lua_setfield(L, -2, tf->mkeys[i]);
    }
    *box = NULL;
    ml_tensor_file_free(tf);
    if (lua_getfield(L, -1, "moonlab.format") == LUA_TNIL) note_data(L, 1);
    lua_pop(L, 1);
    return 2;
}

static int l_save(lua_State *L) { return save_impl(L, FMT_AUTO, "ml.save"); }
static int l_load(lua_State *L) { return load_impl(L, FMT_AUTO, "ml.load"); }
static int l_save_npy(lua_State *L) { return save_impl(L, FMT_NPY, "ml.save_npy"); }
static int l_load_npy(lua_State *L) { return load_impl(L, FMT_NPY, "ml.load_npy"); }

void lb_open_io(lua_State *L) {
    if (luaL_newmetatable(L, LB_TENSOR_FILE_MT)) {
        lua_pushcfunction(L, tensor_file_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"save", l_save},
        {"load", l_load},
        {"save_npy", l_save_npy},
        {"load_npy", l_load_npy},
        {NULL, NULL},
    };
    lb_setfuncs(L, 1, fns);

    static const lb_doc docs[] = {
        {"Files", NULL},
        {"save", "ml.save(path, t | {name = t, ...}, [{metadata = {key = \"string\"}}]) — writes a safetensors file, "
                 "or a .npy file (one tensor) when path ends in .npy"},
        {"load", "ml.load(path) -> tensor | {name = tensor, ...}, metadata — reads a safetensors file, or a .npy file by its extension"},
        {"save_npy", "ml.save_npy(path, t) — writes t in NumPy's .npy format, whatever the extension"},
        {"load_npy", "ml.load_npy(path) -> tensor, {} — reads a NumPy .npy file, whatever the extension"},
        {NULL, NULL},
    };
    lb_add_docs(L, 1, docs);
}
