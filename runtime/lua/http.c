/* ml._http: the binding of the HTTP layer (runtime/net/), used by
 * lualib/moonlab/http.lua, which checks the options and documents the API.
 *
 *   _http.serve{app, config (JSON text), host, port, workers, ...} -> server
 *   server:port(), server:stop([grace_s]), server:wait(), server:metrics_text()
 *   in a worker: metrics_add/observe/help/text, shared_set/get, acc_add/get, batch
 *   json_rows(text, keys) -> X | nil, rest_text | nil   (or nil, nil, "json"|"rows", message)
 *   request(method, url, body, names, values, timeout) -> status, body, headers
 *   raw_connect/raw_send/raw_recv/raw_close: sockets for the tests' malformed bytes
 *
 * Each worker thread owns a fresh moonlab Lua state made here the way
 * main.c makes the command's: the standard libraries, `require "moonlab"`,
 * the calling state's package.path and cpath (so the app is found where the
 * caller finds it), then moonlab.http's _worker_start(app, config) gives the
 * dispatch function that each exchange is passed to. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lualib.h>

#include "../core/parallel.h"
#include "../core/clock.h"
#include "../net/client.h"
#include "../net/json_rows.h"
#include "../net/server.h"
#include "lbind.h"

int luaopen_moonlab(lua_State *L);

#define SERVER_MT "moonlab.http.server"
#define SERVER_KEY "moonlab.http.server" /* registry of a worker state: its server (light userdata) */
#define EXE_KEY "moonlab.exe"            /* as in moonlab.c: where the command lives, to find lualib */

typedef struct {
    char *app, *config, *path, *cpath, *exe;
    int threads; /* each worker's share of ml.threads */
} setup;

typedef struct {
    ml_http_server *srv;
    setup *su;
} server_box;

/* A request whose handler is parked inside ml.http.batch: its coroutine
 * waits in the worker's state while the worker serves other requests. */
typedef struct parked_call {
    struct parked_call *next; /* in the worker's list of parked leaders */
    ml_http_exchange *x;
    lua_State *co;
    int co_ref;               /* the coroutine, anchored in the registry */
    ml_batch *bt;
    int leader, listed;
    int eager;                /* a leader that runs as soon as no one could join */
    double deadline;          /* a leader's: when its batch runs, full or not */
    int64_t n, off, d, row_bytes; /* the caller's rows in the batch, for its continuation */
    ml_dtype dtype;
} parked_call;

typedef struct {
    lua_State *L;
    int dispatch; /* registry ref */
    unsigned long served;
    ml_http_exchange *current; /* whose handler is running */
    lua_State *current_co;
    int current_ref;
    parked_call *parking;      /* what ml.http.batch parked in this run */
    parked_call *leaders;      /* this worker's parked leaders, for their deadlines */
    lb_routes *routes;         /* requests answered in C (predict_route.c) */
} worker_ctx;

#define WORKER_KEY "moonlab.http.worker" /* registry of a worker state: its worker_ctx (light userdata) */

static void setup_free(setup *su) {
    if (!su) return;
    free(su->app);
    free(su->config);
    free(su->path);
    free(su->cpath);
    free(su->exe);
    free(su);
}

/* ---- worker states ------------------------------------------------------- */

static int worker_boot(lua_State *L) {
    setup *su = lua_touserdata(L, 1);
    ml_http_server *srv = lua_touserdata(L, 2);
    lua_pushvalue(L, 3);
    lua_setfield(L, LUA_REGISTRYINDEX, WORKER_KEY);
    luaL_openlibs(L);
    if (su->exe) {
        lua_pushstring(L, su->exe);
        lua_setfield(L, LUA_REGISTRYINDEX, EXE_KEY);
    }
    luaL_requiref(L, "moonlab", luaopen_moonlab, 1);
    lua_setglobal(L, "ml");
    lua_getglobal(L, "package");
    lua_pushstring(L, su->path);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, su->cpath);
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    lua_pushlightuserdata(L, srv);
    lua_setfield(L, LUA_REGISTRYINDEX, SERVER_KEY);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "moonlab.http");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "_worker_start");
    lua_pushstring(L, su->app);
    lua_pushstring(L, su->config);
    lua_call(L, 2, 1); /* -> dispatch */
    if (!lua_isfunction(L, -1)) return luaL_error(L, "ml.http.serve: _worker_start gave no dispatch function");
    return 1;
}

