/* NN ops (softmax, norms, rope, glu, pad, index_select, scatter_set) against
 * double-precision reference loops written here, on strided inputs, with
 * masks, extreme values, error cases and an allocation-free arena replay. */
#include <math.h>
#include <string.h>

#include "wt_test.h"

/* Row-major multi-index of flat index i in t's logical shape. */
static void unflat(const wt_tensor *t, int64_t i, int64_t *idx) {
    for (int d = t->ndim - 1; d >= 0; d--) {
        idx[d] = i % t->shape[d];
        i /= t->shape[d];
    }
}

static int64_t flat(const wt_tensor *t, const int64_t *idx) {
    int64_t f = 0;
    for (int d = 0; d < t->ndim; d++) f = f * t->shape[d] + idx[d];
    return f;
}

/* ---- softmax ---- */

/* Reference softmax of row r (flat row index over all but the last dim). */
static void ref_softmax_row(const wt_tensor *x, const wt_tensor *mask, float scale, wt_mask_kind kind,
                            int64_t window, int64_t r, double *out) {
    int nd = x->ndim;
    int64_t tk = x->shape[nd - 1], tq = nd >= 2 ? x->shape[nd - 2] : 1;
    int64_t i = nd >= 2 ? r % tq : 0;
    double z[64], mx = -INFINITY;
    bool vis[64];
    for (int64_t j = 0; j < tk; j++) {
        double mv = 0;
        if (mask) { /* mask is [tq, tk] or [tk] here */
            int64_t mi = mask->ndim == 2 ? i * tk + j : j;
            mv = wt_get_flat(mask, mi);
        }
        z[j] = (double)(float)((float)wt_get_flat(x, r * tk + j) * scale) + mv;
        int64_t q = i + tk - tq;
        vis[j] = !(kind == WT_MASK_CAUSAL && j > q) && !(window > 0 && q - j >= window) && z[j] > -INFINITY;
        if (vis[j] && z[j] > mx) mx = z[j];
    }
    double s = 0;
    for (int64_t j = 0; j < tk; j++) {
        out[j] = vis[j] ? exp(z[j] - mx) : 0;
        s += out[j];
    }
    for (int64_t j = 0; j < tk; j++) out[j] = s > 0 ? out[j] / s : 0;
}

