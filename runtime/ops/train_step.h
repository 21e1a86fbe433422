/* A compiled training step: forward, loss, backward and the gradients of a
 * chain of Linear layers and elementwise activations (an nn.Sequential of
 * library layers) under MSE, cross-entropy or BCE on logits, in float32,
 * with every buffer made once.
 *
 * fit builds a plan when its model, loss and optimizer qualify
 * (lualib/moonlab/train/fused.lua decides) and runs one C call a batch
 * (runtime/lua/train_step.c): ml_train_plan_run writes this batch's
 * gradient into each parameter's .grad (the optimizer's flat gradient
 * block), and the binding then runs the optimizer's own fused update
 * (optim.c), so the state stays the optimizer's.
 *
 * The arithmetic is the general path's, operation by operation: the same
 * ml_sgemm calls (operands, transposes, leading dimensions, alpha, beta),
 * the bias preset into the output rows, the vecmath activations, the loss
 * kernels of loss.c, the backward expressions of optable.h, and the bias
 * gradient summed in double, rows in order (autograd.c's colsum and, for
 * one column below 256 rows, reduce.c's sum, which is the same loop). So a
 * fused step gives the general step's bits.
 *
 *   x  (m, in0)   the batch, m <= the plan's rows
 *   a_i (m, w_i)  layer i's output, kept for the backward
 *   y  (m, wL)    the target: float32 of the last output's shape (MSE, BCE),
 *                 or int64 (m) class labels 1..wL (cross-entropy)
 *
 * Nothing here knows about Lua; functions return 0 / a pointer, or -1 /
 * NULL with ml_error set. */
#ifndef ML_TRAIN_STEP_H
#define ML_TRAIN_STEP_H

#include <stdint.h>

#include "../tensor/tensor.h"
#include "loss.h"

typedef enum { ML_TS_LINEAR, ML_TS_RELU, ML_TS_LEAKY_RELU, ML_TS_TANH, ML_TS_SIGMOID, ML_TS_GELU, ML_TS_NKINDS } ml_ts_kind;

typedef struct {
    ml_ts_kind kind;
    ml_tensor *w, *b; /* Linear: weight (out, in) and bias (out) or NULL, retained */
    double slope;     /* LeakyReLU's negative slope */
} ml_ts_layer;

/* The losses: nn.MSELoss, nn.CrossEntropyLoss (no weight, smoothing or
 * ignore_index) and nn.BCEWithLogitsLoss (no weight or pos_weight). */
typedef enum { ML_TS_MSE, ML_TS_CROSS_ENTROPY, ML_TS_BCE_WITH_LOGITS, ML_TS_NLOSSES } ml_ts_loss;

typedef struct ml_train_plan ml_train_plan;

/* A plan for batches of at most rows rows through n layers of in0 input
 * features, with loss `loss` reduced by red (mean or sum). The weights must be
 * float32 2-D contiguous leaves, the widths must chain. Retains the
 * parameters. */
ml_train_plan *ml_train_plan_new(int n, const ml_ts_layer *layers, int64_t in0, int64_t rows, ml_ts_loss loss,
                                 ml_reduction red);
void ml_train_plan_free(ml_train_plan *p); /* NULL-safe */

typedef enum {
    ML_TS_DONE,     /* trained: *loss holds the loss, every parameter's .grad the gradient */
    ML_TS_NONFINITE, /* the loss is NaN or infinite: nothing updated, the gradients zeroed */
    ML_TS_DECLINE,  /* this batch or a parameter's .grad does not fit the plan: run the general step */
} ml_ts_status;

/* One forward, loss and backward of batch x against y. Declines (without
 * touching anything) a batch of another dtype, layout or width, more rows
 * than planned, a class label out of range (the general path then says
 * so), or a parameter whose .grad is missing or not a contiguous float32
 * tensor of its shape. */
ml_ts_status ml_train_plan_run(ml_train_plan *p, const ml_tensor *x, const ml_tensor *y, double *loss);

/* The forward alone (inference: the model server's C predict path), m <= the
 * plan's rows rows of x (m, in0) float32, through the plan's buffers: the
 * last layer's output (m, width(n)), valid until the next call; NULL when m
 * is out of range. The same bits as the general path's forward. */
const float *ml_train_plan_forward(ml_train_plan *p, const float *x, int64_t m);
/* The input features, the last layer's width, the most rows a call may have. */
int64_t ml_train_plan_in_width(const ml_train_plan *p);
int64_t ml_train_plan_out_width(const ml_train_plan *p);
int64_t ml_train_plan_rows(const ml_train_plan *p);

/* The parameters, in the order of the layers (weight, then bias): for the binding's checks. */
int ml_train_plan_nparams(const ml_train_plan *p);
ml_tensor *ml_train_plan_param(const ml_train_plan *p, int i);

#endif
