/* Binding of the fused attention kernel, under ml._attention (internal:
 * nn.scaled_dot_product_attention and nn.MultiheadAttention call it).
 *
 *   ml._attention(q, k, v, [mask], [causal=false], [scale], [dropout_p=0], [need_weights=false], [name])
 *     -> out, [weights]
 *
 * mask: bool (true takes part) or float added to the scores, broadcastable
 * to (..., L, S). scale nil or <= 0: 1/sqrt(E). name: the function named in
 * errors. The kernel checks shapes and dtypes; this file only reads the
 * arguments and pushes the results. */
#include "../ops/attention.h"
#include "lbind.h"

static int l_attention(lua_State *L) {
    const char *fn = luaL_optstring(L, 9, "scaled_dot_product_attention");
    ml_tensor *q = lb_check_tensor(L, 1, fn), *k = lb_check_tensor(L, 2, fn), *v = lb_check_tensor(L, 3, fn);
    ml_attention_opts o = {0};
    o.mask = lua_isnoneornil(L, 4) ? NULL : lb_check_tensor(L, 4, fn);
    o.causal = lua_toboolean(L, 5);
    o.scale = luaL_optnumber(L, 6, 0);
    o.dropout_p = luaL_optnumber(L, 7, 0);
    bool need_weights = lua_toboolean(L, 8);
    ml_tensor *w = NULL;
    ml_tensor *out = ml_attention(fn, q, k, v, &o, need_weights ? &w : NULL);
    if (!out) return lb_raise_as(L, fn);
    lb_push_tensor(L, out);
    if (!need_weights) return 1;
    lb_push_tensor(L, w);
    return 2;
}

void lb_open_attention(lua_State *L) {
    lua_pushcfunction(L, l_attention);
    lua_setfield(L, 1, "_attention");
}
