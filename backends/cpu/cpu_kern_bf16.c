/* bf16 products of the CPU kernels (see cpu_kern.h): the f32 operand is
 * rounded to bf16 (nearest even) and both operands travel as pairs of bf16
 * in 32-bit lanes (element 2i in the low half, 2i+1 in the high half), so
 * one multiply-add instruction covers 32 weights. With AVX512-BF16 that is
 * its dot-product instruction; elsewhere two f32 multiply-adds of the
 * widened halves, which give the same sums (a product of two bf16 fits an
 * f32 exactly) up to the hardware's flushing of subnormals. Against
 * widening the weights to f32 this doubles the multiply-adds per
 * instruction of the compute-bound convolutions and halves the loads of x
 * in the few-column products, which are bound by load slots.
 * Pairs run along the sum's index p: a weight row gives them by a plain
 * load; the rows of a conv-transpose's B are unpacked two at a time, which
 * interleaves them 128 bits at a time and leaves the 32 columns of a block
 * in the lane order of perm_col, undone when a tile is handed on. */
#include <string.h>

#include "backends/cpu/cpu_kern.h"
#include "backends/cpu/cpu_math.h"
#include "backends/cpu/cpu_vec.h"

typedef uint16_t v32h __attribute__((vector_size(64)));

/* Rows of at most this many bytes run as spread pairs: x, rounded, then
 * takes at most 8 KiB a column and stays in L1 beside the two streams.
 * Twice the cut of the f32 dot (WT_KERN_SHORT_ROW): Demucs' deepest
 * encoder conv (768 rows of 3072, one column, cold) 210 -> 147 us, Mimi's
 * 1024 x 3584 and 512 x 3072 few-step convs 410 -> 292 and 177 -> 122 us.
 * Rows of 8192 (Mimi's downsampling) ran 836 -> 1100 us as pairs. */
#define BD_SHORT_ROW 8192
/* x elements rounded to bf16 per chunk of a dot product (16 KiB a column). */
#define BD_XCH 8192
/* Accumulator of the conv-transpose products (32 KiB, as in cpu_kern.c). */
#define BA_ACC 8192
/* Rows of A per register tile (16 sums of 32 columns) and per packed
 * group when more than WT_KERN_AB_MMAX rows share B. */
#define BA_MR 8
#define BA_SG 16
/* B's rows of at most this many elements ask, as each 32 columns pass,
 * for the same columns of the next 8 rows: 8 streams of a few KiB each
 * were too short for the hardware prefetcher (Mimi's 512 x 3072 step
 * conv-transpose 480 -> 390 us, Demucs' 384 x 1536 100 -> 85 us); rows
 * of 8192 ran slower with it (840 -> 900 us). */
#define BA_PF_ROW 4096
/* Rows of B from which one row of A pairs B's row p with row p + P/2
 * rather than p + 1 (see ba_acc). */
#define BA_SPREAD_MIN 64
/* Pairs of B's rows per packed panel of A in the tiles (16 KiB). */
#define BA_KP 256

/* ---- pairs ---- */

KI uint32_t pair1(float lo, float hi) {
    return wt_cpu_bf16_bits(lo) | wt_cpu_bf16_bits(hi) << 16;
}

/* acc + hi(a) hi(b) + lo(a) lo(b) in every lane. */
KI v16 dp2(v16 acc, v16w a, v16w b) {
#if defined(__AVX512BF16__)
    return (v16)_mm512_dpbf16_ps((__m512)acc, (__m512bh)a, (__m512bh)b);
#else
    const v16w hi = (v16w){0} + 0xFFFF0000u;
    acc = fma16((v16)(a & hi), (v16)(b & hi), acc);
    return fma16((v16)(a << 16), (v16)(b << 16), acc);
#endif
}

