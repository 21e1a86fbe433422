/* The tape: recording nodes, the backward sweep, gradient accumulation. */
#include "autograd.h"

#include <stdlib.h>
#include <string.h>

#include "../ops/ops.h"
#include "../tensor/pool.h"

static _Thread_local bool grad_disabled = false;

bool ml_grad_enabled(void) { return !grad_disabled; }
void ml_set_grad_enabled(bool on) { grad_disabled = !on; }

bool ml_needs_record(int n, ml_tensor *const *in) {
    if (grad_disabled) return false;
    for (int i = 0; i < n; i++)
        if (in[i] && in[i]->requires_grad) return true;
    return false;
}

ml_node *ml_record(const char *name, ml_backward_fn fn, ml_tensor *out, int n, ml_tensor *const *in) {
    if (!ml_dtype_is_float(out->dtype)) return ml_error("%s: cannot record an integer output for autograd", name);
    ml_node *node = ml_pool_alloc(sizeof *node);
    if (!node) return ml_error("out of memory");
    memset(node, 0, sizeof *node);
    ml_small_bytes_made += ml_pool_class_size(sizeof *node);
    node->name = name;
    node->backward = fn;
    node->refcount = 1;
    node->n_in = n;
    for (int i = 0; i < n; i++) {
        ml_tensor *t = in[i];
        if (!t) continue;
        node->in_ndim[i] = t->ndim;
        memcpy(node->in_shape[i], t->shape, sizeof(int64_t) * t->ndim);
        node->in_dtype[i] = t->dtype;
        if (!t->requires_grad) continue;
        node->needs[i] = true;
        if (t->grad_fn) {
            node->next[i] = t->grad_fn;
            t->grad_fn->refcount++;
        } else {
            node->leaf[i] = ml_retain(t);
        }
    }
    node->out_ndim = out->ndim;
    memcpy(node->out_shape, out->shape, sizeof(int64_t) * out->ndim);
    ml_node_release(out->grad_fn);
    out->grad_fn = node;
    out->requires_grad = true;
    return node;
}

void ml_save(ml_node *n, int k, ml_tensor *t) {
    ml_release(n->saved[k]);
    n->saved[k] = ml_retain(t);
    n->saved_version[k] = t ? ml_storage_root(t->storage)->version : 0;
}

int ml_save_output(ml_node *n, int k, ml_tensor *out) {
    ml_tensor *a = ml_alias(out);
    if (!a) return -1;
    ml_save(n, k, a);
    ml_release(a);
    return 0;
}

ml_tensor *ml_saved(ml_node *n, int k) {
    if (n->freed)
        return ml_error("backward: the graph through %s was freed by an earlier backward(); "
                        "call backward{retain_graph=true} the first time to run it twice",
                        n->name);
    ml_tensor *t = n->saved[k];
    if (t && ml_storage_root(t->storage)->version != n->saved_version[k])
        return ml_error("backward: a tensor saved by %s was modified in place after it was used; "
                        "use an out-of-place op (or clone()) instead",
                        n->name);
    return t;
}

static void free_saved(ml_node *n) {
    for (int k = 0; k < ML_NODE_MAX_SAVED; k++) {
        ml_release(n->saved[k]);
        n->saved[k] = NULL;
    }
}

void ml_node_free_saved(ml_node *n) {
    free_saved(n);
    n->freed = true;
}

/* Iterative release: a long chain of nodes must not recurse once per node. */
void ml_node_release(ml_node *n) {
    if (!n || --n->refcount > 0) return;
    /* on the C stack until a graph is wider than that: a small graph's
     * release allocates nothing */
    ml_node *local[32], **stack = local;
    size_t cap = 32, top = 0;
    ml_node *cur = n;
    for (;;) {
        /* saved tensors first: a saved input holds its grad_fn, which is
         * also next[k]; dropped here it leaves next[k] to this loop instead
         * of a recursive release per node of a long chain */
        free_saved(cur);
        ml_release(cur->gacc);
        for (int i = 0; i < cur->n_in; i++) {
            ml_release(cur->leaf[i]);
            ml_node *nx = cur->next[i];
            if (nx && --nx->refcount == 0) {
                if (top == cap) {
                    ml_node **s2 = stack == local ? malloc(2 * cap * sizeof *stack)
                                                  : realloc(stack, 2 * cap * sizeof *stack);
                    if (!s2) continue; /* leaks that subgraph rather than crash */
                    if (stack == local) memcpy(s2, local, sizeof local);
                    stack = s2;
                    cap *= 2;
                }
                stack[top++] = nx;
            }
        }
        ml_pool_free(cur, sizeof *cur);
        if (top == 0) break;
        cur = stack[--top];
    }
    if (stack != local) free(stack);
}

