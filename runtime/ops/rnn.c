/* Fused recurrent scans: see rnn.h for the equations.
 *
 * Layouts (row-major, contiguous):
 *   gx     (T, B, G)          G = gates * H: RNN 1, LSTM 4 (i, f, g, o), GRU 3 (r, z, n)
 *   out    (S, T + 1, B, H)   every state of the scan; LSTM's c states after its h states
 *   w      (G, Hc)            W_hh, with b_hh as column H when Hc = H + 1
 *   work   (T, B, Gs) + (B)   the activated gates (LSTM i, f, g, o; GRU r, z, n and
 *                             W_hn h' + b_hn; nothing for RNN, Gs = 0), then the
 *                             lengths as values of the dtype when there are any
 * The backward saves w, out and work: the forward's product h' W_hh^T is
 * not kept (GRU keeps its n part, the only one the backward needs). */
#include "rnn.h"

#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "../core/error.h"
#include "../core/parallel.h"
#include "gemm.h"
#include "vecmath.h"

int ml_rnn_gates(ml_rnn_mode mode) { return mode == ML_RNN_LSTM ? 4 : mode == ML_RNN_GRU ? 3 : 1; }
int ml_rnn_states(ml_rnn_mode mode) { return mode == ML_RNN_LSTM ? 2 : 1; }

#define T float
#define GEMM ml_sgemm
#define VM ml_vm_map_f32
#define NAME(x) rnn_f32_##x
#include "rnn_impl.h"
#undef T
#undef GEMM
#undef VM
#undef NAME

#define T double
#define GEMM ml_dgemm
#define VM ml_vm_map_f64
#define NAME(x) rnn_f64_##x
#include "rnn_impl.h"
#undef T
#undef GEMM
#undef VM
#undef NAME

static const char *const MODE_NAMES[ML_RNN_NMODES] = {"rnn_tanh", "rnn_relu", "lstm", "gru"};

/* Gates saved per row: 4 H for LSTM and GRU, none for RNN (its h is enough). */
static int64_t saved_gates(ml_rnn_mode mode, int64_t H) { return mode == ML_RNN_LSTM || mode == ML_RNN_GRU ? 4 * H : 0; }

static int rnn_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *w = ml_saved(n, 0), *out = ml_saved(n, 1), *work = ml_saved(n, 2);
    if (!w || !out || !work) return -1;
    ml_rnn_mode mode = (ml_rnn_mode)n->ctx.rnn.mode;
    bool reverse = n->ctx.rnn.reverse, f32 = out->dtype == ML_FLOAT32;
    int64_t S = out->shape[0], Tn = out->shape[1] - 1, B = out->shape[2], H = out->shape[3];
    int64_t G = w->shape[0], Hc = w->shape[1], Gs = saved_gates(mode, H);
    size_t es = ml_dtype_size(out->dtype);
    int rc = -1;
    int64_t *len = NULL;
    void *bufs = NULL, *dgh_own = NULL;
    ml_tensor *gc = ml_contiguous(g), *dgx = NULL, *ds = NULL, *dw = NULL;
    if (!gc) return -1;
    if (n->ctx.rnn.has_lengths) {
        if (!(len = malloc((size_t)(B ? B : 1) * sizeof(int64_t)))) goto oom;
        const char *lp = (const char *)ml_data(work) + (size_t)(Tn * B * Gs) * es;
        for (int64_t b = 0; b < B; b++) len[b] = f32 ? (int64_t)((const float *)lp)[b] : (int64_t)((const double *)lp)[b];
    }
    int64_t shx[3] = {Tn, B, G}, shs[3] = {S, B, H};
    /* dgx is always computed (the scan needs it); the others only when asked for */
    if (!(dgx = ml_empty(3, shx, out->dtype)) || !(ds = ml_empty(3, shs, out->dtype))) goto done;
    if (n->needs[2] && !(dw = ml_empty(2, w->shape, out->dtype))) goto done;
    if (!(bufs = malloc((size_t)(4 * B * H + G + 1) * es))) goto oom;
    void *dgh = ml_data(dgx);
    if (mode == ML_RNN_GRU) {
        if (!(dgh_own = malloc((size_t)(Tn * B * G + 1) * es))) goto oom;
        dgh = dgh_own;
    }
    if (f32)
        rnn_f32_backward(mode, reverse, Tn, B, H, Hc, ml_data(w), len, ml_data(out), Gs ? ml_data(work) : NULL,
                         ml_data(gc), ml_data(dgx), dgh, ml_data(ds), dw ? ml_data(dw) : NULL, bufs);
    else
        rnn_f64_backward(mode, reverse, Tn, B, H, Hc, ml_data(w), len, ml_data(out), Gs ? ml_data(work) : NULL,
                         ml_data(gc), ml_data(dgx), dgh, ml_data(ds), dw ? ml_data(dw) : NULL, bufs);
    if (n->needs[0]) { gin[0] = dgx; dgx = NULL; }
    if (n->needs[1]) { gin[1] = ds; ds = NULL; }
    if (n->needs[2]) { gin[2] = dw; dw = NULL; }
    rc = 0;
    goto done;
oom:
    ml_error("rnn: out of memory in the backward pass");
done:
    free(len);
    free(bufs);
    free(dgh_own);
    ml_release(dgx);
    ml_release(ds);
    ml_release(dw);
    ml_release(gc);
    return rc;
}

