/* CPU softmax and normalisations (f32 in and out). Statistics are
 * accumulated in double and variances use two passes, so long rows and
 * large offsets keep full f32 accuracy (the golden references are float64);
 * softmax rows with unit strides take a vectorised f32 path whose error
 * stays within a few f32 ulps of the result. */
#include <math.h>

#include "backends/cpu/cpu_iter.h"
#include "backends/cpu/cpu_math.h"
#include "backends/cpu/cpu_ops.h"

/* ---- softmax ---- */

/* One row of Tk keys for query row i (of Tq). Hidden keys and rows with every
 * key hidden give 0. dst may alias x (each element is read before written). */
static void softmax_row(float *y, int64_t ys, const float *x, int64_t xs, const float *m, int64_t ms,
                        int64_t tk, int64_t last_visible, int64_t first_visible, float scale) {
    /* keys outside [first_visible, last_visible] are hidden structurally */
    float mx = -INFINITY;
    for (int64_t j = first_visible; j <= last_visible; j++) {
        float z = x[j * xs] * scale + (m ? m[j * ms] : 0.0f);
        if (z > mx) mx = z;
    }
    if (mx == -INFINITY) {
        for (int64_t j = 0; j < tk; j++) y[j * ys] = 0.0f;
        return;
    }
    double sum = 0;
    for (int64_t j = 0; j < tk; j++) {
        float e = 0.0f;
        if (j >= first_visible && j <= last_visible) {
            float z = x[j * xs] * scale + (m ? m[j * ms] : 0.0f);
            e = expf(z - mx); /* a masked -inf gives exactly 0 */
        }
        y[j * ys] = e;
        sum += e;
    }
    float inv = (float)(1.0 / sum);
    if (ys == 1)
        for (int64_t j = 0; j < tk; j++) y[j] *= inv;
    else
        for (int64_t j = 0; j < tk; j++) y[j * ys] *= inv;
}

/* The same for a contiguous row (and mask row), the common case (attention
 * scores): every loop runs along unit strides and vectorises, exp is the
 * polynomial of cpu_math.h (about 1 ulp) and the sum is kept in f32 lanes
 * (relative error ~1e-7 for rows of thousands of keys; the probabilities
 * are f32 anyway). */
static void softmax_row_contig(float *y, const float *x, const float *m, int64_t tk,
                               int64_t last_visible, int64_t first_visible, float scale) {
    int64_t a = first_visible, e = last_visible + 1; /* visible: [a, e) */
    if (e > a) {
        if (m)
            for (int64_t j = a; j < e; j++) y[j] = x[j] * scale + m[j];
        else
            for (int64_t j = a; j < e; j++) y[j] = x[j] * scale;
    }
    /* hidden keys are written after reading the visible ones (y may alias x) */
    for (int64_t j = 0; j < a && j < tk; j++) y[j] = 0.0f;
    for (int64_t j = e > 0 ? e : 0; j < tk; j++) y[j] = 0.0f;
    if (e <= a) return;
    float mx = wt_cpu_max(y + a, e - a);
    if (mx == -INFINITY) { /* every key masked */
        for (int64_t j = a; j < e; j++) y[j] = 0.0f;
        return;
    }
    for (int64_t j = a; j < e; j++) y[j] = wt_cpu_exp_nonpos(y[j] - mx); /* -inf gives 0 */
    float inv = 1.0f / wt_cpu_sum(y + a, e - a);
    for (int64_t j = a; j < e; j++) y[j] *= inv;
}