static void *worker_init(void *ud, ml_http_server *srv, int index, char *err, size_t errlen) {
    (void)index;
    setup *su = ud;
    /* Each worker gets its share of the cores, so that N workers running
     * GEMMs at once do not start N teams of ml.threads threads each. */
    ml_set_threads(su->threads);
    lua_State *L = luaL_newstate();
    worker_ctx *w = calloc(1, sizeof *w);
    if (!L || !w) {
        snprintf(err, errlen, "ml.http.serve: cannot create a worker's Lua state: not enough memory");
        if (L) lua_close(L);
        free(w);
        return NULL;
    }
    lua_gc(L, LUA_GCINC, 200, 0, 0);
    lua_pushcfunction(L, worker_boot);
    lua_pushlightuserdata(L, su);
    lua_pushlightuserdata(L, srv);
    lua_pushlightuserdata(L, w);
    if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        snprintf(err, errlen, "%s", m ? m : "ml.http.serve: a worker failed to start (error object is not a string)");
        lua_close(L);
        free(w);
        return NULL;
    }
    w->L = L;
    w->dispatch = luaL_ref(L, LUA_REGISTRYINDEX);
    if (!(w->routes = lb_routes_new(L, srv))) {
        snprintf(err, errlen, "ml.http.serve: cannot create a worker: not enough memory");
        lua_close(L);
        free(w);
        return NULL;
    }
    return w;
}

static void push_pairs(lua_State *L, const char **names, const char **values, int n) {
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, values[i]);
        lua_setfield(L, -2, names[i]);
    }
}

static void unlist_leader(worker_ctx *w, parked_call *pc) {
    if (!pc->listed) return;
    for (parked_call **p = &w->leaders; *p; p = &(*p)->next)
        if (*p == pc) { *p = pc->next; break; }
    pc->listed = 0;
}

/* Runs (or resumes) the request's coroutine: dispatch(req) -> status, body,
 * content_type, headers, route (dispatch catches the handler's errors).
 * 1: it parked in ml.http.batch; 0: x holds the answer. */
static int run_request(worker_ctx *w, ml_http_exchange *x, lua_State *co, int co_ref, int nargs) {
    lua_State *L = w->L;
    w->current = x;
    w->current_co = co;
    w->current_ref = co_ref;
    w->parking = NULL;
    int nres = 0;
    int rc = lua_resume(co, L, nargs, &nres);
    w->current = NULL;
    if (rc == LUA_YIELD && w->parking) {
        parked_call *pc = w->parking;
        w->parking = NULL;
        pc->x = x;
        pc->co = co;
        pc->co_ref = co_ref;
        x->parked = pc;
        return 1;
    }
    x->parked = NULL;
    if (rc == LUA_YIELD) {
        ml_http_error_answer(x, 500, "the handler yielded (coroutine.yield is not allowed outside ml.http.batch)");
    } else if (rc != LUA_OK) {
        const char *m = lua_tostring(co, -1);
        fprintf(stderr, "http: %s %s: %s\n", x->method, x->path, m ? m : "(error object is not a string)");
        ml_http_error_answer(x, 500, m ? m : "internal error");
    } else {
        int b = lua_gettop(co) - nres; /* results at b+1 .. b+5 */
        x->status = (int)lua_tointeger(co, b + 1);
        size_t n;
        const char *body = lua_tolstring(co, b + 2, &n);
        if (body) ml_buf_add(&x->resp, body, n);
        const char *ct = lua_tostring(co, b + 3);
        if (ct) snprintf(x->content_type, sizeof x->content_type, "%s", ct);
        if (lua_istable(co, b + 4)) {
            lua_pushnil(co);
            while (lua_next(co, b + 4)) {
                if (lua_type(co, -2) == LUA_TSTRING && lua_type(co, -1) == LUA_TSTRING)
                    ml_http_add_header(x, lua_tostring(co, -2), lua_tostring(co, -1));
                lua_pop(co, 1);
            }
        }
        const char *route = lua_tostring(co, b + 5);
        if (route) snprintf(x->route, sizeof x->route, "%s", route);
    }
    luaL_unref(L, LUA_REGISTRYINDEX, co_ref); /* the coroutine is garbage now */
    if (++w->served % 256 == 0) lua_gc(L, LUA_GCSTEP, 0); /* keep Lua's own heap moving between bursts */
    lb_gc_account(L);
    return 0;
}

/* The Lua path of one exchange: its coroutine runs the dispatch. */
static int handle_in_lua(worker_ctx *w, ml_http_exchange *x) {
    lua_State *L = w->L;
    lua_settop(L, 0);
    lua_State *co = lua_newthread(L);
    int co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_rawgeti(co, LUA_REGISTRYINDEX, w->dispatch);
    lua_createtable(co, 0, 7);
    lua_pushstring(co, x->method);
    lua_setfield(co, -2, "method");
    lua_pushstring(co, x->path);
    lua_setfield(co, -2, "path");
    push_pairs(co, x->query_names, x->query_values, x->nquery);
    lua_setfield(co, -2, "query");
    push_pairs(co, x->header_names, x->header_values, x->nheaders);
    lua_setfield(co, -2, "headers");
    lua_pushlstring(co, x->body, x->body_len);
    lua_setfield(co, -2, "body");
    lua_pushstring(co, x->remote);
    lua_setfield(co, -2, "remote");
    return run_request(w, x, co, co_ref, 1);
}