/* d[i] = bf16(x[i]) for i < n. */
static void round_row(const float *x, int64_t n, uint16_t *d) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v16h h = __builtin_convertvector(bf_hi(ld16(x + i, WT_F32)) >> 16, v16h);
        memcpy(d + i, &h, sizeof h);
    }
    for (; i < n; i++) d[i] = (uint16_t)wt_cpu_bf16_bits(x[i]);
}

/* Lanes of the two rows r0 (low halves) and r1 (high halves) unpacked into
 * pairs, as the AVX-512 unpack instructions do it: *lo gets columns 0-3,
 * 8-11, 16-19, 24-27, *hi the rest. */
KI void unpack2(v32h r0, v32h r1, v16w *lo, v16w *hi) {
    *lo = (v16w)__builtin_shufflevector(r0, r1, 0, 32, 1, 33, 2, 34, 3, 35, 8, 40, 9, 41, 10, 42,
                                        11, 43, 16, 48, 17, 49, 18, 50, 19, 51, 24, 56, 25, 57,
                                        26, 58, 27, 59);
    *hi = (v16w)__builtin_shufflevector(r0, r1, 4, 36, 5, 37, 6, 38, 7, 39, 12, 44, 13, 45, 14,
                                        46, 15, 47, 20, 52, 21, 53, 22, 54, 23, 55, 28, 60, 29,
                                        61, 30, 62, 31, 63);
}

/* Column of a 32-column block held in lane i (0..15: lo, 16..31: hi). */
KI int perm_col(int i) { return 8 * ((i & 15) >> 2) + 4 * (i >> 4) + (i & 3); }

/* dst[m * WT_KERN_NR + perm_col(i)] = src[m * ld + i] for m < mr, i < 32:
 * columns 0-15 are lanes 0-3 of lo, 0-3 of hi, 4-7 of lo, 4-7 of hi; 16-31
 * the same from lanes 8-15. */
static void unpermute(int mr, const float *src, int64_t ld, float *dst) {
    for (int m = 0; m < mr; m++) {
        v16 lo = ld16(src + m * ld, WT_F32), hi = ld16(src + m * ld + 16, WT_F32);
        st16(dst + m * WT_KERN_NR, __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6,
                                                           7, 20, 21, 22, 23));
        st16(dst + m * WT_KERN_NR + 16, __builtin_shufflevector(lo, hi, 8, 9, 10, 11, 24, 25, 26, 27,
                                                                12, 13, 14, 15, 28, 29, 30, 31));
    }
}

/* ---- dot: few columns of x against weight rows ---- */

/* res[r][m] = sum_{p < pm} W(r, p) xh(m, p), pm a multiple of 32; U
 * independent sums per (row, column) hide the multiply-add's latency when
 * the tile is small. */
/* acc[r][m] += the 32 weights of rows r < R from p times xh(m, p..). */
KI void bd_step(const int R, const int M, int64_t p, const uint16_t *w, int64_t ldw,
                const uint16_t *xh, v16 acc[8][4]) {
    v16w xv[4];
    for (int m = 0; m < M; m++) xv[m] = ldw16(xh + m * BD_XCH + p);
    for (int r = 0; r < R; r++) {
        v16w wv = ldw16(w + (size_t)r * (size_t)ldw + (size_t)p);
        for (int m = 0; m < M; m++) acc[r][m] = dp2(acc[r][m], wv, xv[m]);
    }
}

KI void bd_tile(const int R, const int M, const int U, int64_t pm, const uint16_t *w,
                int64_t ldw, const uint16_t *xh, float res[8][4]) {
    v16 acc[2][8][4];
    for (int u = 0; u < U; u++)
        for (int r = 0; r < R; r++)
            for (int m = 0; m < M; m++) acc[u][r][m] = (v16){0};
    int64_t p = 0;
    for (; p + 32 * U <= pm; p += 32 * U)
        for (int u = 0; u < U; u++) bd_step(R, M, p + 32 * u, w, ldw, xh, acc[u]);
    for (; p < pm; p += 32) bd_step(R, M, p, w, ldw, xh, acc[0]);
    for (int r = 0; r < R; r++)
        for (int m = 0; m < M; m++) {
            v16 s = acc[0][r][m];
            if (U > 1) s += acc[1][r][m];
            res[r][m] = hsum(s);
        }
}

