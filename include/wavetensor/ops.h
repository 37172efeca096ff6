/* wavetensor ops: the front-end every model calls.
 * Owns: shape/dtype checking, broadcasting and output allocation; the math is
 * done by the tensors' backend through its op table. Each op allocates its
 * result from ctx (an arena context makes it allocation-free), returns NULL on
 * error and records the error on ctx (sticky: a NULL input, or any op after a
 * failure, returns NULL without doing work). Names ending in `_` write into
 * their first tensor argument and return it.
 *
 * Dtypes: f32 is the compute type; every op accepts f32. copy/to_dtype/cat/
 * fill/pad/narrowed copies accept every dtype; matmul accepts f16/bf16 for its
 * second operand (weights) with f32 accumulation; index_select accepts any
 * source dtype and returns it converted to f32 when the source is f16/bf16 and
 * `to_f32` is asked; indices are i64. Reductions argmax/argmin return i64.
 * Dimension arguments may be negative (-1 = last). */
#ifndef WAVETENSOR_OPS_H
#define WAVETENSOR_OPS_H

#include "wavetensor/ctx.h"
#include "wavetensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- data movement ---- */

/* dst[...] = v (converted to dst's dtype). */
wt_tensor *wt_fill_(wt_ctx *ctx, wt_tensor *dst, double v);
/* dst = src, elementwise with dtype conversion; shapes equal or src
 * broadcastable to dst; any strides (this is also copy2d / copy_strided). */
wt_tensor *wt_copy_(wt_ctx *ctx, wt_tensor *dst, const wt_tensor *src);
/* New contiguous tensor of dtype `dtype` with src's values. */
wt_tensor *wt_to_dtype(wt_ctx *ctx, const wt_tensor *src, wt_dtype dtype);
/* New contiguous copy (same dtype). */
wt_tensor *wt_contiguous(wt_ctx *ctx, const wt_tensor *src);
/* View when possible, otherwise a contiguous copy with the new shape (one -1 allowed). */
wt_tensor *wt_reshape(wt_ctx *ctx, const wt_tensor *src, int ndim, const int64_t *shape);
/* Concatenate n tensors of equal dtype and equal shapes except along dim. */
wt_tensor *wt_cat(wt_ctx *ctx, const wt_tensor *const *ts, int n, int dim);

/* ---- elementwise ---- */

typedef enum wt_unary_op {
    WT_UNARY_EXP, WT_UNARY_LOG, WT_UNARY_SIN, WT_UNARY_COS, WT_UNARY_SQRT, WT_UNARY_RSQRT,
    WT_UNARY_TANH, WT_UNARY_SIGMOID, WT_UNARY_RELU,
    WT_UNARY_ELU,        /* alpha = param (1.0 for the usual ELU) */
    WT_UNARY_GELU_ERF,   /* exact GELU: x/2 (1 + erf(x/sqrt 2)) */
    WT_UNARY_GELU_TANH,  /* tanh approximation */
    WT_UNARY_SILU, WT_UNARY_ABS, WT_UNARY_NEG, WT_UNARY_SQR, WT_UNARY_RECIP,
    WT_UNARY_COUNT
} wt_unary_op;

/* y = op(x); `param` is used by ELU (alpha) and ignored otherwise. */
wt_tensor *wt_unary(wt_ctx *ctx, wt_unary_op op, const wt_tensor *x, float param);
wt_tensor *wt_unary_(wt_ctx *ctx, wt_unary_op op, wt_tensor *x, float param);

typedef enum wt_binary_op {
    WT_BINARY_ADD, WT_BINARY_SUB, WT_BINARY_MUL, WT_BINARY_DIV, WT_BINARY_MAX, WT_BINARY_MIN,
    WT_BINARY_COUNT
} wt_binary_op;

/* y = a op b with NumPy broadcasting (f32). */
wt_tensor *wt_binary(wt_ctx *ctx, wt_binary_op op, const wt_tensor *a, const wt_tensor *b);
/* a = a op b; b must broadcast to a's shape. */
wt_tensor *wt_binary_(wt_ctx *ctx, wt_binary_op op, wt_tensor *a, const wt_tensor *b);
/* Shorthands. */
wt_tensor *wt_add(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *b);
wt_tensor *wt_sub(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *b);
wt_tensor *wt_mul(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *b);
wt_tensor *wt_add_(wt_ctx *ctx, wt_tensor *a, const wt_tensor *b);
wt_tensor *wt_mul_(wt_ctx *ctx, wt_tensor *a, const wt_tensor *b);

/* y = x * scale + bias. */
wt_tensor *wt_affine(wt_ctx *ctx, const wt_tensor *x, float scale, float bias);
wt_tensor *wt_affine_(wt_ctx *ctx, wt_tensor *x, float scale, float bias);

/* ---- linear algebra ---- */

