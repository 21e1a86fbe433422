/* The tape: define-by-run reverse mode.
 *
 * Each differentiable op that sees an input requiring grad (while grad mode
 * is on) records an ml_node on its output. A node holds edges to the nodes
 * of its inputs (or, for leaves, to the leaf tensor, whose .grad it fills),
 * what its backward rule saved, and the op's own arguments in a typed
 * context (ml_node_ctx: one struct per kind of op). It never
 * holds its own output: saved outputs are separate headers over the same
 * storage, so no refcount cycle forms. */
#ifndef ML_AUTOGRAD_H
#define ML_AUTOGRAD_H

#include "../tensor/tensor.h"

#define ML_NODE_MAX_IN 3
#define ML_NODE_MAX_SAVED 5 /* attention saves q, k, v, its mask and the row log-sum-exp */

typedef struct ml_node ml_node;

/* What a backward rule needs besides tensors: one member per kind of op,
 * written by the forward that records the node and read by its rule. */
typedef union {
    struct { int op; double lo, hi; } unary;            /* unary.c: the op; clamp's bounds, or leaky_relu's slope in lo */
    struct { int op; bool reversed; double s; } binary; /* elementwise.c: the op; scalar forms: s, and whether s came first */
    struct { int dim; bool keepdim; double scale; } reduce; /* reduce.c: dim < 0 is all; g * scale (1 sum, 1/n mean) */
    struct { double p; } root;                          /* reduce.c: y = s^(1/p) */
    struct { int dim; } along;                          /* cumsum, sort, index_select, gather, scatter_add */
    struct { int dim; bool log; } softmax;              /* softmax.c: softmax or log_softmax along dim */
    struct { int dim; int64_t start, len; } slice;      /* narrow; select has len < 0 and start the index */
    struct { int perm[ML_MAX_DIMS]; } permute;          /* output dim i is input dim perm[i] */
    struct { int dim; int64_t start[ML_NODE_MAX_IN], len[ML_NODE_MAX_IN]; } cat; /* input k's span of the output */
    struct { double beta, alpha; } addmm;               /* beta * bias + alpha * (a @ b) */
    struct { int64_t D; bool has_weight; double eps; } layer_norm; /* normalized size; whether an affine weight was given; eps */
    struct { int stride[2], pad[2], dil[2], groups; bool reflect; } conv; /* conv.c: leading pads (top, left) */
    struct { int kernel[2], stride[2], pad[2], dil[2]; bool ceil_mode, count_include_pad; int kind; } pool; /* pool.c */
    struct { int reduction; int64_t C, inner, ignore_index; bool weighted; double denom; } loss; /* loss.c */
    struct { double scale, p; uint64_t seed; bool causal; } attention; /* attention.c: dropout p and its seed */
    struct { int mode; bool reverse, has_lengths; } rnn;  /* rnn.c: ml_rnn_mode, direction, lengths saved after the gates */
} ml_node_ctx;
/* Computes gin[k] (new references) for every input k with n->needs[k];
 * leaves the others NULL. Returns 0, or -1 with ml_error set. */
typedef int (*ml_backward_fn)(ml_node *n, ml_tensor *gout, ml_tensor **gin);

struct ml_node {
    const char *name;
    ml_backward_fn backward;
    int64_t refcount;
    int n_in;
    ml_node *next[ML_NODE_MAX_IN];   /* grad_fn of input k, owned, or NULL */
    ml_tensor *leaf[ML_NODE_MAX_IN]; /* input k when it is a leaf requiring grad, owned */
    bool needs[ML_NODE_MAX_IN];
    /* shape and dtype of each input, for reducing broadcast gradients */
    int in_ndim[ML_NODE_MAX_IN];
    int64_t in_shape[ML_NODE_MAX_IN][ML_MAX_DIMS];
    ml_dtype in_dtype[ML_NODE_MAX_IN];
    /* output geometry */
    int out_ndim;
    int64_t out_shape[ML_MAX_DIMS];
    ml_tensor *saved[ML_NODE_MAX_SAVED];
    uint64_t saved_version[ML_NODE_MAX_SAVED];
    ml_node_ctx ctx;
    bool freed; /* saved tensors released by a backward without retain_graph */
    /* backward bookkeeping */
    uint64_t stamp;
    int64_t pending;
    ml_tensor *gacc;
};

/* Grad mode (thread-local): ops record nodes only when it is on. */
bool ml_grad_enabled(void);
void ml_set_grad_enabled(bool on);

/* True when any of the inputs requires grad and grad mode is on. */
bool ml_needs_record(int n, ml_tensor *const *inputs);

/* Creates a node for output `out` of inputs in[0..n) and attaches it as
 * out->grad_fn (out->requires_grad = true). Returns the node (borrowed,
 * owned by out) so the caller can save tensors and fill n->ctx, or NULL
 * with ml_error set. */
ml_node *ml_record(const char *name, ml_backward_fn fn, ml_tensor *out, int n, ml_tensor *const *in);
/* Saves t (retained) in slot k, remembering its storage version. */
void ml_save(ml_node *n, int k, ml_tensor *t);
/* Saves a new header over out's storage (so the node does not own its output). */
int ml_save_output(ml_node *n, int k, ml_tensor *out);
/* Returns saved tensor k, or NULL with an error when it was freed or modified in place. */
ml_tensor *ml_saved(ml_node *n, int k);

void ml_node_release(ml_node *n);

/* Runs backward from `root` with gradient `grad` (NULL: ones, only for a
 * single-element root). retain: keep saved tensors for another backward. */
int ml_backward(ml_tensor *root, ml_tensor *grad, bool retain);

/* Releases n's saved tensors and marks it freed (a backward without retain_graph). */
void ml_node_free_saved(ml_node *n);

typedef struct {
    bool create_graph; /* record the sweep, so the gradients can be differentiated again */
    bool retain_graph; /* keep saved tensors for another pass */
    bool allow_unused; /* an input the outputs do not depend on gets NULL instead of an error */
} ml_grad_opts;

/* Gradients of outs[0..n_out) (seeded with gouts[i], or ones for a
 * one-element output when gouts or gouts[i] is NULL) with respect to
 * ins[0..n_in), into res[j] (new references); .grad fields are untouched
 * (grad.c). Returns 0, or -1 with ml_error set and every res[j] NULL. */
int ml_grad(int n_out, ml_tensor *const *outs, ml_tensor *const *gouts, int n_in, ml_tensor *const *ins,
            const ml_grad_opts *o, ml_tensor **res);

/* Reduces a broadcast gradient g to shape (ndim, shape) by summing. New reference. */
ml_tensor *ml_sum_to_shape(ml_tensor *g, int ndim, const int64_t *shape);

#endif