/* ---- gradient helpers ------------------------------------------------ */
/* A bias gradient: contiguous float g [m, n] summed over its rows to [n]
 * (or [1, n]), each column in double, rows in order, as reduce.c's rowsum
 * adds them (the same bits), in column blocks with the accumulators on the
 * stack instead of its malloc'd row. */
#define COLSUM_BLOCK 256
#define DEF_COLSUM(T)                                                                                         \
    __attribute__((target_clones("avx512f", "avx2", "default")))                                             \
    static void colsum_##T(T *o, const T *x, int64_t m, int64_t n) { /* o (n), x (m, n) */                 \
        for (int64_t j0 = 0; j0 < n; j0 += COLSUM_BLOCK) {                                                   \
            int64_t w = n - j0 < COLSUM_BLOCK ? n - j0 : COLSUM_BLOCK;                                       \
            double acc[COLSUM_BLOCK] = {0};                                                                  \
            for (int64_t i = 0; i < m; i++)                                                                  \
                for (int64_t j = 0; j < w; j++) acc[j] += x[i * n + j0 + j];                                 \
            for (int64_t j = 0; j < w; j++) o[j0 + j] = (T)acc[j];                                           \
        }                                                                                                    \
    }
DEF_COLSUM(float)
DEF_COLSUM(double)

static bool is_row_sum(const ml_tensor *g, int ndim, const int64_t *shape) {
    if (g->ndim != 2 || !(g->dtype == ML_FLOAT32 || g->dtype == ML_FLOAT64) || !ml_is_contiguous(g)) return false;
    int64_t n = g->shape[1]; /* n = 1 is one contiguous sum, reduce.c's lanes (another order) */
    return g->shape[0] > 1 && n > 1 && ((ndim == 1 && shape[0] == n) || (ndim == 2 && shape[0] == 1 && shape[1] == n));
}

ml_tensor *ml_sum_to_shape(ml_tensor *g, int ndim, const int64_t *shape) {
    if (g->ndim == ndim && memcmp(g->shape, shape, sizeof(int64_t) * ndim) == 0) return ml_retain(g);
    /* a gradient with a graph (create_graph): sums that record */
    ml_tensor *(*sum_dim)(ml_tensor *, int, bool) = ml_needs_record(1, &g) ? ml_sum : ml_sum_dim;
    if (sum_dim == ml_sum_dim && is_row_sum(g, ndim, shape)) {
        ml_tensor *o = ml_empty(ndim, shape, g->dtype);
        if (!o) return NULL;
        if (g->dtype == ML_FLOAT32) colsum_float(ml_data(o), ml_data(g), g->shape[0], g->shape[1]);
        else colsum_double(ml_data(o), ml_data(g), g->shape[0], g->shape[1]);
        return o;
    }
    ml_tensor *cur = ml_retain(g);
    /* leading extra dims */
    while (cur->ndim > ndim) {
        ml_tensor *s = sum_dim(cur, 0, false);
        ml_release(cur);
        if (!s) return NULL;
        cur = s;
    }
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1 && cur->shape[d] != 1) {
            ml_tensor *s = sum_dim(cur, d, true);
            ml_release(cur);
            if (!s) return NULL;
            cur = s;
        }
    }
    return cur;
}

/* Accumulates g into t->grad (allocating on first use). */
static int accumulate_grad(ml_tensor *t, ml_tensor *g) {
    if (!t->grad) {
        ml_tensor *c = ml_to_dtype(g, t->dtype);
        if (!c) return -1;
        /* never alias a gradient another tensor may hold */
        if (c == g || !ml_is_contiguous(c)) {
            ml_tensor *cl = ml_clone(c);
            ml_release(c);
            if (!cl) return -1;
            c = cl;
        }
        t->grad = c;
        return 0;
    }
    return ml_add_inplace(t->grad, g, 1.0);
}

static int accumulate_into(ml_tensor **acc, ml_tensor *g) {
    if (!*acc) {
        *acc = ml_retain(g);
        return 0;
    }
    ml_tensor *a = *acc;
    if (a->refcount == 1 && a->storage->refcount == 1 && !a->storage->base && !a->storage->dependents &&
        !a->requires_grad && ml_same_shape(a, g) && a->dtype == g->dtype && ml_is_contiguous(a))
        /* a sum this sweep made and nothing else holds (nor its data): add
         * in place, the same additions as a new a + g, without a buffer */
        return ml_binary_inplace(ML_ADD, a, g);
    ml_tensor *s = ml_add((*acc), g);
    if (!s) return -1;
    ml_release(*acc);
    *acc = s;
    return 0;
}

/* ---- the sweep ------------------------------------------------------- */
static uint64_t stamp_counter = 0;

/* A growable list of nodes that starts in a caller's array on the C stack,
 * so a small graph's backward allocates no bookkeeping. */
typedef struct {
    ml_node **v;
    size_t n, cap;
    ml_node **local; /* the initial array (not freed) */
} node_vec;