START_TEST(test_softmax_masks) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 31);
    const int64_t tq = 5, tk = 9;
    /* x [2, tq, tk] stored as [tk, 2, tq] and permuted: strided rows */
    wt_tensor *raw = wt_tensor_new3(ctx, WT_F32, tk, 2, tq);
    wt_test_fill_uniform(raw, &rng, -4, 4);
    wt_tensor *x = wt_permute(ctx, raw, (const int[]){1, 2, 0});
    wt_tensor *mask = wt_tensor_new2(ctx, WT_F32, tq, tk);
    wt_test_fill_uniform(mask, &rng, -2, 2);
    wt_set_flat(mask, 3, -INFINITY);
    wt_set_flat(mask, 2 * tk + 8, -INFINITY);
    for (int64_t j = 0; j < tk; j++) wt_set_flat(mask, 4 * tk + j, -INFINITY); /* row 4 all hidden */
    const wt_mask_kind kinds[2] = {WT_MASK_NONE, WT_MASK_CAUSAL};
    const int64_t windows[3] = {0, 3, 1};
    for (int k = 0; k < 2; k++)
        for (int w = 0; w < 3; w++)
            for (int m = 0; m < 2; m++) {
                const wt_tensor *mk = m ? mask : NULL;
                wt_tensor *y = wt_softmax(ctx, x, 0.37f, mk, kinds[k], windows[w]);
                ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
                for (int64_t r = 0; r < 2 * tq; r++) {
                    double want[64];
                    ref_softmax_row(x, mk, 0.37f, kinds[k], windows[w], r, want);
                    for (int64_t j = 0; j < tk; j++) {
                        double got = wt_get_flat(y, r * tk + j);
                        ck_assert_msg(fabs(got - want[j]) <= 1e-6 && !isnan(got),
                                      "kind %d window %lld mask %d row %lld col %lld: %g vs %g", k,
                                      (long long)windows[w], m, (long long)r, (long long)j, got, want[j]);
                    }
                }
            }
    /* in place on the strided view, mask broadcast from [tk] */
    wt_tensor *m1 = wt_narrow(ctx, mask, 0, 0, 1);
    int64_t s1[1] = {tk};
    wt_tensor *mrow = wt_view(ctx, m1, 1, s1);
    wt_tensor *xc = wt_contiguous(ctx, x);
    ck_assert_ptr_eq(wt_softmax_(ctx, x, 1.0f, mrow, WT_MASK_CAUSAL, 0), x);
    for (int64_t r = 0; r < 2 * tq; r++) {
        double want[64];
        ref_softmax_row(xc, mrow, 1.0f, WT_MASK_CAUSAL, 0, r, want);
        for (int64_t j = 0; j < tk; j++) ck_assert(fabs(wt_get_flat(x, r * tk + j) - want[j]) <= 1e-6);
    }
    /* wrong mask shape names both shapes */
    wt_tensor *bad = wt_tensor_new2(ctx, WT_F32, 3, tk);
    ck_assert_ptr_null(wt_softmax(ctx, xc, 1, bad, WT_MASK_NONE, 0));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[3, 9]"));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[2, 5, 9]"));
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_softmax_extremes) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    /* 1e4-sized logits stay finite: exp never overflows */
    wt_tensor *x = wt_tensor_new1(ctx, WT_F32, 4);
    const double v[4] = {1e4, 1e4 - 1, -1e4, 1e4};
    for (int i = 0; i < 4; i++) wt_set_flat(x, i, v[i]);
    wt_tensor *y = wt_softmax(ctx, x, 1, NULL, WT_MASK_NONE, 0);
    double e1 = exp(-1.0), s = 2 + e1;
    ck_assert(fabs(wt_get_flat(y, 0) - 1 / s) <= 1e-6);
    ck_assert(fabs(wt_get_flat(y, 1) - e1 / s) <= 1e-6);
    ck_assert_double_eq(wt_get_flat(y, 2), 0);
    /* Tq > Tk under a causal mask: the first rows see nothing -> zeros */
    wt_tensor *c = wt_tensor_new2(ctx, WT_F32, 4, 2);
    wt_fill_(ctx, c, 0.5);
    wt_tensor *yc = wt_softmax(ctx, c, 1, NULL, WT_MASK_CAUSAL, 0);
    const double want[8] = {0, 0, 0, 0, 1, 0, 0.5, 0.5};
    for (int i = 0; i < 8; i++) ck_assert(fabs(wt_get_flat(yc, i) - want[i]) <= 1e-7);
    /* sizes 0 and 1 */
    wt_tensor *e = wt_tensor_new2(ctx, WT_F32, 3, 0);
    ck_assert_ptr_nonnull(wt_softmax(ctx, e, 1, NULL, WT_MASK_NONE, 0));
    wt_tensor *one = wt_tensor_new2(ctx, WT_F32, 3, 1);
    wt_fill_(ctx, one, -50);
    wt_tensor *yo = wt_softmax(ctx, one, 1, NULL, WT_MASK_NONE, 0);
    ck_assert_double_eq(wt_get_flat(yo, 2), 1);
    /* long odd row: sums to 1 */
    wt_tensor *l = wt_tensor_new1(ctx, WT_F32, 1001);
    for (int i = 0; i < 1001; i++) wt_set_flat(l, i, sin(i * 0.1) * 30);
    wt_tensor *yl = wt_softmax(ctx, l, 1, NULL, WT_MASK_NONE, 0);
    double sum = 0;
    for (int i = 0; i < 1001; i++) sum += wt_get_flat(yl, i);
    ck_assert(fabs(sum - 1) <= 1e-5);
    ck_assert_int_eq(wt_ctx_status(ctx), WT_OK);
    wt_ctx_free(ctx);
}
END_TEST

/* ---- norms ---- */

