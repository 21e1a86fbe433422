/* ml._cairo: a thin binding of cairo for ml.plot (lualib/moonlab/plot/).
 *
 *   ml._cairo.canvas("png" | "svg", width, height, [svg_path]) -> canvas
 *   canvas:save_png(path), canvas:finish() (writes the SVG), canvas:close() (also __gc, __close)
 *   path:  move_to, line_to, rectangle, arc(xc, yc, r, a1, a2), close_path, new_path, clip, reset_clip
 *   paint: rgba(r, g, b, [a]), line_width(w), dash({on, off, ...} | nil), stroke([preserve]), fill([preserve])
 *   state: save, restore, translate(x, y), rotate(radians)
 *   text:  font(size, [bold]), text_extents(s) -> width, height, text(s, x, y, [ha = 0..1], [va], [angle])
 *          va: "baseline" (default), "top", "middle", "bottom"
 *   data (float64 [n] tensors; map = {ax, bx, logx, ay, by, logy}: pixel = a + b * v, v = x or log10 x):
 *          polyline(xs, ys, map, [stroke]) -> points drawn (the path, or stroked; NaN/Inf points break it;
 *            points within one pixel column are simplified to their first, extremes and last)
 *          markers(xs, ys, map, size | sizes, shape, [paint = "path" | "fill" | "stroke"]) -> points drawn
 *            (circle, square, diamond, triangle, plus, x)
 *          box_hits(xs, ys, map, x0, y0, x1, y1, segments) -> points (and segments) in the box
 *          image(img, x, y, w, h, [smooth]) paints a float32 [C, H, W] image (C = 1, 3 or 4, values in [0, 1])
 *   ml._cairo.histogram(x, bins, lo, hi) -> int64 [bins] counts;  ml._cairo.finite_range(x, [positive]) -> lo, hi, n
 * The arithmetic is in runtime/ops/plot_data.c; this file validates and calls cairo. */
#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/plot_data.h"
#include "lbind.h"

#define CANVAS_MT "moonlab.cairo.Canvas"
#define FN "ml._cairo"

typedef struct {
    cairo_surface_t *surface;
    cairo_t *cr;
    bool svg;
} canvas;

static void canvas_release(canvas *c) {
    if (c->cr) cairo_destroy(c->cr);
    if (c->surface) cairo_surface_destroy(c->surface);
    c->cr = NULL;
    c->surface = NULL;
}

static canvas *check_canvas(lua_State *L) {
    canvas *c = luaL_checkudata(L, 1, CANVAS_MT);
    if (!c->cr) luaL_error(L, FN ": the canvas is closed");
    return c;
}

static cairo_t *cr_of(lua_State *L) { return check_canvas(L)->cr; }

