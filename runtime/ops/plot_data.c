/* ml.plot's per-point kernels (plot_data.h). */
#include "plot_data.h"

#include <math.h>

#include "../core/error.h"

int64_t ml_plot_finite_range(double *lo, double *hi, const double *x, int64_t n, bool positive) {
    double l = INFINITY, h = -INFINITY;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (!isfinite(v) || (positive && v <= 0)) continue;
        if (v < l) l = v;
        if (v > h) h = v;
        k++;
    }
    if (k) { *lo = l; *hi = h; }
    return k;
}

int ml_plot_histogram(int64_t *counts, const double *x, int64_t n, int64_t bins, double lo, double hi) {
    if (bins < 1) { ml_error("histogram: bins must be at least 1, got %lld", (long long)bins); return -1; }
    if (!(isfinite(lo) && isfinite(hi) && lo < hi)) {
        ml_error("histogram: the range must be finite with lo < hi, got [%g, %g]", lo, hi);
        return -1;
    }
    for (int64_t b = 0; b < bins; b++) counts[b] = 0;
    double scale = (double)bins / (hi - lo);
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (!(v >= lo && v <= hi)) continue; /* also NaN */
        int64_t b = (int64_t)((v - lo) * scale);
        if (b >= bins) b = bins - 1; /* hi itself, and rounding at the top edge */
        counts[b]++;
    }
    return 0;
}

static inline double to_pixel(double v, const ml_plot_axis *a) {
    if (!isfinite(v)) return NAN;
    if (a->log) {
        if (v <= 0) return NAN;
        v = log10(v);
    }
    return a->a + a->b * v;
}

void ml_plot_to_pixels(double *px, double *py, const double *x, const double *y, int64_t n, const ml_plot_axis *ax,
                       const ml_plot_axis *ay) {
    for (int64_t i = 0; i < n; i++) {
        double u = to_pixel(x[i], ax), v = to_pixel(y[i], ay);
        if (isnan(u) || isnan(v)) u = v = NAN;
        px[i] = u;
        py[i] = v;
    }
}

/* Whether the segment p0-p1 meets the box (Liang-Barsky clipping). */
static bool segment_meets_box(double x0, double y0, double x1, double y1, double bx0, double by0, double bx1,
                              double by1) {
    double t0 = 0, t1 = 1, dx = x1 - x0, dy = y1 - y0;
    double p[4] = {-dx, dx, -dy, dy}, q[4] = {x0 - bx0, bx1 - x0, y0 - by0, by1 - y0};
    for (int k = 0; k < 4; k++) {
        if (p[k] == 0) {
            if (q[k] < 0) return false;
            continue;
        }
        double r = q[k] / p[k];
        if (p[k] < 0) { if (r > t1) return false; if (r > t0) t0 = r; }
        else { if (r < t0) return false; if (r < t1) t1 = r; }
    }
    return true;
}

int64_t ml_plot_box_hits(const double *px, const double *py, int64_t n, double x0, double y0, double x1, double y1,
                         bool segments) {
    int64_t hits = 0;
    for (int64_t i = 0; i < n; i++) {
        double u = px[i], v = py[i];
        if (isnan(u)) continue;
        if (u >= x0 && u <= x1 && v >= y0 && v <= y1) hits++;
        if (segments && i > 0 && !isnan(px[i - 1]) &&
            segment_meets_box(px[i - 1], py[i - 1], u, v, x0, y0, x1, y1))
            hits++;
    }
    return hits;
}

int64_t ml_plot_simplify(double *px, double *py, int64_t n) {
    int64_t out = 0, i = 0;
    while (i < n) {
        if (isnan(px[i])) {
            if (out == 0 || !isnan(px[out - 1])) { px[out] = py[out] = NAN; out++; }
            i++;
            continue;
        }
        double col = floor(px[i]);
        int64_t j = i, lo = i, hi = i;
        while (j + 1 < n && !isnan(px[j + 1]) && floor(px[j + 1]) == col) {
            j++;
            if (py[j] < py[lo]) lo = j;
            if (py[j] > py[hi]) hi = j;
        }
        if (j - i < 4) { /* short runs stay as they are (out <= i: a forward copy is safe) */
            for (int64_t k = i; k <= j; k++, out++) { px[out] = px[k]; py[out] = py[k]; }
        } else {
            int64_t a = lo < hi ? lo : hi, b = lo < hi ? hi : lo;
            int64_t keep[4] = {i, a, b, j};
            double kx[4], ky[4];
            for (int k = 0; k < 4; k++) { kx[k] = px[keep[k]]; ky[k] = py[keep[k]]; }
            for (int k = 0; k < 4; k++, out++) { px[out] = kx[k]; py[out] = ky[k]; }
        }
        i = j + 1;
    }
    return out;
}
