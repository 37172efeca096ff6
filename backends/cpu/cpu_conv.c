/* CPU 1-D convolutions (f32): conv1d and conv_transpose1d, PyTorch semantics.
 *
 * Neither op makes an im2col copy or allocates: padding is implicit (taps
 * whose input lies outside [0, T) are skipped) and every scratch tile is on
 * the stack (at most ~80 KiB per thread).
 * - With >= 8 channels per group on both sides, a conv is a sum over taps of
 *   GEMMs on shifted input views (W_k [Cout, Cin] packed per tile, the input
 *   used in place when stride is 1, gathered per tile otherwise), run by
 *   single-threaded OpenBLAS on tiles that our threads split. 1x1 convs with
 *   unit stride and no padding are one GEMM per group.
 * - Few channels (depthwise, mono input layers) use a direct loop: four
 *   output channels and a tile of output steps accumulate on the stack while
 *   each (input channel, tap) adds weight x shifted input row, a loop the
 *   compiler vectorises.
 * - conv_transpose1d uses the same GEMM per tap, adding into the output with
 *   the output stride (single-threaded: the backend gets no thread count). */
#include <cblas.h>
#include <limits.h>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_parallel.h"

/* Output time steps per accumulator tile and output channels per block. */
#define WT_CONV_TT 256
#define WT_CONV_OCB 4
/* Multiply-adds per thread below which a conv stays on one thread. */
#define WT_CONV_MIN_WORK_PER_THREAD (1 << 22)

typedef struct {
    const wt_tensor *dst, *x, *w, *bias;
    int stride, pad_left, dilation, groups;
    int64_t cin_g, cout_g, nblk; /* channels per group, oc blocks per group */
} conv_job;

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Output steps t in [lo, hi) whose input index t*stride + off lies in [0, T). */
static void valid_range(int64_t off, int64_t T, int64_t stride, int64_t *lo, int64_t *hi) {
    *lo = off >= 0 ? 0 : ceil_div(-off, stride);
    *hi = T - 1 - off >= 0 ? (T - 1 - off) / stride + 1 : 0;
}

/* nb (1..4) output channels oc0.. of batch b, time tile [t0, t0 + tt). */
static void conv_tile(const conv_job *j, int64_t b, int64_t g, int64_t oc0, int nb, int64_t t0,
                      int64_t tt) {
    float acc[WT_CONV_OCB][WT_CONV_TT];
    const wt_tensor *x = j->x, *w = j->w, *dst = j->dst;
    int64_t T = x->shape[2], K = w->shape[2];
    int64_t sxc = x->stride[1], sxt = x->stride[2];
    const float *xb = (const float *)x->data + b * x->stride[0] + g * j->cin_g * sxc;
    const float *wd = w->data;
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
            const float *wp = wd + oc0 * w->stride[0] + ic * w->stride[1] + k * w->stride[2];
            /* tile step t reads input (t0 + t)*stride + off; start at the first valid one */
            int64_t n = hi - lo, st = j->stride * sxt;
            const float *xs = xr + ((t0 + lo) * j->stride + off) * sxt;
            if (st == 1 && nb == WT_CONV_OCB) {
                float w0 = wp[0], w1 = wp[w->stride[0]], w2 = wp[2 * w->stride[0]],
                      w3 = wp[3 * w->stride[0]];
                float *a0 = acc[0] + lo, *a1 = acc[1] + lo, *a2 = acc[2] + lo, *a3 = acc[3] + lo;
                for (int64_t t = 0; t < n; t++) {
                    float xv = xs[t];
                    a0[t] += w0 * xv;
                    a1[t] += w1 * xv;
                    a2[t] += w2 * xv;
                    a3[t] += w3 * xv;
                }
            } else if (st == 1) {
                for (int r = 0; r < nb; r++) {
                    float wv = wp[r * w->stride[0]], *ar = acc[r] + lo;
                    for (int64_t t = 0; t < n; t++) ar[t] += wv * xs[t];
                }
            } else {
                for (int r = 0; r < nb; r++) {
                    float wv = wp[r * w->stride[0]], *ar = acc[r] + lo;
                    for (int64_t t = 0; t < n; t++) ar[t] += wv * xs[t * st];
                }
            }
        }
    }
    float *d = (float *)dst->data + b * dst->stride[0] + oc0 * dst->stride[1] + t0 * dst->stride[2];
    for (int r = 0; r < nb; r++)
        for (int64_t t = 0; t < tt; t++) d[r * dst->stride[1] + t * dst->stride[2]] = acc[r][t];
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

