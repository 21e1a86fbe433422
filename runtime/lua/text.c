/* ml._text: tokenizing and n-gram counting (runtime/ops/text.c) for
 * lualib/moonlab/prep/text.lua.
 *
 *   fit(docs, weights, opts)        -> vocab pool, indptr, indices, values, df
 *   transform(docs, vocab, opts)    -> indptr, indices, values
 *   lower(s)                        -> Python's s.lower()
 *   tokens(s)                       -> {token, ...} of the default pattern (s as given)
 * docs: a list of strings, or a string pool (its strings are the documents);
 * weights: nil or an int64 tensor, rows per document; opts: fn (the public
 * name for errors), lowercase, pretokenized, ngram_min, ngram_max,
 * stop_words (a pool), min_df, max_df, max_features, binary, dtype. */
#include <string.h>

#include "../ops/text.h"
#include "lbind.h"

static const char *opt_fn(lua_State *L, int opts) {
    lua_getfield(L, opts, "fn");
    const char *fn = lua_isstring(L, -1) ? lua_tostring(L, -1) : "text";
    lua_pop(L, 1); /* the options table keeps the string alive */
    return fn;
}

/* The documents at idx as pointers and lengths, in userdata kept on the stack. */
static ml_text_docs check_docs(lua_State *L, int idx, const char *fn) {
    ml_text_docs d = {0};
    ml_strpool *pool = lua_type(L, idx) == LUA_TUSERDATA ? lb_check_strpool(L, idx, fn) : NULL;
    if (!pool && !lua_istable(L, idx)) luaL_error(L, "%s: expected a list of strings or a string column, got %s", fn, luaL_typename(L, idx));
    d.n = pool ? ml_strpool_count(pool) : (int64_t)lua_rawlen(L, idx);
    size_t cells = (size_t)(d.n ? d.n : 1);
    const char **text = lua_newuserdatauv(L, cells * sizeof(char *), 0);
    size_t *len = lua_newuserdatauv(L, cells * sizeof(size_t), 0);
    for (int64_t i = 0; i < d.n; i++) {
        if (pool) { text[i] = ml_strpool_get(pool, i + 1, &len[i]); continue; }
        if (lua_rawgeti(L, idx, i + 1) != LUA_TSTRING)
            luaL_error(L, "%s: document %I is %s%s, expected a string", fn, (lua_Integer)(i + 1),
                       lua_isnil(L, -1) ? "missing (nil)" : "a ", lua_isnil(L, -1) ? "" : luaL_typename(L, -1));
        text[i] = lua_tolstring(L, -1, &len[i]); /* the list holds the string */
        lua_pop(L, 1);
    }
    d.text = text, d.len = len;
    return d;
}

static lua_Number num_field(lua_State *L, int t, const char *k, lua_Number def) {
    lua_getfield(L, t, k);
    lua_Number v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

static ml_text_opts check_opts(lua_State *L, int t) {
    ml_text_opts o = {lb_opt_bool_field(L, t, "lowercase", 1), lb_opt_bool_field(L, t, "pretokenized", 0),
                      (int)num_field(L, t, "ngram_min", 1), (int)num_field(L, t, "ngram_max", 1), NULL};
    lua_getfield(L, t, "stop_words");
    if (!lua_isnil(L, -1)) o.stop_words = lb_check_strpool(L, -1, opt_fn(L, t));
    lua_pop(L, 1); /* the options table keeps the pool alive */
    if (o.ngram_min < 1 || o.ngram_max < o.ngram_min) luaL_error(L, "%s: bad ngram_range {%d, %d}", opt_fn(L, t), o.ngram_min, o.ngram_max);
    return o;
}

static ml_dtype opt_dtype(lua_State *L, int t) {
    lua_getfield(L, t, "dtype");
    ml_dtype dt = ML_FLOAT64;
    if (!lua_isnil(L, -1) && ml_dtype_from_name(lua_tostring(L, -1), &dt) < 0) dt = ML_NDTYPES;
    lua_pop(L, 1);
    if (dt != ML_FLOAT32 && dt != ML_FLOAT64) luaL_error(L, "%s: dtype must be 'float32' or 'float64'", opt_fn(L, t));
    return dt;
}

static int push_counts(lua_State *L, ml_text_counts *c, bool df) {
    lb_push_tensor(L, c->indptr);
    lb_push_tensor(L, c->indices);
    lb_push_tensor(L, c->values);
    if (df) lb_push_tensor(L, c->df);
    return df ? 4 : 3;
}

static int l_fit(lua_State *L) {
    luaL_checktype(L, 3, LUA_TTABLE);
    const char *fn = opt_fn(L, 3);
    ml_text_docs d = check_docs(L, 1, fn);
    if (!lua_isnil(L, 2)) {
        ml_tensor *w = lb_check_tensor(L, 2, fn);
        if (w->dtype != ML_INT64 || w->numel != d.n || !ml_is_contiguous(w)) luaL_error(L, "%s: weights must be int64 [%I]", fn, (lua_Integer)d.n);
        d.weight = ml_data(w);
    }
    ml_text_opts o = check_opts(L, 3);
    ml_text_select s = {num_field(L, 3, "min_df", 1), num_field(L, 3, "max_df", 1e300), (int64_t)num_field(L, 3, "max_features", 0),
                        lb_opt_bool_field(L, 3, "binary", 0)};
    ml_dtype dt = opt_dtype(L, 3);
    ml_strpool *vocab;
    ml_text_counts c;
    if (ml_text_fit(fn, &d, &o, &s, dt, &vocab, &c) < 0) return lb_raise_as(L, NULL); /* the message already names fn */
    lb_push_strpool(L, vocab);
    return 1 + push_counts(L, &c, true);
}

static int l_transform(lua_State *L) {
    luaL_checktype(L, 3, LUA_TTABLE);
    const char *fn = opt_fn(L, 3);
    ml_text_docs d = check_docs(L, 1, fn);
    ml_strpool *vocab = lb_check_strpool(L, 2, fn);
    ml_text_opts o = check_opts(L, 3);
    ml_dtype dt = opt_dtype(L, 3);
    ml_text_counts c;
    if (ml_text_transform(fn, &d, &o, vocab, lb_opt_bool_field(L, 3, "binary", 0), dt, &c) < 0) return lb_raise_as(L, NULL);
    return push_counts(L, &c, false);
}

static int l_lower(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    char *dst = luaL_buffinitsize(L, &b, 2 * n + 8);
    luaL_pushresultsize(&b, ml_text_lower(dst, s, n));
    return 1;
}

typedef struct { lua_State *L; lua_Integer n; } token_sink;
static void emit_token(void *ctx, const char *tok, size_t len) {
    token_sink *t = ctx;
    lua_pushlstring(t->L, tok, len);
    lua_rawseti(t->L, -2, ++t->n);
}

static int l_tokens(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_newtable(L);
    token_sink t = {L, 0};
    ml_text_tokens(s, n, emit_token, &t);
    return 1;
}

void lb_open_text(lua_State *L) {
    static const luaL_Reg fns[] = {{"fit", l_fit}, {"transform", l_transform}, {"lower", l_lower}, {"tokens", l_tokens}, {NULL, NULL}};
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, 1, "_text");
}
