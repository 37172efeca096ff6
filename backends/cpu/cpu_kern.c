/* Register-blocked GEMM drivers for the CPU backend (see cpu_kern.h).
 * The kernels are written once over 16-float vectors; always-inline bodies
 * are instantiated per weight dtype and tile size by small switches, so the
 * inner loops carry no dtype or size branches. */
#include "backends/cpu/cpu_kern.h"

#include <string.h>

#include "backends/cpu/cpu_vec.h"

#define KC WT_KERN_KC
/* Rows of W per dot tile for rows longer than DOT_SHORT_ROW, by columns of
 * x: many rows at once share each load of x, which no longer fits in L1
 * beside the weights. One and two columns take adjacent rows; three and
 * four spread their 8 rows over the matrix (row t, t + R/8, ..), each its
 * own stream: 4 columns of 512 x 2048 f32 14 -> 20 GB/s against 4
 * adjacent rows (spreading 1 or 2 columns measured no better). */
#define DOT_RB_1 16
#define DOT_RB_2 8
#define DOT_RB_34 8
/* Rows of at most this many bytes run DOT_SPREAD_RB at a time, row t with
 * row t + R/2: each row of the pair is one long front-to-back stream, which
 * the hardware prefetcher follows, and the pair shares each load of x (a
 * few-column product is bound by load slots once the weights stream well).
 * Adjacent rows in 8- or 16-row tiles are as many streams too short (32
 * lines for 512 floats) for the prefetcher to lock on. Mimi's transformer
 * (2 columns, rows of 512 weights): f32 14 GB/s in 8-row tiles, 20-23 one
 * row at a time, 25-29 as spread pairs; bf16 16 -> 25 from one row at a
 * time to pairs. Longer rows keep the tiles (512 x 2048 at 2 columns, 23
 * against 18 one row at a time). */
#define DOT_SHORT_ROW WT_KERN_SHORT_ROW
#define DOT_SPREAD_RB 2
/* Rows of at most this many bytes (any dtype) run dot_fold: Mimi's
 * attention scores, 2 queries against a 250-slot ring of 64-float keys per
 * head, f32 ring in cache: 33 -> 20 us a layer. */
#define DOT_FOLD_ROW 256
/* f32 / f16 weights of at least this many bytes against one column of x
 * stream from memory, one row at a time: the whole matrix is then a single
 * front-to-back stream, which the hardware prefetcher follows best once the
 * weights sit on huge pages (cpu_backend.c). By CPU time over 4 layers of
 * TinyLlama-1.1B shapes: f32 27-28 GB/s against 23-26 for 16-row tiles, f16
 * 23 against 20 (on 4 KiB pages the 16 streams keep a small lead for f32, 19
 * against 18, as every stream stalls at each page boundary). A software
 * prefetch only slowed the single stream down (20-23 GB/s). */
#ifndef DOT_STREAM_MIN
#define DOT_STREAM_MIN ((int64_t)1 << 20)
#endif
/* ... as long as x (f32) fits in L1 beside the stream: longer rows read x
 * from L2 once per row and go back to 16-row tiles, which share each load
 * of x (f32 1024 x 8192: 18 GB/s streamed, 24 in tiles; 2048 x 5632, the
 * down projection of TinyLlama-1.1B: 19 against 26). */
#define DOT_STREAM_MAX_P 3072
#ifndef DOT_RB_MAX
#define DOT_RB_MAX 16
#endif
/* bf16 rows per tile: rows of at most DOT_SHORT_ROW bytes run as spread
 * pairs like the others (a software prefetch only slowed the stream
 * down); longer rows run DOT_BF_LONG_RB at a time, as x, deinterleaved to
 * 4 bytes a weight a column, then no longer fits in L1 beside the weights and
 * every row reading all of it from L2 starved the stream (Mimi's 1024 x
 * 8192 downsampling step against 2 columns: 10 GB/s one row at a time,
 * 22 eight at a time). */
#define DOT_BF_LONG_RB 8
/* x is deinterleaved into even / odd halves in chunks of this many floats. */
#define DOT_XCH 8192

/* ---- dot: res[r][m] = sum_p W(r, p) X(m, p), R rows, M columns ---- */

/* R rows at once, one vector of each row per loop step. */
KI void dot_tile(const int R, const int M, const wt_dtype dt, int64_t P, const char *w,
                 int64_t ldw, const float *x, int64_t ldx, float res[DOT_RB_MAX][4]) {
    const size_t es = dt == WT_F32 ? 4 : 2;
    v16 acc[DOT_RB_MAX][4];
    for (int r = 0; r < R; r++)
        for (int m = 0; m < M; m++) acc[r][m] = (v16){0};
    int64_t p = 0;
    for (; p + 16 <= P; p += 16) {
        v16 xv[4];
        for (int m = 0; m < M; m++) xv[m] = ld16(x + m * ldx + p, WT_F32);
        for (int r = 0; r < R; r++) {
            v16 wv = ld16(w + ((size_t)r * (size_t)ldw + (size_t)p) * es, dt);
            for (int m = 0; m < M; m++) acc[r][m] = fma16(wv, xv[m], acc[r][m]);
        }
    }
    for (int r = 0; r < R; r++) {
        const char *wr = w + (size_t)r * (size_t)ldw * es;
        for (int m = 0; m < M; m++) {
            float sum = hsum(acc[r][m]);
            for (int64_t q = p; q < P; q++) sum += elem(wr, dt, q) * x[m * ldx + q];
            res[r][m] = sum;
        }
    }
}

