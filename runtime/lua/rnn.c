/* Bindings of the fused recurrent scans (runtime/ops/rnn.h), under ml._rnn
 * (internal: nn.RNN, nn.LSTM, nn.GRU and their cells call it).
 *
 *   ml._rnn.scan(mode, reverse, gx, state0, w, [lengths], [name]) -> states
 *     mode     "rnn_tanh" | "rnn_relu" | "lstm" | "gru"
 *     gx       (T, B, G) the input part x W_ih^T + b_ih
 *     state0   (S, B, H) h0 (LSTM: h0 and c0 stacked)
 *     w        (G, H) W_hh, or (G, H + 1) with b_hh as the last column
 *     lengths  int64 (B) of steps per sequence, 0..T, or nil
 *   returns (S, T + 1, B, H): every state of the scan (see rnn.h). */
#include <string.h>

#include "../ops/rnn.h"
#include "lbind.h"

static const char *const MODES[] = {"rnn_tanh", "rnn_relu", "lstm", "gru", NULL};

static int rnn_scan(lua_State *L) {
    const char *fn = luaL_optstring(L, 7, "rnn");
    ml_rnn_mode mode = (ml_rnn_mode)luaL_checkoption(L, 1, NULL, MODES);
    bool reverse = lua_toboolean(L, 2);
    ml_tensor *gx = lb_check_tensor(L, 3, fn), *s0 = lb_check_tensor(L, 4, fn), *w = lb_check_tensor(L, 5, fn);
    ml_tensor *len = lua_isnoneornil(L, 6) ? NULL : lb_check_tensor(L, 6, fn);
    char b1[128];
    if (!ml_dtype_is_float(gx->dtype))
        return luaL_error(L, "%s: input must be float32 or float64, got %s", fn, ml_dtype_name(gx->dtype));
    if (s0->dtype != gx->dtype || w->dtype != gx->dtype)
        return luaL_error(L, "%s: the initial state (%s) and weights (%s) must have the input's dtype %s", fn,
                          ml_dtype_name(s0->dtype), ml_dtype_name(w->dtype), ml_dtype_name(gx->dtype));
    if (gx->ndim != 3)
        return luaL_error(L, "%s: expected the input part as (T, B, G), got shape %s", fn,
                          ml_shape_str(b1, sizeof b1, gx->ndim, gx->shape));
    const int64_t *lp = NULL;
    ml_tensor *lc = NULL;
    if (len) {
        if (len->dtype != ML_INT64 || len->ndim != 1 || len->shape[0] != gx->shape[1])
            return luaL_error(L, "%s: lengths must be an int64 tensor of %I values (one per sequence), got %s of shape %s",
                              fn, (lua_Integer)gx->shape[1], ml_dtype_name(len->dtype),
                              ml_shape_str(b1, sizeof b1, len->ndim, len->shape));
        if (!(lc = ml_contiguous(len))) return lb_raise(L);
        lp = ml_data(lc);
        for (int64_t b = 0; b < lc->numel; b++)
            if (lp[b] < 1 || lp[b] > gx->shape[0]) {
                lua_Integer v = lp[b];
                ml_release(lc);
                return luaL_error(L, "%s: length %I of sequence %I is outside 1..%I (the padded length)", fn, v,
                                  (lua_Integer)b + 1, (lua_Integer)gx->shape[0]);
            }
    }
    ml_tensor *out = ml_rnn_scan(mode, reverse, gx, s0, w, lp);
    ml_release(lc);
    if (!out) return lb_raise_as(L, fn);
    lb_push_tensor(L, out);
    return 1;
}

static const luaL_Reg funcs[] = {
    {"scan", rnn_scan},
    {NULL, NULL},
};

void lb_open_rnn(lua_State *L) {
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), funcs);
    lua_setfield(L, 1, "_rnn");
}
