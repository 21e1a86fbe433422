/* Runtime internals from C: storage refcounts, views, ml_copy_into (strided,
 * broadcast, converting), ml_broadcast_shapes errors, reshape view strides,
 * and the release and backward of a 100,000-node autograd chain without
 * recursion. Prints "N passed, M failed" last; exits 1 on a failure. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/autograd/autograd.h"
#include "../../runtime/ops/ops.h"
#include "../../runtime/tensor/tensor.h"

#include "check.h"

/* the last error contains s */
#define CHECK_ERR(s)                                                               \
    do {                                                                           \
        if (strstr(ml_last_error(), (s))) passed++;                                \
        else {                                                                     \
            failed++;                                                              \
            fprintf(stderr, "FAIL %s:%d: error \"%s\" lacks \"%s\"\n", __FILE__,   \
                    __LINE__, ml_last_error(), (s));                               \
        }                                                                          \
    } while (0)

/* t (any strides, any dtype) holds exactly want[0..numel) in row-major order */
static int values_are(const ml_tensor *t, const double *want, int64_t n) {
    if (t->numel != n) return 0;
    for (int64_t i = 0; i < n; i++)
        if (ml_get_flat(t, i) != want[i]) return 0;
    return 1;
}

/* a [rows, cols] float32 tensor holding 0, 1, 2, ... */
static ml_tensor *iota2(int64_t rows, int64_t cols, ml_dtype dt) {
    int64_t s[2] = {rows, cols};
    ml_tensor *t = ml_empty(2, s, dt);
    for (int64_t i = 0; i < t->numel; i++) ml_set_flat(t, i, (double)i);
    return t;
}

static void test_storage_refcounts(void) {
    int64_t before = ml_bytes_live;
    int64_t s[2] = {4, 6};
    ml_tensor *a = ml_zeros(2, s, ML_FLOAT32);
    CHECK(a && a->refcount == 1 && a->storage->refcount == 1);
    CHECK(ml_bytes_live - before >= 4 * 6 * 4);
    CHECK(((uintptr_t)a->storage->data & 15) == 0); /* small blocks: malloc's 16-byte alignment */
    int64_t big[1] = {1 << 17};                      /* 512 KiB: 64-byte aligned */
    ml_tensor *large = ml_empty(1, big, ML_FLOAT32);
    CHECK(large && ((uintptr_t)large->storage->data & 63) == 0);
    ml_release(large);

    ml_tensor *v = ml_narrow(a, 1, 2, 3); /* columns 3..5 */
    CHECK(v && v->storage == a->storage && a->storage->refcount == 2);
    CHECK(v->offset == 2 && v->strides[0] == 6 && v->strides[1] == 1);
    ml_tensor *r = ml_retain(v);
    CHECK(r == v && v->refcount == 2);
    ml_release(r);
    CHECK(v->refcount == 1);

    /* the view keeps the storage alive after the base goes */
    ml_release(a);
    CHECK(v->storage->refcount == 1);
    CHECK(ml_bytes_live - before >= 4 * 6 * 4);
    ml_set_flat(v, 11, 7.5); /* last element of the view: a[4][5] */
    CHECK(ml_get_flat(v, 11) == 7.5);
    ml_release(v);
    CHECK(ml_bytes_live == before);
    ml_release(NULL); /* NULL-safe */

    /* alias shares storage, not autograd state */
    ml_tensor *b = ml_zeros(2, s, ML_FLOAT64);
    b->requires_grad = true;
    ml_tensor *al = ml_alias(b);
    CHECK(al->storage == b->storage && !al->requires_grad && al->grad_fn == NULL);
    ml_release(b);
    ml_release(al);
    CHECK(ml_bytes_live == before);

    /* zero-size tensors allocate a (minimal) storage and release it */
    int64_t z[2] = {0, 3};
    ml_tensor *e = ml_zeros(2, z, ML_FLOAT32);
    CHECK(e && e->numel == 0 && e->storage);
    ml_release(e);
    CHECK(ml_bytes_live == before);
}

/* ml_storage_rebind: a storage pointed into another's block frees its own,
 * every view of it (made before) reads the block, it shares the block's
 * version, overlap checks see through it, and releasing it releases the base. */
