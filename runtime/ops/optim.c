/* Optimizer updates: flattening parameters into one block, and one fused
 * in-place loop per optimizer over the flat arrays (see optim.h).
 *
 * The update math is PyTorch's single-tensor path (torch/optim/ sgd.py, adam.py ...,
 * foreach=False, the CPU default), operation by operation and in the
 * parameter's dtype, with Python-float scalars rounded to that dtype the
 * way ATen rounds them: so float32 results agree with PyTorch to a few
 * ulps and float64 ones to rounding. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "apply.h"

/* Elements per thread below which an update runs on one thread. A fused
 * Adam element takes about 0.2 ns (vectorized sqrt and division), so waking
 * the second thread (about 12 us here) pays from about 256K elements:
 * scripts/bench/optim_grain.lua, 65,536 elements: 12.9 us on one thread,
 * 24.6 us on two; 1M: 200 us against 123 us. */
#define OPTIM_GRAIN 131072

/* ---- flattening ------------------------------------------------------ */

/* Points p at storage s, offset off, contiguous strides; drops p's
 * reference to its old storage through `hold`, a header made beforehand
 * over the old storage (so this cannot fail, and the old storage is freed
 * by ml_release when p held the last reference). */
static void rebind(ml_tensor *p, ml_tensor *hold, ml_storage *s, int64_t off) {
    p->storage->refcount--; /* hold keeps it above zero */
    p->storage = s;
    s->refcount++;
    p->offset = off;
    ml_contiguous_strides(p->ndim, p->shape, p->strides);
    ml_release(hold);
}

/* Whether p's elements are exactly its storage's bytes, in order: then the
 * storage itself is rebound into the block (ml_storage_rebind), so every
 * other holder of it (views made earlier, a data loader) sees the block. */
static bool owns_storage(const ml_tensor *p) {
    return p->offset == 0 && ml_is_contiguous(p) && (size_t)p->numel * ml_dtype_size(p->dtype) == p->storage->nbytes &&
           p->storage->dependents == 0;
}

/* Moves p into block at element offset off, once its values are there:
 * the storage itself when p owns it, else p's header (see rebind). */
static void move_into(ml_tensor *p, ml_tensor *hold, ml_tensor *block, int64_t off) {
    ml_storage *root = ml_storage_root(block->storage);
    if (owns_storage(p) && p->storage != root && p->storage->base != root &&
        ml_storage_rebind(p->storage, block->storage, (size_t)off * ml_dtype_size(p->dtype)) == 0) {
        ml_release(hold);
        return;
    }
    rebind(p, hold, block->storage, off);
}

/* Whether p is (still) the contiguous slice of block at element offset off. */
static bool is_at(const ml_tensor *p, const ml_tensor *block, int64_t off) {
    return (char *)ml_data(p) == (char *)ml_data(block) + off * (int64_t)ml_dtype_size(block->dtype) &&
           ml_is_contiguous(p);
}

static int ptr_cmp(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (ml_tensor *const *)a, y = (uintptr_t) * (ml_tensor *const *)b;
    return x < y ? -1 : x > y;
}

void ml_flat_free(ml_flat *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        if (f->params) ml_release(f->params[i]);
        if (f->gviews) ml_release(f->gviews[i]);
    }
    for (int k = 0; k < ML_OPTIM_MAX_STATE; k++) ml_release(f->state[k]);
    ml_release(f->param);
    ml_release(f->grad);
    free(f->params);
    free(f->gviews);
    free(f->offsets);
    free(f->steps);
    free(f->has_grad);
    free(f);
}

static ml_tensor *view_at(ml_tensor *block, const ml_tensor *like, int64_t off) {
    int64_t strides[ML_MAX_DIMS];
    ml_contiguous_strides(like->ndim, like->shape, strides);
    return ml_view(block, like->ndim, like->shape, strides, off);
}

