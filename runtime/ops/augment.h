/* Data augmentation kernels: random image transforms on float32 batches
 * [N, C, H, W] or [N, H, W] (C = 1), Gaussian noise on any float batch, and
 * the random parameters of mixup and cutmix.
 *
 * A plan is a list of ops (what prep.augment.Compose compiles to). Applying
 * it to a batch runs every op on each sample in turn, samples in parallel.
 * Randomness is counter-based: every number a sample draws is
 * splitmix64(key + k * golden) for k = 1, 2, ..., where the key mixes the
 * plan's seed, two stream numbers (the loader's epoch and batch, or a
 * direct call's count), the sample's position in the batch and the op's
 * position in the plan. So a result depends only on (seed, streams, the
 * data), not on the thread count, the order samples run in, or the global
 * generator, and the loader's thread can run a plan without any lock.
 *
 * Geometry follows torchvision (transforms.functional on tensors): pixel
 * centres at integer coordinates, rotation about the image centre
 * ((W - 1) / 2, (H - 1) / 2), positive angles counter-clockwise, the
 * inverse map of torchvision's _get_inverse_affine_matrix, and bilinear
 * sampling as F.grid_sample(mode = "bilinear", align_corners = False),
 * each of the four taps outside the image reading `fill`.
 *
 * Nothing here knows about Lua. Functions that fail return NULL or -1 with
 * a message in ml_last_error() that starts with "prep.augment". */
#ifndef ML_AUGMENT_H
#define ML_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "../tensor/tensor.h"

typedef enum {
    ML_AUG_HFLIP = 0,
    ML_AUG_VFLIP,
    ML_AUG_AFFINE,  /* rotation, translation, scale, shear in one bilinear pass */
    ML_AUG_CROP,    /* random crop of a padded image */
    ML_AUG_ERASE,   /* a rectangle of random area and aspect set to a value or noise */
    ML_AUG_JITTER,  /* brightness and contrast, in random order */
    ML_AUG_NOISE,   /* x + N(mean, std^2), any float batch */
    ML_AUG_NKINDS
} ml_aug_kind;

typedef struct {
    ml_aug_kind kind;
    double p;            /* flips, erasing: the probability a sample gets the op */
    double degrees[2];   /* affine: angle range, degrees */
    double translate[2]; /* affine: max |tx| / W, max |ty| / H (torchvision's fractions) */
    double scale[2];     /* affine: scale range */
    double shear[4];     /* affine: x shear range, y shear range, degrees */
    double fill;         /* affine, crop: value of pixels from outside the image */
    int64_t size[2];     /* crop: output h, w */
    int64_t pad[4];      /* crop: left, top, right, bottom */
    double area[2];      /* erase: area range, a fraction of the image */
    double ratio[2];     /* erase: aspect (h / w) range */
    double value;        /* erase: the fill value, unless random_value */
    bool random_value;   /* erase: standard normal noise instead of value */
    double brightness[2], contrast[2]; /* jitter: factor ranges ([1, 1]: off) */
    double mean, std;    /* noise */
    bool clip;           /* noise: clamp the result to [0, 1] */
} ml_aug_op;

#define ML_AUG_MAX_OPS 32

typedef struct {
    int nops;
    uint64_t seed;
    ml_aug_op ops[ML_AUG_MAX_OPS];
} ml_aug_plan;

/* Checks a plan's parameters; 0, or -1 with the error naming the op. */
int ml_aug_plan_check(const ml_aug_plan *p);

/* The plan applied to batch x (float32 [N, C, H, W] or [N, H, W]; a plan of
 * noise ops alone takes float32 or float64 of any shape [N, ...]): a new
 * contiguous tensor (crops change H, W). stream_a, stream_b: the loader's
 * epoch and batch number, or 0 and a call count. parallel: spread samples
 * over ml_threads (false on the loader's thread, which runs beside the
 * caller's training). */
ml_tensor *ml_aug_apply(const ml_aug_plan *p, const ml_tensor *x, uint64_t stream_a, uint64_t stream_b, bool parallel);

/* torchvision's inverse affine matrix in image-centred pixel coordinates:
 * an output pixel at (u, v) from the centre reads the input at
 * (m[0] u + m[1] v + m[2], m[3] u + m[4] v + m[5]) from the centre.
 * angle and shears in degrees, positive angle counter-clockwise. */
void ml_aug_affine_matrix(double m[6], double angle, double tx, double ty, double scale, double shear_x, double shear_y);

/* The same affine with fixed parameters on every sample (torchvision's
 * F.affine with bilinear interpolation). */
ml_tensor *ml_aug_affine(const ml_tensor *x, double angle, double tx, double ty, double scale, double shear_x,
                         double shear_y, double fill);

/* Bilinear warp by PyTorch's normalized affine grids: theta float64 [N, 2, 3]
 * as F.affine_grid(theta, x.shape, align_corners = False) followed by
 * F.grid_sample(x, grid, "bilinear", padding = fill). */
ml_tensor *ml_aug_warp(const ml_tensor *x, const ml_tensor *theta, double fill);

/* Mixup and cutmix parameters for a batch of n, from (seed, stream): lam
 * drawn from Beta(alpha, alpha), perm a permutation of 0..n-1 (Fisher-Yates).
 * For cutmix (h, w > 0) also the box [y0, y1) x [x0, x1) of torchvision's
 * CutMix (centre uniform, sides sqrt(1 - lam) of the image's, clipped) and
 * lam corrected to 1 - box area / image area. box may be NULL for mixup.
 * perm's values start at base (0, or 1 for moonlab's indices). */
int ml_aug_mix_params(uint64_t seed, uint64_t stream, int64_t n, double alpha, int64_t h, int64_t w, double *lam,
                      int64_t *perm, int64_t base, int64_t box[4]);

/* Cutmix's paste: a copy of x (float [N, ..., H, W]) where sample i's box
 * [y0, y1) x [x0, x1) (0-based) comes from sample perm[i] - base. */
ml_tensor *ml_aug_paste_box(const ml_tensor *x, const int64_t *perm, int64_t base, const int64_t box[4]);

#endif
