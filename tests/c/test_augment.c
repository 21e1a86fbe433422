/* Augmentation kernels from C (runtime/ops/augment.c): a plan gives the
 * same bytes serial (the loader's thread) and parallel, on 1 and 2 threads;
 * plan checks name the transform; mixup's permutation is one; the cutmix
 * paste refuses a box outside the image. Prints "N passed, M failed" last. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/core/parallel.h"
#include "../../runtime/ops/augment.h"
#include "../../runtime/ops/random.h"
#include "../../runtime/tensor/tensor.h"

#include "check.h"

static int same_bytes(const ml_tensor *a, const ml_tensor *b) {
    return a && b && a->numel == b->numel && !memcmp(ml_data(a), ml_data(b), (size_t)a->numel * ml_dtype_size(a->dtype));
}

static ml_aug_plan full_plan(void) {
    ml_aug_plan p;
    memset(&p, 0, sizeof p);
    p.seed = 42;
    p.nops = 5;
    ml_aug_op *o = p.ops;
    o[0] = (ml_aug_op){.kind = ML_AUG_AFFINE, .p = 1, .degrees = {-15, 15}, .translate = {0.1, 0.1}, .scale = {0.9, 1.1},
                       .shear = {-5, 5, 0, 0}};
    o[1] = (ml_aug_op){.kind = ML_AUG_CROP, .p = 1, .size = {24, 24}, .pad = {2, 2, 2, 2}};
    o[2] = (ml_aug_op){.kind = ML_AUG_ERASE, .p = 0.5, .area = {0.02, 0.33}, .ratio = {0.3, 3.3}, .random_value = true};
    o[3] = (ml_aug_op){.kind = ML_AUG_JITTER, .p = 1, .brightness = {0.8, 1.2}, .contrast = {0.8, 1.2}};
    o[4] = (ml_aug_op){.kind = ML_AUG_NOISE, .p = 1, .std = 0.05};
    return p;
}

static void test_serial_parallel(void) {
    int64_t shape[4] = {64, 2, 28, 28};
    ml_tensor *x = ml_rand(4, shape, ML_FLOAT32);
    ml_aug_plan p = full_plan();
    int threads = ml_get_threads();
    ml_set_threads(1);
    ml_tensor *a = ml_aug_apply(&p, x, 3, 7, false);
    ml_set_threads(2);
    ml_tensor *b = ml_aug_apply(&p, x, 3, 7, true);
    ml_tensor *c = ml_aug_apply(&p, x, 3, 8, true);
    ml_set_threads(threads);
    CHECK(a && a->ndim == 4 && a->shape[2] == 24 && a->shape[3] == 24);
    CHECK(same_bytes(a, b));
    CHECK(c && !same_bytes(a, c)); /* another batch, other draws */
    ml_release(a);
    ml_release(b);
    ml_release(c);
    ml_release(x);
}

static void test_plan_errors(void) {
    ml_aug_plan p = full_plan();
    p.ops[2].p = 2;
    CHECK(ml_aug_plan_check(&p) < 0 && strstr(ml_last_error(), "prep.augment.RandomErasing: p must be in [0, 1]"));
    p = full_plan();
    p.ops[0].scale[0] = 0;
    CHECK(ml_aug_plan_check(&p) < 0 && strstr(ml_last_error(), "prep.augment.RandomAffine: scale must be positive"));
    p = full_plan();
    int64_t small[4] = {2, 1, 10, 10};
    ml_tensor *x = ml_zeros(4, small, ML_FLOAT32);
    CHECK(ml_aug_apply(&p, x, 0, 1, true) == NULL && strstr(ml_last_error(), "crop size 24x24 is larger"));
    int64_t flat[2] = {2, 3};
    ml_tensor *i64 = ml_zeros(2, flat, ML_INT64);
    CHECK(ml_aug_apply(&p, i64, 0, 1, true) == NULL && strstr(ml_last_error(), "float32 batch"));
    ml_release(i64);
    ml_release(x);
}

static void test_mix(void) {
    int64_t perm[50], box[4];
    double lam;
    CHECK(ml_aug_mix_params(1, 2, 50, 0.5, 0, 0, &lam, perm, 1, NULL) == 0 && lam > 0 && lam < 1);
    int seen[51] = {0}, ok = 1;
    for (int i = 0; i < 50; i++) {
        if (perm[i] < 1 || perm[i] > 50 || seen[perm[i]]++) ok = 0;
    }
    CHECK(ok);
    CHECK(ml_aug_mix_params(1, 2, 50, 0, 0, 0, &lam, perm, 0, NULL) < 0 && strstr(ml_last_error(), "alpha must be"));
    CHECK(ml_aug_mix_params(3, 0, 50, 1.0, 16, 20, &lam, perm, 0, box) == 0);
    CHECK(box[0] >= 0 && box[1] <= 16 && box[2] >= 0 && box[3] <= 20);
    CHECK(fabs(lam - (1.0 - (double)((box[1] - box[0]) * (box[3] - box[2])) / 320.0)) < 1e-12);
    int64_t shape[3] = {50, 16, 20};
    ml_tensor *x = ml_zeros(3, shape, ML_FLOAT32);
    int64_t bad[4] = {0, 17, 0, 20};
    CHECK(ml_aug_paste_box(x, perm, 0, bad) == NULL && strstr(ml_last_error(), "do not fit"));
    ml_release(x);
}

int main(void) {
    test_serial_parallel();
    test_plan_errors();
    test_mix();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