ml_flat *ml_flat_new(ml_optim_kind kind, int n, ml_tensor *const *params) {
    if (kind < 0 || kind >= ML_OPTIM_NKINDS) return ml_error("flatten: unknown optimizer kind %d", (int)kind);
    if (n < 0) return ml_error("flatten: negative parameter count");
    ml_dtype dt = n ? params[0]->dtype : ML_FLOAT32;
    for (int i = 0; i < n; i++) {
        const ml_tensor *p = params[i];
        if (!p) return ml_error("flatten: parameter %d is missing", i + 1);
        if (!ml_dtype_is_float(p->dtype))
            return ml_error("flatten: parameter %d has dtype %s; only float32 and float64 tensors can be optimized", i + 1,
                            ml_dtype_name(p->dtype));
        if (p->dtype != dt)
            return ml_error("flatten: parameter %d has dtype %s, parameter 1 has %s (flatten one dtype at a time)",
                            i + 1, ml_dtype_name(p->dtype), ml_dtype_name(dt));
        if (p->grad_fn)
            return ml_error("flatten: parameter %d is not a leaf tensor (it was computed by %s); optimize the tensors "
                            "you created, or detach() this one",
                            i + 1, p->grad_fn->name);
    }
    if (n > 1) { /* duplicates: sort a copy of the pointers */
        ml_tensor **sorted = malloc(sizeof *sorted * n);
        if (!sorted) return ml_error("out of memory");
        memcpy(sorted, params, sizeof *sorted * n);
        qsort(sorted, n, sizeof *sorted, ptr_cmp);
        int dup = -1;
        for (int i = 1; i < n && dup < 0; i++)
            if (sorted[i] == sorted[i - 1])
                for (int j = 0; j < n; j++)
                    if (params[j] == sorted[i]) { dup = j; break; }
        free(sorted);
        if (dup >= 0) return ml_error("flatten: parameter %d appears more than once", dup + 1);
    }

    ml_flat *f = calloc(1, sizeof *f);
    if (!f) return ml_error("out of memory");
    f->kind = kind;
    f->dtype = dt;
    f->params = calloc(n ? n : 1, sizeof *f->params);
    f->gviews = calloc(n ? n : 1, sizeof *f->gviews);
    f->offsets = calloc(n + 1, sizeof *f->offsets);
    f->steps = calloc(n ? n : 1, sizeof *f->steps);
    f->has_grad = calloc(n ? n : 1, 1);
    ml_tensor **holds = calloc(n ? n : 1, sizeof *holds);
    if (!f->params || !f->gviews || !f->offsets || !f->steps || !f->has_grad || !holds) goto oom;
    f->n = n;
    for (int i = 0; i < n; i++) f->offsets[i + 1] = f->offsets[i] + params[i]->numel;
    f->numel = f->offsets[n];

    /* allocate everything first, so a failure leaves the parameters untouched */
    f->param = ml_empty(1, &f->numel, dt);
    f->grad = f->param ? ml_zeros(1, &f->numel, dt) : NULL;
    if (!f->grad) goto fail;
    for (int i = 0; i < n; i++) {
        f->gviews[i] = view_at(f->grad, params[i], f->offsets[i]);
        holds[i] = f->gviews[i] ? ml_alias(params[i]) : NULL;
        if (!holds[i]) goto fail;
    }
    /* copy values (any strides), then rebind */
    bool same_version = true;
    for (int i = 0; i < n; i++) {
        ml_tensor *slot = view_at(f->param, params[i], f->offsets[i]);
        if (!slot) goto fail;
        int r = ml_copy_into(slot, params[i]);
        ml_release(slot);
        if (r < 0) goto fail;
        if (params[i]->grad && ml_copy_into(f->gviews[i], params[i]->grad) < 0) goto fail;
        if (ml_storage_root(params[i]->storage)->version != ml_storage_root(params[0]->storage)->version)
            same_version = false;
    }
    /* A graph that saved a parameter compares its storage version at
     * backward: carry the common version over when there is one. */
    if (n && same_version) f->param->storage->version = ml_storage_root(params[0]->storage)->version;
    for (int i = 0; i < n; i++) {
        ml_tensor *p = params[i];
        /* a storage two parameters share moves with the first; the second gets its own header (move_into) */
        move_into(p, holds[i], f->param, f->offsets[i]);
        holds[i] = NULL;
        if (p->grad) {
            ml_release(p->grad);
            p->grad = ml_retain(f->gviews[i]);
        }
        f->params[i] = ml_retain(p);
    }
    free(holds);
    return f;
oom:
    ml_error("out of memory");
fail:
    if (holds)
        for (int i = 0; i < n; i++) ml_release(holds[i]);
    free(holds);
    ml_flat_free(f);
    return NULL;
}

