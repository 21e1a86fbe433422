/* Tensor memory from Lua: live and cached bytes, and dropping the cache. */
#include <stdatomic.h>

#include "lbind.h"

/* ml.memory_stats() -> {live=bytes held by tensors, allocated=bytes ever allocated, cached=freed blocks kept for reuse} */
static int m_memory_stats(lua_State *L) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, ml_bytes_live);
    lua_setfield(L, -2, "live");
    lua_pushinteger(L, ml_bytes_allocated_total);
    lua_setfield(L, -2, "allocated");
    lua_pushinteger(L, (lua_Integer)ml_storage_cache_bytes());
    lua_setfield(L, -2, "cached");
    return 1;
}

/* ml.empty_cache(): returns the freed blocks kept for reuse to the system */
static int m_empty_cache(lua_State *L) {
    ml_storage_cache_clear();
    return 0;
}

static const luaL_Reg funcs[] = {
    {"memory_stats", m_memory_stats}, {"empty_cache", m_empty_cache}, {NULL, NULL},
};

static const lb_doc docs[] = {
    {"Memory", NULL},
    {"memory_stats", "ml.memory_stats() -> {live=, allocated=, cached=} — bytes held by tensors, ever allocated, and freed but kept for reuse"},
    {"empty_cache", "ml.empty_cache() — returns the freed blocks kept for reuse to the system"},
    {NULL, NULL},
};

void lb_open_memory(lua_State *L) {
    lb_setfuncs(L, 1, funcs);
    lb_add_docs(L, 1, docs);
}