START_TEST(test_rms_layer_norm) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 41);
    const int64_t c = 37;
    wt_tensor *raw = wt_tensor_new3(ctx, WT_F32, c, 3, 4);
    wt_test_fill_uniform(raw, &rng, -3, 3);
    wt_tensor *x = wt_permute(ctx, raw, (const int[]){1, 2, 0}); /* [3, 4, c] strided */
    wt_tensor *w = wt_tensor_new1(ctx, WT_F32, c), *b = wt_tensor_new1(ctx, WT_F32, c);
    wt_test_fill_uniform(w, &rng, 0.5f, 1.5f);
    wt_test_fill_uniform(b, &rng, -1, 1);
    /* strided rows (the general loop) and contiguous ones (the row kernel) */
    wt_tensor *xs[2] = {x, wt_contiguous(ctx, x)};
    for (int variant = 0; variant < 4; variant++) {
        const wt_tensor *wv = variant & 1 ? w : NULL, *bv = variant & 1 ? b : NULL;
        wt_tensor *yr = wt_rms_norm(ctx, xs[variant / 2], wv, 1e-5f);
        wt_tensor *yl = wt_layer_norm(ctx, xs[variant / 2], wv, bv, 1e-5f);
        ck_assert_ptr_nonnull(yr);
        ck_assert_ptr_nonnull(yl);
        for (int64_t r = 0; r < 12; r++) {
            double ss = 0, s = 0, var = 0;
            for (int64_t j = 0; j < c; j++) {
                double v = wt_get_flat(x, r * c + j);
                ss += v * v;
                s += v;
            }
            double mean = s / c;
            for (int64_t j = 0; j < c; j++) var += pow(wt_get_flat(x, r * c + j) - mean, 2);
            var /= c;
            for (int64_t j = 0; j < c; j++) {
                double v = wt_get_flat(x, r * c + j);
                double wj = wv ? wt_get_flat(w, j) : 1, bj = bv ? wt_get_flat(b, j) : 0;
                double rr = v / sqrt(ss / c + 1e-5) * wj;
                double ll = (v - mean) / sqrt(var + 1e-5) * wj + bj;
                ck_assert(fabs(wt_get_flat(yr, r * c + j) - rr) <= 1e-6 * (1 + fabs(rr)));
                ck_assert(fabs(wt_get_flat(yl, r * c + j) - ll) <= 1e-6 * (1 + fabs(ll)));
            }
        }
    }
    /* a large offset: two-pass statistics keep the small variance exact */
    wt_tensor *big = wt_tensor_new2(ctx, WT_F32, 1, 4097);
    for (int64_t j = 0; j < 4097; j++) wt_set_flat(big, j, 1e4 + 0.0625 * (double)(j % 7));
    wt_tensor *yb = wt_layer_norm(ctx, big, NULL, NULL, 0);
    double s = 0, var = 0;
    for (int64_t j = 0; j < 4097; j++) s += wt_get_flat(big, j);
    double mean = s / 4097;
    for (int64_t j = 0; j < 4097; j++) var += pow(wt_get_flat(big, j) - mean, 2);
    var /= 4097;
    for (int64_t j = 0; j < 4097; j += 97)
        ck_assert(fabs(wt_get_flat(yb, j) - (wt_get_flat(big, j) - mean) / sqrt(var)) <= 1e-5);
    /* wrong weight shape: both shapes in the message */
    wt_tensor *w5 = wt_tensor_new1(ctx, WT_F32, 5);
    ck_assert_ptr_null(wt_rms_norm(ctx, x, w5, 1e-5f));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[5]"));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[3, 4, 37]"));
    ck_assert_ptr_null(wt_layer_norm(ctx, x, NULL, NULL, 1e-5f)); /* sticky */
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_group_norm) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 43);
    /* x [2, 6, 3, 5] with the trailing dims transposed */
    wt_tensor *raw = wt_tensor_new4(ctx, WT_F32, 2, 6, 5, 3);
    wt_test_fill_uniform(raw, &rng, -2, 4);
    wt_tensor *x = wt_transpose(ctx, raw, 2, 3);
    wt_tensor *w = wt_tensor_new1(ctx, WT_F32, 6), *b = wt_tensor_new1(ctx, WT_F32, 6);
    wt_test_fill_uniform(w, &rng, 0.5f, 1.5f);
    wt_test_fill_uniform(b, &rng, -1, 1);
    const int group_counts[3] = {1, 3, 6};
    for (int gi = 0; gi < 3; gi++) {
        int g = group_counts[gi];
        int64_t cg = 6 / g;
        wt_tensor *y = wt_group_norm(ctx, x, g, w, b, 1e-5f);
        ck_assert_ptr_nonnull(y);
        for (int64_t n = 0; n < 2; n++)
            for (int64_t gr = 0; gr < g; gr++) {
                double s = 0, var = 0, cnt = (double)(cg * 15);
                for (int64_t ch = gr * cg; ch < (gr + 1) * cg; ch++)
                    for (int64_t k = 0; k < 15; k++) s += wt_get_flat(x, (n * 6 + ch) * 15 + k);
                double mean = s / cnt;
                for (int64_t ch = gr * cg; ch < (gr + 1) * cg; ch++)
                    for (int64_t k = 0; k < 15; k++) var += pow(wt_get_flat(x, (n * 6 + ch) * 15 + k) - mean, 2);
                var /= cnt;
                for (int64_t ch = gr * cg; ch < (gr + 1) * cg; ch++)
                    for (int64_t k = 0; k < 15; k++) {
                        int64_t f = (n * 6 + ch) * 15 + k;
                        double want = (wt_get_flat(x, f) - mean) / sqrt(var + 1e-5) * wt_get_flat(w, ch) +
                                      wt_get_flat(b, ch);
                        ck_assert(fabs(wt_get_flat(y, f) - want) <= 1e-6 * (1 + fabs(want)));
                    }
            }
    }
    /* x [B, C] (no trailing dims), no affine */
    wt_tensor *x2 = wt_tensor_new2(ctx, WT_F32, 2, 4);
    for (int64_t i = 0; i < 8; i++) wt_set_flat(x2, i, (double)(i * i));
    wt_tensor *y2 = wt_group_norm(ctx, x2, 2, NULL, NULL, 0);
    /* group {0, 1}: mean 0.5, var 0.25 -> -1, 1 */
    ck_assert(fabs(wt_get_flat(y2, 0) + 1) <= 1e-6 && fabs(wt_get_flat(y2, 1) - 1) <= 1e-6);
    ck_assert_ptr_null(wt_group_norm(ctx, x, 4, w, b, 1e-5f));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_free(ctx);
}
END_TEST

