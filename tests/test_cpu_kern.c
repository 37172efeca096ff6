/* The register-blocked CPU kernels (backends/cpu/cpu_kern.c) through the
 * ops that use them: conv1d and conv_transpose1d with f32, bf16 and f16
 * weights on the shapes of streaming steps (1..4 output steps: the dot
 * path; longer: packed im2col panels; conv-transpose tiles full and ragged),
 * linear layers with 1..64 rows, and few rows against narrow n-contiguous
 * matrices (attention's values). Every result is compared with a plain
 * double-precision loop written here over the same (converted) weights;
 * against bf16 weights a convolution's input is rounded to bf16 there too
 * (bf16 products, cpu_kern.h), a linear layer's is not. */
#include <check.h>
#include <math.h>
#include <stdio.h>

#include "wavetensor/ops.h"
#include "wavetensor/wavetensor.h"
#include "wt_test.h"

static const wt_dtype dts[3] = {WT_F32, WT_BF16, WT_F16};

/* Element i of a contiguous weight tensor as the kernels see it. */
static double wval(const wt_tensor *w, int64_t i) {
    const uint16_t *h = w->data;
    switch (w->dtype) {
    case WT_BF16: return wt_bf16_to_f32(h[i]);
    case WT_F16: return wt_f16_to_f32(h[i]);
    default: return ((const float *)w->data)[i];
    }
}

static wt_tensor *rand_t(wt_ctx *ctx, wt_test_rng *r, wt_dtype dt, int nd, const int64_t *shape) {
    wt_tensor *t = wt_tensor_new(ctx, WT_F32, nd, shape);
    wt_test_fill_uniform(t, r, -1.0f, 1.0f);
    return dt == WT_F32 ? t : wt_to_dtype(ctx, t, dt);
}

/* |got - want| within 1e-5 of the sum of |terms| (f32 accumulation of up to
 * a few thousand products) plus a tiny absolute floor. */
static int close_to(double got, double want, double mag) {
    return fabs(got - want) <= 1e-5 * mag + 1e-6;
}

/* wstep 2: the weights a view of every other element of a [Cout, Cin, K, 2]
 * tensor (taps 2 elements apart). */
static void conv_case(wt_ctx *ctx, wt_test_rng *r, wt_dtype dt, int64_t B, int64_t cin,
                      int64_t cout, int64_t T, int64_t K, int stride, int pl, int pr, int dil,
                      int groups, int bias, int wstep) {
    int64_t sx[3] = {B, cin, T}, sw[4] = {cout, cin / groups, K, wstep}, sb[1] = {cout};
    wt_tensor *x = rand_t(ctx, r, WT_F32, 3, sx), *w = rand_t(ctx, r, dt, wstep > 1 ? 4 : 3, sw);
    if (wstep > 1) w = wt_squeeze(ctx, wt_narrow(ctx, w, 3, 0, 1), 3);
    wt_tensor *b = bias ? rand_t(ctx, r, WT_F32, 1, sb) : NULL;
    wt_tensor *y = wt_conv1d(ctx, x, w, b, stride, pl, pr, dil, groups);
    ck_assert_msg(y != NULL, "conv1d %s: %s", wt_dtype_name(dt), wt_ctx_error(ctx));
    int64_t To = y->shape[2], cg = cin / groups, og = cout / groups;
    const float *xp = x->data, *yp = y->data;
    int bad = 0;
    for (int64_t bb = 0; bb < B; bb++)
        for (int64_t oc = 0; oc < cout; oc++)
            for (int64_t t = 0; t < To; t++) {
                double s = b ? ((const float *)b->data)[oc] : 0, mag = fabs(s);
                int64_t g = oc / og;
                for (int64_t ic = 0; ic < cg; ic++)
                    for (int64_t k = 0; k < K; k++) {
                        int64_t ti = t * stride + k * dil - pl;
                        if (ti < 0 || ti >= T) continue;
                        double v = wval(w, oc * w->stride[0] + ic * w->stride[1] + k * w->stride[2]) *
                                   wt_test_operand(xp[(bb * cin + g * cg + ic) * T + ti], dt);
                        s += v;
                        mag += fabs(v);
                    }
                if (!close_to(yp[(bb * cout + oc) * To + t], s, mag) && bad++ < 3)
                    fprintf(stderr, "conv1d %s B%lld Cin%lld Cout%lld T%lld K%lld s%d: [%lld,%lld,%lld] %g vs %g\n",
                            wt_dtype_name(dt), (long long)B, (long long)cin, (long long)cout,
                            (long long)T, (long long)K, stride, (long long)bb, (long long)oc,
                            (long long)t, yp[(bb * cout + oc) * To + t], s);
            }
    ck_assert_int_eq(bad, 0);
}

