/* Tensor memory from Lua: live and cached bytes, and dropping the cache. */
#include <stdatomic.h>

#include "../tensor/pool.h"
#include "lbind.h"

/* ml.memory_stats() -> {live=bytes held by tensors, allocated=bytes ever allocated, cached=freed large blocks kept
 * for reuse, pooled=freed small blocks (headers, storages, nodes, data up to 4 KiB) this thread keeps for reuse} */
static int m_memory_stats(lua_State *L) {
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, ml_bytes_live);
    lua_setfield(L, -2, "live");
    lua_pushinteger(L, ml_bytes_allocated_total);
    lua_setfield(L, -2, "allocated");
    lua_pushinteger(L, (lua_Integer)ml_storage_cache_bytes());
    lua_setfield(L, -2, "cached");
    lua_pushinteger(L, (lua_Integer)ml_pool_bytes());
    lua_setfield(L, -2, "pooled");
    return 1;
}

/* ml.empty_cache(): returns the freed blocks kept for reuse (large ones, and this thread's small ones) to the system */
static int m_empty_cache(lua_State *L) {
    ml_storage_cache_clear();
    return 0;
}

/* ml.alloc_budget(limit | nil) -> left, exceeded: caps how much this thread's live tensor storage may grow from now on (nil: no cap); returns what the previous cap had left (nil: none) and whether it refused an allocation */
static int m_alloc_budget(lua_State *L) {
    int64_t limit = lua_isnoneornil(L, 1) ? -1 : (int64_t)luaL_checkinteger(L, 1);
    if (limit < -1) limit = 0;
    bool exceeded = false;
    int64_t left = ml_alloc_budget_set(limit, &exceeded);
    if (left < 0) lua_pushnil(L);
    else lua_pushinteger(L, left);
    lua_pushboolean(L, exceeded);
    return 2;
}

static const luaL_Reg funcs[] = {
    {"memory_stats", m_memory_stats}, {"empty_cache", m_empty_cache}, {"alloc_budget", m_alloc_budget}, {NULL, NULL},
};

static const lb_doc docs[] = {
    {"Memory", NULL},
    {"memory_stats", "ml.memory_stats() -> {live=, allocated=, cached=, pooled=} — bytes held by tensors, ever allocated, freed large blocks kept for reuse, and freed small blocks (headers, nodes, data up to 4 KiB) this thread keeps for reuse"},
    {"empty_cache", "ml.empty_cache() — returns the freed blocks kept for reuse to the system"},
    {"alloc_budget", "ml.alloc_budget(limit | nil) -> left, exceeded — caps how many bytes this thread's live tensor storage may grow by from now on (allocated minus freed, blocks kept for reuse counted as freed; nil: no cap); an allocation past it fails before allocating; returns what the previous cap had left (nil: none) and whether it refused an allocation. nn.load and persist.load set it while they rebuild any file, unless {trusted = true}"},
    {NULL, NULL},
};

void lb_open_memory(lua_State *L) {
    lb_setfuncs(L, 1, funcs);
    lb_add_docs(L, 1, docs);
}
