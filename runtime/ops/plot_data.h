/* The per-point work behind ml.plot, so a plot of a million points makes no
 * per-point Lua call: the finite range of a series, histogram counts, data
 * to pixel coordinates (linear or log10 axes) and how many of a series'
 * points or segments fall in a box (the legend's emptiest corner).
 *
 * Non-finite values (and non-positive ones on a log axis) are skipped: their
 * pixels are NaN, which breaks a polyline there, as matplotlib does.
 * Nothing here knows about Lua or cairo. Functions return 0, or -1 with ml_error. */
#ifndef ML_OPS_PLOT_DATA_H
#define ML_OPS_PLOT_DATA_H

#include <stdbool.h>
#include <stdint.h>

/* *lo, *hi: the smallest and largest finite x (> 0 only when positive);
 * returns how many there are (0: *lo, *hi untouched). */
int64_t ml_plot_finite_range(double *lo, double *hi, const double *x, int64_t n, bool positive);

/* counts [bins] (overwritten): numpy.histogram's counts of x [n] over [lo, hi] cut into bins
 * equal bins; the last bin holds hi; values outside and non-finite ones are not counted. */
int ml_plot_histogram(int64_t *counts, const double *x, int64_t n, int64_t bins, double lo, double hi);

/* One axis: pixel = a + b * v, v = x or log10(x). */
typedef struct {
    double a, b;
    bool log;
} ml_plot_axis;

/* px, py [n]: the pixels of the points (x [n], y [n]); NaN for a point that cannot be drawn. */
void ml_plot_to_pixels(double *px, double *py, const double *x, const double *y, int64_t n, const ml_plot_axis *ax,
                       const ml_plot_axis *ay);

/* Simplifies the pixel polyline px, py [n] in place for drawing (returns the new length): a run of
 * consecutive points within one pixel column becomes its first, lowest, highest and last points (in
 * their order), so a line of a million points draws as a few per column and looks the same; a run of
 * NaN (breaks) becomes one NaN. */
int64_t ml_plot_simplify(double *px, double *py, int64_t n);

/* How many of the pixel points px, py [n] lie in the box [x0, x1] x [y0, y1], plus,
 * when segments, how many segments between consecutive drawable points cross it. */
int64_t ml_plot_box_hits(const double *px, const double *py, int64_t n, double x0, double y0, double x1, double y1,
                         bool segments);

#endif
