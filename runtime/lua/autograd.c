/* Autograd from Lua: requires_grad, backward, .grad, no_grad. */
#include "../autograd/autograd.h"
#include "lbind.h"

/* t:requires_grad([flag=true]) sets the flag and returns t (for chaining) */
static int a_requires_grad(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "requires_grad");
    bool on = lua_isnoneornil(L, 2) ? true : lua_toboolean(L, 2);
    if (on && !ml_dtype_is_float(t->dtype))
        return luaL_error(L, "requires_grad: only float tensors can require grad, got %s", ml_dtype_name(t->dtype));
    if (!on && t->grad_fn) return luaL_error(L, "requires_grad: cannot turn off grad on a non-leaf tensor (use :detach())");
    t->requires_grad = on;
    lua_settop(L, 1);
    return 1;
}

/* t:is_requires_grad(): whether t takes part in autograd */
static int a_is_requires_grad(lua_State *L) {
    lua_pushboolean(L, lb_check_tensor(L, 1, "is_requires_grad")->requires_grad);
    return 1;
}

static int a_is_leaf(lua_State *L) {
    lua_pushboolean(L, lb_check_tensor(L, 1, "is_leaf")->grad_fn == NULL);
    return 1;
}

/* t:backward([grad], [{retain_graph=false}]) */
static int a_backward(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "backward");
    ml_tensor *g = NULL;
    int opts = 2;
    if (lb_test_tensor(L, 2)) { g = lb_test_tensor(L, 2); opts = 3; }
    else if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2))
        return luaL_error(L, "backward: argument #2: expected a gradient tensor or options, got %s", luaL_typename(L, 2));
    static const char *const known[] = {"retain_graph", NULL};
    lb_check_options(L, opts, "backward", known);
    bool retain = lb_opt_bool_field(L, opts, "retain_graph", 0);
    if (ml_backward(t, g, retain) < 0) return lb_raise(L);
    lb_gc_account(L);
    return 0;
}

/* Tensors from argument idx, one tensor or a list of them, into a scratch
 * array (a userdata Lua collects) left on the stack. Returns the count. */
static int tensor_list(lua_State *L, int idx, const char *what, ml_tensor ***out) {
    if (lb_test_tensor(L, idx)) {
        ml_tensor **v = lua_newuserdatauv(L, sizeof *v, 0);
        v[0] = lb_test_tensor(L, idx);
        *out = v;
        return 1;
    }
    if (!lua_istable(L, idx)) return luaL_error(L, "ml.grad: %s: expected a tensor or a list of tensors, got %s", what, luaL_typename(L, idx));
    int n = (int)lua_rawlen(L, idx);
    if (n == 0) return luaL_error(L, "ml.grad: %s: the list is empty", what);
    ml_tensor **v = lua_newuserdatauv(L, sizeof *v * n, 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, idx, i + 1);
        v[i] = lb_test_tensor(L, -1);
        if (!v[i]) return luaL_error(L, "ml.grad: %s[%d]: expected a tensor, got %s", what, i + 1, luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    *out = v;
    return n;
}

/* ml.grad(outputs, inputs, [{grad_outputs, create_graph, retain_graph, allow_unused}]) -> {gradients} */
static int a_grad(lua_State *L) {
    static const char *const known[] = {"grad_outputs", "create_graph", "retain_graph", "allow_unused", NULL};
    if (!lua_isnoneornil(L, 3) && !lua_istable(L, 3))
        return luaL_error(L, "ml.grad: argument #3: expected an options table, got %s", luaL_typename(L, 3));
    lb_check_options(L, 3, "ml.grad", known);
    lua_settop(L, 3);
    ml_tensor **outs, **ins, **gouts = NULL;
    int n_out = tensor_list(L, 1, "outputs", &outs);
    int n_in = tensor_list(L, 2, "inputs", &ins);
    ml_grad_opts o = {false, false, false};
    if (lua_istable(L, 3)) {
        o.create_graph = lb_opt_bool_field(L, 3, "create_graph", 0);
        o.retain_graph = lb_opt_bool_field(L, 3, "retain_graph", o.create_graph);
        o.allow_unused = lb_opt_bool_field(L, 3, "allow_unused", 0);
        lua_getfield(L, 3, "grad_outputs");
        int gi = lua_gettop(L);
        if (!lua_isnil(L, gi)) {
            gouts = lua_newuserdatauv(L, sizeof *gouts * n_out, 0);
            if (lb_test_tensor(L, gi)) {
                if (n_out != 1) return luaL_error(L, "ml.grad: grad_outputs: expected a list of %d tensors (one per output), got one tensor", n_out);
                gouts[0] = lb_test_tensor(L, gi);
            } else if (lua_istable(L, gi)) {
                if ((int)lua_rawlen(L, gi) > n_out)
                    return luaL_error(L, "ml.grad: grad_outputs has %d entries for %d outputs", (int)lua_rawlen(L, gi), n_out);
                for (int i = 0; i < n_out; i++) {
                    lua_rawgeti(L, gi, i + 1);
                    gouts[i] = lb_test_tensor(L, -1);
                    if (!gouts[i] && !lua_isnil(L, -1))
                        return luaL_error(L, "ml.grad: grad_outputs[%d]: expected a tensor or nil, got %s", i + 1, luaL_typename(L, -1));
                    lua_pop(L, 1);
                }
            } else {
                return luaL_error(L, "ml.grad: grad_outputs: expected a tensor or a list of tensors, got %s", luaL_typename(L, gi));
            }
        }
    }
    ml_tensor **res = lua_newuserdatauv(L, sizeof *res * n_in, 0);
    if (ml_grad(n_out, outs, gouts, n_in, ins, &o, res) < 0) return lb_raise_as(L, "ml.grad");
    lua_createtable(L, n_in, 0);
    for (int j = 0; j < n_in; j++) {
        if (!res[j]) continue; /* allow_unused: nil */
        lb_push_tensor(L, res[j]);
        lua_rawseti(L, -2, j + 1);
    }
    lb_gc_account(L);
    return 1;
}

/* t:zero_grad(): drops the accumulated gradient */
static int a_zero_grad(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "zero_grad");
    ml_release(t->grad);
    t->grad = NULL;
    return 0;
}