int ml_flat_sync(ml_flat *f) {
    int count = 0;
    for (int i = 0; i < f->n; i++) {
        ml_tensor *p = f->params[i], *gv = f->gviews[i];
        int64_t off = f->offsets[i];
        if (!is_at(p, f->param, off)) {
            /* rebound elsewhere since (another optimizer took it): take it back */
            ml_tensor *slot = view_at(f->param, p, off);
            ml_tensor *hold = slot ? ml_alias(p) : NULL;
            if (!hold) { ml_release(slot); return -1; }
            int r = ml_copy_into(slot, p);
            ml_release(slot);
            if (r < 0) { ml_release(hold); return -1; }
            move_into(p, hold, f->param, off);
        }
        ml_tensor *g = p->grad;
        if (g == gv) {
            f->has_grad[i] = 1;
        } else if (!g) {
            f->has_grad[i] = 0;
        } else {
            if (ml_copy_into(gv, g) < 0) return -1;
            ml_release(g);
            p->grad = ml_retain(gv);
            f->has_grad[i] = 1;
        }
        count += f->has_grad[i];
    }
    return count;
}

void ml_flat_zero_grad(ml_flat *f, bool set_to_none) {
    if (set_to_none) {
        for (int i = 0; i < f->n; i++) {
            ml_release(f->params[i]->grad);
            f->params[i]->grad = NULL;
        }
        return;
    }
    if (f->numel) memset(ml_data(f->grad), 0, (size_t)f->numel * ml_dtype_size(f->dtype));
    ml_bump_version(f->grad);
    for (int i = 0; i < f->n; i++) {
        ml_tensor *p = f->params[i];
        if (p->grad && p->grad != f->gviews[i]) {
            ml_release(p->grad);
            p->grad = ml_retain(f->gviews[i]);
        }
    }
}

/* ---- state ------------------------------------------------------------ */
static const char *const state_names[ML_OPTIM_NKINDS][ML_OPTIM_MAX_STATE] = {
    [ML_OPTIM_SGD] = {"momentum_buffer"},
    [ML_OPTIM_ADAM] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    [ML_OPTIM_RMSPROP] = {"square_avg", "momentum_buffer", "grad_avg"},
    [ML_OPTIM_ADAGRAD] = {"sum"},
};

int ml_optim_state_names(ml_optim_kind kind, const char **names) {
    int k = 0;
    for (; k < ML_OPTIM_MAX_STATE && state_names[kind][k]; k++)
        if (names) names[k] = state_names[kind][k];
    return k;
}

bool ml_optim_state_used(ml_optim_kind kind, const ml_optim_opts *o, int k) {
    switch (kind) {
    case ML_OPTIM_SGD: return k == 0 && o->momentum != 0;
    case ML_OPTIM_ADAM: return k < 2 || (k == 2 && o->amsgrad);
    case ML_OPTIM_RMSPROP: return k == 0 || (k == 1 && o->momentum > 0) || (k == 2 && o->centered);
    case ML_OPTIM_ADAGRAD: return k == 0;
    default: return false;
    }
}

ml_tensor *ml_flat_state(ml_flat *f, int k, const ml_optim_opts *o) {
    if (k < 0 || k >= ml_optim_state_names(f->kind, NULL)) return ml_error("optimizer state: no slot %d", k);
    if (!f->state[k]) {
        double init = f->kind == ML_OPTIM_ADAGRAD && o ? o->initial_accumulator_value : 0;
        f->state[k] = init != 0 ? ml_full(1, &f->numel, f->dtype, init) : ml_zeros(1, &f->numel, f->dtype);
    }
    return f->state[k];
}

