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
 * - Few channels (depthwise, mono input layers) or unusual weight strides
 *   use a direct loop: four output channels and a tile of output steps
 *   accumulate on the stack while each (input channel, tap) adds weight x
 *   shifted input row, a loop the compiler vectorises.
 * conv_transpose1d runs on one thread (the backend gets no thread count). */
#include <limits.h>
#include <string.h>

#include "backends/cpu/cpu_kern.h"
#include "backends/cpu/cpu_math.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_parallel.h"

/* Output time steps per accumulator tile and output channels per block. */
#define WT_CONV_TT 256
#define WT_CONV_OCB 4
/* Multiply-adds per thread below which a conv stays on one thread. */
#define WT_CONV_MIN_WORK_PER_THREAD (1 << 21)
/* Output steps up to which a conv dots weight rows with gathered columns. */
#define WT_CONV_DOT_MAX_T 4
/* Floats of gathered im2col columns for the dot path (64 KiB). */
#define WT_CONV_DOT_BUF 16384

typedef struct {
    const wt_tensor *dst, *x, *w, *bias;
    int stride, pad_left, dilation, groups;
    int64_t cin_g, cout_g, nblk; /* channels per group, oc blocks per group */
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

/* nb (1..4) output channels oc0.. of batch b, time tile [t0, t0 + tt). */
static inline __attribute__((always_inline)) void
conv_tile_of(const int bf, const conv_job *j, int64_t b, int64_t g, int64_t oc0, int nb,
             int64_t t0, int64_t tt) {
    float acc[WT_CONV_OCB][WT_CONV_TT];
    const wt_tensor *x = j->x, *w = j->w, *dst = j->dst;
    int64_t T = x->shape[2], K = w->shape[2];
    int64_t sxc = x->stride[1], sxt = x->stride[2];
    const float *xb = (const float *)x->data + b * x->stride[0] + g * j->cin_g * sxc;
    for (int r = 0; r < nb; r++) {
        float bv = j->bias ? ((const float *)j->bias->data)[(oc0 + r) * j->bias->stride[0]] : 0.0f;
        for (int64_t t = 0; t < tt; t++) acc[r][t] = bv;
    }
    for (int64_t ic = 0; ic < j->cin_g; ic++) {
        const float *xr = xb + ic * sxc;
        for (int64_t k = 0; k < K; k++) {
            int64_t off = k * j->dilation - j->pad_left, lo, hi;
            valid_range(off, T, j->stride, &lo, &hi);
            lo = lo > t0 ? lo - t0 : 0;
            hi = hi < t0 + tt ? hi - t0 : tt;
            if (lo >= hi) continue;
            int64_t wi = oc0 * w->stride[0] + ic * w->stride[1] + k * w->stride[2];
            float wv[WT_CONV_OCB] = {0};
            for (int r = 0; r < nb; r++) wv[r] = w_at(w, wi + r * w->stride[0]);
            /* tile step t reads input (t0 + t)*stride + off; start at the first valid one */
            int64_t n = hi - lo, st = j->stride * sxt;
            const float *xs = xr + ((t0 + lo) * j->stride + off) * sxt;
            if (st == 1 && nb == WT_CONV_OCB) {
                float w0 = wv[0], w1 = wv[1], w2 = wv[2], w3 = wv[3];
                float *a0 = acc[0] + lo, *a1 = acc[1] + lo, *a2 = acc[2] + lo, *a3 = acc[3] + lo;
                for (int64_t t = 0; t < n; t++) {
                    float xv = x_in(xs[t], bf);
                    a0[t] += w0 * xv;
                    a1[t] += w1 * xv;
                    a2[t] += w2 * xv;
                    a3[t] += w3 * xv;
                }
            } else if (st == 1) {
                for (int r = 0; r < nb; r++) {
                    float *ar = acc[r] + lo;
                    for (int64_t t = 0; t < n; t++) ar[t] += wv[r] * x_in(xs[t], bf);
                }
            } else {
                for (int r = 0; r < nb; r++) {
                    float *ar = acc[r] + lo;
                    for (int64_t t = 0; t < n; t++) ar[t] += wv[r] * x_in(xs[t * st], bf);
                }
            }
        }
    }
    float *d = (float *)dst->data + b * dst->stride[0] + oc0 * dst->stride[1] + t0 * dst->stride[2];
    for (int r = 0; r < nb; r++)
        for (int64_t t = 0; t < tt; t++) d[r * dst->stride[1] + t * dst->stride[2]] = acc[r][t];
}

static void conv_tile(const conv_job *j, int64_t b, int64_t g, int64_t oc0, int nb, int64_t t0,
                      int64_t tt) {
    if (j->w->dtype == WT_BF16)
        conv_tile_of(1, j, b, g, oc0, nb, t0, tt);
    else
        conv_tile_of(0, j, b, g, oc0, nb, t0, tt);
}

/* Work items are (batch, group, oc block); each covers the whole output time. */
static void conv_items(void *arg, int64_t i0, int64_t i1) {
    const conv_job *j = arg;
    int64_t To = j->dst->shape[2];
    for (int64_t i = i0; i < i1; i++) {
        int64_t blk = i % j->nblk, bg = i / j->nblk;
        int64_t g = bg % j->groups, b = bg / j->groups;
        int64_t ocl = blk * WT_CONV_OCB;
        int nb = (int)(j->cout_g - ocl < WT_CONV_OCB ? j->cout_g - ocl : WT_CONV_OCB);
        for (int64_t t0 = 0; t0 < To; t0 += WT_CONV_TT)
            conv_tile(j, b, g, g * j->cout_g + ocl, nb, t0, To - t0 < WT_CONV_TT ? To - t0 : WT_CONV_TT);
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

/* im2col panel: buf[p][n] = x[ic, (n0 + n)*stride + k*dil - pad], p = ic*K + k. */
static void pack_im2col(const void *arg, int64_t p0, int64_t kc, int64_t n0, int64_t nn, float *buf) {
    const conv_bg *c = arg;
    const conv_job *j = c->j;
    int64_t T = j->x->shape[2], K = j->w->shape[2];
    int64_t sxc = j->x->stride[1], sxt = j->x->stride[2];
    int64_t ic = p0 / K, k = p0 % K; /* stepped along with p, not divided out */
    for (int64_t p = 0; p < kc; p++) {
        int64_t off = k * j->dilation - j->pad_left, lo, hi;
        float *d = buf + p * WT_KERN_NR;
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
        if (++k == K) {
            k = 0;
            ic++;
        }
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
        wt_kern_wx_bf16(R, P, n0, n1, c.w, j->w->stride[0], j->w->stride[2], pack_im2col, &c,
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
                  x->shape[1] / groups, dst->shape[1] / groups, 0};
    j.nblk = ceil_div(j.cout_g, WT_CONV_OCB);
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
    wt_cpu_parallel_for(pool, nt, dst->shape[0] * groups * j.nblk, 1, conv_items, &j);
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
                for (int r = 0; r < run; r++) col[o + r] += row[ji + r];
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
