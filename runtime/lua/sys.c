/* Bindings the training loop needs from the operating system: the terminal
 * and Ctrl-C (ml._train).
 *
 *   ml._train.isatty(fd)          is the file descriptor a terminal (progress bar or plain lines)
 *   ml._train.term_width([fd=1])  the terminal's width in columns: ioctl(TIOCGWINSZ) on fd (stdout),
 *                                 else $COLUMNS, else 80 (the progress bar cuts its line to fit)
 *   ml._train.sigint_begin()      installs a SIGINT handler that only sets a flag (fit reads it
 *   ml._train.sigint_pending()      once per batch); nested begin/end pairs count, and the
 *   ml._train.sigint_end()          outermost end restores the previous handler
 *   ml._train.sigint_set()        sets the flag, as a Ctrl-C would (tests)
 *   ml._train.raise_sigint()      sends SIGINT to this process (tests of the real path)
 *
 * Ctrl-C: the first one sets the flag and fit ends at the next batch. A
 * second one, before fit has reacted (a long batch, a slow callback), goes
 * to the handler that was there before (the moonlab command's, which raises
 * "interrupted!" in Lua, or the default one, which ends the process). A
 * signal handler has no user data, so the flag and the saved handler are C
 * globals; they concern the process, not an interpreter. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lbind.h"

/* ---- terminal and Ctrl-C -------------------------------------------------- */

static int l_isatty(lua_State *L) {
    lua_Integer fd = luaL_checkinteger(L, 1);
    lua_pushboolean(L, fd >= 0 && fd <= 1 << 20 && isatty((int)fd));
    return 1;
}

static int l_term_width(lua_State *L) {
    lua_Integer fd = luaL_optinteger(L, 1, 1);
    struct winsize ws;
    if (fd >= 0 && fd <= 1 << 20 && ioctl((int)fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        lua_pushinteger(L, ws.ws_col);
        return 1;
    }
    const char *cols = getenv("COLUMNS");
    if (cols && *cols) {
        char *end;
        long v = strtol(cols, &end, 10);
        if (*end == '\0' && v > 0 && v < 100000) {
            lua_pushinteger(L, v);
            return 1;
        }
    }
    lua_pushinteger(L, 80);
    return 1;
}

static volatile sig_atomic_t sigint_flag;
static struct sigaction sigint_old;
static int sigint_depth; /* nested fits: only the outermost installs and restores */

static void on_fit_sigint(int sig) {
    if (!sigint_flag) {
        sigint_flag = 1;
        return;
    }
    /* A second Ctrl-C: hand it to whoever had SIGINT before fit. */
    sigaction(SIGINT, &sigint_old, NULL);
    if (sigint_old.sa_flags & SA_SIGINFO) return; /* not ours to call without its siginfo */
    if (sigint_old.sa_handler == SIG_DFL) raise(sig);
    else if (sigint_old.sa_handler != SIG_IGN) sigint_old.sa_handler(sig);
}

static int l_sigint_begin(lua_State *L) {
    if (sigint_depth++ == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fit_sigint;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigint_flag = 0;
        if (sigaction(SIGINT, &sa, &sigint_old) != 0) {
            sigint_depth = 0;
            return luaL_error(L, "ml._train.sigint_begin: cannot install the SIGINT handler");
        }
    }
    return 0;
}

static int l_sigint_pending(lua_State *L) {
    lua_pushboolean(L, sigint_flag != 0);
    return 1;
}

/* Returns whether a Ctrl-C came since begin. Extra calls do nothing. */
static int l_sigint_end(lua_State *L) {
    int was = sigint_flag != 0;
    if (sigint_depth > 0 && --sigint_depth == 0) {
        sigaction(SIGINT, &sigint_old, NULL);
        sigint_flag = 0;
    }
    lua_pushboolean(L, was);
    return 1;
}

static int l_sigint_set(lua_State *L) {
    sigint_flag = 1;
    return 0;
}

static int l_raise_sigint(lua_State *L) {
    if (sigint_depth == 0)
        return luaL_error(L, "ml._train.raise_sigint: no fit is running (the signal would interrupt the script)");
    raise(SIGINT);
    return 0;
}

/* ---- opening --------------------------------------------------------------- */

void lb_open_sys(lua_State *L) {
    int ml = 1;
    lua_newtable(L);
    static const luaL_Reg train_fns[] = {
        {"isatty", l_isatty},
        {"term_width", l_term_width},
        {"sigint_begin", l_sigint_begin},
        {"sigint_pending", l_sigint_pending},
        {"sigint_end", l_sigint_end},
        {"sigint_set", l_sigint_set},
        {"raise_sigint", l_raise_sigint},
        {NULL, NULL},
    };
    lb_setfuncs(L, lua_gettop(L), train_fns);
    lb_train_step_register(L);
    lua_setfield(L, ml, "_train");
}
