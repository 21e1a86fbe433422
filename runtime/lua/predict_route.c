/* The routes of a worker's C predict path (runtime/net/predict.h), installed
 * from Lua by lualib/moonlab/serve/app.lua:
 *
 *   _http.predict_route(path, spec)   in a worker: path's POST requests go
 *       the C way until the route expires or declines; spec = {plan (an
 *       ml._train.plan), tail = "none"|"softmax"|"log_softmax", d, k,
 *       max_rows, model, model_json, version, version_label (its text),
 *       route, buckets = {...},
 *       generation, ttl (seconds), classes_json = {k strings} and
 *       class_names = {k strings} for a classifier, drift_x, drift_y
 *       (float64 tensors) or nil}
 *   _http.predict_route_drop([path])  the route of path, or every route
 *   _http.shared_generation() -> n    what spec.generation is read from,
 *       before the Lua path looks at the shared strings
 *
 * The spec table is anchored in the registry for the route's life, so the
 * strings, the plan and the tensors it holds outlive every pointer to them
 * here. */
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../net/predict.h"
#include "lbind.h"

#define ROUTES_KEY "moonlab.http.routes" /* registry of a worker state: its lb_routes (light userdata) */
#define MAX_ROUTES 32

typedef struct {
    char *path;
    int ref; /* the spec table */
    ml_predict_route r;
    void *block; /* the label arrays */
} route;

struct lb_routes {
    lua_State *L;
    ml_http_server *srv;
    route r[MAX_ROUTES];
    int n;
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

static void drop(lb_routes *rs, int i) {
    route *e = &rs->r[i];
    luaL_unref(rs->L, LUA_REGISTRYINDEX, e->ref);
    free(e->path);
    free(e->block);
    rs->r[i] = rs->r[--rs->n];
}

void lb_routes_free(lb_routes *rs) {
    if (!rs) return;
    while (rs->n) drop(rs, rs->n - 1);
    free(rs);
}

int lb_routes_try(lb_routes *rs, ml_http_exchange *x) {
    if (!rs || rs->n == 0 || strcmp(x->method, "POST") != 0) return 0;
    for (int i = 0; i < rs->n; i++) {
        if (strcmp(rs->r[i].path, x->path) != 0) continue;
        ml_predict_status st = ml_predict_try(&rs->r[i].r, rs->srv, x);
        if (st == ML_PREDICT_EXPIRED) drop(rs, i);
        return st == ML_PREDICT_ANSWERED;
    }
    return 0;
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
    if (r.max_rows > ml_train_plan_rows(r.plan)) r.max_rows = ml_train_plan_rows(r.plan);
    r.model_json = str_field(L, 2, "model_json");
    r.version = int_field(L, 2, "version");
    r.route = str_field(L, 2, "route");
    r.generation = (uint64_t)int_field(L, 2, "generation");
    lua_getfield(L, 2, "ttl");
    r.expires = ml_monotonic_s() + luaL_checknumber(L, -1);
    lua_pop(L, 1);

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

    int i = 0;
    while (i < rs->n && strcmp(rs->r[i].path, path) != 0) i++;
    if (i < rs->n) drop(rs, i);
    else if (rs->n == MAX_ROUTES) drop(rs, 0);
    char *p = strdup(path);
    if (!p) { free(block); return luaL_error(L, "_http.predict_route: not enough memory"); }
    lua_pushvalue(L, 2);
    route *e = &rs->r[rs->n++];
    e->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    e->path = p;
    e->block = block;
    e->r = r;
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
