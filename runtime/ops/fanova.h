/* fANOVA over a fitted regression forest (Hutter, Hoos & Leyton-Brown 2014,
 * "An Efficient Approach for Assessing Hyperparameter Importance"), as
 * Optuna 3.1 computes it (optuna/importance/_fanova/_tree.py): each tree
 * cuts the search-space box into the boxes of its leaves; the tree's
 * prediction is a function on the box, and its variance over the box (each
 * leaf weighted by its volume) is split into what each group of columns
 * explains alone. For a group, the cells are the products of the intervals
 * between the tree's thresholds on the group's columns; in each cell the
 * prediction is averaged over the other columns (the leaves reachable from
 * the cell's midpoint, weighted by their volume in the other columns), and
 * the group's marginal variance is the variance of those averages, each
 * cell weighted by its volume. A categorical parameter is a group of one-hot
 * columns on [0, 1]; a number is a group of one column. Nothing here knows
 * about Lua. */
#ifndef ML_OPS_FANOVA_H
#define ML_OPS_FANOVA_H

#include <stdint.h>

#include "tree.h"

/* marginal (n_trees, G): tree t's variance explained by group g alone (>= 0); total (n_trees): the
 * variance of tree t's prediction over the box. The forest's trees are regression trees (value column 0
 * is the prediction), feature 1-based over D columns. bounds (D, 2): each column's [low, high];
 * group (D): each column's group, 0-based in [0, G). A group whose cells in some tree outnumber
 * max_cells fails (-1, message set), as does running out of memory. Trees run on the threads knob's
 * threads; the result does not depend on their number. */
int ml_fanova(double *marginal, double *total, const ml_forest_view *f, const double *bounds, const int64_t *group, int64_t D,
              int64_t G, int64_t max_cells);

#endif
