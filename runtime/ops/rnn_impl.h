/* The recurrent scan for one element type, included by rnn.c with T (float
 * or double), GEMM (ml_sgemm or ml_dgemm), VM (ml_vm_map_f32 or _f64) and
 * NAME(x) defined. See rnn.h for the equations; rnn.c for the layouts. */

/* One time step's pointwise pass over the rows (sequences) of a batch. */
typedef struct {
    ml_rnn_mode mode;
    int64_t H, G, Gs, t;
    const int64_t *len; /* (B) or NULL */
    const T *gx, *gh;   /* (B, G): the input part, and h' W_hh^T + b_hh */
    const T *hp, *cp;   /* (B, H): the state before the step (cp: LSTM only) */
    T *h, *c;           /* (B, H): the state after it */
    T *gs;              /* (B, Gs): the gates saved for the backward, or NULL (RNN) */
} NAME(fwd_job);

static void NAME(fwd_rows)(void *p, int64_t s, int64_t e) {
    const NAME(fwd_job) *j = p;
    const int64_t H = j->H, G = j->G;
    for (int64_t b = s; b < e; b++) {
        const T *x = j->gx + b * G, *gh = j->gh + b * G, *hp = j->hp + b * H;
        T *h = j->h + b * H, *gs = j->gs ? j->gs + b * j->Gs : NULL;
        if (j->len && j->t >= j->len[b]) { /* a padded step: the state is carried unchanged */
            memcpy(h, hp, (size_t)H * sizeof(T));
            if (j->c) memcpy(j->c + b * H, j->cp + b * H, (size_t)H * sizeof(T));
            if (gs) memset(gs, 0, (size_t)j->Gs * sizeof(T));
            continue;
        }
        switch (j->mode) {
        case ML_RNN_TANH:
            for (int64_t k = 0; k < H; k++) h[k] = x[k] + gh[k];
            VM(ML_VM_TANH, h, h, H);
            break;
        case ML_RNN_RELU:
            for (int64_t k = 0; k < H; k++) {
                T v = x[k] + gh[k];
                h[k] = v > 0 ? v : 0;
            }
            break;
        case ML_RNN_LSTM: { /* gs: i, f, g, o */
            const T *cp = j->cp + b * H;
            T *c = j->c + b * H;
            for (int64_t k = 0; k < G; k++) gs[k] = x[k] + gh[k];
            VM(ML_VM_SIGMOID, gs, gs, 2 * H);
            VM(ML_VM_TANH, gs + 2 * H, gs + 2 * H, H);
            VM(ML_VM_SIGMOID, gs + 3 * H, gs + 3 * H, H);
            const T *i = gs, *f = gs + H, *g = gs + 2 * H, *o = gs + 3 * H;
            for (int64_t k = 0; k < H; k++) c[k] = f[k] * cp[k] + i[k] * g[k];
            VM(ML_VM_TANH, h, c, H);
            for (int64_t k = 0; k < H; k++) h[k] *= o[k];
            break;
        }
        case ML_RNN_GRU: { /* gs: r, z, n, hn = W_hn h' + b_hn */
            for (int64_t k = 0; k < 2 * H; k++) gs[k] = x[k] + gh[k];
            VM(ML_VM_SIGMOID, gs, gs, 2 * H);
            T *r = gs, *z = gs + H, *n = gs + 2 * H, *hn = gs + 3 * H;
            for (int64_t k = 0; k < H; k++) {
                hn[k] = gh[2 * H + k];
                n[k] = x[2 * H + k] + r[k] * hn[k];
            }
            VM(ML_VM_TANH, n, n, H);
            for (int64_t k = 0; k < H; k++) h[k] = (1 - z[k]) * n[k] + z[k] * hp[k];
            break;
        }
        default: break;
        }
    }
}

/* The whole forward scan; out (S, T + 1, B, H), gs (T, B, 4 H) or NULL
 * (nothing saved: LSTM and GRU then reuse one step's gates in scratch),
 * scratch (B, G) + (B, 4 H). */