static int worker_handle(void *ctx, ml_http_exchange *x) {
    worker_ctx *w = ctx;
    int fast = lb_routes_try(w->routes, x); /* 1: answered in C, 2: parked in a C batch */
    if (fast) return fast == 2;
    return handle_in_lua(w, x);
}

static void wake_exchange(void *arg) { ml_http_resume(arg); }

/* The connection is suspended now: park the call in its batch. */
static void worker_parked(void *ctx, ml_http_exchange *x) {
    worker_ctx *w = ctx;
    if (lb_routes_owns(w->routes, x)) return; /* its batch runs at the next tick */
    parked_call *pc = x->parked;
    int now = ml_batch_park(pc->bt, pc->leader, wake_exchange, x);
    if (now < 0) { /* could not park (out of memory): block as before */
        if (!pc->leader) ml_batch_wait(pc->bt, 30);
        now = 1;
    }
    if (now) ml_http_resume(x);
    else if (pc->leader) {
        pc->next = w->leaders;
        w->leaders = pc;
        pc->listed = 1;
    }
}

static int worker_resume(void *ctx, ml_http_exchange *x) {
    worker_ctx *w = ctx;
    if (lb_routes_owns(w->routes, x)) {
        if (!lb_routes_resume(w->routes, x)) return 0;
        return handle_in_lua(w, x); /* declined by the C path after all */
    }
    parked_call *pc = x->parked;
    unlist_leader(w, pc);
    int parked = run_request(w, x, pc->co, pc->co_ref, 0); /* the batch's continuation runs first */
    free(pc);
    return parked;
}

/* Leaders whose delay is over, the eager ones when the worker is idle
 * (idle 1: no request is coming in that could join), or all of them when
 * the server is stopping (idle 2), run their batch now. */
static int worker_tick(void *ctx, int idle) {
    worker_ctx *w = ctx;
    lb_routes_tick(w->routes, idle != 1); /* the C batches: what came in during the last turn runs now */
    if (!w->leaders) return -1;
    double now = ml_monotonic_s(), next = -1;
    for (parked_call **p = &w->leaders; *p;) {
        parked_call *pc = *p;
        if ((idle && pc->eager) || idle == 2 || now >= pc->deadline) {
            *p = pc->next;
            pc->listed = 0;
            if (ml_batch_claim(pc->bt)) ml_http_resume(pc->x); /* else a filler's wake is on its way */
            continue;
        }
        if (next < 0 || pc->deadline - now < next) next = pc->deadline - now;
        p = &pc->next;
    }
    return next < 0 ? -1 : (int)(next * 1000) + 1;
}

static void worker_close(void *ctx) {
    worker_ctx *w = ctx;
    lb_routes_free(w->routes);
    lua_close(w->L);
    free(w);
}

/* ---- the server object ---------------------------------------------------- */

static char *field_str(lua_State *L, int t, const char *k) {
    lua_getfield(L, t, k);
    const char *s = lua_tostring(L, -1);
    char *c = s ? strdup(s) : NULL;
    lua_pop(L, 1);
    return c;
}

static int l_serve(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    server_box *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->srv = NULL;
    box->su = NULL;
    luaL_setmetatable(L, SERVER_MT);
    setup *su = box->su = calloc(1, sizeof *su);
    if (!su) return luaL_error(L, "ml.http.serve: not enough memory");
    su->app = field_str(L, 1, "app");
    su->config = field_str(L, 1, "config");
    su->path = field_str(L, 1, "path");
    su->cpath = field_str(L, 1, "cpath");
    if (lua_getfield(L, LUA_REGISTRYINDEX, EXE_KEY) == LUA_TSTRING) su->exe = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    char *host = field_str(L, 1, "host"), *token = field_str(L, 1, "token");
    char *cert = field_str(L, 1, "tls_cert"), *key = field_str(L, 1, "tls_key");
    ml_http_config c = {
        .host = host,
        .port = (int)lb_opt_number_field(L, 1, "port", 8080),
        .workers = (int)lb_opt_number_field(L, 1, "workers", 2),
        .max_connections = (int)lb_opt_number_field(L, 1, "max_connections", 256),
        .timeout = (int)lb_opt_number_field(L, 1, "timeout", 10),
        .body_limit = (size_t)lb_opt_number_field(L, 1, "body_limit", 1048576),
        .token = token,
        .tls_cert = cert,
        .tls_key = key,
        .quiet = lb_opt_bool_field(L, 1, "quiet", 0),
        .worker_init = worker_init,
        .worker_handle = worker_handle,
        .worker_parked = worker_parked,
        .worker_resume = worker_resume,
        .worker_tick = worker_tick,
        .worker_close = worker_close,
        .ud = su,
    };
    int workers = c.workers > 0 ? c.workers : 1;
    su->threads = (int)lb_opt_number_field(L, 1, "worker_threads", 0);
    if (su->threads < 1) su->threads = ml_get_threads() / workers > 1 ? ml_get_threads() / workers : 1;
    char err[600] = "";
    if (su->app && su->config && su->path && su->cpath) box->srv = ml_http_start(&c, err, sizeof err);
    else snprintf(err, sizeof err, "ml.http.serve: not enough memory");
    free(host);
    free(token);
    free(cert);
    free(key);
    if (!box->srv) {
        lua_pushstring(L, err);
        return lua_error(L); /* the box's __gc frees the set-up */
    }
    return 1;
}

