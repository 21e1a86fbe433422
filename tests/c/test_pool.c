/* The small-block free lists (runtime/tensor/pool.c): a freed block comes
 * back for the next request of its class, lists are bounded per class,
 * pooled bytes are counted and drained, blocks may be freed on another
 * thread, and tensors and nodes made from the pools keep exact live-byte
 * accounting. Prints "N passed, M failed" last; exits 1 on a failure. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/autograd/autograd.h"
#include "../../runtime/ops/ops.h"
#include "../../runtime/tensor/pool.h"
#include "../../runtime/tensor/tensor.h"

#include "check.h"

static void test_reuse_and_classes(void) {
    ml_pool_drain();
    CHECK(ml_pool_bytes() == 0);
    CHECK(ml_pool_class_size(1) == 64 && ml_pool_class_size(64) == 64 && ml_pool_class_size(65) == 128);
    CHECK(ml_pool_class_size(ML_POOL_MAX) == ML_POOL_MAX && ml_pool_class_size(ML_POOL_MAX + 1) == ML_POOL_MAX + 1);
    char *a = ml_pool_alloc(100);
    CHECK(a != NULL);
    memset(a, 7, 128); /* the whole class block is usable */
    ml_pool_free(a, 100);
    CHECK(ml_pool_bytes() == 128);
    CHECK(ml_pool_alloc(128) == a); /* the same class: the block comes back */
    CHECK(ml_pool_bytes() == 0);
    ml_pool_free(a, 128);
    void *c = ml_pool_alloc(64); /* another class: not that block */
    CHECK(c != a);
    ml_pool_free(c, 64);
    void *big = ml_pool_alloc(ML_POOL_MAX + 1); /* not pooled */
    CHECK(big != NULL);
    ml_pool_free(big, ML_POOL_MAX + 1);
    CHECK(ml_pool_bytes() == 128 + 64);
    ml_pool_free(NULL, 64);
    ml_pool_drain();
    CHECK(ml_pool_bytes() == 0);
}

static void test_bounds(void) {
    ml_pool_drain();
    /* free more 4 KiB blocks than a class keeps: the rest go back to malloc */
    enum { N = (int)(ML_POOL_CLASS_BYTES / ML_POOL_MAX) + 16 };
    static void *blocks[N];
    for (int i = 0; i < N; i++) blocks[i] = ml_pool_alloc(ML_POOL_MAX);
    for (int i = 0; i < N; i++) ml_pool_free(blocks[i], ML_POOL_MAX);
    CHECK(ml_pool_bytes() <= ML_POOL_CLASS_BYTES);
    CHECK(ml_pool_bytes() >= ML_POOL_CLASS_BYTES - ML_POOL_MAX);
    ml_pool_drain();
    CHECK(ml_pool_bytes() == 0);
}

static void *alloc_blocks(void *out) {
    void **v = out;
    for (int i = 0; i < 64; i++) v[i] = ml_pool_alloc(256);
    return NULL;
}

static void *free_blocks(void *in) {
    void **v = in;
    for (int i = 0; i < 64; i++) ml_pool_free(v[i], 256);
    return NULL; /* the thread's lists are freed when it exits */
}

/* blocks made on one thread, freed on others (the data loader's batches) */
static void test_threads(void) {
    ml_pool_drain();
    void *v[64];
    pthread_t th;
    CHECK(pthread_create(&th, NULL, alloc_blocks, v) == 0);
    pthread_join(th, NULL);
    free_blocks(v); /* into this thread's lists */
    CHECK(ml_pool_bytes() == 64 * 256);
    for (int i = 0; i < 64; i++) v[i] = ml_pool_alloc(256);
    CHECK(ml_pool_bytes() == 0);
    CHECK(pthread_create(&th, NULL, free_blocks, v) == 0); /* into that thread's, drained at its exit */
    pthread_join(th, NULL);
    CHECK(ml_pool_bytes() == 0);
}

/* tensors, views and autograd nodes from the pools: live bytes exact */
static void test_tensors(void) {
    int64_t before = ml_bytes_live, made = ml_small_bytes_made;
    int64_t s[1] = {10};
    for (int round = 0; round < 3; round++) {
        ml_tensor *a = ml_full(1, s, ML_FLOAT32, 1.5), *b = ml_full(1, s, ML_FLOAT32, 2.0);
        a->requires_grad = true;
        ml_tensor *c = ml_add(a, b);
        ml_tensor *v = c ? ml_reshape(c, 1, s) : NULL;
        CHECK(c && v && c->grad_fn && ml_get_flat(v, 9) == 3.5);
        ml_tensor *l = v ? ml_sum(v, -1, false) : NULL;
        CHECK(l && ml_backward(l, NULL, false) == 0 && a->grad && ml_get_flat(a->grad, 3) == 1.0);
        ml_release(l);
        ml_release(v);
        ml_release(c);
        ml_release(a);
        ml_release(b);
        CHECK(ml_bytes_live == before);
    }
    CHECK(ml_small_bytes_made > made); /* headers, storages and nodes are reported to the collector */
    CHECK(ml_pool_bytes() > 0);
    ml_storage_cache_clear(); /* drains this thread's lists too */
    CHECK(ml_pool_bytes() == 0);
}

int main(void) {
    test_reuse_and_classes();
    test_bounds();
    test_threads();
    test_tensors();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
