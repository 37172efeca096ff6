/* Shared front-end helpers for the ops (see engine/ops_impl.h). */
#include "engine/ops_impl.h"

#include <string.h>

bool wt_ops_ready_named_(wt_ctx *ctx, const char *op, int n, const wt_tensor *const *ts) {
    if (!ctx) return false;
    if (wt_ctx_status(ctx) != WT_OK) return false;
    const wt_backend *be = wt_ctx_backend(ctx);
    for (int i = 0; i < n; i++) {
        if (!ts[i]) {
            wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: input %d is NULL (an earlier step failed?)", op, i + 1);
            return false;
        }
        if (ts[i]->backend != be) {
            wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: input %d lives on backend '%s', the context on '%s'",
                        op, i + 1, ts[i]->backend ? ts[i]->backend->name : "?", be->name);
            return false;
        }
    }
    return true;
}

bool wt_ops_ready_(wt_ctx *ctx, int n, const wt_tensor *const *ts) {
    return wt_ops_ready_named_(ctx, "op", n, ts);
}

wt_tensor *wt_ops_out_(wt_ctx *ctx, wt_dtype dt, int ndim, const int64_t *shape) {
    return wt_tensor_new(ctx, dt, ndim, shape);
}

int wt_ops_dim_(wt_ctx *ctx, const char *op, const wt_tensor *t, int dim) {
    int d = wt_dim(t, dim);
    if (d < 0) {
        char s[160];
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: dimension %d out of range for a rank-%d tensor %s", op,
                    dim, t->ndim, wt_shape_str(t, s, sizeof s));
    }
    return d;
}

bool wt_ops_dtype_(wt_ctx *ctx, const char *op, const char *what, const wt_tensor *t, wt_dtype want) {
    if (t->dtype == want) return true;
    wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: %s has dtype %s, expected %s", op, what,
                wt_dtype_name(t->dtype), wt_dtype_name(want));
    return false;
}

bool wt_ops_same_dims_(const wt_tensor *a, const wt_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

void wt_ops_shape_error_(wt_ctx *ctx, const char *op, const char *what_a, const wt_tensor *a,
                         const char *what_b, const wt_tensor *b, const char *why) {
    char sa[160], sb[160];
    wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: %s shape %s and %s shape %s %s", op, what_a,
                wt_shape_str(a, sa, sizeof sa), what_b, wt_shape_str(b, sb, sizeof sb), why);
}

bool wt_ops_broadcast_shape_(wt_ctx *ctx, const char *op, const wt_tensor *a, const wt_tensor *b,
                             int *ndim, int64_t *shape) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t sa = ia >= 0 ? a->shape[ia] : 1;
        int64_t sb = ib >= 0 ? b->shape[ib] : 1;
        if (sa != sb && sa != 1 && sb != 1) {
            wt_ops_shape_error_(ctx, op, "a", a, "b", b, "do not broadcast");
            return false;
        }
        shape[i] = sa == 1 ? sb : sa;
    }
    *ndim = nd;
    return true;
}

bool wt_ops_expand_into_(wt_ctx *ctx, const char *op, const wt_tensor *t, int ndim,
                         const int64_t *shape, wt_tensor *out) {
    bool ok = t->ndim <= ndim;
    for (int i = 0; ok && i < t->ndim; i++) {
        int64_t have = t->shape[i], want = shape[i + ndim - t->ndim];
        ok = have == want || have == 1;
    }
    if (!ok) {
        char sa[160], sb[160];
        wt_tensor tmp = {.ndim = ndim};
        memcpy(tmp.shape, shape, sizeof(int64_t) * (size_t)ndim);
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: shape %s does not broadcast to shape %s", op,
                    wt_shape_str(t, sa, sizeof sa), wt_shape_str(&tmp, sb, sizeof sb));
        return false;
    }
    *out = *t;
    int off = ndim - t->ndim;
    out->ndim = ndim;
    for (int i = ndim - 1; i >= 0; i--) {
        int j = i - off;
        bool keep = j >= 0 && t->shape[j] == shape[i];
        out->stride[i] = keep ? t->stride[j] : 0;
        out->shape[i] = shape[i];
    }
    return true;
}

const wt_tensor *wt_ops_expand_(wt_ctx *ctx, const char *op, const wt_tensor *t, int ndim,
                                const int64_t *shape) {
    if (t->ndim == ndim && memcmp(t->shape, shape, sizeof(int64_t) * (size_t)ndim) == 0) return t;
    wt_tensor tmp;
    if (!wt_ops_expand_into_(ctx, op, t, ndim, shape, &tmp)) return NULL;
    wt_tensor *v = wt_ctx_new_desc(ctx);
    if (v) *v = tmp;
    return v;
}

bool wt_ops_check_(wt_ctx *ctx, const char *op, wt_status s) {
    if (s == WT_OK) return true;
    wt_ctx_fail(ctx, s, "%s: %s", op, wt_last_error());
    return false;
}
