/* Ops front-end for linear algebra and convolutions: wt_matmul, wt_linear,
 * wt_conv1d, wt_conv_transpose1d (contracts in include/wavetensor/ops.h).
 * Checks dtypes, shapes and parameters with errors that name both operands'
 * shapes, expands broadcasts into stride-0 descriptors held on the stack
 * (so no context descriptor is spent on them), allocates the result from
 * the context and hands the math to the backend with the context's thread
 * count. Never touches tensor data itself (the backend may be a GPU). */
#include <stdio.h>
#include <string.h>

#include "engine/ops_impl.h"

static bool is_float_dtype(wt_dtype dt) { return dt == WT_F32 || dt == WT_F16 || dt == WT_BF16; }

static bool need_f32(wt_ctx *ctx, const char *op, const char *what, const wt_tensor *t) {
    return wt_ops_dtype_(ctx, op, what, t, WT_F32);
}

/* ---- matmul ---- */

/* Runs dst = a x b on ctx's backend where a and b already have dst's rank
 * and their batch dims broadcast to dst's. */
static wt_tensor *run_matmul(wt_ctx *ctx, const char *op, wt_tensor *dst, const wt_tensor *a,
                             const wt_tensor *b) {
    if (!dst) return NULL;
    wt_status s = wt_ops_be_(ctx)->matmul(dst, a, b, wt_ctx_pool_(ctx));
    return wt_ops_check_(ctx, op, s) ? dst : NULL;
}

wt_tensor *wt_matmul(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *b) {
    static const char op[] = "wt_matmul";
    const wt_tensor *in[2] = {a, b};
    if (!wt_ops_ready_named_(ctx, op, 2, in)) return NULL;
    if (!need_f32(ctx, op, "a", a)) return NULL;
    if (!is_float_dtype(b->dtype)) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: b must be f32, f16 or bf16, got %s", op,
                    wt_dtype_name(b->dtype));
        return NULL;
    }
    if (a->ndim < 2 || b->ndim < 2) {
        wt_ops_shape_error_(ctx, op, "a", a, "b", b, "need at least 2 dimensions each ([..., M, K] x [..., K, N])");
        return NULL;
    }
    if (a->shape[a->ndim - 1] != b->shape[b->ndim - 2]) {
        wt_ops_shape_error_(ctx, op, "a", a, "b", b, "do not match: a's last dim must equal b's second-to-last");
        return NULL;
    }
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    wt_tensor ae = *a, bexp = *b;
    ae.ndim = bexp.ndim = nd;
    int64_t shape[WT_MAX_DIMS];
    /* batch dims, aligned from the right; size-1 dims broadcast (stride 0) */
    for (int i = 0; i < nd - 2; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t sa = ia >= 0 ? a->shape[ia] : 1, sb = ib >= 0 ? b->shape[ib] : 1;
        if (sa != sb && sa != 1 && sb != 1) {
            wt_ops_shape_error_(ctx, op, "a", a, "b", b, "batch dimensions do not broadcast");
            return NULL;
        }
        shape[i] = sa > sb ? sa : sb;
        if (sa == 0 || sb == 0) shape[i] = 0;
        ae.shape[i] = bexp.shape[i] = shape[i];
        ae.stride[i] = (ia >= 0 && sa == shape[i]) ? a->stride[ia] : 0;
        bexp.stride[i] = (ib >= 0 && sb == shape[i]) ? b->stride[ib] : 0;
    }
    for (int k = 0; k < 2; k++) {
        ae.shape[nd - 2 + k] = a->shape[a->ndim - 2 + k];
        ae.stride[nd - 2 + k] = a->stride[a->ndim - 2 + k];
        bexp.shape[nd - 2 + k] = b->shape[b->ndim - 2 + k];
        bexp.stride[nd - 2 + k] = b->stride[b->ndim - 2 + k];
    }
    shape[nd - 2] = a->shape[a->ndim - 2];
    shape[nd - 1] = b->shape[b->ndim - 1];
    return run_matmul(ctx, op, wt_ops_out_(ctx, WT_F32, nd, shape), &ae, &bexp);
}

/* ---- linear ---- */