static int l_canvas(lua_State *L) {
    const char *kind = luaL_checkstring(L, 1);
    int w = (int)luaL_checkinteger(L, 2), h = (int)luaL_checkinteger(L, 3);
    if (w < 1 || h < 1 || w > 20000 || h > 20000)
        return luaL_error(L, FN ".canvas: width and height must be in 1..20000, got %d x %d", w, h);
    bool svg = strcmp(kind, "svg") == 0;
    if (!svg && strcmp(kind, "png") != 0) return luaL_error(L, FN ".canvas: kind must be 'png' or 'svg', got '%s'", kind);
    const char *path = svg ? luaL_checkstring(L, 4) : NULL;
    canvas *c = lua_newuserdatauv(L, sizeof(canvas), 0);
    c->surface = NULL;
    c->cr = NULL;
    c->svg = svg;
    luaL_setmetatable(L, CANVAS_MT);
    c->surface = svg ? cairo_svg_surface_create(path, w, h) : cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_status_t st = cairo_surface_status(c->surface);
    if (st != CAIRO_STATUS_SUCCESS) {
        canvas_release(c);
        if (svg) return luaL_error(L, "cannot write '%s': %s", path, cairo_status_to_string(st));
        return luaL_error(L, FN ".canvas: %s", cairo_status_to_string(st));
    }
    if (svg) cairo_svg_surface_set_document_unit(c->surface, CAIRO_SVG_UNIT_PX); /* as wide as the PNG, not 4/3 */
    c->cr = cairo_create(c->surface);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF); /* same extents in PNG and SVG */
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_set_font_options(c->cr, fo);
    cairo_font_options_destroy(fo);
    cairo_set_line_join(c->cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(c->cr, CAIRO_LINE_CAP_BUTT);
    cairo_select_font_face(c->cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    return 1;
}

static int l_save_png(lua_State *L) {
    canvas *c = check_canvas(L);
    const char *path = luaL_checkstring(L, 2);
    if (c->svg) return luaL_error(L, FN ": save_png on an SVG canvas");
    cairo_surface_flush(c->surface);
    cairo_status_t st = cairo_surface_write_to_png(c->surface, path);
    if (st != CAIRO_STATUS_SUCCESS) return luaL_error(L, "cannot write '%s': %s", path, cairo_status_to_string(st));
    return 0;
}

static int l_finish(lua_State *L) {
    canvas *c = check_canvas(L);
    cairo_surface_finish(c->surface);
    cairo_status_t st = cairo_surface_status(c->surface);
    canvas_release(c);
    if (st != CAIRO_STATUS_SUCCESS) return luaL_error(L, FN ": cannot finish the file: %s", cairo_status_to_string(st));
    return 0;
}

static int l_close(lua_State *L) {
    canvas_release(luaL_checkudata(L, 1, CANVAS_MT));
    return 0;
}

/* ---- paths, paint and state ---------------------------------------------- */
#define N(i) luaL_checknumber(L, i)
static int l_move_to(lua_State *L) { cairo_move_to(cr_of(L), N(2), N(3)); return 0; }
static int l_line_to(lua_State *L) { cairo_line_to(cr_of(L), N(2), N(3)); return 0; }
static int l_rectangle(lua_State *L) { cairo_rectangle(cr_of(L), N(2), N(3), N(4), N(5)); return 0; }
static int l_arc(lua_State *L) { cairo_arc(cr_of(L), N(2), N(3), N(4), N(5), N(6)); return 0; }
static int l_close_path(lua_State *L) { cairo_close_path(cr_of(L)); return 0; }
static int l_new_path(lua_State *L) { cairo_new_path(cr_of(L)); return 0; }
static int l_clip(lua_State *L) { cairo_clip(cr_of(L)); return 0; }
static int l_reset_clip(lua_State *L) { cairo_reset_clip(cr_of(L)); return 0; }
static int l_save(lua_State *L) { cairo_save(cr_of(L)); return 0; }
static int l_restore(lua_State *L) { cairo_restore(cr_of(L)); return 0; }
static int l_translate(lua_State *L) { cairo_translate(cr_of(L), N(2), N(3)); return 0; }
static int l_rotate(lua_State *L) { cairo_rotate(cr_of(L), N(2)); return 0; }
static int l_line_width(lua_State *L) { cairo_set_line_width(cr_of(L), N(2)); return 0; }
static int l_rgba(lua_State *L) {
    cairo_set_source_rgba(cr_of(L), N(2), N(3), N(4), luaL_optnumber(L, 5, 1.0));
    return 0;
}
static int l_stroke(lua_State *L) {
    cairo_t *cr = cr_of(L);
    if (lua_toboolean(L, 2)) cairo_stroke_preserve(cr); else cairo_stroke(cr);
    return 0;
}
static int l_fill(lua_State *L) {
    cairo_t *cr = cr_of(L);
    if (lua_toboolean(L, 2)) cairo_fill_preserve(cr); else cairo_fill(cr);
    return 0;
}
static int l_dash(lua_State *L) {
    cairo_t *cr = cr_of(L);
    if (lua_isnoneornil(L, 2)) { cairo_set_dash(cr, NULL, 0, 0); return 0; }
    luaL_checktype(L, 2, LUA_TTABLE);
    double d[8];
    int n = (int)luaL_len(L, 2);
    if (n < 1 || n > 8) return luaL_error(L, FN ": dash takes 1 to 8 lengths, got %d", n);
    for (int i = 0; i < n; i++) {
        lua_geti(L, 2, i + 1);
        d[i] = luaL_checknumber(L, -1);
        lua_pop(L, 1);
    }
    cairo_set_dash(cr, d, n, 0);
    return 0;
}

/* ---- text ------------------------------------------------------------------ */
static int l_font(lua_State *L) {
    cairo_t *cr = cr_of(L);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           lua_toboolean(L, 3) ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, N(2));
    return 0;
}

