/* IDX reader (see idx.h for the format). One pass through zlib's gzread,
 * which reads gzipped and plain files alike: the header is parsed and
 * checked, the tensor is allocated once, and the data is converted from
 * big-endian into it in chunks, so a 47 MB image file never exists twice
 * in memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "idx.h"
#include "io.h"

#define FN "data.read_idx"
#define MAX_DEFLATE_RATIO 1032 /* deflate never expands beyond this */
#define CHUNK_BYTES (1 << 18)

static const bool host_big_endian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;

typedef enum { T_U8, T_I8, T_I16, T_I32, T_F32, T_F64, T_COUNT } idx_type;
static const unsigned char type_codes[T_COUNT] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};
static const int type_sizes[T_COUNT] = {1, 1, 2, 4, 4, 8};
static const ml_dtype type_targets[T_COUNT] = {ML_INT64, ML_INT64, ML_INT64, ML_INT64, ML_FLOAT32, ML_FLOAT64};

typedef struct {
    gzFile g;
    const char *path;
    bool gz;       /* the file is gzip-compressed (else gzread reads it as is) */
    int64_t fsize; /* bytes on disk */
} reader;

/* Reads up to n bytes: fewer only where the data ends. -1 with the error
 * set on a read error or corrupt gzip data. */
static int64_t rd(reader *r, void *buf, int64_t n) {
    int64_t done = 0;
    while (done < n) {
        int64_t want = n - done > (1 << 30) ? (1 << 30) : n - done;
        int k = gzread(r->g, (char *)buf + done, (unsigned)want);
        if (k < 0) {
            int e;
            const char *msg = gzerror(r->g, &e);
            if (e == Z_ERRNO) ml_error("%s: cannot read '%s': %s", FN, r->path, strerror(errno));
            else if (e == Z_MEM_ERROR) ml_error("%s: '%s': out of memory", FN, r->path);
            else ml_error("%s: '%s' is corrupt: the gzip data is damaged (%s)", FN, r->path, msg);
            return -1;
        }
        if (k == 0) break;
        done += k;
    }
    return done;
}

static inline uint16_t ld16(const unsigned char *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return host_big_endian ? v : __builtin_bswap16(v);
}
static inline uint32_t ld32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return host_big_endian ? v : __builtin_bswap32(v);
}
static inline uint64_t ld64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return host_big_endian ? v : __builtin_bswap64(v);
}

/* Element i of big-endian data of type ty, as a double (exact for every type). */
static inline double value_at(const unsigned char *src, int64_t i, idx_type ty) {
    switch (ty) {
    case T_U8: return src[i];
    case T_I8: return (int8_t)src[i];
    case T_I16: return (int16_t)ld16(src + 2 * i);
    case T_I32: return (int32_t)ld32(src + 4 * i);
    case T_F32: { uint32_t b = ld32(src + 4 * i); float f; memcpy(&f, &b, 4); return f; }
    case T_F64: { uint64_t b = ld64(src + 8 * i); double d; memcpy(&d, &b, 8); return d; }
    default: return 0;
    }
}

/* How values become float32 in the scaled reader. */
typedef struct {
    double scale, divisor; /* divisor > 0: v / divisor (1/scale is an integer); else v * scale */
    float lut[256];        /* u8 and i8, indexed by the raw byte */
} scaler;

static void scaler_init(scaler *s, double scale) {
    s->scale = scale;
    double inv = 1.0 / scale;
    s->divisor = (scale > 0 && isfinite(inv) && inv == nearbyint(inv) && inv <= 16777216.0) ? inv : 0;
    for (int b = 0; b < 256; b++) s->lut[b] = 0;
}

static void scaler_lut(scaler *s, idx_type ty) {
    for (int b = 0; b < 256; b++) {
        int v = ty == T_U8 ? b : (int8_t)b;
        s->lut[b] = s->divisor > 0 ? (float)v / (float)s->divisor : (float)((double)v * s->scale);
    }
}

static inline float scale_value(const scaler *s, double v) {
    return (float)(s->divisor > 0 ? v / s->divisor : v * s->scale);
}

