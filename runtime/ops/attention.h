/* Scaled dot-product attention, fused: per (batch, head) block one GEMM for
 * the scores, the masks and a max-subtracted softmax in one pass over each
 * row, one GEMM for the product with V.
 *
 *   out = dropout(softmax(scale * Q K^T + mask)) V
 *
 * Q (..., L, E), K (..., S, E), V (..., S, Ev): the same batch dimensions,
 * any strides as long as the last dimension is contiguous (so the heads of
 * a projected [B, L, 3D] tensor are read where they lie). The output is
 * contiguous (..., L, Ev). The backward saves Q, K, V, the mask and the
 * log-sum-exp of each score row (..., L), and recomputes the probabilities
 * from them: O(L) extra memory per block, not the (L, S) matrix. Dropout
 * draws from a counter-based hash of a seed taken from the generator, so the
 * backward regenerates the same mask and the result does not depend on the
 * thread count. A row whose keys are all masked gives zeros (PyTorch: NaN). */
#ifndef ML_OPS_ATTENTION_H
#define ML_OPS_ATTENTION_H

#include <stdbool.h>

#include "../tensor/tensor.h"

typedef struct {
    /* NULL, or broadcastable to (..., L, S): bool (true takes part, as
     * PyTorch's SDPA) or float of Q's dtype, added to the scores */
    ml_tensor *mask;
    bool causal;  /* key j > query i is masked (top-left aligned, as PyTorch) */
    double scale; /* <= 0: 1 / sqrt(E) */
    double dropout_p;
} ml_attention_opts;

/* Returns the output (new reference) and records the backward when an input
 * requires grad. weights: when not NULL, receives the attention weights
 * (..., L, S) after dropout (not differentiable). NULL with ml_error set on
 * a bad shape or dtype; messages start with fn. */
ml_tensor *ml_attention(const char *fn, ml_tensor *q, ml_tensor *k, ml_tensor *v, const ml_attention_opts *o,
                        ml_tensor **weights);

#endif
