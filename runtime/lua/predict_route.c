/* The routes of a worker's C predict path (runtime/net/predict.h), installed
 * from Lua by lualib/moonlab/serve/app.lua:
 *
 *   _http.predict_route(path, spec)   in a worker: path's POST requests go
 *       the C way until the route expires or declines; spec = {plan (an
 *       ml._train.plan), tail = "none"|"softmax"|"log_softmax", d, k,
 *       max_rows, model, model_json, version, version_label (its text),
 *       route, buckets = {...}, max_batch (1: each request alone),
 *       generation, ttl (seconds), classes_json = {k strings} and
 *       class_names = {k strings} for a classifier, drift_x, drift_y
 *       (float64 tensors) or nil}
 *   _http.predict_route_drop([path])  the route of path, or every route
 *   _http.shared_generation() -> n    what spec.generation is read from,
 *       before the Lua path looks at the shared strings
 *
 * The spec table is anchored in the registry for the route's life, so the
 * strings, the plan and the tensors it holds outlive every pointer to them
 * here.
 *
 * Batching (max_batch > 1): a request read is parked (its connection
 * suspended) with its rows copied into the route's open batch; at the next
 * turn of the worker's loop (lb_routes_tick, before it polls again) each
 * batch runs as one forward and its requests are resumed with their
 * answers. So the requests that arrived together share a forward pass and
 * none waits for more to come: the batch is what was ready, up to
 * max_batch rows. A request whose answer the C path cannot write is resumed
 * as declined and takes the Lua path (lb_routes_resume says which). While
 * requests come one at a time (fewer than two in a turn) each is answered at
 * once: parking would cost it a suspend and a resume and save nothing. */
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../net/predict.h"
#include "lbind.h"

#define ROUTES_KEY "moonlab.http.routes" /* registry of a worker state: its lb_routes (light userdata) */
#define MAX_ROUTES 32

typedef struct batch {
    struct batch *next;
    int nx, cap_x;
    ml_http_exchange **xs;
    int64_t *counts;
    unsigned char *declined;
    int64_t nrows;
    float *rows; /* (max_batch, d) */
} batch;

typedef struct {
    char *path;
    int ref;     /* the spec table */
    int expired; /* takes no more requests; dropped once its batches ran */
    ml_predict_route r;
    void *block; /* the label arrays */
    batch *open, *done; /* batches waiting for the next turn (first in first out), and spare ones */
} route;

struct lb_routes {
    lua_State *L;
    ml_http_server *srv;
    route r[MAX_ROUTES];
    int n;
    int npending;             /* batches waiting, over all routes */
    int seen, seen_before;    /* C requests read in this turn of the loop, and in the one before */
    char parked_tag, declined_tag; /* x->parked of a request waiting in a batch / sent back to the Lua path */
};

lb_routes *lb_routes_new(lua_State *L, ml_http_server *srv) {
    lb_routes *rs = calloc(1, sizeof *rs);
    if (!rs) return NULL;
    rs->L = L;
    rs->srv = srv;
    lua_pushlightuserdata(L, rs);
    lua_setfield(L, LUA_REGISTRYINDEX, ROUTES_KEY);
    return rs;
}

static void batch_free(batch *b) {
    while (b) {
        batch *next = b->next;
        free(b->xs);
        free(b->counts);
        free(b->declined);
        free(b->rows);
        free(b);
        b = next;
    }
}

static void drop(lb_routes *rs, int i) {
    route *e = &rs->r[i];
    luaL_unref(rs->L, LUA_REGISTRYINDEX, e->ref);
    free(e->path);
    free(e->block);
    batch_free(e->open);
    batch_free(e->done);
    rs->r[i] = rs->r[--rs->n];
}

void lb_routes_free(lb_routes *rs) {
    if (!rs) return;
    while (rs->n) drop(rs, rs->n - 1);
    free(rs);
}

/* The route's batch with room for n more rows and one more request (a new one at the end if the last is
 * full), or NULL on out of memory. */