/* 1x1, stride 1, no padding: dst[b, g] = W_g [cout_g, cin_g] x x[b, g] [cin_g, T]
 * when both are BLAS matrices; returns 0 when the strides do not allow it. */
static int conv_1x1_gemm(const conv_job *j, int nthreads) {
    const wt_tensor *x = j->x, *w = j->w, *dst = j->dst;
    int64_t T = x->shape[2];
    int64_t sw0 = w->stride[0], sw1 = w->stride[1], sxc = x->stride[1], sxt = x->stride[2];
    int64_t M = j->cout_g, K = j->cin_g;
    if (dst->stride[2] != 1 || dst->stride[1] < T || dst->stride[1] > INT_MAX || M > INT_MAX ||
        K > INT_MAX || T > INT_MAX)
        return 0;
    enum CBLAS_TRANSPOSE ta, tb;
    int64_t lda, ldb;
    if (K > 1 && sw1 == 1 && sw0 >= K && sw0 <= INT_MAX) {
        ta = CblasNoTrans;
        lda = sw0;
    } else if (M > 1 && sw0 == 1 && sw1 >= M && sw1 <= INT_MAX) {
        ta = CblasTrans;
        lda = sw1;
    } else {
        return 0;
    }
    if (sxt == 1 && (K == 1 || (sxc >= T && sxc <= INT_MAX))) {
        tb = CblasNoTrans;
        ldb = K == 1 ? T : sxc;
    } else if (sxc == 1 && sxt >= K && sxt <= INT_MAX) {
        tb = CblasTrans; /* x is a [B, T, C] tensor viewed as [B, C, T] */
        ldb = sxt;
    } else {
        return 0;
    }
    if (openblas_get_num_threads() != nthreads) openblas_set_num_threads(nthreads);
    for (int64_t b = 0; b < x->shape[0]; b++)
        for (int64_t g = 0; g < j->groups; g++) {
            const float *wp = (const float *)w->data + g * M * sw0;
            const float *xp = (const float *)x->data + b * x->stride[0] + g * K * sxc;
            float *cp = (float *)dst->data + b * dst->stride[0] + g * M * dst->stride[1];
            float beta = 0.0f;
            if (j->bias) {
                for (int64_t m = 0; m < M; m++) {
                    float bv = ((const float *)j->bias->data)[(g * M + m) * j->bias->stride[0]];
                    for (int64_t t = 0; t < T; t++) cp[m * dst->stride[1] + t] = bv;
                }
                beta = 1.0f;
            }
            cblas_sgemm(CblasRowMajor, ta, tb, (int)M, (int)T, (int)K, 1.0f, wp, (int)lda, xp,
                        (int)ldb, beta, cp, (int)dst->stride[1]);
        }
    return 1;
}

/* ---- conv1d as GEMMs over shifted input views ----
 * For each tile of output steps and each tap k, out[:, tile] += W_k x X_k,
 * where W_k = w[:, :, k] is packed into a small stack tile (it is strided
 * in w) and X_k is the input shifted by k*dilation - pad_left: a plain view
 * when stride is 1, gathered into a stack tile otherwise. Padding is handled
 * by restricting each tap's product to the steps whose inputs exist. */

#define WT_CONV_GEMM_TT 256
#define WT_CONV_GEMM_ICB 64
#define WT_CONV_GEMM_OCB 64

