/* ml._track: the C side of run records (lualib/moonlab/track/).
 *   ml._track.sha256(bytes) -> hex
 *   ml._track.sha256_file(path) -> hex, bytes     (an error names the path and the OS reason)
 *   ml._track.unix_time() -> seconds since the epoch (a float; os.time has whole seconds only)
 *   ml._track.append(path, bytes)                  one write(2) on an O_APPEND descriptor, so a
 *                                                  killed process leaves whole lines */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/error.h"
#include "../core/proc.h"
#include "../core/sha256.h"
#include "lbind.h"

static int t_sha256(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    uint8_t d[32];
    char hex[65];
    ml_sha256(s, n, d);
    ml_sha256_hex(d, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int t_sha256_file(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    uint8_t d[32];
    char hex[65];
    uint64_t bytes = 0;
    if (ml_sha256_file(path, d, &bytes) != 0) return luaL_error(L, "sha256_file: %s", ml_last_error());
    ml_sha256_hex(d, hex);
    lua_pushstring(L, hex);
    lua_pushinteger(L, (lua_Integer)bytes);
    return 2;
}

static int t_unix_time(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec * 1e-9);
    return 1;
}

static int t_append(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return luaL_error(L, "cannot open '%s': %s", path, strerror(errno));
    int rc = ml_proc_write_all(fd, s, n);
    close(fd);
    if (rc != 0) return luaL_error(L, "cannot write '%s': %s", path, ml_last_error());
    return 0;
}

void lb_open_track(lua_State *L) {
    int ml = 1;
    lua_newtable(L);
    static const luaL_Reg fns[] = {
        {"sha256", t_sha256}, {"sha256_file", t_sha256_file}, {"unix_time", t_unix_time}, {"append", t_append}, {NULL, NULL},
    };
    lb_setfuncs(L, lua_gettop(L), fns);
    lua_setfield(L, ml, "_track");
}
