/* oneDNN's convolution primitives for float32 conv2d (conv_dnnl.c): the
 * forward pass and the two backward passes, used by conv.c where they beat
 * im2col + GEMM (measured in scripts/bench/conv_layers.sh; see
 * ml_dnnl_conv_wanted). Tensors are plain NCHW / OIHW float32, contiguous;
 * oneDNN's blocked layouts are reached through reorders inside. */
#ifndef ML_OPS_CONV_DNNL_H
#define ML_OPS_CONV_DNNL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t N, C, H, W;  /* the convolution's input */
    int64_t OC, KH, KW;  /* weight (OC, C, KH, KW) */
    int64_t OH, OW;      /* its output */
    int64_t sh, sw, pt, pl, dh, dw;
} ml_dnnl_conv_geom;

/* Whether conv.c should try oneDNN for this geometry: MOONLAB_CONV=im2col
 * or =onednn forces a side (for measuring), the default rule takes oneDNN
 * where it won the measurement (input channels >= 16). */
bool ml_dnnl_conv_wanted(const ml_dnnl_conv_geom *g);

/* Each returns 0 when done, 1 when oneDNN cannot take this case (the
 * library absent, a shape it refuses): the caller then uses im2col. */
int ml_dnnl_conv_fwd(const ml_dnnl_conv_geom *g, float *y, const float *x, const float *w, const float *bias);
int ml_dnnl_conv_dgrad(const ml_dnnl_conv_geom *g, float *dx, const float *dy, const float *w);
int ml_dnnl_conv_wgrad(const ml_dnnl_conv_geom *g, float *dw, const float *x, const float *dy);

#endif
