/* ml_grad: gradients of outputs with respect to chosen inputs, returned
 * rather than accumulated into .grad (PyTorch's torch.autograd.grad).
 *
 * The sweep visits only the nodes that lead to an input: the reachable
 * graph in topological order, then, from the leaves up, which nodes have an
 * input below them. With create_graph the rules run with recording on, in
 * their differentiable form (graph_rules.c), so the gradients carry a graph. */
#include <stdlib.h>
#include <string.h>

#include "../ops/ops.h"
#include "graph_rules.h"

static uint64_t grad_stamp = (uint64_t)1 << 62; /* apart from ml_backward's stamps */

typedef struct {
    ml_node **v;
    size_t n, cap;
} nodes;

static int push(nodes *s, ml_node *n) {
    if (s->n == s->cap) {
        size_t c = s->cap ? 2 * s->cap : 64;
        ml_node **v = realloc(s->v, c * sizeof *v);
        if (!v) { ml_error("out of memory"); return -1; }
        s->v = v;
        s->cap = c;
    }
    s->v[s->n++] = n;
    return 0;
}

/* *acc += g, recorded when recording is on */
static int accumulate(ml_tensor **acc, ml_tensor *g) {
    if (!*acc) { *acc = ml_retain(g); return 0; }
    ml_tensor *s = ml_add(*acc, g);
    if (!s) return -1;
    ml_release(*acc);
    *acc = s;
    return 0;
}

static int input_index(int n_in, ml_tensor *const *ins, const ml_tensor *t) {
    for (int j = 0; j < n_in; j++)
        if (ins[j] == t) return j;
    return -1;
}

/* The seed gradient of output i: grad_outputs[i], or ones for one element. */
static ml_tensor *seed(int i, ml_tensor *out, ml_tensor *given) {
    char b1[128], b2[128];
    if (given) {
        if (!ml_same_shape(given, out))
            return ml_error("grad_outputs[%d] has shape %s, expected %s (output %d's)", i + 1,
                            ml_shape_str(b1, sizeof b1, given->ndim, given->shape),
                            ml_shape_str(b2, sizeof b2, out->ndim, out->shape), i + 1);
        return ml_to_dtype(given, out->dtype);
    }
    if (out->numel != 1)
        return ml_error("output %d has shape %s: pass grad_outputs for it (ones are implied only for a scalar)", i + 1,
                        ml_shape_str(b1, sizeof b1, out->ndim, out->shape));
    return ml_full(out->ndim, out->shape, out->dtype, 1.0);
}

/* Topological order of the graph above the outputs (consumers first). */
static int order_graph(int n_out, ml_tensor *const *outs, uint64_t stamp, nodes *topo) {
    nodes stack = {0}, seen = {0};
    int rc = -1;
    for (int i = 0; i < n_out; i++) {
        ml_node *r = outs[i]->grad_fn;
        if (!r || r->stamp == stamp) continue;
        r->stamp = stamp;
        r->pending = 0;
        if (push(&stack, r) < 0) goto done;
    }
    while (stack.n) { /* every reachable node, with the count of edges into it */
        ml_node *n = stack.v[--stack.n];
        if (push(&seen, n) < 0) goto done;
        for (int k = 0; k < n->n_in; k++) {
            ml_node *nx = n->next[k];
            if (!nx) continue;
            if (nx->stamp != stamp) {
                nx->stamp = stamp;
                nx->pending = 0;
                if (push(&stack, nx) < 0) goto done;
            }
            nx->pending++;
        }
    }
    for (size_t i = 0; i < seen.n; i++) /* Kahn: the nodes nothing reachable consumes first */
        if (seen.v[i]->pending == 0 && push(&stack, seen.v[i]) < 0) goto done;
    while (stack.n) {
        ml_node *n = stack.v[--stack.n];
        if (push(topo, n) < 0) goto done;
        for (int k = 0; k < n->n_in; k++)
            if (n->next[k] && --n->next[k]->pending == 0 && push(&stack, n->next[k]) < 0) goto done;
    }
    rc = 0;
done:
    free(stack.v);
    free(seen.v);
    return rc;
}

