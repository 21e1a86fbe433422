/* ml._proc: worker processes for core/workers.lua (runtime/core/proc.c).
 *
 *   ml._proc.fork() -> pid (0 in the child)      ml._proc.pipe() -> read_fd, write_fd
 *   ml._proc.send(fd, bytes)                      ml._proc.recv(fd) -> bytes | nil (end of file)
 *   ml._proc.poll({fd, ...}, timeout_ms) -> {ready, ...}
 *   ml._proc.wait(pid, [nohang]) -> "exit"|"signal", code  (nil while it runs, with nohang)
 *   ml._proc.exit(code)  ml._proc.kill(pid, [sig=15])  ml._proc.close(fd)  ml._proc.ncpu()  ml._proc.getpid()
 *   ml._proc.tensor_bytes(t) -> the raw bytes of t (row-major)
 *   ml._proc.tensor_from_bytes(bytes, dtype, {shape}) -> a new tensor
 *   ml._proc.keep_freed_memory()  (a worker: malloc keeps freed memory for the next job; see core/proc.h)
 * Raw bytes carry tensors between processes of one machine (same layout and endianness). */
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/proc.h"
#include "lbind.h"

static int p_fork(lua_State *L) {
    int pid = ml_proc_fork();
    if (pid < 0) return luaL_error(L, "ml._proc.fork: %s", ml_last_error());
    lua_pushinteger(L, pid);
    return 1;
}

static int p_pipe(lua_State *L) {
    int fds[2];
    if (ml_proc_pipe(fds) != 0) return luaL_error(L, "ml._proc.pipe: %s", ml_last_error());
    lua_pushinteger(L, fds[0]);
    lua_pushinteger(L, fds[1]);
    return 2;
}

static int check_fd(lua_State *L, int idx, const char *fn) {
    lua_Integer fd = luaL_checkinteger(L, idx);
    if (fd < 0 || fd > (1 << 24)) return luaL_error(L, "%s: %d is not a file descriptor", fn, (int)fd);
    return (int)fd;
}

static int p_send(lua_State *L) {
    int fd = check_fd(L, 1, "ml._proc.send");
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    if (ml_proc_send(fd, s, n) != 0) return luaL_error(L, "ml._proc.send: %s", ml_last_error());
    return 0;
}

static int p_recv(lua_State *L) {
    int fd = check_fd(L, 1, "ml._proc.recv");
    char *buf;
    size_t n;
    int rc = ml_proc_recv(fd, &buf, &n);
    if (rc < 0) return luaL_error(L, "ml._proc.recv: %s", ml_last_error());
    if (rc == 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushlstring(L, buf, n);
    free(buf);
    return 1;
}

static int p_poll(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer timeout = luaL_optinteger(L, 2, -1);
    int n = (int)lua_rawlen(L, 1);
    if (n < 1 || n > 4096) return luaL_error(L, "ml._proc.poll: expected 1 to 4096 descriptors, got %d", n);
    int *fds = lua_newuserdatauv(L, sizeof(int) * 2 * (size_t)n, 0);
    int *ready = fds + n;
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        fds[i] = check_fd(L, -1, "ml._proc.poll");
        lua_pop(L, 1);
    }
    if (ml_proc_poll(fds, n, timeout < 0 ? -1 : (int)timeout, ready) < 0)
        return luaL_error(L, "ml._proc.poll: %s", ml_last_error());
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushboolean(L, ready[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int p_wait(lua_State *L) {
    int pid = (int)luaL_checkinteger(L, 1);
    int nohang = lua_toboolean(L, 2);
    const char *how = NULL;
    int code = 0;
    int rc = ml_proc_wait(pid, nohang, &how, &code);
    if (rc < 0) return luaL_error(L, "ml._proc.wait: %s", ml_last_error());
    if (rc == 0) return 0;
    lua_pushstring(L, how);
    lua_pushinteger(L, code);
    return 2;
}

static int p_exit(lua_State *L) { ml_proc_exit((int)luaL_optinteger(L, 1, 0)); }

static int p_kill(lua_State *L) {
    int pid = (int)luaL_checkinteger(L, 1);
    if (pid <= 0) return luaL_error(L, "ml._proc.kill: expected a child's pid, got %d", pid);
    if (ml_proc_kill(pid, (int)luaL_optinteger(L, 2, 15)) != 0) return luaL_error(L, "ml._proc.kill: %s", ml_last_error());
    return 0;
}

static int p_close(lua_State *L) {
    if (ml_proc_close(check_fd(L, 1, "ml._proc.close")) != 0) return luaL_error(L, "ml._proc.close: %s", ml_last_error());
    return 0;
}

static int p_getpid(lua_State *L) {
    lua_pushinteger(L, ml_proc_getpid());
    return 1;
}

static int p_keep_freed_memory(lua_State *L) {
    (void)L;
    ml_proc_keep_freed_memory();
    return 0;
}

static int p_alive(lua_State *L) {
    lua_Integer pid = luaL_checkinteger(L, 1);
    lua_pushboolean(L, pid > 0 && pid < (1LL << 31) && ml_proc_alive((int)pid));
    return 1;
}

static int p_ncpu(lua_State *L) {
    lua_pushinteger(L, ml_proc_ncpu());
    return 1;
}

static int p_tensor_bytes(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "ml._proc.tensor_bytes");
    ml_tensor *c = ml_contiguous(t);
    if (!c) return lb_raise_as(L, "ml._proc.tensor_bytes");
    lua_pushlstring(L, (const char *)ml_data(c), (size_t)c->numel * ml_dtype_size(c->dtype));
    ml_release(c);
    return 1;
}

static int p_tensor_from_bytes(lua_State *L) {
    const char *fn = "ml._proc.tensor_from_bytes";
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    ml_dtype dt = lb_check_dtype_name(L, 2, fn);
    luaL_checktype(L, 3, LUA_TTABLE);
    int64_t shape[ML_MAX_DIMS];
    int ndim = lb_check_shape(L, 3, shape, fn);
    int64_t numel = ml_numel_of(ndim, shape);
    if ((size_t)numel * ml_dtype_size(dt) != n)
        return luaL_error(L, "%s: %I bytes do not make %I %s values", fn, (lua_Integer)n, (lua_Integer)numel, ml_dtype_name(dt));
    ml_tensor *t = ml_empty(ndim, shape, dt);
    if (!t) return lb_raise_as(L, fn);
    if (n) memcpy(ml_data(t), s, n);
    lb_push_tensor(L, t);
    return 1;
}

void lb_open_proc(lua_State *L) {
    int ml = 1;
    lua_newtable(L);
    static const luaL_Reg fns[] = {
        {"fork", p_fork},   {"pipe", p_pipe},       {"send", p_send},
        {"recv", p_recv},   {"poll", p_poll},       {"wait", p_wait},
        {"exit", p_exit},   {"kill", p_kill},       {"close", p_close},
        {"ncpu", p_ncpu},   {"getpid", p_getpid},   {"alive", p_alive},   {"tensor_bytes", p_tensor_bytes}, {"tensor_from_bytes", p_tensor_from_bytes},
        {"keep_freed_memory", p_keep_freed_memory},
        {NULL, NULL},
    };
    lb_setfuncs(L, lua_gettop(L), fns);
    lua_setfield(L, ml, "_proc");
}
