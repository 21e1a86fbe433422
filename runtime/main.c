/* The `moonlab` command: runs a script, -e code, subcommands, or the REPL.
 *
 * Arguments follow lua5.4's own interpreter (same `arg` table, same order of
 * -e/-l before the script, `-` for stdin), so scripts written for `lua` run
 * unchanged; moonlab adds the preloaded `ml` global, `key=value` overrides
 * and subcommands. Start-up loads nothing but Lua's libraries and the C
 * part of `ml` (its Lua modules load on first use), so it stays fast. */
#define _XOPEN_SOURCE 700 /* POSIX 2008 with realpath */
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "repl.h"
#include "tensor/pool.h"

#define ML_EXE_KEY "moonlab.exe" /* registry: read by runtime/lua/moonlab.c */

int luaopen_moonlab(lua_State *L);

/* ---- subcommands ---------------------------------------------------------
 * `moonlab NAME args...` runs lualib/moonlab/cli/NAME.lua through the Lua
 * dispatcher moonlab.cli (cli/init.lua). NAME is a subcommand when it is a
 * bare word: no ".lua", no "/", and no file of that name exists (a file wins,
 * as lua5.4 would run it), so `moonlab foo.lua` is always a script. */

static const char usage_text[] =
    "usage: moonlab [options] [script [args]]\n"
    "       moonlab NAME [args]    run the subcommand NAME (moonlab help lists them)\n"
    "  script.lua [key=value ...]  run a script; key=value pairs are also put in\n"
    "                              ml.overrides (numbers and true/false converted)\n"
    "  -e CODE        run CODE (may be repeated; runs before the script)\n"
    "  -l NAME        require library NAME into the global NAME\n"
    "  -i             enter the REPL after the script or -e code, even when the\n"
    "                 script failed; its top-level locals stay visible there\n"
    "  -W             turn warnings on\n"
    "  -v, --version  print the version\n"
    "  -h, --help     print this text\n"
    "  --             stop handling options\n"
    "  -              run stdin as a script\n"
    "With no script and no -e, moonlab opens the REPL (prompt \"ml> \"); fed from a\n"
    "pipe it runs line by line, prints results, and exits 1 if a command failed.\n"
    "Inside, `ml` is preloaded. History: $MOONLAB_HISTORY or ~/.moonlab_history.\n";

static void print_usage(FILE *f) { fputs(usage_text, f); }

static void create_arg_table(lua_State *L, int argc, char **argv, int script);
static void report(lua_State *L, int status);
static void capture_locals_at_error(lua_State *L);

static int is_subcommand(const char *a) {
    size_t n = strlen(a);
    struct stat st;
    if (n == 0 || a[0] == '-' || strchr(a, '/') || (n >= 4 && strcmp(a + n - 4, ".lua") == 0)) return 0;
    return stat(a, &st) != 0 || S_ISDIR(st.st_mode); /* a directory is no script: ./runs beside `moonlab runs` */
}

/* Runs require("moonlab.cli").main(NAME, {args...}) with arg set as for a
 * script (arg[0] = NAME). Returns the exit status. */
static int run_subcommand(lua_State *L, int argc, char **argv) {
    create_arg_table(L, argc, argv, 1);
    /* ml.cli: without the Lua library, an error that says where it looked */
    int status = luaL_loadstring(L, "return ml.cli");
    if (status == LUA_OK) status = lua_pcall(L, 0, 1, 0);
    if (status == LUA_OK && !lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_pushliteral(L, "ml.cli: no lualib/moonlab/cli/init.lua in the Lua library");
        status = LUA_ERRRUN;
    }
    if (status != LUA_OK) {
        fprintf(stderr, "moonlab: '%s' is neither a file nor a subcommand (the subcommands could not be loaded)\n", argv[1]);
        report(L, status);
        return 1;
    }
    lua_getfield(L, -1, "main");
    lua_pushstring(L, argv[1]);
    lua_createtable(L, argc - 2, 0);
    for (int i = 2; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    status = ml_docall(L, 2, 1);
    if (status != LUA_OK) { report(L, status); return 1; }
    int rc = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);
    return rc;
}

/* ---- errors and protected calls -------------------------------------- */