/* Tiles of RB rows, adjacent or spread as in cpu_kern.c (tile t: rows t,
 * t + R/RB, ..); rows past the full tiles run one at a time. */
KI void bd_all(const int RB, const int spread, const int U, const int M, int64_t R, int64_t P,
               const uint16_t *w, int64_t ldw, const float *x, int64_t ldx, float *out,
               int64_t ors, int64_t oms, int acc) {
    uint16_t xh[4][BD_XCH];
    float res[8][4];
    const int64_t tiles = R / RB, tld = spread ? tiles * ldw : ldw;
    for (int64_t p0 = 0; p0 < P; p0 += BD_XCH) {
        int64_t pc = P - p0 < BD_XCH ? P - p0 : BD_XCH, pm = pc / 32 * 32;
        for (int m = 0; m < M; m++) round_row(x + m * ldx + p0, pc, xh[m]);
        int first = p0 == 0 && !acc;
        for (int64_t t = 0; t < tiles + R % RB; t++) {
            int n = t < tiles ? RB : 1;
            int64_t r0 = t < tiles ? (spread ? t : t * RB) : tiles * RB + (t - tiles);
            const uint16_t *wr = w + (size_t)r0 * (size_t)ldw + (size_t)p0;
            if (n == RB)
                bd_tile(RB, M, U, pm, wr, tld, xh[0], res);
            else
                bd_tile(1, M, 2, pm, wr, ldw, xh[0], res);
            for (int i = 0; i < n; i++) {
                int64_t r = t < tiles ? (spread ? t + i * tiles : t * RB + i) : r0;
                const uint16_t *wq = w + (size_t)r * (size_t)ldw + (size_t)p0;
                for (int m = 0; m < M; m++) {
                    float s = res[i][m];
                    for (int64_t q = pm; q < pc; q++)
                        s += elem(wq, WT_BF16, q) * elem(xh[m], WT_BF16, q);
                    float *o = out + r * ors + m * oms;
                    *o = first ? s : *o + s;
                }
            }
        }
    }
}

#define BD_CASE(M_, RB_, SP_, U_)                                                             \
    case M_:                                                                                  \
        bd_all(RB_, SP_, U_, M_, R, P, w, ldw, x, ldx, out, ors, oms, acc);                   \
        break;

/* Rows of at most BD_SHORT_ROW bytes run as spread pairs (each row one
 * long stream, as for f32); longer rows 8 adjacent rows for one or two
 * columns, 4 spread rows for three or four (8 would need 32 sums). */
void wt_kern_dot_bf16(int64_t R, int M, int64_t P, const void *wv, int64_t ldw, const float *x,
                      int64_t ldx, float *out, int64_t ors, int64_t oms, int acc) {
    const uint16_t *w = wv;
    if (P * 2 <= BD_SHORT_ROW) {
        switch (M) {
            BD_CASE(1, 2, 1, 2)
            BD_CASE(2, 2, 1, 2)
            BD_CASE(3, 2, 1, 2)
            BD_CASE(4, 2, 1, 2)
        default: break;
        }
        return;
    }
    switch (M) {
        BD_CASE(1, 8, 0, 2)
        BD_CASE(2, 8, 0, 1)
        BD_CASE(3, 4, 1, 1)
        BD_CASE(4, 4, 1, 1)
    default: break;
    }
}

/* ---- W x X: weight rows broadcast against X panels of pairs ---- */

/* c[r * ldc + 0..16 NV) += sum_p W(r, p) X(p, ..) over kp pairs of p, and
 * the odd last p when `odd`; W rows at w + r * ldw, NV vectors of columns;
 * with `first` the sums start from the bias instead of c. */