static server_box *check_server(lua_State *L) { return luaL_checkudata(L, 1, SERVER_MT); }

static int l_server_gc(lua_State *L) {
    server_box *b = check_server(L);
    ml_http_free(b->srv); /* stops it first */
    b->srv = NULL;
    setup_free(b->su);
    b->su = NULL;
    return 0;
}

static int l_server_port(lua_State *L) {
    server_box *b = check_server(L);
    if (!b->srv) return luaL_error(L, "http server: already closed");
    lua_pushinteger(L, ml_http_port(b->srv));
    return 1;
}

static int l_server_stop(lua_State *L) {
    server_box *b = check_server(L);
    double grace = luaL_optnumber(L, 2, 30);
    if (b->srv) ml_http_stop(b->srv, grace);
    return 0;
}

static volatile sig_atomic_t got_signal = 0;
static void on_signal(int sig) { got_signal = sig; }

/* Blocks until SIGINT or SIGTERM, then stops gracefully; returns the signal's name. */
static int l_server_wait(lua_State *L) {
    server_box *b = check_server(L);
    double grace = luaL_optnumber(L, 2, 30);
    if (!b->srv) return 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    got_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGINT);
    sigaddset(&unblock, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    while (!got_signal) {
        struct timespec t = {0, 50 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    ml_http_stop(b->srv, grace);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    lua_pushstring(L, got_signal == SIGINT ? "SIGINT" : "SIGTERM");
    return 1;
}

static int push_metrics_text(lua_State *L, ml_http_server *srv) {
    ml_buf b = {0};
    ml_http_metrics_text(srv, &b);
    if (b.failed) { ml_buf_free(&b); return luaL_error(L, "ml.http.metrics.text: not enough memory"); }
    lua_pushlstring(L, b.data ? b.data : "", b.len);
    ml_buf_free(&b);
    return 1;
}

static int l_server_metrics_text(lua_State *L) {
    server_box *b = check_server(L);
    if (!b->srv) return luaL_error(L, "http server: already closed");
    return push_metrics_text(L, b->srv);
}

/* ---- inside a worker: metrics, shared state ------------------------------ */

static ml_http_server *server_of(lua_State *L, const char *fn) {
    lua_getfield(L, LUA_REGISTRYINDEX, SERVER_KEY);
    ml_http_server *s = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!s) luaL_error(L, "%s: only inside a server's worker (or use the server object's methods)", fn);
    return s;
}

#define MAX_LABELS 16
/* Labels come from http.lua as one string "k1\0v1\0k2\0v2\0" (at idx, or nil):
 * the pointers stay valid while the argument is on the stack. */
static ml_labels get_labels(lua_State *L, int idx, const char **keys, const char **vals, const char *fn) {
    ml_labels l = {keys, vals, 0};
    size_t n = 0;
    const char *p = lua_tolstring(L, idx, &n), *end = p ? p + n : NULL;
    while (p && p < end) {
        if (l.n == MAX_LABELS) luaL_error(L, "%s: at most %d labels", fn, MAX_LABELS);
        keys[l.n] = p;
        p += strlen(p) + 1;
        vals[l.n] = p < end ? p : "";
        p += strlen(vals[l.n]) + 1;
        l.n++;
    }
    return l;
}

/* metrics_add(kind, name, labels, v, set) */
static int l_metrics_add(lua_State *L) {
    ml_http_server *s = server_of(L, "ml.http.metrics");
    const char *kind = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
    double v = luaL_checknumber(L, 4);
    int set = lua_toboolean(L, 5);
    const char *keys[MAX_LABELS], *vals[MAX_LABELS];
    ml_labels l = get_labels(L, 3, keys, vals, "ml.http.metrics");
    char err[256];
    ml_metric_type t = strcmp(kind, "counter") == 0 ? ML_METRIC_COUNTER : ML_METRIC_GAUGE;
    if (ml_metrics_add(ml_http_metrics(s), name, t, &l, v, set, err, sizeof err) < 0)
        return luaL_error(L, "ml.http.metrics.%s: %s", t == ML_METRIC_COUNTER ? "inc" : "set", err);
    return 0;
}

/* metrics_observe(name, labels, v, buckets|nil) */
static int l_metrics_observe(lua_State *L) {
    ml_http_server *s = server_of(L, "ml.http.metrics");
    const char *name = luaL_checkstring(L, 1);
    double v = luaL_checknumber(L, 3);
    double bounds[64];
    int nb = 0;
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        nb = (int)lua_rawlen(L, 4);
        if (nb < 1 || nb > 64) return luaL_error(L, "ml.http.metrics.observe: expected 1 to 64 buckets, got %d", nb);
        for (int i = 0; i < nb; i++) {
            lua_rawgeti(L, 4, i + 1);
            if (!lua_isnumber(L, -1)) return luaL_error(L, "ml.http.metrics.observe: bucket %d is not a number", i + 1);
            bounds[i] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    }
    const char *keys[MAX_LABELS], *vals[MAX_LABELS];
    ml_labels l = get_labels(L, 2, keys, vals, "ml.http.metrics.observe");
    char err[256];
    if (ml_metrics_observe(ml_http_metrics(s), name, &l, v, nb ? bounds : NULL, nb, err, sizeof err) < 0)
        return luaL_error(L, "ml.http.metrics.observe: %s", err);
    return 0;
}

static int l_metrics_help(lua_State *L) {
    ml_http_server *s = server_of(L, "ml.http.metrics");
    const char *name = luaL_checkstring(L, 1), *help = luaL_checkstring(L, 2), *kind = luaL_checkstring(L, 3);
    ml_metric_type t = strcmp(kind, "counter") == 0 ? ML_METRIC_COUNTER
                       : strcmp(kind, "gauge") == 0 ? ML_METRIC_GAUGE : ML_METRIC_HISTOGRAM;
    char err[256];
    if (ml_metrics_help(ml_http_metrics(s), name, help, t, err, sizeof err) < 0)
        return luaL_error(L, "ml.http.metrics.help: %s", err);
    return 0;
}

static int l_metrics_text(lua_State *L) { return push_metrics_text(L, server_of(L, "ml.http.metrics")); }

static int l_shared_set(lua_State *L) {
    ml_http_server *s = server_of(L, "ml.http.shared");
    size_t n;
    const char *k = luaL_checkstring(L, 1), *v = luaL_checklstring(L, 2, &n);
    if (ml_shared_set(ml_http_shared(s), k, v, n) < 0) return luaL_error(L, "ml.http.shared.set: not enough memory");
    return 0;
}

static int l_shared_get(lua_State *L) {
    ml_http_server *s = server_of(L, "ml.http.shared");
    size_t n = 0;
    char *v = ml_shared_get(ml_http_shared(s), luaL_checkstring(L, 1), &n);
    if (!v) return 0;
    lua_pushlstring(L, v, n);
    free(v);
    return 1;
}

static int l_acc_add(lua_State *L) {
    ml_http_server *s = server_of(L, "ml.http.shared");
    const char *k = luaL_checkstring(L, 1);
    ml_tensor *t = lb_check_tensor(L, 2, "ml.http.shared.acc_add");
    if (t->ndim != 1 || t->dtype != ML_FLOAT64 || !ml_is_contiguous(t))
        return luaL_error(L, "ml.http.shared.acc_add: expected a contiguous 1-D float64 tensor");
    char err[200];
    if (ml_shared_acc_add(ml_http_shared(s), k, ml_data(t), t->numel, err, sizeof err) < 0)
        return luaL_error(L, "ml.http.shared.acc_add: %s", err);
    return 0;
}

static int l_acc_get(lua_State *L) {
    ml_http_server *s = server_of(L, "ml.http.shared");
    int64_t n = 0;
    double *v = ml_shared_acc_get(ml_http_shared(s), luaL_checkstring(L, 1), &n);
    if (!v) return 0;
    ml_tensor *t = ml_empty(1, &n, ML_FLOAT64);
    if (t) memcpy(ml_data(t), v, (size_t)n * sizeof *v);
    free(v);
    lb_push_tensor(L, t);
    lb_gc_account(L);
    return 1;
}

/* ---- dynamic batching ------------------------------------------------------ */

/* Publishes the leader's results (the values at first..first+nres-1, checked
 * by http.lua to be contiguous tensors with `total` rows); NULL or a message. */
static const char *publish(lua_State *L, ml_batch *bt, int first, int nres, int64_t total) {
    ml_batch_out outs[ML_BATCH_MAX_OUT];
    int k = 0;
    for (; k < nres && k < ML_BATCH_MAX_OUT; k++) {
        ml_tensor *t = lb_test_tensor(L, first + k);
        if (!t || !ml_is_contiguous(t) || t->ndim < 1 || t->shape[0] != total) break;
        ml_batch_out *o = &outs[k];
        o->dtype = (int)t->dtype;
        o->ndim = t->ndim;
        memcpy(o->shape, t->shape, sizeof o->shape);
        o->bytes = (size_t)t->numel * ml_dtype_size(t->dtype);
        o->data = malloc(o->bytes ? o->bytes : 1);
        if (!o->data) break;
        memcpy(o->data, ml_data(t), o->bytes);
    }
    if (k < nres) {
        for (int i = 0; i < k; i++) free(outs[i].data);
        const char *m = "ml.http.batch: fn must return 1 to 4 contiguous tensors with one row per input row";
        ml_batch_finish(bt, NULL, 0, 0, m);
        return m;
    }
    ml_batch_finish(bt, outs, k, 0, NULL);
    return NULL;
}

/* The leader's run: fn (at index 5) on all rows; NULL or an error message
 * (with *status), the batch published either way. */
static const char *run_leader(lua_State *L, ml_batch *bt, int64_t d, int64_t row_bytes, ml_dtype dtype, int *status) {
    int64_t total = 0;
    const void *rows = ml_batch_gather(bt, 0, &total); /* the caller waited already */
    int64_t shape[2] = {total, d};
    ml_tensor *all = ml_empty(2, shape, dtype);
    const char *err = NULL;
    lua_settop(L, 5);
    if (!all) {
        err = "ml.http.batch: not enough memory";
        ml_batch_finish(bt, NULL, 0, 0, err);
        return err;
    }
    memcpy(ml_data(all), rows, (size_t)(total * row_bytes));
    lua_pushvalue(L, 5);
    lb_push_tensor(L, all);
    if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK) {
        /* a {status, error} table keeps its status; anything else is a plain error */
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "status");
            *status = (int)lua_tointeger(L, -1);
            lua_getfield(L, -2, "error");
            lua_replace(L, -3);
            lua_pop(L, 1);
        }
        err = lua_tostring(L, -1);
        if (!err) err = "ml.http.batch: fn raised a non-string error";
        ml_batch_finish(bt, NULL, 0, *status, err);
        return err;
    }
    int nres = lua_gettop(L) - 5;
    if (nres < 1 || nres > ML_BATCH_MAX_OUT) {
        err = "ml.http.batch: fn must return 1 to 4 tensors";
        ml_batch_finish(bt, NULL, 0, 0, err);
        return err;
    }
    return publish(L, bt, 6, nres, total);
}

