/* CPU 1-D convolutions: conv1d and conv_transpose1d, PyTorch semantics,
 * f32 activations and f32, bf16 or f16 weights, f32 accumulation (against
 * bf16 weights the activations are rounded to bf16, as in cpu_kern.h).
 *
 * Neither op allocates: padding is implicit (taps whose input lies outside
 * [0, T) read as zero) and every scratch tile is on the stack.
 * - With >= 8 channels per group on both sides and (in, tap)-contiguous
 *   weights, a conv is the product W [Cout, Cin*K] x im2col(x) [Cin*K, To]
 *   on the register-blocked kernels of cpu_kern.h: up to 4 output steps (a
 *   streaming step at a low rate) gather the few im2col columns once and
 *   dot every weight row with them, reading the weights once; longer outputs
 *   pack im2col panels of 32 steps and broadcast weights against them.
 * - conv_transpose1d is Y [T, Cout*K] = x^T [T, Cin] x W [Cin, Cout*K] with
 *   W's rows read in place, each finished tile of Y added into the output at
 *   t*stride + k*dilation - padding (an overlap-add).
 * - Few channels (depthwise, mono input layers, a resampling filter) or
 *   unusual weight strides use a direct loop: each input channel is staged
 *   once per tile of output steps (zero-padded, rounded, split into stride
 *   phases so every tap reads a contiguous run), then up to four output
 *   channels x 64-128 steps are summed in registers over all taps.
 * conv_transpose1d runs on one thread (the backend gets no thread count). */
#include <limits.h>
#include <string.h>

#include "backends/cpu/cpu_kern.h"
#include "backends/cpu/cpu_math.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/cpu/cpu_vec.h"

/* Direct loop: output steps per tile (at most), output channels per block,
 * output steps per register block, floats of staged input and weights on
 * the stack (32 KiB). */
#define WT_CONV_TT 256
#define WT_CONV_OCB 4
#define WT_CONV_TB 128
#define WT_CONV_STAGE 8192
/* Multiply-adds per thread below which a conv stays on one thread. */
#define WT_CONV_MIN_WORK_PER_THREAD (1 << 21)
/* Output steps up to which a conv dots weight rows with gathered columns. */
#define WT_CONV_DOT_MAX_T 4
/* Floats of gathered im2col columns for the dot path (64 KiB). */
#define WT_CONV_DOT_BUF 16384

typedef struct {
    const wt_tensor *dst, *x, *w, *bias;
    int stride, pad_left, dilation, groups;
    int64_t cin_g, cout_g;       /* channels per group */
    int64_t tt, rowlen;          /* direct loop: output steps per tile, staged row length */
} conv_job;

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static inline float w_at(const wt_tensor *w, int64_t i) {
    switch (w->dtype) {
    case WT_BF16: return wt_bf16_to_f32(((const uint16_t *)w->data)[i]);
    case WT_F16: return wt_f16_to_f32(((const uint16_t *)w->data)[i]);
    default: return ((const float *)w->data)[i];
    }
}

/* Output steps t in [lo, hi) whose input index t*stride + off lies in [0, T). */
static void valid_range(int64_t off, int64_t T, int64_t stride, int64_t *lo, int64_t *hi) {
    *lo = off >= 0 ? 0 : ceil_div(-off, stride);
    *hi = T - 1 - off >= 0 ? (T - 1 - off) / stride + 1 : 0;
}

/* ---- direct loop ---- */

/* x as products with the weights take it: rounded to bf16 against bf16
 * weights, as the kernels do (cpu_kern.h). */
static inline float x_in(float v, int bf) { return bf ? wt_cpu_bf16_round(v) : v; }

/* A tile of output steps [t0, t0 + tt) reads input t*stride + k*dil - pad.
 * Each input channel is staged once per tile, padded with zeros, rounded
 * as the products take it and split into `stride` phase rows (row p holds
 * inputs base + u*stride + p), so every tap reads a contiguous run:
 * tap k is row (k*dil) % stride from u = t + (k*dil) / stride. */
