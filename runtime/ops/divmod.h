/* Floor division and remainder (Lua's // and %), with broadcasting. */
#ifndef ML_DIVMOD_H
#define ML_DIVMOD_H

#include "../tensor/tensor.h"

typedef enum { ML_FLOOR_DIVIDE, ML_REMAINDER } ml_divmod_op;

/* a // b: floor(a / b), as torch.floor_divide (Python's //); its gradient is zero.
 * a % b: a - b * floor(a / b), the sign of b, as torch.remainder (Python's %);
 * d/da = 1, d/db = -floor(a / b).
 * bool computes as int64; the dtype is the promoted one of a and b. Integer
 * division by zero is an error; floats give inf or NaN. */
ml_tensor *ml_divmod(ml_divmod_op op, ml_tensor *a, ml_tensor *b);
/* The same with a number on one side: a op s, or s op a when reversed. */
ml_tensor *ml_divmod_scalar(ml_divmod_op op, ml_tensor *a, double s, bool reversed);

#endif