static void test_storage_rebind(void) {
    int64_t before = ml_bytes_live;
    int64_t s4[1] = {4}, s10[1] = {10};
    ml_tensor *p = ml_full(1, s4, ML_FLOAT32, 3.0);
    ml_tensor *v = ml_narrow(p, 0, 1, 2); /* a view made before: p[2..3] */
    ml_tensor *block = ml_zeros(1, s10, ML_FLOAT32);
    CHECK(p && v && block);
    int64_t live_with_both = ml_bytes_live;
    ml_tensor *slot = ml_narrow(block, 0, 5, 4);
    CHECK(slot && ml_copy_into(slot, p) == 0);
    ml_storage *st = p->storage;
    CHECK(ml_storage_rebind(st, block->storage, 5 * sizeof(float)) == 0);
    CHECK(st->base == block->storage && st->capacity == 0 && block->storage->dependents == 1);
    CHECK(block->storage->refcount == 3); /* block, slot, st */
    CHECK(ml_bytes_live < live_with_both);  /* p's own block was freed */
    CHECK(ml_data(p) == ml_data(slot) && ml_get_flat(v, 0) == 3.0);
    ml_set_flat(block, 6, 9.0); /* block[6] is p[1], v[0] */
    CHECK(ml_get_flat(p, 1) == 9.0 && ml_get_flat(v, 0) == 9.0);
    /* one version: a write through the block is seen by p */
    uint64_t ver = ml_storage_root(p->storage)->version;
    ml_bump_version(block);
    CHECK(ml_storage_root(p->storage)->version == ver + 1);
    /* overlap across the two storage objects */
    CHECK(ml_may_overlap(v, slot) && ml_may_overlap(p, block));
    ml_tensor *head = ml_narrow(block, 0, 0, 5);
    CHECK(head && !ml_may_overlap(p, head) && ml_same_layout(slot, p));
    ml_release(head);
    /* refusals: a base cannot be rebound, nor a range that does not fit */
    ml_tensor *other = ml_zeros(1, s4, ML_FLOAT32);
    CHECK(ml_storage_rebind(block->storage, other->storage, 0) == -1);
    CHECK(ml_storage_rebind(other->storage, block->storage, 8 * sizeof(float)) == -1);
    CHECK(other->storage->base == NULL);
    /* rebinding into a view's storage that is itself rebound goes to the root */
    CHECK(ml_storage_rebind(other->storage, p->storage, 0) == 0);
    CHECK(other->storage->base == block->storage && ml_data(other) == ml_data(p));
    CHECK(block->storage->dependents == 2);
    ml_release(other);
    CHECK(block->storage->dependents == 1);
    /* the block outlives its owner's header while p and v hold it */
    ml_release(slot);
    ml_release(block);
    CHECK(ml_get_flat(p, 1) == 9.0 && ml_get_flat(v, 1) == 3.0);
    ml_release(p);
    ml_release(v);
    CHECK(ml_bytes_live == before);
}

/* Freed large blocks are kept for reuse: live bytes still drop at release,
 * a reused block is zeroed again by ml_zeros, and clearing empties the cache. */
static void test_storage_cache(void) {
    int64_t before = ml_bytes_live;
    int64_t s[1] = {1 << 18}; /* 1 MiB of float32 */
    ml_tensor *a = ml_full(1, s, ML_FLOAT32, 7.0);
    CHECK(a && ml_bytes_live - before >= (1 << 20));
    void *p = a->storage->data;
    ml_release(a);
    CHECK(ml_bytes_live == before);
    size_t cached = ml_storage_cache_bytes();
    CHECK(cached >= (1 << 20));
    ml_tensor *z = ml_zeros(1, s, ML_FLOAT32);
    CHECK(z && z->storage->data == p); /* the same block came back */
    CHECK(ml_storage_cache_bytes() == cached - (1 << 20));
    int zero = 1;
    for (int64_t i = 0; i < z->numel && zero; i += 4099) zero = ml_get_flat(z, i) == 0.0;
    CHECK(zero && ml_get_flat(z, z->numel - 1) == 0.0);
    ml_release(z);
    ml_storage_cache_clear();
    CHECK(ml_storage_cache_bytes() == 0);
    CHECK(ml_bytes_live == before);
}

