/* Neural-network ops: softmax with masks, rms/layer/group norm, rope, glu,
 * pad, index_select and scatter_set. Checks shapes, dtypes and index ranges
 * here so the backends only do the math. */
#include <stdio.h>
#include <string.h>

#include "engine/ops_impl.h"

/* ---- softmax ---- */

static bool softmax_args(wt_ctx *ctx, const char *op, const wt_tensor *x, const wt_tensor *mask,
                         wt_mask_kind kind, wt_tensor *mask_view) {
    if (!wt_ops_dtype_(ctx, op, "x", x, WT_F32)) return false;
    if (kind != WT_MASK_NONE && kind != WT_MASK_CAUSAL) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: unknown mask kind %d", op, (int)kind);
        return false;
    }
    if (!mask) return true;
    return wt_ops_dtype_(ctx, op, "mask", mask, WT_F32) &&
           wt_ops_expand_into_(ctx, op, mask, x->ndim, x->shape, mask_view);
}

wt_tensor *wt_softmax(wt_ctx *ctx, const wt_tensor *x, float scale, const wt_tensor *mask,
                      wt_mask_kind kind, int64_t window) {
    const char *op = "wt_softmax";
    if (!wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){x})) return NULL;
    if (mask && !wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){mask})) return NULL;
    wt_tensor mv;
    if (!softmax_args(ctx, op, x, mask, kind, &mv)) return NULL;
    wt_tensor *y = wt_ops_out_(ctx, WT_F32, x->ndim, x->shape);
    if (!y) return NULL;
    wt_status s = wt_ops_be_(ctx)->softmax(y, x, scale, mask ? &mv : NULL, kind, window);
    return wt_ops_check_(ctx, op, s) ? y : NULL;
}

wt_tensor *wt_softmax_(wt_ctx *ctx, wt_tensor *x, float scale, const wt_tensor *mask,
                       wt_mask_kind kind, int64_t window) {
    const char *op = "wt_softmax_";
    if (!wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){x})) return NULL;
    if (mask && !wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){mask})) return NULL;
    wt_tensor mv;
    if (!softmax_args(ctx, op, x, mask, kind, &mv)) return NULL;
    wt_status s = wt_ops_be_(ctx)->softmax(x, x, scale, mask ? &mv : NULL, kind, window);
    return wt_ops_check_(ctx, op, s) ? x : NULL;
}

/* ---- norms ---- */

/* p is NULL or an f32 vector of n entries. */
static bool param_ok(wt_ctx *ctx, const char *op, const char *what, const wt_tensor *p, int64_t n,
                     const wt_tensor *x) {
    if (!p) return true;
    if (p->backend != wt_ctx_backend(ctx)) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: %s is on another backend than the context", op, what);
        return false;
    }
    if (!wt_ops_dtype_(ctx, op, what, p, WT_F32)) return false;
    if (p->ndim != 1 || p->shape[0] != n) {
        char sp[160], sx[160];
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: %s shape %s does not match x shape %s (expected [%lld])",
                    op, what, wt_shape_str(p, sp, sizeof sp), wt_shape_str(x, sx, sizeof sx),
                    (long long)n);
        return false;
    }
    return true;
}

static bool norm_x_ok(wt_ctx *ctx, const char *op, const wt_tensor *x, int min_rank) {
    if (!wt_ops_dtype_(ctx, op, "x", x, WT_F32)) return false;
    if (x->ndim < min_rank) {
        char s[160];
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: x shape %s needs at least %d dimensions", op,
                    wt_shape_str(x, s, sizeof s), min_rank);
        return false;
    }
    return true;
}

wt_tensor *wt_rms_norm(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, float eps) {
    const char *op = "wt_rms_norm";
    if (!wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){x})) return NULL;
    if (!norm_x_ok(ctx, op, x, 1) || !param_ok(ctx, op, "w", w, x->shape[x->ndim - 1], x)) return NULL;
    wt_tensor *y = wt_ops_out_(ctx, WT_F32, x->ndim, x->shape);
    if (!y) return NULL;
    return wt_ops_check_(ctx, op, wt_ops_be_(ctx)->rms_norm(y, x, w, eps)) ? y : NULL;
}