static void report(lua_State *L, int status) {
    if (status == LUA_OK) return;
    const char *msg = lua_tostring(L, -1);
    if (!msg) msg = "(error object is not a string)";
    fflush(stdout); /* so the error comes after what the script printed */
    fprintf(stderr, "moonlab: %s\n", msg);
    fflush(stderr);
    lua_pop(L, 1);
}

/* Set while a recipe's run function executes: its user errors print as the
 * message alone (see wants_traceback). */
static int in_recipe;

/* Whether an error deserves a traceback. Inside a recipe only an internal
 * one does: the Lua VM raising (level 1 is a Lua function, not error() or a
 * binding's luaL_error) inside the library's own files, which is a bug of
 * moonlab's rather than a wrong override or the recipe's own error("...").
 * MOONLAB_TRACEBACK=1 always asks for one. */
static int wants_traceback(lua_State *L) {
    const char *env = getenv("MOONLAB_TRACEBACK");
    if (env && strcmp(env, "1") == 0) return 1;
    if (!in_recipe) return 1;
    lua_Debug ar;
    if (!lua_getstack(L, 1, &ar) || !lua_getinfo(L, "S", &ar)) return 0;
    if (strcmp(ar.what, "C") == 0) return 0; /* error(), checks.fail, luaL_error: a deliberate message */
    return strstr(ar.source, "/moonlab/") != NULL && strstr(ar.source, "lualib") != NULL;
}

static int msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    capture_locals_at_error(L);
    if (!wants_traceback(L)) {
        lua_pushstring(L, msg);
        return 1;
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Ctrl-C during Lua code: the handler can only set a hook (signal handlers
 * carry no user data, hence the static), and the hook raises the error at
 * the next Lua instruction. A second Ctrl-C kills the process, for code
 * stuck inside a long C kernel. */
static lua_State *volatile interrupt_L;

static void interrupted_hook(lua_State *L, lua_Debug *ar) {
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

static void on_sigint(int sig) {
    signal(sig, SIG_DFL);
    if (interrupt_L)
        lua_sethook(interrupt_L, interrupted_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

int ml_docall(lua_State *L, int narg, int nres) {
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    interrupt_L = L;
    sigaction(SIGINT, &sa, &old);
    int status = lua_pcall(L, narg, nres, base);
    sigaction(SIGINT, &old, NULL);
    interrupt_L = NULL;
    /* A Ctrl-C that came as the call returned must not hit the next one. */
    if (lua_gethook(L) == interrupted_hook) lua_sethook(L, NULL, 0, 0);
    lua_remove(L, base);
    return status;
}

static int dochunk(lua_State *L, int status) {
    if (status == LUA_OK) status = ml_docall(L, 0, 0);
    report(L, status);
    return status;
}

/* ---- arguments ----------------------------------------------------------- */

enum { HAS_E = 1, HAS_I = 2, HAS_V = 4, HAS_H = 8, HAS_ERROR = 16 };

/* Scans the options before the script. *first becomes the index of the
 * script (argc when there is none). On an error *first is the bad option. */
static int collect_args(int argc, char **argv, int *first) {
    int flags = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        *first = i;
        if (a[0] != '-') return flags; /* the script */
        if (strcmp(a, "-") == 0) return flags;
        if (strcmp(a, "--") == 0) { *first = i + 1; return flags; }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) flags |= HAS_V;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) flags |= HAS_H;
        else if (strcmp(a, "-i") == 0) flags |= HAS_I;
        else if (strcmp(a, "-W") == 0) continue;
        else if (a[1] == 'e' || a[1] == 'l') { /* -e CODE or -eCODE */
            if (a[1] == 'e') flags |= HAS_E;
            if (a[2] == '\0' && ++i >= argc) return flags | HAS_ERROR;
        } else return flags | HAS_ERROR;
    }
    *first = i;
    return flags;
}

/* Runs -e, -l and -W in order. Returns 0 when one failed. */
static int run_args(lua_State *L, char **argv, int script) {
    for (int i = 1; i < script; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || (a[1] != 'e' && a[1] != 'l' && a[1] != 'W')) continue;
        if (a[1] == 'W') { lua_warning(L, "@on", 0); continue; }
        const char *val = a[2] ? a + 2 : argv[++i];
        if (a[1] == 'e') {
            if (dochunk(L, luaL_loadbuffer(L, val, strlen(val), "=(command line)")) != LUA_OK) return 0;
        } else {
            lua_getglobal(L, "require");
            lua_pushstring(L, val);
            int status = ml_docall(L, 1, 1);
            if (status == LUA_OK) lua_setglobal(L, val);
            else { report(L, status); return 0; }
        }
    }
    return 1;
}