wt_status wt_cpu_softmax(wt_tensor *dst, const wt_tensor *x, float scale, const wt_tensor *mask,
                         wt_mask_kind kind, int64_t window) {
    int nd = x->ndim;
    if (nd == 0) {
        ((float *)dst->data)[0] = 1.0f;
        if (mask || kind != WT_MASK_NONE) {
            /* a scalar is one row with one key at offset 0: visible unless masked */
            float z = ((const float *)x->data)[0] * scale + (mask ? ((const float *)mask->data)[0] : 0.0f);
            ((float *)dst->data)[0] = z == -INFINITY ? 0.0f : 1.0f;
        }
        return WT_OK;
    }
    int64_t tk = x->shape[nd - 1];
    int64_t tq = nd >= 2 ? x->shape[nd - 2] : 1;
    wt_cpu_iter it;
    int nt = mask ? 3 : 2;
    wt_cpu_iter_rows(&it, nt, (const wt_tensor *const[]){dst, x, mask}, nd - 1);
    float *yd = dst->data;
    const float *xd = x->data, *md = mask ? mask->data : NULL;
    int64_t ys = dst->stride[nd - 1], xs = x->stride[nd - 1], ms = mask ? mask->stride[nd - 1] : 0;
    bool contig = ys == 1 && xs == 1 && (!mask || ms == 1);
    while (wt_cpu_iter_next(&it)) {
        int64_t i = nd >= 2 ? it.idx[nd - 2] : 0;
        int64_t q = i + tk - tq; /* this query's position among the keys */
        int64_t last = kind == WT_MASK_CAUSAL ? (q < tk - 1 ? q : tk - 1) : tk - 1;
        int64_t first = window > 0 ? q - window + 1 : 0;
        if (first < 0) first = 0;
        if (contig)
            softmax_row_contig(yd + it.off[0], xd + it.off[1], md ? md + it.off[2] : NULL, tk, last,
                               first, scale);
        else
            softmax_row(yd + it.off[0], ys, xd + it.off[1], xs, md ? md + it.off[2] : NULL, ms, tk,
                        last, first, scale);
    }
    return WT_OK;
}

/* ---- rms_norm / layer_norm ---- */

wt_status wt_cpu_rms_norm(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w, float eps) {
    int nd = x->ndim;
    int64_t c = x->shape[nd - 1], ys = dst->stride[nd - 1], xs = x->stride[nd - 1];
    const float *wd = w ? w->data : NULL;
    int64_t ws = w ? w->stride[0] : 0;
    wt_cpu_iter it;
    wt_cpu_iter_rows(&it, 2, (const wt_tensor *const[]){dst, x}, nd - 1);
    while (wt_cpu_iter_next(&it)) {
        float *y = (float *)dst->data + it.off[0];
        const float *xr = (const float *)x->data + it.off[1];
        double ss = 0;
        for (int64_t j = 0; j < c; j++) {
            double v = xr[j * xs];
            ss += v * v;
        }
        double r = 1.0 / sqrt(ss / (double)c + (double)eps);
        for (int64_t j = 0; j < c; j++) {
            double v = xr[j * xs] * r;
            y[j * ys] = (float)(wd ? v * wd[j * ws] : v);
        }
    }
    return WT_OK;
}

/* One contiguous row: the sums in double as below, kept in NORM_LANES
 * independent partial sums so the loops vectorise (a transformer step's
 * rows of 512: 2.7 -> 0.7 us for two). */
#define NORM_LANES 8
static void norm_row(float *y, const float *x, int64_t c, const float *w, const float *b,
                     float eps) {
    double acc[NORM_LANES] = {0};
    int64_t cv = c / NORM_LANES * NORM_LANES;
    for (int64_t j = 0; j < cv; j += NORM_LANES)
        for (int k = 0; k < NORM_LANES; k++) acc[k] += x[j + k];
    double s = 0;
    for (int k = 0; k < NORM_LANES; k++) s += acc[k];
    for (int64_t j = cv; j < c; j++) s += x[j];
    double mean = s / (double)c;
    for (int k = 0; k < NORM_LANES; k++) acc[k] = 0;
    for (int64_t j = 0; j < cv; j += NORM_LANES)
        for (int k = 0; k < NORM_LANES; k++) {
            double d = x[j + k] - mean;
            acc[k] += d * d;
        }
    double var = 0;
    for (int k = 0; k < NORM_LANES; k++) var += acc[k];
    for (int64_t j = cv; j < c; j++) var += (x[j] - mean) * (x[j] - mean);
    double r = 1.0 / sqrt(var / (double)c + (double)eps);
    if (w && b) {
        for (int64_t j = 0; j < c; j++) y[j] = (float)((x[j] - mean) * r * w[j] + b[j]);
        return;
    }
    for (int64_t j = 0; j < c; j++) {
        double v = (x[j] - mean) * r;
        if (w) v *= w[j];
        if (b) v += b[j];
        y[j] = (float)v;
    }
}

