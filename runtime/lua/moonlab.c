/* luaopen_moonlab: builds the `ml` table, the tensor metatable and method
 * table, and points package.path at the Lua library (lualib/) next to the
 * binary, so `require "moonlab.nn"` works from the command and from the
 * C module alike. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lbind.h"

#define ML_VERSION "0.1.0"

/* <root>/lualib, where <root> is the parent of the folder holding this code. */
static void add_lualib_path(lua_State *L) {
    Dl_info info;
    char real[PATH_MAX];
    if (!dladdr((void *)add_lualib_path, &info) || !info.dli_fname) return;
    if (!realpath(info.dli_fname, real)) return;
    char *dir = dirname(real); /* build/ */
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s", dir);
    char *r = dirname(root);
    lua_getglobal(L, "package");
    if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/lualib/?.lua;%s/lualib/?/init.lua;%s", r, r, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

/* ml.nn, ml.optim ...: loaded on first use from lualib/moonlab/<name>.lua. */
static int ml_lazy_index(lua_State *L) {
    const char *k = lua_tostring(L, 2);
    if (!k) return 0;
    lua_getglobal(L, "require");
    lua_pushfstring(L, "moonlab.%s", k);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushfstring(L, "moonlab.%s", k);
    lua_getfield(L, -3, "path");
    lua_call(L, 2, 1);
    int found = !lua_isnil(L, -1);
    lua_pop(L, 2);
    if (!found) { lua_pop(L, 2); return 0; }
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, 1, k); /* cache */
    return 1;
}

int luaopen_moonlab(lua_State *L) {
    lua_settop(L, 0);
    lua_newtable(L); /* 1: ml */
    lua_newtable(L); /* 2: tensor methods */
    luaL_newmetatable(L, LB_TENSOR_MT);
    lb_remember_tensor_mt(L, -1);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "methods"); /* reachable for REPL completion */
    lua_pop(L, 1);

    lb_open_tensor(L);
    lb_open_create(L);
    lb_open_math(L);
    lb_open_reduce(L);
    lb_open_linalg(L);
    lb_open_shape(L);
    lb_open_index(L);
    lb_open_autograd(L);
    lb_open_io(L);
    lb_open_print(L);
    lb_open_time(L);
    lb_open_memory(L);
    lb_open_nnops(L);
    lb_open_optim(L);
    lb_open_data(L);
    lb_open_sys(L);
    lb_open_json(L);
    lb_open_help(L); /* ml.help and ml.doc; the openers above documented what they registered */

    lua_pushvalue(L, 2);
    lua_setfield(L, 1, "Tensor"); /* ml.Tensor: the method table */
    lua_pushliteral(L, ML_VERSION);
    lua_setfield(L, 1, "version");

    lua_newtable(L);
    lua_pushcfunction(L, ml_lazy_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, 1);

    add_lualib_path(L);
    lua_settop(L, 1);
    return 1;
}