wt_tensor *wt_linear(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, const wt_tensor *bias) {
    static const char op[] = "wt_linear";
    const wt_tensor *in[3] = {x, w, bias};
    if (!wt_ops_ready_named_(ctx, op, bias ? 3 : 2, in)) return NULL;
    if (!need_f32(ctx, op, "input", x)) return NULL;
    if (!is_float_dtype(w->dtype)) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: weight must be f32, f16 or bf16, got %s", op,
                    wt_dtype_name(w->dtype));
        return NULL;
    }
    if (w->ndim != 2 || x->ndim < 1) {
        wt_ops_shape_error_(ctx, op, "input", x, "weight", w, "need input [..., K] and weight [N, K]");
        return NULL;
    }
    int64_t K = w->shape[1], N = w->shape[0];
    if (x->shape[x->ndim - 1] != K) {
        wt_ops_shape_error_(ctx, op, "input", x, "weight", w, "do not match: input's last dim must equal weight's dim 1");
        return NULL;
    }
    if (bias) {
        if (!need_f32(ctx, op, "bias", bias)) return NULL;
        if (bias->ndim != 1 || bias->shape[0] != N) {
            wt_ops_shape_error_(ctx, op, "weight", w, "bias", bias, "do not match: bias must be [N] for weight [N, K]");
            return NULL;
        }
    }
    /* matmul operands: x as [..., M, K] (a 1-D x is one row) and the
     * transposed view of w, broadcast over x's batch dims */
    wt_tensor xe = *x, wt = *w;
    int nd = x->ndim;
    if (nd == 1) {
        xe.ndim = nd = 2;
        xe.shape[0] = 1;
        xe.stride[0] = K;
        xe.shape[1] = K;
        xe.stride[1] = x->stride[0];
    }
    wt.ndim = nd;
    for (int i = 0; i < nd - 2; i++) {
        wt.shape[i] = xe.shape[i];
        wt.stride[i] = 0;
    }
    wt.shape[nd - 2] = K;
    wt.stride[nd - 2] = w->stride[1];
    wt.shape[nd - 1] = N;
    wt.stride[nd - 1] = w->stride[0];
    int64_t shape[WT_MAX_DIMS];
    memcpy(shape, xe.shape, sizeof(int64_t) * (size_t)nd);
    shape[nd - 1] = N;
    wt_tensor *y = wt_ops_out_(ctx, WT_F32, nd, shape);
    if (!y) return NULL;
    if (!run_matmul(ctx, op, y, &xe, &wt)) return NULL;
    if (x->ndim == 1) { /* back to [N]: a contiguous [1, N] is a [N] */
        y->ndim = 1;
        y->shape[0] = N;
        y->stride[0] = 1;
    }
    if (bias) {
        wt_tensor be = *y;
        for (int i = 0; i < be.ndim; i++) be.stride[i] = 0;
        be.stride[be.ndim - 1] = bias->stride[0];
        be.data = bias->data;
        be.dtype = WT_F32;
        if (!wt_ops_check_(ctx, op, wt_ops_be_(ctx)->binary(WT_BINARY_ADD, y, y, &be))) return NULL;
    }
    return y;
}

/* ---- convolutions ---- */

/* Validates the common parts of a conv call: x [B, C, T] or [C, T] f32 (xe
 * gets the batched 3-D form), w 3-D f32, f16 or bf16, bias [cout] f32 or NULL. */
static bool conv_inputs(wt_ctx *ctx, const char *op, const wt_tensor *x, const wt_tensor *w,
                        const wt_tensor *bias, wt_tensor *xe) {
    const wt_tensor *in[3] = {x, w, bias};
    if (!wt_ops_ready_named_(ctx, op, bias ? 3 : 2, in)) return false;
    if (!need_f32(ctx, op, "input", x)) return false;
    if (!is_float_dtype(w->dtype)) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: weight must be f32, f16 or bf16, got %s", op,
                    wt_dtype_name(w->dtype));
        return false;
    }
    if (bias && !need_f32(ctx, op, "bias", bias)) return false;
    if (x->ndim != 3 && x->ndim != 2) {
        wt_ops_shape_error_(ctx, op, "input", x, "weight", w, "are not valid: input must be [B, C, T] or [C, T]");
        return false;
    }
    if (w->ndim != 3) {
        wt_ops_shape_error_(ctx, op, "input", x, "weight", w, "are not valid: weight must be 3-D");
        return false;
    }
    *xe = *x;
    if (x->ndim == 2) {
        xe->ndim = 3;
        xe->shape[0] = 1;
        xe->stride[0] = x->shape[0] * x->stride[0];
        xe->shape[1] = x->shape[0];
        xe->stride[1] = x->stride[0];
        xe->shape[2] = x->shape[1];
        xe->stride[2] = x->stride[1];
    }
    return true;
}

static bool conv_bias(wt_ctx *ctx, const char *op, const wt_tensor *w, const wt_tensor *bias,
                      int64_t cout) {
    if (bias && (bias->ndim != 1 || bias->shape[0] != cout)) {
        char why[96];
        snprintf(why, sizeof why, "do not match: bias must be [%lld] (output channels)", (long long)cout);
        wt_ops_shape_error_(ctx, op, "weight", w, "bias", bias, why);
        return false;
    }
    return true;
}

/* Result [B, cout, tout] (or [cout, tout] for an unbatched input) and dste,
 * its 3-D form for the backend. */
static wt_tensor *conv_out(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *xe, int64_t cout,
                           int64_t tout, wt_tensor *dste) {
    int64_t shape[3] = {xe->shape[0], cout, tout};
    wt_tensor *y = x->ndim == 3 ? wt_ops_out_(ctx, WT_F32, 3, shape)
                                : wt_ops_out_(ctx, WT_F32, 2, shape + 1);
    if (!y) return NULL;
    *dste = *y;
    dste->ndim = 3;
    for (int i = 0; i < 3; i++) dste->shape[i] = shape[i];
    dste->stride[2] = 1;
    dste->stride[1] = tout;
    dste->stride[0] = cout * tout;
    return y;
}