/* ml.no_grad(fn, ...): runs fn without recording, returns its results */
static int run_with_grad(lua_State *L, bool on) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    bool was = ml_grad_enabled();
    ml_set_grad_enabled(on);
    int n = lua_gettop(L) - 1;
    int st = lua_pcall(L, n, LUA_MULTRET, 0);
    ml_set_grad_enabled(was);
    if (st != LUA_OK) return lua_error(L);
    return lua_gettop(L);
}
static int a_no_grad(lua_State *L) { return run_with_grad(L, false); }
static int a_enable_grad(lua_State *L) { return run_with_grad(L, true); }

static int a_is_grad_enabled(lua_State *L) {
    lua_pushboolean(L, ml_grad_enabled());
    return 1;
}

/* ml.set_grad_enabled(flag): for the REPL; scripts prefer ml.no_grad(fn) */
static int a_set_grad_enabled(lua_State *L) {
    ml_set_grad_enabled(lua_toboolean(L, 1));
    return 0;
}

static const luaL_Reg methods[] = {
    {"requires_grad", a_requires_grad}, {"is_requires_grad", a_is_requires_grad}, {"is_leaf", a_is_leaf},
    {"backward", a_backward}, {"zero_grad", a_zero_grad}, {NULL, NULL},
};

static const luaL_Reg funcs[] = {
    {"no_grad", a_no_grad}, {"enable_grad", a_enable_grad}, {"is_grad_enabled", a_is_grad_enabled},
    {"set_grad_enabled", a_set_grad_enabled}, {"backward", a_backward}, {"grad", a_grad}, {NULL, NULL},
};

static const lb_doc method_docs[] = {
    {"Autograd", NULL},
    {"requires_grad", "t:requires_grad([flag=true]) -> t — makes a float tensor a leaf whose gradient backward keeps in t.grad"},
    {"is_requires_grad", "t:is_requires_grad() -> boolean — whether t takes part in autograd"},
    {"is_leaf", "t:is_leaf() -> boolean — whether t was made by the user rather than by a recorded op"},
    {"backward", "t:backward([grad], [{retain_graph=false}]) — adds d t / d leaf into each leaf's .grad; grad is needed "
                 "unless t has one element (also ml.backward(t, ...))"},
    {"zero_grad", "t:zero_grad() — drops t's accumulated gradient (t.grad becomes nil)"},
    {NULL, NULL},
};

static const lb_doc func_docs[] = {
    {"Autograd", NULL},
    {"no_grad", "ml.no_grad(fn, ...) -> ... — calls fn(...) without recording for autograd; returns its results"},
    {"enable_grad", "ml.enable_grad(fn, ...) -> ... — calls fn(...) with recording on (inside ml.no_grad); returns its results"},
    {"is_grad_enabled", "ml.is_grad_enabled() -> boolean — whether ops are being recorded for autograd"},
    {"set_grad_enabled", "ml.set_grad_enabled(flag) — turns recording on or off (for the REPL; scripts use ml.no_grad)"},
    {"grad", "ml.grad(outputs, inputs, [{grad_outputs, create_graph=false, retain_graph=create_graph, allow_unused=false}]) "
             "-> {gradients} — d outputs / d inputs (PyTorch's torch.autograd.grad), one per input, .grad untouched; "
             "create_graph records the sweep so the gradients can be differentiated again"},
    {NULL, NULL},
};

void lb_open_autograd(lua_State *L) {
    lb_setfuncs(L, 2, methods);
    lb_setfuncs(L, 1, funcs);
    lb_add_docs(L, 2, method_docs);
    lb_add_docs(L, 1, func_docs);
}
