/* Timing for benchmarks in scripts and the REPL:
 *   ml.now()          monotonic wall-clock seconds (a float, ~ns resolution)
 *   ml.Timer()        a stopwatch, running from creation:
 *                     t:elapsed(), t:reset(), t:stop(), t:resume(), tostring(t)
 *   ml.time(fn, [n])  calls fn() n times (default 1); returns the median and
 *                     the minimum seconds per call
 *
 * The Timer is a small userdata with its own metatable; its methods live in
 * a plain table reachable as getmetatable(t).methods, so the REPL completes
 * them like tensor methods. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <time.h>

#include "lbind.h"
#include "../core/clock.h"

#define TIMER_MT "moonlab.Timer"

/* CLOCK_MONOTONIC counts from boot, so a double keeps well under a
 * nanosecond of precision for years of uptime. */
static int l_now(lua_State *L) {
    lua_pushnumber(L, ml_monotonic_s());
    return 1;
}

/* ---- Timer ----------------------------------------------------------- */

typedef struct {
    double start;   /* when the current running span began */
    double banked;  /* seconds from earlier spans (before stop) */
    int running;
} ml_timer;

static ml_timer *check_timer(lua_State *L, const char *fn) {
    ml_timer *t = luaL_testudata(L, 1, TIMER_MT);
    if (!t) luaL_error(L, "%s: expected a Timer, got %s (call it as t:method())", fn, luaL_typename(L, 1));
    return t;
}

static double timer_elapsed(const ml_timer *t) {
    return t->banked + (t->running ? ml_monotonic_s() - t->start : 0.0);
}

static int l_timer_new(lua_State *L) {
    if (lua_gettop(L) > 0)
        return luaL_error(L, "ml.Timer: takes no arguments, got %s (to time a function use ml.time(fn, n))",
                          luaL_typename(L, 1));
    ml_timer *t = lua_newuserdatauv(L, sizeof *t, 0);
    t->banked = 0.0;
    t->running = 1;
    luaL_setmetatable(L, TIMER_MT);
    t->start = ml_monotonic_s(); /* last, so set-up is not timed */
    return 1;
}

static int l_timer_elapsed(lua_State *L) {
    lua_pushnumber(L, timer_elapsed(check_timer(L, "Timer:elapsed")));
    return 1;
}

/* Back to zero; keeps running (or stopped) as it was. Returns the timer. */
static int l_timer_reset(lua_State *L) {
    ml_timer *t = check_timer(L, "Timer:reset");
    t->banked = 0.0;
    t->start = ml_monotonic_s();
    lua_settop(L, 1);
    return 1;
}

/* Pauses the count; returns the elapsed seconds. Stopping twice is harmless. */
static int l_timer_stop(lua_State *L) {
    ml_timer *t = check_timer(L, "Timer:stop");
    if (t->running) {
        t->banked += ml_monotonic_s() - t->start;
        t->running = 0;
    }
    lua_pushnumber(L, t->banked);
    return 1;
}

static int l_timer_resume(lua_State *L) {
    ml_timer *t = check_timer(L, "Timer:resume");
    if (!t->running) {
        t->running = 1;
        t->start = ml_monotonic_s();
    }
    lua_settop(L, 1);
    return 1;
}

/* Seconds in the unit that keeps 1-3 digits before the point: "Timer: 1.234 ms". */
static void push_duration(lua_State *L, double s) {
    char buf[64];
    if (s < 1e-3) snprintf(buf, sizeof buf, "%.3f us", s * 1e6);
    else if (s < 1.0) snprintf(buf, sizeof buf, "%.3f ms", s * 1e3);
    else snprintf(buf, sizeof buf, "%.3f s", s);
    lua_pushstring(L, buf);
}

static int l_timer_tostring(lua_State *L) {
    ml_timer *t = check_timer(L, "Timer:__tostring");
    lua_pushliteral(L, "Timer: ");
    push_duration(L, timer_elapsed(t));
    if (!t->running) lua_pushliteral(L, " (stopped)");
    lua_concat(L, t->running ? 2 : 3);
    return 1;
}

/* ---- ml.time ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int l_time(lua_State *L) {
    if (lua_type(L, 1) != LUA_TFUNCTION)
        return luaL_error(L, "ml.time: argument #1: expected a function, got %s", luaL_typename(L, 1));
    lua_Integer n = luaL_optinteger(L, 2, 1);
    if (n < 1 || n > 100000000) return luaL_error(L, "ml.time: n must be between 1 and 1e8, got %d", (int)n);
    /* The samples live in a userdata so an error raised by fn frees them. */
    double *s = lua_newuserdatauv(L, (size_t)n * sizeof *s, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_pushvalue(L, 1);
        double t0 = ml_monotonic_s();
        lua_call(L, 0, 0);
        s[i] = ml_monotonic_s() - t0;
    }
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    lua_pushnumber(L, median);
    lua_pushnumber(L, s[0]);
    return 2;
}

void lb_open_time(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"elapsed", l_timer_elapsed}, {"reset", l_timer_reset}, {"stop", l_timer_stop},
        {"resume", l_timer_resume},   {NULL, NULL},
    };
    luaL_newmetatable(L, TIMER_MT);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    static const lb_doc method_docs[] = {
        {"Timing", NULL},
        {"elapsed", "timer:elapsed() -> number — the seconds counted so far"},
        {"reset", "timer:reset() -> timer — back to zero, running or stopped as it was"},
        {"stop", "timer:stop() -> number — pauses the count; returns the elapsed seconds"},
        {"resume", "timer:resume() -> timer — counts again after stop"},
        {NULL, NULL},
    };
    lb_add_docs(L, -1, method_docs);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "methods");
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_timer_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    static const luaL_Reg fns[] = {
        {"now", l_now}, {"Timer", l_timer_new}, {"time", l_time}, {NULL, NULL},
    };
    lb_setfuncs(L, 1, fns);

    static const lb_doc docs[] = {
        {"Timing", NULL},
        {"now", "ml.now() -> number — monotonic wall-clock seconds (a float, ~ns resolution)"},
        {"Timer", "ml.Timer() -> timer — a stopwatch running from creation: timer:elapsed(), :stop(), :resume(), :reset(), tostring(timer)"},
        {"time", "ml.time(fn, [n=1]) -> median, min — calls fn() n times; the median and minimum seconds per call"},
        {NULL, NULL},
    };
    lb_add_docs(L, 1, docs);
}