/* n elements of big-endian ty at src into dst (of dtype dt). */
static void convert(void *dst, const unsigned char *src, int64_t n, idx_type ty, const scaler *s) {
    if (s) {
        float *o = dst;
        if (ty == T_U8 || ty == T_I8)
            for (int64_t i = 0; i < n; i++) o[i] = s->lut[src[i]];
        else
            for (int64_t i = 0; i < n; i++) o[i] = scale_value(s, value_at(src, i, ty));
        return;
    }
    switch (ty) {
    case T_U8: { int64_t *o = dst; for (int64_t i = 0; i < n; i++) o[i] = src[i]; break; }
    case T_I8: { int64_t *o = dst; for (int64_t i = 0; i < n; i++) o[i] = (int8_t)src[i]; break; }
    case T_I16: { int64_t *o = dst; for (int64_t i = 0; i < n; i++) o[i] = (int16_t)ld16(src + 2 * i); break; }
    case T_I32: { int64_t *o = dst; for (int64_t i = 0; i < n; i++) o[i] = (int32_t)ld32(src + 4 * i); break; }
    case T_F32: { uint32_t *o = dst; for (int64_t i = 0; i < n; i++) o[i] = ld32(src + 4 * i); break; }
    case T_F64: { uint64_t *o = dst; for (int64_t i = 0; i < n; i++) o[i] = ld64(src + 8 * i); break; }
    default: break;
    }
}

static ml_tensor *truncated(reader *r, int64_t want, int64_t got) {
    return ml_error("%s: '%s' is truncated: expected %lld bytes of data, got %lld", FN, r->path, (long long)want,
                    (long long)got);
}

/* The header: magic, type, sizes. Checks that the file can hold the data. */
static int read_header(reader *r, idx_type *ty, int *ndim, int64_t *shape, int64_t *data_bytes) {
    unsigned char magic[4];
    int64_t k = rd(r, magic, 4);
    if (k < 0) return -1;
    if (k < 4) {
        ml_error("%s: '%s' is not an IDX file: it holds %lld bytes, less than the 4-byte magic number", FN, r->path,
                 (long long)k);
        return -1;
    }
    if (magic[0] || magic[1]) {
        ml_error("%s: '%s' is not an IDX file: it starts with bytes %02x %02x %02x %02x, expected 00 00 <type> "
                 "<number of dimensions>", FN, r->path, magic[0], magic[1], magic[2], magic[3]);
        return -1;
    }
    int t = 0;
    while (t < T_COUNT && type_codes[t] != magic[2]) t++;
    if (t == T_COUNT) {
        ml_error("%s: '%s' has unknown IDX data type code 0x%02X (known: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, "
                 "0x0D f32, 0x0E f64)", FN, r->path, magic[2]);
        return -1;
    }
    *ty = (idx_type)t;
    int nd = magic[3];
    if (nd < 1 || nd > ML_MAX_DIMS) {
        ml_error("%s: '%s' declares %d dimensions; moonlab reads 1 to %d", FN, r->path, nd, ML_MAX_DIMS);
        return -1;
    }
    unsigned char sz[4 * ML_MAX_DIMS];
    k = rd(r, sz, 4 * nd);
    if (k < 0) return -1;
    if (k < 4 * nd) {
        ml_error("%s: '%s' is truncated: the header declares %d dimensions but ends after %lld of their %d size bytes",
                 FN, r->path, nd, (long long)k, 4 * nd);
        return -1;
    }
    int64_t numel = 1;
    bool overflow = false;
    for (int i = 0; i < nd; i++) {
        shape[i] = (int64_t)ld32(sz + 4 * i);
        if (__builtin_mul_overflow(numel, shape[i], &numel)) overflow = true;
    }
    char sbuf[160];
    ml_shape_str(sbuf, sizeof sbuf, nd, shape);
    if (overflow || __builtin_mul_overflow(numel, (int64_t)type_sizes[t], data_bytes)) {
        ml_error("%s: '%s' declares shape %s, too large for any file; the header is corrupt", FN, r->path, sbuf);
        return -1;
    }
    int64_t header = 4 + 4 * (int64_t)nd;
    if (!r->gz) {
        int64_t have = r->fsize - header;
        if (have < *data_bytes) { truncated(r, *data_bytes, have); return -1; }
        if (have > *data_bytes) {
            ml_error("%s: '%s' has %lld bytes after the data (shape %s holds %lld bytes); the header or the file is "
                     "damaged", FN, r->path, (long long)(have - *data_bytes), sbuf, (long long)*data_bytes);
            return -1;
        }
    } else if (*data_bytes / MAX_DEFLATE_RATIO > r->fsize) {
        ml_error("%s: '%s' declares shape %s (%lld bytes of data), more than its %lld compressed bytes can hold; "
                 "the file is corrupt or truncated", FN, r->path, sbuf, (long long)*data_bytes, (long long)r->fsize);
        return -1;
    }
    *ndim = nd;
    return 0;
}

