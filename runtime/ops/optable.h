/* The op tables: one X-macro per elementwise family, one row per op. A row
 * is everything the runtime knows about the op, so a new op is one row (and,
 * for the binary family, one case of its backward rule):
 *
 *   ML_UNARY_OPS(X)   X(ENUM, name, keeps_int, forward(v), saves, backward(g, x, y), doc)
 *   ML_BINARY_OPS(X)  X(ENUM, name, forward(x, y), saves_inputs, doc)
 *   ML_COMPARE_OPS(X) X(ENUM, name, c_operator, doc)
 *   ML_REDUCE_OPS(X)  X(ENUM, name, kernel, backward, doc)
 *
 * name is a bare token (#name is the Lua name and the autograd node's);
 * doc is the one-line docstring ml.help prints for ml.name and t:name.
 * Forward and backward expressions are written in the element type `real`
 * (the kernels typedef it to float, double or int64_t) with the
 * type-generic helpers of the kernel files: F_(exp, v) is expf or exp by
 * v's type, TANH_, ABS_, POW_, MAXV, MINV. In a unary backward, g is the
 * incoming gradient, x the saved input and y the saved output (saves:
 * ML_SAVES_NONE, ML_SAVES_X or ML_SAVES_Y tells which the op keeps). A
 * reduction's kernel is one of reduce.c's loops (R_SUM, R_PROD, R_MAX,
 * R_MIN) and its backward the rule there.
 * exp, log, log1p, tanh, sigmoid and gelu (and gelu's backward) run through
 * vecmath.h (SLEEF, vectorized) in float32 and float64, by unary.c's vec_fn;
 * their expressions here are the definitions the vector kernels follow.
 * ops.h turns the tables into the enums; a _Static_assert beside each
 * kernel table checks that nothing was left out. */
#ifndef ML_OPTABLE_H
#define ML_OPTABLE_H

#define ML_SAVES_NONE 0
#define ML_SAVES_X 1
#define ML_SAVES_Y 2

/* clang-format off */
#define ML_UNARY_OPS(X)                                                                                        \
    X(ML_NEG, neg, 1, -(v), ML_SAVES_NONE, -g,                                                                 \
      "t:neg() -> tensor — -t")                                                                                \
    X(ML_ABS, abs, 1, ABS_(v), ML_SAVES_X, g * ((x > 0) - (x < 0)),                                            \
      "t:abs() -> tensor — |t| elementwise")                                                                   \
    X(ML_EXP, exp, 0, F_(exp, v), ML_SAVES_Y, g * y,                                                           \
      "t:exp() -> tensor — e ^ t elementwise")                                                                 \
    X(ML_LOG, log, 0, F_(log, v), ML_SAVES_X, g / x,                                                           \
      "t:log() -> tensor — natural logarithm elementwise")                                                     \
    X(ML_LOG1P, log1p, 0, F_(log1p, v), ML_SAVES_X, g / (1 + x),                                               \
      "t:log1p() -> tensor — log(1 + t), accurate for small t")                                                \
    X(ML_SQRT, sqrt, 0, F_(sqrt, v), ML_SAVES_Y, g * (real)0.5 / y,                                            \
      "t:sqrt() -> tensor — square root elementwise")                                                          \
    X(ML_RSQRT, rsqrt, 0, 1 / F_(sqrt, v), ML_SAVES_Y, g * (real)-0.5 * y * y * y,                             \
      "t:rsqrt() -> tensor — 1 / sqrt(t) elementwise")                                                         \
    X(ML_SIN, sin, 0, F_(sin, v), ML_SAVES_X, g * F_(cos, x),                                                  \
      "t:sin() -> tensor — sine elementwise (radians)")                                                        \
    X(ML_COS, cos, 0, F_(cos, v), ML_SAVES_X, -g * F_(sin, x),                                                 \
      "t:cos() -> tensor — cosine elementwise (radians)")                                                      \
    X(ML_TANH, tanh, 0, TANH_(v), ML_SAVES_Y, g * (1 - y * y),                                                 \
      "t:tanh() -> tensor — hyperbolic tangent elementwise")                                                   \
    X(ML_SIGMOID, sigmoid, 0, 1 / (1 + F_(exp, -(v))), ML_SAVES_Y, g * y * (1 - y),                            \
      "t:sigmoid() -> tensor — 1 / (1 + exp(-t)) elementwise")                                                 \
    /* NaN stays NaN (PyTorch, NumPy): !(v <= 0), not v > 0; one compare, still a vector select */             \
    X(ML_RELU, relu, 1, (!((v) <= 0) ? (v) : 0), ML_SAVES_X, x > 0 ? g : 0,                                    \
      "t:relu() -> tensor — max(t, 0) elementwise; NaN stays NaN")                                             \
    /* d/dx x*Phi(x) = Phi(x) + x*phi(x) */                                                                    \
    X(ML_GELU, gelu, 0, (real)0.5 * (v) * (1 + F_(erf, (v) * (real)M_SQRT1_2_)), ML_SAVES_X, g * F_(dgelu, x), \
      "t:gelu() -> tensor — t * Phi(t) elementwise (exact, with erf)")                                         \
    X(ML_SIGN, sign, 1, (((v) > 0) - ((v) < 0)), ML_SAVES_NONE, 0,                                             \
      "t:sign() -> tensor — -1, 0 or 1 by the sign of each element")

