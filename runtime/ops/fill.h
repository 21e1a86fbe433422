/* Deterministic fills: ranges, evenly spaced values, identity matrices.
 * New references, or NULL with ml_error set. Nothing here knows about Lua. */
#ifndef ML_FILL_H
#define ML_FILL_H

#include <stdint.h>

#include "../tensor/tensor.h"

/* start, start + step, ... while < end (step > 0) or > end (step < 0): the
 * end is excluded, as in PyTorch and NumPy (arange(0, 5) is 0..4, even
 * though moonlab's indices are 1-based). Shape [n], n = ceil((end - start) / step).
 * step 0, or a step that moves away from end, is an error; start == end
 * gives an empty tensor. Values are start + i * step, computed in double
 * (float dtypes) or exactly (ml_arange_int). dtype must not be bool. */
ml_tensor *ml_arange(double start, double end, double step, ml_dtype dt);
ml_tensor *ml_arange_int(int64_t start, int64_t end, int64_t step, ml_dtype dt);

/* n values from a to b, both included (n == 1 gives [a]); the first half
 * counts up from a and the second half down from b, so the last value is b
 * exactly. dtype must not be bool (int64 truncates toward zero). */
ml_tensor *ml_linspace(double a, double b, int64_t n, ml_dtype dt);

/* n x m with ones on the main diagonal; any dtype. */
ml_tensor *ml_eye(int64_t n, int64_t m, ml_dtype dt);

/* Like ml_full, but with an exact 64-bit integer value (ml_full goes through
 * a double, which loses integers beyond 2^53 for int64 tensors). */
ml_tensor *ml_full_int(int ndim, const int64_t *shape, ml_dtype dt, int64_t value);

#endif
