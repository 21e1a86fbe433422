/* ml._sparse: the CSR kernels (runtime/ops/sparse.c) for lualib/moonlab/sparse.lua.
 * Every function takes the matrix as its first five arguments
 * (indptr, indices, values, rows, cols), indices 0-based, as the class stores them. */
#include "../ops/sparse.h"
#include <string.h>
#include "lbind.h"

static ml_csr check_csr(lua_State *L, const char *fn) {
    ml_csr s = {lb_check_tensor(L, 1, fn), lb_check_tensor(L, 2, fn), lb_check_tensor(L, 3, fn),
                (int64_t)luaL_checkinteger(L, 4), (int64_t)luaL_checkinteger(L, 5)};
    return s;
}

/* check(parts..., full): raises on malformed parts */
static int l_check(lua_State *L) {
    const char *fn = luaL_optstring(L, 7, "sparse.csr");
    ml_csr s = check_csr(L, fn);
    if (ml_csr_check(fn, &s, lua_toboolean(L, 6)) < 0) return lb_raise(L);
    return 0;
}

static int l_matmul(lua_State *L) {
    ml_csr s = check_csr(L, "sparse.matmul");
    lb_push_tensor(L, ml_csr_matmul(&s, lb_check_tensor(L, 6, "sparse.matmul")));
    return 1;
}

static int l_t_matmul(lua_State *L) {
    ml_csr s = check_csr(L, "sparse.t_matmul");
    lb_push_tensor(L, ml_csr_t_matmul(&s, lb_check_tensor(L, 6, "sparse.t_matmul")));
    return 1;
}

static int l_to_dense(lua_State *L) {
    ml_csr s = check_csr(L, "sparse:to_dense");
    lb_push_tensor(L, ml_csr_to_dense(&s));
    return 1;
}

/* take_rows(parts..., index): index a contiguous int64 vector of 1-based rows */
static int l_take_rows(lua_State *L) {
    const char *fn = "sparse:rows";
    ml_csr s = check_csr(L, fn);
    ml_tensor *idx = lb_check_tensor(L, 6, fn);
    if (idx->dtype != ML_INT64 || idx->ndim != 1 || !ml_is_contiguous(idx))
        return luaL_error(L, "%s: expected a contiguous int64 vector of row numbers, got %s %d-d", fn, ml_dtype_name(idx->dtype), idx->ndim);
    const int64_t *one = ml_data(idx);
    int64_t n = idx->numel;
    int64_t *zero = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(int64_t), 0);
    for (int64_t i = 0; i < n; i++) {
        if (one[i] == 0 || one[i] > s.rows || one[i] < -s.rows) /* name the row as given (-k counts from the end) */
            return luaL_error(L, "%s: row %I is outside 1..%I (or -%I..-1 from the end)", fn, (lua_Integer)one[i],
                              (lua_Integer)s.rows, (lua_Integer)s.rows);
        zero[i] = one[i] < 0 ? s.rows + one[i] : one[i] - 1;
    }
    ml_tensor *p, *ix, *v;
    if (ml_csr_take_rows(&s, zero, n, &p, &ix, &v) < 0) {
        const char *msg = ml_last_error(); /* its messages name sparse:rows already (lb_raise would add "moonlab: ") */
        return strncmp(msg, fn, strlen(fn)) == 0 ? luaL_error(L, "%s", msg) : luaL_error(L, "%s: %s", fn, msg);
    }
    lb_push_tensor(L, p);
    lb_push_tensor(L, ix);
    lb_push_tensor(L, v);
    return 3;
}

/* row_reduce(parts..., p): p 0 sums, 1 l1 norms, 2 l2 norms */
static int l_row_reduce(lua_State *L) {
    ml_csr s = check_csr(L, "sparse:row_norms");
    lb_push_tensor(L, ml_csr_row_reduce(&s, (int)luaL_checkinteger(L, 6)));
    return 1;
}

/* col_sums(parts..., counts) */
static int l_col_sums(lua_State *L) {
    ml_csr s = check_csr(L, "sparse:sum");
    lb_push_tensor(L, ml_csr_col_sums(&s, lua_toboolean(L, 6)));
    return 1;
}

/* scale(parts..., rowscale or nil, colscale or nil) -> new values */
static int l_scale(lua_State *L) {
    ml_csr s = check_csr(L, "sparse:scale");
    ml_tensor *r = lua_isnoneornil(L, 6) ? NULL : lb_check_tensor(L, 6, "sparse:scale");
    ml_tensor *c = lua_isnoneornil(L, 7) ? NULL : lb_check_tensor(L, 7, "sparse:scale");
    lb_push_tensor(L, ml_csr_scale(&s, r, c));
    return 1;
}

void lb_open_sparse(lua_State *L) {
    static const luaL_Reg fns[] = {{"check", l_check},         {"matmul", l_matmul},         {"t_matmul", l_t_matmul},
                                   {"to_dense", l_to_dense},   {"take_rows", l_take_rows},   {"row_reduce", l_row_reduce},
                                   {"col_sums", l_col_sums},   {"scale", l_scale},           {NULL, NULL}};
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, 1, "_sparse");
}
