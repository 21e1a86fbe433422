/* Tensor printing: the number-format analysis and the nested-bracket layout
 * behind tostring(t), written into an ml_buf (core/buf.h).
 *
 * Follows PyTorch's _tensor_str (itself Torch7's exponent analysis): the
 * format is chosen from the nonzero finite values that will be printed:
 *   - all integer-valued floats print as "1." (scientific when max/min > 1000
 *     or max > 1e8);
 *   - otherwise scientific ("1.2346e-05") when max/min > 1000, max > 1e8 or
 *     min < 1e-4, else fixed with `precision` decimals.
 * Tensors with more than `threshold` elements are summarized: each dimension
 * longer than 2*edgeitems shows its first and last `edgeitems` entries around
 * "...". Only the printed elements are ever read (strided reads), so printing
 * a view of a huge tensor costs what it prints.
 *
 * Nothing here knows about Lua. */
#ifndef ML_FORMAT_H
#define ML_FORMAT_H

#include <stddef.h>

#include "../core/buf.h"
#include "tensor.h"

typedef struct {
    int precision;     /* decimals of fixed and scientific formats (default 4) */
    int edgeitems;     /* items shown at each edge of a summarized dimension (3) */
    int64_t threshold; /* summarize when numel > threshold (1000) */
    int linewidth;     /* characters per line before wrapping (80) */
    int sci_mode;      /* -1: chosen from the values, 0: never, 1: always */
} ml_printopts;

extern const ml_printopts ml_printopts_default;

/* Appends the whole representation:
 *   tensor([[ 0.1234, -1.5000],
 *           [ 3.0000,  4.0000]], dtype=float32, shape=[2,2])
 * with ", grad_fn=<Name>" when t has a grad_fn, else ", requires_grad=true"
 * when t requires grad. Suffixes wrap onto their own line past linewidth.
 * Returns 0, or -1 when out of memory (sb->failed). */
int ml_format_tensor(ml_buf *sb, const ml_tensor *t, const ml_printopts *o);

#endif