START_TEST(test_conv1d_kernels) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 11);
    for (int d = 0; d < 3; d++) {
        wt_dtype dt = dts[d];
        /* streaming steps: a kept tail in front, 1..4 outputs (dot path) */
        conv_case(ctx, &r, dt, 1, 64, 40, 4, 3, 1, 0, 0, 1, 1, 1, 1);       /* 2 outputs */
        conv_case(ctx, &r, dt, 2, 32, 24, 23, 16, 8, 0, 0, 1, 1, 1, 1);     /* 1 output, stride 8 */
        conv_case(ctx, &r, dt, 1, 16, 9, 7, 3, 1, 1, 0, 2, 1, 0, 1);        /* 4 outputs, dilation */
        conv_case(ctx, &r, dt, 1, 600, 10, 3, 1, 1, 0, 0, 1, 1, 1, 1);      /* 1x1, 3 outputs, long rows */
        conv_case(ctx, &r, dt, 1, 16, 16, 3, 3, 1, 1, 1, 1, 2, 1, 1);       /* groups */
        conv_case(ctx, &r, dt, 1, 1100, 8, 7, 4, 1, 0, 0, 1, 1, 0, 1);      /* im2col in chunks */
        conv_case(ctx, &r, dt, 1, 300, 37, 17, 10, 5, 0, 0, 1, 1, 1, 1);    /* 2 outputs, rows of 3000 */
        /* longer outputs: packed panels, ragged last panel, padding */
        conv_case(ctx, &r, dt, 1, 12, 14, 77, 7, 1, 6, 0, 1, 1, 1, 1);
        conv_case(ctx, &r, dt, 2, 10, 8, 101, 8, 4, 3, 2, 1, 1, 1, 1);
        conv_case(ctx, &r, dt, 1, 8, 13, 50, 3, 1, 2, 0, 2, 1, 0, 1);
        conv_case(ctx, &r, dt, 1, 16, 16, 40, 1, 1, 0, 0, 1, 2, 1, 1);
        conv_case(ctx, &r, dt, 1, 130, 9, 40, 5, 1, 2, 2, 1, 1, 1, 1);      /* depth > one panel */
        conv_case(ctx, &r, dt, 1, 13, 20, 40, 3, 1, 1, 0, 1, 1, 1, 2);      /* taps 2 apart */
        /* strided rows of full panels read in place (permuted loads up to
         * stride 16, staged past it), edge rows staged */
        conv_case(ctx, &r, dt, 1, 10, 9, 400, 8, 4, 3, 2, 1, 1, 1, 1);
        conv_case(ctx, &r, dt, 1, 9, 8, 520, 10, 5, 0, 0, 1, 1, 0, 1);
        conv_case(ctx, &r, dt, 1, 8, 10, 700, 12, 6, 5, 0, 1, 1, 1, 1);
        conv_case(ctx, &r, dt, 1, 8, 8, 410, 5, 3, 2, 1, 2, 1, 1, 1);       /* dilation */
        conv_case(ctx, &r, dt, 1, 8, 9, 1100, 16, 16, 0, 0, 1, 1, 1, 1);
        conv_case(ctx, &r, dt, 1, 8, 9, 1200, 3, 17, 0, 0, 1, 1, 1, 1);
        /* few channels: the direct loop with half weights */
        conv_case(ctx, &r, dt, 1, 1, 6, 30, 7, 1, 6, 0, 1, 1, 1, 1);
        conv_case(ctx, &r, dt, 1, 5, 5, 30, 3, 2, 1, 1, 1, 5, 0, 1);
        conv_case(ctx, &r, dt, 1, 1, 48, 1028, 8, 4, 0, 0, 1, 1, 1, 1);    /* stride 4: phase rows */
        conv_case(ctx, &r, dt, 1, 1, 1, 917, 112, 1, 55, 56, 1, 1, 0, 1); /* a long filter */
        conv_case(ctx, &r, dt, 1, 64, 1, 600, 7, 1, 6, 0, 1, 1, 1, 1);    /* input staged in chunks */
        conv_case(ctx, &r, dt, 2, 64, 3, 700, 7, 3, 4, 1, 2, 1, 1, 1);    /* chunks, taps wrap phases */
        conv_case(ctx, &r, dt, 1, 2, 5, 7600, 200, 1, 0, 0, 36, 1, 1, 1); /* tiles shortened to fit */
        conv_case(ctx, &r, dt, 1, 2, 3, 9000, 1100, 1, 0, 0, 8, 1, 1, 1); /* too wide to stage */
    }
    wt_ctx_free(ctx);
}
END_TEST