static void conv_gemm_items(void *arg, int64_t i0, int64_t i1) {
    const conv_job *j = arg;
    const wt_tensor *x = j->x, *w = j->w, *dst = j->dst;
    float wt[WT_CONV_GEMM_OCB * WT_CONV_GEMM_ICB];
    float xt[WT_CONV_GEMM_ICB * WT_CONV_GEMM_TT];
    int64_t T = x->shape[2], K = w->shape[2], To = dst->shape[2];
    int64_t sxc = x->stride[1], sxt = x->stride[2], sd1 = dst->stride[1];
    int64_t ntiles = ceil_div(To, WT_CONV_GEMM_TT);
    const float *wd = w->data;
    for (int64_t item = i0; item < i1; item++) {
        int64_t tile = item % ntiles, bg = item / ntiles;
        int64_t g = bg % j->groups, b = bg / j->groups;
        int64_t t0 = tile * WT_CONV_GEMM_TT, tt = To - t0 < WT_CONV_GEMM_TT ? To - t0 : WT_CONV_GEMM_TT;
        float *c = (float *)dst->data + b * dst->stride[0] + g * j->cout_g * sd1 + t0;
        for (int64_t oc = 0; oc < j->cout_g; oc++) {
            float bv = j->bias ? ((const float *)j->bias->data)[(g * j->cout_g + oc) * j->bias->stride[0]]
                               : 0.0f;
            for (int64_t t = 0; t < tt; t++) c[oc * sd1 + t] = bv;
        }
        const float *xg = (const float *)x->data + b * x->stride[0] + g * j->cin_g * sxc;
        for (int64_t k = 0; k < K; k++) {
            int64_t off = k * j->dilation - j->pad_left, lo, hi;
            valid_range(off, T, j->stride, &lo, &hi);
            lo = lo > t0 ? lo - t0 : 0;
            hi = hi < t0 + tt ? hi - t0 : tt;
            if (lo >= hi) continue;
            int64_t n = hi - lo, first = (t0 + lo) * j->stride + off; /* input step of tile step lo */
            for (int64_t ic0 = 0; ic0 < j->cin_g; ic0 += WT_CONV_GEMM_ICB) {
                int64_t icb = j->cin_g - ic0 < WT_CONV_GEMM_ICB ? j->cin_g - ic0 : WT_CONV_GEMM_ICB;
                const float *xs = xg + ic0 * sxc + first * sxt;
                const float *bp;
                enum CBLAS_TRANSPOSE tb;
                int ldb;
                if (j->stride == 1 && sxt == 1 && (icb == 1 || sxc >= n)) {
                    bp = xs, tb = CblasNoTrans, ldb = icb == 1 ? (int)n : (int)sxc;
                } else if (j->stride == 1 && sxc == 1 && (n == 1 || sxt >= icb)) {
                    bp = xs, tb = CblasTrans, ldb = n == 1 ? (int)icb : (int)sxt; /* [B, T, C] storage */
                } else {
                    int64_t st = j->stride * sxt;
                    for (int64_t i = 0; i < icb; i++)
                        for (int64_t t = 0; t < n; t++) xt[i * n + t] = xs[i * sxc + t * st];
                    bp = xt, tb = CblasNoTrans, ldb = (int)n;
                }
                for (int64_t oc0 = 0; oc0 < j->cout_g; oc0 += WT_CONV_GEMM_OCB) {
                    int64_t ocb = j->cout_g - oc0 < WT_CONV_GEMM_OCB ? j->cout_g - oc0 : WT_CONV_GEMM_OCB;
                    const float *wp = wd + (g * j->cout_g + oc0) * w->stride[0] + ic0 * w->stride[1] +
                                      k * w->stride[2];
                    for (int64_t o = 0; o < ocb; o++)
                        for (int64_t i = 0; i < icb; i++) wt[o * icb + i] = wp[o * w->stride[0] + i * w->stride[1]];
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, (int)ocb, (int)n, (int)icb, 1.0f, wt,
                                (int)icb, bp, ldb, 1.0f, c + oc0 * sd1 + lo, (int)sd1);
                }
            }
        }
    }
}

/* The GEMM path pays off once each product has a few channels on both sides. */
static int conv_gemm_fits(const conv_job *j) {
    const wt_tensor *x = j->x, *dst = j->dst;
    return j->cin_g >= 8 && j->cout_g >= 8 && dst->stride[2] == 1 && dst->stride[1] >= dst->shape[2] &&
           dst->stride[1] <= INT_MAX && x->stride[1] <= INT_MAX && x->stride[2] <= INT_MAX;
}