KI void bw_tile(const int mr, const int NV, int64_t kp, int odd, const uint16_t *w, int64_t ldw,
                const uint32_t *xp, float *c, int64_t ldc, int first, const float *bias,
                int64_t bs) {
    v16 acc[12][2];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < NV; v++)
            acc[r][v] = tile_init(first, c + r * ldc + 16 * v, bias, bs, r);
    for (int64_t pp = 0; pp < kp + odd; pp++) {
        v16w b[2];
        for (int v = 0; v < NV; v++) b[v] = ldw16(xp + pp * WT_KERN_NR + 16 * v);
        for (int r = 0; r < mr; r++) {
            uint32_t a;
            if (pp < kp)
                memcpy(&a, w + (size_t)r * (size_t)ldw + 2 * (size_t)pp, sizeof a);
            else /* the last weight alone: its neighbour may lie past the row */
                a = w[(size_t)r * (size_t)ldw + 2 * (size_t)pp];
            v16w av = (v16w){0} + a;
            for (int v = 0; v < NV; v++) acc[r][v] = dp2(acc[r][v], av, b[v]);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < NV; v++) st16(c + r * ldc + 16 * v, acc[r][v]);
}

#define BW_CASE(MR_, NV_)                                                                      \
    case MR_:                                                                                  \
        bw_tile(MR_, NV_, kp, odd, w, ldw, xp, c, ldc, first, bias, bs);                       \
        break;

void wt_kern_bw(int mr, int narrow, int64_t kc, const void *wv, int64_t wrs, int64_t wps,
                const uint32_t *xp, float *c, int64_t ldc, int first, const float *bias,
                int64_t bs) {
    const uint16_t *w = wv;
    uint16_t wb[WT_KERN_NARROW_MR * WT_KERN_KC];
    int64_t ldw = wrs, kp = kc / 2;
    int odd = (int)(kc & 1);
    if (wps != 1) { /* weights not contiguous along p: gather the rows */
        for (int r = 0; r < mr; r++)
            for (int64_t p = 0; p < kc; p++) wb[r * WT_KERN_KC + p] = w[r * wrs + p * wps];
        w = wb;
        ldw = WT_KERN_KC;
    }
    if (narrow) {
        switch (mr) {
            BW_CASE(1, 1) BW_CASE(2, 1) BW_CASE(3, 1) BW_CASE(4, 1) BW_CASE(5, 1) BW_CASE(6, 1)
            BW_CASE(7, 1) BW_CASE(8, 1) BW_CASE(9, 1) BW_CASE(10, 1) BW_CASE(11, 1)
            BW_CASE(12, 1)
        default: break;
        }
        return;
    }
    switch (mr) {
        BW_CASE(1, 2) BW_CASE(2, 2) BW_CASE(3, 2) BW_CASE(4, 2) BW_CASE(5, 2) BW_CASE(6, 2)
    default: break;
    }
}

/* ---- A x B: activations against weight rows unpacked in pairs ---- */

/* nj (1..32) bf16 of a row of B, zeros past them (never read). */
KI v32h ld_row(const uint16_t *p, int nj) {
    v32h v = (v32h){0};
    if (nj == 32) {
        memcpy(&v, p, sizeof v);
        return v;
    }
#if defined(__AVX512BW__)
    return (v32h)_mm512_maskz_loadu_epi16((__mmask32)((1u << nj) - 1u), p);
#else
    memcpy(&v, p, sizeof(uint16_t) * (size_t)nj);
    return v;
#endif
}

/* y[m * ldy + ..] += sum_q a(m, pair q) B(rows 2q, 2q+1; ..) over QP pairs
 * of B's rows and jc columns (blocks of 32 in perm_col order; ldy a
 * multiple of 32, so the last block's padding lanes stay in y's row);
 * `last` makes the one pair B's last row with a zero row. */