static bool shape_is(const ml_tensor *t, int ndim, const int64_t *shape) {
    if (t->ndim != ndim) return false;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d]) return false;
    return true;
}

ml_tensor *ml_rnn_scan(ml_rnn_mode mode, bool reverse, ml_tensor *gx, ml_tensor *state0, ml_tensor *w,
                       const int64_t *lengths) {
    const char *fn = "rnn";
    if ((unsigned)mode >= ML_RNN_NMODES) return ml_error("%s: unknown mode %d", fn, (int)mode);
    if (!ml_dtype_is_float(gx->dtype)) return ml_error("%s: input must be float32 or float64, got %s", fn, ml_dtype_name(gx->dtype));
    if (state0->dtype != gx->dtype || w->dtype != gx->dtype)
        return ml_error("%s: the state and weight must have the input's dtype %s", fn, ml_dtype_name(gx->dtype));
    if (gx->ndim != 3 || w->ndim != 2) return ml_error("%s: expected gx (T, B, G) and w (G, H[+1])", fn);
    int64_t Tn = gx->shape[0], B = gx->shape[1], G = gx->shape[2], S = ml_rnn_states(mode);
    int64_t H = G / ml_rnn_gates(mode), Hc = w->shape[1];
    if (G != H * ml_rnn_gates(mode) || w->shape[0] != G || (Hc != H && Hc != H + 1))
        return ml_error("%s: %s needs gx (T, B, %d H) and w (%d H, H or H + 1); got G = %lld, w (%lld, %lld)", fn,
                        MODE_NAMES[mode], ml_rnn_gates(mode), ml_rnn_gates(mode), (long long)G,
                        (long long)w->shape[0], (long long)Hc);
    int64_t shs[3] = {S, B, H};
    if (!shape_is(state0, 3, shs)) return ml_error("%s: the initial state must be (%lld, %lld, %lld)", fn, (long long)S, (long long)B, (long long)H);
    if (lengths)
        for (int64_t b = 0; b < B; b++)
            if (lengths[b] < 0 || lengths[b] > Tn)
                return ml_error("%s: length %lld of sequence %lld is outside 0..%lld", fn, (long long)lengths[b],
                                (long long)b + 1, (long long)Tn);
    size_t es = ml_dtype_size(gx->dtype);
    bool f32 = gx->dtype == ML_FLOAT32;
    ml_tensor *in3[3] = {gx, state0, w};
    bool record = ml_needs_record(3, in3);
    int64_t Gs = record ? saved_gates(mode, H) : 0;
    ml_tensor *gxc = ml_contiguous(gx), *s0 = NULL, *wc = NULL, *out = NULL, *work = NULL;
    void *scratch = NULL;
    if (!gxc || !(s0 = ml_contiguous(state0)) || !(wc = ml_contiguous(w))) goto fail;
    int64_t sho[4] = {S, Tn + 1, B, H};
    if (!(out = ml_empty(4, sho, gx->dtype))) goto fail;
    /* the initial state goes in its slot of out: the first step reads it there */
    int64_t i0 = reverse ? Tn : 0, step = B * H;
    for (int64_t s = 0; s < S; s++)
        memcpy((char *)ml_data(out) + (size_t)((s * (Tn + 1) + i0) * step) * es, (char *)ml_data(s0) + (size_t)(s * step) * es,
               (size_t)step * es);
    int64_t wn = Tn * B * Gs + (record && lengths ? B : 0);
    if (!(work = ml_empty(1, &wn, gx->dtype))) goto fail;
    if (!(scratch = malloc((size_t)(B * G + B * 4 * H + 1) * es))) {
        ml_error("%s: out of memory", fn);
        goto fail;
    }
    if (f32)
        rnn_f32_forward(mode, reverse, Tn, B, H, Hc, ml_data(gxc), ml_data(wc), lengths, ml_data(out),
                        Gs ? ml_data(work) : NULL, scratch);
    else
        rnn_f64_forward(mode, reverse, Tn, B, H, Hc, ml_data(gxc), ml_data(wc), lengths, ml_data(out),
                        Gs ? ml_data(work) : NULL, scratch);
    if (record) {
        if (lengths) {
            char *lp = (char *)ml_data(work) + (size_t)(Tn * B * Gs) * es;
            for (int64_t b = 0; b < B; b++) {
                if (f32) ((float *)lp)[b] = (float)lengths[b];
                else ((double *)lp)[b] = (double)lengths[b];
            }
        }
        ml_node *n = ml_record(MODE_NAMES[mode], rnn_backward, out, 3, in3);
        if (!n) goto fail;
        ml_save(n, 0, wc);
        if (ml_save_output(n, 1, out) < 0) goto fail;
        ml_save(n, 2, work);
        n->ctx.rnn.mode = mode;
        n->ctx.rnn.reverse = reverse;
        n->ctx.rnn.has_lengths = lengths != NULL;
    }
    free(scratch);
    ml_release(work);
    ml_release(wc);
    ml_release(s0);
    ml_release(gxc);
    return out;
fail:
    free(scratch);
    ml_release(work);
    ml_release(out);
    ml_release(wc);
    ml_release(s0);
    ml_release(gxc);
    return NULL;
}