wt_status wt_cpu_conv1d(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                        const wt_tensor *bias, int stride, int pad_left, int dilation, int groups,
                        int nthreads) {
    if (x->ndim != 3 || w->ndim != 3 || dst->ndim != 3 || x->dtype != WT_F32 ||
        w->dtype != WT_F32 || dst->dtype != WT_F32 || (bias && bias->dtype != WT_F32) ||
        stride < 1 || dilation < 1 || groups < 1 || pad_left < 0)
        return wt_error(WT_ERR_INVALID, "cpu conv1d: bad arguments");
    if (wt_numel(dst) == 0) return WT_OK;
    conv_job j = {dst, x, w, bias, stride, pad_left, dilation, groups,
                  x->shape[1] / groups, dst->shape[1] / groups, 0};
    j.nblk = ceil_div(j.cout_g, WT_CONV_OCB);
    if (nthreads < 1) nthreads = 1;
    if (w->shape[2] == 1 && stride == 1 && pad_left == 0 && dst->shape[2] == x->shape[2] &&
        j.cin_g > 1 && j.cout_g > 1 && conv_1x1_gemm(&j, nthreads))
        return WT_OK;
    int64_t work = wt_numel(dst) * j.cin_g * w->shape[2];
    int64_t most = work / WT_CONV_MIN_WORK_PER_THREAD;
    int nt = most < 1 ? 1 : most < nthreads ? (int)most : nthreads;
    if (conv_gemm_fits(&j)) {
        /* our threads split the tiles; each runs single-threaded sgemm */
        if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
        int64_t items = dst->shape[0] * groups * ceil_div(dst->shape[2], WT_CONV_GEMM_TT);
        wt_cpu_parallel_for(nt, items, 1, conv_gemm_items, &j);
        return WT_OK;
    }
    wt_cpu_parallel_for(nt, dst->shape[0] * groups * j.nblk, 1, conv_items, &j);
    return WT_OK;
}

/* ---- conv_transpose1d as GEMMs ----
 * For a tile of input steps and each tap k, Y = W_k^T x X (W_k^T packed on
 * the stack from w[:, :, k]) lands on output steps t*stride + k*dilation -
 * padding: with stride 1 that is a shifted view of the output, so sgemm adds
 * into it directly; otherwise Y goes to a stack tile and is added with the
 * output stride. */
static void convtr_gemm(const wt_tensor *dst, const wt_tensor *x, const wt_tensor *w, int stride,
                        int padding, int dilation, int groups) {
    float wt[WT_CONV_GEMM_OCB * WT_CONV_GEMM_ICB];
    float yt[WT_CONV_GEMM_OCB * WT_CONV_GEMM_TT];
    int64_t T = x->shape[2], K = w->shape[2], To = dst->shape[2];
    int64_t cin_g = x->shape[1] / groups, cout_g = dst->shape[1] / groups;
    int64_t sxc = x->stride[1], sxt = x->stride[2], sd1 = dst->stride[1];
    const float *wd = w->data;
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
    for (int64_t b = 0; b < x->shape[0]; b++)
        for (int64_t g = 0; g < groups; g++) {
            float *cg = (float *)dst->data + b * dst->stride[0] + g * cout_g * sd1;
            const float *xg = (const float *)x->data + b * x->stride[0] + g * cin_g * sxc;
            for (int64_t t0 = 0; t0 < T; t0 += WT_CONV_GEMM_TT) {
                int64_t tt = T - t0 < WT_CONV_GEMM_TT ? T - t0 : WT_CONV_GEMM_TT;
                for (int64_t k = 0; k < K; k++) {
                    int64_t off = k * dilation - padding, lo, hi;
                    lo = off >= 0 ? 0 : ceil_div(-off, stride);
                    hi = To - 1 - off >= 0 ? (To - 1 - off) / stride + 1 : 0;
                    lo = lo > t0 ? lo - t0 : 0;
                    hi = hi < t0 + tt ? hi - t0 : tt;
                    if (lo >= hi) continue;
                    int64_t n = hi - lo, o_first = (t0 + lo) * stride + off;
                    for (int64_t oc0 = 0; oc0 < cout_g; oc0 += WT_CONV_GEMM_OCB) {
                        int64_t ocb = cout_g - oc0 < WT_CONV_GEMM_OCB ? cout_g - oc0 : WT_CONV_GEMM_OCB;
                        float *cs = cg + oc0 * sd1 + o_first;
                        for (int64_t ic0 = 0; ic0 < cin_g; ic0 += WT_CONV_GEMM_ICB) {
                            int64_t icb = cin_g - ic0 < WT_CONV_GEMM_ICB ? cin_g - ic0 : WT_CONV_GEMM_ICB;
                            const float *wp = wd + (g * cin_g + ic0) * w->stride[0] + oc0 * w->stride[1] +
                                              k * w->stride[2];
                            for (int64_t o = 0; o < ocb; o++)
                                for (int64_t i = 0; i < icb; i++)
                                    wt[o * icb + i] = wp[i * w->stride[0] + o * w->stride[1]];
                            const float *xs = xg + ic0 * sxc + (t0 + lo) * sxt;
                            enum CBLAS_TRANSPOSE tb = CblasNoTrans;
                            int ldb = (int)sxc;
                            if (icb == 1 || (sxt == 1 && sxc >= n)) {
                                ldb = icb == 1 ? (int)n : (int)sxc;
                            } else {
                                tb = CblasTrans; /* [B, T, C] storage: checked by the caller */
                                ldb = n == 1 ? (int)icb : (int)sxt;
                            }
                            if (stride == 1)
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, (int)ocb, (int)n, (int)icb,
                                            1.0f, wt, (int)icb, xs, ldb, 1.0f, cs, (int)sd1);
                            else
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, (int)ocb, (int)n, (int)icb,
                                            1.0f, wt, (int)icb, xs, ldb, ic0 == 0 ? 0.0f : 1.0f, yt,
                                            (int)n);
                        }
                        if (stride > 1)
                            for (int64_t o = 0; o < ocb; o++)
                                for (int64_t t = 0; t < n; t++) cs[o * sd1 + t * stride] += yt[o * n + t];
                    }
                }
            }
        }
}