/* ---- rope ---- */

/* Reference rotary embedding of x [B, T, H, hd] (flat index f); inverse
 * frequencies via exp/log rather than pow. */
static double ref_rope(const wt_tensor *x, const int64_t *idx, double p, double base, wt_rope_layout l) {
    int64_t hd = x->shape[3], half = hd / 2, e = idx[3];
    int64_t i, partner;
    bool first;
    if (l == WT_ROPE_INTERLEAVED) {
        i = e / 2;
        first = e % 2 == 0;
        partner = first ? e + 1 : e - 1;
    } else {
        i = e % half;
        first = e < half;
        partner = first ? e + half : e - half;
    }
    double ang = p * exp(-(2.0 * (double)i / (double)hd) * log(base));
    int64_t j[4] = {idx[0], idx[1], idx[2], partner};
    double v = wt_get_flat(x, flat(x, idx)), u = wt_get_flat(x, flat(x, j));
    return first ? v * cos(ang) - u * sin(ang) : u * sin(ang) + v * cos(ang);
}

START_TEST(test_rope) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 47);
    const int64_t B = 2, T = 3, H = 2, hd = 10;
    /* x stored [B, H, T, hd] and viewed as [B, T, H, hd] (attention layout) */
    wt_tensor *raw = wt_tensor_new4(ctx, WT_F32, B, H, T, hd);
    wt_test_fill_uniform(raw, &rng, -1, 1);
    wt_tensor *x = wt_transpose(ctx, raw, 1, 2);
    wt_tensor *pos2 = wt_tensor_new2(ctx, WT_I64, B, T), *pos1 = wt_tensor_new1(ctx, WT_I64, T);
    const int64_t pv[6] = {0, 1, 5000, 7, 123456, 3};
    for (int i = 0; i < 6; i++) wt_set_flat(pos2, i, (double)pv[i]);
    for (int i = 0; i < 3; i++) wt_set_flat(pos1, i, (double)pv[i + 3]);
    for (int l = 0; l < 2; l++) {
        for (int pi = 0; pi < 2; pi++) {
            const wt_tensor *pos = pi ? pos1 : pos2;
            wt_tensor *y = wt_rope(ctx, x, pos, 10000.0f, (wt_rope_layout)l);
            ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
            for (int64_t f = 0; f < wt_numel(x); f++) {
                int64_t idx[4];
                unflat(x, f, idx);
                double p = pi ? (double)pv[idx[1] + 3] : (double)pv[idx[0] * T + idx[1]];
                double want = ref_rope(x, idx, p, 10000.0, (wt_rope_layout)l);
                ck_assert_msg(fabs(wt_get_flat(y, f) - want) <= 1e-6, "layout %d pos %g: %g vs %g", l, p,
                              wt_get_flat(y, f), want);
            }
        }
    }
    /* 3-D x [T, H, hd] with pos [T], in place */
    wt_tensor *x3 = wt_tensor_new3(ctx, WT_F32, T, H, hd);
    wt_test_fill_uniform(x3, &rng, -1, 1);
    wt_tensor *x3c = wt_contiguous(ctx, x3);
    int64_t s4[4] = {1, T, H, hd};
    wt_tensor *x4 = wt_view(ctx, x3c, 4, s4);
    ck_assert_ptr_eq(wt_rope_(ctx, x3, pos1, 500.0f, WT_ROPE_HALVES), x3);
    for (int64_t f = 0; f < T * H * hd; f++) {
        int64_t idx[4];
        unflat(x4, f, idx);
        double want = ref_rope(x4, idx, (double)pv[idx[1] + 3], 500.0, WT_ROPE_HALVES);
        ck_assert(fabs(wt_get_flat(x3, f) - want) <= 1e-6);
    }
    /* errors: odd head dim, wrong pos length, f32 positions */
    wt_tensor *odd = wt_tensor_new3(ctx, WT_F32, T, H, 7);
    ck_assert_ptr_null(wt_rope(ctx, odd, pos1, 10000, WT_ROPE_HALVES));
    wt_ctx_clear_error(ctx);
    wt_tensor *p4 = wt_tensor_new1(ctx, WT_I64, 4);
    ck_assert_ptr_null(wt_rope(ctx, x, p4, 10000, WT_ROPE_HALVES));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[4]"));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[2, 3, 2, 10]"));
    wt_ctx_clear_error(ctx);
    wt_tensor *pf = wt_tensor_new1(ctx, WT_F32, T);
    ck_assert_ptr_null(wt_rope(ctx, x, pf, 10000, WT_ROPE_HALVES));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_free(ctx);
}
END_TEST

