/* oneDNN's convolution primitives for float32 conv2d (see conv_dnnl.h).
 *
 * Why both this and im2col: measured on this machine (scripts/bench/
 * conv_layers.sh, forward + backward, batch 128), oneDNN's direct
 * convolutions in their blocked layouts beat per-sample im2col + GEMM once a
 * layer has a few input channels (32 -> 64 at 14x14: about 1.8x), while a
 * layer on one input channel is many times faster through im2col (the
 * product is then a thin GEMM oneDNN's direct kernels do not block well).
 * So conv.c asks ml_dnnl_conv_wanted and falls back to im2col on anything
 * oneDNN refuses.
 *
 * The library is opened at first use (dlopen, as gemm.c does for its GEMM)
 * so a script without convolutions does not pay for loading it. Primitives
 * are cached by geometry and thread count (creating one JIT-compiles code,
 * about a millisecond); each call wraps our plain NCHW buffers in memory
 * objects and reorders into and out of the layouts the primitive chose,
 * through three scratch buffers shared by every primitive and kept between
 * calls (fresh pages for each call cost more than the convolution's own
 * arithmetic at these sizes; calls are serialized by one lock). */
#include "conv_dnnl.h"

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/parallel.h"

/* ---- the library, opened at first use --------------------------------------- */
static struct {
    dnnl_status_t (*engine_create)(dnnl_engine_t *, dnnl_engine_kind_t, size_t);
    dnnl_status_t (*stream_create)(dnnl_stream_t *, dnnl_engine_t, unsigned);
    dnnl_status_t (*stream_wait)(dnnl_stream_t);
    dnnl_status_t (*md_init_by_tag)(dnnl_memory_desc_t *, int, const dnnl_dims_t, dnnl_data_type_t, dnnl_format_tag_t);
    int (*md_equal)(const dnnl_memory_desc_t *, const dnnl_memory_desc_t *);
    size_t (*md_size)(const dnnl_memory_desc_t *);
    dnnl_status_t (*fwd_desc)(dnnl_convolution_desc_t *, dnnl_prop_kind_t, dnnl_alg_kind_t, const dnnl_memory_desc_t *,
                              const dnnl_memory_desc_t *, const dnnl_memory_desc_t *, const dnnl_memory_desc_t *,
                              const dnnl_dims_t, const dnnl_dims_t, const dnnl_dims_t, const dnnl_dims_t);
    dnnl_status_t (*bwd_data_desc)(dnnl_convolution_desc_t *, dnnl_alg_kind_t, const dnnl_memory_desc_t *,
                                   const dnnl_memory_desc_t *, const dnnl_memory_desc_t *, const dnnl_dims_t,
                                   const dnnl_dims_t, const dnnl_dims_t, const dnnl_dims_t);
    dnnl_status_t (*bwd_weights_desc)(dnnl_convolution_desc_t *, dnnl_alg_kind_t, const dnnl_memory_desc_t *,
                                      const dnnl_memory_desc_t *, const dnnl_memory_desc_t *,
                                      const dnnl_memory_desc_t *, const dnnl_dims_t, const dnnl_dims_t,
                                      const dnnl_dims_t, const dnnl_dims_t);
    dnnl_status_t (*pd_create)(dnnl_primitive_desc_t *, const_dnnl_op_desc_t, const_dnnl_primitive_attr_t,
                               dnnl_engine_t, const_dnnl_primitive_desc_t);
    dnnl_status_t (*pd_destroy)(dnnl_primitive_desc_t);
    const dnnl_memory_desc_t *(*pd_query_md)(const_dnnl_primitive_desc_t, dnnl_query_t, int);
    dnnl_status_t (*reorder_pd_create)(dnnl_primitive_desc_t *, const dnnl_memory_desc_t *, dnnl_engine_t,
                                       const dnnl_memory_desc_t *, dnnl_engine_t, const_dnnl_primitive_attr_t);
    dnnl_status_t (*prim_create)(dnnl_primitive_t *, const_dnnl_primitive_desc_t);
    dnnl_status_t (*prim_destroy)(dnnl_primitive_t);
    dnnl_status_t (*execute)(const_dnnl_primitive_t, dnnl_stream_t, int, const dnnl_exec_arg_t *);
    dnnl_status_t (*mem_create)(dnnl_memory_t *, const dnnl_memory_desc_t *, dnnl_engine_t, void *);
    dnnl_status_t (*mem_destroy)(dnnl_memory_t);
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    bool ok;
} lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void lib_open(void) {
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    struct { void **slot; const char *name; } syms[] = {
        {(void **)&lib.engine_create, "dnnl_engine_create"},
        {(void **)&lib.stream_create, "dnnl_stream_create"},
        {(void **)&lib.stream_wait, "dnnl_stream_wait"},
        {(void **)&lib.md_init_by_tag, "dnnl_memory_desc_init_by_tag"},
        {(void **)&lib.md_equal, "dnnl_memory_desc_equal"},
        {(void **)&lib.md_size, "dnnl_memory_desc_get_size"},
        {(void **)&lib.fwd_desc, "dnnl_dilated_convolution_forward_desc_init"},
        {(void **)&lib.bwd_data_desc, "dnnl_dilated_convolution_backward_data_desc_init"},
        {(void **)&lib.bwd_weights_desc, "dnnl_dilated_convolution_backward_weights_desc_init"},
        {(void **)&lib.pd_create, "dnnl_primitive_desc_create"},
        {(void **)&lib.pd_destroy, "dnnl_primitive_desc_destroy"},
        {(void **)&lib.pd_query_md, "dnnl_primitive_desc_query_md"},
        {(void **)&lib.reorder_pd_create, "dnnl_reorder_primitive_desc_create"},
        {(void **)&lib.prim_create, "dnnl_primitive_create"},
        {(void **)&lib.prim_destroy, "dnnl_primitive_destroy"},
        {(void **)&lib.execute, "dnnl_primitive_execute"},
        {(void **)&lib.mem_create, "dnnl_memory_create"},
        {(void **)&lib.mem_destroy, "dnnl_memory_destroy"},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
        if (!(*syms[i].slot = dlsym(h, syms[i].name))) return; /* a library we do not know: unused */
    if (lib.engine_create(&lib.engine, dnnl_cpu, 0) != dnnl_success) return;
    if (lib.stream_create(&lib.stream, lib.engine, dnnl_stream_default_flags) != dnnl_success) return;
    lib.ok = true;
}

/* ---- the rule -------------------------------------------------------------- */
enum { RULE_AUTO, RULE_IM2COL, RULE_ONEDNN };
static int rule = -1;

bool ml_dnnl_conv_wanted(const ml_dnnl_conv_geom *g) {
    if (rule < 0) {
        const char *e = getenv("MOONLAB_CONV");
        rule = !e ? RULE_AUTO : !strcmp(e, "im2col") ? RULE_IM2COL : !strcmp(e, "onednn") ? RULE_ONEDNN : RULE_AUTO;
    }
    if (rule == RULE_IM2COL) return false;
    if (rule == RULE_ONEDNN) return true;
    return g->C >= 16 && g->OC >= 16;
}

/* ---- primitives, cached by geometry ----------------------------------------- */
enum { FWD, DGRAD, WGRAD };

/* One tensor argument of a primitive: our plain layout and the one the primitive chose. */
typedef struct {
    int arg;
    bool output;
    dnnl_memory_desc_t plain, chosen;
    dnnl_primitive_t reorder; /* plain -> chosen for inputs, chosen -> plain for outputs; NULL when they agree */
} slot;

typedef struct {
    int kind, threads;
    bool bias;
    ml_dnnl_conv_geom g;
    dnnl_primitive_t prim;
    slot s[3];
    dnnl_memory_desc_t bias_md;
} entry;

#define CACHE 16
static entry cache[CACHE];
static int cache_len, cache_next;

static void entry_free(entry *e) {
    if (e->prim) lib.prim_destroy(e->prim);
    for (int i = 0; i < 3; i++)
        if (e->s[i].reorder) lib.prim_destroy(e->s[i].reorder);
    memset(e, 0, sizeof *e);
}

static bool same_geom(const ml_dnnl_conv_geom *a, const ml_dnnl_conv_geom *b) { return !memcmp(a, b, sizeof *a); }

static int make_slot(slot *s, int arg, bool output, const dnnl_memory_desc_t *plain, const_dnnl_primitive_desc_t pd,
                     dnnl_query_t what) {
    s->arg = arg, s->output = output, s->plain = *plain, s->reorder = NULL;
    const dnnl_memory_desc_t *c = lib.pd_query_md(pd, what, 0);
    if (!c) return -1;
    s->chosen = *c;
    if (lib.md_equal(&s->plain, &s->chosen)) return 0;
    dnnl_primitive_desc_t rpd;
    const dnnl_memory_desc_t *from = output ? &s->chosen : &s->plain, *to = output ? &s->plain : &s->chosen;
    if (lib.reorder_pd_create(&rpd, from, lib.engine, to, lib.engine, NULL) != dnnl_success) return -1;
    dnnl_status_t st = lib.prim_create(&s->reorder, rpd);
    lib.pd_destroy(rpd);
    return st == dnnl_success ? 0 : -1;
}

/* Builds the primitive of one kind for g; 0 on success. */
static int entry_build(entry *e, int kind, const ml_dnnl_conv_geom *g, bool bias) {
    memset(e, 0, sizeof *e);
    e->kind = kind, e->g = *g, e->bias = bias, e->threads = ml_get_threads();
    dnnl_dims_t xd = {g->N, g->C, g->H, g->W}, wd = {g->OC, g->C, g->KH, g->KW}, yd = {g->N, g->OC, g->OH, g->OW};
    dnnl_dims_t bd = {g->OC}, strides = {g->sh, g->sw}, dil = {g->dh - 1, g->dw - 1}, pl = {g->pt, g->pl};
    /* the trailing pads that make the output size come out as OH x OW */
    dnnl_dims_t pr = {(g->OH - 1) * g->sh + (g->KH - 1) * g->dh + 1 - g->H - g->pt,
                      (g->OW - 1) * g->sw + (g->KW - 1) * g->dw + 1 - g->W - g->pl};
    if (pr[0] < 0 || pr[1] < 0) return -1;
    dnnl_memory_desc_t x_plain, w_plain, y_plain, x_any, w_any, y_any;
    lib.md_init_by_tag(&x_plain, 4, xd, dnnl_f32, dnnl_nchw);
    lib.md_init_by_tag(&w_plain, 4, wd, dnnl_f32, dnnl_oihw);
    lib.md_init_by_tag(&y_plain, 4, yd, dnnl_f32, dnnl_nchw);
    lib.md_init_by_tag(&x_any, 4, xd, dnnl_f32, dnnl_format_tag_any);
    lib.md_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any);
    lib.md_init_by_tag(&y_any, 4, yd, dnnl_f32, dnnl_format_tag_any);
    lib.md_init_by_tag(&e->bias_md, 1, bd, dnnl_f32, dnnl_x);

    /* the forward descriptor: the primitive itself for FWD, the hint for the backward ones */
    dnnl_convolution_desc_t fd, bd_;
    dnnl_primitive_desc_t fpd = NULL, pd = NULL;
    int rc = -1;
    if (lib.fwd_desc(&fd, dnnl_forward_training, dnnl_convolution_direct, &x_any, &w_any, bias ? &e->bias_md : NULL,
                     &y_any, strides, dil, pl, pr) != dnnl_success ||
        lib.pd_create(&fpd, &fd, NULL, lib.engine, NULL) != dnnl_success)
        goto done;
    if (kind == FWD) {
        pd = fpd, fpd = NULL;
        if (make_slot(&e->s[0], DNNL_ARG_SRC, false, &x_plain, pd, dnnl_query_src_md) ||
            make_slot(&e->s[1], DNNL_ARG_WEIGHTS, false, &w_plain, pd, dnnl_query_weights_md) ||
            make_slot(&e->s[2], DNNL_ARG_DST, true, &y_plain, pd, dnnl_query_dst_md))
            goto done;
    } else if (kind == DGRAD) {
        if (lib.bwd_data_desc(&bd_, dnnl_convolution_direct, &x_any, &w_any, &y_any, strides, dil, pl, pr) != dnnl_success ||
            lib.pd_create(&pd, &bd_, NULL, lib.engine, fpd) != dnnl_success)
            goto done;
        if (make_slot(&e->s[0], DNNL_ARG_DIFF_DST, false, &y_plain, pd, dnnl_query_diff_dst_md) ||
            make_slot(&e->s[1], DNNL_ARG_WEIGHTS, false, &w_plain, pd, dnnl_query_weights_md) ||
            make_slot(&e->s[2], DNNL_ARG_DIFF_SRC, true, &x_plain, pd, dnnl_query_diff_src_md))
            goto done;
    } else {
        if (lib.bwd_weights_desc(&bd_, dnnl_convolution_direct, &x_any, &w_any, NULL, &y_any, strides, dil, pl, pr) !=
                dnnl_success ||
            lib.pd_create(&pd, &bd_, NULL, lib.engine, fpd) != dnnl_success)
            goto done;
        if (make_slot(&e->s[0], DNNL_ARG_SRC, false, &x_plain, pd, dnnl_query_src_md) ||
            make_slot(&e->s[1], DNNL_ARG_DIFF_DST, false, &y_plain, pd, dnnl_query_diff_dst_md) ||
            make_slot(&e->s[2], DNNL_ARG_DIFF_WEIGHTS, true, &w_plain, pd, dnnl_query_diff_weights_md))
            goto done;
    }
    if (lib.prim_create(&e->prim, pd) != dnnl_success) goto done;
    rc = 0;
done:
    if (fpd) lib.pd_destroy(fpd);
    if (pd) lib.pd_destroy(pd);
    if (rc) entry_free(e);
    return rc;
}