static int convtr_gemm_fits(const wt_tensor *dst, const wt_tensor *x, int groups) {
    int64_t cin_g = x->shape[1] / groups, cout_g = dst->shape[1] / groups;
    int64_t sxc = x->stride[1], sxt = x->stride[2];
    int x_ok = (sxt == 1 && sxc >= x->shape[2]) || (sxc == 1 && sxt >= WT_CONV_GEMM_ICB) ||
               (sxc == 1 && sxt >= cin_g);
    return cin_g >= 8 && cout_g >= 8 && x_ok && dst->stride[2] == 1 &&
           dst->stride[1] >= dst->shape[2] && dst->stride[1] <= INT_MAX && sxc <= INT_MAX &&
           sxt <= INT_MAX;
}

wt_status wt_cpu_conv_transpose1d(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                                  const wt_tensor *bias, int stride, int padding, int dilation,
                                  int groups) {
    if (x->ndim != 3 || w->ndim != 3 || dst->ndim != 3 || x->dtype != WT_F32 ||
        w->dtype != WT_F32 || dst->dtype != WT_F32 || (bias && bias->dtype != WT_F32) ||
        stride < 1 || dilation < 1 || groups < 1 || padding < 0)
        return wt_error(WT_ERR_INVALID, "cpu conv_transpose1d: bad arguments");
    if (wt_numel(dst) == 0) return WT_OK;
    int64_t B = x->shape[0], T = x->shape[2], K = w->shape[2], To = dst->shape[2];
    int64_t cin_g = x->shape[1] / groups, cout_g = dst->shape[1] / groups;
    int64_t sxc = x->stride[1], sxt = x->stride[2], sdt = dst->stride[2];
    int gemm = convtr_gemm_fits(dst, x, groups);
    for (int64_t b = 0; b < B; b++)
        for (int64_t oc = 0; oc < dst->shape[1]; oc++) {
            int64_t g = oc / cout_g, ocl = oc % cout_g;
            float *d = (float *)dst->data + b * dst->stride[0] + oc * dst->stride[1];
            float bv = bias ? ((const float *)bias->data)[oc * bias->stride[0]] : 0.0f;
            for (int64_t t = 0; t < To; t++) d[t * sdt] = bv;
            if (gemm) continue;
            for (int64_t icl = 0; icl < cin_g; icl++) {
                int64_t ic = g * cin_g + icl;
                const float *xr = (const float *)x->data + b * x->stride[0] + ic * sxc;
                for (int64_t k = 0; k < K; k++) {
                    /* input step t lands on output t*stride + off */
                    int64_t off = k * dilation - padding, lo, hi;
                    float wv = ((const float *)w->data)[ic * w->stride[0] + ocl * w->stride[1] +
                                                        k * w->stride[2]];
                    lo = off >= 0 ? 0 : ceil_div(-off, stride);
                    hi = To - 1 - off >= 0 ? (To - 1 - off) / stride + 1 : 0;
                    if (hi > T) hi = T;
                    if (lo >= hi) continue;
                    /* pointers start at the first valid step: off may be negative */
                    float *ds = d + (lo * stride + off) * sdt;
                    const float *xs = xr + lo * sxt;
                    int64_t n = hi - lo, sd = stride * sdt;
                    if (sd == 1 && sxt == 1) {
                        for (int64_t t = 0; t < n; t++) ds[t] += wv * xs[t];
                    } else {
                        for (int64_t t = 0; t < n; t++) ds[t * sd] += wv * xs[t * sxt];
                    }
                }
            }
        }
    if (gemm) convtr_gemm(dst, x, w, stride, padding, dilation, groups);
    return WT_OK;
}