static void stage_channel(const conv_job *j, const float *xr, int bf, int64_t t0, float *rows) {
    int64_t T = j->x->shape[2], sxt = j->x->stride[2], s = j->stride;
    int64_t base = t0 * s - j->pad_left;
    for (int64_t p = 0; p < s; p++) {
        float *row = rows + p * j->rowlen;
        /* u in [lo, hi) reads input base + p + u*s inside [0, T) */
        int64_t first = base + p, lo, hi;
        valid_range(first, T, s, &lo, &hi);
        if (hi > j->rowlen) hi = j->rowlen;
        if (lo > hi) lo = hi;
        const float *src = xr + (first + lo * s) * sxt;
        for (int64_t u = 0; u < lo; u++) row[u] = 0.0f;
        if (s * sxt == 1)
            memcpy(row + lo, src, sizeof(float) * (size_t)(hi - lo));
        else
            for (int64_t u = lo; u < hi; u++) row[u] = src[(u - lo) * s * sxt];
        if (bf)
            for (int64_t u = lo; u < hi; u++) row[u] = wt_cpu_bf16_round(row[u]);
        for (int64_t u = hi; u < j->rowlen; u++) row[u] = 0.0f;
    }
}

/* Up to 16 V outputs of one row as V vectors: n valid at stride sd, zeros past them. */
KI void blk_ld(const int V, v16 *a, const float *d, int64_t sd, int64_t n) {
    float t[WT_CONV_TB] = {0};
    if (sd == 1 && n == 16 * V) {
        for (int v = 0; v < V; v++) a[v] = ld16(d + 16 * v, WT_F32);
        return;
    }
    for (int64_t i = 0; i < n; i++) t[i] = d[i * sd];
    for (int v = 0; v < V; v++) a[v] = ld16(t + 16 * v, WT_F32);
}

KI void blk_st(const int V, float *d, int64_t sd, int64_t n, const v16 *a) {
    float t[WT_CONV_TB];
    if (sd == 1 && n == 16 * V) {
        for (int v = 0; v < V; v++) st16(d + 16 * v, a[v]);
        return;
    }
    for (int v = 0; v < V; v++) st16(t + 16 * v, a[v]);
    for (int64_t i = 0; i < n; i++) d[i * sd] = t[i];
}

/* Rows r < NB of dst (d: first row at this block's first step) over n <= 16 V
 * steps: the bias (`first`) or what d holds, plus the nc staged channels x
 * weights wk[(c*K + k)*OCB + r], summed in registers across the taps (NB x V
 * independent sums hide the multiply-add latency). */
KI void direct_block(const int NB, const int V, const conv_job *j, int nc, const float *rows,
                     const float *wk, const float *bias, int first, float *d, int64_t n) {
    const int64_t K = j->w->shape[2], clen = j->stride * j->rowlen;
    const int64_t sd1 = j->dst->stride[1], sd2 = j->dst->stride[2];
    /* from tap k to k + 1: dil/stride further along a row dil%stride rows down,
     * less one whole phase set when the row index wraps */
    const int dp = j->dilation % j->stride;
    const int64_t step = dp * j->rowlen + j->dilation / j->stride, wrap = 1 - clen;
    v16 a[WT_CONV_OCB][WT_CONV_TB / 16];
    for (int r = 0; r < NB; r++) {
        if (first)
            for (int v = 0; v < V; v++) a[r][v] = splat(bias[r]);
        else
            blk_ld(V, a[r], d + r * sd1, sd2, n);
    }
    for (int c = 0; c < nc; c++) {
        const float *src = rows + c * clen, *wr = wk + c * K * WT_CONV_OCB;
        int p = 0;
        for (int64_t k = 0; k < K; k++, wr += WT_CONV_OCB) {
            v16 xv[WT_CONV_TB / 16];
            for (int v = 0; v < V; v++) xv[v] = ld16(src + 16 * v, WT_F32);
            for (int r = 0; r < NB; r++) {
                v16 wv = splat(wr[r]);
                for (int v = 0; v < V; v++) a[r][v] = fma16(wv, xv[v], a[r][v]);
            }
            src += step;
            if ((p += dp) >= j->stride) {
                p -= j->stride;
                src += wrap;
            }
        }
    }
    for (int r = 0; r < NB; r++) blk_st(V, d + r * sd1, sd2, n, a[r]);
}

/* Output channels oc0 .. oc0 + nb (nb <= OCB, group g) of one tile, adding
 * the nc staged channels from ic0 to what dst holds (or to the bias). */
