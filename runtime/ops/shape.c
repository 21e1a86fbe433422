/* Views: reshape, transpose, permute, narrow, select, expand, squeeze,
 * unsqueeze. None copies (reshape copies only when no view can express the
 * result). Each records a backward rule that maps the gradient back. */
#include <string.h>

#include "../autograd/autograd.h"
#include "ops.h"

static ml_tensor *fail_shape(const char *fn, const char *what, const ml_tensor *a) {
    char b[128];
    return ml_error("%s: %s (tensor of shape %s)", fn, what, ml_shape_str(b, sizeof b, a->ndim, a->shape));
}

/* ---- reshape --------------------------------------------------------- */
static int reshape_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    gin[0] = ml_reshape(g, n->in_ndim[0], n->in_shape[0]);
    return gin[0] ? 0 : -1;
}

/* Resolves a -1 and checks the element count. */
static int infer_shape(const char *fn, const ml_tensor *a, int ndim, const int64_t *shape, int64_t *out) {
    int infer = -1;
    int64_t known = 1;
    if (ndim > ML_MAX_DIMS) { ml_error("%s: at most %d dimensions", fn, ML_MAX_DIMS); return -1; }
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == -1) {
            if (infer >= 0) { ml_error("%s: only one dimension can be -1", fn); return -1; }
            infer = i;
        } else if (shape[i] < 0) {
            ml_error("%s: invalid size %lld", fn, (long long)shape[i]);
            return -1;
        } else {
            known *= shape[i];
        }
        out[i] = shape[i];
    }
    if (infer >= 0) {
        if (known == 0 || a->numel % known) {
            char b1[128], b2[128];
            ml_error("%s: cannot reshape tensor of shape %s (%lld elements) into %s", fn,
                     ml_shape_str(b1, sizeof b1, a->ndim, a->shape), (long long)a->numel,
                     ml_shape_str(b2, sizeof b2, ndim, shape));
            return -1;
        }
        out[infer] = a->numel / known;
    } else if (known != a->numel) {
        char b1[128], b2[128];
        ml_error("%s: cannot reshape tensor of shape %s (%lld elements) into %s (%lld elements)", fn,
                 ml_shape_str(b1, sizeof b1, a->ndim, a->shape), (long long)a->numel,
                 ml_shape_str(b2, sizeof b2, ndim, shape), (long long)known);
        return -1;
    }
    return 0;
}

/* Strides that view a's data with the new shape, if any (PyTorch's
 * computeStride: split a into chunks that are contiguous in memory and map
 * the new dimensions onto them). */
static bool view_strides(const ml_tensor *a, int ndim, const int64_t *shape, int64_t *strides) {
    if (a->numel == 0 || ml_is_contiguous(a)) {
        ml_contiguous_strides(ndim, shape, strides);
        return true;
    }
    int view_d = ndim - 1;
    int64_t chunk = a->strides[a->ndim - 1], tn = 1, vn = 1;
    for (int td = a->ndim - 1; td >= 0; td--) {
        tn *= a->shape[td];
        if (td == 0 || (a->shape[td - 1] != 1 && a->strides[td - 1] != tn * chunk)) {
            while (view_d >= 0 && (vn < tn || shape[view_d] == 1)) {
                strides[view_d] = vn * chunk;
                vn *= shape[view_d];
                view_d--;
            }
            if (vn != tn) return false;
            if (td > 0) {
                chunk = a->strides[td - 1];
                tn = vn = 1;
            }
        }
    }
    return view_d == -1;
}

static ml_tensor *reshape_impl(const char *fn, ml_tensor *a, int ndim, const int64_t *shape, bool allow_copy) {
    int64_t s[ML_MAX_DIMS], st[ML_MAX_DIMS];
    if (infer_shape(fn, a, ndim, shape, s) < 0) return NULL;
    ml_tensor *out;
    if (view_strides(a, ndim, s, st)) {
        out = ml_view(a, ndim, s, st, a->offset);
    } else if (!allow_copy) {
        return fail_shape(fn, "the strides of this view do not allow it; use reshape() or contiguous() first", a);
    } else {
        ml_tensor *c = ml_clone(a);
        if (!c) return NULL;
        ml_contiguous_strides(ndim, s, st);
        out = ml_view(c, ndim, s, st, 0);
        ml_release(c);
    }
    if (out && ml_needs_record(1, &a) && !ml_record(fn, reshape_backward, out, 1, &a)) {
        ml_release(out);
        return NULL;
    }
    return out;
}