static void NAME(forward)(ml_rnn_mode mode, bool reverse, int64_t Tn, int64_t B, int64_t H, int64_t Hc,
                          const T *gx, const T *w, const int64_t *len, T *out, T *gs, T *scratch) {
    const int64_t G = (int64_t)ml_rnn_gates(mode) * H, step = B * H;
    const bool lstm = mode == ML_RNN_LSTM, bias = Hc > H, gated = lstm || mode == ML_RNN_GRU;
    const int64_t Gs = gated ? 4 * H : 0;
    T *cells = out + (Tn + 1) * step; /* LSTM's c states, after the h states */
    int64_t grain = G ? ML_PAR_GRAIN / (4 * G) : B;
    for (int64_t s = 0; s < Tn; s++) {
        int64_t t = reverse ? Tn - 1 - s : s, ip = reverse ? t + 1 : t, io = reverse ? t : t + 1;
        const T *hp = out + ip * step;
        if (bias) /* the hidden bias preset in every row, the product added onto it */
            for (int64_t b = 0; b < B; b++)
                for (int64_t k = 0; k < G; k++) scratch[b * G + k] = w[k * Hc + H];
        GEMM(false, true, B, G, H, 1, hp, H, w, Hc, bias ? 1 : 0, scratch, G);
        NAME(fwd_job) j = {.mode = mode, .H = H, .G = G, .Gs = Gs, .t = t, .len = len, .gx = gx + t * B * G,
                           .gh = scratch, .hp = hp, .h = out + io * step, .gs = !gated ? NULL : gs ? gs + t * B * Gs : scratch + B * G,
                           .cp = lstm ? cells + ip * step : NULL, .c = lstm ? cells + io * step : NULL};
        ml_parallel_for(B, grain > 0 ? grain : 1, NAME(fwd_rows), &j);
    }
}

/* One time step of the backward, per row. Given dh (and dc) = dL/d(state
 * after the step), writes the pre-activation gradients dgx (and dgh, GRU's
 * hidden-side ones: the n gate's is scaled by r) and the parts of
 * dL/d(state before) that do not pass through W_hh: dhp (GRU: dh z; a
 * padded step: dh itself) and dcp (LSTM: dc_total f). */
typedef struct {
    ml_rnn_mode mode;
    int64_t H, G, Gs, t;
    const int64_t *len;
    const T *dh, *dc, *h, *c, *hp, *cp, *gs;
    T *dgx, *dgh, *dhp, *dcp;
} NAME(bwd_job);

static void NAME(bwd_rows)(void *p, int64_t s, int64_t e) {
    const NAME(bwd_job) *j = p;
    const int64_t H = j->H, G = j->G;
    for (int64_t b = s; b < e; b++) {
        const T *dh = j->dh + b * H, *h = j->h + b * H, *hp = j->hp + b * H;
        T *dgx = j->dgx + b * G, *dgh = j->dgh + b * G, *dhp = j->dhp + b * H;
        const T *gs = j->gs ? j->gs + b * j->Gs : NULL;
        if (j->len && j->t >= j->len[b]) { /* carried state: the gradient passes through unchanged */
            memset(dgx, 0, (size_t)G * sizeof(T));
            if (dgh != dgx) memset(dgh, 0, (size_t)G * sizeof(T));
            memcpy(dhp, dh, (size_t)H * sizeof(T));
            if (j->dcp) memcpy(j->dcp + b * H, j->dc + b * H, (size_t)H * sizeof(T));
            continue;
        }
        switch (j->mode) {
        case ML_RNN_TANH: /* tanh' = 1 - h^2 */
            for (int64_t k = 0; k < H; k++) dgx[k] = dh[k] * (1 - h[k] * h[k]);
            memset(dhp, 0, (size_t)H * sizeof(T));
            break;
        case ML_RNN_RELU:
            for (int64_t k = 0; k < H; k++) dgx[k] = h[k] > 0 ? dh[k] : 0;
            memset(dhp, 0, (size_t)H * sizeof(T));
            break;
        case ML_RNN_LSTM: {
            const T *c = j->c + b * H, *cp = j->cp + b * H, *dc = j->dc + b * H;
            const T *i = gs, *f = gs + H, *g = gs + 2 * H, *o = gs + 3 * H;
            T *dcp = j->dcp + b * H, *tc = dhp; /* tanh(c), recomputed into dhp, which is zeroed after */
            VM(ML_VM_TANH, tc, c, H);
            for (int64_t k = 0; k < H; k++) {
                /* dc_total = dc + dh o (1 - tanh(c)^2); then through c = f c' + i g and h = o tanh(c) */
                T dct = dc[k] + dh[k] * o[k] * (1 - tc[k] * tc[k]);
                dgx[k] = dct * g[k] * i[k] * (1 - i[k]);
                dgx[H + k] = dct * cp[k] * f[k] * (1 - f[k]);
                dgx[2 * H + k] = dct * i[k] * (1 - g[k] * g[k]);
                dgx[3 * H + k] = dh[k] * tc[k] * o[k] * (1 - o[k]);
                dcp[k] = dct * f[k];
            }
            memset(dhp, 0, (size_t)H * sizeof(T));
            break;
        }
        case ML_RNN_GRU: {
            const T *r = gs, *z = gs + H, *n = gs + 2 * H, *hn = gs + 3 * H;
            for (int64_t k = 0; k < H; k++) {
                /* h = (1 - z) n + z h': dn = dh (1 - z), dz = dh (h' - n), dh' gets dh z directly */
                T dnp = dh[k] * (1 - z[k]) * (1 - n[k] * n[k]);
                T drp = dnp * hn[k] * r[k] * (1 - r[k]);
                T dzp = dh[k] * (hp[k] - n[k]) * z[k] * (1 - z[k]);
                dgx[k] = dgh[k] = drp;
                dgx[H + k] = dgh[H + k] = dzp;
                dgx[2 * H + k] = dnp;
                dgh[2 * H + k] = dnp * r[k];
                dhp[k] = dh[k] * z[k];
            }
            break;
        }
        default: break;
        }
    }
}