static void direct_ocb(const conv_job *j, int64_t b, int64_t g, int64_t oc0, int nb,
                       int64_t ic0, int nc, const float *rows, float *wk, int64_t t0, int64_t tt) {
    const wt_tensor *w = j->w, *dst = j->dst;
    int64_t K = w->shape[2], icl = ic0 - g * j->cin_g;
    float *d = (float *)dst->data + b * dst->stride[0] + oc0 * dst->stride[1] + t0 * dst->stride[2];
    float bias[WT_CONV_OCB] = {0};
    for (int r = 0; r < nb; r++)
        if (j->bias) bias[r] = ((const float *)j->bias->data)[(oc0 + r) * j->bias->stride[0]];
    for (int c = 0; c < nc; c++)
        for (int64_t k = 0; k < K; k++)
            for (int r = 0; r < WT_CONV_OCB; r++)
                wk[(c * K + k) * WT_CONV_OCB + r] =
                    r < nb ? w_at(w, (oc0 + r) * w->stride[0] + (icl + c) * w->stride[1] + k * w->stride[2])
                           : 0.0f;
    for (int64_t tb = 0; tb < tt; tb += WT_CONV_TB) {
        int64_t n = tt - tb < WT_CONV_TB ? tt - tb : WT_CONV_TB;
        const float *rb = rows + tb;
        float *db = d + tb * dst->stride[2];
        int fst = icl == 0;
        if (nb <= 2) { /* one block of 8 vectors a row */
            if (nb == 1) direct_block(1, 8, j, nc, rb, wk, bias, fst, db, n);
            else direct_block(2, 8, j, nc, rb, wk, bias, fst, db, n);
            continue;
        }
        for (int64_t h = 0; h < n; h += WT_CONV_TB / 2) { /* two of 4 vectors a row */
            int64_t nh = n - h < WT_CONV_TB / 2 ? n - h : WT_CONV_TB / 2;
            if (nb == 3) direct_block(3, 4, j, nc, rb + h, wk, bias, fst, db + h * dst->stride[2], nh);
            else direct_block(WT_CONV_OCB, 4, j, nc, rb + h, wk, bias, fst, db + h * dst->stride[2], nh);
        }
    }
}

/* Work items are (batch, group, output tile); each stages as many input
 * channels as fit, then runs every block of output channels over them. */
static void conv_items(void *arg, int64_t i0, int64_t i1) {
    const conv_job *j = arg;
    float stage[WT_CONV_STAGE];
    int64_t To = j->dst->shape[2], ntile = ceil_div(To, j->tt), K = j->w->shape[2];
    int64_t clen = j->stride * j->rowlen, per = clen + K * WT_CONV_OCB;
    int nc_max = (int)(WT_CONV_STAGE / per), bf = j->w->dtype == WT_BF16;
    for (int64_t i = i0; i < i1; i++) {
        int64_t tile = i % ntile, bg = i / ntile, g = bg % j->groups, b = bg / j->groups;
        int64_t t0 = tile * j->tt, tt = To - t0 < j->tt ? To - t0 : j->tt;
        const float *xg = (const float *)j->x->data + b * j->x->stride[0] +
                          g * j->cin_g * j->x->stride[1];
        for (int64_t c0 = 0; c0 < j->cin_g; c0 += nc_max) {
            int nc = j->cin_g - c0 < nc_max ? (int)(j->cin_g - c0) : nc_max;
            float *wk = stage + nc * clen;
            for (int c = 0; c < nc; c++)
                stage_channel(j, xg + (c0 + c) * j->x->stride[1], bf, t0, stage + c * clen);
            for (int64_t ocl = 0; ocl < j->cout_g; ocl += WT_CONV_OCB) {
                int nb = j->cout_g - ocl < WT_CONV_OCB ? (int)(j->cout_g - ocl) : WT_CONV_OCB;
                direct_ocb(j, b, g, g * j->cout_g + ocl, nb, g * j->cin_g + c0, nc, stage, wk, t0, tt);
            }
        }
    }
}

/* The direct loop's tile: the most output steps (a multiple of the register
 * block) whose staged rows and weights for one input channel fit the stack
 * buffer; 0 when not even one block does (taps spanning thousands of
 * steps), which conv_plain takes instead. */
