/* ml._journal: locked access to a search journal (runtime/io/journal.c).
 *
 *   local j = ml._journal.lock(path, exclusive)   -- opens and locks (exclusive: read-write, creating; shared: read-only); errors name the path
 *   j:read([offset=0]) -> the bytes from offset to the end
 *   j:append(line, [sync=true])                   -- written (and synced to disk) under the lock
 *   j:unlock()                                    -- also done by the collector and by <close>
 * (whether a trial's process still lives: ml._proc.getpid / ml._proc.alive) */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "../core/error.h"
#include "../io/journal.h"
#include "lbind.h"

#define JOURNAL_MT "moonlab.Journal"

static ml_journal **check_journal(lua_State *L) {
    ml_journal **j = luaL_checkudata(L, 1, JOURNAL_MT);
    if (!*j) luaL_error(L, "journal: already unlocked");
    return j;
}

static int l_lock(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int excl = lua_toboolean(L, 2);
    ml_journal **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, JOURNAL_MT);
    if (!(*box = ml_journal_lock(path, excl))) return lb_raise_as(L, "journal");
    return 1;
}

static int l_read(lua_State *L) {
    ml_journal **j = check_journal(L);
    lua_Integer off = luaL_optinteger(L, 2, 0);
    char *buf;
    size_t n;
    if (ml_journal_read(*j, (int64_t)off, &buf, &n) < 0) return lb_raise_as(L, "journal");
    lua_pushlstring(L, buf, n);
    free(buf);
    return 1;
}

static int l_append(lua_State *L) {
    ml_journal **j = check_journal(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    int sync = lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3);
    if (ml_journal_append(*j, s, n, sync) < 0) return lb_raise_as(L, "journal");
    return 0;
}

static int l_unlock(lua_State *L) {
    ml_journal **j = luaL_checkudata(L, 1, JOURNAL_MT);
    ml_journal_unlock(*j);
    *j = NULL;
    return 0;
}

void lb_open_journal(lua_State *L) {
    int ml = 1;
    luaL_newmetatable(L, JOURNAL_MT);
    static const luaL_Reg methods[] = {{"read", l_read}, {"append", l_append}, {"unlock", l_unlock}, {NULL, NULL}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_unlock);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_unlock);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"lock", l_lock}, {NULL, NULL}};
    luaL_newlib(L, fns);
    lua_setfield(L, ml, "_journal");
}
