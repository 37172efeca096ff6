/* Elementwise ops and reductions (f32): unary, binary with broadcasting,
 * affine, reduce. Broadcast operands reach the backend as stride-0 views
 * built on the stack, so these ops take no descriptors beyond their result. */
#include <string.h>

#include "engine/ops_impl.h"

static const char *const k_unary_names[WT_UNARY_COUNT] = {
    "exp", "log", "sin", "cos", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "elu",
    "gelu_erf", "gelu_tanh", "silu", "abs", "neg", "sqr", "recip",
};

static bool unary_ok(wt_ctx *ctx, wt_unary_op op, const wt_tensor *x) {
    if ((unsigned)op >= WT_UNARY_COUNT) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "wt_unary: unknown op %d", (int)op);
        return false;
    }
    return wt_ops_dtype_(ctx, k_unary_names[op], "x", x, WT_F32);
}

wt_tensor *wt_unary(wt_ctx *ctx, wt_unary_op op, const wt_tensor *x, float param) {
    if (!wt_ops_ready_named_(ctx, "wt_unary", 1, (const wt_tensor *const[]){x})) return NULL;
    if (!unary_ok(ctx, op, x)) return NULL;
    wt_tensor *y = wt_ops_out_(ctx, WT_F32, x->ndim, x->shape);
    if (!y || !wt_ops_check_(ctx, k_unary_names[op], wt_ops_be_(ctx)->unary(op, y, x, param)))
        return NULL;
    return y;
}

wt_tensor *wt_unary_(wt_ctx *ctx, wt_unary_op op, wt_tensor *x, float param) {
    if (!wt_ops_ready_named_(ctx, "wt_unary_", 1, (const wt_tensor *const[]){x})) return NULL;
    if (!unary_ok(ctx, op, x)) return NULL;
    if (!wt_ops_check_(ctx, k_unary_names[op], wt_ops_be_(ctx)->unary(op, x, x, param))) return NULL;
    return x;
}

static const char *const k_binary_names[WT_BINARY_COUNT] = {"add", "sub", "mul", "div", "max", "min"};

static bool binary_ok(wt_ctx *ctx, wt_binary_op op, const wt_tensor *a, const wt_tensor *b) {
    if ((unsigned)op >= WT_BINARY_COUNT) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "wt_binary: unknown op %d", (int)op);
        return false;
    }
    return wt_ops_dtype_(ctx, k_binary_names[op], "a", a, WT_F32) &&
           wt_ops_dtype_(ctx, k_binary_names[op], "b", b, WT_F32);
}

wt_tensor *wt_binary(wt_ctx *ctx, wt_binary_op op, const wt_tensor *a, const wt_tensor *b) {
    if (!wt_ops_ready_named_(ctx, "wt_binary", 2, (const wt_tensor *const[]){a, b})) return NULL;
    if (!binary_ok(ctx, op, a, b)) return NULL;
    const char *name = k_binary_names[op];
    int nd;
    int64_t shape[WT_MAX_DIMS];
    if (!wt_ops_broadcast_shape_(ctx, name, a, b, &nd, shape)) return NULL;
    wt_tensor ae, be;
    if (!wt_ops_expand_into_(ctx, name, a, nd, shape, &ae) ||
        !wt_ops_expand_into_(ctx, name, b, nd, shape, &be))
        return NULL;
    wt_tensor *y = wt_ops_out_(ctx, WT_F32, nd, shape);
    if (!y || !wt_ops_check_(ctx, name, wt_ops_be_(ctx)->binary(op, y, &ae, &be))) return NULL;
    return y;
}

wt_tensor *wt_binary_(wt_ctx *ctx, wt_binary_op op, wt_tensor *a, const wt_tensor *b) {
    if (!wt_ops_ready_named_(ctx, "wt_binary_", 2, (const wt_tensor *const[]){a, b})) return NULL;
    if (!binary_ok(ctx, op, a, b)) return NULL;
    const char *name = k_binary_names[op];
    wt_tensor be;
    if (!wt_ops_expand_into_(ctx, name, b, a->ndim, a->shape, &be)) return NULL;
    if (!wt_ops_check_(ctx, name, wt_ops_be_(ctx)->binary(op, a, a, &be))) return NULL;
    return a;
}