KI void ba_rows(const int M, const int QP, const int last, const uint32_t ap[4][WT_KERN_AB_MMAX],
                const uint16_t *b, int64_t ldb, int64_t d1, int64_t dq, int64_t jc, float *y,
                int64_t ldy) {
    for (int64_t j = 0; j < jc; j += 32) {
        int nj = jc - j < 32 ? (int)(jc - j) : 32;
        v16w lo[4], hi[4];
        for (int q = 0; q < QP; q++) {
            const uint16_t *r = b + (size_t)(dq * q) * (size_t)ldb + (size_t)j;
            if (QP == 4 && d1 == 1 && ldb <= BA_PF_ROW) {
                __builtin_prefetch(r + (size_t)(2 * QP) * (size_t)ldb);
                __builtin_prefetch(r + (size_t)(2 * QP + 1) * (size_t)ldb);
            }
            unpack2(ld_row(r, nj), last ? (v32h){0} : ld_row(r + d1 * ldb, nj), &lo[q], &hi[q]);
        }
        for (int m = 0; m < M; m++) {
            v16 yl = ld16(y + m * ldy + j, WT_F32), yh = ld16(y + m * ldy + j + 16, WT_F32);
            for (int q = 0; q < QP; q++) {
                v16w av = (v16w){0} + ap[q][m];
                yl = dp2(yl, av, lo[q]);
                yh = dp2(yh, av, hi[q]);
            }
            st16(y + m * ldy + j, yl);
            st16(y + m * ldy + j + 16, yh);
        }
    }
}

/* y += A B(:, 0..jc) for M rows of A, four pairs of B's rows per pass over
 * y: B streamed once, front to back. One row of A (a conv-transpose over a
 * single step) pairs row p with row p + P/2 instead, one pair per pass: B
 * is then two long streams, where 8 rows of a few KiB at a time were 8
 * short ones (Demucs' deepest decoder, 768 x 3072: 240 -> 175 us); with
 * more rows of A the extra passes over y cost more than that saves. */
KI void ba_acc(const int M, int64_t P, const float *a, int64_t ars, int64_t aps,
               const uint16_t *b, int64_t ldb, int64_t jc, float *y, int64_t ldy) {
    uint32_t ap[4][WT_KERN_AB_MMAX];
    int64_t p = 0;
    if (M == 1 && P >= BA_SPREAD_MIN) {
        /* one row of A: B's top and bottom halves paired, two long streams */
        int64_t h = P / 2;
        for (; p < h; p++) {
            ap[0][0] = pair1(a[p * aps], a[(p + h) * aps]);
            ba_rows(1, 1, 0, ap, b + (size_t)p * (size_t)ldb, ldb, h, 0, jc, y, ldy);
        }
        p = 2 * h;
    }
    for (; p + 2 <= P;) {
        int qp = P - p >= 8 ? 4 : 1;
        for (int q = 0; q < qp; q++)
            for (int m = 0; m < M; m++) {
                const float *am = a + m * ars + (p + 2 * q) * aps;
                ap[q][m] = pair1(am[0], am[aps]);
            }
        if (qp == 4)
            ba_rows(M, 4, 0, ap, b + (size_t)p * (size_t)ldb, ldb, 1, 2, jc, y, ldy);
        else
            ba_rows(M, 1, 0, ap, b + (size_t)p * (size_t)ldb, ldb, 1, 2, jc, y, ldy);
        p += 2 * qp;
    }
    if (p < P) {
        for (int m = 0; m < M; m++) ap[0][m] = pair1(a[m * ars + p * aps], 0.0f);
        ba_rows(M, 1, 1, ap, b + (size_t)p * (size_t)ldb, ldb, 1, 2, jc, y, ldy);
    }
}

