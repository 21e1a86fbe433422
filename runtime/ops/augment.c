/* Data augmentation kernels (see augment.h): a counter-based generator, one
 * kernel per image op on one sample [C, H, W], the plan runner that chains
 * them per sample (samples in parallel), and mixup/cutmix's parameters. */
#include "augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/parallel.h"

#define FN "prep.augment"
#define GOLDEN 0x9e3779b97f4a7c15ULL

/* ---- the counter-based generator ------------------------------------------ */
static inline uint64_t mix(uint64_t z) { /* splitmix64's output function */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct {
    uint64_t key, ctr;
} aug_rng;

static inline uint64_t rng_u64(aug_rng *r) { return mix(r->key + (++r->ctr) * GOLDEN); }
static inline double rng_unif(aug_rng *r) { return (double)(rng_u64(r) >> 11) * 0x1p-53; }          /* [0, 1) */
static inline double rng_open(aug_rng *r) { return ((double)(rng_u64(r) >> 11) + 1.0) * 0x1p-53; }  /* (0, 1] */
static inline double rng_range(aug_rng *r, const double ab[2]) { return ab[0] + (ab[1] - ab[0]) * rng_unif(r); }
static inline int64_t rng_below(aug_rng *r, int64_t n) { /* [0, n), n >= 1 */
    int64_t k = (int64_t)(rng_unif(r) * (double)n);
    return k < n ? k : n - 1;
}
static double rng_normal(aug_rng *r) { /* Box-Muller, one value per pair of draws */
    double u1 = rng_open(r), u2 = rng_unif(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* One key per (seed, streams); one generator per (sample, op) from it. */
static uint64_t batch_key(uint64_t seed, uint64_t a, uint64_t b) {
    return mix(mix(mix(seed ^ 0x5851f42d4c957f2dULL) ^ (a * GOLDEN + 1)) ^ (b * 0xd1b54a32d192ed03ULL + 2));
}
static inline aug_rng sample_rng(uint64_t bkey, int64_t i, int op) {
    aug_rng r = {mix(bkey ^ mix((uint64_t)i * ML_AUG_MAX_OPS + (uint64_t)op + 1)), 0};
    return r;
}

/* ---- per-sample kernels: one image [C, H, W] ------------------------------ */
static void hflip(float *x, int64_t C, int64_t H, int64_t W) { /* in place */
    for (int64_t r = 0; r < C * H; r++) {
        float *row = x + r * W;
        for (int64_t a = 0, b = W - 1; a < b; a++, b--) {
            float t = row[a];
            row[a] = row[b];
            row[b] = t;
        }
    }
}

static void vflip(float *x, int64_t C, int64_t H, int64_t W) { /* in place */
    for (int64_t c = 0; c < C; c++) {
        float *p = x + c * H * W;
        for (int64_t a = 0, b = H - 1; a < b; a++, b--)
            for (int64_t j = 0; j < W; j++) {
                float t = p[a * W + j];
                p[a * W + j] = p[b * W + j];
                p[b * W + j] = t;
            }
    }
}

/* dst [C, H, W] <- src [C, H, W] sampled at m (centred pixel coordinates).
 * Each tap outside the image reads fill (grid_sample's zeros padding when
 * fill = 0). */
static void warp(float *dst, const float *src, int64_t C, int64_t H, int64_t W, const double m[6], float fill) {
    const double cx = (W - 1) * 0.5, cy = (H - 1) * 0.5;
    const int64_t HW = H * W;
    for (int64_t oy = 0; oy < H; oy++) {
        double v = oy - cy, bx = m[1] * v + m[2] + cx, by = m[4] * v + m[5] + cy;
        for (int64_t ox = 0; ox < W; ox++) {
            double u = ox - cx, ix = m[0] * u + bx, iy = m[3] * u + by;
            int64_t o = oy * W + ox;
            if (!(ix > -1.0 && ix < (double)W && iy > -1.0 && iy < (double)H)) { /* all four taps outside (or NaN) */
                for (int64_t c = 0; c < C; c++) dst[c * HW + o] = fill;
                continue;
            }
            /* floor without libm: ix, iy > -1 here, so truncating ix + 1 is floor(ix) + 1 */
            int64_t x0 = (int64_t)(ix + 1.0) - 1, y0 = (int64_t)(iy + 1.0) - 1, x1 = x0 + 1, y1 = y0 + 1;
            float ax = (float)(ix - (double)x0), ay = (float)(iy - (double)y0);
            float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
            if (x0 >= 0 && y0 >= 0 && x1 < W && y1 < H) {
                const float *s = src + y0 * W + x0;
                for (int64_t c = 0; c < C; c++, s += HW)
                    dst[c * HW + o] = w00 * s[0] + w01 * s[1] + w10 * s[W] + w11 * s[W + 1];
            } else {
                bool in00 = x0 >= 0 && y0 >= 0, in01 = x1 < W && y0 >= 0, in10 = x0 >= 0 && y1 < H, in11 = x1 < W && y1 < H;
                for (int64_t c = 0; c < C; c++) {
                    const float *p = src + c * HW;
                    float v00 = in00 ? p[y0 * W + x0] : fill, v01 = in01 ? p[y0 * W + x1] : fill;
                    float v10 = in10 ? p[y1 * W + x0] : fill, v11 = in11 ? p[y1 * W + x1] : fill;
                    dst[c * HW + o] = w00 * v00 + w01 * v01 + w10 * v10 + w11 * v11;
                }
            }
        }
    }
}

/* dst [C, h, w] <- the window at (top, left) of src [C, H, W] padded by
 * (pad_left, pad_top) with fill. */
static void crop(float *dst, const float *src, int64_t C, int64_t H, int64_t W, int64_t h, int64_t w, int64_t top,
                 int64_t left, float fill) {
    for (int64_t c = 0; c < C; c++)
        for (int64_t y = 0; y < h; y++) {
            float *d = dst + (c * h + y) * w;
            int64_t sy = y + top;
            if (sy < 0 || sy >= H) {
                for (int64_t x = 0; x < w; x++) d[x] = fill;
                continue;
            }
            const float *s = src + (c * H + sy) * W;
            int64_t x = 0;
            for (; x < w && x + left < 0; x++) d[x] = fill;
            int64_t stop = W - left < w ? W - left : w;
            if (stop > x) {
                memcpy(d + x, s + x + left, sizeof(float) * (size_t)(stop - x));
                x = stop;
            }
            for (; x < w; x++) d[x] = fill;
        }
}

/* torchvision's RandomErasing.get_params, then the rectangle filled. */
static void erase(float *x, int64_t C, int64_t H, int64_t W, const ml_aug_op *op, aug_rng *r) {
    double area = (double)H * W, lr[2] = {log(op->ratio[0]), log(op->ratio[1])};
    for (int attempt = 0; attempt < 10; attempt++) {
        double ea = area * rng_range(r, op->area), aspect = exp(rng_range(r, lr));
        int64_t h = (int64_t)llround(sqrt(ea * aspect)), w = (int64_t)llround(sqrt(ea / aspect));
        if (!(h < H && w < W)) continue;
        int64_t top = rng_below(r, H - h + 1), left = rng_below(r, W - w + 1);
        for (int64_t c = 0; c < C; c++)
            for (int64_t y = top; y < top + h; y++) {
                float *row = x + (c * H + y) * W + left;
                for (int64_t j = 0; j < w; j++) row[j] = op->random_value ? (float)rng_normal(r) : (float)op->value;
            }
        return;
    }
}

static inline float clamp01(float v) { return v < 0.f ? 0.f : v > 1.f ? 1.f : v; }

/* torchvision's adjust_brightness and adjust_contrast (float images in [0, 1]). */
static void brightness(float *x, int64_t n, float f) {
    for (int64_t k = 0; k < n; k++) x[k] = clamp01(x[k] * f);
}
static void contrast(float *x, int64_t C, int64_t HW, float f) {
    double mean = 0;
    if (C == 3) { /* the mean of rgb_to_grayscale */
        for (int64_t k = 0; k < HW; k++) mean += 0.2989 * x[k] + 0.587 * x[HW + k] + 0.114 * x[2 * HW + k];
        mean /= (double)HW;
    } else {
        for (int64_t k = 0; k < C * HW; k++) mean += x[k];
        mean /= (double)(C * HW);
    }
    float add = (float)((1.0 - f) * mean);
    for (int64_t k = 0; k < C * HW; k++) x[k] = clamp01(f * x[k] + add);
}

/* x += mean + std * z, z standard normal per element (a pair per two elements). */
#define NOISE_KERNEL(T)                                                                                     \
    static void noise_##T(T *x, int64_t n, const ml_aug_op *op, aug_rng *r) {                                \
        for (int64_t k = 0; k < n; k += 2) {                                                                \
            double u1 = rng_open(r), u2 = rng_unif(r), rad = sqrt(-2.0 * log(u1)), ang = 2.0 * M_PI * u2;   \
            double z[2] = {rad * cos(ang), rad * sin(ang)};                                                 \
            for (int q = 0; q < 2 && k + q < n; q++) {                                                      \
                double v = x[k + q] + op->mean + op->std * z[q];                                            \
                if (op->clip) v = v < 0 ? 0 : v > 1 ? 1 : v;                                                \
                x[k + q] = (T)v;                                                                            \
            }                                                                                               \
        }                                                                                                   \
    }
NOISE_KERNEL(float)
NOISE_KERNEL(double)

/* ---- the affine matrix ------------------------------------------------------- */
void ml_aug_affine_matrix(double m[6], double angle, double tx, double ty, double scale, double shear_x, double shear_y) {
    const double d2r = M_PI / 180.0;
    double rot = angle * d2r, sx = shear_x * d2r, sy = shear_y * d2r;
    /* RSS = rotation * shear * scale; its inverse, then the translation's */
    double a = cos(rot - sy) / cos(sy), b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
    double c = sin(rot - sy) / cos(sy), d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
    m[0] = d / scale, m[1] = -b / scale, m[3] = -c / scale, m[4] = a / scale;
    m[2] = m[0] * -tx + m[1] * -ty;
    m[5] = m[3] * -tx + m[4] * -ty;
}

/* ---- checking a plan ---------------------------------------------------------- */
static const char *const KIND_NAME[ML_AUG_NKINDS] = {"RandomHorizontalFlip", "RandomVerticalFlip", "RandomAffine",
                                                     "RandomCrop",           "RandomErasing",      "ColorJitter",
                                                     "GaussianNoise"};
_Static_assert(sizeof KIND_NAME / sizeof KIND_NAME[0] == ML_AUG_NKINDS, "a name per op kind");

static bool ordered(const double ab[2]) { return isfinite(ab[0]) && isfinite(ab[1]) && ab[0] <= ab[1]; }

int ml_aug_plan_check(const ml_aug_plan *p) {
    if (p->nops < 0 || p->nops > ML_AUG_MAX_OPS) {
        ml_error("%s.Compose: at most %d transforms, got %d", FN, ML_AUG_MAX_OPS, p->nops);
        return -1;
    }
    for (int j = 0; j < p->nops; j++) {
        const ml_aug_op *o = &p->ops[j];
        if ((int)o->kind < 0 || o->kind >= ML_AUG_NKINDS) {
            ml_error("%s: transform %d has an unknown kind %d", FN, j + 1, (int)o->kind);
            return -1;
        }
        const char *k = KIND_NAME[o->kind];
        const char *bad = NULL;
        if (!(o->p >= 0 && o->p <= 1)) bad = "p must be in [0, 1]";
        switch (o->kind) {
        case ML_AUG_AFFINE:
            if (!ordered(o->degrees) || !ordered(o->scale) || !ordered(o->shear) || !ordered(o->shear + 2))
                bad = "degrees, scale and shear must be finite ranges {lo, hi} with lo <= hi";
            else if (!(o->scale[0] > 0)) bad = "scale must be positive";
            else if (!(o->translate[0] >= 0 && o->translate[0] <= 1 && o->translate[1] >= 0 && o->translate[1] <= 1))
                bad = "translate fractions must be in [0, 1]";
            else if (fabs(o->shear[0]) >= 90 || fabs(o->shear[1]) >= 90 || fabs(o->shear[2]) >= 90 || fabs(o->shear[3]) >= 90)
                bad = "shear angles must be in (-90, 90) degrees";
            break;
        case ML_AUG_CROP:
            if (o->size[0] < 1 || o->size[1] < 1) bad = "size must be positive";
            else if (o->pad[0] < 0 || o->pad[1] < 0 || o->pad[2] < 0 || o->pad[3] < 0) bad = "padding must be >= 0";
            break;
        case ML_AUG_ERASE:
            if (!ordered(o->area) || !(o->area[0] >= 0 && o->area[1] <= 1)) bad = "scale must be a range within [0, 1]";
            else if (!ordered(o->ratio) || !(o->ratio[0] > 0)) bad = "ratio must be a positive range {lo, hi}";
            break;
        case ML_AUG_JITTER:
            if (!ordered(o->brightness) || !ordered(o->contrast) || o->brightness[0] < 0 || o->contrast[0] < 0)
                bad = "brightness and contrast factors must be ranges of numbers >= 0";
            break;
        case ML_AUG_NOISE:
            if (!(o->std >= 0) || !isfinite(o->std) || !isfinite(o->mean)) bad = "std must be a finite number >= 0";
            break;
        default:
            break;
        }
        if (bad) {
            ml_error("%s.%s: %s", FN, k, bad);
            return -1;
        }
    }
    return 0;
}

/* ---- the plan runner ----------------------------------------------------------- */
typedef struct {
    const ml_aug_plan *p;
    const void *x;
    void *out;
    int64_t C, H, W, oh, ow, cap; /* cap: floats per scratch buffer */
    int64_t row;                 /* noise-only plans: elements per sample */
    bool f64;
    uint64_t bkey;
    int failed; /* scratch allocation failed in some range (written 1 only) */
} run_ctx;

static void run_images(void *arg, int64_t s, int64_t e) {
    run_ctx *r = arg;
    const ml_aug_plan *p = r->p;
    float *buf = malloc(sizeof(float) * (size_t)(2 * r->cap));
    if (!buf) { r->failed = 1; return; }
    const int64_t C = r->C, in_n = r->C * r->H * r->W, out_n = r->C * r->oh * r->ow;
    for (int64_t i = s; i < e; i++) {
        const float *src = (const float *)r->x + i * in_n;
        float *cur = buf, *other = buf + r->cap;
        memcpy(cur, src, sizeof(float) * (size_t)in_n);
        int64_t H = r->H, W = r->W;
        for (int j = 0; j < p->nops; j++) {
            const ml_aug_op *op = &p->ops[j];
            aug_rng g = sample_rng(r->bkey, i, j);
            switch (op->kind) {
            case ML_AUG_HFLIP:
                if (rng_unif(&g) < op->p) hflip(cur, C, H, W);
                break;
            case ML_AUG_VFLIP:
                if (rng_unif(&g) < op->p) vflip(cur, C, H, W);
                break;
            case ML_AUG_AFFINE: { /* torchvision's RandomAffine.get_params, then F.affine */
                double angle = rng_range(&g, op->degrees), dx = op->translate[0] * W, dy = op->translate[1] * H;
                double tx = round(-dx + 2 * dx * rng_unif(&g)), ty = round(-dy + 2 * dy * rng_unif(&g));
                double sc = rng_range(&g, op->scale), shx = rng_range(&g, op->shear), shy = rng_range(&g, op->shear + 2);
                double m[6];
                ml_aug_affine_matrix(m, angle, tx, ty, sc, shx, shy);
                warp(other, cur, C, H, W, m, (float)op->fill);
                float *t = cur; cur = other; other = t;
                break;
            }
            case ML_AUG_CROP: {
                int64_t h = op->size[0], w = op->size[1];
                int64_t top = rng_below(&g, H + op->pad[1] + op->pad[3] - h + 1) - op->pad[1];
                int64_t left = rng_below(&g, W + op->pad[0] + op->pad[2] - w + 1) - op->pad[0];
                crop(other, cur, C, H, W, h, w, top, left, (float)op->fill);
                float *t = cur; cur = other; other = t;
                H = h, W = w;
                break;
            }
            case ML_AUG_ERASE:
                if (rng_unif(&g) < op->p) erase(cur, C, H, W, op, &g);
                break;
            case ML_AUG_JITTER: {
                bool contrast_first = rng_unif(&g) < 0.5;
                float fb = (float)rng_range(&g, op->brightness), fc = (float)rng_range(&g, op->contrast);
                bool b = op->brightness[0] != 1 || op->brightness[1] != 1, c = op->contrast[0] != 1 || op->contrast[1] != 1;
                if (contrast_first && c) contrast(cur, C, H * W, fc);
                if (b) brightness(cur, C * H * W, fb);
                if (!contrast_first && c) contrast(cur, C, H * W, fc);
                break;
            }
            case ML_AUG_NOISE:
                noise_float(cur, C * H * W, op, &g);
                break;
            default:
                break;
            }
        }
        memcpy((float *)r->out + i * out_n, cur, sizeof(float) * (size_t)out_n);
    }
    free(buf);
}

static void run_noise(void *arg, int64_t s, int64_t e) {
    run_ctx *r = arg;
    for (int64_t i = s; i < e; i++)
        for (int j = 0; j < r->p->nops; j++) {
            aug_rng g = sample_rng(r->bkey, i, j);
            if (r->f64) noise_double((double *)r->out + i * r->row, r->row, &r->p->ops[j], &g);
            else noise_float((float *)r->out + i * r->row, r->row, &r->p->ops[j], &g);
        }
}

/* The output shape of the plan on images [C, H, W]; -1 when a crop does not fit. */
static int plan_shape(const ml_aug_plan *p, int64_t *H, int64_t *W, int64_t *cap) {
    *cap = *H * *W;
    for (int j = 0; j < p->nops; j++) {
        const ml_aug_op *o = &p->ops[j];
        if (o->kind != ML_AUG_CROP) continue;
        int64_t ph = *H + o->pad[1] + o->pad[3], pw = *W + o->pad[0] + o->pad[2];
        if (o->size[0] > ph || o->size[1] > pw) {
            ml_error("%s.RandomCrop: crop size %lldx%lld is larger than the padded image %lldx%lld", FN,
                     (long long)o->size[0], (long long)o->size[1], (long long)ph, (long long)pw);
            return -1;
        }
        *H = o->size[0], *W = o->size[1];
        if (*H * *W > *cap) *cap = *H * *W;
    }
    return 0;
}

static bool noise_only(const ml_aug_plan *p) {
    for (int j = 0; j < p->nops; j++)
        if (p->ops[j].kind != ML_AUG_NOISE) return false;
    return true;
}

static void run(ml_range_fn fn, run_ctx *r, int64_t n, int64_t per_sample, bool parallel) {
    int64_t grain = per_sample > 0 ? 65536 / per_sample : 1;
    if (parallel) ml_parallel_for(n, grain > 0 ? grain : 1, fn, r);
    else if (n > 0) fn(r, 0, n);
}

ml_tensor *ml_aug_apply(const ml_aug_plan *p, const ml_tensor *x, uint64_t stream_a, uint64_t stream_b, bool parallel) {
    if (ml_aug_plan_check(p) < 0) return NULL;
    char sb[160];
    if (!ml_is_contiguous(x)) return ml_error("%s: the batch must be contiguous", FN);
    run_ctx r = {.p = p, .x = ml_data(x), .bkey = batch_key(p->seed, stream_a, stream_b)};
    if (noise_only(p)) {
        if (!ml_dtype_is_float(x->dtype) || x->ndim < 1)
            return ml_error("%s.GaussianNoise: expected a float32 or float64 batch [N, ...], got %s %s", FN,
                            ml_dtype_name(x->dtype), ml_shape_str(sb, sizeof sb, x->ndim, x->shape));
        ml_tensor *out = ml_empty(x->ndim, x->shape, x->dtype);
        if (!out) return NULL;
        memcpy(ml_data(out), ml_data(x), (size_t)x->numel * ml_dtype_size(x->dtype));
        r.out = ml_data(out);
        r.f64 = x->dtype == ML_FLOAT64;
        r.row = x->shape[0] ? x->numel / x->shape[0] : 0;
        run(run_noise, &r, x->shape[0], r.row, parallel);
        return out;
    }
    if (x->dtype != ML_FLOAT32 || (x->ndim != 3 && x->ndim != 4))
        return ml_error("%s: image transforms expect a float32 batch [N, C, H, W] or [N, H, W], got %s %s", FN,
                        ml_dtype_name(x->dtype), ml_shape_str(sb, sizeof sb, x->ndim, x->shape));
    bool chw = x->ndim == 4;
    r.C = chw ? x->shape[1] : 1;
    r.H = x->shape[x->ndim - 2], r.W = x->shape[x->ndim - 1];
    if (r.H < 1 || r.W < 1 || r.C < 1) return ml_error("%s: the images are empty (%s)", FN, ml_shape_str(sb, sizeof sb, x->ndim, x->shape));
    r.oh = r.H, r.ow = r.W;
    if (plan_shape(p, &r.oh, &r.ow, &r.cap) < 0) return NULL;
    r.cap *= r.C;
    int64_t shape[4] = {x->shape[0], r.C, r.oh, r.ow};
    if (!chw) shape[1] = r.oh, shape[2] = r.ow;
    ml_tensor *out = ml_empty(x->ndim, shape, ML_FLOAT32);
    if (!out) return NULL;
    r.out = ml_data(out);
    run(run_images, &r, x->shape[0], r.C * r.H * r.W * 8, parallel);
    if (r.failed) {
        ml_release(out);
        return ml_error("%s: out of memory for the scratch images", FN);
    }
    return out;
}

/* ---- fixed warps ------------------------------------------------------------------ */
typedef struct {
    const float *x;
    float *out;
    const double *m; /* 6 per sample, or 6 for all (stride 0) */
    int64_t mstride, C, H, W;
    float fill;
} warp_ctx;

static void warp_range(void *arg, int64_t s, int64_t e) {
    warp_ctx *w = arg;
    int64_t n = w->C * w->H * w->W;
    for (int64_t i = s; i < e; i++) warp(w->out + i * n, w->x + i * n, w->C, w->H, w->W, w->m + i * w->mstride, w->fill);
}

static ml_tensor *warp_batch(const ml_tensor *x, const double *m, int64_t mstride, double fill, const char *fn) {
    char sb[160];
    if (x->dtype != ML_FLOAT32 || (x->ndim != 3 && x->ndim != 4) || !ml_is_contiguous(x))
        return ml_error("%s: expected a contiguous float32 batch [N, C, H, W] or [N, H, W], got %s %s", fn,
                        ml_dtype_name(x->dtype), ml_shape_str(sb, sizeof sb, x->ndim, x->shape));
    warp_ctx w = {.x = ml_data(x), .m = m, .mstride = mstride, .fill = (float)fill};
    w.C = x->ndim == 4 ? x->shape[1] : 1;
    w.H = x->shape[x->ndim - 2], w.W = x->shape[x->ndim - 1];
    ml_tensor *out = ml_empty(x->ndim, x->shape, ML_FLOAT32);
    if (!out) return NULL;
    w.out = ml_data(out);
    int64_t per = w.C * w.H * w.W * 8;
    ml_parallel_for(x->shape[0], per > 0 && 65536 / per > 0 ? 65536 / per : 1, warp_range, &w);
    return out;
}

ml_tensor *ml_aug_affine(const ml_tensor *x, double angle, double tx, double ty, double scale, double shear_x,
                         double shear_y, double fill) {
    if (!(scale > 0) || !isfinite(angle) || !isfinite(tx) || !isfinite(ty) || !isfinite(shear_x) || !isfinite(shear_y))
        return ml_error("%s.affine: angle, translate and shear must be finite and scale positive", FN);
    double m[6];
    ml_aug_affine_matrix(m, angle, tx, ty, scale, shear_x, shear_y);
    return warp_batch(x, m, 0, fill, FN ".affine");
}

ml_tensor *ml_aug_warp(const ml_tensor *x, const ml_tensor *theta, double fill) {
    char sb[160];
    int64_t n = x->ndim > 0 ? x->shape[0] : 0;
    if (theta->dtype != ML_FLOAT64 || theta->ndim != 3 || theta->shape[0] != n || theta->shape[1] != 2 ||
        theta->shape[2] != 3 || !ml_is_contiguous(theta))
        return ml_error("%s.warp: theta must be a contiguous float64 [%lld, 2, 3], got %s %s", FN, (long long)n,
                        ml_dtype_name(theta->dtype), ml_shape_str(sb, sizeof sb, theta->ndim, theta->shape));
    if (x->ndim != 3 && x->ndim != 4) return warp_batch(x, NULL, 0, fill, FN ".warp"); /* its error */
    double W = (double)x->shape[x->ndim - 1], H = (double)x->shape[x->ndim - 2];
    double *m = malloc(sizeof(double) * 6 * (size_t)(n ? n : 1));
    if (!m) return ml_error("%s.warp: out of memory", FN);
    const double *t = ml_data(theta);
    for (int64_t i = 0; i < n; i++) { /* normalized grid coordinates -> centred pixels */
        const double *a = t + 6 * i;
        double *o = m + 6 * i;
        o[0] = a[0], o[1] = a[1] * W / H, o[2] = a[2] * W / 2;
        o[3] = a[3] * H / W, o[4] = a[4], o[5] = a[5] * H / 2;
    }
    ml_tensor *out = warp_batch(x, m, 6, fill, FN ".warp");
    free(m);
    return out;
}

/* ---- mixup and cutmix ------------------------------------------------------------ */
static double rng_gamma(aug_rng *r, double a) { /* Marsaglia and Tsang, 2000 */
    if (a < 1) return rng_gamma(r, a + 1) * pow(rng_open(r), 1.0 / a);
    double d = a - 1.0 / 3, c = 1.0 / sqrt(9 * d);
    for (;;) {
        double x, v;
        do {
            x = rng_normal(r);
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        double u = rng_open(r);
        if (u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v))) return d * v;
    }
}

int ml_aug_mix_params(uint64_t seed, uint64_t stream, int64_t n, double alpha, int64_t h, int64_t w, double *lam,
                      int64_t *perm, int64_t base, int64_t box[4]) {
    if (!(alpha > 0) || !isfinite(alpha)) {
        ml_error("%s: alpha must be a positive number, got %g", FN, alpha);
        return -1;
    }
    aug_rng g = {batch_key(seed, 0x6d6978, stream), 0};
    double g1 = rng_gamma(&g, alpha), g2 = rng_gamma(&g, alpha);
    *lam = g1 + g2 > 0 ? g1 / (g1 + g2) : 0.5;
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = rng_below(&g, i + 1), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    if (box && h > 0 && w > 0) {
        int64_t cy = rng_below(&g, h), cx = rng_below(&g, w);
        double r = 0.5 * sqrt(1.0 - *lam);
        int64_t rh = (int64_t)(r * h), rw = (int64_t)(r * w);
        box[0] = cy - rh < 0 ? 0 : cy - rh, box[1] = cy + rh > h ? h : cy + rh;
        box[2] = cx - rw < 0 ? 0 : cx - rw, box[3] = cx + rw > w ? w : cx + rw;
        *lam = 1.0 - (double)((box[1] - box[0]) * (box[3] - box[2])) / ((double)h * w);
    }
    for (int64_t i = 0; i < n; i++) perm[i] += base;
    return 0;
}

ml_tensor *ml_aug_paste_box(const ml_tensor *x, const int64_t *perm, int64_t base, const int64_t box[4]) {
    char sb[160];
    if (!ml_dtype_is_float(x->dtype) || x->ndim < 3 || !ml_is_contiguous(x))
        return ml_error("%s.cutmix: expected a contiguous float batch [N, C, H, W] or [N, H, W], got %s %s", FN,
                        ml_dtype_name(x->dtype), ml_shape_str(sb, sizeof sb, x->ndim, x->shape));
    int64_t n = x->shape[0], H = x->shape[x->ndim - 2], W = x->shape[x->ndim - 1];
    int64_t per = n ? x->numel / n : 0, planes = H * W > 0 ? per / (H * W) : 0;
    if (box[0] < 0 || box[1] > H || box[0] > box[1] || box[2] < 0 || box[3] > W || box[2] > box[3])
        return ml_error("%s.cutmix: the box rows %lld..%lld, columns %lld..%lld do not fit a %lldx%lld image", FN,
                        (long long)box[0] + 1, (long long)box[1], (long long)box[2] + 1, (long long)box[3],
                        (long long)H, (long long)W);
    for (int64_t i = 0; i < n; i++)
        if (perm[i] - base < 0 || perm[i] - base >= n)
            return ml_error("%s.cutmix: permutation value %lld is out of range", FN, (long long)perm[i]);
    size_t es = ml_dtype_size(x->dtype);
    ml_tensor *out = ml_empty(x->ndim, x->shape, x->dtype);
    if (!out) return NULL;
    memcpy(ml_data(out), ml_data(x), (size_t)x->numel * es);
    char *o = ml_data(out);
    const char *s = ml_data(x);
    size_t len = (size_t)(box[3] - box[2]) * es;
    for (int64_t i = 0; i < n && len > 0; i++)
        for (int64_t c = 0; c < planes; c++)
            for (int64_t y = box[0]; y < box[1]; y++) {
                int64_t off = ((c * H + y) * W + box[2]);
                memcpy(o + (size_t)(i * per + off) * es, s + (size_t)((perm[i] - base) * per + off) * es, len);
            }
    return out;
}