int ml_grad(int n_out, ml_tensor *const *outs, ml_tensor *const *gouts, int n_in, ml_tensor *const *ins,
            const ml_grad_opts *o, ml_tensor **res) {
    for (int j = 0; j < n_in; j++) {
        res[j] = NULL;
        if (!ins[j]->requires_grad) {
            ml_error("input %d does not require grad (call requires_grad() on it, or leave it out)", j + 1);
            return -1;
        }
    }
    for (int i = 0; i < n_out; i++)
        if (!outs[i]->requires_grad) {
            ml_error("output %d does not require grad: it was not computed from any tensor that does", i + 1);
            return -1;
        }
    uint64_t stamp = ++grad_stamp;
    nodes topo = {0};
    uint8_t *flag = NULL; /* per topo position: 1 leads to an input, 2 is run */
    bool was = ml_grad_enabled();
    int rc = -1;
    if (order_graph(n_out, outs, stamp, &topo) < 0) goto done;
    if (!(flag = calloc(topo.n + 1, 1))) { ml_error("out of memory"); goto done; }
    for (size_t i = 0; i < topo.n; i++) topo.v[i]->pending = (int64_t)i; /* its position, for its consumers */
    for (size_t i = topo.n; i-- > 0;) { /* from the leaves up: does an input lie below? */
        ml_node *n = topo.v[i];
        for (int k = 0; k < n->n_in; k++)
            if ((n->next[k] && flag[n->next[k]->pending]) || (n->leaf[k] && input_index(n_in, ins, n->leaf[k]) >= 0))
                flag[i] = 2;
        for (int j = 0; j < n_in && !flag[i]; j++)
            if (ins[j]->grad_fn == n) flag[i] = 1;
    }
    for (int i = 0; i < n_out; i++) { /* the seeds */
        ml_tensor *g0 = seed(i, outs[i], gouts ? gouts[i] : NULL);
        if (!g0) goto done;
        int j = input_index(n_in, ins, outs[i]), e = 0;
        if (j >= 0) e = accumulate(&res[j], g0);
        if (e == 0 && outs[i]->grad_fn) e = accumulate(&outs[i]->grad_fn->gacc, g0);
        ml_release(g0);
        if (e < 0) goto done;
    }
    ml_set_grad_enabled(o->create_graph);
    for (size_t i = 0; i < topo.n; i++) {
        ml_node *n = topo.v[i];
        ml_tensor *gout = n->gacc;
        n->gacc = NULL;
        if (!gout) continue;
        for (int j = 0; j < n_in; j++) /* a non-leaf input: what reached its node */
            if (ins[j]->grad_fn == n && accumulate(&res[j], gout) < 0) { ml_release(gout); goto done; }
        if (flag[i] != 2) { ml_release(gout); continue; }
        if (n->freed) {
            ml_release(gout);
            ml_error("the graph through %s was freed by an earlier backward; pass retain_graph = true to the first one",
                     n->name);
            goto done;
        }
        ml_backward_fn rule = o->create_graph ? ml_graph_rule(n) : n->backward;
        if (!rule) { ml_release(gout); goto done; }
        /* only the edges toward an input: the others are not computed */
        bool needs[ML_NODE_MAX_IN];
        memcpy(needs, n->needs, sizeof needs);
        for (int k = 0; k < n->n_in; k++)
            n->needs[k] = needs[k] && ((n->next[k] && flag[n->next[k]->pending]) ||
                                       (n->leaf[k] && input_index(n_in, ins, n->leaf[k]) >= 0));
        ml_tensor *gin[ML_NODE_MAX_IN] = {0};
        int r = rule(n, gout, gin);
        memcpy(n->needs, needs, sizeof needs);
        ml_release(gout);
        for (int k = 0; k < n->n_in; k++) {
            if (r == 0 && gin[k]) {
                if (n->next[k]) r = accumulate(&n->next[k]->gacc, gin[k]);
                else if (n->leaf[k]) {
                    int j = input_index(n_in, ins, n->leaf[k]);
                    if (j >= 0) r = accumulate(&res[j], gin[k]);
                }
            }
            ml_release(gin[k]);
        }
        if (r < 0) goto done;
        if (!o->retain_graph) ml_node_free_saved(n);
    }
    for (int j = 0; j < n_in; j++)
        if (!res[j] && !o->allow_unused) {
            ml_error("input %d is not connected to the outputs (pass allow_unused = true to get nil for it)", j + 1);
            goto done;
        }
    rc = 0;
done:
    ml_set_grad_enabled(was);
    for (size_t i = 0; i < topo.n; i++) { ml_release(topo.v[i]->gacc); topo.v[i]->gacc = NULL; }
    if (rc < 0)
        for (int j = 0; j < n_in; j++) { ml_release(res[j]); res[j] = NULL; }
    free(topo.v);
    free(flag);
    return rc;
}