/* ---- the kernels -------------------------------------------------------
 * Scalars are rounded to the element type once, as ATen does with Python
 * floats; each expression keeps PyTorch's order of operations (add with
 * alpha is self + alpha * other, addcmul self + (value * t1) * t2, addcdiv
 * self + (value * t1) / t2); maximize multiplies the gradient by -1, which
 * is exact. Each body is instantiated for every combination of its flags
 * (constants after inlining) so the loops are branch-free and vectorize,
 * and the callers are cloned for AVX-512 and AVX2 and picked at run time.
 * No clone uses FMA (neither target enables it), so every clone computes
 * the same bits. */
typedef struct {
    const ml_optim_opts *o;
    char *p;
    const char *g;
    char *s[ML_OPTIM_MAX_STATE];
    double step_size, bc2_sqrt, clr; /* per run: Adam's bias correction, Adagrad's decayed lr */
    bool first;
} upd_job;

#define INLINE static inline __attribute__((always_inline))
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

#define DEFINE_BODIES(T, SQRT)                                                                                    \
    /* mode 0: no momentum; 1: the first step (buf = d); 2: buf = mom * buf + (1 - dampening) * d */             \
    INLINE void sgd_body_##T(T *restrict p, const T *restrict g, T *restrict buf, int64_t n, T sgn, T wd, T mom,  \
                             T damp1, T nlr, const int use_wd, const int mode, const int nesterov) {             \
        for (int64_t i = 0; i < n; i++) {                                                                        \
            T d = sgn * g[i];                                                                                    \
            if (use_wd) d = d + wd * p[i];                                                                       \
            if (mode) {                                                                                          \
                T b = mode == 1 ? d : buf[i] * mom + damp1 * d;                                                  \
                buf[i] = b;                                                                                      \
                d = nesterov ? d + mom * b : b;                                                                  \
            }                                                                                                    \
            p[i] = p[i] + nlr * d;                                                                               \
        }                                                                                                        \
    }                                                                                                            \
    /* wd_mode 0: none; 1: L2 in the gradient (Adam); 2: decoupled (AdamW) */                                    \
    INLINE void adam_body_##T(T *restrict p, const T *restrict g, T *restrict m, T *restrict v, T *restrict vmax, \
                              int64_t n, T sgn, T wd, T decay, T b1, T omb1, T b2, T omb2, T bc2s, T eps, T nss,  \
                              const int wd_mode, const int amsgrad) {                                            \
        for (int64_t i = 0; i < n; i++) {                                                                        \
            T gi = sgn * g[i], pi = p[i];                                                                        \
            if (wd_mode == 1) gi = gi + wd * pi;                                                                 \
            if (wd_mode == 2) pi = pi * decay;                                                                   \
            T mi = m[i] * b1 + omb1 * gi;                                                                        \
            T vi = v[i] * b2 + omb2 * gi * gi;                                                                   \
            m[i] = mi;                                                                                           \
            v[i] = vi;                                                                                           \
            if (amsgrad) {                                                                                       \
                T a = vmax[i];                                                                                   \
                vi = (a != a || a > vi) ? a : vi; /* torch.maximum: NaN wins */                                  \
                vmax[i] = vi;                                                                                    \
            }                                                                                                    \
            p[i] = pi + nss * mi / (SQRT(vi) / bc2s + eps);                                                      \
        }                                                                                                        \
    }                                                                                                            \
    INLINE void rmsprop_body_##T(T *restrict p, const T *restrict g, T *restrict sq, T *restrict buf,             \
                                 T *restrict ga, int64_t n, T sgn, T wd, T alpha, T oma, T eps, T mom, T nlr,      \
                                 const int use_wd, const int use_mom, const int centered) {                      \
        for (int64_t i = 0; i < n; i++) {                                                                        \
            T gi = sgn * g[i];                                                                                   \
            if (use_wd) gi = gi + wd * p[i];                                                                     \
            T si = sq[i] * alpha + oma * gi * gi;                                                                \
            sq[i] = si;                                                                                          \
            T avg;                                                                                               \
            if (centered) {                                                                                      \
                T a = ga[i] * alpha + oma * gi;                                                                  \
                ga[i] = a;                                                                                       \
                avg = SQRT(si + -a * a);                                                                         \
            } else {                                                                                             \
                avg = SQRT(si);                                                                                  \
            }                                                                                                    \
            avg = avg + eps;                                                                                     \
            if (use_mom) {                                                                                       \
                T b = buf[i] * mom + gi / avg;                                                                   \
                buf[i] = b;                                                                                      \
                p[i] = p[i] + nlr * b;                                                                           \
            } else {                                                                                             \
                p[i] = p[i] + nlr * gi / avg;                                                                    \
            }                                                                                                    \
        }                                                                                                        \
    }                                                                                                            \
    INLINE void adagrad_body_##T(T *restrict p, const T *restrict g, T *restrict sum, int64_t n, T sgn, T wd,     \
                                 T eps, T nclr, const int use_wd) {                                              \
        for (int64_t i = 0; i < n; i++) {                                                                        \
            T gi = sgn * g[i];                                                                                   \
            if (use_wd) gi = gi + wd * p[i];                                                                     \
            T si = sum[i] + gi * gi;                                                                             \
            sum[i] = si;                                                                                         \
            p[i] = p[i] + nclr * gi / (SQRT(si) + eps);                                                          \
        }                                                                                                        \
    }                                                                                                            \
                                                                                                                 \
    CLONES static void sgd_##T(void *ctx, int64_t s, int64_t e) {                                                 \
        const upd_job *j = ctx;                                                                                  \
        const ml_optim_opts *o = j->o;                                                                           \
        T *p = (T *)j->p + s, *buf = j->s[0] ? (T *)j->s[0] + s : NULL;                                          \
        const T *g = (const T *)j->g + s;                                                                        \
        const T sgn = o->maximize ? -1 : 1, wd = (T)o->weight_decay, mom = (T)o->momentum;                       \
        const T damp1 = (T)(1 - o->dampening), nlr = (T)(-o->lr);                                                \
        const int use_wd = o->weight_decay != 0, mode = o->momentum == 0 ? 0 : j->first ? 1 : 2;                 \
        const int nest = mode && o->nesterov;                                                                    \
        int64_t n = e - s;                                                                                       \
        switch (use_wd * 6 + mode * 2 + nest) {                                                                  \
        case 0: sgd_body_##T(p, g, buf, n, sgn, wd, mom, damp1, nlr, 0, 0, 0); break;                            \
        case 2: sgd_body_##T(p, g, buf, n, sgn, wd, mom, damp1, nlr, 0, 1, 0); break;                            \
        case 3: sgd_body_##T(p, g, buf, n, sgn, wd, mom, damp1, nlr, 0, 1, 1); break;                            \
        case 4: sgd_body_##T(p, g, buf, n, sgn, wd, mom, damp1, nlr, 0, 2, 0); break;                            \
        case 5: sgd_body_##T(p, g, buf, n, sgn, wd, mom, damp1, nlr, 0, 2, 1); break;                            \
        case 6: sgd_body_##T(p, g, buf, n, sgn, wd, mom, damp1, nlr, 1, 0, 0); break;                            \
        case 8: sgd_body_##T(p, g, buf, n, sgn, wd, mom, damp1, nlr, 1, 1, 0); break;                            \
        case 9: sgd_body_##T(p, g, buf, n, sgn, wd, mom, damp1, nlr, 1, 1, 1); break;                            \
        case 10: sgd_body_##T(p, g, buf, n, sgn, wd, mom, damp1, nlr, 1, 2, 0); break;                           \
        default: sgd_body_##T(p, g, buf, n, sgn, wd, mom, damp1, nlr, 1, 2, 1); break;                           \
        }                                                                                                        \
    }                                                                                                            \
    CLONES static void adam_##T(void *ctx, int64_t s, int64_t e) {                                                \
        const upd_job *j = ctx;                                                                                  \
        const ml_optim_opts *o = j->o;                                                                           \
        T *p = (T *)j->p + s, *m = (T *)j->s[0] + s, *v = (T *)j->s[1] + s;                                      \
        T *vmax = j->s[2] ? (T *)j->s[2] + s : NULL;                                                             \
        const T *g = (const T *)j->g + s;                                                                        \
        const T sgn = o->maximize ? -1 : 1, wd = (T)o->weight_decay, decay = (T)(1 - o->lr * o->weight_decay);   \
        const T b1 = (T)o->beta1, omb1 = (T)(1 - o->beta1), b2 = (T)o->beta2, omb2 = (T)(1 - o->beta2);          \
        const T eps = (T)o->eps, bc2s = (T)j->bc2_sqrt, nss = (T)(-j->step_size);                                \
        /* AdamW always scales (by 1 when weight_decay is 0, which changes nothing) */                          \
        const int wd_mode = o->decoupled ? 2 : o->weight_decay != 0 ? 1 : 0, ams = o->amsgrad;                   \
        int64_t n = e - s;                                                                                       \
        switch (wd_mode * 2 + ams) {                                                                             \
        case 0: adam_body_##T(p, g, m, v, vmax, n, sgn, wd, decay, b1, omb1, b2, omb2, bc2s, eps, nss, 0, 0); break; \
        case 1: adam_body_##T(p, g, m, v, vmax, n, sgn, wd, decay, b1, omb1, b2, omb2, bc2s, eps, nss, 0, 1); break; \
        case 2: adam_body_##T(p, g, m, v, vmax, n, sgn, wd, decay, b1, omb1, b2, omb2, bc2s, eps, nss, 1, 0); break; \
        case 3: adam_body_##T(p, g, m, v, vmax, n, sgn, wd, decay, b1, omb1, b2, omb2, bc2s, eps, nss, 1, 1); break; \
        case 4: adam_body_##T(p, g, m, v, vmax, n, sgn, wd, decay, b1, omb1, b2, omb2, bc2s, eps, nss, 2, 0); break; \
        default: adam_body_##T(p, g, m, v, vmax, n, sgn, wd, decay, b1, omb1, b2, omb2, bc2s, eps, nss, 2, 1); break; \
        }                                                                                                        \
    }                                                                                                            \
    CLONES static void rmsprop_##T(void *ctx, int64_t s, int64_t e) {                                             \
        const upd_job *j = ctx;                                                                                  \
        const ml_optim_opts *o = j->o;                                                                           \
        T *p = (T *)j->p + s, *sq = (T *)j->s[0] + s;                                                            \
        T *buf = j->s[1] ? (T *)j->s[1] + s : NULL, *ga = j->s[2] ? (T *)j->s[2] + s : NULL;                     \
        const T *g = (const T *)j->g + s;                                                                        \
        const T sgn = o->maximize ? -1 : 1, wd = (T)o->weight_decay, alpha = (T)o->alpha;                        \
        const T oma = (T)(1 - o->alpha), eps = (T)o->eps, mom = (T)o->momentum, nlr = (T)(-o->lr);               \
        const int use_wd = o->weight_decay != 0, use_mom = o->momentum > 0, cen = o->centered;                   \
        int64_t n = e - s;                                                                                       \
        switch (use_wd * 4 + use_mom * 2 + cen) {                                                                \
        case 0: rmsprop_body_##T(p, g, sq, buf, ga, n, sgn, wd, alpha, oma, eps, mom, nlr, 0, 0, 0); break;      \
        case 1: rmsprop_body_##T(p, g, sq, buf, ga, n, sgn, wd, alpha, oma, eps, mom, nlr, 0, 0, 1); break;      \
        case 2: rmsprop_body_##T(p, g, sq, buf, ga, n, sgn, wd, alpha, oma, eps, mom, nlr, 0, 1, 0); break;      \
        case 3: rmsprop_body_##T(p, g, sq, buf, ga, n, sgn, wd, alpha, oma, eps, mom, nlr, 0, 1, 1); break;      \
        case 4: rmsprop_body_##T(p, g, sq, buf, ga, n, sgn, wd, alpha, oma, eps, mom, nlr, 1, 0, 0); break;      \
        case 5: rmsprop_body_##T(p, g, sq, buf, ga, n, sgn, wd, alpha, oma, eps, mom, nlr, 1, 0, 1); break;      \
        case 6: rmsprop_body_##T(p, g, sq, buf, ga, n, sgn, wd, alpha, oma, eps, mom, nlr, 1, 1, 0); break;      \
        default: rmsprop_body_##T(p, g, sq, buf, ga, n, sgn, wd, alpha, oma, eps, mom, nlr, 1, 1, 1); break;     \
        }                                                                                                        \
    }                                                                                                            \
    CLONES static void adagrad_##T(void *ctx, int64_t s, int64_t e) {                                             \
        const upd_job *j = ctx;                                                                                  \
        const ml_optim_opts *o = j->o;                                                                           \
        T *p = (T *)j->p + s, *sum = (T *)j->s[0] + s;                                                           \
        const T *g = (const T *)j->g + s;                                                                        \
        const T sgn = o->maximize ? -1 : 1, wd = (T)o->weight_decay, eps = (T)o->eps, nclr = (T)(-j->clr);      \
        if (o->weight_decay != 0) adagrad_body_##T(p, g, sum, e - s, sgn, wd, eps, nclr, 1);                     \
        else adagrad_body_##T(p, g, sum, e - s, sgn, wd, eps, nclr, 0);                                          \
    }