/* ---- glu, pad ---- */

START_TEST(test_glu) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 53);
    wt_tensor *raw = wt_tensor_new2(ctx, WT_F32, 8, 5);
    wt_test_fill_uniform(raw, &rng, -5, 5);
    wt_tensor *x = wt_transpose(ctx, raw, 0, 1); /* [5, 8] */
    for (int dim = -1; dim <= 0; dim++) {
        const wt_tensor *in = dim == 0 ? raw : x;
        wt_tensor *y = wt_glu(ctx, in, dim);
        ck_assert_ptr_nonnull(y);
        int d = dim < 0 ? 1 : 0;
        int64_t h = in->shape[d] / 2;
        for (int64_t f = 0; f < wt_numel(y); f++) {
            int64_t idx[2], j[2];
            unflat(y, f, idx);
            j[0] = idx[0];
            j[1] = idx[1];
            double a = wt_get_flat(in, flat(in, idx));
            j[d] += h;
            double bb = wt_get_flat(in, flat(in, j));
            double want = a / (1 + exp(-bb));
            ck_assert(fabs(wt_get_flat(y, f) - want) <= 1e-6 * (1 + fabs(want)));
        }
    }
    ck_assert_ptr_null(wt_glu(ctx, x, 0)); /* size 5 is odd */
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_free(ctx);
}
END_TEST