/* Hands rows m0.. (mr) of y, columns [j0, j0 + jc), to emit a tile at a time. */
static void ba_emit(int mr, int64_t m0, int64_t j0, int64_t jc, const float *y, int64_t ldy,
                    wt_kern_emit_fn emit, void *arg) {
    float ct[WT_KERN_AB_MMAX * WT_KERN_NR];
    for (int64_t t0 = 0; t0 < jc; t0 += WT_KERN_NR) {
        int nj = jc - t0 < WT_KERN_NR ? (int)(jc - t0) : WT_KERN_NR;
        unpermute(mr, y + t0, ldy, ct);
        emit(arg, m0, mr, j0 + t0, nj, ct);
    }
}

/* M_ rows of A (a streaming step): B's columns in chunks that fit the
 * accumulator, B's rows read once per chunk. */
KI void ba_stream(const int M_, int64_t P, int64_t j_lo, int64_t j_hi, const float *a,
                  int64_t ars, int64_t aps, const uint16_t *b, int64_t ldb, wt_kern_emit_fn emit,
                  void *arg) {
    const int64_t jmax = BA_ACC / M_ / 32 * 32;
    float y[BA_ACC];
    for (int64_t j0 = j_lo; j0 < j_hi; j0 += jmax) {
        int64_t jc = j_hi - j0 < jmax ? j_hi - j0 : jmax, ldy = (jc + 31) / 32 * 32;
        memset(y, 0, sizeof(float) * (size_t)(M_ * ldy));
        ba_acc(M_, P, a, ars, aps, b + j0, ldb, jc, y, ldy);
        ba_emit(M_, 0, j0, jc, y, ldy, emit, arg);
    }
}

/* c[r * ldc + lane] += sum_pp apn[pp * BA_SG + r] B(rows 2pp, 2pp+1;
 * block) for BA_MR rows of A over kp pairs (and B's odd last row when
 * `odd`): the tile stays in registers over the whole depth. */
KI void ba_tile(int64_t kp, int odd, const uint32_t *apn, const uint16_t *b, int64_t ldb, int nj,
                float *c, int64_t ldc) {
    v16 lo[BA_MR], hi[BA_MR];
    for (int r = 0; r < BA_MR; r++) {
        lo[r] = ld16(c + r * ldc, WT_F32);
        hi[r] = ld16(c + r * ldc + 16, WT_F32);
    }
    for (int64_t pp = 0; pp < kp + odd; pp++) {
        const uint16_t *r0 = b + (size_t)(2 * pp) * (size_t)ldb;
        v16w bl, bh;
        unpack2(ld_row(r0, nj), pp < kp ? ld_row(r0 + ldb, nj) : (v32h){0}, &bl, &bh);
        for (int r = 0; r < BA_MR; r++) {
            v16w av = (v16w){0} + apn[pp * BA_SG + r];
            lo[r] = dp2(lo[r], av, bl);
            hi[r] = dp2(hi[r], av, bh);
        }
    }
    for (int r = 0; r < BA_MR; r++) {
        st16(c + r * ldc, lo[r]);
        st16(c + r * ldc + 16, hi[r]);
    }
}

/* apn[pp * BA_SG + r] = pair of A(m0 + r; p0 + 2pp, p0 + 2pp + 1) for r <
 * sg (zero rows up to BA_SG) over the pc rows of B from p0; sixteen rows a
 * vector where A's rows are adjacent (conv-transposes: A = x^T). */
static void ba_pack(const float *a, int64_t ars, int64_t aps, int64_t m0, int sg, int64_t p0,
                    int64_t pc, uint32_t *apn) {
    for (int64_t pp = 0; pp < (pc + 1) / 2; pp++) {
        const float *lo = a + m0 * ars + (p0 + 2 * pp) * aps;
        int has_hi = 2 * pp + 1 < pc;
        if (ars == 1 && sg == BA_SG) {
            v16 h = has_hi ? ld16(lo + aps, WT_F32) : (v16){0};
            stw16(apn + pp * BA_SG, pair16(ld16(lo, WT_F32), h));
            continue;
        }
        for (int r = 0; r < BA_SG; r++)
            apn[pp * BA_SG + r] =
                r < sg ? pair1(lo[r * ars], has_hi ? lo[r * ars + aps] : 0.0f) : 0;
    }
}