static batch *batch_for(route *e, int64_t n) {
    batch **p = &e->open, *last = NULL;
    while (*p) last = *p, p = &(*p)->next;
    if (last && last->nrows + n <= e->r.max_batch && last->nx < last->cap_x) return last;
    batch *b = e->done;
    if (b) e->done = b->next;
    else {
        int cap = e->r.max_batch < 256 ? (int)e->r.max_batch : 256;
        b = calloc(1, sizeof *b);
        if (!b) return NULL;
        b->cap_x = cap;
        b->xs = malloc(sizeof *b->xs * cap);
        b->counts = malloc(sizeof *b->counts * cap);
        b->declined = malloc(cap);
        b->rows = malloc(sizeof(float) * (size_t)(e->r.max_batch * e->r.d));
        if (!b->xs || !b->counts || !b->declined || !b->rows) { batch_free(b); return NULL; }
    }
    b->next = NULL;
    b->nx = 0;
    b->nrows = 0;
    *p = b;
    return b;
}

int lb_routes_try(lb_routes *rs, ml_http_exchange *x) {
    if (!rs || rs->n == 0 || strcmp(x->method, "POST") != 0) return 0;
    for (int i = 0; i < rs->n; i++) {
        route *e = &rs->r[i];
        if (e->expired || strcmp(e->path, x->path) != 0) continue;
        /* a batch costs its requests a suspend and a resume (libmicrohttpd's epoll set and wake-ups):
         * worth it when requests come in together, which the last turn tells (or one is open already) */
        rs->seen++;
        if (e->r.max_batch <= 1 || (!e->open && rs->seen_before < 2 && rs->seen < 2)) {
            ml_predict_status st = ml_predict_try(&e->r, rs->srv, x);
            if (st == ML_PREDICT_EXPIRED) {
                if (e->open) e->expired = 1;
                else drop(rs, i);
            }
            return st == ML_PREDICT_OK;
        }
        float *X;
        int64_t n;
        ml_predict_status st = ml_predict_read(&e->r, rs->srv, x, &X, &n);
        if (st == ML_PREDICT_EXPIRED) e->expired = 1; /* dropped by the tick, once its batches ran */
        if (st != ML_PREDICT_OK) return 0;
        batch *b = batch_for(e, n);
        if (!b) { free(X); return 0; }
        memcpy(b->rows + b->nrows * e->r.d, X, sizeof(float) * (size_t)(n * e->r.d));
        free(X);
        b->xs[b->nx] = x;
        b->counts[b->nx++] = n;
        b->nrows += n;
        if (b->nx == 1) rs->npending++;
        x->parked = &rs->parked_tag;
        return 2;
    }
    return 0;
}

/* Runs every waiting batch and resumes its requests; drops expired routes with none left. */
/* One batch as one forward; its requests resumed with their answers (or sent back to the Lua path). */
static void run_batch(lb_routes *rs, route *e, batch *b) {
    ml_predict_run(&e->r, rs->srv, b->rows, b->nrows, b->xs, b->counts, b->nx, b->declined);
    for (int j = 0; j < b->nx; j++) {
        if (!b->xs[j]) continue; /* its client hung up */
        if (b->declined[j]) b->xs[j]->parked = &rs->declined_tag;
        ml_http_resume(b->xs[j]);
    }
}

int lb_routes_tick(lb_routes *rs, int new_turn) {
    if (!rs) return -1;
    if (new_turn) rs->seen_before = rs->seen, rs->seen = 0;
    for (int i = 0; rs->npending && i < rs->n; i++) {
        route *e = &rs->r[i];
        while (e->open) {
            batch *b = e->open;
            e->open = b->next;
            run_batch(rs, e, b);
            b->next = e->done;
            e->done = b;
        }
    }
    rs->npending = 0;
    for (int i = rs->n - 1; i >= 0; i--) /* every batch has run: expired routes can go */
        if (rs->r[i].expired) drop(rs, i);
    return -1;
}

int lb_routes_owns(const lb_routes *rs, const ml_http_exchange *x) {
    return rs && (x->parked == &rs->parked_tag || x->parked == &rs->declined_tag);
}

/* 1 when the Lua path must answer x (declined), 0 when x holds its answer or nobody waits for one. */
int lb_routes_resume(lb_routes *rs, ml_http_exchange *x) {
    int declined = x->parked == &rs->declined_tag;
    x->parked = NULL;
    if (x->abandoned) { /* still waiting in a batch: forget it (its rows run for no one) */
        for (int i = 0; i < rs->n; i++)
            for (batch *b = rs->r[i].open; b; b = b->next)
                for (int j = 0; j < b->nx; j++)
                    if (b->xs[j] == x) b->xs[j] = NULL;
        return 0;
    }
    return declined;
}