/* arg[0] is the script, arg[1..] its arguments, arg[-1..] the interpreter
 * and its options; with no script, arg[0] is the interpreter (as lua5.4). */
static void create_arg_table(lua_State *L, int argc, char **argv, int script) {
    if (script == argc) script = 0;
    lua_createtable(L, argc - script - 1 > 0 ? argc - script - 1 : 0, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

/* ml.overrides: every script argument of the form key=value, with value
 * converted (numbers, true/false, else the string). They stay in `arg`. */
static void set_overrides(lua_State *L, int ml, int argc, char **argv, int script) {
    lua_newtable(L);
    for (int i = script + 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : 0;
        if (!eq || klen == 0 || strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != klen ||
            (a[0] >= '0' && a[0] <= '9'))
            continue;
        lua_pushlstring(L, a, klen);
        const char *v = eq + 1;
        if (strcmp(v, "true") == 0) lua_pushboolean(L, 1);
        else if (strcmp(v, "false") == 0) lua_pushboolean(L, 0);
        else if (!(*v && lua_stringtonumber(L, v))) lua_pushstring(L, v);
        lua_rawset(L, -3);
    }
    lua_setfield(L, ml, "overrides");
}

/* The script's folder goes first on package.path, so `require "mymodels"`
 * beside a recipe works from any working directory (as Python's sys.path[0]). */
static void add_script_dir(lua_State *L, const char *fname) {
    char real[PATH_MAX];
    if (realpath(fname, real)) fname = real; /* absolute: a later chdir does not break require */
    const char *slash = strrchr(fname, '/');
    if (slash == fname) slash++; /* "/x.lua": the root */
    lua_getglobal(L, "package");
    if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
    lua_getfield(L, -1, "path");
    if (slash) lua_pushlstring(L, fname, (size_t)(slash - fname));
    else lua_pushliteral(L, ".");
    const char *dir = lua_tostring(L, -1);
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -2));
    lua_remove(L, -2);
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

/* -i: at the return of the script's main chunk (the function in the
 * registry at &main_chunk_key), or where it raised an error, its active
 * locals are copied into a table left at &script_locals_key, which the REPL
 * then shows as its own locals (after an error: the ones live at that line,
 * a loop's variables too, for inspection as `python -i` allows). */
static const char main_chunk_key = 0, script_locals_key = 0;

static void capture_locals(lua_State *L, lua_Debug *ar) {
    lua_newtable(L);
    const char *name;
    for (int i = 1; (name = lua_getlocal(L, ar, i)) != NULL; i++) {
        if (name[0] == '(') { lua_pop(L, 1); continue; } /* temporaries, varargs */
        lua_setfield(L, -2, name);                       /* a later local of the same name wins */
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, &script_locals_key);
}

/* Whether the function running at ar is the script's main chunk. */
static int is_main_chunk(lua_State *L, lua_Debug *ar) {
    if (!lua_getinfo(L, "f", ar)) return 0;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &main_chunk_key);
    int mine = !lua_isnil(L, -1) && lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return mine;
}

static void capture_locals_hook(lua_State *L, lua_Debug *ar) {
    if (ar->event != LUA_HOOKRET || !is_main_chunk(L, ar)) return;
    lua_sethook(L, NULL, 0, 0);
    capture_locals(L, ar);
}

/* From the message handler: the locals of the main chunk's frame, if it is on the stack. */
static void capture_locals_at_error(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &main_chunk_key) == LUA_TNIL) { lua_pop(L, 1); return; }
    lua_pop(L, 1);
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++)
        if (is_main_chunk(L, &ar)) { capture_locals(L, &ar); return; }
}

/* A script that returns a recipe table ({params, run = function(p, ctx)}) is
 * run as a recipe: moonlab.recipe's main applies the key=value overrides,
 * answers --help and prints the metrics. Pops the script's result. */