/* The caller's own rows of each output (or nil, status, message). */
static int batch_result(lua_State *L, ml_batch *bt, int64_t n, int64_t off, const char *err, int status) {
    if (err) {
        lua_pushnil(L);
        lua_pushinteger(L, status);
        lua_pushstring(L, err);
        ml_batch_release(bt);
        return 3;
    }
    int nout;
    const ml_batch_out *outs = ml_batch_outputs(bt, &nout);
    luaL_checkstack(L, nout + 2, "ml.http.batch");
    for (int i = 0; i < nout; i++) {
        int64_t shape[ML_MAX_DIMS];
        memcpy(shape, outs[i].shape, sizeof shape);
        shape[0] = n;
        ml_tensor *t = ml_empty(outs[i].ndim, shape, (ml_dtype)outs[i].dtype);
        if (!t) { ml_batch_release(bt); return luaL_error(L, "ml.http.batch: not enough memory"); }
        size_t row = outs[i].bytes / (size_t)outs[i].shape[0];
        memcpy(ml_data(t), (const char *)outs[i].data + (size_t)off * row, (size_t)n * row);
        lb_push_tensor(L, t);
    }
    ml_batch_release(bt);
    lb_gc_account(L);
    return nout;
}

/* A parked call resumed (its parked_call lives until worker_resume returns). */
static int batch_continue(lua_State *L, int st, lua_KContext k) {
    (void)st;
    const parked_call *pc = (const parked_call *)k;
    ml_batch *bt = pc->bt;
    int status = 0;
    const char *err = NULL;
    if (pc->leader) err = run_leader(L, bt, pc->d, pc->row_bytes, pc->dtype, &status);
    else if (ml_batch_wait(bt, 0) > 0) err = ml_batch_error(bt, &status);
    return batch_result(L, bt, pc->n, pc->off, err, status);
}

