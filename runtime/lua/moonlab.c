/* luaopen_moonlab: builds the `ml` table, the tensor metatable and method
 * table, and points package.path at the Lua library (lualib/) found from
 * the binary's real location, so `require "moonlab.nn"` works from the
 * command (built or installed) and from the C module alike. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sleef.h> /* SLEEF_VERSION_* */
#include <sys/stat.h>

#include "../core/parallel.h"
#include "../ops/gemm.h"
#include "../ops/vecmath.h"
#include "lbind.h"

#define ML_VERSION "0.1.0"

/* ---- finding the Lua library ---------------------------------------------
 * The library is found relative to the real location of the code running:
 * the `moonlab` command (main.c leaves the real path of /proc/self/exe in
 * the registry, so a command found on PATH or copied elsewhere still knows
 * where it is) or this module loaded by lua5.4 (dladdr). From the folder D
 * holding that file, the candidates are, in order:
 *   $MOONLAB_LUALIB                  set by hand
 *   D/../lualib                      the build tree (build/moonlab)
 *   D/../share/moonlab/lualib        installed: PREFIX/bin/moonlab
 *   D/../../share/moonlab/lualib     installed: PREFIX/lib/moonlab/moonlab.so
 * (written without the "..": /opt/ml/bin/moonlab looks in /opt/ml/lualib ...)
 * The first that holds a moonlab/ folder goes on package.path; when
 * $MOONLAB_LUALIB is set, it is the only candidate. */

#define ML_EXE_KEY "moonlab.exe"          /* registry: the real path of the command, set by main.c */
#define LUALIB_LOOKED "moonlab.lualib_looked" /* registry: where we looked, when nothing was found */