wt_tensor *wt_layer_norm(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, const wt_tensor *b,
                         float eps) {
    const char *op = "wt_layer_norm";
    if (!wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){x})) return NULL;
    if (!norm_x_ok(ctx, op, x, 1)) return NULL;
    int64_t c = x->shape[x->ndim - 1];
    if (!param_ok(ctx, op, "w", w, c, x) || !param_ok(ctx, op, "b", b, c, x)) return NULL;
    wt_tensor *y = wt_ops_out_(ctx, WT_F32, x->ndim, x->shape);
    if (!y) return NULL;
    return wt_ops_check_(ctx, op, wt_ops_be_(ctx)->layer_norm(y, x, w, b, eps)) ? y : NULL;
}

wt_tensor *wt_group_norm(wt_ctx *ctx, const wt_tensor *x, int groups, const wt_tensor *w,
                         const wt_tensor *b, float eps) {
    const char *op = "wt_group_norm";
    if (!wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){x})) return NULL;
    if (!norm_x_ok(ctx, op, x, 2)) return NULL;
    int64_t c = x->shape[1];
    if (groups <= 0 || c % groups != 0) {
        char s[160];
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: %d groups do not divide the %lld channels of x %s", op,
                    groups, (long long)c, wt_shape_str(x, s, sizeof s));
        return NULL;
    }
    if (!param_ok(ctx, op, "w", w, c, x) || !param_ok(ctx, op, "b", b, c, x)) return NULL;
    wt_tensor *y = wt_ops_out_(ctx, WT_F32, x->ndim, x->shape);
    if (!y) return NULL;
    return wt_ops_check_(ctx, op, wt_ops_be_(ctx)->group_norm(y, x, groups, w, b, eps)) ? y : NULL;
}

/* ---- rope ---- */

/* Fills 4-D stack views of x ([B, T, H, hd]) and pos ([B, T], stride 0 on B
 * when shared) after checking shapes. */
static bool rope_args(wt_ctx *ctx, const char *op, const wt_tensor *x, const wt_tensor *pos,
                      wt_rope_layout layout, wt_tensor *x4, wt_tensor *p2) {
    if (!wt_ops_dtype_(ctx, op, "x", x, WT_F32) || !wt_ops_dtype_(ctx, op, "pos", pos, WT_I64))
        return false;
    if (layout != WT_ROPE_INTERLEAVED && layout != WT_ROPE_HALVES) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: unknown layout %d", op, (int)layout);
        return false;
    }
    if ((x->ndim != 3 && x->ndim != 4) || x->shape[x->ndim - 1] % 2 != 0) {
        char s[160];
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: x shape %s is not [B, T, H, hd] or [T, H, hd] with even hd",
                    op, wt_shape_str(x, s, sizeof s));
        return false;
    }
    *x4 = *x;
    if (x->ndim == 3) {
        for (int d = 3; d > 0; d--) {
            x4->shape[d] = x->shape[d - 1];
            x4->stride[d] = x->stride[d - 1];
        }
        x4->shape[0] = 1;
        x4->stride[0] = 0;
        x4->ndim = 4;
    }
    int64_t nb = x4->shape[0], nt = x4->shape[1];
    bool ok = (pos->ndim == 1 && pos->shape[0] == nt) ||
              (pos->ndim == 2 && pos->shape[1] == nt && (pos->shape[0] == nb || pos->shape[0] == 1) &&
               x->ndim == 4);
    if (!ok) {
        wt_ops_shape_error_(ctx, op, "x", x, "pos", pos, "do not match (pos is [B, T] or [T])");
        return false;
    }
    *p2 = *pos;
    p2->ndim = 2;
    if (pos->ndim == 1) {
        p2->shape[1] = nt;
        p2->stride[1] = pos->stride[0];
        p2->stride[0] = 0;
    } else if (pos->shape[0] == 1) {
        p2->stride[0] = 0;
    }
    p2->shape[0] = nb;
    return true;
}