/* Batched matrix product over the last two dims: a [..., M, K] x b [..., K, N]
 * -> [..., M, N] (f32), leading dims broadcast. Transposed operands are
 * expressed as transposed views (wt_transpose(w, -1, -2)), which the backend
 * recognises (no copy), so y = x W^T for W [N, K] is
 * wt_matmul(ctx, x, wt_transpose(ctx, W, -1, -2)). b may be f32, f16 or bf16. */
wt_tensor *wt_matmul(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *b);
/* y = x W^T (+ bias): x [..., K], w [N, K] (f32/f16/bf16), bias [N] or NULL. */
wt_tensor *wt_linear(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, const wt_tensor *bias);

/* ---- indexing ---- */

/* Rows of src along dim picked by idx (i64, any shape): the result replaces
 * dimension dim of src by idx's shape. Embedding lookup is
 * wt_index_select(ctx, table [V, D], 0, ids [T]) -> [T, D]. f16/bf16 sources
 * are converted to f32 in the result. Out-of-range indices are an error. */
wt_tensor *wt_index_select(wt_ctx *ctx, const wt_tensor *src, int dim, const wt_tensor *idx);
/* dst.select(dim, idx[i]) = src.select(dim, i) for each i: idx is i64 [n],
 * src has dst's shape with dimension dim of size n. Writes in place (KV ring
 * writes). Out-of-range indices are an error. */
wt_tensor *wt_scatter_set_(wt_ctx *ctx, wt_tensor *dst, int dim, const wt_tensor *idx, const wt_tensor *src);

/* ---- softmax and normalisation ---- */

typedef enum wt_mask_kind {
    WT_MASK_NONE = 0,
    /* Query row i (of Tq, the second-to-last dim) sees key column j (of Tk,
     * the last dim) iff j <= i + (Tk - Tq): queries are the last Tq positions. */
    WT_MASK_CAUSAL,
} wt_mask_kind;

/* softmax over the last dim of (x * scale + mask), where mask is an optional
 * additive f32 tensor broadcastable to x (use -INFINITY to hide), then the
 * structural mask: `kind` and, when window > 0, a sliding window in which key
 * j is also hidden when (i + Tk - Tq) - j >= window. Rows with every key
 * hidden produce zeros, not NaN. */
wt_tensor *wt_softmax(wt_ctx *ctx, const wt_tensor *x, float scale, const wt_tensor *mask,
                      wt_mask_kind kind, int64_t window);
wt_tensor *wt_softmax_(wt_ctx *ctx, wt_tensor *x, float scale, const wt_tensor *mask,
                       wt_mask_kind kind, int64_t window);

/* ---- attention over a key/value cache ---- */

/* out = softmax(q k^T * scale) v over the visible keys of a cache, for n
 * queries at absolute positions pos, with grouped-query heads. The shapes
 * are those of the cache's capacity, never of the valid length: the op reads
 * pos (and slot_pos) when it runs and restricts its loop to visible keys, so
 * one step has the same shapes and addresses at every position (a static
 * step, replayable as a CUDA graph).
 *
 *  q       f32 [n, H, hd] or [B, n, H, hd], any strides.
 *  kcache  f32, element (kv head g, dimension d, slot s) of the cache, as
 *  vcache      [KVH*hd, S] (row g*hd + d; Llama's layout), [KVH, hd, S] or
 *              [B, KVH, hd, S]; any strides (fastest when the slot index
 *              has unit stride). A cache without B is shared by the batch.
 *              k and v have equal shapes; H must be a multiple of KVH and
 *              query head h reads kv head h / (H / KVH).
 *  pos     i64 [n] or [B, n] (a [n] pos is shared by the batch): the
 *              absolute position of each query.
 *  window  > 0: a query at p also hides keys at positions <= p - window
 *              (it sees the last `window` positions, its own included);
 *              <= 0: no window.
 *  result  f32 [n, H*hd] or [B, n, H*hd] (q's rank), contiguous; query head
 *              h at columns h*hd .. h*hd+hd-1.
 *
 * wt_attention_cached: a linear cache, slot s holds position s. Query i sees
 * the keys at slots max(0, pos[i]-window+1) .. pos[i] (causal), so slots
 * above pos[i] may hold anything. Every pos[i] must lie in 0..S-1; a position
 * outside is an error ("position 9 of query 0 is outside the cache of 8
 * slots"). Softmax and sums are accumulated in f32 (online softmax over
 * blocks of keys). */
wt_tensor *wt_attention_cached(wt_ctx *ctx, const wt_tensor *q, const wt_tensor *kcache,
                               const wt_tensor *vcache, const wt_tensor *pos, float scale,
                               int64_t window);
