/* The random generator: one process-wide xoshiro256** stream.
 *
 * Generator. xoshiro256** (Blackman and Vigna, 2018): 256 bits of state,
 * period 2^256 - 1, each call returns one 64-bit word. ml_seed(n) fills the
 * four state words with the first four outputs of splitmix64 started at n,
 * which is the seeding the generator's authors recommend. Before any
 * ml_seed call the generator is in the state of ml_seed(0): a fresh process
 * always draws the same numbers (PyTorch seeds randomly; we prefer runs that
 * repeat).
 *
 * Derived draws, each from whole 64-bit words, in row-major element order:
 *   uniform float64   top 53 bits * 2^-53            in [0, 1)
 *   uniform float32   top 24 bits * 2^-24            in [0, 1)
 *   integer [lo, hi)  Lemire's multiply-shift with rejection: unbiased
 *   normal            Marsaglia's polar method on pairs of 53-bit uniforms
 *                     in [-1, 1); both values of a pair are used, and the
 *                     spare of an odd count is dropped (no hidden cache, so
 *                     the four state words are the whole state). The log it
 *                     needs is our own (random_log in random.c), not libm's, and only
 *                     IEEE-exact operations (+ - * / sqrt) follow, so the
 *                     numbers are bit-identical on every IEEE-754 machine.
 *   permutation       Fisher-Yates, i from n down to 2, j uniform in [1, i].
 * Nothing here is parallel: the stream does not depend on the thread count.
 *
 * The state is a C global, not thread-safe: draw from one thread at a time
 * (in moonlab, the Lua interpreter's). Nothing here knows about Lua. */
#ifndef ML_RANDOM_H
#define ML_RANDOM_H

#include <stdint.h>

#include "../tensor/tensor.h"

/* ---- the stream ------------------------------------------------------ */
void ml_seed(uint64_t seed);
uint64_t ml_initial_seed(void); /* the last seed given to ml_seed (0 at start) */
/* The four state words, to save a stream and resume it later. A state of
 * four zeros is invalid: ml_random_set_state returns -1 (with error) on it. */
void ml_random_get_state(uint64_t state[4]);
int ml_random_set_state(const uint64_t state[4]);

/* ---- tensors (new references; NULL with ml_error on failure) ------- */
/* Uniform [0, 1); dtype float32 or float64. */
ml_tensor *ml_rand(int ndim, const int64_t *shape, ml_dtype dt);
/* Standard normal; dtype float32 or float64. */
ml_tensor *ml_randn(int ndim, const int64_t *shape, ml_dtype dt);
/* Uniform integers in [lo, hi) (hi exclusive, as PyTorch); dtype int64,
 * float32 or float64. */
ml_tensor *ml_randint(int64_t lo, int64_t hi, int ndim, const int64_t *shape, ml_dtype dt);
/* A random permutation of 1..n (1-based, as moonlab's indices), shape [n];
 * dtype int64, float32 or float64. */
ml_tensor *ml_randperm(int64_t n, ml_dtype dt);

/* ---- in place, any strides, row-major order (for nn.init, dropout) -- */
/* Each returns 0, or -1 with ml_error on a dtype that cannot hold the values. */
int ml_fill_uniform(ml_tensor *t, double lo, double hi);   /* float dtypes: lo + (hi - lo) * u */
int ml_fill_normal(ml_tensor *t, double mean, double std); /* float dtypes */
int ml_fill_bernoulli(ml_tensor *t, double p);             /* any dtype: 1 with probability p, else 0 */

#endif