static int64_t direct_tile(conv_job *j) {
    int64_t K = j->w->shape[2], qmax = (K - 1) * j->dilation / j->stride;
    for (int64_t tt = WT_CONV_TT; tt >= WT_CONV_TB; tt -= WT_CONV_TB) {
        int64_t rowlen = tt + qmax + 1;
        if (j->stride * rowlen + K * WT_CONV_OCB <= WT_CONV_STAGE) {
            j->rowlen = rowlen;
            return tt;
        }
    }
    return 0;
}

/* One output channel per item, a sum per output step: for kernels too wide
 * to stage. */
static void conv_plain(void *arg, int64_t i0, int64_t i1) {
    const conv_job *j = arg;
    const wt_tensor *x = j->x, *w = j->w, *dst = j->dst;
    int64_t T = x->shape[2], K = w->shape[2], To = dst->shape[2], C = dst->shape[1];
    int bf = w->dtype == WT_BF16;
    for (int64_t i = i0; i < i1; i++) {
        int64_t b = i / C, oc = i % C, g = oc / j->cout_g;
        const float *xg = (const float *)x->data + b * x->stride[0] + g * j->cin_g * x->stride[1];
        float *d = (float *)dst->data + b * dst->stride[0] + oc * dst->stride[1];
        for (int64_t t = 0; t < To; t++) {
            float s = j->bias ? ((const float *)j->bias->data)[oc * j->bias->stride[0]] : 0.0f;
            for (int64_t ic = 0; ic < j->cin_g; ic++)
                for (int64_t k = 0; k < K; k++) {
                    int64_t ti = t * j->stride + k * j->dilation - j->pad_left;
                    if (ti >= 0 && ti < T)
                        s += w_at(w, oc * w->stride[0] + ic * w->stride[1] + k * w->stride[2]) *
                             x_in(xg[ic * x->stride[1] + ti * x->stride[2]], bf);
                }
            d[t * dst->stride[2]] = s;
        }
    }
}

/* ---- conv1d as W x im2col(x) ---- */

/* One (batch, group) of a kernel-path conv. */
typedef struct {
    const conv_job *j;
    const float *x; /* the group's first input channel */
    float *out;     /* the group's first output channel */
    const char *w;  /* the group's first weight row */
    const float *bias;
} conv_bg;

/* Row (ic, k) of an im2col panel: n < nn steps from n0, n reading x[ic,
 * (n0 + n)*stride + k*dil - pad], zero where that lies outside the input
 * and for n >= nn. */
static void im2col_row(const conv_bg *c, int64_t ic, int64_t k, int64_t n0, int64_t nn, float *d) {
    const conv_job *j = c->j;
    int64_t T = j->x->shape[2], sxc = j->x->stride[1], sxt = j->x->stride[2];
    int64_t off = k * j->dilation - j->pad_left, lo, hi;
    valid_range(off, T, j->stride, &lo, &hi);
    lo = lo > n0 ? lo - n0 : 0;
    hi = hi < n0 + nn ? hi - n0 : nn;
    if (hi < lo) hi = lo;
    for (int64_t n = 0; n < lo; n++) d[n] = 0;
    const float *xs = c->x + ic * sxc + ((n0 + lo) * j->stride + off) * sxt;
    int64_t st = j->stride * sxt;
    if (st == 1)
        memcpy(d + lo, xs, sizeof(float) * (size_t)(hi - lo));
    else
        for (int64_t n = lo; n < hi; n++) d[n] = xs[(n - lo) * st];
    for (int64_t n = hi; n < WT_KERN_NR; n++) d[n] = 0;
}

#if defined(__AVX512F__)
/* x[i * s] for i < 16 (2 <= s <= 16), reading x[0 .. 16 s): the s vectors
 * of the span taken in pairs, each pair giving the lanes whose element
 * falls in its 32 floats by one two-table permute (gathers were slower on
 * this core). */
