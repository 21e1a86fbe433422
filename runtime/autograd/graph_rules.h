/* Differentiable backward rules, for ml_grad with create_graph.
 *
 * The ordinary backward runs each node's C rule with recording off: fused
 * kernels, the fast path. A create_graph sweep instead runs, per node kind,
 * a rule built only from recorded ops (ml_mul, ml_matmul, ml_conv2d ...)
 * with recording on, so the gradients it returns have a graph of their own.
 * A node's kind is told by its C rule: the op files export the rules' addresses
 * (ml_rule_*), and ml_graph_rule maps each to its differentiable form. Rules that
 * are compositions of recorded ops already (add, sum, reshape ...) are their
 * own differentiable form. */
#ifndef ML_AUTOGRAD_GRAPH_RULES_H
#define ML_AUTOGRAD_GRAPH_RULES_H

#include "autograd.h"

/* the C rules of the op files, by address */
extern const ml_backward_fn ml_rule_binary, ml_rule_scalar;      /* elementwise.c */
extern const ml_backward_fn ml_rule_unary;                       /* unary.c */
extern const ml_backward_fn ml_rule_matmul, ml_rule_linear;      /* linalg.c */
extern const ml_backward_fn ml_rule_sum, ml_rule_root;           /* reduce.c */
extern const ml_backward_fn ml_rule_reshape, ml_rule_permute, ml_rule_slice, ml_rule_expand,
    ml_rule_identity;                                            /* shape.c */
extern const ml_backward_fn ml_rule_cat;                         /* join.c */
extern const ml_backward_fn ml_rule_to;                          /* compare.c */
extern const ml_backward_fn ml_rule_conv2d, ml_rule_conv_transpose2d; /* conv.c */
extern const ml_backward_fn ml_rule_layer_norm;                  /* norm.c */

/* The differentiable rule for node n, or NULL with ml_error set naming the
 * op ("create_graph through conv_transpose2d is not supported yet"). */
ml_backward_fn ml_graph_rule(const ml_node *n);

#endif
