/* Data movement ops: fill, copy, dtype conversion, contiguous copies,
 * reshape and concatenation. Every dtype is accepted. */
#include <stdio.h>
#include <string.h>

#include "engine/ops_impl.h"

wt_tensor *wt_fill_(wt_ctx *ctx, wt_tensor *dst, double v) {
    if (!wt_ops_ready_named_(ctx, "wt_fill_", 1, (const wt_tensor *const[]){dst})) return NULL;
    if (!wt_ops_check_(ctx, "wt_fill_", wt_ops_be_(ctx)->fill(dst, v))) return NULL;
    return dst;
}

wt_tensor *wt_copy_(wt_ctx *ctx, wt_tensor *dst, const wt_tensor *src) {
    const char *op = "wt_copy_";
    if (!wt_ops_ready_named_(ctx, op, 2, (const wt_tensor *const[]){dst, src})) return NULL;
    bool fits = src->ndim <= dst->ndim;
    for (int i = 0; fits && i < src->ndim; i++) {
        int64_t have = src->shape[i], want = dst->shape[i + dst->ndim - src->ndim];
        fits = have == want || have == 1;
    }
    if (!fits) {
        wt_ops_shape_error_(ctx, op, "dst", dst, "src", src, "differ (src must broadcast to dst)");
        return NULL;
    }
    /* a stack view: the broadcast needs no descriptor from ctx */
    wt_tensor s = *src;
    int off = dst->ndim - src->ndim;
    s.ndim = dst->ndim;
    for (int i = dst->ndim - 1; i >= 0; i--) {
        int j = i - off;
        int64_t have = j >= 0 ? src->shape[j] : 1;
        s.stride[i] = (j >= 0 && have == dst->shape[i]) ? src->stride[j] : 0;
        s.shape[i] = dst->shape[i];
    }
    if (!wt_ops_check_(ctx, op, wt_ops_be_(ctx)->copy(dst, &s))) return NULL;
    return dst;
}

wt_tensor *wt_to_dtype(wt_ctx *ctx, const wt_tensor *src, wt_dtype dtype) {
    if (!wt_ops_ready_named_(ctx, "wt_to_dtype", 1, (const wt_tensor *const[]){src})) return NULL;
    if (wt_dtype_size(dtype) == 0) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "wt_to_dtype: invalid dtype %d", (int)dtype);
        return NULL;
    }
    wt_tensor *out = wt_ops_out_(ctx, dtype, src->ndim, src->shape);
    if (!out) return NULL;
    if (!wt_ops_check_(ctx, "wt_to_dtype", wt_ops_be_(ctx)->copy(out, src))) return NULL;
    return out;
}

wt_tensor *wt_contiguous(wt_ctx *ctx, const wt_tensor *src) {
    if (!wt_ops_ready_named_(ctx, "wt_contiguous", 1, (const wt_tensor *const[]){src})) return NULL;
    return wt_to_dtype(ctx, src, src->dtype);
}

wt_tensor *wt_reshape(wt_ctx *ctx, const wt_tensor *src, int ndim, const int64_t *shape) {
    if (!wt_ops_ready_named_(ctx, "wt_reshape", 1, (const wt_tensor *const[]){src})) return NULL;
    if (wt_is_contiguous(src)) return wt_view(ctx, src, ndim, shape);
    wt_tensor *v = wt_view(ctx, src, ndim, shape);
    if (v) return v;
    /* the strides did not allow a view (or the shape is wrong, which the
     * view of the copy reports again): copy, then view */
    if (wt_ctx_status(ctx) != WT_ERR_INVALID) return NULL;
    wt_ctx_clear_error(ctx);
    wt_clear_error();
    wt_tensor *c = wt_contiguous(ctx, src);
    return c ? wt_view(ctx, c, ndim, shape) : NULL;
}

wt_tensor *wt_cat(wt_ctx *ctx, const wt_tensor *const *ts, int n, int dim) {
    const char *op = "wt_cat";
    if (!ctx || wt_ctx_status(ctx) != WT_OK) return NULL;
    if (n <= 0 || !ts) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: no tensors to concatenate (n = %d)", op, n);
        return NULL;
    }
    if (!wt_ops_ready_named_(ctx, op, n, ts)) return NULL;
    const wt_tensor *t0 = ts[0];
    int d = wt_ops_dim_(ctx, op, t0, dim);
    if (d < 0) return NULL;
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        const wt_tensor *t = ts[i];
        bool ok = t->ndim == t0->ndim && t->dtype == t0->dtype;
        for (int k = 0; ok && k < t->ndim; k++) ok = k == d || t->shape[k] == t0->shape[k];
        if (!ok) {
            char w[32];
            snprintf(w, sizeof w, "tensor %d", i);
            wt_ops_shape_error_(ctx, op, "tensor 0", t0, w, t,
                                t->dtype != t0->dtype ? "have different dtypes"
                                                      : "differ outside the concatenated dimension");
            return NULL;
        }
        total += t->shape[d];
    }
    int64_t shape[WT_MAX_DIMS];
    memcpy(shape, t0->shape, sizeof shape);
    shape[d] = total;
    wt_tensor *out = wt_ops_out_(ctx, t0->dtype, t0->ndim, shape);
    if (!out) return NULL;
    size_t es = wt_dtype_size(out->dtype);
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        wt_tensor slice = *out;
        slice.shape[d] = ts[i]->shape[d];
        slice.data = (char *)out->data + (size_t)(at * out->stride[d]) * es;
        at += ts[i]->shape[d];
        if (slice.shape[d] == 0) continue;
        if (!wt_ops_check_(ctx, op, wt_ops_be_(ctx)->copy(&slice, ts[i]))) return NULL;
    }
    return out;
}