#define NODE_VEC(name, arr) node_vec name = {arr, 0, sizeof arr / sizeof arr[0], arr}

static int vec_push(node_vec *s, ml_node *n) {
    if (s->n == s->cap) {
        size_t c = 2 * s->cap;
        ml_node **v = s->v == s->local ? malloc(c * sizeof *v) : realloc(s->v, c * sizeof *v);
        if (!v) { ml_error("backward: out of memory"); return -1; }
        if (s->v == s->local) memcpy(v, s->local, s->n * sizeof *v);
        s->v = v;
        s->cap = c;
    }
    s->v[s->n++] = n;
    return 0;
}

static void vec_free(node_vec *s) {
    if (s->v != s->local) free(s->v);
}

int ml_backward(ml_tensor *root, ml_tensor *grad, bool retain) {
    if (!root->requires_grad) {
        ml_error("backward: tensor does not require grad (did you call requires_grad() on an input?)");
        return -1;
    }
    ml_tensor *g0;
    if (grad) {
        if (!ml_same_shape(grad, root)) {
            char b1[128], b2[128];
            ml_error("backward: gradient has shape %s, expected %s", ml_shape_str(b1, sizeof b1, grad->ndim, grad->shape),
                     ml_shape_str(b2, sizeof b2, root->ndim, root->shape));
            return -1;
        }
        g0 = ml_to_dtype(grad, root->dtype);
    } else {
        if (root->numel != 1) {
            char b[128];
            ml_error("backward: output has shape %s; pass a gradient tensor of that shape or reduce it to a scalar first",
                     ml_shape_str(b, sizeof b, root->ndim, root->shape));
            return -1;
        }
        g0 = ml_full(root->ndim, root->shape, root->dtype, 1.0);
    }
    if (!g0) return -1;
    if (!root->grad_fn) { /* a leaf */
        int r = accumulate_grad(root, g0);
        ml_release(g0);
        return r;
    }
    if (root->grad_fn->freed) {
        ml_release(g0);
        ml_saved(root->grad_fn, 0); /* sets the message */
        return -1;
    }
    bool was = ml_grad_enabled();
    ml_set_grad_enabled(false);
    int rc = -1;
    uint64_t stamp = ++stamp_counter;
    ml_node *stack_a[32], *order_a[64], *ready_a[32];
    NODE_VEC(stack, stack_a);
    NODE_VEC(order, order_a);
    NODE_VEC(ready, ready_a);

    /* 1. find reachable nodes and count the edges into each */
    ml_node *r0 = root->grad_fn;
    r0->stamp = stamp;
    r0->pending = 0;
    if (vec_push(&stack, r0) < 0) goto done;
    while (stack.n) {
        ml_node *n = stack.v[--stack.n];
        if (vec_push(&order, n) < 0) goto done;
        for (int i = 0; i < n->n_in; i++) {
            ml_node *nx = n->next[i];
            if (!nx) continue;
            if (nx->stamp != stamp) {
                nx->stamp = stamp;
                nx->pending = 0;
                if (vec_push(&stack, nx) < 0) goto done;
            }
            nx->pending++;
        }
    }
    /* 2. run nodes whose consumers are all done */
    r0->gacc = g0;
    g0 = NULL;
    if (vec_push(&ready, r0) < 0) goto done;
    while (ready.n) {
        ml_node *n = ready.v[--ready.n];
        ml_tensor *gout = n->gacc;
        n->gacc = NULL;
        ml_tensor *gin[ML_NODE_MAX_IN] = {0};
        if (n->freed) {
            ml_release(gout);
            ml_saved(n, 0);
            goto done;
        }
        int r = n->backward(n, gout, gin);
        ml_release(gout);
        if (r < 0) {
            for (int i = 0; i < n->n_in; i++) ml_release(gin[i]);
            goto done;
        }
        for (int i = 0; i < n->n_in; i++) {
            if (!gin[i]) continue;
            int e = 0;
            if (n->next[i]) {
                e = accumulate_into(&n->next[i]->gacc, gin[i]);
                if (e == 0 && --n->next[i]->pending == 0) e = vec_push(&ready, n->next[i]);
            } else if (n->leaf[i]) {
                e = accumulate_grad(n->leaf[i], gin[i]);
            }
            ml_release(gin[i]);
            if (e < 0) {
                for (int j = i + 1; j < n->n_in; j++) ml_release(gin[j]);
                goto done;
            }
        }
        if (!retain) {
            free_saved(n);
            n->freed = true;
        }
    }
    rc = 0;
done:
    if (rc < 0) /* drop partial accumulations so a retry starts clean */
        for (size_t i = 0; i < order.n; i++) { ml_release(order.v[i]->gacc); order.v[i]->gacc = NULL; }
    ml_release(g0);
    vec_free(&stack);
    vec_free(&order);
    vec_free(&ready);
    ml_set_grad_enabled(was);
    return rc;
}
