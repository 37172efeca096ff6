/* The backend op table (private to the library).
 * Owns: the contract between the ops front-end (engine/ops*.c) and a backend.
 * The front-end has already checked dtypes and shapes, resolved negative dims,
 * allocated `dst` with its final shape and expanded broadcasts into stride-0
 * views, so a backend only does the math. A backend never allocates during an
 * op (scratch comes from the caller or from state reserved at init).
 * `pool` (the context's persistent worker pool, NULL for one thread) is what
 * a heavy op may split its work over; a backend that runs elsewhere ignores it. */
#ifndef WT_ENGINE_BACKEND_H
#define WT_ENGINE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

struct wt_pool;

#include "wavetensor/ops.h"

struct wt_backend {
    const char *name;

    /* memory */
    void *(*alloc)(size_t bytes);   /* 64-byte aligned; NULL on failure */
    /* Optional (NULL: alloc): memory read again and again for a long life:
     * a model's weights and a stream's state (wt_ctx_hold_weights_), a
     * step's arena; the host places it for streaming reads (huge pages);
     * freed by `free` like the rest. */
    void *(*alloc_weights)(size_t bytes);
    void (*free)(void *p);
    /* host <-> backend memory copies (memcpy for the CPU) */
    wt_status (*upload)(void *dst, const void *src_host, size_t bytes);
    wt_status (*download)(void *dst_host, const void *src, size_t bytes);
    /* true when `data` pointers are host memory the library may read and
     * write directly (the CPU); false for device memory */
    bool host;

    /* Asynchronous backends (NULL on the CPU, whose ops finish on return):
     * sync waits for every launched op and reports a failed one; capture
     * records the ops launched until capture_end instead of running them, and
     * capture_end returns the recorded step as a replayable graph (NULL, with
     * the reason as the last error, when the capture was spoiled by an
     * allocation, a synchronisation or a host read). */
    wt_status (*sync)(void);
    wt_status (*capture_begin)(void);
    void *(*capture_end)(void);
    wt_status (*graph_launch)(void *graph);
    void (*graph_free)(void *graph);

    /* every op returns WT_OK or an error recorded with wt_error() */
    wt_status (*fill)(wt_tensor *dst, double v);
    /* dst = src with dtype conversion; same shape (src may have stride-0 dims) */
    wt_status (*copy)(wt_tensor *dst, const wt_tensor *src);
    /* f32; dst and x same shape (dst may alias x) */
    wt_status (*unary)(wt_unary_op op, wt_tensor *dst, const wt_tensor *x, float param);
    /* f32; a, b already broadcast to dst's shape (dst may alias a) */
    wt_status (*binary)(wt_binary_op op, wt_tensor *dst, const wt_tensor *a, const wt_tensor *b);
    wt_status (*affine)(wt_tensor *dst, const wt_tensor *x, float scale, float bias);
    /* a [.., M, K] f32, b [.., K, N] f32/f16/bf16, dst [.., M, N]; leading
     * dims of a and b already broadcast to dst's (stride 0 where broadcast) */
    wt_status (*matmul)(wt_tensor *dst, const wt_tensor *a, const wt_tensor *b,
                        struct wt_pool *pool);
    /* dst has src's shape with dim replaced by numel(idx) entries (idx flat
     * i64). On a host backend the front-end has range-checked idx; on a
     * device it cannot without a synchronisation, so the kernels treat an
     * out-of-range index as absent (index_select writes zeros, scatter_set
     * writes nothing) and the caller validates indices that come from
     * outside the model before uploading them. */
    wt_status (*index_select)(wt_tensor *dst, const wt_tensor *src, int dim, const wt_tensor *idx);
    wt_status (*scatter_set)(wt_tensor *dst, int dim, const wt_tensor *idx, const wt_tensor *src);
    /* mask NULL or broadcast to x's shape */
    wt_status (*softmax)(wt_tensor *dst, const wt_tensor *x, float scale, const wt_tensor *mask,
                         wt_mask_kind kind, int64_t window);
    /* Attention over a cache (wt_attention_cached / wt_attention_ring): q
     * [B, n, H, hd], k and v [B, KVH, hd, S] (stride 0 on B when shared),
     * pos i64 [B, n] (stride 0 on B when shared), slot_pos i64 [B, S] or
     * NULL for a linear cache (slot s holds position s), dst [B, n, H, hd]
     * contiguous. Only the positions are unchecked: the backend reads them
     * and fails on an out-of-range one (a backend that cannot read them
     * without synchronising writes zero rows instead). */
    wt_status (*attention)(wt_tensor *dst, const wt_tensor *q, const wt_tensor *k,
                           const wt_tensor *v, const wt_tensor *pos, const wt_tensor *slot_pos,
                           float scale, int64_t window, struct wt_pool *pool);
    wt_status (*rms_norm)(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w, float eps);
    wt_status (*layer_norm)(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                            const wt_tensor *b, float eps);
    wt_status (*group_norm)(wt_tensor *dst, const wt_tensor *x, int groups, const wt_tensor *w,
                            const wt_tensor *b, float eps);
    /* dst has keepdim shape (size 1 at dim) */
    wt_status (*reduce)(wt_reduce_op op, wt_tensor *dst, const wt_tensor *x, int dim);
    /* x, dst [B, T, H, hd]; pos [B, T] (stride 0 on B when shared) */
    wt_status (*rope)(wt_tensor *dst, const wt_tensor *x, const wt_tensor *pos, float base,
                      wt_rope_layout layout);
    wt_status (*conv1d)(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                        const wt_tensor *bias, int stride, int pad_left, int dilation, int groups,
                        struct wt_pool *pool);
    wt_status (*conv_transpose1d)(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                                  const wt_tensor *bias, int stride, int padding, int dilation,
                                  int groups);
    wt_status (*glu)(wt_tensor *dst, const wt_tensor *x, int dim);
    wt_status (*pad)(wt_tensor *dst, const wt_tensor *x, int dim, int64_t left,
                     wt_pad_mode mode, double value);
};

#endif
