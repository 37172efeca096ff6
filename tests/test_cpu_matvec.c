/* Mat-vecs whose weights are large enough to take the CPU backend's
 * streaming path (one weight row at a time, for a megabyte or more of f32 or
 * f16 weights) and, for the largest, the huge-page placement of big blocks
 * (backends/cpu/cpu_backend.c): one row of x against W [N, K] with f32, bf16
 * and f16 weights, on 1 and 2 threads, with row counts that leave ragged
 * thread chunks and K that leaves a tail after the 16-wide vectors. Every
 * output is compared with a plain double-precision loop written here over
 * the same (converted) weights. */
#include <check.h>
#include <math.h>
#include <stdio.h>

#include "wavetensor/ops.h"
#include "wavetensor/wavetensor.h"
#include "wt_test.h"

/* Element i of a contiguous weight tensor as the kernels see it. */
static double wval(const wt_tensor *w, int64_t i) {
    const uint16_t *h = w->data;
    switch (w->dtype) {
    case WT_BF16: return wt_bf16_to_f32(h[i]);
    case WT_F16: return wt_f16_to_f32(h[i]);
    default: return ((const float *)w->data)[i];
    }
}

/* Wrong outputs of y = x W^T against the double-precision loop, each within
 * 1e-5 of the sum of |terms| (f32 accumulation of a few thousand products). */
static int64_t count_wrong(const wt_tensor *x, const wt_tensor *w, const wt_tensor *y) {
    int64_t N = w->shape[0], K = w->shape[1], bad = 0;
    const float *xp = x->data, *yp = y->data;
    for (int64_t n = 0; n < N; n++) {
        double s = 0, mag = 0;
        for (int64_t k = 0; k < K; k++) {
            double v = xp[k] * wval(w, n * K + k);
            s += v;
            mag += fabs(v);
        }
        bad += fabs(yp[n] - s) > 1e-5 * mag + 1e-6;
    }
    return bad;
}

static void matvec_case(wt_dtype dt, int threads, int64_t N, int64_t K) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    ck_assert_ptr_nonnull(ctx);
    wt_ctx_set_threads(ctx, threads);
    wt_test_rng r;
    wt_test_rng_seed(&r, (uint64_t)(N * 31 + K));
    int64_t sx[2] = {1, K}, sw[2] = {N, K};
    wt_tensor *x = wt_tensor_new(ctx, WT_F32, 2, sx), *w = wt_tensor_new(ctx, WT_F32, 2, sw);
    ck_assert_msg(x && w, "%s", wt_ctx_error(ctx));
    wt_test_fill_uniform(x, &r, -1.0f, 1.0f);
    wt_test_fill_uniform(w, &r, -1.0f, 1.0f);
    if (dt != WT_F32) w = wt_to_dtype(ctx, w, dt);
    wt_tensor *y = w ? wt_linear(ctx, x, w, NULL) : NULL;
    ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
    int64_t bad = count_wrong(x, w, y);
    ck_assert_msg(bad == 0, "mat-vec %s %lldx%lld, %d threads: %lld of %lld wrong", wt_dtype_name(dt),
                  (long long)N, (long long)K, threads, (long long)bad, (long long)N);
    wt_ctx_free(ctx);
}

START_TEST(test_matvec_streaming) {
    static const wt_dtype dts[3] = {WT_F32, WT_BF16, WT_F16};
    for (int d = 0; d < 3; d++)
        for (int t = 1; t <= 2; t++) {
            matvec_case(dts[d], t, 1100, 515);  /* 1.1 MB (f16) to 2.3 MB (f32) */
            matvec_case(dts[d], t, 4111, 1024); /* whole vectors; enough work for 2 threads */
        }
}
END_TEST

START_TEST(test_matvec_huge_block) {
    /* 17 MB of f32 weights, not a whole number of 2 MiB pages: a block
     * placed on huge pages, with a tail */
    matvec_case(WT_F32, 1, 4100, 1030);
    matvec_case(WT_F32, 2, 4100, 1030);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cpu_matvec");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_matvec_streaming);
    tcase_add_test(tc, test_matvec_huge_block);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