ml_tensor *ml_reshape(ml_tensor *a, int ndim, const int64_t *shape) { return reshape_impl("reshape", a, ndim, shape, true); }
ml_tensor *ml_view_shape(ml_tensor *a, int ndim, const int64_t *shape) { return reshape_impl("view", a, ndim, shape, false); }

/* ---- transpose and permute ------------------------------------------- */
static int permute_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    int inv[ML_MAX_DIMS];
    for (int i = 0; i < n->out_ndim; i++) inv[n->ctx.permute.perm[i]] = i;
    gin[0] = ml_permute(g, inv);
    return gin[0] ? 0 : -1;
}

ml_tensor *ml_permute(ml_tensor *a, const int *perm) {
    int64_t s[ML_MAX_DIMS], st[ML_MAX_DIMS];
    bool seen[ML_MAX_DIMS] = {0};
    for (int i = 0; i < a->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= a->ndim || seen[perm[i]])
            return fail_shape("permute", "the dimensions must be a permutation of 1..ndim", a);
        seen[perm[i]] = true;
        s[i] = a->shape[perm[i]];
        st[i] = a->strides[perm[i]];
    }
    ml_tensor *out = ml_view(a, a->ndim, s, st, a->offset);
    if (out && ml_needs_record(1, &a)) {
        ml_node *n = ml_record("permute", permute_backward, out, 1, &a);
        if (!n) { ml_release(out); return NULL; }
        for (int i = 0; i < a->ndim; i++) n->ctx.permute.perm[i] = perm[i];
    }
    return out;
}

ml_tensor *ml_transpose(ml_tensor *a, int d0, int d1) {
    if (d0 < 0 || d0 >= a->ndim || d1 < 0 || d1 >= a->ndim) return fail_shape("transpose", "dimension out of range", a);
    int perm[ML_MAX_DIMS];
    for (int i = 0; i < a->ndim; i++) perm[i] = i;
    perm[d0] = d1;
    perm[d1] = d0;
    return ml_permute(a, perm);
}

/* ---- narrow and select ----------------------------------------------- */
/* gradient of a slice: zeros of the input's shape with g written into the slice */
static int slice_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *z = ml_zeros(n->in_ndim[0], n->in_shape[0], g->dtype);
    if (!z) return -1;
    int dim = n->ctx.slice.dim;
    int64_t start = n->ctx.slice.start, len = n->ctx.slice.len;
    ml_tensor *v = len < 0 ? ml_select(z, dim, start) : ml_narrow(z, dim, start, len);
    int r = v ? ml_copy_into(v, g) : -1;
    ml_release(v);
    if (r < 0) { ml_release(z); return -1; }
    gin[0] = z;
    return 0;
}

ml_tensor *ml_narrow(ml_tensor *a, int dim, int64_t start, int64_t len) {
    if (dim < 0 || dim >= a->ndim) return fail_shape("narrow", "dimension out of range", a);
    if (start < 0 || len < 0 || start > a->shape[dim] || len > a->shape[dim] - start)
        return ml_error("narrow: range [%lld, %lld] is out of bounds for dimension %d of size %lld", (long long)start + 1,
                        (long long)(start + len), dim + 1, (long long)a->shape[dim]);
    int64_t s[ML_MAX_DIMS];
    memcpy(s, a->shape, sizeof s);
    s[dim] = len;
    ml_tensor *out = ml_view(a, a->ndim, s, a->strides, a->offset + start * a->strides[dim]);
    if (out && ml_needs_record(1, &a)) {
        ml_node *n = ml_record("narrow", slice_backward, out, 1, &a);
        if (!n) { ml_release(out); return NULL; }
        n->ctx.slice.dim = dim;
        n->ctx.slice.start = start;
        n->ctx.slice.len = len;
    }
    return out;
}

ml_tensor *ml_select(ml_tensor *a, int dim, int64_t index) {
    if (a->ndim == 0) return ml_error("select: cannot index a 0-d tensor");
    if (dim < 0 || dim >= a->ndim) return fail_shape("select", "dimension out of range", a);
    if (index < 0 || index >= a->shape[dim])
        return ml_error("select: index %lld is out of range for dimension %d of size %lld", (long long)index + 1, dim + 1,
                        (long long)a->shape[dim]);
    int64_t s[ML_MAX_DIMS], st[ML_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < a->ndim; i++) {
        if (i == dim) continue;
        s[k] = a->shape[i];
        st[k++] = a->strides[i];
    }
    ml_tensor *out = ml_view(a, k, s, st, a->offset + index * a->strides[dim]);
    if (out && ml_needs_record(1, &a)) {
        ml_node *n = ml_record("select", slice_backward, out, 1, &a);
        if (!n) { ml_release(out); return NULL; }
        n->ctx.slice.dim = dim;
        n->ctx.slice.start = index;
        n->ctx.slice.len = -1;
    }
    return out;
}