DEFINE_BODIES(float, sqrtf)
DEFINE_BODIES(double, sqrt)

static const ml_range_fn kernels[ML_OPTIM_NKINDS][2] = {
    [ML_OPTIM_SGD] = {sgd_float, sgd_double},
    [ML_OPTIM_ADAM] = {adam_float, adam_double},
    [ML_OPTIM_RMSPROP] = {rmsprop_float, rmsprop_double},
    [ML_OPTIM_ADAGRAD] = {adagrad_float, adagrad_double},
};

void ml_optim_update(ml_optim_kind kind, ml_dtype dt, const ml_optim_opts *o, int64_t start, int64_t n, void *param,
                     const void *grad, void *const *state, int64_t step, bool first) {
    if (n <= 0) return;
    size_t es = ml_dtype_size(dt);
    upd_job j = {.o = o, .first = first};
    j.p = (char *)param + start * es; /* the range functions add their own start */
    j.g = (const char *)grad + start * es;
    for (int k = 0; k < ML_OPTIM_MAX_STATE; k++) j.s[k] = state[k] ? (char *)state[k] + start * es : NULL;
    if (kind == ML_OPTIM_ADAM) { /* Python floats, as torch/optim/adam.py computes them */
        double bc1 = 1 - pow(o->beta1, (double)step), bc2 = 1 - pow(o->beta2, (double)step);
        j.step_size = o->lr / bc1;
        j.bc2_sqrt = sqrt(bc2);
    } else if (kind == ML_OPTIM_ADAGRAD) {
        j.clr = o->lr / (1 + ((double)step - 1) * o->lr_decay);
    }
    ml_parallel_for(n, OPTIM_GRAIN, kernels[kind][dt == ML_FLOAT64], &j);
}