wt_tensor *wt_rope(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *pos, float base,
                   wt_rope_layout layout) {
    const char *op = "wt_rope";
    if (!wt_ops_ready_named_(ctx, op, 2, (const wt_tensor *const[]){x, pos})) return NULL;
    wt_tensor x4, p2;
    if (!rope_args(ctx, op, x, pos, layout, &x4, &p2)) return NULL;
    wt_tensor *y = wt_ops_out_(ctx, WT_F32, x->ndim, x->shape);
    if (!y) return NULL;
    wt_tensor y4 = *y;
    if (y->ndim == 3) {
        y4.ndim = 4;
        y4.shape[0] = 1;
        y4.stride[0] = 0;
        for (int d = 1; d < 4; d++) {
            y4.shape[d] = y->shape[d - 1];
            y4.stride[d] = y->stride[d - 1];
        }
    }
    return wt_ops_check_(ctx, op, wt_ops_be_(ctx)->rope(&y4, &x4, &p2, base, layout)) ? y : NULL;
}

wt_tensor *wt_rope_(wt_ctx *ctx, wt_tensor *x, const wt_tensor *pos, float base,
                    wt_rope_layout layout) {
    const char *op = "wt_rope_";
    if (!wt_ops_ready_named_(ctx, op, 2, (const wt_tensor *const[]){x, pos})) return NULL;
    wt_tensor x4, p2;
    if (!rope_args(ctx, op, x, pos, layout, &x4, &p2)) return NULL;
    return wt_ops_check_(ctx, op, wt_ops_be_(ctx)->rope(&x4, &x4, &p2, base, layout)) ? x : NULL;
}

/* ---- glu, pad ---- */

wt_tensor *wt_glu(wt_ctx *ctx, const wt_tensor *x, int dim) {
    const char *op = "wt_glu";
    if (!wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){x})) return NULL;
    if (!wt_ops_dtype_(ctx, op, "x", x, WT_F32)) return NULL;
    int d = wt_ops_dim_(ctx, op, x, dim);
    if (d < 0) return NULL;
    if (x->shape[d] % 2 != 0) {
        char s[160];
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: dimension %d of x %s has odd size", op, d,
                    wt_shape_str(x, s, sizeof s));
        return NULL;
    }
    int64_t shape[WT_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[d] /= 2;
    wt_tensor *y = wt_ops_out_(ctx, WT_F32, x->ndim, shape);
    if (!y) return NULL;
    return wt_ops_check_(ctx, op, wt_ops_be_(ctx)->glu(y, x, d)) ? y : NULL;
}

wt_tensor *wt_pad(wt_ctx *ctx, const wt_tensor *x, int dim, int64_t left, int64_t right,
                  wt_pad_mode mode, double value) {
    const char *op = "wt_pad";
    if (!wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){x})) return NULL;
    int d = wt_ops_dim_(ctx, op, x, dim);
    if (d < 0) return NULL;
    int64_t n = x->shape[d];
    char s[160];
    if (left < 0 || right < 0) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: negative padding (%lld, %lld) of x %s", op,
                    (long long)left, (long long)right, wt_shape_str(x, s, sizeof s));
        return NULL;
    }
    if (mode != WT_PAD_CONSTANT && mode != WT_PAD_REPLICATE && mode != WT_PAD_REFLECT) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: unknown pad mode %d", op, (int)mode);
        return NULL;
    }
    if ((mode == WT_PAD_REPLICATE && n == 0 && left + right > 0) ||
        (mode == WT_PAD_REFLECT && (left >= n || right >= n) && left + right > 0)) {
        wt_ctx_fail(ctx, WT_ERR_INVALID,
                    "%s: %s padding (%lld, %lld) needs a larger dimension %d in x %s", op,
                    mode == WT_PAD_REFLECT ? "reflect" : "replicate", (long long)left,
                    (long long)right, d, wt_shape_str(x, s, sizeof s));
        return NULL;
    }
    int64_t shape[WT_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[d] = n + left + right;
    wt_tensor *y = wt_ops_out_(ctx, x->dtype, x->ndim, shape);
    if (!y) return NULL;
    if (wt_numel(y) == 0) return y;
    return wt_ops_check_(ctx, op, wt_ops_be_(ctx)->pad(y, x, d, left, mode, value)) ? y : NULL;
}

/* ---- indexing ---- */

/* idx as a contiguous i64 tensor whose entries all lie in [0, n) (checked
 * on host backends). */