/* The whole backward scan (BPTT). gout (S, T + 1, B, H) as out; writes dgx
 * (T, B, G), dgh (T, B, G; == dgx except for GRU), dstate0 (S, B, H) and,
 * when dw is not NULL, dw (G, Hc). bufs: 4 (B, H) buffers. */
static void NAME(backward)(ml_rnn_mode mode, bool reverse, int64_t Tn, int64_t B, int64_t H, int64_t Hc,
                           const T *w, const int64_t *len, const T *out, const T *gs, const T *gout, T *dgx,
                           T *dgh, T *dstate0, T *dw, T *bufs) {
    const int64_t G = (int64_t)ml_rnn_gates(mode) * H, Gs = gs ? 4 * H : 0, step = B * H;
    const bool lstm = mode == ML_RNN_LSTM;
    const T *cells = out + (Tn + 1) * step, *gcells = gout + (Tn + 1) * step;
    T *dh = bufs, *dhp = bufs + step, *dc = bufs + 2 * step, *dcp = bufs + 3 * step;
    memset(dh, 0, (size_t)step * sizeof(T));
    memset(dc, 0, (size_t)step * sizeof(T));
    int64_t grain = G ? ML_PAR_GRAIN / (4 * G) : B;
    for (int64_t s = Tn - 1; s >= 0; s--) {
        int64_t t = reverse ? Tn - 1 - s : s, ip = reverse ? t + 1 : t, io = reverse ? t : t + 1;
        for (int64_t k = 0; k < step; k++) dh[k] += gout[io * step + k];
        if (lstm)
            for (int64_t k = 0; k < step; k++) dc[k] += gcells[io * step + k];
        NAME(bwd_job) j = {.mode = mode, .H = H, .G = G, .Gs = Gs, .t = t, .len = len, .dh = dh, .dc = dc,
                           .h = out + io * step, .hp = out + ip * step, .gs = gs ? gs + t * B * Gs : NULL,
                           .c = lstm ? cells + io * step : NULL, .cp = lstm ? cells + ip * step : NULL,
                           .dgx = dgx + t * B * G, .dgh = dgh + t * B * G, .dhp = dhp, .dcp = lstm ? dcp : NULL};
        ml_parallel_for(B, grain > 0 ? grain : 1, NAME(bwd_rows), &j);
        /* dh' = direct part + dgh W_hh */
        GEMM(false, false, B, H, G, 1, dgh + t * B * G, G, w, Hc, 1, dhp, H);
        T *x = dh; dh = dhp; dhp = x;
        if (lstm) { x = dc; dc = dcp; dcp = x; }
    }
    int64_t i0 = reverse ? Tn : 0;
    for (int64_t k = 0; k < step; k++) dstate0[k] = dh[k] + gout[i0 * step + k];
    if (lstm)
        for (int64_t k = 0; k < step; k++) dstate0[step + k] = dc[k] + gcells[i0 * step + k];
    if (!dw) return;
    /* dW_hh = sum over steps of dgh^T h': one product over all T * B rows
     * (the h' of every step are one block of out: rows 0..T-1 forward, 1..T reverse) */
    const T *hprev = out + (reverse ? step : 0);
    GEMM(true, false, G, H, Tn * B, 1, dgh, G, hprev, H, 0, dw, Hc);
    if (Hc == H) return;
    T *acc = bufs; /* db_hh = column sums of dgh, summed contiguously (bufs hold 4 B H >= G values) */
    memset(acc, 0, (size_t)G * sizeof(T));
    for (int64_t r = 0; r < Tn * B; r++)
        for (int64_t k = 0; k < G; k++) acc[k] += dgh[r * G + k];
    for (int64_t k = 0; k < G; k++) dw[k * Hc + H] = acc[k];
}