static int l_text_extents(lua_State *L) {
    cairo_t *cr = cr_of(L);
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, luaL_checkstring(L, 2), &te);
    cairo_font_extents(cr, &fe);
    lua_pushnumber(L, te.x_advance);
    lua_pushnumber(L, fe.ascent + fe.descent);
    return 2;
}

static int l_text(lua_State *L) {
    cairo_t *cr = cr_of(L);
    const char *s = luaL_checkstring(L, 2);
    double x = N(3), y = N(4), ha = luaL_optnumber(L, 5, 0), angle = luaL_optnumber(L, 7, 0);
    const char *va = luaL_optstring(L, 6, "baseline");
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, s, &te);
    cairo_font_extents(cr, &fe);
    double dy = 0;
    if (strcmp(va, "top") == 0) dy = fe.ascent;
    else if (strcmp(va, "middle") == 0) dy = (fe.ascent - fe.descent) / 2;
    else if (strcmp(va, "bottom") == 0) dy = -fe.descent;
    else if (strcmp(va, "baseline") != 0) return luaL_error(L, FN ": text va must be top, middle, baseline or bottom, got '%s'", va);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    if (angle != 0) cairo_rotate(cr, angle);
    cairo_move_to(cr, -ha * te.x_advance, dy);
    cairo_show_text(cr, s);
    cairo_restore(cr);
    return 0;
}

/* ---- data ------------------------------------------------------------------ */
/* A contiguous float64 [n] view of the tensor at idx (a new reference). */
static ml_tensor *check_f64(lua_State *L, int idx, const char *what) {
    ml_tensor *t = lb_check_tensor(L, idx, FN);
    if (t->dtype != ML_FLOAT64 || t->ndim != 1)
        luaL_error(L, FN ": %s must be a float64 [n] tensor", what);
    ml_tensor *c = ml_contiguous(t);
    if (!c) lb_raise_as(L, FN);
    return c;
}

static double map_field(lua_State *L, int idx, const char *k) {
    lua_getfield(L, idx, k);
    double v = lua_toboolean(L, -1) && !lua_isnumber(L, -1) ? 1 : lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* The points (xs at 2, ys at 3, map at 4) as pixels: px, py malloc'ed [*n] (free px only). */
static void pixels_of(lua_State *L, double **px, double **py, int64_t *n) {
    luaL_checktype(L, 4, LUA_TTABLE);
    ml_plot_axis ax = {map_field(L, 4, "ax"), map_field(L, 4, "bx"), map_field(L, 4, "logx") != 0};
    ml_plot_axis ay = {map_field(L, 4, "ay"), map_field(L, 4, "by"), map_field(L, 4, "logy") != 0};
    ml_tensor *x = check_f64(L, 2, "xs");
    ml_tensor *y = lb_test_tensor(L, 3) ? ml_contiguous(lb_test_tensor(L, 3)) : NULL;
    if (!y || y->dtype != ML_FLOAT64 || y->ndim != 1 || y->numel != x->numel) {
        ml_release(x);
        ml_release(y);
        luaL_error(L, FN ": ys must be a float64 tensor as long as xs");
    }
    *n = x->numel;
    *px = malloc(sizeof(double) * (size_t)(2 * (*n) + 1));
    if (!*px) {
        ml_release(x);
        ml_release(y);
        luaL_error(L, FN ": out of memory for %lld points", (long long)*n);
    }
    *py = *px + *n;
    ml_plot_to_pixels(*px, *py, ml_data(x), ml_data(y), *n, &ax, &ay);
    ml_release(x);
    ml_release(y);
}

/* Long paths are painted in chunks: cairo's stroker and filler slow down far more than linearly
 * on one path of many thousand self-crossing pieces. */
#define CHUNK 256

static int l_polyline(lua_State *L) {
    cairo_t *cr = cr_of(L);
    bool stroke = lua_toboolean(L, 5);
    double *px, *py;
    int64_t n, drawn = 0, in_path = 0;
    pixels_of(L, &px, &py, &n);
    n = ml_plot_simplify(px, py, n);
    bool pen_down = false;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(px[i])) { pen_down = false; continue; }
        if (pen_down) cairo_line_to(cr, px[i], py[i]); else cairo_move_to(cr, px[i], py[i]);
        pen_down = true;
        drawn++;
        if (stroke && ++in_path >= CHUNK) { /* go on from this point in a new path */
            cairo_stroke(cr);
            cairo_move_to(cr, px[i], py[i]);
            in_path = 0;
        }
    }
    if (stroke) cairo_stroke(cr);
    free(px);
    lua_pushinteger(L, drawn);
    return 1;
}