static void test_creation_errors(void) {
    int64_t neg[1] = {-1};
    CHECK(ml_zeros(1, neg, ML_FLOAT32) == NULL);
    CHECK_ERR("negative");
    int64_t huge[2] = {1000000000000LL, 1000000000000LL};
    CHECK(ml_empty(2, huge, ML_FLOAT32) == NULL);
    CHECK_ERR("too large");
    int64_t big[1] = {(int64_t)1 << 42}; /* 16 TiB of float32: refused before malloc */
    CHECK(ml_empty(1, big, ML_FLOAT32) == NULL);
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(ml_zeros(9, nine, ML_FLOAT32) == NULL);
    CHECK_ERR("at most 8");
    CHECK(ml_norm_dim("sum", 3, 2) == -1);
    CHECK_ERR("sum: dimension 3 out of range");
    CHECK(ml_norm_dim("sum", -1, 2) == 1 && ml_norm_dim("sum", 1, 2) == 0 && ml_norm_dim("sum", -3, 2) == -1);
}

static void test_views(void) {
    ml_tensor *a = iota2(3, 4, ML_FLOAT32); /* [[0..3],[4..7],[8..11]] */
    ml_tensor *t = ml_transpose(a, 0, 1);   /* [4,3] */
    CHECK(t && t->shape[0] == 4 && t->shape[1] == 3 && t->strides[0] == 1 && t->strides[1] == 4);
    CHECK(!ml_is_contiguous(t) && t->storage == a->storage);
    double tw[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
    CHECK(values_are(t, tw, 12));

    ml_tensor *row = ml_select(a, 0, 1); /* [4,5,6,7] */
    double rw[4] = {4, 5, 6, 7};
    CHECK(row && row->ndim == 1 && row->offset == 4 && values_are(row, rw, 4));
    ml_tensor *col = ml_select(a, 1, 2); /* [2,6,10] */
    double cw[3] = {2, 6, 10};
    CHECK(col && col->strides[0] == 4 && col->offset == 2 && values_are(col, cw, 3));

    /* a write through a view shows in the base */
    ml_set_flat(col, 1, 100);
    CHECK(ml_get_flat(a, 6) == 100);

    int64_t es[3] = {2, 3, 4};
    ml_tensor *ex = ml_expand(a, 3, es);
    CHECK(ex && ex->strides[0] == 0 && ex->storage == a->storage && ml_get_flat(ex, 12 + 6) == 100);

    CHECK(ml_select(a, 0, 3) == NULL);
    CHECK_ERR("select: index 4 is out of range");
    CHECK(ml_narrow(a, 1, 2, 3) == NULL);
    CHECK_ERR("narrow");
    ml_tensor *ov = ml_narrow(a, 1, 1, INT64_MAX); /* start + len must not overflow */
    CHECK(ov == NULL);
    ml_release(ov);
    CHECK(ml_narrow(a, 5, 0, 1) == NULL);
    int bad[2] = {0, 0};
    CHECK(ml_permute(a, bad) == NULL);
    CHECK_ERR("permute");

    ml_release(ex);
    ml_release(col);
    ml_release(row);
    ml_release(t);
    ml_release(a);
}

static void test_copy_into(void) {
    /* strided source (a transpose) into a contiguous destination */
    ml_tensor *a = iota2(2, 3, ML_FLOAT32);
    ml_tensor *at = ml_transpose(a, 0, 1); /* [3,2] */
    int64_t s32[2] = {3, 2};
    ml_tensor *d = ml_zeros(2, s32, ML_FLOAT64);
    CHECK(ml_copy_into(d, at) == 0);
    double w1[6] = {0, 3, 1, 4, 2, 5};
    CHECK(values_are(d, w1, 6));

    /* contiguous source into a strided destination */
    ml_tensor *b = ml_zeros(2, s32, ML_FLOAT32);
    ml_tensor *bt = ml_transpose(b, 0, 1); /* [2,3] view */
    CHECK(ml_copy_into(bt, a) == 0);
    double w2[6] = {0, 3, 1, 4, 2, 5};
    CHECK(values_are(b, w2, 6));

    /* broadcast a row [3] and a column [2,1] into [2,3] */
    int64_t s3[1] = {3}, s21[2] = {2, 1}, s23[2] = {2, 3};
    ml_tensor *r = ml_empty(1, s3, ML_INT64);
    for (int i = 0; i < 3; i++) ml_set_flat(r, i, 10 * (i + 1));
    ml_tensor *c = ml_empty(2, s21, ML_FLOAT32);
    ml_set_flat(c, 0, -1);
    ml_set_flat(c, 1, -2);
    ml_tensor *o = ml_zeros(2, s23, ML_FLOAT32);
    CHECK(ml_copy_into(o, r) == 0);
    double w3[6] = {10, 20, 30, 10, 20, 30};
    CHECK(values_are(o, w3, 6));
    CHECK(ml_copy_into(o, c) == 0);
    double w4[6] = {-1, -1, -1, -2, -2, -2};
    CHECK(values_are(o, w4, 6));

    /* broadcast into a strided destination */
    ml_tensor *o2 = ml_zeros(2, s32, ML_FLOAT32);
    ml_tensor *o2t = ml_transpose(o2, 0, 1); /* [2,3], strides {1,2} */
    CHECK(ml_copy_into(o2t, r) == 0);
    double w5[6] = {10, 10, 20, 20, 30, 30};
    CHECK(values_are(o2, w5, 6));

    /* a 0-d source fills everything */
    ml_tensor *sc = ml_scalar(2.5, ML_FLOAT64);
    CHECK(ml_copy_into(o, sc) == 0);
    double w6[6] = {2.5, 2.5, 2.5, 2.5, 2.5, 2.5};
    CHECK(values_are(o, w6, 6));

    /* conversion to bool and int64 */
    ml_tensor *bo = ml_zeros(2, s23, ML_BOOL);
    ml_tensor *fa = iota2(2, 3, ML_FLOAT64);
    ml_set_flat(fa, 2, -0.5);
    CHECK(ml_copy_into(bo, fa) == 0);
    double w7[6] = {0, 1, 1, 1, 1, 1};
    CHECK(values_are(bo, w7, 6));
    ml_tensor *io = ml_zeros(2, s23, ML_INT64);
    ml_set_flat(fa, 1, 2.9);
    CHECK(ml_copy_into(io, fa) == 0);
    double w8[6] = {0, 2, 0, 3, 4, 5}; /* truncation toward zero */
    CHECK(values_are(io, w8, 6));

    /* incompatible shapes: no broadcast, and never a larger source into a smaller destination */
    int64_t s4[1] = {4};
    ml_tensor *f4 = ml_zeros(1, s4, ML_FLOAT32);
    CHECK(ml_copy_into(o, f4) == -1);
    CHECK_ERR("copy: shapes [2,3] and [4] cannot be broadcast");
    ml_tensor *r3 = ml_zeros(1, s3, ML_FLOAT32);
    CHECK(ml_copy_into(r3, o) == -1);
    CHECK_ERR("copy: cannot copy shape [2,3] into shape [3]");

    /* a zero-size destination is a no-op */
    int64_t s0[2] = {0, 3};
    ml_tensor *z = ml_zeros(2, s0, ML_FLOAT32);
    CHECK(ml_copy_into(z, r) == 0);

    ml_tensor *all[] = {a, at, d, b, bt, r, c, o, o2, o2t, sc, bo, fa, io, f4, r3, z};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ml_release(all[i]);
}

static void test_broadcast_shapes(void) {
    int64_t out[ML_MAX_DIMS];
    int n = -1;
    int64_t a[2] = {3, 1}, b[2] = {1, 4};
    CHECK(ml_broadcast_shapes("add", 2, a, 2, b, &n, out) == 0 && n == 2 && out[0] == 3 && out[1] == 4);
    int64_t c[3] = {5, 1, 4}, d[1] = {3};
    CHECK(ml_broadcast_shapes("add", 3, c, 1, d, &n, out) == -1);
    CHECK_ERR("add: shapes [5,1,4] and [3] cannot be broadcast (dimension 3: 4 vs 3)");
    int64_t e[2] = {2, 3};
    CHECK(ml_broadcast_shapes("mul", 0, NULL, 2, e, &n, out) == 0 && n == 2 && out[0] == 2 && out[1] == 3);
    int64_t z[2] = {0, 3}, one[1] = {1};
    CHECK(ml_broadcast_shapes("sub", 2, z, 1, one, &n, out) == 0 && out[0] == 0 && out[1] == 3);
    int64_t z2[1] = {2};
    CHECK(ml_broadcast_shapes("sub", 2, z, 1, z2, &n, out) == -1);
    CHECK_ERR("sub: shapes [0,3] and [2]");

    /* broadcast strides: size-1 and missing dims read with stride 0 */
    ml_tensor *t = iota2(3, 1, ML_FLOAT32);
    int64_t shp[3] = {2, 3, 4}, st[3];
    ml_broadcast_strides(t, 3, shp, st);
    CHECK(st[0] == 0 && st[1] == 1 && st[2] == 0);
    ml_release(t);
}

static void test_reshape_strides(void) {
    ml_tensor *a = iota2(6, 4, ML_FLOAT32);
    /* contiguous: always a view */
    int64_t s1[3] = {2, 3, 4};
    ml_tensor *r1 = ml_reshape(a, 3, s1);
    CHECK(r1 && r1->storage == a->storage && r1->strides[0] == 12 && r1->strides[1] == 4 && r1->strides[2] == 1);
    int64_t s2[2] = {-1, 8};
    ml_tensor *r2 = ml_reshape(a, 2, s2);
    CHECK(r2 && r2->shape[0] == 3 && r2->shape[1] == 8 && r2->storage == a->storage);

    /* a narrowed view whose leading dims merge: still a view */
    ml_tensor *n = ml_narrow(a, 1, 1, 2); /* [6,2], strides {4,1}, offset 1 */
    int64_t s3[3] = {2, 3, 2};
    ml_tensor *r3 = ml_reshape(n, 3, s3);
    CHECK(r3 && r3->storage == a->storage && r3->offset == 1);
    CHECK(r3 && r3->strides[0] == 12 && r3->strides[1] == 4 && r3->strides[2] == 1);
    CHECK(r3 && ml_get_flat(r3, 11) == 22); /* a[6][3] */
    /* ...but flattening it cannot be a view: view errors, reshape copies */
    int64_t s4[1] = {12};
    CHECK(ml_view_shape(n, 1, s4) == NULL);
    CHECK_ERR("view:");
    ml_tensor *r4 = ml_reshape(n, 1, s4);
    CHECK(r4 && r4->storage != a->storage && ml_is_contiguous(r4));
    double w4[12] = {1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22};
    CHECK(r4 && values_are(r4, w4, 12));

    /* a transpose splits a dimension as a view, but cannot merge as one */
    ml_tensor *t = ml_transpose(a, 0, 1); /* [4,6] strides {1,4} */
    int64_t s5[3] = {4, 2, 3};
    ml_tensor *r5 = ml_reshape(t, 3, s5);
    CHECK(r5 && r5->storage == a->storage && r5->strides[0] == 1 && r5->strides[1] == 12 && r5->strides[2] == 4);
    int64_t s6[1] = {24};
    ml_tensor *r6 = ml_reshape(t, 1, s6);
    CHECK(r6 && r6->storage != a->storage && ml_get_flat(r6, 1) == 4 && ml_get_flat(r6, 6) == 1);

    /* element-count and -1 errors */
    int64_t bad[2] = {5, 5};
    CHECK(ml_reshape(a, 2, bad) == NULL);
    CHECK_ERR("reshape: cannot reshape tensor of shape [6,4] (24 elements) into [5,5]");
    int64_t two[2] = {-1, -1};
    CHECK(ml_reshape(a, 2, two) == NULL);
    CHECK_ERR("only one dimension can be -1");
    int64_t inf0[2] = {0, -1};
    CHECK(ml_reshape(a, 2, inf0) == NULL);

    ml_tensor *all[] = {a, r1, r2, n, r3, r4, t, r5, r6};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ml_release(all[i]);
}

/* 100,000 ops in a row: backward and the release of the graph both walk it
 * with explicit stacks; recursion would overflow the C stack. */
static void test_long_chain(void) {
    int64_t before = ml_bytes_live;
    enum { N = 100000 };
    int64_t s[1] = {4};
    ml_tensor *x = ml_full(1, s, ML_FLOAT32, 1.0);
    x->requires_grad = true;
    ml_tensor *y = ml_retain(x);
    int ok = 1;
    for (int i = 0; i < N && ok; i++) {
        ml_tensor *z = (i & 1) ? ml_binary_scalar(ML_MUL, y, 1.0, false) : ml_binary_scalar(ML_ADD, y, 0.0, false);
        ml_release(y);
        y = z;
        ok = z != NULL;
    }
    CHECK(ok && y->grad_fn != NULL && y->grad_fn->refcount == 1);
    ml_tensor *loss = ok ? ml_sum(y, -1, false) : NULL;
    CHECK(loss && loss->numel == 1);
    if (loss) {
        CHECK(ml_backward(loss, NULL, false) == 0);
        double w[4] = {1, 1, 1, 1};
        CHECK(x->grad && values_are(x->grad, w, 4));
        /* a second backward through the freed graph is an error, not a crash */
        CHECK(ml_backward(loss, NULL, false) == -1);
        CHECK_ERR("backward");
    }
    ml_release(loss);
    ml_release(y); /* frees 100,000 nodes iteratively */
    CHECK(x->refcount == 1);
    ml_release(x);
    CHECK(ml_bytes_live == before);

    /* the same chain released without ever running backward */
    x = ml_full(1, s, ML_FLOAT64, 2.0);
    x->requires_grad = true;
    y = ml_retain(x);
    for (int i = 0; i < N && y; i++) {
        ml_tensor *z = ml_unary(ML_NEG, y);
        ml_release(y);
        y = z;
    }
    CHECK(y && ml_get_flat(y, 0) == 2.0);
    ml_release(y);
    CHECK(x->refcount == 1);
    ml_release(x);
    CHECK(ml_bytes_live == before);
}

/* a backward rule that fails leaves the tape reusable, and grad mode restored */
static void test_backward_errors(void) {
    int64_t s[2] = {2, 3};
    ml_tensor *x = ml_full(2, s, ML_FLOAT32, 1.0);
    CHECK(ml_backward(x, NULL, false) == -1);
    CHECK_ERR("does not require grad");
    x->requires_grad = true;
    ml_tensor *y = ml_binary_scalar(ML_MUL, x, 3.0, false);
    CHECK(ml_backward(y, NULL, false) == -1); /* not a scalar */
    CHECK_ERR("backward: output has shape [2,3]");
    int64_t s2[1] = {6};
    ml_tensor *g = ml_full(1, s2, ML_FLOAT32, 1.0);
    CHECK(ml_backward(y, g, false) == -1);
    CHECK_ERR("backward: gradient has shape [6], expected [2,3]");
    CHECK(ml_grad_enabled());
    ml_tensor *g2 = ml_full(2, s, ML_FLOAT32, 1.0);
    CHECK(ml_backward(y, g2, false) == 0);
    CHECK(x->grad && ml_get_flat(x->grad, 5) == 3.0);
    ml_release(g2);
    ml_release(g);
    ml_release(y);
    ml_release(x);
}

/* internal overlap (expanded views), overlap of two views of one storage,
 * and the layouts an elementwise in-place op may read while it writes */
static void test_overlap(void) {
    int64_t s12[1] = {12}, s34[2] = {3, 4}, s5[1] = {5}, s1[1] = {1};
    ml_tensor *a = ml_zeros(1, s12, ML_FLOAT32);
    ml_tensor *m = ml_reshape(a, 2, s34);
    ml_tensor *t = ml_transpose(m, 0, 1);
    CHECK(!ml_has_internal_overlap(a) && !ml_has_internal_overlap(m) && !ml_has_internal_overlap(t));
    ml_tensor *one = ml_zeros(1, s1, ML_FLOAT32);
    ml_tensor *e = ml_expand(one, 1, s5);
    CHECK(ml_has_internal_overlap(e));
    CHECK(ml_check_writable("add_", e) < 0);
    CHECK_ERR("add_: unsupported operation: more than one element of the written-to tensor refers to a single memory location");
    CHECK(ml_check_writable("add_", t) == 0);
    /* rows of 4 three apart: each row's last element is the next row's first */
    int64_t st31[2] = {3, 1};
    ml_tensor *bad = ml_view(a, 2, s34, st31, 0);
    CHECK(bad && ml_has_internal_overlap(bad));
    ml_tensor *n0 = ml_narrow(a, 0, 0, 6), *n1 = ml_narrow(a, 0, 6, 6), *n2 = ml_narrow(a, 0, 5, 6);
    CHECK(!ml_may_overlap(n0, n1) && ml_may_overlap(n0, n2) && !ml_may_overlap(a, one));
    CHECK(ml_same_layout(m, m) && !ml_same_layout(m, t) && !ml_same_layout(n1, n2));
    ml_tensor *row = ml_select(m, 0, 0);
    CHECK(!ml_same_layout(m, row) && ml_may_overlap(m, row));
    ml_release(row); ml_release(n0); ml_release(n1); ml_release(n2); ml_release(bad);
    ml_release(e); ml_release(one); ml_release(t); ml_release(m); ml_release(a);
}

/* the allocation budget caps live growth: storage past it is refused before
 * allocating, storage freed meanwhile (into the block cache too) makes room
 * again, then the budget is lifted */
static void test_alloc_budget(void) {
    bool exceeded = true;
    CHECK(ml_alloc_budget_set(1024, &exceeded) == -1 && !exceeded);
    int64_t small[1] = {100}, big[1] = {1000};
    ml_tensor *a = ml_zeros(1, small, ML_FLOAT32); /* 400 bytes, a 448-byte block */
    CHECK(a != NULL);
    int64_t before = ml_bytes_allocated_total;
    ml_tensor *b = ml_empty(1, big, ML_FLOAT32); /* 4000 bytes: refused */
    CHECK(b == NULL);
    CHECK_ERR("past the allocation budget");
    CHECK(ml_bytes_allocated_total == before);
    CHECK(ml_alloc_budget_set(-1, &exceeded) == 1024 - 448 && exceeded);
    b = ml_empty(1, big, ML_FLOAT32);
    CHECK(b != NULL);
    ml_release(a);
    ml_release(b);

    /* temporaries freed along the way do not count: 20 x 1 MiB under a 3 MiB cap,
     * each freed (to the block cache) before the next */
    int64_t mib[1] = {1 << 18}; /* 1 MiB of float32 */
    ml_storage_cache_clear(); /* a cached block may be up to twice the size asked for, and counts whole */
    CHECK(ml_alloc_budget_set(3 << 20, &exceeded) == -1);
    for (int i = 0; i < 20; i++) {
        ml_tensor *t = ml_empty(1, mib, ML_FLOAT32);
        CHECK(t != NULL);
        ml_release(t);
    }
    /* what is kept counts: the fourth MiB held at once is refused */
    ml_tensor *keep[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) CHECK((keep[i] = ml_empty(1, mib, ML_FLOAT32)) != NULL);
    keep[3] = ml_empty(1, mib, ML_FLOAT32);
    CHECK(keep[3] == NULL);
    CHECK_ERR("past the allocation budget");
    ml_release(keep[0]); /* freed: room for one more */
    keep[0] = ml_empty(1, mib, ML_FLOAT32);
    CHECK(keep[0] != NULL);
    CHECK(ml_alloc_budget_set(-1, &exceeded) == 0 && exceeded);
    for (int i = 0; i < 3; i++) ml_release(keep[i]);
}

int main(void) {
    test_alloc_budget();
    test_overlap();
    test_storage_refcounts();
    test_storage_cache();
    test_storage_rebind();
    test_creation_errors();
    test_views();
    test_copy_into();
    test_broadcast_shapes();
    test_reshape_strides();
    test_long_chain();
    test_backward_errors();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