static int64_t ref_pad_src(wt_pad_mode m, int64_t p, int64_t n) {
    if (p >= 0 && p < n) return p;
    if (m == WT_PAD_CONSTANT) return -1;
    if (m == WT_PAD_REPLICATE) return p < 0 ? 0 : n - 1;
    return p < 0 ? -p : 2 * n - 2 - p;
}

START_TEST(test_pad) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    const wt_dtype dts[3] = {WT_F32, WT_I64, WT_BF16};
    for (int di = 0; di < 3; di++) {
        wt_tensor *raw = wt_tensor_new2(ctx, dts[di], 5, 4);
        for (int64_t i = 0; i < 20; i++) wt_set_flat(raw, i, (double)(i * 3 - 7));
        wt_tensor *x = wt_transpose(ctx, raw, 0, 1); /* [4, 5] */
        for (int m = 0; m < 3; m++)
            for (int dim = -2; dim < 2; dim++) {
                int d = dim < 0 ? dim + 2 : dim;
                int64_t n = x->shape[d], left = n - 1, right = 2;
                if (m == WT_PAD_REFLECT && right >= n) right = n - 1;
                wt_tensor *y = wt_pad(ctx, x, dim, left, right, (wt_pad_mode)m, -9.0);
                ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
                ck_assert_int_eq(y->shape[d], n + left + right);
                ck_assert_int_eq(y->dtype, dts[di]);
                for (int64_t f = 0; f < wt_numel(y); f++) {
                    int64_t idx[2];
                    unflat(y, f, idx);
                    int64_t s = ref_pad_src((wt_pad_mode)m, idx[d] - left, n);
                    double want = -9;
                    if (s >= 0) {
                        idx[d] = s;
                        want = wt_get_flat(x, flat(x, idx));
                    }
                    ck_assert_double_eq(wt_get_flat(y, f), want);
                }
            }
    }
    wt_tensor *x = wt_tensor_new2(ctx, WT_F32, 2, 3);
    wt_fill_(ctx, x, 1);
    ck_assert_ptr_nonnull(wt_pad(ctx, x, 1, 0, 0, WT_PAD_REFLECT, 0));
    ck_assert_ptr_null(wt_pad(ctx, x, 1, 3, 0, WT_PAD_REFLECT, 0));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[2, 3]"));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_pad(ctx, x, 2, 1, 1, WT_PAD_CONSTANT, 0));
    wt_ctx_free(ctx);
}
END_TEST

/* ---- indexing ---- */