static void marker(cairo_t *cr, int shape, double x, double y, double r) {
    switch (shape) {
    case 0: cairo_new_sub_path(cr); cairo_arc(cr, x, y, r, 0, 2 * M_PI); break;
    case 1: cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r); break;
    case 2: cairo_move_to(cr, x, y - r * 1.3); cairo_line_to(cr, x + r * 1.3, y); cairo_line_to(cr, x, y + r * 1.3);
            cairo_line_to(cr, x - r * 1.3, y); cairo_close_path(cr); break;
    case 3: cairo_move_to(cr, x, y - r * 1.2); cairo_line_to(cr, x + r * 1.1, y + r * 0.8);
            cairo_line_to(cr, x - r * 1.1, y + r * 0.8); cairo_close_path(cr); break;
    case 4: cairo_move_to(cr, x - r, y); cairo_line_to(cr, x + r, y); cairo_move_to(cr, x, y - r); cairo_line_to(cr, x, y + r); break;
    default: cairo_move_to(cr, x - r, y - r); cairo_line_to(cr, x + r, y + r); cairo_move_to(cr, x - r, y + r);
             cairo_line_to(cr, x + r, y - r); break;
    }
}

/* Filled markers of one size on an image surface: the marker is drawn once into an A8 mask and
 * stamped at every point (as matplotlib's Agg draw_markers does), far cheaper than one big path.
 * Returns the points stamped. */
static int64_t stamp_markers(cairo_t *cr, int shape, const double *px, const double *py, int64_t n, double r) {
    int side = (int)ceil(2 * r * 1.3) + 4;
    double mid = side / 2.0;
    cairo_surface_t *mask = cairo_image_surface_create(CAIRO_FORMAT_A8, side, side);
    cairo_t *mc = cairo_create(mask);
    marker(mc, shape, mid, mid, r);
    cairo_fill(mc);
    cairo_destroy(mc);
    int64_t drawn = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(px[i])) continue;
        cairo_mask_surface(cr, mask, round(px[i] - mid), round(py[i] - mid)); /* whole pixels: the fast path */
        drawn++;
    }
    cairo_surface_destroy(mask);
    return drawn;
}

static int l_markers(lua_State *L) {
    canvas *cv = check_canvas(L);
    cairo_t *cr = cv->cr;
    static const char *const shapes[] = {"circle", "square", "diamond", "triangle", "plus", "x", NULL};
    static const char *const paints[] = {"path", "fill", "stroke", NULL};
    int shape = luaL_checkoption(L, 6, "circle", shapes);
    int paint = luaL_checkoption(L, 7, "path", paints); /* fill, stroke: painted here, in chunks */
    ml_tensor *sizes = NULL;
    double size = 0;
    if (lua_isnumber(L, 5)) size = lua_tonumber(L, 5);
    else sizes = check_f64(L, 5, "sizes");
    double *px, *py;
    int64_t n, drawn = 0;
    pixels_of(L, &px, &py, &n);
    if (sizes && sizes->numel != n) {
        free(px);
        ml_release(sizes);
        return luaL_error(L, FN ": sizes must be as long as xs");
    }
    const double *s = sizes ? ml_data(sizes) : NULL;
    if (!cv->svg && !s && paint == 1 && shape <= 3 && size > 0 && size < 50) {
        drawn = stamp_markers(cr, shape, px, py, n, size);
        free(px);
        lua_pushinteger(L, drawn);
        return 1;
    }
    for (int64_t i = 0; i < n; i++) {
        double r = s ? s[i] : size;
        if (isnan(px[i]) || !(r > 0)) continue;
        marker(cr, shape, px[i], py[i], r);
        drawn++;
        if (paint && drawn % CHUNK == 0) { if (paint == 1) cairo_fill(cr); else cairo_stroke(cr); }
    }
    if (paint == 1) cairo_fill(cr);
    else if (paint == 2) cairo_stroke(cr);
    free(px);
    ml_release(sizes);
    lua_pushinteger(L, drawn);
    return 1;
}

