/* ml._stop: SIGTERM and SIGINT as a flag, for a state that waits while doing
 * something between two looks (the model server's watcher polls its versions
 * directory while it serves; lualib/moonlab/serve/server.lua).
 *
 *   ml._stop.begin()    installs handlers that only set the flag; the old ones are saved
 *   ml._stop.pending()  -> "SIGTERM" | "SIGINT" | nil
 *   ml._stop.finish()   restores the saved handlers and clears the flag
 *   ml._stop.sleep(s)   sleeps s seconds (at most 60), waking early when a signal arrives
 *
 * A signal handler has no user data, so the flag and the saved handlers are C
 * globals: they concern the process, not an interpreter. The calling thread
 * unblocks both signals, so they reach it rather than a server's thread. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "lbind.h"

static volatile sig_atomic_t stop_signal = 0;
static struct sigaction saved_int, saved_term;
static int installed = 0;

static void on_stop_signal(int sig) { stop_signal = sig; }

static int l_begin(lua_State *L) {
    (void)L;
    if (installed) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &saved_int);
    sigaction(SIGTERM, &sa, &saved_term);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    installed = 1;
    return 0;
}

static int l_pending(lua_State *L) {
    int s = stop_signal;
    if (s == SIGTERM) lua_pushstring(L, "SIGTERM");
    else if (s == SIGINT) lua_pushstring(L, "SIGINT");
    else lua_pushnil(L);
    return 1;
}

static int l_finish(lua_State *L) {
    (void)L;
    if (!installed) return 0;
    sigaction(SIGINT, &saved_int, NULL);
    sigaction(SIGTERM, &saved_term, NULL);
    installed = 0;
    stop_signal = 0;
    return 0;
}

static int l_sleep(lua_State *L) {
    double s = luaL_checknumber(L, 1);
    if (!(s > 0)) return 0;
    if (s > 60) s = 60;
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += (time_t)s;
    end.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
    if (end.tv_nsec >= 1000000000L) { end.tv_sec++; end.tv_nsec -= 1000000000L; }
    while (!stop_signal) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double left = (double)(end.tv_sec - now.tv_sec) + (double)(end.tv_nsec - now.tv_nsec) * 1e-9;
        if (left <= 0) break;
        double step = left < 0.02 ? left : 0.02;
        struct timespec t = {0, (long)(step * 1e9)};
        nanosleep(&t, NULL);
    }
    return 0;
}

void lb_open_stop_signal(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"begin", l_begin}, {"pending", l_pending}, {"finish", l_finish}, {"sleep", l_sleep}, {NULL, NULL},
    };
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, 1, "_stop");
}