static int run_recipe(lua_State *L, const char *fname) {
    int is_recipe = lua_istable(L, -1) && !lua_getmetatable(L, -1);
    if (is_recipe) {
        lua_getfield(L, -1, "run");
        is_recipe = lua_isfunction(L, -1);
        lua_pop(L, 1);
    } else if (lua_istable(L, -1)) lua_pop(L, 1); /* the metatable lua_getmetatable pushed */
    if (!is_recipe) {
        lua_pop(L, 1);
        return LUA_OK;
    }
    lua_getglobal(L, "require");
    lua_pushliteral(L, "moonlab.recipe");
    int status = ml_docall(L, 1, 1);
    if (status != LUA_OK) {
        lua_remove(L, -2); /* the recipe table */
        return status;
    }
    lua_getfield(L, -1, "main");
    lua_remove(L, -2);
    lua_insert(L, -2); /* main, recipe */
    lua_pushstring(L, fname);
    in_recipe = 1;
    status = ml_docall(L, 2, 0);
    in_recipe = 0;
    return status;
}

static int run_script(lua_State *L, char **argv, int script, int keep_locals) {
    const char *fname = argv[script];
    if (strcmp(fname, "-") == 0 && strcmp(argv[script - 1], "--") != 0) fname = NULL; /* stdin */
    if (fname) add_script_dir(L, fname);
    int status = luaL_loadfile(L, fname);
    if (status != LUA_OK) { report(L, status); return status; }
    if (keep_locals) {
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &main_chunk_key);
        lua_sethook(L, capture_locals_hook, LUA_MASKRET, 0);
    }
    /* `...` of the script: arg[1..n] */
    lua_getglobal(L, "arg");
    int n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    status = ml_docall(L, n, 1);
    if (status == LUA_OK) status = run_recipe(L, fname ? fname : "stdin"); /* else the message is on top, for report() */
    if (keep_locals) {
        if (lua_gethook(L) == capture_locals_hook) lua_sethook(L, NULL, 0, 0);
        lua_pushnil(L);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &main_chunk_key);
        if (lua_rawgetp(L, LUA_REGISTRYINDEX, &script_locals_key) == LUA_TTABLE) ml_repl_add_locals(L, -1);
        lua_pop(L, 1);
    }
    report(L, status);
    return status;
}

/* One line from ml.config(): the libraries, the kernels they chose, threads. */
static void print_version(lua_State *L, int ml) {
    lua_getfield(L, ml, "config");
    if (lua_pcall(L, 0, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_getfield(L, ml, "version");
        printf("moonlab %s (%s)\n", lua_tostring(L, -1), LUA_RELEASE);
        lua_pop(L, 1);
        return;
    }
    int c = lua_gettop(L);
    const char *keys[][2] = {{"openblas", "version"}, {"openblas", "variant"}, {"openblas", "core"},
                             {"onednn", "version"},   {"onednn", "isa"},       {"sleef", "version"},
                             {"sleef", "isa"}};
    const char *v[7];
    for (int i = 0; i < 7; i++) {
        lua_getfield(L, c, keys[i][0]);
        lua_getfield(L, -1, keys[i][1]);
        v[i] = lua_tostring(L, -1); /* kept alive by the config table */
        lua_pop(L, 2);
    }
    lua_getfield(L, c, "version");
    lua_getfield(L, c, "gemm");
    lua_getfield(L, c, "threads");
    lua_getfield(L, c, "cpu");
    printf("moonlab %s (%s, OpenBLAS %s %s %s, oneDNN %s %s, SLEEF %s %s; gemm %s, %d threads, %s)\n",
           lua_tostring(L, c + 1), LUA_RELEASE, v[0], v[1], v[2], v[3], v[4], v[5], v[6], lua_tostring(L, c + 2),
           (int)lua_tointeger(L, c + 3), lua_tostring(L, c + 4));
    lua_settop(L, c - 1);
}

/* Everything runs here, in protected mode, so even an out-of-memory error
 * during set-up is reported rather than aborting. Returns the exit status. */
static int pmain(lua_State *L) {
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    lua_settop(L, 0);

    luaL_openlibs(L);
    /* The real path of this binary, so luaopen_moonlab finds the Lua library
     * beside it however it was started (PATH, a symlink, a copy). */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        lua_pushstring(L, exe);
        lua_setfield(L, LUA_REGISTRYINDEX, ML_EXE_KEY);
    }
    luaL_requiref(L, "moonlab", luaopen_moonlab, 1);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "ml");
    int ml = lua_gettop(L);
    ml_register_complete(L, ml);
    /* The collector stays incremental (lua5.4's own command switches to
     * generational): tensor bytes reach it as GC steps, and old dead
     * tensors would wait for a rare major collection in generational mode. */

    if (argc > 1 && is_subcommand(argv[1])) {
        set_overrides(L, ml, 0, argv, 0); /* empty: a subcommand reads its own */
        lua_pushinteger(L, run_subcommand(L, argc, argv));
        return 1;
    }

    int script = argc;
    int flags = collect_args(argc, argv, &script);
    if (flags & HAS_ERROR) {
        const char *bad = argv[script];
        if ((bad[1] == 'e' || bad[1] == 'l') && bad[2] == '\0')
            fprintf(stderr, "moonlab: '%s' needs an argument\n", bad);
        else fprintf(stderr, "moonlab: unrecognized option '%s'\n", bad);
        print_usage(stderr);
        lua_pushinteger(L, 1);
        return 1;
    }
    if (flags & HAS_H) { print_usage(stdout); lua_pushinteger(L, 0); return 1; }
    if (flags & HAS_V) print_version(L, ml);

    create_arg_table(L, argc, argv, script);
    set_overrides(L, ml, argc, argv, script);
    int status = 0;
    if (!run_args(L, argv, script)) status = 1;
    else if (script < argc && run_script(L, argv, script, flags & HAS_I) != LUA_OK) {
        status = 1;
        if (flags & HAS_I) ml_repl(L); /* as python -i: inspect what failed; the status stays 1 */
    }
    else if ((flags & HAS_I) || (script == argc && !(flags & (HAS_E | HAS_V)))) status = ml_repl(L);
    lua_pushinteger(L, status);
    return 1;
}