static lb_routes *routes_of(lua_State *L, const char *fn) {
    lua_getfield(L, LUA_REGISTRYINDEX, ROUTES_KEY);
    lb_routes *rs = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!rs) luaL_error(L, "%s: only inside a server's worker", fn);
    return rs;
}

/* The string / integer / number field k of the table at t. */
static const char *str_field(lua_State *L, int t, const char *k) {
    lua_getfield(L, t, k);
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1); /* anchored by the table */
    if (!s) luaL_error(L, "_http.predict_route: spec.%s must be a string", k);
    return s;
}
static lua_Integer int_field(lua_State *L, int t, const char *k) {
    lua_getfield(L, t, k);
    int ok;
    lua_Integer v = lua_tointegerx(L, -1, &ok);
    lua_pop(L, 1);
    if (!ok) luaL_error(L, "_http.predict_route: spec.%s must be an integer", k);
    return v;
}
static double *f64_field(lua_State *L, int t, const char *k, int64_t n) {
    lua_getfield(L, t, k);
    ml_tensor *v = lb_test_tensor(L, -1);
    lua_pop(L, 1);
    if (!v) return NULL;
    if (v->dtype != ML_FLOAT64 || !ml_is_contiguous(v) || v->numel != n)
        luaL_error(L, "_http.predict_route: spec.%s must be a contiguous float64 tensor of %d values", k, (int)n);
    return ml_data(v);
}

static const char *const LABEL_KEYS[] = {"model", "version", "class"};