/* The same over a ring of S slots whose positions are state: slot_pos i64
 * [S] or [B, S] holds the position stored in each slot (negative: empty).
 * Query i sees slot s iff 0 <= slot_pos[s] <= pos[i] and, with a window,
 * pos[i] - slot_pos[s] < window. Positions may exceed S (the ring wraps); a
 * negative pos is an error. A query that sees no key gives zeros. */
wt_tensor *wt_attention_ring(wt_ctx *ctx, const wt_tensor *q, const wt_tensor *kcache,
                             const wt_tensor *vcache, const wt_tensor *pos,
                             const wt_tensor *slot_pos, float scale, int64_t window);

/* x / sqrt(mean(x^2, last dim) + eps) * w;  w [C] or NULL. */
wt_tensor *wt_rms_norm(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, float eps);
/* (x - mean) / sqrt(var + eps) * w + b over the last dim (biased variance);
 * w, b [C] or NULL. */
wt_tensor *wt_layer_norm(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, const wt_tensor *b,
                         float eps);
/* x [B, C, ...]: statistics over each group of C/groups channels and all the
 * trailing dims; then per-channel affine w, b [C] (or NULL). */
wt_tensor *wt_group_norm(wt_ctx *ctx, const wt_tensor *x, int groups, const wt_tensor *w,
                         const wt_tensor *b, float eps);

/* ---- reductions ---- */

typedef enum wt_reduce_op {
    WT_REDUCE_SUM, WT_REDUCE_MEAN, WT_REDUCE_MAX, WT_REDUCE_MIN,
    WT_REDUCE_ARGMAX, /* i64; first index among equal maxima */
    WT_REDUCE_ARGMIN, /* i64; first index among equal minima */
    WT_REDUCE_COUNT
} wt_reduce_op;

/* Reduce over dim; keepdim keeps it with size 1. A reduction over an empty
 * dimension is an error for max/min/argmax/argmin, 0 for sum, NaN for mean. */
wt_tensor *wt_reduce(wt_ctx *ctx, wt_reduce_op op, const wt_tensor *x, int dim, bool keepdim);

/* ---- positional ---- */

typedef enum wt_rope_layout {
    WT_ROPE_INTERLEAVED, /* pairs (2i, 2i+1)  (Mimi, llama2.c) */
    WT_ROPE_HALVES,      /* pairs (i, i + hd/2) (Hugging Face rotate_half) */
} wt_rope_layout;

/* Rotary embedding. x [B, T, H, hd] (or [T, H, hd]); pos i64 [B, T] or [T]
 * holds each step's absolute position: a state tensor, so the same step can
 * run at any position without new shapes. Pair i rotates by pos * base^(-2i/hd). */
wt_tensor *wt_rope(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *pos, float base,
                   wt_rope_layout layout);
wt_tensor *wt_rope_(wt_ctx *ctx, wt_tensor *x, const wt_tensor *pos, float base,
                    wt_rope_layout layout);

/* ---- convolution ---- */

/* x [B, Cin, T] f32, w [Cout, Cin/groups, K] (f32, f16 or bf16; sums in
 * f32. Against bf16 weights x is rounded to bf16 and the products are
 * bf16 x bf16, exact in f32: what bf16 dot-product hardware and the CUDA
 * backend's GEMMs compute, twice the CPU's f32 rate. f16 weights are widened
 * and multiply x as it is), bias [Cout] f32 or NULL; zero padding
 * pad_left/pad_right added on the time axis (use wt_pad first for other
 * modes). Output [B, Cout, (T + pl + pr - dilation*(K-1) - 1)/stride + 1]. */
wt_tensor *wt_conv1d(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, const wt_tensor *bias,
                     int stride, int pad_left, int pad_right, int dilation, int groups);
/* PyTorch ConvTranspose1d: x [B, Cin, T] f32, w [Cin, Cout/groups, K] (f32,
 * f16 or bf16, as for wt_conv1d), bias [Cout] f32 or NULL. Output length
 * (T-1)*stride - 2*padding + dilation*(K-1) + output_padding + 1. */
wt_tensor *wt_conv_transpose1d(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w,
                               const wt_tensor *bias, int stride, int padding,
                               int output_padding, int dilation, int groups);

/* ---- misc ---- */

/* Gated linear unit: split dim in halves a, b; a * sigmoid(b). */
wt_tensor *wt_glu(wt_ctx *ctx, const wt_tensor *x, int dim);

typedef enum wt_pad_mode { WT_PAD_CONSTANT, WT_PAD_REPLICATE, WT_PAD_REFLECT } wt_pad_mode;
/* Pad dimension dim with `left` and `right` elements. Reflect needs
 * left, right < size(dim) as in PyTorch. */
wt_tensor *wt_pad(wt_ctx *ctx, const wt_tensor *x, int dim, int64_t left, int64_t right,
                  wt_pad_mode mode, double value);

#ifdef __cplusplus
}
#endif
#endif