static const wt_tensor *checked_index(wt_ctx *ctx, const char *op, const wt_tensor *idx, int64_t n,
                                      int d, const wt_tensor *src) {
    if (!wt_ops_dtype_(ctx, op, "idx", idx, WT_I64)) return NULL;
    const wt_tensor *c = wt_is_contiguous(idx) ? idx : wt_contiguous(ctx, idx);
    if (!c) return NULL;
    int64_t total = wt_numel(c), buf[256];
    const wt_backend *be = wt_ctx_backend(ctx);
    /* a device cannot be read without a synchronisation, which would break
     * a captured step: its kernels skip out-of-range indices instead
     * (engine/backend.h) */
    if (!be->host) return c;
    for (int64_t i0 = 0; i0 < total; i0 += 256) {
        int64_t m = total - i0 < 256 ? total - i0 : 256;
        be->download(buf, (const int64_t *)c->data + i0, sizeof(int64_t) * (size_t)m);
        for (int64_t k = 0; k < m; k++) {
            if (buf[k] < 0 || buf[k] >= n) {
                char s[160];
                wt_ctx_fail(ctx, WT_ERR_INVALID,
                            "%s: index %lld at position %lld out of range for dimension %d of size %lld (tensor %s)",
                            op, (long long)buf[k], (long long)(i0 + k), d, (long long)n,
                            wt_shape_str(src, s, sizeof s));
                return NULL;
            }
        }
    }
    return c;
}

wt_tensor *wt_index_select(wt_ctx *ctx, const wt_tensor *src, int dim, const wt_tensor *idx) {
    const char *op = "wt_index_select";
    if (!wt_ops_ready_named_(ctx, op, 2, (const wt_tensor *const[]){src, idx})) return NULL;
    int d = wt_ops_dim_(ctx, op, src, dim);
    if (d < 0) return NULL;
    if (src->ndim - 1 + idx->ndim > WT_MAX_DIMS) {
        wt_ops_shape_error_(ctx, op, "src", src, "idx", idx, "give a result of too many dimensions");
        return NULL;
    }
    const wt_tensor *ci = checked_index(ctx, op, idx, src->shape[d], d, src);
    if (!ci) return NULL;
    wt_dtype dt = (src->dtype == WT_F16 || src->dtype == WT_BF16) ? WT_F32 : src->dtype;
    int64_t shape[WT_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < d; i++) shape[nd++] = src->shape[i];
    for (int i = 0; i < idx->ndim; i++) shape[nd++] = idx->shape[i];
    for (int i = d + 1; i < src->ndim; i++) shape[nd++] = src->shape[i];
    wt_tensor *y = wt_ops_out_(ctx, dt, nd, shape);
    if (!y) return NULL;
    /* the backend sees y with idx's dims flattened into one */
    wt_tensor flat = *y;
    flat.ndim = src->ndim;
    int64_t st = 1;
    for (int i = src->ndim - 1; i >= 0; i--) {
        flat.shape[i] = i == d ? wt_numel(idx) : src->shape[i];
        flat.stride[i] = st;
        st *= flat.shape[i];
    }
    if (wt_numel(y) == 0) return y;
    return wt_ops_check_(ctx, op, wt_ops_be_(ctx)->index_select(&flat, src, d, ci)) ? y : NULL;
}

wt_tensor *wt_scatter_set_(wt_ctx *ctx, wt_tensor *dst, int dim, const wt_tensor *idx,
                           const wt_tensor *src) {
    const char *op = "wt_scatter_set_";
    if (!wt_ops_ready_named_(ctx, op, 3, (const wt_tensor *const[]){dst, idx, src})) return NULL;
    int d = wt_ops_dim_(ctx, op, dst, dim);
    if (d < 0) return NULL;
    if (idx->ndim != 1) {
        wt_ops_shape_error_(ctx, op, "dst", dst, "idx", idx, "do not match (idx must be [n])");
        return NULL;
    }
    bool ok = src->ndim == dst->ndim;
    for (int i = 0; ok && i < dst->ndim; i++)
        ok = src->shape[i] == (i == d ? idx->shape[0] : dst->shape[i]);
    if (!ok) {
        wt_ops_shape_error_(ctx, op, "dst", dst, "src", src,
                            "do not match (src must be dst's shape with idx's length at dim)");
        return NULL;
    }
    const wt_tensor *ci = checked_index(ctx, op, idx, dst->shape[d], d, dst);
    if (!ci) return NULL;
    if (wt_numel(src) == 0) return dst;
    return wt_ops_check_(ctx, op, wt_ops_be_(ctx)->scatter_set(dst, d, ci, src)) ? dst : NULL;
}
