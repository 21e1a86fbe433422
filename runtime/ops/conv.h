/* 2-D convolution (conv.c): forward, and the gradients for the input, the
 * weight and the bias, by im2col + GEMM (ml_sgemm / ml_dgemm), batch-parallel.
 * Conv1d is the H = 1 case (the Lua layer adds and removes the dimension).
 *
 * Layout, as PyTorch: x (N, C, H, W), weight (OC, C / groups, KH, KW),
 * bias (OC) or NULL, y (N, OC, OH, OW) with
 *   OH = (H + pad_top + pad_bottom - dil_h (KH - 1) - 1) / stride_h + 1.
 * Only the leading pads (top, left) reach the kernels: the trailing ones
 * only decide OH and OW. reflect: out-of-range taps read the input mirrored
 * about its edge (padding_mode "reflect"; pads must be < the input size). */
#ifndef ML_OPS_CONV_H
#define ML_OPS_CONV_H

#include <stdbool.h>

#include "../tensor/tensor.h"

typedef struct {
    int stride[2]; /* h, w */
    int pad[4];    /* top, bottom, left, right */
    int dil[2];    /* h, w */
    int groups;
    bool reflect;
} ml_conv_opts;

/* y = conv2d(x, weight) + bias. Records its backward (inputs x, weight, bias).
 * Returns NULL with ml_error set on a bad shape or dtype. */
ml_tensor *ml_conv2d(ml_tensor *x, ml_tensor *weight, ml_tensor *bias, const ml_conv_opts *o);

/* The transposed convolution: z = the input-gradient of conv2d(., weight)
 * applied to x (N, Cin, H, W), weight (Cin, Cout / groups, KH, KW), plus
 * bias (Cout); out_pad (h, w) adds rows and columns at the end, as
 * PyTorch's output_padding. Zero padding only. Records its backward. */
ml_tensor *ml_conv_transpose2d(ml_tensor *x, ml_tensor *weight, ml_tensor *bias, const ml_conv_opts *o,
                               const int out_pad[2]);

/* The output size along one dimension, or -1 when the kernel does not fit. */
int64_t ml_conv_out_size(int64_t in, int k, int stride, int pad_lo, int pad_hi, int dil);

#endif