START_TEST(test_index_select) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    const wt_dtype dts[4] = {WT_F32, WT_F16, WT_BF16, WT_I64};
    for (int di = 0; di < 4; di++) {
        wt_tensor *table = wt_tensor_new2(ctx, dts[di], 7, 5);
        for (int64_t i = 0; i < 35; i++) wt_set_flat(table, i, (double)(i * 5 - 60) / 4);
        wt_tensor *ids = wt_tensor_new2(ctx, WT_I64, 2, 3);
        const int64_t iv[6] = {6, 0, 3, 3, 1, 6};
        for (int i = 0; i < 6; i++) wt_set_flat(ids, i, (double)iv[i]);
        wt_tensor *y = wt_index_select(ctx, table, 0, ids);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(y->ndim, 3);
        ck_assert_int_eq(y->dtype, dts[di] == WT_I64 ? WT_I64 : WT_F32);
        for (int64_t t = 0; t < 6; t++)
            for (int64_t c = 0; c < 5; c++)
                ck_assert_double_eq(wt_get_flat(y, t * 5 + c), wt_get_flat(table, iv[t] * 5 + c));
        /* along the last dim of a transposed table, with a strided idx */
        wt_tensor *tt = wt_transpose(ctx, table, 0, 1); /* [5, 7] */
        wt_tensor *idt = wt_transpose(ctx, ids, 0, 1);  /* [3, 2]: 6 3 0 1 3 6 */
        wt_tensor *z = wt_index_select(ctx, tt, -1, idt);
        ck_assert_ptr_nonnull(z);
        ck_assert_int_eq(z->shape[0], 5);
        ck_assert_int_eq(z->shape[2], 2);
        const int64_t it[6] = {6, 3, 0, 1, 3, 6};
        for (int64_t r = 0; r < 5; r++)
            for (int64_t k = 0; k < 6; k++)
                ck_assert_double_eq(wt_get_flat(z, r * 6 + k), wt_get_flat(tt, r * 7 + it[k]));
    }
    wt_tensor *table = wt_tensor_new2(ctx, WT_F32, 7, 5);
    wt_tensor *none = wt_tensor_new1(ctx, WT_I64, 0);
    wt_tensor *e = wt_index_select(ctx, table, 0, none);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->shape[0], 0);
    wt_tensor *badi = wt_tensor_new1(ctx, WT_I64, 2);
    wt_set_flat(badi, 0, 1);
    wt_set_flat(badi, 1, 7);
    ck_assert_ptr_null(wt_index_select(ctx, table, 0, badi));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "index 7"));
    wt_ctx_clear_error(ctx);
    wt_set_flat(badi, 1, -1);
    ck_assert_ptr_null(wt_index_select(ctx, table, 0, badi));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_scatter_set) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    /* a KV ring [4, 6, 3] (f16) written at slots 5 and 0 from f32 [4, 2, 3] */
    wt_tensor *ring = wt_tensor_new3(ctx, WT_F16, 4, 6, 3);
    wt_fill_(ctx, ring, -1);
    wt_tensor *src = wt_tensor_new3(ctx, WT_F32, 4, 2, 3);
    for (int64_t i = 0; i < 24; i++) wt_set_flat(src, i, (double)i + 0.5);
    wt_tensor *idx = wt_tensor_new1(ctx, WT_I64, 2);
    wt_set_flat(idx, 0, 5);
    wt_set_flat(idx, 1, 0);
    ck_assert_ptr_eq(wt_scatter_set_(ctx, ring, -2, idx, src), ring);
    for (int64_t b = 0; b < 4; b++)
        for (int64_t s = 0; s < 6; s++)
            for (int64_t c = 0; c < 3; c++) {
                double want = -1;
                if (s == 5) want = (double)((b * 2 + 0) * 3 + c) + 0.5;
                if (s == 0) want = (double)((b * 2 + 1) * 3 + c) + 0.5;
                ck_assert_double_eq(wt_get_flat(ring, (b * 6 + s) * 3 + c), want);
            }
    /* into a transposed view of an i64 tensor */
    wt_tensor *m = wt_tensor_new2(ctx, WT_I64, 3, 4);
    wt_fill_(ctx, m, 0);
    wt_tensor *mt = wt_transpose(ctx, m, 0, 1); /* [4, 3] */
    wt_tensor *row = wt_tensor_new2(ctx, WT_I64, 1, 3);
    for (int i = 0; i < 3; i++) wt_set_flat(row, i, 10 + i);
    wt_tensor *i1 = wt_tensor_new1(ctx, WT_I64, 1);
    wt_set_flat(i1, 0, 2);
    ck_assert_ptr_nonnull(wt_scatter_set_(ctx, mt, 0, i1, row));
    for (int64_t r = 0; r < 3; r++)
        for (int64_t c = 0; c < 4; c++) ck_assert_double_eq(wt_get_flat(m, r * 4 + c), c == 2 ? 10 + r : 0);
    /* errors: out of range, shape mismatch naming both shapes */
    wt_set_flat(idx, 1, 6);
    ck_assert_ptr_null(wt_scatter_set_(ctx, ring, 1, idx, src));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_clear_error(ctx);
    wt_tensor *src2 = wt_tensor_new3(ctx, WT_F32, 4, 3, 3);
    wt_set_flat(idx, 1, 1);
    ck_assert_ptr_null(wt_scatter_set_(ctx, ring, 1, idx, src2));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[4, 6, 3]"));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[4, 3, 3]"));
    wt_ctx_free(ctx);
}
END_TEST

