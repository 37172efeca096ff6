/* CPU indexing and layout ops: index_select, scatter_set, glu, pad, rope.
 * Moves are expressed as wt_cpu_copy/wt_cpu_fill on stack views (any dtype,
 * any strides); rope computes its angles in double. */
#include <math.h>

#include "backends/cpu/cpu_iter.h"
#include "backends/cpu/cpu_math.h"
#include "backends/cpu/cpu_ops.h"

/* View of t restricted to [start, start+len) along dim (no bounds checks:
 * the front-end validated them). */
static wt_tensor slab(const wt_tensor *t, int dim, int64_t start, int64_t len) {
    wt_tensor v = *t;
    v.shape[dim] = len;
    v.data = (char *)t->data + (ptrdiff_t)(start * t->stride[dim]) * (ptrdiff_t)wt_dtype_size(t->dtype);
    return v;
}

wt_status wt_cpu_index_select(wt_tensor *dst, const wt_tensor *src, int dim, const wt_tensor *idx) {
    const int64_t *ids = idx->data;
    int64_t n = wt_numel(idx);
    for (int64_t k = 0; k < n; k++) {
        wt_tensor d = slab(dst, dim, k, 1), s = slab(src, dim, ids[k], 1);
        wt_status st = wt_cpu_copy(&d, &s);
        if (st != WT_OK) return st;
    }
    return WT_OK;
}

wt_status wt_cpu_scatter_set(wt_tensor *dst, int dim, const wt_tensor *idx, const wt_tensor *src) {
    const int64_t *ids = idx->data;
    int64_t n = wt_numel(idx);
    for (int64_t k = 0; k < n; k++) {
        wt_tensor d = slab(dst, dim, ids[k], 1), s = slab(src, dim, k, 1);
        wt_status st = wt_cpu_copy(&d, &s);
        if (st != WT_OK) return st;
    }
    return WT_OK;
}

wt_status wt_cpu_glu(wt_tensor *dst, const wt_tensor *x, int dim) {
    int64_t h = x->shape[dim] / 2;
    wt_tensor a = slab(x, dim, 0, h), b = slab(x, dim, h, h);
    wt_cpu_iter it;
    wt_cpu_iter_flat(&it, 3, (const wt_tensor *const[]){dst, &a, &b});
    while (wt_cpu_iter_next(&it)) {
        float *y = (float *)dst->data + it.off[0];
        const float *ar = (const float *)a.data + it.off[1], *br = (const float *)b.data + it.off[2];
        int64_t ys = it.inc[0], as = it.inc[1], bs = it.inc[2];
        /* the inline sigmoid vectorises; a libm call per element would not */
        if (ys == 1 && as == 1 && bs == 1)
            for (int64_t j = 0; j < it.len; j++) y[j] = ar[j] * wt_cpu_sigmoid(br[j]);
        else
            for (int64_t j = 0; j < it.len; j++) y[j * ys] = ar[j * as] * wt_cpu_sigmoid(br[j * bs]);
    }
    return WT_OK;
}

/* Source index of padded position p (p < 0 or p >= n are the pads). */
static int64_t pad_source(wt_pad_mode mode, int64_t p, int64_t n) {
    if (mode == WT_PAD_REPLICATE) return p < 0 ? 0 : n - 1;
    return p < 0 ? -p : 2 * (n - 1) - p; /* reflect, edge not repeated */
}

wt_status wt_cpu_pad(wt_tensor *dst, const wt_tensor *x, int dim, int64_t left, wt_pad_mode mode,
                     double value) {
    int64_t n = x->shape[dim], total = dst->shape[dim], right = total - n - left;
    wt_tensor mid = slab(dst, dim, left, n);
    wt_status st = wt_cpu_copy(&mid, x);
    if (st != WT_OK) return st;
    if (mode == WT_PAD_CONSTANT) {
        wt_tensor l = slab(dst, dim, 0, left), r = slab(dst, dim, left + n, right);
        if (left > 0 && (st = wt_cpu_fill(&l, value)) != WT_OK) return st;
        if (right > 0 && (st = wt_cpu_fill(&r, value)) != WT_OK) return st;
        return WT_OK;
    }
    if (mode == WT_PAD_REPLICATE) {
        /* one copy per side, the edge slice broadcast along dim */
        wt_tensor l = slab(dst, dim, 0, left), r = slab(dst, dim, left + n, right);
        wt_tensor el = slab(x, dim, 0, 1), er = slab(x, dim, n - 1, 1);
        el.shape[dim] = left;
        el.stride[dim] = 0;
        er.shape[dim] = right;
        er.stride[dim] = 0;
        if (left > 0 && (st = wt_cpu_copy(&l, &el)) != WT_OK) return st;
        if (right > 0 && (st = wt_cpu_copy(&r, &er)) != WT_OK) return st;
        return WT_OK;
    }
    for (int64_t p = -left; p < n + right; p++) {
        if (p >= 0 && p < n) continue;
        wt_tensor d = slab(dst, dim, p + left, 1), s = slab(x, dim, pad_source(mode, p, n), 1);
        if ((st = wt_cpu_copy(&d, &s)) != WT_OK) return st;
    }
    return WT_OK;
}

/* ---- rope ---- */

#define ROPE_CHUNK 128

wt_status wt_cpu_rope(wt_tensor *dst, const wt_tensor *x, const wt_tensor *pos, float base,
                      wt_rope_layout layout) {
    int64_t nb = x->shape[0], nt = x->shape[1], nh = x->shape[2], hd = x->shape[3], half = hd / 2;
    const int64_t *pd = pos->data;
    /* element distance between the two members of a pair, and between pairs */
    int64_t xpair = layout == WT_ROPE_INTERLEAVED ? x->stride[3] : half * x->stride[3];
    int64_t ypair = layout == WT_ROPE_INTERLEAVED ? dst->stride[3] : half * dst->stride[3];
    int64_t xstep = layout == WT_ROPE_INTERLEAVED ? 2 * x->stride[3] : x->stride[3];
    int64_t ystep = layout == WT_ROPE_INTERLEAVED ? 2 * dst->stride[3] : dst->stride[3];
    double cs[ROPE_CHUNK], sn[ROPE_CHUNK];
    for (int64_t b = 0; b < nb; b++) {
        for (int64_t t = 0; t < nt; t++) {
            double p = (double)pd[b * pos->stride[0] + t * pos->stride[1]];
            for (int64_t i0 = 0; i0 < half; i0 += ROPE_CHUNK) {
                int64_t m = half - i0 < ROPE_CHUNK ? half - i0 : ROPE_CHUNK;
                for (int64_t k = 0; k < m; k++) {
                    double ang = p * pow((double)base, -2.0 * (double)(i0 + k) / (double)hd);
                    cs[k] = cos(ang);
                    sn[k] = sin(ang);
                }
                for (int64_t h = 0; h < nh; h++) {
                    const float *xr = (const float *)x->data + b * x->stride[0] + t * x->stride[1] +
                                      h * x->stride[2] + i0 * xstep;
                    float *yr = (float *)dst->data + b * dst->stride[0] + t * dst->stride[1] +
                                h * dst->stride[2] + i0 * ystep;
                    for (int64_t k = 0; k < m; k++) {
                        double x0 = xr[k * xstep], x1 = xr[k * xstep + xpair];
                        yr[k * ystep] = (float)(x0 * cs[k] - x1 * sn[k]);
                        yr[k * ystep + ypair] = (float)(x0 * sn[k] + x1 * cs[k]);
                    }
                }
            }
        }
    }
    return WT_OK;
}