/* bf16 rows, 32 weights per load: a 32-bit lane holds weights 2i (low
 * half) and 2i+1 (high half), which become f32 by a shift and a mask, so
 * one full cache line feeds two multiply-adds against x's even and odd
 * elements (xd: per 32-block, 16 evens then 16 odds). Half the load and
 * conversion work of widening 16 weights at a time, and twice the lines in
 * flight. pm (a multiple of 32) weights per row; the caller adds the rest. */
KI void dot_tile_bf(const int R, const int M, int64_t pm, const uint16_t *w, int64_t ldw,
                    const float *xd, int64_t ldxd, float res[DOT_RB_MAX][4]) {
    v16 ae[8][4], ao[8][4];
    for (int r = 0; r < R; r++)
        for (int m = 0; m < M; m++) ae[r][m] = ao[r][m] = (v16){0};
    const v16w hi = (v16w){0} + 0xFFFF0000u;
    for (int64_t p = 0; p < pm; p += 32) {
        v16 xe[4], xo[4];
        for (int m = 0; m < M; m++) {
            xe[m] = ld16(xd + m * ldxd + p, WT_F32);
            xo[m] = ld16(xd + m * ldxd + p + 16, WT_F32);
        }
        for (int r = 0; r < R; r++) {
            v16w lanes;
            memcpy(&lanes, w + (size_t)r * (size_t)ldw + (size_t)p, sizeof lanes);
            v16 we = (v16)(lanes << 16), wo = (v16)(lanes & hi);
            for (int m = 0; m < M; m++) {
                ae[r][m] = fma16(we, xe[m], ae[r][m]);
                ao[r][m] = fma16(wo, xo[m], ao[r][m]);
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int m = 0; m < M; m++) res[r][m] = hsum(ae[r][m] + ao[r][m]);
}

/* Rows per tile come either adjacent (tile t: rows t*RB..) or spread
 * (tile t: rows t, t + B, t + 2B.. with B = R / RB, so each row of the
 * tile reads its own long front-to-back stream); rows past the full tiles
 * run one at a time. */
KI int64_t tile_row(const int spread, const int RB, int64_t R, int64_t t, int i) {
    return spread ? t + (int64_t)i * (R / RB) : t * RB + i;
}

KI void dot_all_bf(const int RB, const int spread, const int M, int64_t R, int64_t P,
                   const uint16_t *w, int64_t ldw, const float *x, int64_t ldx, float *out,
                   int64_t ors, int64_t oms, int acc) {
    float xd[4][DOT_XCH];
    float res[DOT_RB_MAX][4];
    const int64_t tiles = R / RB, tld = spread ? tiles * ldw : ldw;
    for (int64_t p0 = 0; p0 < P; p0 += DOT_XCH) {
        int64_t pc = P - p0 < DOT_XCH ? P - p0 : DOT_XCH, pm = pc / 32 * 32;
        for (int m = 0; m < M; m++)
            for (int64_t b = 0; b < pm; b += 32)
                for (int i = 0; i < 16; i++) {
                    xd[m][b + i] = x[m * ldx + p0 + b + 2 * i];
                    xd[m][b + 16 + i] = x[m * ldx + p0 + b + 2 * i + 1];
                }
        int first = p0 == 0 && !acc;
        for (int64_t t = 0; t < tiles + R % RB; t++) {
            int n = t < tiles ? RB : 1;
            int64_t r0 = t < tiles ? tile_row(spread, RB, R, t, 0) : tiles * RB + (t - tiles);
            const uint16_t *wr = w + (size_t)r0 * (size_t)ldw + (size_t)p0;
            if (n == RB)
                dot_tile_bf(RB, M, pm, wr, tld, xd[0], DOT_XCH, res);
            else
                dot_tile_bf(1, M, pm, wr, ldw, xd[0], DOT_XCH, res);
            for (int i = 0; i < n; i++) {
                int64_t r = t < tiles ? tile_row(spread, RB, R, t, i) : r0;
                for (int m = 0; m < M; m++) {
                    float s = res[i][m];
                    for (int64_t q = pm; q < pc; q++)
                        s += elem(w + (size_t)r * (size_t)ldw + (size_t)p0, WT_BF16, q) *
                             x[m * ldx + p0 + q];
                    float *o = out + r * ors + m * oms;
                    *o = first ? s : *o + s;
                }
            }
        }
    }
}

KI void dot_all(const int RB, const int spread, const int M, const wt_dtype dt, int64_t R,
                int64_t P, const void *w, int64_t ldw, const float *x, int64_t ldx, float *out,
                int64_t ors, int64_t oms, int acc) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (dt == WT_BF16) { /* the lane split assumes weight 2i in the low half */
        if (P * 2 > DOT_SHORT_ROW)
            dot_all_bf(DOT_BF_LONG_RB, 0, M, R, P, w, ldw, x, ldx, out, ors, oms, acc);
        else
            dot_all_bf(DOT_SPREAD_RB, 1, M, R, P, w, ldw, x, ldx, out, ors, oms, acc);
        return;
    }
#endif
    const size_t es = dt == WT_F32 ? 4 : 2;
    float res[DOT_RB_MAX][4];
    const int64_t tiles = R / RB, tld = spread ? tiles * ldw : ldw;
    for (int64_t t = 0; t < tiles + R % RB; t++) {
        int n = t < tiles ? RB : 1;
        int64_t r0 = t < tiles ? tile_row(spread, RB, R, t, 0) : tiles * RB + (t - tiles);
        const char *wr = (const char *)w + (size_t)r0 * (size_t)ldw * es;
        if (n == RB)
            dot_tile(RB, M, dt, P, wr, tld, x, ldx, res);
        else
            dot_tile(1, M, dt, P, wr, ldw, x, ldx, res);
        for (int i = 0; i < n; i++) {
            int64_t r = t < tiles ? tile_row(spread, RB, R, t, i) : r0;
            for (int m = 0; m < M; m++) {
                float *o = out + r * ors + m * oms;
                *o = acc ? *o + res[i][m] : res[i][m];
            }
        }
    }
}

/* ---- one column streamed: rows' totals folded sixteen at a time ---- */

/* Lanes lo..lo+7 of a then of b, for the folds below. */
#define FOLD_HALVES(a, b, lo) \
    __builtin_shufflevector(a, b, lo, lo + 1, lo + 2, lo + 3, lo + 4, lo + 5, lo + 6, lo + 7, \
                            lo + 16, lo + 17, lo + 18, lo + 19, lo + 20, lo + 21, lo + 22, lo + 23)

/* r[i] holds row i's 16 partial sums; returns the 16 row totals in row
 * order. Each level adds the two halves of every row's remaining lanes
 * for two rows at once, so sixteen rows end in 8 + 4 + 2 + 1 additions
 * and one store, where a horizontal sum and a scalar store per row broke
 * up the weight stream (that loop streamed 21-31 GB/s depending on where
 * it landed in the binary; this one 27-31 wherever it lands). */
KI v16 fold16(const v16 r[16]) {
    v16 a[8], b[4], c[2];
    for (int i = 0; i < 8; i++) /* lanes 0-7: row 2i, 8-15: row 2i+1 */
        a[i] = FOLD_HALVES(r[2 * i], r[2 * i + 1], 0) + FOLD_HALVES(r[2 * i], r[2 * i + 1], 8);
    for (int i = 0; i < 4; i++) /* four lanes a row, rows 4i.. */
        b[i] = __builtin_shufflevector(a[2 * i], a[2 * i + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17,
                                       18, 19, 24, 25, 26, 27) +
               __builtin_shufflevector(a[2 * i], a[2 * i + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20,
                                       21, 22, 23, 28, 29, 30, 31);
    for (int i = 0; i < 2; i++) /* two lanes a row, rows 8i.. */
        c[i] = __builtin_shufflevector(b[2 * i], b[2 * i + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17,
                                       20, 21, 24, 25, 28, 29) +
               __builtin_shufflevector(b[2 * i], b[2 * i + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18,
                                       19, 22, 23, 26, 27, 30, 31);
    return __builtin_shufflevector(c[0], c[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                   28, 30) +
           __builtin_shufflevector(c[0], c[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27,
                                   29, 31);
}

/* out(r) (+)= W(r, :) . x for f32 / f16 rows read front to back, one row
 * at a time with two independent sums. */
KI void dot_stream1(const wt_dtype dt, int64_t R, int64_t P, const char *w, int64_t ldw,
                    const float *x, float *out, int64_t ors, int acc) {
    const size_t es = dt == WT_F32 ? 4 : 2;
    const int64_t pv = P / 16 * 16;
    int64_t r0 = 0;
    for (; r0 + 16 <= R; r0 += 16) {
        v16 rs[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) {
            const char *wr = w + (size_t)(r0 + i) * (size_t)ldw * es;
            v16 a0 = {0}, a1 = {0};
            int64_t p = 0;
            for (; p + 32 <= P; p += 32) {
                a0 = fma16(ld16(wr + (size_t)p * es, dt), ld16(x + p, WT_F32), a0);
                a1 = fma16(ld16(wr + (size_t)(p + 16) * es, dt), ld16(x + p + 16, WT_F32), a1);
            }
            if (p < pv) a0 = fma16(ld16(wr + (size_t)p * es, dt), ld16(x + p, WT_F32), a0);
            rs[i] = a0 + a1;
        }
        float tot[16];
        st16(tot, fold16(rs));
        for (int i = 0; i < 16; i++) {
            const char *wr = w + (size_t)(r0 + i) * (size_t)ldw * es;
            float sum = tot[i];
            for (int64_t q = pv; q < P; q++) sum += elem(wr, dt, q) * x[q];
            float *o = out + (r0 + i) * ors;
            *o = acc ? *o + sum : sum;
        }
    }
    if (r0 < R)
        dot_all(1, 0, 1, dt, R - r0, P, w + (size_t)r0 * (size_t)ldw * es, ldw, x, 0,
                out + r0 * ors, ors, 0, acc);
}

/* ---- very short rows: 16 / M rows at a time, folded together ---- */

/* out(r, m) (+)= W(r, :) . X(m, :) for rows of at most DOT_FOLD_ROW
 * bytes (attention's keys: 64 a head). A horizontal sum per (row, column)
 * cost more than the row's multiply-adds; here the 16 / M rows of a group
 * keep one vector sum per column and fold16 reduces all 16 at once. Each
 * group asks for the group four ahead: the rows are short, so the hardware
 * prefetcher alone ran behind (Mimi's rings in a step: 32 -> 24 us a layer);
 * past the last rows too (a prefetch never faults), where a ring's next
 * head lies (24 -> 21 us). Rows past the full groups run one at a time. */
KI void dot_fold(const int M, const wt_dtype dt, int64_t R, int64_t P, const char *w,
                 int64_t ldw, const float *x, int64_t ldx, float *out, int64_t ors, int64_t oms,
                 int acc) {
    const size_t es = dt == WT_F32 ? 4 : 2;
    const int G = 16 / M;
    const int64_t pv = P / 16 * 16;
    int64_t r0 = 0;
    for (; r0 + G <= R; r0 += G) {
        v16 rs[16];
        for (int i = 0; i < 16; i++) rs[i] = (v16){0};
        const char *wg = w + (size_t)r0 * (size_t)ldw * es;
        for (size_t l = 0; l < (size_t)G * (size_t)ldw * es; l += 64)
            __builtin_prefetch(wg + (size_t)(4 * G) * (size_t)ldw * es + l);
        for (int64_t p = 0; p < pv; p += 16) {
            v16 xv[4];
            for (int m = 0; m < M; m++) xv[m] = ld16(x + m * ldx + p, WT_F32);
#pragma GCC unroll 16
            for (int i = 0; i < G; i++) {
                v16 wv = ld16(wg + ((size_t)i * (size_t)ldw + (size_t)p) * es, dt);
                for (int m = 0; m < M; m++) rs[i * M + m] = fma16(wv, xv[m], rs[i * M + m]);
            }
        }
        float tot[16];
        st16(tot, fold16(rs));
        for (int i = 0; i < G; i++) {
            const char *wr = w + (size_t)(r0 + i) * (size_t)ldw * es;
            for (int m = 0; m < M; m++) {
                float sum = tot[i * M + m];
                for (int64_t q = pv; q < P; q++) sum += elem(wr, dt, q) * x[m * ldx + q];
                float *o = out + (r0 + i) * ors + m * oms;
                *o = acc ? *o + sum : sum;
            }
        }
    }
    if (r0 < R)
        dot_all(1, 0, M, dt, R - r0, P, w + (size_t)r0 * (size_t)ldw * es, ldw, x, ldx,
                out + r0 * ors, ors, oms, acc);
}

#define DOT_FOLD_CASE(M_)                                                                      \
    case M_:                                                                                   \
        if (wdt == WT_BF16)                                                                    \
            dot_fold(M_, WT_BF16, R, P, w, ldw, x, ldx, out, ors, oms, acc);                   \
        else if (wdt == WT_F16)                                                                \
            dot_fold(M_, WT_F16, R, P, w, ldw, x, ldx, out, ors, oms, acc);                    \
        else                                                                                   \
            dot_fold(M_, WT_F32, R, P, w, ldw, x, ldx, out, ors, oms, acc);                    \
        return;

#define DOT_CASE(M_, RB_, SP_)                                                                 \
    case M_:                                                                                   \
        if (wdt == WT_BF16)                                                                    \
            dot_all(RB_, SP_, M_, WT_BF16, R, P, w, ldw, x, ldx, out, ors, oms, acc);          \
        else if (wdt == WT_F16)                                                                \
            dot_all(RB_, SP_, M_, WT_F16, R, P, w, ldw, x, ldx, out, ors, oms, acc);           \
        else                                                                                   \
            dot_all(RB_, SP_, M_, WT_F32, R, P, w, ldw, x, ldx, out, ors, oms, acc);           \
        break;

void wt_kern_dot(int64_t R, int M, int64_t P, const void *w, wt_dtype wdt, int64_t ldw,
                 const float *x, int64_t ldx, float *out, int64_t ors, int64_t oms, int acc) {
    if (M == 1 && wdt != WT_BF16 && P <= DOT_STREAM_MAX_P &&
        R * P * (int64_t)dt_size(wdt) >= DOT_STREAM_MIN) {
        if (wdt == WT_F16)
            dot_stream1(WT_F16, R, P, w, ldw, x, out, ors, acc);
        else
            dot_stream1(WT_F32, R, P, w, ldw, x, out, ors, acc);
        return;
    }
    if (P * (int64_t)dt_size(wdt) <= DOT_FOLD_ROW) {
        switch (M) {
            DOT_FOLD_CASE(1)
            DOT_FOLD_CASE(2)
            DOT_FOLD_CASE(3)
            DOT_FOLD_CASE(4)
        default: break;
        }
    }
    if (wdt != WT_BF16 && P * (int64_t)dt_size(wdt) <= DOT_SHORT_ROW) {
        switch (M) {
            DOT_CASE(1, DOT_SPREAD_RB, 1)
            DOT_CASE(2, DOT_SPREAD_RB, 1)
            DOT_CASE(3, DOT_SPREAD_RB, 1)
            DOT_CASE(4, DOT_SPREAD_RB, 1)
        default: break;
        }
        return;
    }
    switch (M) {
        DOT_CASE(1, DOT_RB_1, 0)
        DOT_CASE(2, DOT_RB_2, 0)
        DOT_CASE(3, DOT_RB_34, 1)
        DOT_CASE(4, DOT_RB_34, 1)
    default: break;
    }
}

/* ---- bcast: c[r * ldc + 0..31] += sum_p a(r, p) B(p, 0..31) ---- */

KI void bc_tile(const int mr, const wt_dtype dt, int64_t P, const float *a, int64_t ars,
                int64_t aps, const char *b, int64_t ldb, float *c, int64_t ldc, int first,
                const float *bias, int64_t bs) {
    const size_t es = dt == WT_F32 ? 4 : 2;
    v16 c0[WT_KERN_MR], c1[WT_KERN_MR];
    for (int r = 0; r < mr; r++) {
        c0[r] = tile_init(first, c + r * ldc, bias, bs, r);
        c1[r] = tile_init(first, c + r * ldc + 16, bias, bs, r);
    }
    for (int64_t p = 0; p < P; p++) {
        const char *bp = b + (size_t)p * (size_t)ldb * es;
        v16 b0 = ld16(bp, dt), b1 = ld16(bp + 16 * es, dt);
        const float *ap = a + p * aps;
        for (int r = 0; r < mr; r++) {
            v16 av = splat(ap[r * ars]);
            c0[r] = fma16(av, b0, c0[r]);
            c1[r] = fma16(av, b1, c1[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        st16(c + r * ldc, c0[r]);
        st16(c + r * ldc + 16, c1[r]);
    }
}

#define BC_DT(MR_)                                                                            \
    case MR_:                                                                                 \
        if (dt == WT_BF16)                                                                    \
            bc_tile(MR_, WT_BF16, P, a, ars, aps, b, ldb, c, ldc, first, bias, bs);           \
        else if (dt == WT_F16)                                                                \
            bc_tile(MR_, WT_F16, P, a, ars, aps, b, ldb, c, ldc, first, bias, bs);            \
        else                                                                                  \
            bc_tile(MR_, WT_F32, P, a, ars, aps, b, ldb, c, ldc, first, bias, bs);            \
        break;

/* Narrow tiles: c[mr][0..15] += sum_p a(r, p) B(p, 0..15) with f32 B, up to
 * BC_NARROW_MR rows: for products of at most 16 columns, where a 32-wide
 * tile would spend half its multiply-adds on padding. */
#define BC_NARROW_MR WT_KERN_NARROW_MR
KI void bc_narrow(const int mr, int64_t P, const float *a, int64_t ars, int64_t aps,
                  const float *b, int64_t ldb, float *c, int64_t ldc, int first,
                  const float *bias, int64_t bs) {
    v16 c0[BC_NARROW_MR];
    for (int r = 0; r < mr; r++) c0[r] = tile_init(first, c + r * ldc, bias, bs, r);
    for (int64_t p = 0; p < P; p++) {
        v16 b0 = ld16(b + p * ldb, WT_F32);
        const float *ap = a + p * aps;
        for (int r = 0; r < mr; r++) c0[r] = fma16(splat(ap[r * ars]), b0, c0[r]);
    }
    for (int r = 0; r < mr; r++) st16(c + r * ldc, c0[r]);
}

#define BCN(MR_)                                                                              \
    case MR_:                                                                                 \
        bc_narrow(MR_, P, a, ars, aps, b, ldb, c, ldc, first, bias, bs);                      \
        break;

static void bc_narrow_run(int mr, int64_t P, const float *a, int64_t ars, int64_t aps,
                          const float *b, int64_t ldb, float *c, int64_t ldc, int first,
                          const float *bias, int64_t bs) {
    switch (mr) {
        BCN(1) BCN(2) BCN(3) BCN(4) BCN(5) BCN(6) BCN(7) BCN(8) BCN(9) BCN(10) BCN(11) BCN(12)
    default: break;
    }
}

static void bc_run(int mr, wt_dtype dt, int64_t P, const float *a, int64_t ars, int64_t aps,
                   const void *bv, int64_t ldb, float *c, int64_t ldc, int first,
                   const float *bias, int64_t bs) {
    const char *b = bv;
    switch (mr) {
        BC_DT(1)
        BC_DT(2)
        BC_DT(3)
        BC_DT(4)
        BC_DT(5)
        BC_DT(6)
    default: break;
    }
}

/* ---- W x X with X packed in panels ---- */

/* ab[r * KC + p] = W(r0 + r, p0 + p) in f32, vector conversions where the
 * row is contiguous. */
static void half_rows(const void *w, wt_dtype wdt, int64_t r0, int mr, int64_t p0, int64_t kc,
                      int64_t wrs, int64_t wps, float *ab) {
    for (int r = 0; r < mr; r++) {
        float *d = ab + r * KC;
        int64_t base = (r0 + r) * wrs + p0 * wps, p = 0;
        if (wps == 1) {
            const uint16_t *src = (const uint16_t *)w + base;
            if (wdt == WT_BF16)
                for (; p + 16 <= kc; p += 16) st16(d + p, ld16(src + p, WT_BF16));
            else
                for (; p + 16 <= kc; p += 16) st16(d + p, ld16(src + p, WT_F16));
        }
        for (; p < kc; p++) d[p] = elem(w, wdt, base + p * wps);
    }
}

/* c[r * ldc + ..] += sum_p W(r0 + r, p0 + p) xb[p][..] with the weights in
 * f32 (half ones converted into ab first); with `first` from the bias. */
static void wx_tile(int mr, int narrow, const void *w, wt_dtype wdt, int64_t r0, int64_t p0,
                    int64_t kc, int64_t wrs, int64_t wps, const float *xb, float *ab, float *c,
                    int64_t ldc, int first, const float *bias, int64_t bs) {
    const float *a = (const float *)w + r0 * wrs + p0 * wps;
    int64_t ars = wrs, aps = wps;
    if (wdt != WT_F32) {
        half_rows(w, wdt, r0, mr, p0, kc, wrs, wps, ab);
        a = ab;
        ars = KC;
        aps = 1;
    }
    if (narrow)
        bc_narrow_run(mr, kc, a, ars, aps, xb, WT_KERN_NR, c, ldc, first, bias, bs);
    else
        bc_run(mr, WT_F32, kc, a, ars, aps, xb, WT_KERN_NR, c, ldc, first, bias, bs);
}

/* wt_kern_wx; with pairs packed by ppack (bf16 weights) as bf16 products. */
static void wx_run(wt_kern_pack_pairs_fn ppack, int64_t R, int64_t P, int64_t n_lo, int64_t n_hi,
                   const void *w, wt_dtype wdt, int64_t wrs, int64_t wps, wt_kern_pack_fn pack,
                   const void *arg, float *out, int64_t ors, int64_t ons, const float *bias,
                   int64_t bs) {
    const int pairs = ppack != NULL;
    float xb[KC * WT_KERN_NR];
    uint32_t xp[KC / 2 * WT_KERN_NR]; /* X rounded, two rows a lane */
    float ab[BC_NARROW_MR * KC];      /* half weights converted, [r][p] */
    float ct[BC_NARROW_MR * WT_KERN_NR];
    for (int64_t n0 = n_lo; n0 < n_hi; n0 += WT_KERN_NR) {
        int nn = n_hi - n0 < WT_KERN_NR ? (int)(n_hi - n0) : WT_KERN_NR;
        for (int64_t p0 = 0; p0 < P; p0 += KC) {
            int64_t kc = P - p0 < KC ? P - p0 : KC;
            if (pairs)
                ppack(arg, p0, kc, n0, nn, xp);
            else
                pack(arg, p0, kc, n0, nn, xb);
            int narrow = nn <= 16, rt = narrow ? BC_NARROW_MR : WT_KERN_MR;
            /* tiles of full width sum straight into out */
            int direct = ons == 1 && nn == (narrow ? 16 : WT_KERN_NR);
            for (int64_t r0 = 0; r0 < R; r0 += rt) {
                int mr = R - r0 < rt ? (int)(R - r0) : rt;
                const float *br = bias ? bias + r0 * bs : NULL;
                float *o0 = out + r0 * ors + n0 * ons;
                if (direct) {
                    /* the next tile's output lines, for writing: this
                     * tile's products hide the read the first store of a
                     * line not in cache waits for */
                    float *nx = r0 + rt < R ? o0 + rt * ors : out + n0 + WT_KERN_NR;
                    int nr = r0 + rt < R ? (R - r0 - rt < rt ? (int)(R - r0 - rt) : rt) : rt;
                    for (int r = 0; r < nr; r++)
                        for (int l = 0; l < nn; l += 16) __builtin_prefetch(nx + r * ors + l, 1);
                    if (pairs)
                        wt_kern_bw(mr, narrow, kc, (const uint16_t *)w + r0 * wrs + p0 * wps, wrs,
                                   wps, xp, o0, ors, p0 == 0, br, bs);
                    else
                        wx_tile(mr, narrow, w, wdt, r0, p0, kc, wrs, wps, xb, ab, o0, ors, p0 == 0,
                                br, bs);
                    continue;
                }
                for (int r = 0; r < mr; r++) {
                    float *cr = ct + r * WT_KERN_NR;
                    if (p0 == 0) {
                        float v = br ? br[r * bs] : 0.0f;
                        for (int j = 0; j < WT_KERN_NR; j++) cr[j] = v;
                    } else {
                        for (int j = 0; j < nn; j++) cr[j] = o0[r * ors + j * ons];
                        for (int j = nn; j < WT_KERN_NR; j++) cr[j] = 0;
                    }
                }
                if (pairs)
                    wt_kern_bw(mr, narrow, kc, (const uint16_t *)w + r0 * wrs + p0 * wps, wrs, wps,
                               xp, ct, WT_KERN_NR, 0, NULL, 0);
                else
                    wx_tile(mr, narrow, w, wdt, r0, p0, kc, wrs, wps, xb, ab, ct, WT_KERN_NR, 0,
                            NULL, 0);
                for (int r = 0; r < mr; r++) {
                    float *o = o0 + r * ors;
                    const float *cr = ct + r * WT_KERN_NR;
                    if (ons == 1)
                        memcpy(o, cr, sizeof(float) * (size_t)nn);
                    else
                        for (int j = 0; j < nn; j++) o[j * ons] = cr[j];
                }
            }
        }
    }
}

void wt_kern_wx(int64_t R, int64_t P, int64_t n_lo, int64_t n_hi, const void *w, wt_dtype wdt,
                int64_t wrs, int64_t wps, wt_kern_pack_fn pack, const void *arg, float *out,
                int64_t ors, int64_t ons, const float *bias, int64_t bs) {
    wx_run(NULL, R, P, n_lo, n_hi, w, wdt, wrs, wps, pack, arg, out, ors, ons, bias, bs);
}

void wt_kern_wx_bf16(int64_t R, int64_t P, int64_t n_lo, int64_t n_hi, const void *w,
                     int64_t wrs, int64_t wps, wt_kern_pack_pairs_fn pack, const void *arg,
                     float *out, int64_t ors, int64_t ons, const float *bias, int64_t bs) {
    wx_run(pack, R, P, n_lo, n_hi, w, WT_BF16, wrs, wps, NULL, arg, out, ors, ons, bias, bs);
}

/* ---- A x B for up to 16 rows of A: B streamed row by row ---- */

/* Accumulator of ab_small: M rows of AB_ACC / M columns (32 KiB), so one
 * row of A covers rows of B up to 8192 columns (Mimi's first decoder
 * upsampling: 8192) in a single front-to-back pass. */
#define AB_ACC 8192
/* Rows of B per accumulator update: every update loads and stores the
 * accumulator, so more rows at once leave more of the load slots to B
 * (Mimi's 1024 x 8192 conv-transpose step against 2 rows of A, cold
 * weights: f32 2.1 -> 1.7 ms, bf16 1.3 -> 0.9 ms going from 4 to 8). */
#define AB_Q 8
/* Rows of A that stream B this way. The accumulator then holds 512
 * columns per pass (B read in 2 KiB pieces of f32 rows), which still beat
 * 6 x 32 tiles reading B in 128-byte pieces once the weights come from
 * memory: Mimi's 512 x 3072 conv-transpose step against 16 rows, cold,
 * f32 1.37 -> 0.89 ms, bf16 0.98 -> 0.88 (in cache the tiles win, 0.68
 * against 0.80, but a streaming step finds its weights cold). */
#define AB_MMAX WT_KERN_AB_MMAX
/* Rows of B from which one row of A reads B as four long streams, one per
 * quarter, rather than AB_Q adjacent rows at a time: Demucs' deepest
 * decoder step (768 x 3072, f32) 400 -> 340 us; eighths ran slower. */
#define AB_SPREAD_MIN 64

/* y[m * jc + j] += sum_{q<Q} a(m, p+q) B(p+q, j0 + j): Q rows of B (each
 * read once, front to back) against the accumulator rows in L1/L2. */
KI void ab_rows(const int M, const int Q, const wt_dtype dt, const float av[AB_Q][AB_MMAX],
                const char *b, int64_t ldb, int64_t jc, float *y) {
    const size_t es = dt == WT_F32 ? 4 : 2;
    int64_t j = 0;
    for (; j + 16 <= jc; j += 16) {
        v16 bv[AB_Q];
        for (int q = 0; q < Q; q++) bv[q] = ld16(b + ((size_t)q * (size_t)ldb + (size_t)j) * es, dt);
        for (int m = 0; m < M; m++) {
            v16 acc = ld16(y + m * jc + j, WT_F32);
            for (int q = 0; q < Q; q++) acc = fma16(splat(av[q][m]), bv[q], acc);
            st16(y + m * jc + j, acc);
        }
    }
    for (; j < jc; j++)
        for (int m = 0; m < M; m++)
            for (int q = 0; q < Q; q++)
                y[m * jc + j] += av[q][m] * elem(b + (size_t)q * (size_t)ldb * es, dt, j);
}

KI void ab_small(const int M, const wt_dtype dt, int64_t P, int64_t j_lo, int64_t j_hi,
                 const float *a, int64_t ars, int64_t aps, const void *bv, int64_t ldb,
                 wt_kern_emit_fn emit, void *arg) {
    const size_t es = dt == WT_F32 ? 4 : 2;
    const int64_t jmax = AB_ACC / M;
    float y[AB_ACC];
    float ct[AB_MMAX * WT_KERN_NR];
    for (int64_t j0 = j_lo; j0 < j_hi; j0 += jmax) {
        int64_t jc = j_hi - j0 < jmax ? j_hi - j0 : jmax;
        memset(y, 0, sizeof(float) * (size_t)(M * jc));
        const char *b = (const char *)bv + (size_t)j0 * es;
        int64_t p = 0;
        float av[AB_Q][AB_MMAX];
        if (M == 1 && P >= AB_SPREAD_MIN) {
            /* one row of A: B's four quarters side by side, four long
             * streams (row p of each quarter per update) */
            int64_t h = P / 4;
            for (; p < h; p++) {
                for (int q = 0; q < 4; q++) av[q][0] = a[(p + q * h) * aps];
                ab_rows(1, 4, dt, av, b + (size_t)p * (size_t)ldb * es, h * ldb, jc, y);
            }
            p = 4 * h;
        }
        for (; p + AB_Q <= P; p += AB_Q) {
            for (int q = 0; q < AB_Q; q++)
                for (int m = 0; m < M; m++) av[q][m] = a[m * ars + (p + q) * aps];
            ab_rows(M, AB_Q, dt, av, b + (size_t)p * (size_t)ldb * es, ldb, jc, y);
        }
        for (; p < P; p++) {
            for (int m = 0; m < M; m++) av[0][m] = a[m * ars + p * aps];
            ab_rows(M, 1, dt, av, b + (size_t)p * (size_t)ldb * es, ldb, jc, y);
        }
        for (int64_t t0 = 0; t0 < jc; t0 += WT_KERN_NR) {
            int nj = jc - t0 < WT_KERN_NR ? (int)(jc - t0) : WT_KERN_NR;
            for (int m = 0; m < M; m++)
                memcpy(ct + m * WT_KERN_NR, y + m * jc + t0, sizeof(float) * (size_t)nj);
            emit(arg, 0, M, j0 + t0, nj, ct);
        }
    }
}

/* ---- A x B for 1-2 rows of A against at most 64 columns of B ---- */

/* The whole product in registers (at most 2 x 4 vectors) over all of P:
 * B's rows are read once, front to back, with no accumulator traffic
 * (attention's values: 250 slots x 64 per head against 2 queries, where
 * ab_small's load-add-store of its accumulator per 8 rows of B dominated:
 * f32 ring in cache, 24 -> 13 us a layer). Columns come in 1-4 vectors of
 * 16. A software prefetch here only slowed the one stream down. */
KI void ab_regs(const int M, const wt_dtype dt, int nv, int64_t P, const float *a, int64_t ars,
                int64_t aps, const char *b, int64_t ldb, float y[2][64]) {
    const size_t es = dt == WT_F32 ? 4 : 2;
    v16 acc[2][4];
    for (int m = 0; m < M; m++)
        for (int v = 0; v < 4; v++) acc[m][v] = (v16){0};
    for (int64_t p = 0; p < P; p++) {
        const char *br = b + (size_t)p * (size_t)ldb * es;
        v16 av[2];
        for (int m = 0; m < M; m++) av[m] = splat(a[m * ars + p * aps]);
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            if (v >= nv) break;
            v16 bv = ld16(br + (size_t)v * 16 * es, dt);
            for (int m = 0; m < M; m++) acc[m][v] = fma16(av[m], bv, acc[m][v]);
        }
    }
    for (int m = 0; m < M; m++)
        for (int v = 0; v < nv; v++) st16(y[m] + v * 16, acc[m][v]);
}

static void ab_narrow(int M, wt_dtype bdt, int64_t P, int64_t j_lo, int64_t j_hi, const float *a,
                      int64_t ars, int64_t aps, const void *b, int64_t ldb, wt_kern_emit_fn emit,
                      void *arg) {
    float y[2][64], ct[2 * WT_KERN_NR];
    int nv = (int)((j_hi - j_lo) / 16);
    const char *bj = (const char *)b + (size_t)j_lo * dt_size(bdt);
    if (M == 1) {
        if (bdt == WT_BF16) ab_regs(1, WT_BF16, nv, P, a, ars, aps, bj, ldb, y);
        else if (bdt == WT_F16) ab_regs(1, WT_F16, nv, P, a, ars, aps, bj, ldb, y);
        else ab_regs(1, WT_F32, nv, P, a, ars, aps, bj, ldb, y);
    } else {
        if (bdt == WT_BF16) ab_regs(2, WT_BF16, nv, P, a, ars, aps, bj, ldb, y);
        else if (bdt == WT_F16) ab_regs(2, WT_F16, nv, P, a, ars, aps, bj, ldb, y);
        else ab_regs(2, WT_F32, nv, P, a, ars, aps, bj, ldb, y);
    }
    for (int t0 = 0; t0 < nv * 16; t0 += WT_KERN_NR) {
        int nj = nv * 16 - t0 < WT_KERN_NR ? nv * 16 - t0 : WT_KERN_NR;
        for (int m = 0; m < M; m++)
            memcpy(ct + m * WT_KERN_NR, y[m] + t0, sizeof(float) * (size_t)nj);
        emit(arg, 0, M, j_lo + t0, nj, ct);
    }
}

/* ab_small for M_ rows of A and B's dtype, then return. */
#define AB_SMALL(M_)                                                                          \
    do {                                                                                      \
        if (bdt == WT_BF16)                                                                   \
            ab_small(M_, WT_BF16, P, j_lo, j_hi, a, ars, aps, b, ldb, emit, arg);             \
        else if (bdt == WT_F16)                                                               \
            ab_small(M_, WT_F16, P, j_lo, j_hi, a, ars, aps, b, ldb, emit, arg);              \
        else                                                                                  \
            ab_small(M_, WT_F32, P, j_lo, j_hi, a, ars, aps, b, ldb, emit, arg);              \
        return;                                                                               \
    } while (0)
#define AB_CASE(M_)                                                                           \
    case M_:                                                                                  \
        AB_SMALL(M_);

/* ---- A x B with B's rows read in place ---- */

void wt_kern_ab(int64_t M, int64_t P, int64_t j_lo, int64_t j_hi, const float *a, int64_t ars,
                int64_t aps, const void *b, wt_dtype bdt, int64_t ldb, wt_kern_emit_fn emit,
                void *arg) {
    /* few rows of A (a streaming step): stream B's rows once, front to back;
     * up to 4 rows unrolled, more with the row count left to the loop */
    if (M <= 2 && j_hi - j_lo <= 64 && (j_hi - j_lo) % 16 == 0) {
        ab_narrow((int)M, bdt, P, j_lo, j_hi, a, ars, aps, b, ldb, emit, arg);
        return;
    }
    switch (M) {
        AB_CASE(1)
        AB_CASE(2)
        AB_CASE(3)
        AB_CASE(4)
    default: break;
    }
    if (M <= AB_MMAX) AB_SMALL((int)M);
    float ct[WT_KERN_MR * WT_KERN_NR];
    float pb[KC * WT_KERN_NR];
    size_t es = dt_size(bdt);
    for (int64_t j0 = j_lo; j0 < j_hi; j0 += WT_KERN_NR) {
        int nj = j_hi - j0 < WT_KERN_NR ? (int)(j_hi - j0) : WT_KERN_NR;
        const char *bj = (const char *)b + (size_t)j0 * es;
        for (int64_t m0 = 0; m0 < M; m0 += WT_KERN_MR) {
            int mr = M - m0 < WT_KERN_MR ? (int)(M - m0) : WT_KERN_MR;
            memset(ct, 0, sizeof ct);
            if (nj == WT_KERN_NR) {
                bc_run(mr, bdt, P, a + m0 * ars, ars, aps, bj, ldb, ct, WT_KERN_NR, 0, NULL, 0);
            } else {
                /* a partial panel would read past B: copy it, zero-padded */
                for (int64_t p0 = 0; p0 < P; p0 += KC) {
                    int64_t kc = P - p0 < KC ? P - p0 : KC;
                    if (m0 == 0 || P > KC)
                        for (int64_t p = 0; p < kc; p++) {
                            float *d = pb + p * WT_KERN_NR;
                            for (int j = 0; j < nj; j++) d[j] = elem(bj, bdt, (p0 + p) * ldb + j);
                            for (int j = nj; j < WT_KERN_NR; j++) d[j] = 0;
                        }
                    bc_run(mr, WT_F32, kc, a + m0 * ars + p0 * aps, ars, aps, pb, WT_KERN_NR, ct,
                           WT_KERN_NR, 0, NULL, 0);
                }
            }
            emit(arg, m0, mr, j0, nj, ct);
        }
    }
}