int ml_flat_step(ml_flat *f, const ml_optim_opts *o) {
    if (ml_flat_sync(f) < 0) return -1;
    void *st[ML_OPTIM_MAX_STATE] = {0};
    int ns = ml_optim_state_names(f->kind, NULL);
    for (int k = 0; k < ns; k++) {
        if (!ml_optim_state_used(f->kind, o, k)) continue;
        ml_tensor *t = ml_flat_state(f, k, o);
        if (!t) return -1;
        st[k] = ml_data(t);
    }
    /* SGD without momentum keeps no state and counts nothing */
    bool counts = f->kind != ML_OPTIM_SGD || o->momentum != 0;
    void *p = ml_data(f->param);
    const void *g = ml_data(f->grad);
    for (int i = 0; i < f->n;) {
        if (!f->has_grad[i]) { i++; continue; }
        int j = i + 1;
        while (j < f->n && f->has_grad[j] && f->steps[j] == f->steps[i]) j++;
        int64_t step = f->steps[i] + (counts ? 1 : 0);
        ml_optim_update(f->kind, f->dtype, o, f->offsets[i], f->offsets[j] - f->offsets[i], p, g, st, step,
                        f->steps[i] == 0);
        for (int k = i; k < j; k++) f->steps[k] = step;
        i = j;
    }
    ml_bump_version(f->param);
    return 0;
}