/* libgomp's default wait policy spins a waiting thread for ~300k iterations.
 * On a shared machine whose other core is busy, a spinning thread holds its
 * core while the thread it waits for is descheduled: a 2-thread MLP step then
 * runs 5-15x slower (measured: 21-66 ms against 3.8-4.5 ms with PASSIVE, and
 * 7-10 ms with a 10k spin), the same trap PyTorch falls into here. Waiting
 * threads therefore sleep (OMP_WAIT_POLICY=PASSIVE). libgomp reads its
 * settings when it loads, before main, so we set them and re-execute once
 * (~2 ms); a user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins. */
static void tune_openmp_wait(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv); /* returns only on failure: carry on with the defaults */
}

/* Lua's allocator, with blocks of 41-64 bytes (every tensor's userdata,
 * every table) kept on the per-thread free lists of tensor/pool.h: a loop
 * of tiny ops makes and frees one userdata per op, and the collector frees
 * them in bursts that send glibc's malloc and free down their slow paths
 * (~7% of a 10-element add). Every block is a plain malloc'd one, so
 * realloc and free work on all of them; a block goes back to the pool only
 * when it really holds 64 bytes (blocks allocated before this allocator
 * was installed may not), and glibc rounds such requests to 64 anyway. */
#define LUA_POOLED(n) ((n) > 40 && (n) <= 64)
static void *pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    if (nsize == 0) {
        if (ptr && LUA_POOLED(osize) && malloc_usable_size(ptr) >= 64) ml_pool_free(ptr, 64);
        else free(ptr);
        return NULL;
    }
    if (!ptr) return LUA_POOLED(nsize) ? ml_pool_alloc(64) : malloc(nsize); /* osize is then a type tag */
    return realloc(ptr, nsize);
}

int main(int argc, char **argv) {
    tune_openmp_wait(argv);
    lua_State *L = luaL_newstate();
    if (!L) {
        fputs("moonlab: cannot create the Lua state: not enough memory\n", stderr);
        return 1;
    }
    lua_setallocf(L, pool_alloc, NULL);
    /* Collect Lua's own heap at 4x growth instead of 2x: tensor bytes drive
     * the collector separately (lb_gc_account), and a tight pause made each
     * 64 KiB of tensors walk the whole heap (15% of a tiny model's step). */
    lua_gc(L, LUA_GCINC, 400, 0, 0);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 0);
    int rc = status == LUA_OK ? (int)lua_tointeger(L, -1) : 1;
    report(L, status);
    fflush(stdout);
    lua_close(L);
    return rc;
}
