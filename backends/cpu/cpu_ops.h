/* CPU implementations of the op table (see engine/backend.h for the contract).
 * Each runs on the calling thread (plus the pool's helpers for heavy ops) and
 * never allocates. */
#ifndef WT_CPU_OPS_H
#define WT_CPU_OPS_H

#include "engine/backend.h"

wt_status wt_cpu_fill(wt_tensor *dst, double v);
wt_status wt_cpu_copy(wt_tensor *dst, const wt_tensor *src);
wt_status wt_cpu_unary(wt_unary_op op, wt_tensor *dst, const wt_tensor *x, float param);
wt_status wt_cpu_binary(wt_binary_op op, wt_tensor *dst, const wt_tensor *a, const wt_tensor *b);
wt_status wt_cpu_affine(wt_tensor *dst, const wt_tensor *x, float scale, float bias);
wt_status wt_cpu_matmul(wt_tensor *dst, const wt_tensor *a, const wt_tensor *b,
                        struct wt_pool *pool);
wt_status wt_cpu_index_select(wt_tensor *dst, const wt_tensor *src, int dim, const wt_tensor *idx);
wt_status wt_cpu_scatter_set(wt_tensor *dst, int dim, const wt_tensor *idx, const wt_tensor *src);
wt_status wt_cpu_softmax(wt_tensor *dst, const wt_tensor *x, float scale, const wt_tensor *mask,
                         wt_mask_kind kind, int64_t window);
wt_status wt_cpu_attention(wt_tensor *dst, const wt_tensor *q, const wt_tensor *k,
                           const wt_tensor *v, const wt_tensor *pos, const wt_tensor *slot_pos,
                           float scale, int64_t window, struct wt_pool *pool);
wt_status wt_cpu_rms_norm(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w, float eps);
wt_status wt_cpu_layer_norm(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                            const wt_tensor *b, float eps);
wt_status wt_cpu_group_norm(wt_tensor *dst, const wt_tensor *x, int groups, const wt_tensor *w,
                            const wt_tensor *b, float eps);
wt_status wt_cpu_reduce(wt_reduce_op op, wt_tensor *dst, const wt_tensor *x, int dim);
wt_status wt_cpu_rope(wt_tensor *dst, const wt_tensor *x, const wt_tensor *pos, float base,
                      wt_rope_layout layout);
wt_status wt_cpu_conv1d(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                        const wt_tensor *bias, int stride, int pad_left, int dilation, int groups,
                        struct wt_pool *pool);
wt_status wt_cpu_conv_transpose1d(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                                  const wt_tensor *bias, int stride, int padding, int dilation,
                                  int groups);
wt_status wt_cpu_glu(wt_tensor *dst, const wt_tensor *x, int dim);
wt_status wt_cpu_pad(wt_tensor *dst, const wt_tensor *x, int dim, int64_t left, wt_pad_mode mode,
                     double value);

#endif
