/* The small-product kernel for one element type and instruction set,
 * included by gemm_small.c with T (float or double), VW (lanes in one
 * register of the ISA), TARGET (its target attribute) and NAME(x) defined.
 *
 * op(A) and op(B) are read through element strides, a(i, p) = A[i*ai + p*ap]
 * and b(p, j) = B[p*bp + j*bj], so the four transpose layouts (and the
 * swapped orientation C^T = op(B)^T op(A)^T) are one code path; C likewise,
 * C(i, j) = C[i*rs + j*cs]. Each output is one accumulator summed over p in
 * order, so results depend on the shape only (never on the thread or the
 * tile), then alpha * sum + beta * C. */

typedef T NAME(vec) __attribute__((vector_size(VW * sizeof(T))));
/* the same vector read from any element address */
typedef T NAME(uvec) __attribute__((vector_size(VW * sizeof(T)), aligned(sizeof(T)), may_alias));

/* R rows by NV vectors of C: the accumulators stay in registers once R and
 * NV are constants (each call below passes literals). */
static inline __attribute__((always_inline, target(TARGET))) void NAME(tile)(int R, int NV, int64_t k, T alpha, const T *A,
                                                            int64_t ai, int64_t ap, const T *Bp, int64_t ldbp,
                                                            T beta, T *C, int64_t rs, int64_t cs, int64_t ncols) {
    NAME(vec) acc[4][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = (NAME(vec)){0};
    for (int64_t p = 0; p < k; p++) {
        NAME(vec) b[4];
        for (int v = 0; v < NV; v++) b[v] = *(const NAME(uvec) *)(Bp + p * ldbp + v * VW);
        for (int r = 0; r < R; r++) {
            T a = A[r * ai + p * ap];
            for (int v = 0; v < NV; v++) acc[r][v] += a * b[v];
        }
    }
    if (cs == 1 && ncols == NV * VW) { /* whole vectors of rows of C */
        for (int r = 0; r < R; r++)
            for (int v = 0; v < NV; v++) {
                NAME(uvec) *c = (NAME(uvec) *)(C + r * rs + v * VW);
                *c = beta == 0 ? alpha * acc[r][v] : alpha * acc[r][v] + beta * *c;
            }
        return;
    }
    for (int r = 0; r < R; r++) { /* a partial vector, or C written down its columns */
        T s[4 * VW];
        memcpy(s, acc[r], sizeof(NAME(vec)) * NV);
        T *c = C + r * rs;
        if (beta == 0) /* C is not read: NaNs there do not leak in */
            for (int64_t j = 0; j < ncols && j < NV * VW; j++) c[j * cs] = alpha * s[j];
        else
            for (int64_t j = 0; j < ncols && j < NV * VW; j++) c[j * cs] = alpha * s[j] + beta * c[j * cs];
    }
}

/* One block of up to four vectors of columns, all rows: four rows at a time. */
#define NAME_TILES(R, i)                                                                                       \
    switch (nv) {                                                                                              \
    case 1: NAME(tile)(R, 1, k, alpha, A + (i) * ai, ai, ap, Bj, ldbp, beta, C + (i) * rs + j0 * cs, rs, cs, nc); break; \
    case 2: NAME(tile)(R, 2, k, alpha, A + (i) * ai, ai, ap, Bj, ldbp, beta, C + (i) * rs + j0 * cs, rs, cs, nc); break; \
    case 3: NAME(tile)(R, 3, k, alpha, A + (i) * ai, ai, ap, Bj, ldbp, beta, C + (i) * rs + j0 * cs, rs, cs, nc); break; \
    default: NAME(tile)(R, 4, k, alpha, A + (i) * ai, ai, ap, Bj, ldbp, beta, C + (i) * rs + j0 * cs, rs, cs, nc); break; \
    }

/* C[m, n] = alpha op(A) op(B) + beta C with op(B)'s rows either read in
 * place (contiguous, whole vectors) or copied to pack [k, npad], the
 * columns past n zero. */
__attribute__((target(TARGET))) static void NAME(rows)(int64_t m, int64_t n, int64_t k, T alpha, const T *A, int64_t ai, int64_t ap, const T *B,
                       int64_t bp, int64_t bj, T beta, T *C, int64_t rs, int64_t cs, T *pack) {
    int64_t npad = (n + VW - 1) / VW * VW, ldbp;
    const T *Bp;
    if (bj == 1 && n % VW == 0) {
        Bp = B;
        ldbp = bp;
    } else {
        if (bj == 1) /* rows of op(B) padded */
            for (int64_t p = 0; p < k; p++) memcpy(pack + p * npad, B + p * bp, sizeof(T) * (size_t)n);
        else /* op(B) = B^T: read B's rows, write pack's columns */
            for (int64_t j = 0; j < n; j++)
                for (int64_t p = 0; p < k; p++) pack[p * npad + j] = B[j * bj + p * bp];
        for (int64_t p = 0; p < k; p++)
            for (int64_t j = n; j < npad; j++) pack[p * npad + j] = 0;
        Bp = pack;
        ldbp = npad;
    }
    for (int64_t j0 = 0; j0 < n; j0 += 4 * VW) {
        int64_t nc = n - j0 < 4 * VW ? n - j0 : 4 * VW;
        int nv = (int)((nc + VW - 1) / VW);
        const T *Bj = Bp + j0;
        int64_t i = 0;
        for (; i + 4 <= m; i += 4) NAME_TILES(4, i)
        for (; i < m; i++) NAME_TILES(1, i)
    }
}
#undef NAME_TILES

/* The lanes of x added pairwise, halves first: lane l + VW/2 into lane l,
 * and so on down to one. */
typedef T NAME(w8) __attribute__((vector_size(8 * sizeof(T))));
typedef T NAME(w4) __attribute__((vector_size(4 * sizeof(T))));
typedef T NAME(w2) __attribute__((vector_size(2 * sizeof(T))));
static inline __attribute__((always_inline, target(TARGET))) T NAME(hsum)(NAME(vec) x) {
#if VW == 16
    NAME(w8) a = __builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7) +
                 __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15);