static entry *lookup(int kind, const ml_dnnl_conv_geom *g, bool bias) {
    int threads = ml_get_threads();
    for (int i = 0; i < cache_len; i++)
        if (cache[i].kind == kind && cache[i].bias == bias && cache[i].threads == threads && same_geom(&cache[i].g, g))
            return &cache[i];
    entry e;
    if (entry_build(&e, kind, g, bias)) return NULL;
    entry *slot_at = &cache[cache_next];
    if (cache_len == CACHE) entry_free(slot_at); /* the oldest goes */
    else cache_len++;
    cache_next = (cache_next + 1) % CACHE;
    *slot_at = e;
    return slot_at;
}

/* The blocked copies of a call's three arguments; they grow to the largest seen. */
static struct { void *p; size_t cap; } scratch[3];

static void *scratch_get(int i, size_t bytes) {
    bytes = (bytes + 63) / 64 * 64;
    if (scratch[i].cap >= bytes) return scratch[i].p;
    free(scratch[i].p);
    scratch[i].p = aligned_alloc(64, bytes); /* 64-byte aligned, as oneDNN's blocked kernels want */
    scratch[i].cap = scratch[i].p ? bytes : 0;
    return scratch[i].p;
}

static int run_reorder(dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return lib.execute(r, lib.stream, 2, a) == dnnl_success ? 0 : -1;
}