static void convtr_case(wt_ctx *ctx, wt_test_rng *r, wt_dtype dt, int64_t B, int64_t cin,
                        int64_t cout, int64_t T, int64_t K, int stride, int pad, int opad,
                        int groups, int bias) {
    int64_t sx[3] = {B, cin, T}, sw[3] = {cin, cout / groups, K}, sb[1] = {cout};
    wt_tensor *x = rand_t(ctx, r, WT_F32, 3, sx), *w = rand_t(ctx, r, dt, 3, sw);
    wt_tensor *b = bias ? rand_t(ctx, r, WT_F32, 1, sb) : NULL;
    wt_tensor *y = wt_conv_transpose1d(ctx, x, w, b, stride, pad, opad, 1, groups);
    ck_assert_msg(y != NULL, "conv_transpose1d %s: %s", wt_dtype_name(dt), wt_ctx_error(ctx));
    int64_t To = y->shape[2], cg = cin / groups, og = cout / groups;
    const float *xp = x->data, *yp = y->data;
    int bad = 0;
    for (int64_t bb = 0; bb < B; bb++)
        for (int64_t oc = 0; oc < cout; oc++)
            for (int64_t o = 0; o < To; o++) {
                double s = b ? ((const float *)b->data)[oc] : 0, mag = fabs(s);
                int64_t g = oc / og, ocl = oc % og;
                for (int64_t icl = 0; icl < cg; icl++)
                    for (int64_t k = 0; k < K; k++) {
                        int64_t num = o + pad - k;
                        if (num < 0 || num % stride) continue;
                        int64_t t = num / stride;
                        if (t >= T) continue;
                        int64_t ic = g * cg + icl;
                        double v = wval(w, (ic * og + ocl) * K + k) *
                                   wt_test_operand(xp[(bb * cin + ic) * T + t], dt);
                        s += v;
                        mag += fabs(v);
                    }
                if (!close_to(yp[(bb * cout + oc) * To + o], s, mag) && bad++ < 3)
                    fprintf(stderr, "convtr %s Cin%lld Cout%lld T%lld K%lld s%d: [%lld,%lld,%lld] %g vs %g\n",
                            wt_dtype_name(dt), (long long)cin, (long long)cout, (long long)T,
                            (long long)K, stride, (long long)bb, (long long)oc, (long long)o,
                            yp[(bb * cout + oc) * To + o], s);
            }
    ck_assert_int_eq(bad, 0);
}

START_TEST(test_convtr_kernels) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 12);
    for (int d = 0; d < 3; d++) {
        wt_dtype dt = dts[d];
        convtr_case(ctx, &r, dt, 1, 64, 32, 1, 16, 8, 0, 0, 1, 0);  /* a step: 1 input, full tiles */
        convtr_case(ctx, &r, dt, 1, 48, 24, 2, 12, 6, 0, 0, 1, 1);  /* 2 inputs, ragged tile */
        /* rows of W wider than one accumulator pass, Cin not a multiple of 8 */
        convtr_case(ctx, &r, dt, 1, 9, 1030, 1, 8, 4, 0, 0, 1, 1);
        convtr_case(ctx, &r, dt, 1, 19, 350, 3, 8, 4, 0, 0, 1, 0);
        convtr_case(ctx, &r, dt, 1, 19, 350, 16, 8, 4, 0, 0, 1, 1); /* 16 inputs, 6 passes */
        convtr_case(ctx, &r, dt, 2, 16, 8, 40, 8, 4, 2, 1, 1, 1);   /* many inputs, padding */
        convtr_case(ctx, &r, dt, 1, 20, 10, 13, 3, 1, 1, 0, 2, 1);  /* groups, stride 1 */
        convtr_case(ctx, &r, dt, 1, 600, 3, 5, 4, 2, 0, 0, 1, 1);   /* deep, narrow edge panel */
        convtr_case(ctx, &r, dt, 1, 131, 24, 1, 8, 4, 0, 0, 1, 1);  /* one step: B's halves / quarters */
        convtr_case(ctx, &r, dt, 1, 8, 8, 9, 4, 2, 0, 0, 8, 1);     /* depthwise: direct loop */
        convtr_case(ctx, &r, dt, 1, 33, 20, 50, 5, 3, 0, 0, 1, 1);  /* odd depth, tiles, tail */
    }
    wt_ctx_free(ctx);
}
END_TEST