wt_tensor *wt_add(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *b) {
    return wt_binary(ctx, WT_BINARY_ADD, a, b);
}
wt_tensor *wt_sub(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *b) {
    return wt_binary(ctx, WT_BINARY_SUB, a, b);
}
wt_tensor *wt_mul(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *b) {
    return wt_binary(ctx, WT_BINARY_MUL, a, b);
}
wt_tensor *wt_add_(wt_ctx *ctx, wt_tensor *a, const wt_tensor *b) {
    return wt_binary_(ctx, WT_BINARY_ADD, a, b);
}
wt_tensor *wt_mul_(wt_ctx *ctx, wt_tensor *a, const wt_tensor *b) {
    return wt_binary_(ctx, WT_BINARY_MUL, a, b);
}

wt_tensor *wt_affine(wt_ctx *ctx, const wt_tensor *x, float scale, float bias) {
    if (!wt_ops_ready_named_(ctx, "wt_affine", 1, (const wt_tensor *const[]){x})) return NULL;
    if (!wt_ops_dtype_(ctx, "wt_affine", "x", x, WT_F32)) return NULL;
    wt_tensor *y = wt_ops_out_(ctx, WT_F32, x->ndim, x->shape);
    if (!y || !wt_ops_check_(ctx, "wt_affine", wt_ops_be_(ctx)->affine(y, x, scale, bias))) return NULL;
    return y;
}

wt_tensor *wt_affine_(wt_ctx *ctx, wt_tensor *x, float scale, float bias) {
    if (!wt_ops_ready_named_(ctx, "wt_affine_", 1, (const wt_tensor *const[]){x})) return NULL;
    if (!wt_ops_dtype_(ctx, "wt_affine_", "x", x, WT_F32)) return NULL;
    if (!wt_ops_check_(ctx, "wt_affine_", wt_ops_be_(ctx)->affine(x, x, scale, bias))) return NULL;
    return x;
}

static const char *const k_reduce_names[WT_REDUCE_COUNT] = {"sum", "mean", "max", "min", "argmax", "argmin"};

wt_tensor *wt_reduce(wt_ctx *ctx, wt_reduce_op op, const wt_tensor *x, int dim, bool keepdim) {
    if (!wt_ops_ready_named_(ctx, "wt_reduce", 1, (const wt_tensor *const[]){x})) return NULL;
    if ((unsigned)op >= WT_REDUCE_COUNT) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "wt_reduce: unknown op %d", (int)op);
        return NULL;
    }
    const char *name = k_reduce_names[op];
    if (!wt_ops_dtype_(ctx, name, "x", x, WT_F32)) return NULL;
    int d = wt_ops_dim_(ctx, name, x, dim);
    if (d < 0) return NULL;
    if (x->shape[d] == 0 && op != WT_REDUCE_SUM && op != WT_REDUCE_MEAN) {
        char s[160];
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: dimension %d of %s is empty", name, d,
                    wt_shape_str(x, s, sizeof s));
        return NULL;
    }
    wt_dtype dt = (op == WT_REDUCE_ARGMAX || op == WT_REDUCE_ARGMIN) ? WT_I64 : WT_F32;
    int64_t shape[WT_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++)
        if (i != d || keepdim) shape[nd++] = i == d ? 1 : x->shape[i];
    wt_tensor *y = wt_ops_out_(ctx, dt, nd, shape);
    if (!y) return NULL;
    /* the backend writes through a keepdim-shaped alias of y */
    wt_tensor k = *y;
    k.ndim = x->ndim;
    int64_t s = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        k.shape[i] = i == d ? 1 : x->shape[i];
        k.stride[i] = s;
        s *= k.shape[i];
    }
    if (!wt_ops_check_(ctx, name, wt_ops_be_(ctx)->reduce(op, &k, x, d))) return NULL;
    return y;
}