static int l_box_hits(lua_State *L) {
    check_canvas(L);
    double x0 = N(5), y0 = N(6), x1 = N(7), y1 = N(8);
    bool segments = lua_toboolean(L, 9);
    double *px, *py;
    int64_t n;
    pixels_of(L, &px, &py, &n);
    int64_t hits = ml_plot_box_hits(px, py, n, x0, y0, x1, y1, segments);
    free(px);
    lua_pushinteger(L, hits);
    return 1;
}

/* An SVG viewer smooths an embedded image when it scales it up (cairo 1.16's SVG writer drops the pattern's
 * filter), so for a sharp one on an SVG canvas the image is first scaled up by a whole factor with nearest-
 * neighbour sampling, to about the size it is drawn at (at most 4096 pixels a side). Returns img or the copy. */
static cairo_surface_t *blocky_copy(cairo_surface_t *img, int W, int H, double w, double h, int *k_out) {
    int k = (int)ceil(fmax(w / W, h / H) - 1e-9);
    while (k > 1 && ((int64_t)k * W > 4096 || (int64_t)k * H > 4096)) k--;
    *k_out = 1;
    if (k <= 1) return img;
    cairo_surface_t *big = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, k * W, k * H);
    if (cairo_surface_status(big) != CAIRO_STATUS_SUCCESS) { cairo_surface_destroy(big); return img; }
    cairo_t *b = cairo_create(big);
    cairo_scale(b, k, k);
    cairo_set_source_surface(b, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(b), CAIRO_FILTER_NEAREST);
    cairo_paint(b);
    cairo_destroy(b);
    cairo_surface_flush(big);
    cairo_surface_destroy(img);
    *k_out = k;
    return big;
}

static int l_image(lua_State *L) {
    bool on_svg = check_canvas(L)->svg;
    cairo_t *cr = cr_of(L);
    ml_tensor *t = lb_check_tensor(L, 2, FN);
    double x = N(3), y = N(4), w = N(5), h = N(6);
    bool smooth = lua_toboolean(L, 7);
    if (t->dtype != ML_FLOAT32 || t->ndim != 3 || !(t->shape[0] == 1 || t->shape[0] == 3 || t->shape[0] == 4))
        return luaL_error(L, FN ": image must be a float32 [C, H, W] tensor with C = 1, 3 or 4");
    int C = (int)t->shape[0], H = (int)t->shape[1], W = (int)t->shape[2];
    ml_tensor *c = ml_contiguous(t);
    if (!c) return lb_raise_as(L, FN);
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        ml_release(c);
        cairo_surface_destroy(img);
        return luaL_error(L, FN ": cannot make a %d x %d image", W, H);
    }
    cairo_surface_flush(img);
    unsigned char *dst = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    const float *src = ml_data(c);
    int64_t plane = (int64_t)H * W;
    for (int r = 0; r < H; r++) {
        uint32_t *row = (uint32_t *)(dst + (size_t)r * stride);
        for (int q = 0; q < W; q++) {
            int64_t k = (int64_t)r * W + q;
            float v[4];
            for (int ch = 0; ch < 4; ch++) {
                float s = ch < C ? src[ch * plane + k] : 1.0f;
                if (C == 1 && ch < 3) s = src[k];
                if (!(s >= 0)) s = 0; /* also NaN */
                if (s > 1) s = 1;
                v[ch] = s;
            }
            uint32_t a = (uint32_t)lrintf(v[3] * 255); /* premultiplied, as cairo stores ARGB32 */
            row[q] = a << 24 | (uint32_t)lrintf(v[0] * v[3] * 255) << 16 | (uint32_t)lrintf(v[1] * v[3] * 255) << 8 |
                     (uint32_t)lrintf(v[2] * v[3] * 255);
        }
    }
    ml_release(c);
    cairo_surface_mark_dirty(img);
    int k = 1;
    if (on_svg && !smooth) img = blocky_copy(img, W, H, w, h, &k);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, w / ((double)k * W), h / ((double)k * H));
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), smooth ? CAIRO_FILTER_GOOD : CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, (double)k * W, (double)k * H);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    return 0;
}