/* A call that cannot park runs fn on a copy of its own rows at once: an
 * inner coroutine of the handler, a function called from C (a sort's
 * comparator), or a call finishing for a client that left. Blocking the
 * worker for a batch instead could wait on a leader parked on this very
 * worker, which cannot run while it blocks (30 s, the worker stalled). */
static int batch_alone(lua_State *L, ml_tensor *X, int64_t bytes) {
    ml_tensor *all = ml_empty(X->ndim, X->shape, X->dtype);
    if (!all) return luaL_error(L, "ml.http.batch: not enough memory");
    memcpy(ml_data(all), ml_data(X), (size_t)bytes);
    lua_settop(L, 5);
    lua_pushvalue(L, 5);
    lb_push_tensor(L, all);
    lb_gc_account(L);
    lua_call(L, 1, LUA_MULTRET); /* fn's errors are the call's, as a batch's are */
    return lua_gettop(L) - 5;
}

/* batch(key, X, max_batch, max_delay_ms, fn, eager) -> Y1..Yk | nil, status, message
 * In a server's worker the call parks (its coroutine yields and the worker
 * serves other requests) until its batch is run (its leader runs by its
 * deadline at the latest); where it cannot park it runs alone. */
static int l_batch(lua_State *L) {
    ml_http_server *s = server_of(L, "ml.http.batch");
    const char *key = luaL_checkstring(L, 1);
    ml_tensor *X = lb_check_tensor(L, 2, "ml.http.batch");
    int64_t max_batch = luaL_checkinteger(L, 3);
    double delay = luaL_checknumber(L, 4) / 1000.0;
    luaL_checktype(L, 5, LUA_TFUNCTION);
    int eager = lua_isnoneornil(L, 6) || lua_toboolean(L, 6);
    if (X->ndim != 2 || !ml_is_contiguous(X)) return luaL_error(L, "ml.http.batch: X must be a contiguous 2-D tensor");
    int64_t n = X->shape[0], d = X->shape[1], row_bytes = d * (int64_t)ml_dtype_size(X->dtype);
    lua_getfield(L, LUA_REGISTRYINDEX, WORKER_KEY);
    worker_ctx *w = lua_touserdata(L, -1);
    lua_pop(L, 1);
    int can_park = w && w->current && !w->current->abandoned && w->current_co == L && lua_isyieldable(L);
    if (!can_park) return batch_alone(L, X, n * row_bytes);
    parked_call *pc = calloc(1, sizeof *pc);
    if (!pc) return luaL_error(L, "ml.http.batch: not enough memory");
    int leader = 0;
    int64_t off = 0;
    ml_batch *bt = ml_batch_join(ml_http_batcher(s), key, ml_data(X), n, row_bytes, (int)X->dtype, max_batch, &leader, &off);
    if (!bt) { free(pc); return luaL_error(L, "ml.http.batch: not enough memory"); }
    lua_settop(L, 5);
    pc->bt = bt;
    pc->leader = leader;
    pc->deadline = ml_monotonic_s() + delay;
    pc->eager = eager;
    pc->n = n, pc->off = off, pc->d = d, pc->row_bytes = row_bytes, pc->dtype = X->dtype;
    w->parking = pc;
    return lua_yieldk(L, 0, (lua_KContext)pc, batch_continue);
}