/* ---- expand, squeeze, unsqueeze ---------------------------------------- */
static int expand_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    gin[0] = ml_sum_to_shape(g, n->in_ndim[0], n->in_shape[0]);
    return gin[0] ? 0 : -1;
}

ml_tensor *ml_expand(ml_tensor *a, int ndim, const int64_t *shape) {
    if (ndim < a->ndim) return fail_shape("expand", "the new shape has fewer dimensions than the tensor", a);
    if (ndim > ML_MAX_DIMS) return ml_error("expand: at most %d dimensions", ML_MAX_DIMS);
    int64_t s[ML_MAX_DIMS], st[ML_MAX_DIMS];
    for (int i = 0; i < ndim; i++) {
        int ia = i - (ndim - a->ndim);
        int64_t cur = ia >= 0 ? a->shape[ia] : 1;
        int64_t want = shape[i] == -1 ? cur : shape[i];
        if (ia < 0 && shape[i] == -1) return ml_error("expand: -1 is not allowed for a new leading dimension");
        if (want < 0) return ml_error("expand: invalid size %lld", (long long)want);
        if (cur != want && cur != 1) {
            char b1[128], b2[128];
            return ml_error("expand: cannot expand shape %s to %s (dimension %d: %lld vs %lld)",
                            ml_shape_str(b1, sizeof b1, a->ndim, a->shape), ml_shape_str(b2, sizeof b2, ndim, shape),
                            i + 1, (long long)cur, (long long)want);
        }
        s[i] = want;
        st[i] = (ia < 0 || cur != want) ? 0 : a->strides[ia];
    }
    ml_tensor *out = ml_view(a, ndim, s, st, a->offset);
    if (out && ml_needs_record(1, &a) && !ml_record("expand", expand_backward, out, 1, &a)) {
        ml_release(out);
        return NULL;
    }
    return out;
}

ml_tensor *ml_squeeze(ml_tensor *a, int dim) {
    int64_t s[ML_MAX_DIMS];
    int k = 0;
    if (dim >= a->ndim) return fail_shape("squeeze", "dimension out of range", a);
    for (int i = 0; i < a->ndim; i++)
        if (!((dim < 0 || dim == i) && a->shape[i] == 1)) s[k++] = a->shape[i];
    return reshape_impl("squeeze", a, k, s, false);
}

ml_tensor *ml_unsqueeze(ml_tensor *a, int dim) {
    if (dim < 0 || dim > a->ndim) return fail_shape("unsqueeze", "dimension out of range", a);
    if (a->ndim >= ML_MAX_DIMS) return ml_error("unsqueeze: at most %d dimensions", ML_MAX_DIMS);
    int64_t s[ML_MAX_DIMS];
    int k = 0;
    for (int i = 0; i <= a->ndim; i++) {
        if (i == dim) s[k++] = 1;
        if (i < a->ndim) s[k++] = a->shape[i];
    }
    return reshape_impl("unsqueeze", a, k, s, false);
}

/* ---- copies that keep the graph -------------------------------------- */
static int identity_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    gin[0] = ml_retain(g);
    return 0;
}

static ml_tensor *copy_op(const char *fn, ml_tensor *a, ml_tensor *out) {
    if (out && ml_needs_record(1, &a) && !ml_record(fn, identity_backward, out, 1, &a)) {
        ml_release(out);
        return NULL;
    }
    return out;
}

ml_tensor *ml_contiguous_op(ml_tensor *a) {
    if (ml_is_contiguous(a)) return ml_retain(a);
    return copy_op("contiguous", a, ml_clone(a));
}

ml_tensor *ml_clone_op(ml_tensor *a) { return copy_op("clone", a, ml_clone(a)); }

ml_tensor *ml_detach(ml_tensor *a) { return ml_alias(a); }

/* the rules autograd/graph_rules.c knows by address (create_graph) */
const ml_backward_fn ml_rule_reshape = reshape_backward, ml_rule_permute = permute_backward,
                     ml_rule_slice = slice_backward, ml_rule_expand = expand_backward,
                     ml_rule_identity = identity_backward;