KI v16 ld16_every(const float *x, int s) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i at = _mm512_mullo_epi32(lane, _mm512_set1_epi32(s)); /* i * s */
    __m512 y = _mm512_setzero_ps();
    for (int q = 0; q < s; q += 2) {
        __m512 a = _mm512_loadu_ps(x + 16 * q);
        __m512 b = q + 1 < s ? _mm512_loadu_ps(x + 16 * q + 16) : a;
        __m512i rel = _mm512_sub_epi32(at, _mm512_set1_epi32(16 * q));
        __mmask16 in = _mm512_cmplt_epu32_mask(rel, _mm512_set1_epi32(32));
        y = _mm512_mask_mov_ps(y, in, _mm512_permutex2var_ps(a, rel, b));
    }
    return (v16)y;
}
#endif

/* One panel row (32 steps) as two vectors. */
typedef struct {
    v16 lo, hi;
} row32;

/* What reading panel rows in place needs, loaded once per panel (the
 * staging call between rows would otherwise make every row reload it). */
typedef struct {
    const float *x;
    int64_t s, dil, pad, T, sxc;
    int in_place; /* a full panel (32 steps) over an input contiguous in time */
} panel_src;

static panel_src panel_src_of(const conv_bg *c, int64_t nn) {
    const conv_job *j = c->j;
    return (panel_src){.x = c->x, .s = j->stride, .dil = j->dilation, .pad = j->pad_left,
                       .T = j->x->shape[2], .sxc = j->x->stride[1],
                       .in_place = nn == WT_KERN_NR && j->x->stride[2] == 1};
}

/* Row (ic, k) of the panel from step n0 (nn steps): read in place when
 * all its inputs x[i0 + n s] lie inside the channel, with plain loads at
 * stride 1 and ld16_every up to stride 16; otherwise staged by im2col_row
 * (whose clipping divides) in `stage`. Staging a strided row one element
 * at a time, then reloading it, took a quarter of Mimi's stride-4 conv. */
KI row32 panel_row(const conv_bg *c, panel_src ps, int64_t ic, int64_t k, int64_t n0, int64_t nn,
                   float *stage) {
    int64_t i0 = n0 * ps.s + k * ps.dil - ps.pad;
    if (ps.in_place && i0 >= 0 && i0 + WT_KERN_NR * ps.s <= ps.T) {
        const float *xs = ps.x + ic * ps.sxc + i0; /* formed only inside x */
        if (ps.s == 1) return (row32){ld16(xs, WT_F32), ld16(xs + 16, WT_F32)};
#if defined(__AVX512F__)
        int st = (int)ps.s;
        if (st <= 16) return (row32){ld16_every(xs, st), ld16_every(xs + 16 * st, st)};
#endif
    }
    im2col_row(c, ic, k, n0, nn, stage);
    return (row32){ld16(stage, WT_F32), ld16(stage + 16, WT_F32)};
}

/* im2col panel: buf[p][n], p = ic*K + k from p0 ((ic, k) stepped along
 * with p, not divided out). */
static void pack_im2col(const void *arg, int64_t p0, int64_t kc, int64_t n0, int64_t nn, float *buf) {
    const conv_bg *c = arg;
    int64_t K = c->j->w->shape[2], ic = p0 / K, k = p0 % K;
    panel_src ps = panel_src_of(c, nn);
    for (int64_t p = 0; p < kc; p++) {
        float *d = buf + p * WT_KERN_NR;
        row32 r = panel_row(c, ps, ic, k, n0, nn, d);
        st16(d, r.lo);
        st16(d + 16, r.hi);
        if (++k == K) {
            k = 0;
            ic++;
        }
    }
}

/* The same panel in bf16 pairs of rows (wt_kern_pack_pairs_fn). */
static void pack_im2col_pairs(const void *arg, int64_t p0, int64_t kc, int64_t n0, int64_t nn,
                              uint32_t *xp) {
    const conv_bg *c = arg;
    int64_t K = c->j->w->shape[2], ic = p0 / K, k = p0 % K;
    panel_src ps = panel_src_of(c, nn);
    float stage[WT_KERN_NR];
    for (int64_t p = 0; p < kc; p += 2) {
        row32 a = panel_row(c, ps, ic, k, n0, nn, stage), b = {{0}, {0}};
        if (++k == K) {
            k = 0;
            ic++;
        }
        if (p + 1 < kc) {
            b = panel_row(c, ps, ic, k, n0, nn, stage);
            if (++k == K) {
                k = 0;
                ic++;
            }
        }
        stw16(xp + p / 2 * WT_KERN_NR, pair16(a.lo, b.lo));
        stw16(xp + p / 2 * WT_KERN_NR + 16, pair16(a.hi, b.hi));
    }
}

