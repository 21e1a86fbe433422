/* The small-block free lists (see pool.h). */
#include "pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define NCLASS ML_POOL_NCLASS
typedef ml_pool_block block;

_Thread_local ml_pool_lists ml_pool_tls;

static pthread_key_t exit_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void drain_at_exit(void *unused) { ml_pool_drain(); }
static void drain_main(void) { ml_pool_drain(); }

static void init_once(void) {
    pthread_key_create(&exit_key, drain_at_exit);
    atexit(drain_main); /* the thread that calls exit (threads' destructors do not run then) */
}

/* The first block a thread pools makes it known to the exit destructor. */
static void register_thread(void) {
    pthread_once(&once, init_once);
    pthread_setspecific(exit_key, (void *)1);
    ml_pool_tls.registered = true;
}

void *ml_pool_alloc_full(size_t size) {
    if (size > ML_POOL_MAX) return malloc(size);
    size_t k = (size + 63) >> 6;
    if (k == 0) k = 1;
    block *b = ml_pool_tls.head[k];
    if (!b) return malloc(k << 6);
    UNPOISON(b, k << 6);
    ml_pool_tls.head[k] = b->next;
    ml_pool_tls.bytes[k] -= k << 6;
    ml_pool_tls.total -= k << 6;
    return b;
}

void ml_pool_free_full(void *p, size_t size) {
    if (!p) return;
    size_t k = (size + 63) >> 6;
    if (k == 0) k = 1;
    if (size > ML_POOL_MAX || ml_pool_tls.bytes[k] + (k << 6) > ML_POOL_CLASS_BYTES ||
        ml_pool_tls.total + (k << 6) > ML_POOL_THREAD_BYTES) {
        free(p);
        return;
    }
    if (!ml_pool_tls.registered) register_thread();
    block *b = p;
    b->next = ml_pool_tls.head[k];
    ml_pool_tls.head[k] = b;
    ml_pool_tls.bytes[k] += k << 6;
    ml_pool_tls.total += k << 6;
    POISON(b, k << 6);
}

void ml_pool_drain(void) {
    for (size_t k = 1; k < NCLASS; k++) {
        block *b = ml_pool_tls.head[k];
        while (b) {
            UNPOISON(b, k << 6);
            block *next = b->next;
            free(b);
            b = next;
        }
        ml_pool_tls.head[k] = NULL;
        ml_pool_tls.bytes[k] = 0;
    }
    ml_pool_tls.total = 0;
}

size_t ml_pool_bytes(void) { return ml_pool_tls.total; }
