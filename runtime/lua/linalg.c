/* Matrix products and the threads knob. */
#include "../ops/ops.h"
#include "lbind.h"

static int l_matmul(lua_State *L) {
    lb_push_tensor(L, ml_matmul(lb_check_tensor(L, 1, "matmul"), lb_check_tensor(L, 2, "matmul")));
    return 1;
}

/* Aliases of matmul, as distinct functions so tracebacks name the one called. */
static int l_mm(lua_State *L) { return l_matmul(L); }
static int l_bmm(lua_State *L) { return l_matmul(L); }
static int l_mv(lua_State *L) { return l_matmul(L); }

static int l_dot(lua_State *L) {
    lb_push_tensor(L, ml_dot(lb_check_tensor(L, 1, "dot"), lb_check_tensor(L, 2, "dot")));
    return 1;
}

static int l_outer(lua_State *L) {
    lb_push_tensor(L, ml_outer(lb_check_tensor(L, 1, "outer"), lb_check_tensor(L, 2, "outer")));
    return 1;
}

/* ml.addmm(bias, a, b, [{beta=1, alpha=1}]) = beta * bias + alpha * a @ b, in one BLAS call */
static int l_addmm(lua_State *L) {
    ml_tensor *bias = lb_check_tensor(L, 1, "addmm");
    ml_tensor *a = lb_check_tensor(L, 2, "addmm"), *b = lb_check_tensor(L, 3, "addmm");
    static const char *const known[] = {"beta", "alpha", NULL};
    lb_check_options(L, 4, "addmm", known);
    double beta = lb_opt_number_field(L, 4, "beta", 1), alpha = lb_opt_number_field(L, 4, "alpha", 1);
    lb_push_tensor(L, ml_addmm(bias, a, b, beta, alpha));
    return 1;
}

/* ml.threads([n]): sets the threads of OpenBLAS, oneDNN and moonlab's own loops; returns the count */
static int l_threads(lua_State *L) {
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer n = luaL_checkinteger(L, 1);
        if (n < 1 || n > 1024) return luaL_error(L, "ml.threads: expected 1 to 1024 threads, got %d", (int)n);
        ml_set_threads((int)n);
    }
    lua_pushinteger(L, ml_get_threads());
    return 1;
}

static const luaL_Reg funcs[] = {
    {"matmul", l_matmul}, {"mm", l_mm}, {"bmm", l_bmm}, {"mv", l_mv},
    {"dot", l_dot}, {"outer", l_outer}, {"addmm", l_addmm}, {NULL, NULL},
};

static const lb_doc docs[] = {
    {"Linear algebra", NULL},
    {"matmul", "a:matmul(b) -> tensor — matrix product (oneDNN or OpenBLAS by shape, see ml.config()): 2-D @ 2-D, "
               "batched N-D with broadcast batch dims, matrix @ vector, vector @ matrix"},
    {"mm", "a:mm(b) -> tensor — matmul, under PyTorch's name for 2-D products"},
    {"bmm", "a:bmm(b) -> tensor — matmul, under PyTorch's name for batched products"},
    {"mv", "a:mv(v) -> tensor — matmul, under PyTorch's name for matrix @ vector"},
    {"dot", "a:dot(b) -> tensor — the inner product of two 1-D tensors (0-d)"},
    {"outer", "a:outer(b) -> tensor — the outer product of 1-D a [n] and b [m], shape [n, m]"},
    {"addmm", "ml.addmm(bias, a, b, [{beta=1, alpha=1}]) -> tensor — beta * bias + alpha * (a @ b) in one product call, bias broadcast"},
    {NULL, NULL},
};

static const lb_doc ml_docs[] = {
    {"Linear algebra", NULL},
    {"threads", "ml.threads([n]) -> integer — sets the threads of OpenBLAS, oneDNN and moonlab's own loops; returns the count"},
    {NULL, NULL},
};

void lb_open_linalg(lua_State *L) {
    lb_setfuncs(L, 1, funcs);
    lb_setfuncs(L, 2, funcs);
    lua_pushcfunction(L, l_threads);
    lua_setfield(L, 1, "threads");
    lb_add_docs(L, 1, docs);
    lb_add_docs(L, 2, docs);
    lb_add_docs(L, 1, ml_docs);
}