static int is_lualib(const char *dir) {
    char p[PATH_MAX];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/moonlab", dir) >= (int)sizeof p) return 0;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The real path of the file holding this code, into out; 0 if unknown. */
static int code_path(lua_State *L, char *out) {
    int ok = 0;
    if (lua_getfield(L, LUA_REGISTRYINDEX, ML_EXE_KEY) == LUA_TSTRING) { /* the command */
        snprintf(out, PATH_MAX, "%s", lua_tostring(L, -1));
        ok = 1;
    } else { /* the C module, loaded by path */
        Dl_info info;
        ok = dladdr((void *)code_path, &info) && info.dli_fname && strchr(info.dli_fname, '/') &&
             realpath(info.dli_fname, out);
    }
    lua_pop(L, 1);
    return ok;
}

/* Puts the library on package.path, or leaves in the registry where it looked. */
static void add_lualib_path(lua_State *L) {
    /* relative to the parent (0) or grandparent (1) of the folder holding the code */
    static const struct { int up; const char *path; } rel[] = {
        {0, "lualib"}, {0, "share/moonlab/lualib"}, {1, "share/moonlab/lualib"}, {0, NULL}};
    char file[PATH_MAX], found[PATH_MAX] = "";
    luaL_Buffer looked;
    luaL_buffinit(L, &looked);
    const char *env = getenv("MOONLAB_LUALIB");
    int by_hand = env && *env; /* a folder set by hand is the only one tried: a typo must not fall back silently */
    if (by_hand) {
        if (is_lualib(env)) snprintf(found, sizeof found, "%s", env);
        else { luaL_addstring(&looked, env); luaL_addstring(&looked, " ($MOONLAB_LUALIB, which has no moonlab/ folder), "); }
    } else if (code_path(L, file)) {
        char parent[PATH_MAX], grand[PATH_MAX], tmp[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", dirname(dirname(file))); /* build/moonlab -> the tree */
        snprintf(tmp, sizeof tmp, "%s", parent);
        snprintf(grand, sizeof grand, "%s", dirname(tmp));
        for (int i = 0; rel[i].path && !*found; i++) {
            char cand[PATH_MAX], real[PATH_MAX];
            const char *base = rel[i].up ? grand : parent;
            if (snprintf(cand, sizeof cand, "%s%s%s", base, strcmp(base, "/") ? "/" : "", rel[i].path) >= (int)sizeof cand)
                continue;
            if (is_lualib(cand) && realpath(cand, real)) snprintf(found, sizeof found, "%s", real);
            else { luaL_addstring(&looked, cand); luaL_addstring(&looked, ", "); }
        }
    } else luaL_addstring(&looked, "(the location of the moonlab binary is unknown), ");
    luaL_pushresult(&looked);
    if (*found) {
        lua_pop(L, 1);
        lua_getglobal(L, "package");
        if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
        lua_getfield(L, -1, "path");
        lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", found, found, lua_tostring(L, -1));
        lua_setfield(L, -3, "path");
        lua_pop(L, 1);
        lua_pushstring(L, found);
        lua_setfield(L, -2, "moonlab_lualib"); /* package.moonlab_lualib: where it was found */
        lua_pop(L, 1);
    } else {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        lua_pushlstring(L, s, n >= 2 ? n - 2 : n); /* without the last ", " */
        lua_setfield(L, LUA_REGISTRYINDEX, LUALIB_LOOKED);
        lua_pop(L, 1);
    }
}

/* Debian's lua5.4 C modules (lfs) on package.cpath, when its default lacks them. */
static void add_debian_cpath(lua_State *L) {
    static const char dir[] = "/usr/lib/x86_64-linux-gnu/lua/5.4/?.so";
    lua_getglobal(L, "package");
    if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
    lua_getfield(L, -1, "cpath");
    const char *c = lua_tostring(L, -1);
    if (c && !strstr(c, dir)) {
        lua_pushfstring(L, "%s;%s", c, dir);
        lua_setfield(L, -3, "cpath");
    }
    lua_pop(L, 2);
}

/* The parts of ml written in Lua: without the library they raise instead of being nil. */
static const char *const lua_modules[] = {"nn", "optim", "data", "callbacks", "train", "prep", "metrics",
                                          "models", "search", "track", "plot", "serve", "http", "board", "core", "checks", "cli", "sparse", "image", NULL};

/* ml.nn, ml.optim ...: loaded on first use from lualib/moonlab/<name>.lua. */
static int ml_lazy_index(lua_State *L) {
    const char *k = lua_tostring(L, 2);
    if (!k) return 0;
    if (lua_getfield(L, LUA_REGISTRYINDEX, LUALIB_LOOKED) == LUA_TSTRING) {
        for (const char *const *m = lua_modules; *m; m++)
            if (strcmp(*m, k) == 0)
                return luaL_error(L, "ml.%s: moonlab's Lua library (lualib) was not found; looked in %s "
                                     "(HINT: reinstall with `make install`, or set MOONLAB_LUALIB to the lualib folder)",
                                  k, lua_tostring(L, -1));
    }
    lua_pop(L, 1);
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

/* ---- ml.config(): which libraries and kernels run ------------------------- */
static void set_str(lua_State *L, const char *k, const char *v) {
    lua_pushstring(L, v ? v : "unknown");
    lua_setfield(L, -2, k);
}

static int l_config(lua_State *L) {
    ml_gemm_info g;
    ml_gemm_info_get(&g);
    lua_createtable(L, 0, 9);
    set_str(L, "version", ML_VERSION);
    set_str(L, "lua", LUA_RELEASE);
    set_str(L, "cpu", g.cpu);
    lua_pushinteger(L, ml_get_threads());
    lua_setfield(L, -2, "threads");
    set_str(L, "gemm", g.rule);
    lua_createtable(L, 0, 4);
    set_str(L, "version", g.openblas_version);
    set_str(L, "variant", g.openblas_variant);
    set_str(L, "core", g.openblas_core);
    set_str(L, "config", g.openblas_config);
    lua_setfield(L, -2, "openblas");
    lua_createtable(L, 0, 3);
    set_str(L, "version", g.onednn_version);
    set_str(L, "isa", g.onednn_isa);
    lua_pushboolean(L, g.onednn_preferred);
    lua_setfield(L, -2, "preferred");
    lua_setfield(L, -2, "onednn");
    lua_createtable(L, 0, 2);
    lua_pushfstring(L, "%d.%d.%d", SLEEF_VERSION_MAJOR, SLEEF_VERSION_MINOR, SLEEF_VERSION_PATCHLEVEL);
    lua_setfield(L, -2, "version");
    set_str(L, "isa", ml_vecmath_isa());
    lua_setfield(L, -2, "sleef");
    return 1;
}

static const lb_doc config_docs[] = {
    {"System", NULL},
    {"config", "ml.config() -> table — what runs the math: version, lua, cpu, threads, gemm (the MOONLAB_GEMM rule: "
               "auto, openblas or onednn), openblas {version, variant, core, config}, onednn {version, isa, "
               "preferred: auto sends float32 matrix products to it on this CPU}, sleef {version, isa}"},
    {NULL, NULL},
};

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
    lb_open_attention(L); /* ml._attention: the fused scaled dot-product attention */
    lb_open_conv(L);
    lb_open_optim(L);
    lb_open_data(L);
    lb_open_sys(L);
    lb_open_json(L);
    lb_open_strpool(L);
    lb_open_augment(L);
    lb_open_prep(L);
    lb_open_neighbors(L);
    lb_open_linear_models(L); /* ml._linear: least squares, coordinate descent, the logistic loss */
    lb_open_frame(L);
    lb_open_csv(L);
    lb_open_sparse(L); lb_open_text(L); /* ml._sparse, ml._text: CSR kernels and text features */
    lb_open_rnn(L); /* ml._rnn: the fused recurrent scans */
    lb_open_journal(L); /* ml._journal: search journals under file locks */
    lb_open_metrics(L); /* ml._metrics: label codes, confusion counts, the sorted curves */
    lb_open_boosting(L); /* ml._boosting: histogram gradient boosting */
    lb_open_proc(L); /* ml._proc: worker processes for core/workers.lua */
    lb_open_trees(L); /* ml._trees: decision trees and forests */
    lb_open_image(L); /* ml._image: PNG files through libpng */
    lb_open_http(L); /* ml._http: the HTTP layer (runtime/net, libmicrohttpd) */
    lb_open_track(L); /* ml._track: SHA-256, wall-clock time and whole-line appends for run records */
    lb_open_stop_signal(L); /* ml._stop: SIGTERM/SIGINT as a flag for the model server's wait */
    lb_open_tensorboard(L); /* ml._tensorboard: CRC-32C, TFRecord framing, histograms */
    lb_open_cairo(L); /* ml._cairo: the drawing behind ml.plot */
    lb_open_help(L); /* ml.help and ml.doc; the openers above documented what they registered */

    lua_pushvalue(L, 2);
    lua_setfield(L, 1, "Tensor"); /* ml.Tensor: the method table */
    lua_pushliteral(L, ML_VERSION);
    lua_setfield(L, 1, "version");
    lua_pushcfunction(L, l_config);
    lua_setfield(L, 1, "config");
    lb_add_docs(L, 1, config_docs);

    lua_newtable(L);
    lua_pushcfunction(L, ml_lazy_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, 1);

    add_lualib_path(L);
    add_debian_cpath(L);
    lua_settop(L, 1);
    return 1;
}