#elif VW == 8
    NAME(w8) a = x;
#endif
#if VW >= 8
    NAME(w4) b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
#elif VW == 4
    NAME(w4) b = x;
#endif
#if VW >= 4
    NAME(w2) c = __builtin_shufflevector(b, b, 0, 1) + __builtin_shufflevector(b, b, 2, 3);
#else
    NAME(w2) c = x;
#endif
    return c[0] + c[1];
}

/* C[m, n] with op(A)'s rows contiguous (ap = 1) and n small, as x @ w^T
 * with one output column: each output one dot product over p in VW lanes
 * (lane l sums the p = l mod VW over the whole vectors), the lanes then
 * added by hsum, then the p past the last whole vector in order. op(B)'s
 * columns are copied to pack [n, kpad]. */
__attribute__((target(TARGET))) static void NAME(dots)(int64_t m, int64_t n, int64_t k, T alpha, const T *A,
                                                       int64_t ai, const T *B, int64_t bp, int64_t bj, T beta, T *C,
                                                       int64_t rs, int64_t cs, T *pack) {
    int64_t kfull = k / VW * VW, kpad = (k + VW - 1) / VW * VW;
    for (int64_t j = 0; j < n; j++)
        for (int64_t p = 0; p < k; p++) pack[j * kpad + p] = B[p * bp + j * bj];
    for (int64_t i = 0; i < m; i++) {
        const T *a = A + i * ai;
        for (int64_t j = 0; j < n; j++) {
            const T *col = pack + j * kpad;
            NAME(vec) acc = {0};
            for (int64_t p = 0; p < kfull; p += VW) acc += *(const NAME(uvec) *)(a + p) * *(const NAME(uvec) *)(col + p);
            T sum = NAME(hsum)(acc), *c = C + i * rs + j * cs;
            /* the last partial vector one by one: a zero-padded copy of it
             * would be read back before its stores retire (a stall per row) */
            for (int64_t p = kfull; p < k; p++) sum += a[p] * col[p];
            *c = beta == 0 ? alpha * sum : alpha * sum + beta * *c;
        }
    }
}

static int64_t NAME(dots_cost)(int64_t m, int64_t n, int64_t k) {
    return m * n * (2 * (k / VW) + 2 * (k % VW) + 8) + 2 * n * k;
}

/* Work of computing in this orientation: a broadcast and nv multiply-adds
 * per (row, p), plus the copy of op(B) when it cannot be read in place. */
static int64_t NAME(cost)(int64_t m, int64_t n, int64_t k, int64_t bj) {
    int64_t nv = (n + VW - 1) / VW;
    return m * k * (1 + nv) + (bj == 1 && n % VW == 0 ? 0 : 2 * k * n);
}

static void NAME(small)(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T *A, int64_t lda,
                        const T *B, int64_t ldb, T beta, T *C, int64_t ldc) {
    T pack[ML_SMALL_PACK] __attribute__((aligned(64)));
    int64_t ai = ta ? 1 : lda, ap = ta ? lda : 1, bp = tb ? 1 : ldb, bj = tb ? ldb : 1;
    /* C^T = op(B)^T op(A)^T when that is less work (n = 1, or op(A) the
     * one read in place): rows of the one become columns of the other */
    int64_t direct = NAME(cost)(m, n, k, bj), swapped = NAME(cost)(n, m, k, ai);
    if (ap == 1 && NAME(dots_cost)(m, n, k) < (direct < swapped ? direct : swapped))
        NAME(dots)(m, n, k, alpha, A, ai, B, bp, bj, beta, C, ldc, 1, pack);
    else if (swapped < direct)
        NAME(rows)(n, m, k, alpha, B, bj, bp, A, ap, ai, beta, C, 1, ldc, pack);
    else
        NAME(rows)(m, n, k, alpha, A, ai, ap, B, bp, bj, beta, C, ldc, 1, pack);
}
