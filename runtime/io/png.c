/* PNG writing and reading through libpng (see png.h). libpng raises its
 * errors by longjmp to the setjmp of the function that called it: every
 * setjmp here sits in the function that owns the resources, and what the
 * error path frees is either set before the setjmp or volatile. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "png.h"

/* libpng's error and warning hooks: the message is kept for ours. */
typedef struct {
    char msg[200];
    bool io_failed; /* our write callback failed: ml_last_error() already says why */
    int64_t big[3]; /* reading: the (W, H, C) of an image too large to allocate, else zeros */
} png_ctx;

static void on_error(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

/* ---- writing ----------------------------------------------------------- */
static void write_cb(png_structp png, png_bytep data, size_t n) {
    ml_io_writer *w = png_get_io_ptr(png);
    if (ml_io_write(w, data, n) < 0) {
        ((png_ctx *)png_get_error_ptr(png))->io_failed = true;
        png_error(png, "write failed");
    }
}

static void flush_cb(png_structp png) { (void)png; }

/* Writing into memory (ml_png_encode): the buffer notes a failed allocation itself. */
static void buf_write_cb(png_structp png, png_bytep data, size_t n) {
    ml_buf *b = png_get_io_ptr(png);
    ml_buf_add(b, data, n);
    if (b->failed) png_error(png, "out of memory");
}

/* (C, H, W) planar values into (H, W, C) interleaved bytes; -1 with a
 * message naming the first bad pixel (1-based channel, row, column). */
#define TO_BYTES(T)                                                                                         \
    static int to_bytes_##T(const char *fn, uint8_t *out, const T *in, int64_t c, int64_t h, int64_t w) {   \
        int64_t plane = h * w;                                                                              \
        for (int64_t k = 0; k < c; k++)                                                                     \
            for (int64_t i = 0; i < plane; i++) {                                                           \
                T v = in[k * plane + i];                                                                    \
                if (v != v) {                                                                               \
                    ml_error("%s: the image holds NaN at channel %lld, row %lld, column %lld", fn,          \
                             (long long)k + 1, (long long)(i / w) + 1, (long long)(i % w) + 1);             \
                    return -1;                                                                              \
                }                                                                                           \
                v = v * (T)255 + (T)0.5; /* in T, as torchvision's mul(255).add_(0.5) */                  \
                out[i * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);                                  \
            }                                                                                               \
        return 0;                                                                                           \
    }
TO_BYTES(float)
TO_BYTES(double)

static int int_to_bytes(const char *fn, uint8_t *out, const int64_t *in, int64_t c, int64_t h, int64_t w) {
    int64_t plane = h * w;
    for (int64_t k = 0; k < c; k++)
        for (int64_t i = 0; i < plane; i++) {
            int64_t v = in[k * plane + i];
            if (v < 0 || v > 255) {
                ml_error("%s: integer images hold 0..255, got %lld at channel %lld, row %lld, column %lld", fn,
                         (long long)v, (long long)k + 1, (long long)(i / w) + 1, (long long)(i % w) + 1);
                return -1;
            }
            out[i * c + k] = (uint8_t)v;
        }
    return 0;
}

static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                   PNG_COLOR_TYPE_RGB_ALPHA};

/* libpng's part of the write: everything that may longjmp. */
static int write_png_file(png_rw_ptr sink, void *io, png_ctx *ctx, const uint8_t *px, int64_t c, int64_t h, int64_t wd) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
    if (!png) return -1;
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_set_write_fn(png, io, sink, flush_cb);
    png_set_IHDR(png, info, (png_uint_32)wd, (png_uint_32)h, 8, color_types[c], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int64_t y = 0; y < h; y++) png_write_row(png, px + y * wd * c);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

/* The image's pixels as interleaved bytes (malloc'd), or NULL with a message. */
static uint8_t *image_bytes(const char *fn, const ml_tensor *img) {
    char sb[64];
    if (img->ndim != 3 || img->shape[0] < 1 || img->shape[0] > 4 || !ml_is_contiguous(img)) {
        ml_error("%s: expected a contiguous (C, H, W) image with C in 1..4, got shape %s", fn,
                 ml_shape_str(sb, sizeof sb, img->ndim, img->shape));
        return NULL;
    }
    int64_t c = img->shape[0], h = img->shape[1], w = img->shape[2];
    if (h < 1 || w < 1 || h > PNG_UINT_31_MAX || w > PNG_UINT_31_MAX) {
        ml_error("%s: a PNG is 1 to 2^31-1 pixels high and wide, got %lld x %lld", fn, (long long)h, (long long)w);
        return NULL;
    }
    uint8_t *px = malloc((size_t)(c * h * w));
    if (!px) { ml_error("%s: out of memory for a %lld x %lld image", fn, (long long)h, (long long)w); return NULL; }
    int rc;
    switch (img->dtype) {
    case ML_FLOAT32: rc = to_bytes_float(fn, px, ml_data(img), c, h, w); break;
    case ML_FLOAT64: rc = to_bytes_double(fn, px, ml_data(img), c, h, w); break;
    case ML_INT64: rc = int_to_bytes(fn, px, ml_data(img), c, h, w); break;
    default: ml_error("%s: expected a float or int64 image, got %s", fn, ml_dtype_name(img->dtype)); rc = -1;
    }
    if (rc < 0) { free(px); return NULL; }
    return px;
}

