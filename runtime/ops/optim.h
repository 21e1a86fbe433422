/* Optimizer updates, fused and in place, over flattened parameters.
 *
 * Flattening (llm.c's malloc_and_point_parameters): ml_flat_new copies n
 * parameters of one float dtype into one contiguous block and points each
 * into it (the same ml_tensor objects, so the Lua objects and the autograd
 * graph see them unchanged). A parameter that is exactly its storage's
 * bytes (offset 0, contiguous: the usual case) has the storage itself
 * rebound into the block (ml_storage_rebind), so every other holder of
 * that storage (views made earlier, a data loader) reads the block too;
 * any other parameter (a view into a larger tensor, strided, or sharing
 * its storage with an earlier parameter) gets its header rebound to a view
 * of the block, and earlier views of it keep the old memory. Gradients get
 * views into a second block of the same layout: once a parameter's grad is
 * such a view, backward accumulates into it in place, zero_grad is one
 * memset and a step is one loop over the flat arrays.
 *
 *   params:  [ p1 (k1) | p2 (k2) | ... | pn (kn) ]   one block, numel = sum k
 *   grads:   [ g1      | g2      | ... | gn      ]   same offsets
 *   state:   [ m, v ... of the same layout ]         made on first use, owned by the group
 *
 * What can happen to a parameter after flattening, and what ml_flat_sync
 * (run at the start of every step) does about it:
 *  - its grad is still our view: used in place (the fast path);
 *  - its grad is NULL (never written, or dropped with zero_grad/set_to_none):
 *    the parameter is skipped this step, as PyTorch skips grad None;
 *  - its grad is another tensor (assigned by the user, or allocated by
 *    backward after the grad was dropped): copied into the block, and the
 *    parameter's grad is pointed back at our view;
 *  - it was moved into another block (a second optimizer flattened it):
 *    its current values are copied back into this block and it is rebound
 *    here (so two optimizers over one parameter stay correct, just slower).
 * The flat group holds a reference to every parameter and grad view, so a
 * parameter the user dropped or replaced stays valid.
 *
 * Nothing here knows about Lua; functions return 0 / a pointer, or -1 / NULL
 * with ml_error set. */
#ifndef ML_OPTIM_H
#define ML_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "../tensor/tensor.h"

typedef enum { ML_OPTIM_SGD, ML_OPTIM_ADAM, ML_OPTIM_RMSPROP, ML_OPTIM_ADAGRAD, ML_OPTIM_NKINDS } ml_optim_kind;
#define ML_OPTIM_MAX_STATE 3

typedef struct ml_flat {
    ml_optim_kind kind;
    ml_dtype dtype;
    int n;               /* parameters */
    int64_t numel;       /* elements in all of them */
    ml_tensor **params;  /* (n) the rebound parameters, retained */
    ml_tensor **gviews;  /* (n) views into grad, retained */
    int64_t *offsets;    /* (n + 1) element offset of each parameter; offsets[n] == numel */
    int64_t *steps;      /* (n) per-parameter step counts (see ml_flat_step) */
    uint8_t *has_grad;   /* (n) set by ml_flat_sync */
    ml_tensor *param;    /* (numel) the parameter block */
    ml_tensor *grad;     /* (numel) the gradient block */
    ml_tensor *state[ML_OPTIM_MAX_STATE]; /* (numel) each, made on first use (ml_flat_state) */
} ml_flat;

/* Flattens params[0..n) (float32 or float64, all one dtype, leaves, no
 * duplicates; any strides) into a new block and rebinds them. Parameter
 * grads already present are copied into the grad block and replaced by
 * views; absent ones stay NULL until backward writes one (see above). */
ml_flat *ml_flat_new(ml_optim_kind kind, int n, ml_tensor *const *params);
void ml_flat_free(ml_flat *f); /* NULL-safe */

/* Re-adopts moved parameters, gathers foreign grads, sets has_grad.
 * Returns the number of parameters with a gradient, or -1. */
int ml_flat_sync(ml_flat *f);

/* set_to_none: drops every grad (PyTorch's set_to_none=True); otherwise
 * one memset of the grad block, and every grad that is not NULL pointed
 * back at its view (NULL ones stay NULL: those parameters keep being
 * skipped until backward gives them a gradient). */
void ml_flat_zero_grad(ml_flat *f, bool set_to_none);

/* The options of one parameter group (PyTorch's names and meaning). */
typedef struct {
    double lr, weight_decay;
    bool maximize;
    double momentum, dampening; /* SGD; momentum also RMSprop */
    bool nesterov;              /* SGD */
    double beta1, beta2, eps;   /* Adam; eps also RMSprop and Adagrad */
    bool amsgrad, decoupled;    /* Adam (decoupled: AdamW's weight decay) */
    double alpha;               /* RMSprop */
    bool centered;              /* RMSprop */
    double lr_decay, initial_accumulator_value; /* Adagrad */
} ml_optim_opts;

/* The state buffers of each kind, in slot order:
 *   SGD      momentum_buffer               (used when momentum != 0)
 *   Adam     exp_avg, exp_avg_sq, max_exp_avg_sq (the last with amsgrad)
 *   RMSprop  square_avg, momentum_buffer (momentum > 0), grad_avg (centered)
 *   Adagrad  sum                           (starts at initial_accumulator_value)
 * Returns the number of slots and, when names != NULL, fills their names. */
int ml_optim_state_names(ml_optim_kind kind, const char **names);
/* Whether slot k is used under options o. */
bool ml_optim_state_used(ml_optim_kind kind, const ml_optim_opts *o, int k);
/* Slot k of f, allocated (zeros; Adagrad's sum filled with
 * o->initial_accumulator_value, o may be NULL for 0) when absent. Borrowed. */
ml_tensor *ml_flat_state(ml_flat *f, int k, const ml_optim_opts *o);

/* One update of every parameter of f that has a gradient: runs
 * ml_flat_sync, allocates the state slots the options need, then updates.
 * Per-parameter step counts follow PyTorch's state: Adam, RMSprop and
 * Adagrad count every update (Adam's bias correction and Adagrad's lr_decay
 * use it); SGD counts momentum-buffer updates only, so steps == 0 means "no
 * buffer yet" and the first update copies the gradient into it, as PyTorch
 * does. Parameters are updated in runs of neighbours that have a gradient
 * and equal step counts: usually one run, one loop over the whole block,
 * split across threads when it is large. Bumps the parameter block's
 * version (the update is an in-place write). */
int ml_flat_step(ml_flat *f, const ml_optim_opts *o);

/* The fused kernel, for elements [start, start + n) of contiguous arrays of
 * dtype dt: param, grad and the state slots (NULL where unused). step is the
 * count after this update (Adam, Adagrad); first asks SGD to initialize its
 * momentum buffer with the gradient. Splits across threads when n is large. */
void ml_optim_update(ml_optim_kind kind, ml_dtype dt, const ml_optim_opts *o, int64_t start, int64_t n, void *param,
                     const void *grad, void *const *state, int64_t step, bool first);

#endif
