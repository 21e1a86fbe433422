/* Deterministic fills: arange, linspace, eye, exact integer full. */
#include "fill.h"

#include <math.h>
#include <string.h>

static int check_not_bool(const char *fn, ml_dtype dt) {
    if (dt != ML_BOOL) return 0;
    ml_error("%s: dtype must be int64, float32 or float64, got bool", fn);
    return -1;
}

/* Stores double v at i of a contiguous buffer of dtype dt (not bool). */
static inline void store(ml_dtype dt, void *p, int64_t i, double v) {
    switch (dt) {
    case ML_FLOAT32: ((float *)p)[i] = (float)v; break;
    case ML_FLOAT64: ((double *)p)[i] = v; break;
    case ML_INT64: ((int64_t *)p)[i] = (int64_t)v; break;
    default: break;
    }
}

/* ---- arange ---------------------------------------------------------- */
#define ARANGE_MAX ((int64_t)1 << 48) /* more elements than any machine holds */

ml_tensor *ml_arange(double start, double end, double step, ml_dtype dt) {
    if (check_not_bool("arange", dt) < 0) return NULL;
    if (!isfinite(start) || !isfinite(end) || !isfinite(step))
        return ml_error("arange: start, end and step must be finite, got %g, %g, %g", start, end, step);
    if (step == 0) return ml_error("arange: step must be non-zero");
    if ((step > 0 && end < start) || (step < 0 && end > start))
        return ml_error("arange: step %g moves away from end (start %g, end %g)", step, start, end);
    if (dt == ML_INT64 && (fabs(start) >= 0x1p62 || fabs(end) >= 0x1p62))
        return ml_error("arange: start %g or end %g out of range for int64", start, end);
    double count = ceil((end - start) / step);
    if (!(count < (double)ARANGE_MAX))
        return ml_error("arange: too many elements (start %g, end %g, step %g)", start, end, step);
    int64_t n = (int64_t)count;
    ml_tensor *t = ml_empty(1, &n, dt);
    if (!t) return NULL;
    void *p = ml_data(t);
    for (int64_t i = 0; i < n; i++) store(dt, p, i, start + (double)i * step);
    return t;
}

ml_tensor *ml_arange_int(int64_t start, int64_t end, int64_t step, ml_dtype dt) {
    if (check_not_bool("arange", dt) < 0) return NULL;
    if (step == 0) return ml_error("arange: step must be non-zero");
    if ((step > 0 && end < start) || (step < 0 && end > start))
        return ml_error("arange: step %lld moves away from end (start %lld, end %lld)", (long long)step,
                        (long long)start, (long long)end);
    /* distance and step as unsigned magnitudes: no overflow for any int64s */
    uint64_t dist = step > 0 ? (uint64_t)end - (uint64_t)start : (uint64_t)start - (uint64_t)end;
    uint64_t mag = step > 0 ? (uint64_t)step : -(uint64_t)step;
    uint64_t count = dist == 0 ? 0 : (dist - 1) / mag + 1;
    if (count >= (uint64_t)ARANGE_MAX)
        return ml_error("arange: too many elements (%llu; start %lld, end %lld, step %lld)", (unsigned long long)count,
                        (long long)start, (long long)end, (long long)step);
    int64_t n = (int64_t)count;
    ml_tensor *t = ml_empty(1, &n, dt);
    if (!t) return NULL;
    void *p = ml_data(t);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = (int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)step);
        switch (dt) {
        case ML_FLOAT32: ((float *)p)[i] = (float)v; break;
        case ML_FLOAT64: ((double *)p)[i] = (double)v; break;
        default: ((int64_t *)p)[i] = v; break;
        }
    }
    return t;
}

/* ---- linspace -------------------------------------------------------- */
ml_tensor *ml_linspace(double a, double b, int64_t n, ml_dtype dt) {
    if (check_not_bool("linspace", dt) < 0) return NULL;
    if (n < 0) return ml_error("linspace: number of points must be non-negative, got %lld", (long long)n);
    if (dt == ML_INT64 && !(fabs(a) < 0x1p62 && fabs(b) < 0x1p62))
        return ml_error("linspace: %g and %g must be finite and in range for int64", a, b);
    ml_tensor *t = ml_empty(1, &n, dt);
    if (!t || n == 0) return t;
    void *p = ml_data(t);
    if (n == 1) {
        store(dt, p, 0, a);
        return t;
    }
    double step = (b - a) / (double)(n - 1);
    int64_t half = n / 2;
    for (int64_t i = 0; i < half; i++) store(dt, p, i, a + step * (double)i);
    for (int64_t i = half; i < n; i++) store(dt, p, i, b - step * (double)(n - 1 - i));
    return t;
}

/* ---- eye ------------------------------------------------------------- */
ml_tensor *ml_eye(int64_t n, int64_t m, ml_dtype dt) {
    if (n < 0 || m < 0) return ml_error("eye: sizes must be non-negative, got %lld x %lld", (long long)n, (long long)m);
    int64_t shape[2] = {n, m};
    ml_tensor *t = ml_zeros(2, shape, dt);
    if (!t) return NULL;
    int64_t k = n < m ? n : m;
    void *p = ml_data(t);
    for (int64_t i = 0; i < k; i++) {
        int64_t at = i * m + i;
        switch (dt) {
        case ML_FLOAT32: ((float *)p)[at] = 1.0f; break;
        case ML_FLOAT64: ((double *)p)[at] = 1.0; break;
        case ML_INT64: ((int64_t *)p)[at] = 1; break;
        case ML_BOOL: ((uint8_t *)p)[at] = 1; break;
        default: break;
        }
    }
    return t;
}

/* ---- exact integer full ---------------------------------------------- */
ml_tensor *ml_full_int(int ndim, const int64_t *shape, ml_dtype dt, int64_t value) {
    if (dt != ML_INT64) return ml_full(ndim, shape, dt, (double)value);
    ml_tensor *t = ml_empty(ndim, shape, dt);
    if (!t) return NULL;
    int64_t *p = ml_data(t);
    for (int64_t i = 0; i < t->numel; i++) p[i] = value;
    return t;
}
