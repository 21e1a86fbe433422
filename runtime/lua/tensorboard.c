/* Bindings of TensorBoard's C parts, under ml._tensorboard (internal:
 * lualib/moonlab/track/tensorboard.lua and protobuf.lua use them):
 *
 *   crc32c(s, [crc]) -> integer          CRC-32C of s (continuing crc)
 *   masked_crc32c(s) -> integer          TFRecord's masked CRC of s
 *   frame(s) -> string                   s as one TFRecord record
 *   records(s) -> {data...} | nil, err   the records of a file's bytes, CRCs checked
 *   default_limits() -> float64 tensor   TensorFlow's default histogram limits
 *   histogram(t, [limits]) -> limits, counts, min, max, num, sum, sum_squares
 *       limits and counts as strings of packed little-endian doubles (the
 *       HistogramProto's packed fields), empty buckets squashed as
 *       TensorFlow does; limits default to default_limits()
 *   scalars_record(wall_time, step, tags, values, [as_double]) -> string
 *       one framed Event of scalar values (runtime/io/tfevent.c), the same
 *       bytes track/protobuf.lua makes, without its dozen small strings
 *   wall_time() -> unix seconds (float);  hostname() -> string */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../io/tfevent.h"
#include "../io/tfrecord.h"
#include "../ops/histogram.h"
#include "lbind.h"

static int l_crc32c(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_Integer crc = luaL_optinteger(L, 2, 0);
    if (crc < 0 || crc > 0xffffffffLL) luaL_error(L, "crc32c: crc must be 0..2^32-1, got %I", crc);
    lua_pushinteger(L, ml_crc32c((uint32_t)crc, s, n));
    return 1;
}

static int l_crc32c_table(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_pushinteger(L, ml_crc32c_table(0, s, n));
    return 1;
}

static int l_masked_crc32c(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_pushinteger(L, ml_crc32c_mask(ml_crc32c(0, s, n)));
    return 1;
}

static int l_frame(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    ml_buf b = {0};
    ml_tfrecord_frame(&b, s, n);
    if (b.failed) { ml_buf_free(&b); return luaL_error(L, "tfrecord.frame: out of memory for %zu bytes", n); }
    lua_pushlstring(L, b.data, b.len);
    ml_buf_free(&b);
    return 1;
}

static int l_records(lua_State *L) {
    size_t len;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &len);
    lua_newtable(L);
    size_t pos = 0;
    const uint8_t *d;
    uint64_t n;
    char err[160];
    int rc, k = 0;
    while ((rc = ml_tfrecord_next(s, len, &pos, &d, &n, err, sizeof err)) == 1) {
        lua_pushlstring(L, (const char *)d, (size_t)n);
        lua_rawseti(L, -2, ++k);
    }
    if (rc < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    return 1;
}

static int l_default_limits(lua_State *L) {
    int64_t k = ml_histogram_default_limits(NULL);
    ml_tensor *t = ml_empty(1, &k, ML_FLOAT64);
    if (!t) return lb_raise(L);
    ml_histogram_default_limits(ml_data(t));
    lb_push_tensor(L, t);
    return 1;
}

static void push_doubles(lua_State *L, const double *v, int64_t k) {
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, (size_t)k * 8);
    memcpy(p, v, (size_t)k * 8); /* little-endian hosts only (x86-64, arm64), as the rest of the runtime */
    luaL_pushresultsize(&b, (size_t)k * 8);
}

static int l_histogram(lua_State *L) {
    const char *fn = "TensorBoard:histogram";
    ml_tensor *x = ml_contiguous(lb_check_tensor(L, 1, fn));
    if (!x) return lb_raise_as(L, fn);
    int64_t k;
    double *limits;
    if (lua_isnoneornil(L, 2)) {
        k = ml_histogram_default_limits(NULL);
        limits = malloc((size_t)k * sizeof(double));
        if (limits) ml_histogram_default_limits(limits);
    } else {
        ml_tensor *lt = lb_test_tensor(L, 2);
        if (!lt || lt->dtype != ML_FLOAT64 || lt->ndim != 1 || !ml_is_contiguous(lt) || lt->numel < 1) {
            ml_release(x);
            return luaL_error(L, "%s: limits must be a contiguous 1-D float64 tensor of at least one value", fn);
        }
        k = lt->numel;
        limits = malloc((size_t)k * sizeof(double));
        if (limits) memcpy(limits, ml_data(lt), (size_t)k * sizeof(double));
    }
    double *counts = malloc((size_t)k * sizeof(double));
    ml_histogram_stats st;
    int rc = limits && counts ? ml_histogram(fn, counts, &st, x, limits, k) : (ml_error("%s: out of memory", fn), -1);
    ml_release(x);
    if (rc < 0) { free(limits); free(counts); return lb_raise_as(L, NULL); }
    k = ml_histogram_squash(limits, counts, k);
    push_doubles(L, limits, k);
    push_doubles(L, counts, k);
    free(limits);
    free(counts);
    lua_pushnumber(L, st.min);
    lua_pushnumber(L, st.max);
    lua_pushnumber(L, st.num);
    lua_pushnumber(L, st.sum);
    lua_pushnumber(L, st.sum_squares);
    return 7;
}

#define MAX_SCALARS 256

static int l_scalars_record(lua_State *L) {
    double wall = luaL_checknumber(L, 1);
    lua_Integer step = luaL_checkinteger(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    bool as_double = lua_toboolean(L, 5);
    lua_Integer n = luaL_len(L, 3);
    if (n != luaL_len(L, 4) || n > MAX_SCALARS)
        return luaL_error(L, "scalars_record: %I tags and %I values (at most %d)", n, luaL_len(L, 4), MAX_SCALARS);
    const char *tags[MAX_SCALARS];
    size_t lens[MAX_SCALARS];
    double values[MAX_SCALARS];
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 3, i + 1);
        tags[i] = luaL_checklstring(L, -1, &lens[i]); /* the table keeps it alive */
        lua_pop(L, 1);
        lua_rawgeti(L, 4, i + 1);
        values[i] = luaL_checknumber(L, -1);
        lua_pop(L, 1);
    }
    ml_buf ev = {0}, rec = {0};
    ml_tfevent_scalars(&ev, wall, step, (int)n, tags, lens, values, as_double);
    if (!ev.failed) ml_tfrecord_frame(&rec, ev.data, ev.len);
    bool failed = ev.failed || rec.failed;
    if (!failed) lua_pushlstring(L, rec.data, rec.len);
    ml_buf_free(&ev);
    ml_buf_free(&rec);
    if (failed) return luaL_error(L, "scalars_record: out of memory");
    return 1;
}

static int l_wall_time(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
    return 1;
}

static int l_hostname(lua_State *L) {
    char name[256];
    if (gethostname(name, sizeof name) != 0) strcpy(name, "localhost");
    name[sizeof name - 1] = 0;
    lua_pushstring(L, name);
    return 1;
}

static const luaL_Reg funcs[] = {
    {"crc32c", l_crc32c},
    {"crc32c_table", l_crc32c_table},
    {"masked_crc32c", l_masked_crc32c},
    {"frame", l_frame},
    {"records", l_records},
    {"default_limits", l_default_limits},
    {"histogram", l_histogram},
    {"scalars_record", l_scalars_record},
    {"wall_time", l_wall_time},
    {"hostname", l_hostname},
    {NULL, NULL},
};

void lb_open_tensorboard(lua_State *L) {
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), funcs);
    lua_setfield(L, 1, "_tensorboard");
}