wt_status wt_cpu_layer_norm(wt_tensor *dst, const wt_tensor *x, const wt_tensor *w,
                            const wt_tensor *b, float eps) {
    int nd = x->ndim;
    int64_t c = x->shape[nd - 1], ys = dst->stride[nd - 1], xs = x->stride[nd - 1];
    const float *wd = w ? w->data : NULL, *bd = b ? b->data : NULL;
    int64_t ws = w ? w->stride[0] : 0, bs = b ? b->stride[0] : 0;
    wt_cpu_iter it;
    wt_cpu_iter_rows(&it, 2, (const wt_tensor *const[]){dst, x}, nd - 1);
    bool unit = xs == 1 && ys == 1 && (!wd || ws == 1) && (!bd || bs == 1);
    while (wt_cpu_iter_next(&it)) {
        float *y = (float *)dst->data + it.off[0];
        const float *xr = (const float *)x->data + it.off[1];
        if (unit) {
            norm_row(y, xr, c, wd, bd, eps);
            continue;
        }
        double s = 0;
        for (int64_t j = 0; j < c; j++) s += xr[j * xs];
        double mean = s / (double)c, var = 0;
        for (int64_t j = 0; j < c; j++) {
            double d = xr[j * xs] - mean;
            var += d * d;
        }
        double r = 1.0 / sqrt(var / (double)c + (double)eps);
        for (int64_t j = 0; j < c; j++) {
            double v = (xr[j * xs] - mean) * r;
            if (wd) v *= wd[j * ws];
            if (bd) v += bd[j * bs];
            y[j * ys] = (float)v;
        }
    }
    return WT_OK;
}

/* ---- group_norm ---- */

/* The trailing dims (2..) of channel c of batch n as a tensor view. */
static wt_tensor plane(const wt_tensor *t, int64_t n, int64_t c) {
    wt_tensor p = *t;
    p.ndim = t->ndim - 2;
    for (int d = 0; d < p.ndim; d++) {
        p.shape[d] = t->shape[d + 2];
        p.stride[d] = t->stride[d + 2];
    }
    p.data = (float *)t->data + n * t->stride[0] + c * t->stride[1];
    return p;
}

/* sum of (x - shift)^k over a plane for k = 1 (pow2 false) or 2 */
static double plane_sum(const wt_tensor *p, double shift, bool pow2) {
    wt_cpu_iter it;
    wt_cpu_iter_flat(&it, 1, (const wt_tensor *const[]){p});
    double s = 0;
    while (wt_cpu_iter_next(&it)) {
        const float *x = (const float *)p->data + it.off[0];
        for (int64_t j = 0; j < it.len; j++) {
            double d = x[j * it.inc[0]] - shift;
            s += pow2 ? d * d : d;
        }
    }
    return s;
}

wt_status wt_cpu_group_norm(wt_tensor *dst, const wt_tensor *x, int groups, const wt_tensor *w,
                            const wt_tensor *b, float eps) {
    int64_t nb = x->shape[0], nc = x->shape[1], cg = nc / groups;
    int64_t per_ch = 1;
    for (int d = 2; d < x->ndim; d++) per_ch *= x->shape[d];
    double count = (double)(cg * per_ch);
    const float *wd = w ? w->data : NULL, *bd = b ? b->data : NULL;
    int64_t ws = w ? w->stride[0] : 0, bs = b ? b->stride[0] : 0;
    for (int64_t n = 0; n < nb; n++) {
        for (int g = 0; g < groups; g++) {
            double s = 0, var = 0;
            for (int64_t c = g * cg; c < (g + 1) * cg; c++) {
                wt_tensor p = plane(x, n, c);
                s += plane_sum(&p, 0, false);
            }
            double mean = count > 0 ? s / count : 0;
            for (int64_t c = g * cg; c < (g + 1) * cg; c++) {
                wt_tensor p = plane(x, n, c);
                var += plane_sum(&p, mean, true);
            }
            double r = 1.0 / sqrt((count > 0 ? var / count : 0) + (double)eps);
            for (int64_t c = g * cg; c < (g + 1) * cg; c++) {
                double a = r * (wd ? wd[c * ws] : 1.0f);
                double off = (bd ? bd[c * bs] : 0.0f) - mean * a;
                wt_tensor py = plane(dst, n, c), px = plane(x, n, c);
                wt_cpu_iter it;
                wt_cpu_iter_flat(&it, 2, (const wt_tensor *const[]){&py, &px});
                while (wt_cpu_iter_next(&it)) {
                    float *y = (float *)py.data + it.off[0];
                    const float *xr = (const float *)px.data + it.off[1];
                    for (int64_t j = 0; j < it.len; j++)
                        y[j * it.inc[0]] = (float)(xr[j * it.inc[1]] * a + off);
                }
            }
        }
    }
    return WT_OK;
}
