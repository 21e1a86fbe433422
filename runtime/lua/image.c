/* Bindings of the PNG reader and writer (runtime/io/png.h), under ml._image
 * (internal: lualib/moonlab/image.lua shapes and scales the tensor).
 *
 *   ml._image.save_png(path, img, [name])  img: (C, H, W), C in 1..4, float in [0, 1] or int64 0..255
 *   ml._image.load_png(path, [name]) -> float32 (C, H, W) in [0, 1]
 *   ml._image.encode_png(img, [name]) -> the PNG file's bytes as a string (in memory) */
#include <string.h>

#include "../io/png.h"
#include "lbind.h"

static const char *check_path(lua_State *L, int idx, const char *fn) {
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "%s: path must be a string, got %s", fn, luaL_typename(L, idx));
    size_t len;
    const char *p = lua_tolstring(L, idx, &len);
    if (len == 0 || strlen(p) != len) luaL_error(L, "%s: the path is empty or contains a NUL byte", fn);
    return p;
}

static int image_save_png(lua_State *L) {
    const char *fn = luaL_optstring(L, 3, "ml.image.save_png");
    const char *path = check_path(L, 1, fn);
    ml_tensor *img = lb_check_tensor(L, 2, fn);
    ml_tensor *c = ml_contiguous(img);
    if (!c) return lb_raise_as(L, fn);
    int rc = ml_png_write(fn, path, c);
    ml_release(c);
    if (rc < 0) return lb_raise_as(L, NULL);
    return 0;
}

static int image_load_png(lua_State *L) {
    const char *fn = luaL_optstring(L, 2, "ml.image.load_png");
    const char *path = check_path(L, 1, fn);
    ml_tensor *t = ml_png_read(fn, path);
    if (!t) return lb_raise_as(L, NULL);
    lb_push_tensor(L, t);
    return 1;
}

static int image_encode_png(lua_State *L) {
    const char *fn = luaL_optstring(L, 2, "ml.image.encode_png");
    ml_tensor *c = ml_contiguous(lb_check_tensor(L, 1, fn));
    if (!c) return lb_raise_as(L, fn);
    ml_buf b = {0};
    int rc = ml_png_encode(fn, &b, c);
    ml_release(c);
    if (rc < 0) { ml_buf_free(&b); return lb_raise_as(L, NULL); }
    lua_pushlstring(L, b.data, b.len);
    ml_buf_free(&b);
    return 1;
}

static const luaL_Reg funcs[] = {
    {"encode_png", image_encode_png},
    {"save_png", image_save_png},
    {"load_png", image_load_png},
    {NULL, NULL},
};

void lb_open_image(lua_State *L) {
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), funcs);
    lua_setfield(L, 1, "_image");
}