/* NaN-propagating maximum/minimum, as PyTorch's */
#define ML_BINARY_OPS(X)                                                                                       \
    X(ML_ADD, add, x + y, 0,                                                                                   \
      "t:add(x, [alpha=1]) -> tensor — t + alpha * x, broadcasting; x a tensor or number (ml.add(a, b) takes a number on either side)") \
    X(ML_SUB, sub, x - y, 0,                                                                                   \
      "t:sub(x, [alpha=1]) -> tensor — t - alpha * x, broadcasting; x a tensor or number")                                        \
    X(ML_MUL, mul, x * y, 1,                                                                                   \
      "t:mul(x) -> tensor — t * x elementwise, broadcasting; x a tensor or number")                            \
    X(ML_DIV, div, x / y, 1,                                                                                   \
      "t:div(x) -> tensor — t / x, broadcasting; true division (integers give float32)")                       \
    X(ML_POW, pow, POW_(x, y), 1,                                                                              \
      "t:pow(x) -> tensor — t ^ x elementwise, broadcasting; x a tensor or number")                            \
    X(ML_MAXIMUM, maximum, MAXV(x, y), 1,                                                                      \
      "t:maximum(x) -> tensor — the larger of t and x elementwise, broadcasting; NaN wins")                    \
    X(ML_MINIMUM, minimum, MINV(x, y), 1,                                                                      \
      "t:minimum(x) -> tensor — the smaller of t and x elementwise, broadcasting; NaN wins")

#define ML_COMPARE_OPS(X)                                                                                      \
    X(ML_EQ, eq, ==, "t:eq(x) -> tensor — bool mask of t == x, broadcasting; x a tensor or number")           \
    X(ML_NE, ne, !=, "t:ne(x) -> tensor — bool mask of t ~= x, broadcasting; x a tensor or number")           \
    X(ML_LT, lt, <, "t:lt(x) -> tensor — bool mask of t < x, broadcasting; x a tensor or number")             \
    X(ML_LE, le, <=, "t:le(x) -> tensor — bool mask of t <= x, broadcasting; x a tensor or number")           \
    X(ML_GT, gt, >, "t:gt(x) -> tensor — bool mask of t > x, broadcasting; x a tensor or number")             \
    X(ML_GE, ge, >=, "t:ge(x) -> tensor — bool mask of t >= x, broadcasting; x a tensor or number")

/* t:name([dim], [keepdim]); mean is the sum kernel scaled by 1/n */
#define ML_REDUCE_OPS(X)                                                                                       \
    X(ML_RSUM, sum, R_SUM, sum_backward,                                                                       \
      "t:sum([dim], [keepdim]) -> tensor — sum of all elements (0-d) or along 1-based dim")                    \
    X(ML_RMEAN, mean, R_SUM, sum_backward,                                                                     \
      "t:mean([dim], [keepdim]) -> tensor — mean of all elements (0-d) or along 1-based dim")                  \
    X(ML_RPROD, prod, R_PROD, prod_backward,                                                                   \
      "t:prod([dim], [keepdim]) -> tensor — product of all elements (0-d) or along 1-based dim")               \
    X(ML_RMAX, max, R_MAX, maxmin_backward,                                                                    \
      "t:max([dim], [keepdim]) -> tensor[, indices] — the largest element (0-d), or values and 1-based indices " \
      "along dim; t:max(other) is t:maximum(other)")                                                           \
    X(ML_RMIN, min, R_MIN, maxmin_backward,                                                                    \
      "t:min([dim], [keepdim]) -> tensor[, indices] — the smallest element (0-d), or values and 1-based indices " \
      "along dim; t:min(other) is t:minimum(other)")
/* clang-format on */

#endif