/* ---- arena replay ---- */

typedef struct {
    wt_tensor *x, *w, *b, *pos, *ids, *table, *ring, *slot;
} nn_inputs;

static int nn_step(wt_ctx *ctx, const nn_inputs *in);
static int nn_step_any(wt_ctx *ctx, const void *in) { return nn_step(ctx, in); }

static int nn_step(wt_ctx *ctx, const nn_inputs *in) {
    wt_tensor *e = wt_index_select(ctx, in->table, 0, in->ids);  /* [4, 8] */
    wt_tensor *h = wt_layer_norm(ctx, e, in->w, in->b, 1e-5f);
    h = wt_rms_norm(ctx, h, in->w, 1e-6f);
    int64_t s3[3] = {4, 2, 4};
    wt_tensor *q = wt_reshape(ctx, h, 3, s3);
    q = wt_rope(ctx, q, in->pos, 10000, WT_ROPE_HALVES);
    wt_tensor *a = wt_softmax(ctx, wt_reshape(ctx, q, 2, (const int64_t[]){4, 8}), 0.5f, NULL,
                              WT_MASK_CAUSAL, 3);
    wt_tensor *g = wt_glu(ctx, a, -1);
    wt_tensor *p = wt_pad(ctx, g, -1, 2, 1, WT_PAD_REFLECT, 0);
    wt_tensor *gn = wt_group_norm(ctx, wt_unsqueeze(ctx, p, 0), 2, NULL, NULL, 1e-5f);
    wt_scatter_set_(ctx, in->ring, 0, in->slot, wt_narrow(ctx, e, 0, 0, 1));
    return (gn == NULL) + (wt_ctx_status(ctx) != WT_OK);
}

START_TEST(test_arena_no_alloc) {
    wt_ctx *heap = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 61);
    nn_inputs in;
    in.table = wt_tensor_new2(heap, WT_BF16, 10, 8);
    wt_test_fill_uniform(in.table, &rng, -1, 1);
    in.w = wt_tensor_new1(heap, WT_F32, 8);
    in.b = wt_tensor_new1(heap, WT_F32, 8);
    wt_test_fill_uniform(in.w, &rng, 0.5f, 1.5f);
    wt_test_fill_uniform(in.b, &rng, -1, 1);
    in.ids = wt_tensor_new1(heap, WT_I64, 4);
    in.pos = wt_tensor_new1(heap, WT_I64, 4);
    for (int i = 0; i < 4; i++) {
        wt_set_flat(in.ids, i, 9 - 2 * i);
        wt_set_flat(in.pos, i, 17 + i);
    }
    in.ring = wt_tensor_new2(heap, WT_F32, 6, 8);
    in.slot = wt_tensor_new1(heap, WT_I64, 1);
    wt_set_flat(in.slot, 0, 4);
    in.x = NULL;
    wt_ctx *plan = wt_ctx_new_heap(NULL);
    ck_assert_int_eq(nn_step(plan, &in), 0);
    wt_ctx *arena = wt_ctx_new_arena_like(plan);
    int failures = 0;
    uint64_t allocs = wt_test_arena_allocs(arena, 100, nn_step_any, &in, &failures);
    ck_assert_int_eq(failures, 0);
    ck_assert_uint_eq(allocs, 0);
    wt_ctx_free(arena);
    wt_ctx_free(plan);
    wt_ctx_free(heap);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ops_nn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_softmax_masks);
    tcase_add_test(tc, test_softmax_extremes);
    tcase_add_test(tc, test_rms_layer_norm);
    tcase_add_test(tc, test_group_norm);
    tcase_add_test(tc, test_rope);
    tcase_add_test(tc, test_glu);
    tcase_add_test(tc, test_pad);
    tcase_add_test(tc, test_index_select);
    tcase_add_test(tc, test_scatter_set);
    tcase_add_test(tc, test_arena_no_alloc);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