/* ---- json_rows ------------------------------------------------------------- */

static int l_json_rows(lua_State *L) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    luaL_checktype(L, 2, LUA_TTABLE);
    const char *keys[8];
    int nk = 0;
    for (; nk < 8; nk++) {
        lua_rawgeti(L, 2, nk + 1);
        keys[nk] = lua_tostring(L, -1); /* anchored by the table */
        lua_pop(L, 1);
        if (!keys[nk]) break;
    }
    ml_json_rows r;
    char err[256];
    int rc = ml_json_rows_parse(text, len, keys, nk, &r, err, sizeof err);
    if (rc < 0) {
        ml_json_rows_free(&r);
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushstring(L, rc == -1 ? "json" : "rows");
        lua_pushstring(L, err);
        return 4;
    }
    if (!r.numeric) {
        ml_json_rows_free(&r);
        return 0;
    }
    int64_t shape[2] = {r.n, r.d};
    ml_tensor *X = ml_empty(2, shape, ML_FLOAT32);
    if (X) ml_json_rows_fill(&r, ml_data(X));
    ml_buf rest = {0};
    if (r.members == 1) ml_buf_add(&rest, "{}", 2); /* the rows were all */
    else ml_json_rows_rest(text, len, r.member, &rest);
    ml_json_rows_free(&r);
    if (!X || rest.failed) {
        ml_release(X);
        ml_buf_free(&rest);
        return luaL_error(L, "ml.http.json_rows: not enough memory");
    }
    lb_push_tensor(L, X);
    lua_pushlstring(L, rest.data, rest.len);
    ml_buf_free(&rest);
    lb_gc_account(L);
    return 2;
}