/* y = x W^T for one row of x against W [N, K], checked against a double loop. */
static void linear_case(wt_ctx *ctx, wt_test_rng *r, wt_dtype dt, int64_t M, int64_t N, int64_t K) {
    int64_t sx[2] = {M, K}, sw[2] = {N, K};
    wt_tensor *x = rand_t(ctx, r, WT_F32, 2, sx), *w = rand_t(ctx, r, dt, 2, sw);
    wt_tensor *y = wt_linear(ctx, x, w, NULL);
    ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
    const float *xp = x->data, *yp = y->data;
    int bad = 0;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double s = 0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                double v = xp[m * K + k] * wval(w, n * K + k);
                s += v;
                mag += fabs(v);
            }
            bad += !close_to(yp[m * N + n], s, mag);
        }
    ck_assert_msg(bad == 0, "linear %s M%lld N%lld K%lld: %d wrong", wt_dtype_name(dt),
                  (long long)M, (long long)N, (long long)K, bad);
}

START_TEST(test_linear_kernels) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 13);
    static const int64_t rows[] = {1, 2, 3, 4, 5, 17, 40, 64};
    static const int64_t ks[] = {1, 15, 16, 100, 515, 1100}; /* short rows and tiles */
    for (int d = 0; d < 3; d++)
        for (size_t mi = 0; mi < sizeof rows / sizeof rows[0]; mi++)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                linear_case(ctx, &r, dts[d], rows[mi], 37, ks[ki]);
                wt_ctx_reset(ctx);
            }
    /* one row against a megabyte or more of weights: the streamed mat-vec,
     * with rows left over after its 16-row folds and a ragged row length;
     * then rows too long for that (and for bf16's one row at a time), with
     * rows left over after the tiles */
    for (int d = 0; d < 3; d++) {
        linear_case(ctx, &r, dts[d], 1, 530, 1037);
        linear_case(ctx, &r, dts[d], 1, 1043, 520);
        linear_case(ctx, &r, dts[d], 1, 37, 4100);
        linear_case(ctx, &r, dts[d], 3, 37, 4100);
        wt_ctx_reset(ctx);
    }
    wt_ctx_free(ctx);
}
END_TEST

/* y = a b for H heads of a [H, M, P] against b [H, P, N] held in dt (an
 * attention's probabilities against its value ring), checked against a
 * double loop. */
static void ab_case(wt_ctx *ctx, wt_test_rng *r, wt_dtype dt, int64_t H, int64_t M, int64_t P,
                    int64_t N) {
    int64_t sa[3] = {H, M, P}, sb[3] = {H, P, N};
    wt_tensor *a = rand_t(ctx, r, WT_F32, 3, sa), *b = rand_t(ctx, r, dt, 3, sb);
    wt_tensor *y = wt_matmul(ctx, a, b);
    ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
    const float *ap = a->data, *yp = y->data;
    int bad = 0;
    for (int64_t h = 0; h < H; h++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double s = 0, mag = 0;
                for (int64_t p = 0; p < P; p++) {
                    double v = ap[(h * M + m) * P + p] * wval(b, (h * P + p) * N + n);
                    s += v;
                    mag += fabs(v);
                }
                bad += !close_to(yp[(h * M + m) * N + n], s, mag);
            }
    ck_assert_msg(bad == 0, "matmul %s H%lld M%lld P%lld N%lld: %d wrong", wt_dtype_name(dt),
                  (long long)H, (long long)M, (long long)P, (long long)N, bad);
}

/* One or two rows against at most 64 columns run wholly in registers
 * (16..64 columns); 3 rows, 80 or ragged columns take the accumulator
 * loop. */
START_TEST(test_ab_kernels) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 17);
    static const int64_t cols[] = {16, 32, 48, 64, 80, 40};
    for (int d = 0; d < 3; d++)
        for (int64_t m = 1; m <= 3; m++)
            for (size_t ci = 0; ci < sizeof cols / sizeof cols[0]; ci++) {
                ab_case(ctx, &r, dts[d], 3, m, 250, cols[ci]);
                ab_case(ctx, &r, dts[d], 1, m, 1, cols[ci]);
                wt_ctx_reset(ctx);
            }
    wt_ctx_free(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cpu_kern");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_conv1d_kernels);
    tcase_add_test(tc, test_convtr_kernels);
    tcase_add_test(tc, test_linear_kernels);
    tcase_add_test(tc, test_ab_kernels);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