int ml_png_write(const char *fn, const char *path, const ml_tensor *img) {
    uint8_t *px = image_bytes(fn, img);
    if (!px) return -1;
    int64_t c = img->shape[0], h = img->shape[1], w = img->shape[2];
    ml_io_writer wr;
    int rc = ml_io_begin_write(&wr, fn, path);
    if (rc == 0) {
        png_ctx ctx = {{0}, false, {0, 0, 0}};
        if (write_png_file(write_cb, &wr, &ctx, px, c, h, w) < 0) {
            if (!ctx.io_failed) ml_error("%s: cannot write '%s': libpng: %s", fn, path, ctx.msg[0] ? ctx.msg : "out of memory");
            ml_io_abort(&wr);
            rc = -1;
        } else {
            rc = ml_io_commit(&wr);
        }
    }
    free(px);
    return rc;
}

int ml_png_encode(const char *fn, ml_buf *out, const ml_tensor *img) {
    uint8_t *px = image_bytes(fn, img);
    if (!px) return -1;
    png_ctx ctx = {{0}, false, {0, 0, 0}};
    int rc = write_png_file(buf_write_cb, out, &ctx, px, img->shape[0], img->shape[1], img->shape[2]);
    if (rc < 0) ml_error("%s: cannot encode the PNG: libpng: %s", fn, ctx.msg[0] ? ctx.msg : "out of memory");
    free(px);
    return rc;
}

/* ---- reading ----------------------------------------------------------- */
/* libpng's part of the read, into a fresh tensor; NULL with ctx->msg set
 * (or ml_last_error(), when ctx->msg is empty). */
static ml_tensor *read_png_file(FILE *f, png_ctx *ctx) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
    if (!png) { snprintf(ctx->msg, sizeof ctx->msg, "out of memory"); return NULL; }
    png_infop info = png_create_info_struct(png);
    ml_tensor *volatile out = NULL;
    png_bytep volatile buf = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        if (!info) snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        free(buf);
        ml_release(out);
        return NULL;
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int64_t h = png_get_image_height(png, info), w = png_get_image_width(png, info);
    int64_t c = png_get_channels(png, info);
    int wide = png_get_bit_depth(png, info) == 16; /* big-endian 2-byte samples */
    size_t rowbytes = png_get_rowbytes(png, info);
    int64_t shape[3] = {c, h, w};
    out = ml_empty(3, shape, ML_FLOAT32);
    buf = malloc(rowbytes * (size_t)h);
    rows = malloc(sizeof(png_bytep) * (size_t)h);
    if (!out || !buf || !rows) {
        ctx->big[0] = w, ctx->big[1] = h, ctx->big[2] = c; /* a valid header, not a broken file: said so */
        png_error(png, "out of memory");
    }
    for (int64_t y = 0; y < h; y++) rows[y] = buf + y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    float *o = ml_data(out);
    int64_t plane = h * w;
    for (int64_t y = 0; y < h; y++) {
        const png_byte *r = rows[y];
        for (int64_t x = 0; x < w; x++)
            for (int64_t k = 0; k < c; k++) {
                int64_t j = x * c + k;
                o[k * plane + y * w + x] = wide ? (float)((r[2 * j] << 8 | r[2 * j + 1]) / 65535.0) : (float)(r[j] / 255.0);
            }
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    free(buf);
    return out;
}

ml_tensor *ml_png_read(const char *fn, const char *path) {
    int64_t size;
    FILE *f = ml_io_open_read(fn, path, &size);
    if (!f) return NULL;
    unsigned char sig[8];
    size_t got = fread(sig, 1, sizeof sig, f);
    if (got < sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
        char ex[ML_EXCERPT_SIZE];
        fclose(f);
        if (got == 0) return ml_error("%s: '%s' is not a PNG file (it is empty)", fn, path);
        return ml_error("%s: '%s' is not a PNG file (it starts with \"%s\", not the PNG signature)", fn, path,
                        ml_excerpt(ex, sizeof ex, (const char *)sig, got));
    }
    png_ctx ctx = {{0}, false, {0, 0, 0}};
    ml_tensor *out = read_png_file(f, &ctx);
    fclose(f);
    if (!out && ctx.big[0])
        return ml_error("%s: '%s' is a %lld x %lld PNG with %lld channels: too large to load (out of memory for %.3g GB "
                        "as float32)", fn, path, (long long)ctx.big[0], (long long)ctx.big[1], (long long)ctx.big[2],
                        (double)ctx.big[0] * (double)ctx.big[1] * (double)ctx.big[2] * 4 / 1e9);
    if (!out && ctx.msg[0]) return ml_error("%s: '%s' is not a valid PNG file: libpng: %s", fn, path, ctx.msg);
    return out;
}