/* Many rows of A: BA_SG at a time, their pairs packed once per BA_KP pairs
 * of B's rows, each 32-column block a register tile of BA_MR rows; the
 * sums of a chunk of columns wait in y between the packed panels. */
static void ba_tiles(int64_t M, int64_t P, int64_t j_lo, int64_t j_hi, const float *a,
                     int64_t ars, int64_t aps, const uint16_t *b, int64_t ldb,
                     wt_kern_emit_fn emit, void *arg) {
    uint32_t apn[BA_KP * BA_SG];
    float y[BA_ACC];
    const int64_t jmax = BA_ACC / BA_SG;
    for (int64_t j0 = j_lo; j0 < j_hi; j0 += jmax) {
        int64_t jc = j_hi - j0 < jmax ? j_hi - j0 : jmax, ldy = (jc + 31) / 32 * 32;
        for (int64_t m0 = 0; m0 < M; m0 += BA_SG) {
            int sg = M - m0 < BA_SG ? (int)(M - m0) : BA_SG;
            memset(y, 0, sizeof(float) * (size_t)(BA_SG * ldy));
            for (int64_t p0 = 0; p0 < P; p0 += 2 * BA_KP) {
                int64_t pc = P - p0 < 2 * BA_KP ? P - p0 : 2 * BA_KP;
                ba_pack(a, ars, aps, m0, sg, p0, pc, apn);
                const uint16_t *bp = b + (size_t)p0 * (size_t)ldb + (size_t)j0;
                for (int64_t j = 0; j < jc; j += 32) {
                    int nj = jc - j < 32 ? (int)(jc - j) : 32;
                    for (int r0 = 0; r0 < sg; r0 += BA_MR)
                        ba_tile(pc / 2, (int)(pc & 1), apn + r0, bp + j, ldb, nj,
                                y + r0 * ldy + j, ldy);
                }
            }
            for (int r0 = 0; r0 < sg; r0 += BA_MR)
                ba_emit(sg - r0 < BA_MR ? sg - r0 : BA_MR, m0 + r0, j0, jc, y + r0 * ldy, ldy,
                        emit, arg);
        }
    }
}

/* Up to WT_KERN_AB_MMAX rows of A (a streaming step) stream B once per
 * accumulator chunk; more run register tiles (B, a few hundred KiB for the
 * long conv-transposes of a step, stays in L2 while the row groups pass). */
void wt_kern_ab_bf16(int64_t M, int64_t P, int64_t j_lo, int64_t j_hi, const float *a,
                     int64_t ars, int64_t aps, const void *bv, int64_t ldb, wt_kern_emit_fn emit,
                     void *arg) {
    const uint16_t *b = bv;
    switch (M) {
    case 1: ba_stream(1, P, j_lo, j_hi, a, ars, aps, b, ldb, emit, arg); return;
    case 2: ba_stream(2, P, j_lo, j_hi, a, ars, aps, b, ldb, emit, arg); return;
    case 3: ba_stream(3, P, j_lo, j_hi, a, ars, aps, b, ldb, emit, arg); return;
    case 4: ba_stream(4, P, j_lo, j_hi, a, ars, aps, b, ldb, emit, arg); return;
    default: break;
    }
    if (M <= WT_KERN_AB_MMAX)
        ba_stream((int)M, P, j_lo, j_hi, a, ars, aps, b, ldb, emit, arg);
    else
        ba_tiles(M, P, j_lo, j_hi, a, ars, aps, b, ldb, emit, arg);
}
