/* PNG images through libpng, for ml.image (lualib/moonlab/image.lua).
 *
 * Nothing here knows about Lua. Both functions return -1 / NULL and leave a
 * message starting with fn (the public function's name) in ml_last_error().
 * libpng reports its errors by longjmp; that jump never leaves this file's
 * functions, so callers see a plain status. */
#ifndef ML_PNG_H
#define ML_PNG_H

#include "../core/buf.h"
#include "../tensor/tensor.h"

/* Writes img, a contiguous (C, H, W) tensor with C = 1 (grey), 2 (grey and
 * alpha), 3 (RGB) or 4 (RGBA), as an 8-bit PNG at path (atomically: a
 * temporary file renamed over path). Float values are taken in [0, 1] and
 * stored as floor(x * 255 + 0.5) clamped to 0..255 (torchvision's
 * save_image); int64 values must lie in 0..255 and are stored as they are.
 * NaN, or an integer out of range, is an error naming the pixel, and no
 * file is written. */
int ml_png_write(const char *fn, const char *path, const ml_tensor *img);
/* The same PNG appended to out (in memory: TensorBoard's image summaries). */
int ml_png_encode(const char *fn, ml_buf *out, const ml_tensor *img);

/* Reads any PNG (grey, grey+alpha, RGB, RGBA, palette; 1 to 16 bits;
 * interlaced or not) as a float32 (C, H, W) tensor in [0, 1]: palette
 * images become RGB (RGBA with a tRNS chunk), a tRNS colour key adds an
 * alpha channel, bit depths below 8 are expanded, and 16-bit samples are
 * divided by 65535, 8-bit ones by 255, so values are exact. */
ml_tensor *ml_png_read(const char *fn, const char *path);

#endif