typedef struct {
    const conv_job *j;
    int64_t b, g;
} conv_part;

static conv_bg conv_bg_of(const conv_job *j, int64_t b, int64_t g) {
    const wt_tensor *x = j->x, *w = j->w, *dst = j->dst;
    conv_bg c = {j,
                 (const float *)x->data + b * x->stride[0] + g * j->cin_g * x->stride[1],
                 (float *)dst->data + b * dst->stride[0] + g * j->cout_g * dst->stride[1],
                 (const char *)w->data +
                     (size_t)(g * j->cout_g * w->stride[0]) * wt_dtype_size(w->dtype),
                 j->bias ? (const float *)j->bias->data + g * j->cout_g * j->bias->stride[0] : NULL};
    return c;
}

/* Columns (output steps) [n0, n1) of one (batch, group). */
static void conv_wx_cols(void *arg, int64_t n0, int64_t n1) {
    const conv_part *pt = arg;
    const conv_job *j = pt->j;
    conv_bg c = conv_bg_of(j, pt->b, pt->g);
    int64_t R = j->cout_g, P = j->cin_g * j->w->shape[2], bs = j->bias ? j->bias->stride[0] : 0;
    if (j->w->dtype == WT_BF16)
        wt_kern_wx_bf16(R, P, n0, n1, c.w, j->w->stride[0], j->w->stride[2], pack_im2col_pairs, &c,
                        c.out, j->dst->stride[1], j->dst->stride[2], c.bias, bs);
    else
        wt_kern_wx(R, P, n0, n1, c.w, j->w->dtype, j->w->stride[0], j->w->stride[2], pack_im2col,
                   &c, c.out, j->dst->stride[1], j->dst->stride[2], c.bias, bs);
}

/* Rows (output channels) [r0, r1) of one (batch, group) with To <= 4. */
static void conv_dot_rows(void *arg, int64_t r0, int64_t r1) {
    const conv_part *pt = arg;
    const conv_job *j = pt->j;
    conv_bg c = conv_bg_of(j, pt->b, pt->g);
    float xt[WT_CONV_DOT_BUF];
    const wt_tensor *w = j->w, *dst = j->dst;
    int64_t To = dst->shape[2], K = w->shape[2], P = j->cin_g * K, T = j->x->shape[2];
    int64_t sxc = j->x->stride[1], sxt = j->x->stride[2];
    int64_t kcmax = WT_CONV_DOT_BUF / To / 16 * 16;
    size_t es = wt_dtype_size(w->dtype);
    for (int64_t p0 = 0; p0 < P; p0 += kcmax) {
        int64_t kc = P - p0 < kcmax ? P - p0 : kcmax;
        /* xt[t][p]: the im2col columns of this chunk, one row per output
         * step; (channel, tap) stepped along rather than divided out */
        for (int64_t t = 0; t < To; t++) {
            int64_t ic = p0 / K, k = p0 % K;
            for (int64_t p = 0; p < kc; p++) {
                int64_t ti = t * j->stride + k * j->dilation - j->pad_left;
                xt[t * kc + p] = ti >= 0 && ti < T ? c.x[ic * sxc + ti * sxt] : 0.0f;
                if (++k == K) {
                    k = 0;
                    ic++;
                }
            }
        }
        const char *wr = c.w + (size_t)(r0 * w->stride[0] + p0) * es;
        float *o = c.out + r0 * dst->stride[1];
        if (w->dtype == WT_BF16)
            wt_kern_dot_bf16(r1 - r0, (int)To, kc, wr, w->stride[0], xt, kc, o, dst->stride[1],
                             dst->stride[2], p0 > 0);
        else
            wt_kern_dot(r1 - r0, (int)To, kc, wr, w->dtype, w->stride[0], xt, kc, o,
                        dst->stride[1], dst->stride[2], p0 > 0);
    }
    for (int64_t r = r0; r < r1; r++) {
        float bv = c.bias ? c.bias[r * j->bias->stride[0]] : 0.0f;
        if (bv != 0.0f)
            for (int64_t t = 0; t < To; t++) c.out[r * dst->stride[1] + t * dst->stride[2]] += bv;
    }
}