/* Runs e on the plain buffers ptr[0..2] (and bias): reorders in, the primitive, reorders out. */
static int entry_run(entry *e, void *const ptr[3], const float *bias) {
    dnnl_memory_t user[3] = {0}, inner[3] = {0}, bmem = NULL;
    dnnl_exec_arg_t args[4];
    int nargs = 0, rc = -1;
    for (int i = 0; i < 3; i++) {
        slot *s = &e->s[i];
        if (lib.mem_create(&user[i], &s->plain, lib.engine, ptr[i]) != dnnl_success) goto done;
        if (s->reorder) {
            void *buf = scratch_get(i, lib.md_size(&s->chosen));
            if (!buf || lib.mem_create(&inner[i], &s->chosen, lib.engine, buf) != dnnl_success) goto done;
            if (!s->output && run_reorder(s->reorder, user[i], inner[i])) goto done;
        }
        args[nargs++] = (dnnl_exec_arg_t){s->arg, s->reorder ? inner[i] : user[i]};
    }
    if (e->kind == FWD && e->bias) {
        if (lib.mem_create(&bmem, &e->bias_md, lib.engine, (void *)bias) != dnnl_success) goto done;
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bmem};
    }
    if (lib.execute(e->prim, lib.stream, nargs, args) != dnnl_success) goto done;
    for (int i = 0; i < 3; i++)
        if (e->s[i].output && e->s[i].reorder && run_reorder(e->s[i].reorder, inner[i], user[i])) goto done;
    lib.stream_wait(lib.stream);
    rc = 0;
