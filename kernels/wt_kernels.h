/* Entry points of the CUDA kernels (the kernels/ .cu files), one per op family.
 * Owns: the host-callable launchers the CUDA backend's op table maps onto.
 * Each takes tensor descriptors whose data are device addresses (in the
 * emulated build: host memory), checks nothing the ops front-end has already
 * checked (see engine/backend.h), launches on `stream` (a cudaStream_t, NULL
 * for the default stream) and returns WT_OK or a launch error. None
 * allocates, synchronises or reads device memory back: every one may be
 * captured into a CUDA graph. */
#ifndef WT_KERNELS_H
#define WT_KERNELS_H

#include "engine/backend.h"

/* The emulated build (tests) gives them C++ linkage inside its own
 * namespace, so it can never collide with the nvcc-built library. */
#if defined(__cplusplus) && !defined(WT_CUDA_EMU)
extern "C" {
#endif

/* copy.cu: fill, copy with dtype conversion (any strides, stride-0 sources), pad */
wt_status wt_k_fill(void *stream, wt_tensor *dst, double v);
wt_status wt_k_copy(void *stream, wt_tensor *dst, const wt_tensor *src);
wt_status wt_k_pad(void *stream, wt_tensor *dst, const wt_tensor *x, int dim, int64_t left,
                   wt_pad_mode mode, double value);
/* elementwise.cu: f32 unary, binary (operands already broadcast by strides), affine, glu */
wt_status wt_k_unary(void *stream, wt_unary_op op, wt_tensor *dst, const wt_tensor *x, float param);
wt_status wt_k_binary(void *stream, wt_binary_op op, wt_tensor *dst, const wt_tensor *a,
                      const wt_tensor *b);
wt_status wt_k_affine(void *stream, wt_tensor *dst, const wt_tensor *x, float scale, float bias);
wt_status wt_k_glu(void *stream, wt_tensor *dst, const wt_tensor *x, int dim);
/* index.cu: index_select / embedding and scatter_set (idx i64, range-checked by the caller) */
wt_status wt_k_index_select(void *stream, wt_tensor *dst, const wt_tensor *src, int dim,
                            const wt_tensor *idx);
wt_status wt_k_scatter_set(void *stream, wt_tensor *dst, int dim, const wt_tensor *idx,
                           const wt_tensor *src);
/* softmax.cu: last dim, scale, additive mask, causal and sliding-window masks */
wt_status wt_k_softmax(void *stream, wt_tensor *dst, const wt_tensor *x, float scale,
                       const wt_tensor *mask, wt_mask_kind kind, int64_t window);
/* attention.cu: attention over a key/value cache in the backend's 4-D form
 * (engine/backend.h); positions are read on the device, an out-of-range one
 * gives a zero row. `scratch` (device memory, may be NULL) holds the partial
 * results when the cache is split into ranges across blocks. */
wt_status wt_k_attention(void *stream, wt_tensor *dst, const wt_tensor *q, const wt_tensor *k,
                         const wt_tensor *v, const wt_tensor *pos, const wt_tensor *slot_pos,
                         float scale, int64_t window, void *scratch, size_t scratch_bytes);
/* norm.cu */
wt_status wt_k_rms_norm(void *stream, wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                        float eps);
wt_status wt_k_layer_norm(void *stream, wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                          const wt_tensor *b, float eps);
wt_status wt_k_group_norm(void *stream, wt_tensor *dst, const wt_tensor *x, int groups,
                          const wt_tensor *w, const wt_tensor *b, float eps);
/* reduce.cu: dst has the keepdim shape */
wt_status wt_k_reduce(void *stream, wt_reduce_op op, wt_tensor *dst, const wt_tensor *x, int dim);
/* rope.cu: x, dst [B, T, H, hd]; pos i64 [B, T] (a device state tensor) */
wt_status wt_k_rope(void *stream, wt_tensor *dst, const wt_tensor *x, const wt_tensor *pos,
                    float base, wt_rope_layout layout);
/* conv.cu: f32 conv1d and conv_transpose1d with groups (depthwise included) */
wt_status wt_k_conv1d(void *stream, wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                      const wt_tensor *bias, int stride, int pad_left, int dilation, int groups);
wt_status wt_k_conv_transpose1d(void *stream, wt_tensor *dst, const wt_tensor *x,
                                const wt_tensor *w, const wt_tensor *bias, int stride,
                                int padding, int dilation, int groups);
/* gemv.cu: y [M, N] (row stride ldy) = a [M, K] (row stride lda) w^T, w N
 * rows of K weights (row stride ldw, f32/f16/bf16), 1 <= M <= 8; f32 sums */
wt_status wt_k_gemv(void *stream, float *y, int64_t ldy, const float *a, int64_t lda, const void *w,
                    wt_dtype wdt, int64_t ldw, int m_rows, int64_t n_rows, int64_t k_len);
/* conv.cu, the GEMM form: cols [n, Cin*K, To] (contiguous, any dtype) from x
 * [n, Cin, T]; dst [n, Cout, To] = bias + overlap-add of f32 cols [n, Cout*K, T] */
wt_status wt_k_im2col(void *stream, wt_tensor *cols, const wt_tensor *x, int stride, int pad_left,
                      int dilation);
wt_status wt_k_col2im(void *stream, wt_tensor *dst, const wt_tensor *cols, const wt_tensor *bias,
                      int stride, int padding, int dilation);
/* quantize.cu: idx[n] = argmin_k norm2[k] - 2 x[n].e[k] for x [N, D], codebook e [K, D],
 * norm2 [K] = |e_k|^2 (f32, contiguous); idx i64 [N]; first index among equal distances */
wt_status wt_k_codebook_argmin(void *stream, wt_tensor *idx, const wt_tensor *x,
                               const wt_tensor *codebook, const wt_tensor *norm2);
/* lstm.cu: PyTorch LSTM cell on precomputed gates [B, 4H] (i, f, g, o; both
 * GEMMs and biases already added): c = f*c + i*g; h = o*tanh(c). c, h [B, H]. */
wt_status wt_k_lstm_cell(void *stream, const wt_tensor *gates, wt_tensor *c, wt_tensor *h);

#if defined(__cplusplus) && !defined(WT_CUDA_EMU)
}
#endif
#endif