/* The kernel path needs a few channels on both sides and weights whose
 * (in channel, tap) pairs are evenly spaced. */
static int conv_kern_fits(const conv_job *j) {
    const wt_tensor *w = j->w;
    return j->cin_g >= 8 && j->cout_g >= 8 && w->stride[1] == w->shape[2] * w->stride[2] &&
           (j->dst->shape[2] > WT_CONV_DOT_MAX_T || w->stride[2] == 1);
}

wt_status wt_cpu_conv1d(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                        const wt_tensor *bias, int stride, int pad_left, int dilation, int groups,
                        wt_pool *pool) {
    int half = w->dtype == WT_BF16 || w->dtype == WT_F16;
    if (x->ndim != 3 || w->ndim != 3 || dst->ndim != 3 || x->dtype != WT_F32 ||
        (w->dtype != WT_F32 && !half) || dst->dtype != WT_F32 ||
        (bias && bias->dtype != WT_F32) || stride < 1 || dilation < 1 || groups < 1 ||
        pad_left < 0)
        return wt_error(WT_ERR_INVALID, "cpu conv1d: bad arguments");
    if (wt_numel(dst) == 0) return WT_OK;
    conv_job j = {dst, x, w, bias, stride, pad_left, dilation, groups,
                  x->shape[1] / groups, dst->shape[1] / groups, 0, 0};
    int nthreads = wt_pool_threads(pool);
    int64_t To = dst->shape[2];
    int64_t work = wt_numel(dst) * j.cin_g * w->shape[2];
    int64_t most = work / WT_CONV_MIN_WORK_PER_THREAD;
    int nt = most < 1 ? 1 : most < nthreads ? (int)most : nthreads;
    /* a group's weights, read once per few-step product */
    int64_t wbytes = j.cout_g * j.cin_g * w->shape[2] * (int64_t)wt_dtype_size(w->dtype);
    if (conv_kern_fits(&j)) {
        for (int64_t b = 0; b < dst->shape[0]; b++)
            for (int64_t g = 0; g < groups; g++) {
                conv_part pt = {&j, b, g};
                if (To <= WT_CONV_DOT_MAX_T)
                    wt_cpu_parallel_for(pool, wt_cpu_threads_for_bytes(nthreads, wbytes), j.cout_g,
                                        8, conv_dot_rows, &pt);
                else
                    wt_cpu_parallel_for(pool, nt, To, WT_KERN_NR, conv_wx_cols, &pt);
            }
        return WT_OK;
    }
    j.tt = direct_tile(&j);
    if (j.tt)
        wt_cpu_parallel_for(pool, nt, dst->shape[0] * groups * ceil_div(To, j.tt), 1, conv_items, &j);
    else
        wt_cpu_parallel_for(pool, nt, dst->shape[0] * dst->shape[1], 1, conv_plain, &j);
    return WT_OK;
}

/* ---- conv_transpose1d as x^T W and an overlap-add ---- */

typedef struct {
    float *out; /* the group's first output channel */
    int64_t sd1, sd2, To, K;
    int stride, padding, dilation;
} convtr_emit_arg;

/* Adds Y tile (input steps m0.., columns j0.. = oc*K + k) at t*stride + k*dil - pad:
 * for one input step, the taps of one output channel are a run of adjacent
 * outputs (dilation 1), added as one short vector where they all fall in range. */
static void convtr_emit(void *arg, int64_t m0, int mr, int64_t j0, int nj, const float *tile) {
    const convtr_emit_arg *e = arg;
    const int64_t oc0 = j0 / e->K, k0 = j0 % e->K;
    for (int mi = 0; mi < mr; mi++) {
        const float *row = tile + mi * WT_KERN_NR;
        int64_t base = (m0 + mi) * e->stride - e->padding;
        int64_t oc = oc0, k = k0;
        for (int ji = 0; ji < nj; oc++, k = 0) {
            int run = e->K - k < nj - ji ? (int)(e->K - k) : nj - ji;
            float *col = e->out + oc * e->sd1;
            int64_t o = base + k * e->dilation;
            if (e->dilation == 1 && e->sd2 == 1 && o >= 0 && o + run <= e->To) {
                add_run(col + o, row + ji, run);
            } else {
                for (int r = 0; r < run; r++, o += e->dilation)
                    if (o >= 0 && o < e->To) col[o * e->sd2] += row[ji + r];
            }
            ji += run;
        }
    }
}