done:
    for (int i = 0; i < 3; i++) {
        if (user[i]) lib.mem_destroy(user[i]);
        if (inner[i]) lib.mem_destroy(inner[i]);
    }
    if (bmem) lib.mem_destroy(bmem);
    return rc;
}

static int run(int kind, const ml_dnnl_conv_geom *g, void *a, void *b, void *c, const float *bias) {
    pthread_once(&lib_once, lib_open);
    if (!lib.ok) return 1;
    pthread_mutex_lock(&lock);
    entry *e = lookup(kind, g, bias != NULL);
    void *ptr[3] = {a, b, c};
    int rc = e && entry_run(e, ptr, bias) == 0 ? 0 : 1;
    pthread_mutex_unlock(&lock);
    return rc;
}

int ml_dnnl_conv_fwd(const ml_dnnl_conv_geom *g, float *y, const float *x, const float *w, const float *bias) {
    return run(FWD, g, (void *)x, (void *)w, y, bias);
}

int ml_dnnl_conv_dgrad(const ml_dnnl_conv_geom *g, float *dx, const float *dy, const float *w) {
    return run(DGRAD, g, (void *)dy, (void *)w, dx, NULL);
}

int ml_dnnl_conv_wgrad(const ml_dnnl_conv_geom *g, float *dw, const float *x, const float *dy) {
    return run(WGRAD, g, (void *)x, (void *)dy, dw, NULL);
}