static int l_predict_route(lua_State *L) {
    lb_routes *rs = routes_of(L, "_http.predict_route");
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    ml_predict_route r = {0};
    lua_getfield(L, 2, "plan");
    r.plan = lb_train_plan_of(L, -1);
    lua_pop(L, 1);
    static const char *const tails[] = {"none", "softmax", "log_softmax", NULL};
    lua_getfield(L, 2, "tail");
    r.tail = (ml_predict_tail)luaL_checkoption(L, -1, "none", tails);
    lua_pop(L, 1);
    r.d = int_field(L, 2, "d"), r.k = int_field(L, 2, "k");
    if (r.d != ml_train_plan_in_width(r.plan) || r.k != ml_train_plan_out_width(r.plan) || r.k < 1)
        return luaL_error(L, "_http.predict_route: spec.d and spec.k must be the plan's widths");
    r.max_rows = int_field(L, 2, "max_rows");
    r.max_batch = int_field(L, 2, "max_batch");
    int64_t rows = ml_train_plan_rows(r.plan);
    if (r.max_batch < 1) r.max_batch = 1;
    if (r.max_batch > rows) r.max_batch = rows;
    if (r.max_rows > rows) r.max_rows = rows;
    if (r.max_batch > 1 && r.max_rows > r.max_batch) r.max_rows = r.max_batch;
    r.model_json = str_field(L, 2, "model_json");
    r.version = int_field(L, 2, "version");
    r.route = str_field(L, 2, "route");
    r.generation = (uint64_t)int_field(L, 2, "generation");
    lua_getfield(L, 2, "ttl");
    r.ttl = luaL_checknumber(L, -1);
    r.expires = ml_monotonic_s() + r.ttl;
    lua_pop(L, 1);
    /* the same spec again (the Lua path answered a request the route sent it): the route stays */
    for (int i = 0; i < rs->n; i++) {
        route *e = &rs->r[i];
        if (e->expired || e->r.generation != r.generation || strcmp(e->path, path) != 0) continue;
        lua_rawgeti(L, LUA_REGISTRYINDEX, e->ref);
        int same = lua_rawequal(L, -1, 2);
        lua_pop(L, 1);
        if (same) {
            e->r.expires = r.expires;
            return 0;
        }
    }

    lua_getfield(L, 2, "classes_json");
    int classifier = lua_istable(L, -1);
    lua_pop(L, 1);
    if (classifier && r.k < 2) return luaL_error(L, "_http.predict_route: a classifier needs k >= 2 outputs");
    if (!classifier && r.k != 1) return luaL_error(L, "_http.predict_route: a regressor needs k == 1 output");
    lua_getfield(L, 2, "buckets");
    int nb = (int)lua_rawlen(L, -1);
    lua_pop(L, 1);
    if (nb < 1 || nb > 64) return luaL_error(L, "_http.predict_route: spec.buckets must hold 1 to 64 bounds");
    int64_t k = classifier ? r.k : 0;
    /* one block: buckets, class JSON pointers, the labels' value arrays and the class labels */
    size_t size = sizeof(double) * nb + sizeof(char *) * k + sizeof(char *) * (3 + 3 * k) + sizeof(ml_labels) * k;
    char *block = malloc(size), *c = block;
    if (!block) return luaL_error(L, "_http.predict_route: not enough memory");
    double *buckets = (double *)c;
    c += sizeof(double) * nb;
    const char **class_json = (const char **)c;
    c += sizeof(char *) * k;
    const char **vals = (const char **)c;
    c += sizeof(char *) * (3 + 3 * k);
    ml_labels *class_labels = (ml_labels *)c;
    lua_getfield(L, 2, "buckets");
    for (int i = 0; i < nb; i++) {
        lua_rawgeti(L, -1, i + 1);
        buckets[i] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, 2, "version_label");
    const char *version_label = lua_tostring(L, -1);
    lua_pop(L, 1);
    const char *model = str_field(L, 2, "model");
    if (!version_label) { free(block); return luaL_error(L, "_http.predict_route: spec.version_label must be a string"); }
    vals[0] = model, vals[1] = version_label, vals[2] = NULL;
    r.model_labels = (ml_labels){LABEL_KEYS, vals, 1};
    r.version_labels = (ml_labels){LABEL_KEYS, vals, 2};
    if (classifier) {
        lua_getfield(L, 2, "classes_json");
        lua_getfield(L, 2, "class_names");
        for (int64_t i = 0; i < k; i++) {
            lua_rawgeti(L, -2, i + 1);
            lua_rawgeti(L, -2, i + 1);
            class_json[i] = lua_tostring(L, -2);
            const char **v = vals + 3 + 3 * i;
            v[0] = model, v[1] = version_label, v[2] = lua_tostring(L, -1);
            lua_pop(L, 2);
            if (!class_json[i] || !v[2]) {
                free(block);
                return luaL_error(L, "_http.predict_route: spec.classes_json and class_names must hold %d strings", (int)k);
            }
            class_labels[i] = (ml_labels){LABEL_KEYS, v, 3};
        }
        lua_pop(L, 2);
        r.class_json = class_json;
        r.class_labels = class_labels;
    }
    r.batch_buckets = buckets, r.nbatch_buckets = nb;
    r.drift_x = f64_field(L, 2, "drift_x", 1 + 2 * r.d);
    r.drift_y = classifier ? f64_field(L, 2, "drift_y", r.k) : NULL;

    for (int i = rs->n - 1; i >= 0; i--) /* the path's old route: gone, or once its batches ran */
        if (strcmp(rs->r[i].path, path) == 0) {
            if (rs->r[i].open) rs->r[i].expired = 1;
            else drop(rs, i);
        }
    for (int i = 0; i < rs->n && rs->n == MAX_ROUTES; i++)
        if (!rs->r[i].open) drop(rs, i);
    if (rs->n == MAX_ROUTES) { free(block); return 0; } /* every route busy: this one stays on the Lua path */
    char *p = strdup(path);
    if (!p) { free(block); return luaL_error(L, "_http.predict_route: not enough memory"); }
    lua_pushvalue(L, 2);
    route *e = &rs->r[rs->n++];
    e->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    e->path = p;
    e->block = block;
    e->r = r;
    e->expired = 0;
    e->open = e->done = NULL;
    return 0;
}

static int l_predict_route_drop(lua_State *L) {
    lb_routes *rs = routes_of(L, "_http.predict_route_drop");
    const char *path = luaL_optstring(L, 1, NULL);
    for (int i = rs->n - 1; i >= 0; i--)
        if (!path || strcmp(rs->r[i].path, path) == 0) drop(rs, i);
    return 0;
}

static int l_shared_generation(lua_State *L) {
    lb_routes *rs = routes_of(L, "_http.shared_generation");
    lua_pushinteger(L, (lua_Integer)ml_shared_generation(ml_http_shared(rs->srv)));
    return 1;
}

void lb_predict_route_register(lua_State *L, int t) {
    static const luaL_Reg fns[] = {{"predict_route", l_predict_route}, {"predict_route_drop", l_predict_route_drop},
                                   {"shared_generation", l_shared_generation}, {NULL, NULL}};
    lb_setfuncs(L, t, fns);
}