wt_status wt_cpu_conv_transpose1d(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                                  const wt_tensor *bias, int stride, int padding, int dilation,
                                  int groups) {
    int half = w->dtype == WT_BF16 || w->dtype == WT_F16;
    if (x->ndim != 3 || w->ndim != 3 || dst->ndim != 3 || x->dtype != WT_F32 ||
        (w->dtype != WT_F32 && !half) || dst->dtype != WT_F32 ||
        (bias && bias->dtype != WT_F32) || stride < 1 || dilation < 1 || groups < 1 ||
        padding < 0)
        return wt_error(WT_ERR_INVALID, "cpu conv_transpose1d: bad arguments");
    if (wt_numel(dst) == 0) return WT_OK;
    int64_t B = x->shape[0], T = x->shape[2], K = w->shape[2], To = dst->shape[2];
    int64_t cin_g = x->shape[1] / groups, cout_g = dst->shape[1] / groups;
    int64_t sxc = x->stride[1], sxt = x->stride[2], sdt = dst->stride[2];
    /* rows of W as [Cin, Cout/groups * K] matrices: (oc, k) evenly spaced */
    int kern = cin_g >= 8 && cout_g * K >= 8 && w->stride[2] == 1 && w->stride[1] == K;
    int bf = w->dtype == WT_BF16;
    for (int64_t b = 0; b < B; b++)
        for (int64_t oc = 0; oc < dst->shape[1]; oc++) {
            int64_t g = oc / cout_g, ocl = oc % cout_g;
            float *d = (float *)dst->data + b * dst->stride[0] + oc * dst->stride[1];
            float bv = bias ? ((const float *)bias->data)[oc * bias->stride[0]] : 0.0f;
            for (int64_t t = 0; t < To; t++) d[t * sdt] = bv;
            if (kern) continue;
            for (int64_t icl = 0; icl < cin_g; icl++) {
                int64_t ic = g * cin_g + icl;
                const float *xr = (const float *)x->data + b * x->stride[0] + ic * sxc;
                for (int64_t k = 0; k < K; k++) {
                    /* input step t lands on output t*stride + off */
                    int64_t off = k * dilation - padding, lo, hi;
                    float wv = w_at(w, ic * w->stride[0] + ocl * w->stride[1] + k * w->stride[2]);
                    lo = off >= 0 ? 0 : ceil_div(-off, stride);
                    hi = To - 1 - off >= 0 ? (To - 1 - off) / stride + 1 : 0;
                    if (hi > T) hi = T;
                    if (lo >= hi) continue;
                    /* pointers start at the first valid step: off may be negative */
                    float *ds = d + (lo * stride + off) * sdt;
                    const float *xs = xr + lo * sxt;
                    int64_t n = hi - lo, sd = stride * sdt;
                    if (sd == 1 && sxt == 1 && !bf) {
                        for (int64_t t = 0; t < n; t++) ds[t] += wv * xs[t];
                    } else {
                        for (int64_t t = 0; t < n; t++) ds[t * sd] += wv * x_in(xs[t * sxt], bf);
                    }
                }
            }
        }
    if (!kern) return WT_OK;
    size_t es = wt_dtype_size(w->dtype);
    for (int64_t b = 0; b < B; b++)
        for (int64_t g = 0; g < groups; g++) {
            convtr_emit_arg e = {(float *)dst->data + b * dst->stride[0] + g * cout_g * dst->stride[1],
                                 dst->stride[1], sdt, To, K, stride, padding, dilation};
            const float *xg = (const float *)x->data + b * x->stride[0] + g * cin_g * sxc;
            const char *wg = (const char *)w->data + (size_t)(g * cin_g * w->stride[0]) * es;
            if (w->dtype == WT_BF16)
                wt_kern_ab_bf16(T, cin_g, 0, cout_g * K, xg, sxt, sxc, wg, w->stride[0],
                                convtr_emit, &e);
            else
                wt_kern_ab(T, cin_g, 0, cout_g * K, xg, sxt, sxc, wg, w->dtype, w->stride[0],
                           convtr_emit, &e);
        }
    return WT_OK;
}