/* ---- module functions --------------------------------------------------------- */
static int l_histogram(lua_State *L) {
    ml_tensor *x = lb_check_tensor(L, 1, FN ".histogram");
    if (x->dtype != ML_FLOAT64 || x->ndim != 1) return luaL_error(L, FN ".histogram: x must be a float64 [n] tensor");
    lua_Integer bins = luaL_checkinteger(L, 2);
    double lo = N(3), hi = N(4);
    if (bins < 1 || bins > 100000000) return luaL_error(L, FN ".histogram: bins must be in 1..1e8, got %lld", (long long)bins);
    ml_tensor *c = ml_contiguous(x);
    if (!c) return lb_raise_as(L, FN ".histogram");
    int64_t shape[1] = {bins};
    ml_tensor *out = ml_empty(1, shape, ML_INT64);
    if (!out) { ml_release(c); return lb_raise_as(L, FN ".histogram"); }
    int rc = ml_plot_histogram(ml_data(out), ml_data(c), c->numel, bins, lo, hi);
    ml_release(c);
    if (rc < 0) { ml_release(out); return lb_raise_as(L, NULL); }
    lb_push_tensor(L, out);
    return 1;
}

static int l_finite_range(lua_State *L) {
    ml_tensor *x = lb_check_tensor(L, 1, FN ".finite_range");
    if (x->dtype != ML_FLOAT64 || x->ndim != 1) return luaL_error(L, FN ".finite_range: x must be a float64 [n] tensor");
    ml_tensor *c = ml_contiguous(x);
    if (!c) return lb_raise_as(L, FN ".finite_range");
    double lo = 0, hi = 0;
    int64_t n = ml_plot_finite_range(&lo, &hi, ml_data(c), c->numel, lua_toboolean(L, 2));
    ml_release(c);
    lua_pushnumber(L, lo);
    lua_pushnumber(L, hi);
    lua_pushinteger(L, n);
    return 3;
}

static const luaL_Reg canvas_methods[] = {
    {"save_png", l_save_png}, {"finish", l_finish}, {"close", l_close},
    {"move_to", l_move_to}, {"line_to", l_line_to}, {"rectangle", l_rectangle}, {"arc", l_arc},
    {"close_path", l_close_path}, {"new_path", l_new_path}, {"clip", l_clip}, {"reset_clip", l_reset_clip},
    {"save", l_save}, {"restore", l_restore}, {"translate", l_translate}, {"rotate", l_rotate},
    {"rgba", l_rgba}, {"line_width", l_line_width}, {"dash", l_dash}, {"stroke", l_stroke}, {"fill", l_fill},
    {"font", l_font}, {"text_extents", l_text_extents}, {"text", l_text},
    {"polyline", l_polyline}, {"markers", l_markers}, {"box_hits", l_box_hits}, {"image", l_image},
    {NULL, NULL},
};

static const luaL_Reg funcs[] = {
    {"canvas", l_canvas}, {"histogram", l_histogram}, {"finite_range", l_finite_range}, {NULL, NULL},
};

void lb_open_cairo(lua_State *L) {
    luaL_newmetatable(L, CANVAS_MT);
    lua_newtable(L);
    luaL_setfuncs(L, canvas_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
    lua_newtable(L);
    luaL_setfuncs(L, funcs, 0);
    lua_setfield(L, 1, "_cairo");
}