/* ---- the client ------------------------------------------------------------ */

static int l_request(lua_State *L) {
    const char *method = luaL_checkstring(L, 1), *url = luaL_checkstring(L, 2);
    size_t blen = 0;
    const char *body = luaL_optlstring(L, 3, NULL, &blen);
    luaL_checktype(L, 4, LUA_TTABLE);
    luaL_checktype(L, 5, LUA_TTABLE);
    double timeout = luaL_checknumber(L, 6);
    int nh = (int)lua_rawlen(L, 4);
    if (nh > 64) return luaL_error(L, "http.request: at most 64 headers");
    const char *names[64], *values[64];
    for (int i = 0; i < nh; i++) {
        lua_rawgeti(L, 4, i + 1);
        names[i] = lua_tostring(L, -1);
        lua_rawgeti(L, 5, i + 1);
        values[i] = lua_tostring(L, -1);
        lua_pop(L, 2); /* the tables anchor them */
        if (!names[i] || !values[i]) return luaL_error(L, "http.request: header %d is not a string", i + 1);
    }
    ml_http_reply r;
    char err[600];
    int rc = ml_http_fetch(method, url, names, values, nh, body, blen, timeout, &r, err, sizeof err);
    if (rc < 0) {
        ml_http_reply_free(&r);
        return luaL_error(L, "http.request: %s", err);
    }
    lua_pushinteger(L, r.status);
    lua_pushlstring(L, r.body.data ? r.body.data : "", r.body.len);
    lua_createtable(L, 0, r.nheaders);
    const char *h = r.headers.data;
    for (int i = 0; h && i < r.nheaders; i++) {
        const char *v = h + strlen(h) + 1;
        lua_pushstring(L, v);
        lua_setfield(L, -2, h);
        h = v + strlen(v) + 1;
    }
    ml_http_reply_free(&r);
    return 3;
}

/* ---- raw sockets for the tests --------------------------------------------- */

static int l_raw_connect(lua_State *L) {
    char err[256];
    int fd = ml_net_connect(luaL_checkstring(L, 1), (int)luaL_checkinteger(L, 2), luaL_optnumber(L, 3, 5), err, sizeof err);
    if (fd < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushinteger(L, fd);
    return 1;
}

static int l_raw_send(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    lua_pushboolean(L, ml_net_send_all((int)luaL_checkinteger(L, 1), s, n, luaL_optnumber(L, 3, 5)) == 0);
    return 1;
}

/* raw_recv(fd, timeout) -> bytes ("" on time-out), closed */
static int l_raw_recv(lua_State *L) {
    char buf[65536];
    int closed = 0;
    long k = ml_net_recv((int)luaL_checkinteger(L, 1), buf, sizeof buf, luaL_optnumber(L, 2, 1), &closed);
    lua_pushlstring(L, buf, k > 0 ? (size_t)k : 0);
    lua_pushboolean(L, closed || k < 0);
    return 2;
}

/* sleep(seconds): for test apps (a slow handler that holds no CPU) */
static int l_sleep(lua_State *L) {
    double s = luaL_checknumber(L, 1);
    if (s > 0) {
        struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
        while (nanosleep(&t, &t) != 0) {}
    }
    return 0;
}

static int l_raw_close(lua_State *L) {
    close((int)luaL_checkinteger(L, 1));
    return 0;
}

void lb_open_http(lua_State *L) {
    luaL_newmetatable(L, SERVER_MT);
    static const luaL_Reg methods[] = {
        {"port", l_server_port}, {"stop", l_server_stop}, {"wait", l_server_wait},
        {"metrics_text", l_server_metrics_text}, {NULL, NULL},
    };
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_server_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_server_gc);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"serve", l_serve},
        {"metrics_add", l_metrics_add},
        {"metrics_observe", l_metrics_observe},
        {"metrics_help", l_metrics_help},
        {"metrics_text", l_metrics_text},
        {"shared_set", l_shared_set},
        {"shared_get", l_shared_get},
        {"acc_add", l_acc_add},
        {"acc_get", l_acc_get},
        {"batch", l_batch},
        {"json_rows", l_json_rows},
        {"request", l_request},
        {"raw_connect", l_raw_connect},
        {"raw_send", l_raw_send},
        {"raw_recv", l_raw_recv},
        {"raw_close", l_raw_close},
        {"sleep", l_sleep},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lb_predict_route_register(L, lua_gettop(L));
    lua_setfield(L, 1, "_http");
}
