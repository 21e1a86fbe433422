/* Kernels of the linear estimators (ml.models' linear.lua,
 * coordinate_descent.lua, logistic.lua), in float64 as scikit-learn's:
 *   - least squares through LAPACK's dgelsd (SVD, minimum norm, rank),
 *   - ridge through the Cholesky factor of X'X + alpha I (dpotrf/dpotrs),
 *   - elastic-net coordinate descent with scikit-learn's duality-gap stop
 *     (sklearn/linear_model/_cd_fast.pyx, enet_coordinate_descent),
 *   - the logistic loss and its gradient, binary or multinomial, in one call
 *     of two matrix products (the evaluation L-BFGS and the proximal solver make).
 * Matrices are row-major and contiguous. Nothing here knows about Lua;
 * functions return 0, or -1 with ml_error. */
#ifndef ML_OPS_LINEAR_MODELS_H
#define ML_OPS_LINEAR_MODELS_H

#include <stdbool.h>
#include <stdint.h>

/* coef [d, t]: the minimum-norm least-squares solution of X coef = Y; rank: the
 * effective rank (singular values above rcond * the largest; rcond < 0: machine eps);
 * sv [min(n, d)]: X's singular values, descending. X [n, d], Y [n, t]. */
int ml_lstsq_f64(double *coef, int64_t *rank, double *sv, const double *X, const double *Y, int64_t n, int64_t d,
                 int64_t t, double rcond);

/* coef [t, d]: for each target c, (X'X + alpha[c] I)^-1 X'Y[:, c]. X [n, d], Y [n, t],
 * alpha [t] >= 0. A singular system (alpha 0) falls back to the minimum-norm solution. */
int ml_ridge_f64(double *coef, const double *X, const double *Y, const double *alpha, int64_t n, int64_t d, int64_t t);

/* Minimizes 0.5 ||y - X w||^2 + l1 ||w||_1 + 0.5 l2 ||w||^2 by cyclic (seed < 0) or
 * random (seed >= 0: the order's generator) coordinate descent from w [d] (in/out), stopping
 * when the largest step is below tol relative to the largest weight and the duality gap
 * is below tol * y'y (scikit-learn's rule), or after max_iter sweeps.
 * Xc [d, n]: X by columns (each feature's n values contiguous), y [n].
 * *gap: the last duality gap (unscaled); *n_iter: the sweeps made. */
int ml_enet_cd_f64(double *w, double *gap, int64_t *n_iter, const double *Xc, const double *y, int64_t n, int64_t d,
                   double l1, double l2, int64_t max_iter, double tol, int64_t seed, bool positive);

/* The logistic loss sum_i sw_i loss_i + 0.5 l2 ||W[:, :d]||^2 (the intercepts unpenalized)
 * and its gradient, as scikit-learn's LinearModelLoss (HalfBinomialLoss / HalfMultinomialLoss).
 * W, grad [K, d + b], b = 1 with an intercept (its last column). K = 1: binary, y_i = 1 when
 * codes[i] == positive, else 0. K >= 2: multinomial over codes [n] in 1..K.
 * X [n, d]; sw [n] or NULL (all 1). */
int ml_logistic_loss_grad_f64(double *loss, double *grad, const double *W, const double *X, const int64_t *codes,
                              const double *sw, int64_t n, int64_t d, int64_t K, bool intercept, int64_t positive,
                              double l2);

#endif