static ml_tensor *read_body(reader *r, const scaler *sc) {
    idx_type ty;
    int nd;
    int64_t shape[ML_MAX_DIMS], nbytes;
    if (read_header(r, &ty, &nd, shape, &nbytes) < 0) return NULL;
    ml_dtype dt = sc ? ML_FLOAT32 : type_targets[ty];
    ml_tensor *t = ml_empty(nd, shape, dt);
    if (!t) {
        char why[256];
        snprintf(why, sizeof why, "%s", ml_last_error());
        return ml_error("%s: '%s': %s", FN, r->path, why);
    }
    int es = type_sizes[ty];
    int64_t n = t->numel;
    unsigned char *out = ml_data(t);
    size_t ds = ml_dtype_size(dt);
    if (!sc && (size_t)es == ds) { /* f32 and f64: straight into the tensor, then fix the byte order */
        int64_t got = rd(r, out, nbytes);
        if (got < 0) goto fail;
        if (got < nbytes) { truncated(r, nbytes, got); goto fail; }
        if (!host_big_endian) convert(out, out, n, ty, NULL); /* in place: each element reads before it writes */
    } else {
        scaler local;
        if (sc) {
            local = *sc;
            scaler_lut(&local, ty);
            sc = &local;
        }
        unsigned char *buf = malloc(CHUNK_BYTES);
        if (!buf) { ml_error("%s: '%s': out of memory", FN, r->path); goto fail; }
        int64_t per = CHUNK_BYTES / es;
        for (int64_t done = 0; done < n;) {
            int64_t k = n - done < per ? n - done : per;
            int64_t got = rd(r, buf, k * es);
            if (got < 0) { free(buf); goto fail; }
            if (got < k * es) { truncated(r, nbytes, done * es + got); free(buf); goto fail; }
            convert(out + done * ds, buf, k, ty, sc);
            done += k;
        }
        free(buf);
    }
    unsigned char extra[64];
    int64_t more = rd(r, extra, sizeof extra); /* also makes zlib check the gzip trailer's CRC */
    if (more < 0) goto fail;
    int zerr = Z_OK;
    gzerror(r->g, &zerr);
    if (more == 0 && zerr == Z_BUF_ERROR) { /* the data came whole, the gzip trailer (CRC, length) did not */
        ml_error("%s: '%s' is truncated: the gzip stream ends before its check bytes", FN, r->path);
        goto fail;
    }
    if (more > 0) {
        char sbuf[160];
        ml_error("%s: '%s' has bytes after the data (shape %s holds %lld bytes); the header or the file is damaged",
                 FN, r->path, ml_shape_str(sbuf, sizeof sbuf, nd, shape), (long long)nbytes);
        goto fail;
    }
    return t;
fail:
    ml_release(t);
    return NULL;
}

static ml_tensor *read_idx(const char *path, const scaler *sc) {
    int64_t fsize;
    FILE *f = ml_io_open_read(FN, path, &fsize);
    if (!f) return NULL;
    int fd = dup(fileno(f));
    int e = errno;
    fclose(f);
    if (fd < 0) return ml_error("%s: cannot open '%s': %s", FN, path, strerror(e));
    unsigned char sig[2] = {0, 0};
    bool gz = pread(fd, sig, 2, 0) == 2 && sig[0] == 0x1f && sig[1] == 0x8b;
    if (lseek(fd, 0, SEEK_SET) != 0) {
        e = errno;
        close(fd);
        return ml_error("%s: cannot read '%s': %s", FN, path, strerror(e));
    }
    reader r = {gzdopen(fd, "rb"), path, gz, fsize};
    if (!r.g) {
        close(fd);
        return ml_error("%s: '%s': out of memory", FN, path);
    }
    gzbuffer(r.g, 1 << 17);
    ml_tensor *t = read_body(&r, sc);
    gzclose_r(r.g);
    return t;
}

ml_tensor *ml_read_idx(const char *path) { return read_idx(path, NULL); }

ml_tensor *ml_read_idx_scaled(const char *path, double scale) {
    if (!isfinite(scale)) return ml_error("%s: scale must be a finite number, got %g", FN, scale);
    scaler s;
    scaler_init(&s, scale);
    return read_idx(path, &s);
}