wt_tensor *wt_conv1d(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, const wt_tensor *bias,
                     int stride, int pad_left, int pad_right, int dilation, int groups) {
    static const char op[] = "wt_conv1d";
    wt_tensor xe, dste;
    if (!conv_inputs(ctx, op, x, w, bias, &xe)) return NULL;
    if (stride < 1 || dilation < 1 || groups < 1 || pad_left < 0 || pad_right < 0) {
        wt_ctx_fail(ctx, WT_ERR_INVALID,
                    "%s: need stride >= 1 (got %d), dilation >= 1 (%d), groups >= 1 (%d), padding >= 0 (%d, %d)",
                    op, stride, dilation, groups, pad_left, pad_right);
        return NULL;
    }
    int64_t cin = xe.shape[1], T = xe.shape[2], cout = w->shape[0], K = w->shape[2];
    if (cin % groups || cout % groups || w->shape[1] * groups != cin) {
        char why[160];
        snprintf(why, sizeof why,
                 "do not match: with groups=%d the weight must be [Cout, Cin/groups, K] with Cin=%lld "
                 "and Cout divisible by groups",
                 groups, (long long)cin);
        wt_ops_shape_error_(ctx, op, "input", x, "weight", w, why);
        return NULL;
    }
    if (K < 1) {
        wt_ops_shape_error_(ctx, op, "input", x, "weight", w, "are not valid: kernel size must be at least 1");
        return NULL;
    }
    if (!conv_bias(ctx, op, w, bias, cout)) return NULL;
    int64_t span = T + pad_left + pad_right - (int64_t)dilation * (K - 1) - 1;
    if (span < 0) {
        char why[160];
        snprintf(why, sizeof why,
                 "do not fit: input length %lld plus padding %d+%d is shorter than the kernel's extent %lld",
                 (long long)T, pad_left, pad_right, (long long)((int64_t)dilation * (K - 1) + 1));
        wt_ops_shape_error_(ctx, op, "input", x, "weight", w, why);
        return NULL;
    }
    wt_tensor *y = conv_out(ctx, x, &xe, cout, span / stride + 1, &dste);
    if (!y) return NULL;
    wt_status s = wt_ops_be_(ctx)->conv1d(&dste, &xe, w, bias, stride, pad_left, dilation, groups,
                                          wt_ctx_pool_(ctx));
    return wt_ops_check_(ctx, op, s) ? y : NULL;
}

wt_tensor *wt_conv_transpose1d(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w,
                               const wt_tensor *bias, int stride, int padding,
                               int output_padding, int dilation, int groups) {
    static const char op[] = "wt_conv_transpose1d";
    wt_tensor xe, dste;
    if (!conv_inputs(ctx, op, x, w, bias, &xe)) return NULL;
    if (stride < 1 || dilation < 1 || groups < 1 || padding < 0 || output_padding < 0 ||
        (output_padding >= stride && output_padding >= dilation)) {
        wt_ctx_fail(ctx, WT_ERR_INVALID,
                    "%s: need stride >= 1 (got %d), dilation >= 1 (%d), groups >= 1 (%d), padding >= 0 "
                    "(%d) and 0 <= output_padding (%d) < stride or dilation",
                    op, stride, dilation, groups, padding, output_padding);
        return NULL;
    }
    int64_t cin = xe.shape[1], T = xe.shape[2], K = w->shape[2];
    int64_t cout = w->shape[1] * groups;
    if (cin % groups || w->shape[0] != cin) {
        char why[160];
        snprintf(why, sizeof why,
                 "do not match: the weight must be [Cin, Cout/groups, K] with Cin=%lld divisible by groups=%d",
                 (long long)cin, groups);
        wt_ops_shape_error_(ctx, op, "input", x, "weight", w, why);
        return NULL;
    }
    if (K < 1 || T < 1) {
        wt_ops_shape_error_(ctx, op, "input", x, "weight", w, "are not valid: kernel size and input length must be at least 1");
        return NULL;
    }
    if (!conv_bias(ctx, op, w, bias, cout)) return NULL;
    int64_t tout = (T - 1) * stride - 2 * (int64_t)padding + (int64_t)dilation * (K - 1) +
                   output_padding + 1;
    if (tout < 1) {
        char why[128];
        snprintf(why, sizeof why, "do not fit: padding %d leaves no output (length %lld)", padding, (long long)tout);
        wt_ops_shape_error_(ctx, op, "input", x, "weight", w, why);
        return NULL;
    }
    wt_tensor *y = conv_out(ctx, x, &xe, cout, tout, &dste);
    if (!y) return NULL;
    wt_status s = wt_ops_be_(ctx)->conv_transpose1d(&dste, &xe, w, bias, stride, padding, dilation,
                                                    groups);
    return wt_ops_check_(ctx, op, s) ? y : NULL;
}
