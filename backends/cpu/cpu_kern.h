/* Register-blocked f32 GEMM drivers shared by the CPU matmul and conv ops.
 * Owns the inner loops of those products; never allocates (tiles live on the
 * stack, under 200 KiB per call) and never starts threads (callers split rows
 * or columns over threads themselves).
 * Written with 16-float vectors (GCC vector extensions: AVX-512 here, split
 * into narrower registers on other targets, so every build runs the same
 * code); weights in f32, bf16 or f16 are converted on load, sums are f32
 * (and the _bf16 variants below multiply bf16 by bf16):
 * - "dot": few columns (1..4 time steps or rows of x); each weight row is read
 *   once and dotted with every column, so the product runs at the speed of
 *   streaming the weights from memory.
 * - "bcast": many columns; a 6 x 32 (or 12 x 16) tile of the output stays in
 *   registers while scalars of one operand are broadcast against rows of the
 *   other. */
#ifndef WT_CPU_KERN_H
#define WT_CPU_KERN_H

#include <stdint.h>

#include "wavetensor/dtype.h"

/* Output columns per bcast tile and rows per bcast tile (12 rows for
 * tiles of at most 16 columns). */
#define WT_KERN_NR 32
#define WT_KERN_MR 6
#define WT_KERN_NARROW_MR 12
/* Depth of a wt_kern_wx panel (64 KiB of f32 on the stack). */
#define WT_KERN_KC 512
/* Weight rows of at most this many bytes are dotted two at a time, rows
 * spread half the matrix apart, and rows of at most 256 bytes sixteen
 * (row, column) sums at a time (cpu_kern.c says why). */
#define WT_KERN_SHORT_ROW 4096
/* Rows of A up to which wt_kern_ab streams B once into an accumulator. */
#define WT_KERN_AB_MMAX 16

/* out(r, m) (+)= sum_p W(r, p) * X(m, p) for r < R, m < M (M <= 4):
 * W(r, p) at w[r * ldw + p] (elements of wdt: f32, bf16 or f16, each row
 * contiguous), X(m, p) at x[m * ldx + p] (f32), out(r, m) at out[r * ors +
 * m * oms]. With acc the sums add to out, else they replace it. */
void wt_kern_dot(int64_t R, int M, int64_t P, const void *w, wt_dtype wdt, int64_t ldw,
                 const float *x, int64_t ldx, float *out, int64_t ors, int64_t oms, int acc);

/* Fills buf[p * WT_KERN_NR + j] = X(p0 + p, n0 + j) for p < kc, j < nn, and
 * zeros for nn <= j < WT_KERN_NR. */
typedef void (*wt_kern_pack_fn)(const void *arg, int64_t p0, int64_t kc, int64_t n0, int64_t nn,
                                float *buf);
/* The same panel rounded to bf16 and paired along p: xp[q * WT_KERN_NR + j]
 * holds X(p0 + 2q, n0 + j) in its low and X(p0 + 2q + 1, n0 + j) in its
 * high 16 bits (zero past kc, and for nn <= j < WT_KERN_NR). */
typedef void (*wt_kern_pack_pairs_fn)(const void *arg, int64_t p0, int64_t kc, int64_t n0,
                                      int64_t nn, uint32_t *xp);

/* out(r, n) = init(r) + sum_p W(r, p) * X(p, n) for r < R, n < N, with W(r, p)
 * at w[r * wrs + p * wps] (f32, bf16 or f16), X supplied in panels by pack,
 * out(r, n) at out[r * ors + n * ons] and init(r) = bias[r * bs] (0 without
 * bias). Columns [n_lo, n_hi) only, so callers can split columns. */
void wt_kern_wx(int64_t R, int64_t P, int64_t n_lo, int64_t n_hi, const void *w, wt_dtype wdt,
                int64_t wrs, int64_t wps, wt_kern_pack_fn pack, const void *arg, float *out,
                int64_t ors, int64_t ons, const float *bias, int64_t bs);

/* Y(m, j) = sum_p A(m, p) * B(p, j) for m < M, j in [j_lo, j_hi), A(m, p) at
 * a[m * ars + p * aps] (f32), B(p, j) at b[p * ldb + j] (f32, bf16 or f16,
 * rows contiguous); each finished tile (rows m0.., columns j0..) is handed
 * to emit as tile[mi * WT_KERN_NR + ji] for mi < mr, ji < nj. Up to 16
 * rows of A stream B's rows once, front to back, into an accumulator on the
 * stack (the weights of a conv-transpose step), or for 1-2 rows against at
 * most 64 columns into registers; more rows run 6 x 32 tiles. */
typedef void (*wt_kern_emit_fn)(void *arg, int64_t m0, int mr, int64_t j0, int nj,
                                const float *tile);
void wt_kern_ab(int64_t M, int64_t P, int64_t j_lo, int64_t j_hi, const float *a, int64_t ars,
                int64_t aps, const void *b, wt_dtype bdt, int64_t ldb, wt_kern_emit_fn emit,
                void *arg);

/* The same products with bf16 weights as bf16 products (cpu_kern_bf16.c):
 * the f32 operand is rounded to bf16 (nearest even) and pairs of products,
 * exact in f32, are summed in f32 (AVX512-BF16's dot-product instruction
 * where the target has it): twice the multiply-adds an instruction and half
 * the loads of x against widening the weights, at the price of rounding
 * the activations. The convolutions take these (cpu_conv.c); the matrix
 * product keeps the exact forms above. wt_kern_wx_bf16 takes X's panels
 * as pairs (wt_kern_pack_pairs_fn); its helper wt_kern_bw adds W(r, p)
 * X(p, j) for mr rows of W at w (element (r, p) at w[r * wrs + p * wps])
 * into c[r * ldc + j] over 32 columns, or 16 when narrow (up to
 * WT_KERN_NARROW_MR rows); with `first` the sums start from bias[r * bs]
 * (0 without a bias) instead of what c holds. */
void wt_kern_dot_bf16(int64_t R, int M, int64_t P, const void *w, int64_t ldw, const float *x,
                      int64_t ldx, float *out, int64_t ors, int64_t oms, int acc);
void wt_kern_wx_bf16(int64_t R, int64_t P, int64_t n_lo, int64_t n_hi, const void *w,
                     int64_t wrs, int64_t wps, wt_kern_pack_pairs_fn pack, const void *arg,
                     float *out, int64_t ors, int64_t ons, const float *bias, int64_t bs);
void wt_kern_bw(int mr, int narrow, int64_t kc, const void *w, int64_t wrs, int64_t wps,
                const uint32_t *xp, float *c, int64_t ldc, int first, const float *bias,
                int64_t bs);
void wt_kern_ab_bf16(int64_t M, int64_t P, int64_t j_lo, int64_t j_hi, const float *a,
                     int64_t ars, int64_t aps, const void *b, int64_t ldb, wt_kern_emit_fn emit,
                     void *arg);

#endif
