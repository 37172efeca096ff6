/* wt_matmul, wt_linear, wt_conv1d, wt_conv_transpose1d against plain
 * reference loops written here (double accumulation over values read back
 * with wt_get_flat, so f16/bf16 weights are compared with their rounded
 * values). Tolerances are relative to the largest magnitude of the result. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wt_test.h"

#define REL_TOL 1e-5

static wt_tensor *rand_tensor(wt_ctx *ctx, wt_dtype dt, int nd, const int64_t *shape,
                              wt_test_rng *r) {
    wt_tensor *t = wt_tensor_new(ctx, dt, nd, shape);
    ck_assert_ptr_nonnull(t);
    wt_test_fill_uniform(t, r, -1.0f, 1.0f);
    return t;
}

/* Logical-index element of t (any rank <= 4, any strides) as double. */
static double at(const wt_tensor *t, const int64_t *idx) {
    int64_t flat = 0;
    for (int i = 0; i < t->ndim; i++) flat = flat * t->shape[i] + idx[i];
    return wt_get_flat(t, flat);
}

/* Max |got - want| relative to max(1e-3, max |want|) over n values. */
static double rel_err(const wt_tensor *got, const double *want, int64_t n) {
    double m = 0, d = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(want[i]));
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(wt_get_flat(got, i) - want[i]);
        d = isnan(e) ? INFINITY : fmax(d, e);
    }
    return d / fmax(m, 1e-3);
}

/* ---- matmul ---- */

/* Reference a [.., M, K] x b [.., K, N] with NumPy batch broadcasting; returns
 * a malloc'd row-major [batch.., M, N] array. */
static double *ref_matmul(const wt_tensor *a, const wt_tensor *b, int *ndo, int64_t *shape) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1], N = b->shape[b->ndim - 1];
    int64_t nbatch = 1;
    for (int i = 0; i < nd - 2; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t sa = ia >= 0 ? a->shape[ia] : 1, sb = ib >= 0 ? b->shape[ib] : 1;
        shape[i] = sa == 1 ? sb : sa;
        nbatch *= shape[i];
    }
    shape[nd - 2] = M;
    shape[nd - 1] = N;
    *ndo = nd;
    double *out = calloc((size_t)(nbatch * M * N) + 1, sizeof *out);
    for (int64_t bi = 0; bi < nbatch; bi++) {
        int64_t bidx[WT_MAX_DIMS], rem = bi;
        for (int i = nd - 3; i >= 0; i--) {
            bidx[i] = rem % shape[i];
            rem /= shape[i];
        }
        int64_t ia[WT_MAX_DIMS], ib[WT_MAX_DIMS];
        for (int i = 0; i < a->ndim - 2; i++) {
            int o = i + (nd - a->ndim);
            ia[i] = a->shape[i] == 1 ? 0 : bidx[o];
        }
        for (int i = 0; i < b->ndim - 2; i++) {
            int o = i + (nd - b->ndim);
            ib[i] = b->shape[i] == 1 ? 0 : bidx[o];
        }
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) {
                    ia[a->ndim - 2] = m;
                    ia[a->ndim - 1] = k;
                    ib[b->ndim - 2] = k;
                    ib[b->ndim - 1] = n;
                    s += at(a, ia) * at(b, ib);
                }
                out[(bi * M + m) * N + n] = s;
            }
    }
    return out;
}

/* wt_matmul(a, b) against the reference: shapes equal, error within tol. */
static void check_matmul(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *b, const char *what) {
    int nd;
    int64_t shape[WT_MAX_DIMS];
    double *want = ref_matmul(a, b, &nd, shape);
    wt_tensor *y = wt_matmul(ctx, a, b);
    ck_assert_msg(y != NULL, "%s: %s", what, wt_ctx_error(ctx));
    ck_assert_int_eq(y->ndim, nd);
    for (int i = 0; i < nd; i++) ck_assert_int_eq(y->shape[i], shape[i]);
    double e = rel_err(y, want, wt_numel(y));
    free(want);
    ck_assert_msg(e <= REL_TOL, "%s: relative error %g", what, e);
}

/* a [M, K] (or its transposed storage) and b [K, N] (or W [N, K] viewed
 * transposed), for each weight dtype. */
static void matmul_2d_case(wt_ctx *ctx, wt_test_rng *r, int64_t M, int64_t K, int64_t N,
                           int a_t, int b_t, wt_dtype bdt) {
    int64_t sa[2] = {a_t ? K : M, a_t ? M : K}, sb[2] = {b_t ? N : K, b_t ? K : N};
    wt_tensor *a = rand_tensor(ctx, WT_F32, 2, sa, r);
    wt_tensor *b = rand_tensor(ctx, bdt, 2, sb, r);
    if (a_t) a = wt_transpose(ctx, a, 0, 1);
    if (b_t) b = wt_transpose(ctx, b, 0, 1);
    char what[128];
    snprintf(what, sizeof what, "matmul %lldx%lldx%lld a_t=%d b_t=%d %s", (long long)M, (long long)K,
             (long long)N, a_t, b_t, wt_dtype_name(bdt));
    check_matmul(ctx, a, b, what);
}

START_TEST(test_matmul_2d) {
    static const int64_t sizes[] = {1, 3, 17, 33};
    static const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16};
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 11);
    for (int d = 0; d < 3; d++)
        for (int im = 0; im < 4; im++)
            for (int ik = 0; ik < 4; ik++)
                for (int in = 0; in < 4; in++)
                    for (int t = 0; t < 4; t++) {
                        matmul_2d_case(ctx, &r, sizes[im], sizes[ik], sizes[in], t & 1, t >> 1, dts[d]);
                        wt_ctx_reset(ctx);
                    }
    wt_ctx_free(ctx);
}
END_TEST

/* Mat-vec and wider products that reach the SIMD kernels, their tails, the
 * tiled half path (M > 4) and the threaded split. */
START_TEST(test_matmul_larger) {
    static const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16};
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 12);
    for (int threads = 1; threads <= 3; threads += 2) {
        wt_ctx_set_threads(ctx, threads);
        for (int d = 0; d < 3; d++) {
            matmul_2d_case(ctx, &r, 1, 300, 257, 0, 1, dts[d]);  /* decode: x W^T */
            matmul_2d_case(ctx, &r, 1, 300, 257, 0, 0, dts[d]);
            matmul_2d_case(ctx, &r, 3, 129, 70, 0, 1, dts[d]);
            matmul_2d_case(ctx, &r, 37, 300, 130, 0, 1, dts[d]); /* tiles over N and K */
            matmul_2d_case(ctx, &r, 37, 300, 130, 1, 0, dts[d]);
            matmul_2d_case(ctx, &r, 40, 17, 1, 0, 0, dts[d]);    /* N = 1 */
            if (threads > 1) { /* big enough to be split over threads */
                matmul_2d_case(ctx, &r, 1, 1024, 4200, 0, 1, dts[d]);
                matmul_2d_case(ctx, &r, 2, 1024, 4200, 0, 0, dts[d]); /* b [K, N] streamed */
                matmul_2d_case(ctx, &r, 40, 512, 300, 0, 1, dts[d]);
            }
            wt_ctx_reset(ctx);
        }
    }
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_matmul_batch) {
    static const wt_dtype dts[] = {WT_F32, WT_BF16};
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 13);
    for (int d = 0; d < 2; d++) {
        int64_t s1[4] = {2, 1, 3, 5}, s2[3] = {4, 5, 7};
        check_matmul(ctx, rand_tensor(ctx, WT_F32, 4, s1, &r), rand_tensor(ctx, dts[d], 3, s2, &r),
                     "a [2,1,3,5] x b [4,5,7]");
        int64_t s3[2] = {3, 5}, s4[3] = {2, 5, 4};
        check_matmul(ctx, rand_tensor(ctx, WT_F32, 2, s3, &r), rand_tensor(ctx, dts[d], 3, s4, &r),
                     "a [3,5] x b [2,5,4]");
        /* b shared by every batch: folded into one product */
        int64_t s5[3] = {2, 6, 5}, s6[2] = {5, 4};
        check_matmul(ctx, rand_tensor(ctx, WT_F32, 3, s5, &r), rand_tensor(ctx, dts[d], 2, s6, &r),
                     "a [2,6,5] x b [5,4]");
        /* batch of transposed b (attention's q k^T) */
        int64_t q[3] = {3, 4, 8}, kk[3] = {3, 9, 8};
        wt_tensor *kt = wt_transpose(ctx, rand_tensor(ctx, dts[d], 3, kk, &r), -1, -2);
        check_matmul(ctx, rand_tensor(ctx, WT_F32, 3, q, &r), kt, "q [3,4,8] x k^T [3,8,9]");
        /* a narrowed along the batch rows: rows not foldable */
        int64_t s7[3] = {2, 9, 5};
        wt_tensor *an = wt_narrow(ctx, rand_tensor(ctx, WT_F32, 3, s7, &r), 1, 2, 6);
        check_matmul(ctx, an, rand_tensor(ctx, dts[d], 2, s6, &r), "narrowed a [2,6,5] x b [5,4]");
        wt_ctx_reset(ctx);
    }
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_matmul_strided) {
    static const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16};
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 14);
    for (int d = 0; d < 3; d++) {
        /* non-unit strides on both axes: [M, K, 2] with the last dim narrowed */
        int64_t sa[3] = {7, 9, 2}, sb[3] = {9, 6, 3};
        wt_tensor *a = wt_squeeze(ctx, wt_narrow(ctx, rand_tensor(ctx, WT_F32, 3, sa, &r), 2, 1, 1), 2);
        wt_tensor *b = wt_squeeze(ctx, wt_narrow(ctx, rand_tensor(ctx, dts[d], 3, sb, &r), 2, 2, 1), 2);
        check_matmul(ctx, a, b, "both operands with non-unit strides");
        int64_t sa2[2] = {7, 9};
        check_matmul(ctx, rand_tensor(ctx, WT_F32, 2, sa2, &r), b, "b with non-unit strides");
        /* stride-0 rows: b broadcast from [1, 6] */
        int64_t s1[2] = {1, 6}, s2[2] = {9, 6};
        wt_tensor *bb = wt_broadcast_to(ctx, rand_tensor(ctx, dts[d], 2, s1, &r), 2, s2);
        check_matmul(ctx, rand_tensor(ctx, WT_F32, 2, sa2, &r), bb, "b with stride-0 rows");
        wt_tensor *ab = wt_broadcast_to(ctx, rand_tensor(ctx, WT_F32, 2, (int64_t[]){1, 9}, &r), 2,
                                        sa2);
        check_matmul(ctx, ab, rand_tensor(ctx, dts[d], 2, s2, &r), "a with stride-0 rows");
        wt_ctx_reset(ctx);
    }
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_matmul_empty) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 15);
    /* K = 0: every output is an empty sum */
    int64_t sa[2] = {3, 0}, sb[2] = {0, 4};
    wt_tensor *y = wt_matmul(ctx, rand_tensor(ctx, WT_F32, 2, sa, &r), rand_tensor(ctx, WT_BF16, 2, sb, &r));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->shape[0], 3);
    ck_assert_int_eq(y->shape[1], 4);
    for (int i = 0; i < 12; i++) ck_assert_double_eq(wt_get_flat(y, i), 0.0);
    wt_tensor *y2 = wt_matmul(ctx, rand_tensor(ctx, WT_F32, 2, sa, &r), rand_tensor(ctx, WT_F32, 2, sb, &r));
    ck_assert_ptr_nonnull(y2);
    for (int i = 0; i < 12; i++) ck_assert_double_eq(wt_get_flat(y2, i), 0.0);
    /* M = 0, N = 0, batch 0 */
    int64_t s0[2] = {0, 5}, s1[2] = {5, 4}, s2[2] = {5, 0}, s3[3] = {0, 2, 5};
    y = wt_matmul(ctx, rand_tensor(ctx, WT_F32, 2, s0, &r), rand_tensor(ctx, WT_F32, 2, s1, &r));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(wt_numel(y), 0);
    y = wt_matmul(ctx, rand_tensor(ctx, WT_F32, 2, s1 + 0, &r) /* [5,4] */,
                  rand_tensor(ctx, WT_F32, 2, (int64_t[]){4, 0}, &r));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->shape[1], 0);
    y = wt_matmul(ctx, rand_tensor(ctx, WT_F32, 3, s3, &r), rand_tensor(ctx, WT_F16, 2, s1, &r));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->shape[0], 0);
    (void)s2;
    wt_ctx_free(ctx);
}
END_TEST

/* ---- linear ---- */

static void check_linear(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, const wt_tensor *bias,
                         const char *what) {
    int64_t K = w->shape[1], N = w->shape[0], rows = wt_numel(x) / (K ? K : 1);
    double *want = calloc((size_t)(rows * N) + 1, sizeof *want);
    for (int64_t m = 0; m < rows; m++)
        for (int64_t n = 0; n < N; n++) {
            double s = bias ? wt_get_flat(bias, n) : 0.0;
            for (int64_t k = 0; k < K; k++) s += wt_get_flat(x, m * K + k) * wt_get_flat(w, n * K + k);
            want[m * N + n] = s;
        }
    wt_tensor *y = wt_linear(ctx, x, w, bias);
    ck_assert_msg(y != NULL, "%s: %s", what, wt_ctx_error(ctx));
    ck_assert_int_eq(y->ndim, x->ndim);
    for (int i = 0; i < x->ndim - 1; i++) ck_assert_int_eq(y->shape[i], x->shape[i]);
    ck_assert_int_eq(y->shape[y->ndim - 1], N);
    double e = rel_err(y, want, rows * N);
    free(want);
    ck_assert_msg(e <= REL_TOL, "%s: relative error %g", what, e);
}

START_TEST(test_linear) {
    static const wt_dtype dts[] = {WT_F32, WT_F16, WT_BF16};
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 16);
    for (int d = 0; d < 3; d++) {
        int64_t sx[3] = {2, 3, 33}, sw[2] = {17, 33}, sb[1] = {17}, sx1[1] = {33};
        wt_tensor *w = rand_tensor(ctx, dts[d], 2, sw, &r);
        wt_tensor *b = rand_tensor(ctx, WT_F32, 1, sb, &r);
        check_linear(ctx, rand_tensor(ctx, WT_F32, 3, sx, &r), w, NULL, "linear [2,3,33] no bias");
        check_linear(ctx, rand_tensor(ctx, WT_F32, 3, sx, &r), w, b, "linear [2,3,33] with bias");
        check_linear(ctx, rand_tensor(ctx, WT_F32, 1, sx1, &r), w, b, "linear [33] with bias");
        check_linear(ctx, rand_tensor(ctx, WT_F32, 1, sx1, &r), w, NULL, "linear [33]");
        wt_ctx_reset(ctx);
    }
    wt_ctx_free(ctx);
}
END_TEST

/* ---- conv1d ---- */

static void check_conv1d(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, const wt_tensor *bias,
                         int stride, int pl, int pr, int dil, int groups, const char *what) {
    int64_t B = x->shape[0], Cin = x->shape[1], T = x->shape[2];
    int64_t Cout = w->shape[0], K = w->shape[2], cin_g = Cin / groups, cout_g = Cout / groups;
    int64_t To = (T + pl + pr - dil * (K - 1) - 1) / stride + 1;
    double *want = calloc((size_t)(B * Cout * To) + 1, sizeof *want);
    for (int64_t b = 0; b < B; b++)
        for (int64_t oc = 0; oc < Cout; oc++)
            for (int64_t t = 0; t < To; t++) {
                double s = bias ? wt_get_flat(bias, oc) : 0.0;
                int64_t g = oc / cout_g;
                for (int64_t icl = 0; icl < cin_g; icl++)
                    for (int64_t k = 0; k < K; k++) {
                        int64_t i = t * stride + k * dil - pl;
                        if (i < 0 || i >= T) continue;
                        int64_t xi[3] = {b, g * cin_g + icl, i}, wi[3] = {oc, icl, k};
                        s += wt_test_operand(at(x, xi), w->dtype) * at(w, wi);
                    }
                want[(b * Cout + oc) * To + t] = s;
            }
    wt_tensor *y = wt_conv1d(ctx, x, w, bias, stride, pl, pr, dil, groups);
    ck_assert_msg(y != NULL, "%s: %s", what, wt_ctx_error(ctx));
    ck_assert_int_eq(y->shape[0], B);
    ck_assert_int_eq(y->shape[1], Cout);
    ck_assert_int_eq(y->shape[2], To);
    double e = rel_err(y, want, B * Cout * To);
    free(want);
    ck_assert_msg(e <= REL_TOL, "%s: relative error %g", what, e);
}

static void conv1d_case(wt_ctx *ctx, wt_test_rng *r, int64_t B, int64_t Cin, int64_t Cout, int64_t T,
                        int64_t K, int stride, int pl, int pr, int dil, int groups, int x_tr,
                        int with_bias) {
    wt_tensor *x;
    if (x_tr) { /* [B, T, C] storage viewed as [B, C, T] */
        int64_t s[3] = {B, T, Cin};
        x = wt_transpose(ctx, rand_tensor(ctx, WT_F32, 3, s, r), 1, 2);
    } else {
        int64_t s[3] = {B, Cin, T};
        x = rand_tensor(ctx, WT_F32, 3, s, r);
    }
    int64_t sw[3] = {Cout, Cin / groups, K}, sb[1] = {Cout};
    wt_tensor *w = rand_tensor(ctx, WT_F32, 3, sw, r);
    wt_tensor *b = with_bias ? rand_tensor(ctx, WT_F32, 1, sb, r) : NULL;
    char what[160];
    snprintf(what, sizeof what, "conv1d B%lld Cin%lld Cout%lld T%lld K%lld s%d p%d,%d d%d g%d tr%d",
             (long long)B, (long long)Cin, (long long)Cout, (long long)T, (long long)K, stride, pl,
             pr, dil, groups, x_tr);
    check_conv1d(ctx, x, w, b, stride, pl, pr, dil, groups, what);
}

START_TEST(test_conv1d_params) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 17);
    static const int64_t ks[] = {1, 2, 3, 7, 8};
    for (int stride = 1; stride <= 5; stride++)
        for (int dil = 1; dil <= 3; dil++)
            for (int ik = 0; ik < 5; ik++) {
                int64_t K = ks[ik];
                int pl = (stride + dil + ik) % 4, pr = (stride * 2 + ik) % 3;
                conv1d_case(ctx, &r, 2, 4, 6, 29, K, stride, pl, pr, dil, 1, 0, ik & 1);
                conv1d_case(ctx, &r, 1, 4, 6, 31, K, stride, pr, pl, dil, 2, (ik + stride) & 1, 1);
                conv1d_case(ctx, &r, 1, 5, 5, 30, K, stride, pl, pl, dil, 5, 0, ik & 1); /* depthwise */
                conv1d_case(ctx, &r, 1, 3, 6, 30, K, stride, pl, 0, dil, 3, 0, 1); /* depth multiplier 2 */
                conv1d_case(ctx, &r, 1, 8, 8, 40, K, stride, pr, pl, dil, 1, ik & 1, 1); /* GEMM path */
                wt_ctx_reset(ctx);
            }
    wt_ctx_free(ctx);
}
END_TEST

/* Lengths that cross the time tiles, oc blocks with remainders, 1x1 GEMM
 * (plain, grouped, on a transposed input) and the threaded split. */
START_TEST(test_conv1d_shapes) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 18);
    for (int threads = 1; threads <= 2; threads++) {
        wt_ctx_set_threads(ctx, threads);
        conv1d_case(ctx, &r, 2, 8, 9, 600, 7, 1, 6, 0, 1, 1, 0, 1);
        conv1d_case(ctx, &r, 1, 8, 9, 600, 3, 1, 1, 1, 2, 1, 1, 1);
        conv1d_case(ctx, &r, 1, 6, 10, 601, 8, 4, 4, 0, 1, 1, 0, 1);
        conv1d_case(ctx, &r, 2, 6, 10, 300, 1, 1, 0, 0, 1, 1, 0, 1); /* 1x1: GEMM */
        conv1d_case(ctx, &r, 2, 6, 10, 300, 1, 1, 0, 0, 1, 2, 0, 0);
        conv1d_case(ctx, &r, 2, 6, 10, 300, 1, 1, 0, 0, 1, 1, 1, 1);
        conv1d_case(ctx, &r, 1, 6, 10, 300, 1, 1, 2, 1, 1, 1, 0, 1); /* 1x1 with padding */
        conv1d_case(ctx, &r, 1, 6, 10, 300, 1, 2, 0, 0, 1, 1, 0, 1); /* 1x1 strided */
        conv1d_case(ctx, &r, 1, 3, 2, 7, 7, 1, 0, 0, 1, 1, 0, 1);    /* one output */
        /* the tiled GEMM path: gathered strided input, groups, channel blocks > 64 */
        conv1d_case(ctx, &r, 2, 16, 12, 300, 8, 4, 4, 3, 1, 1, 0, 1);
        conv1d_case(ctx, &r, 1, 16, 16, 301, 3, 1, 2, 2, 3, 2, 0, 1);
        conv1d_case(ctx, &r, 1, 70, 66, 260, 2, 2, 1, 0, 2, 1, 1, 1);
        conv1d_case(ctx, &r, 1, 70, 66, 40, 3, 1, 2, 0, 1, 1, 0, 0);
        if (threads > 1) { /* big enough to be split over threads */
            conv1d_case(ctx, &r, 1, 16, 16, 4200, 8, 1, 7, 0, 1, 1, 0, 1);
            conv1d_case(ctx, &r, 1, 8, 8, 40000, 7, 1, 3, 3, 1, 2, 0, 1);
        }
        wt_ctx_reset(ctx);
    }
    /* unbatched [C, T] input gives a [Cout, To] result */
    int64_t sx[2] = {4, 20}, sw[3] = {3, 4, 3};
    wt_tensor *x2 = rand_tensor(ctx, WT_F32, 2, sx, &r);
    wt_tensor *w = rand_tensor(ctx, WT_F32, 3, sw, &r);
    wt_tensor *y2 = wt_conv1d(ctx, x2, w, NULL, 1, 1, 1, 1, 1);
    wt_tensor *y3 = wt_conv1d(ctx, wt_unsqueeze(ctx, x2, 0), w, NULL, 1, 1, 1, 1, 1);
    ck_assert_ptr_nonnull(y2);
    ck_assert_ptr_nonnull(y3);
    ck_assert_int_eq(y2->ndim, 2);
    ck_assert_int_eq(y2->shape[1], 20);
    for (int i = 0; i < 60; i++) ck_assert_double_eq(wt_get_flat(y2, i), wt_get_flat(y3, i));
    /* narrowed input (time window of a longer buffer) */
    int64_t sl[3] = {1, 4, 50};
    wt_tensor *xl = wt_narrow(ctx, rand_tensor(ctx, WT_F32, 3, sl, &r), 2, 7, 30);
    check_conv1d(ctx, xl, w, NULL, 2, 1, 0, 2, 1, "conv1d on a narrowed input");
    wt_ctx_free(ctx);
}
END_TEST

/* ---- conv_transpose1d ---- */

static void check_convtr(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *w, const wt_tensor *bias,
                         int stride, int pad, int opad, int dil, int groups, const char *what) {
    int64_t B = x->shape[0], Cin = x->shape[1], T = x->shape[2], K = w->shape[2];
    int64_t cin_g = Cin / groups, cout_g = w->shape[1], Cout = cout_g * groups;
    int64_t To = (T - 1) * stride - 2 * pad + dil * (K - 1) + opad + 1;
    double *want = calloc((size_t)(B * Cout * To) + 1, sizeof *want);
    for (int64_t b = 0; b < B; b++)
        for (int64_t oc = 0; oc < Cout; oc++)
            for (int64_t o = 0; o < To; o++) want[(b * Cout + oc) * To + o] = bias ? wt_get_flat(bias, oc) : 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t ic = 0; ic < Cin; ic++)
            for (int64_t ocl = 0; ocl < cout_g; ocl++)
                for (int64_t k = 0; k < K; k++)
                    for (int64_t t = 0; t < T; t++) {
                        int64_t o = t * stride - pad + k * dil, oc = (ic / cin_g) * cout_g + ocl;
                        if (o < 0 || o >= To) continue;
                        int64_t xi[3] = {b, ic, t}, wi[3] = {ic, ocl, k};
                        want[(b * Cout + oc) * To + o] += wt_test_operand(at(x, xi), w->dtype) * at(w, wi);
                    }
    wt_tensor *y = wt_conv_transpose1d(ctx, x, w, bias, stride, pad, opad, dil, groups);
    ck_assert_msg(y != NULL, "%s: %s", what, wt_ctx_error(ctx));
    ck_assert_int_eq(y->shape[1], Cout);
    ck_assert_int_eq(y->shape[2], To);
    double e = rel_err(y, want, B * Cout * To);
    free(want);
    ck_assert_msg(e <= REL_TOL, "%s: relative error %g", what, e);
}

START_TEST(test_conv_transpose1d) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 19);
    static const int64_t ks[] = {1, 2, 3, 4, 8};
    for (int stride = 1; stride <= 5; stride++)
        for (int dil = 1; dil <= 3; dil++)
            for (int ik = 0; ik < 5; ik++)
                for (int g = 0; g < 3; g++) {
                    int64_t K = ks[ik], Cin = g == 2 ? 4 : 4, cout_g = g == 2 ? 1 : 3;
                    int groups = g == 0 ? 1 : g == 1 ? 2 : 4;
                    int opad = (stride > 1 || dil > 1) ? (ik + dil) % (stride > dil ? stride : dil) : 0;
                    int pad = (int)((stride + ik) % 3);
                    int64_t To = (13 - 1) * stride - 2 * pad + dil * (K - 1) + opad + 1;
                    if (To < 1) continue;
                    int tr = (ik + g) & 1;
                    wt_tensor *x;
                    if (tr) {
                        int64_t s[3] = {2, 13, Cin};
                        x = wt_transpose(ctx, rand_tensor(ctx, WT_F32, 3, s, &r), 1, 2);
                    } else {
                        int64_t s[3] = {2, Cin, 13};
                        x = rand_tensor(ctx, WT_F32, 3, s, &r);
                    }
                    int64_t sw[3] = {Cin, cout_g, K}, sb[1] = {cout_g * groups};
                    wt_tensor *w = rand_tensor(ctx, WT_F32, 3, sw, &r);
                    wt_tensor *b = (ik & 1) ? rand_tensor(ctx, WT_F32, 1, sb, &r) : NULL;
                    char what[128];
                    snprintf(what, sizeof what, "convtr K%lld s%d p%d op%d d%d g%d tr%d", (long long)K,
                             stride, pad, opad, dil, groups, tr);
                    check_convtr(ctx, x, w, b, stride, pad, opad, dil, groups, what);
                    wt_ctx_reset(ctx);
                }
    /* the GEMM path (>= 8 channels per group on both sides): every stride and
     * dilation, groups, transposed inputs, tiles and channel blocks */
    for (int stride = 1; stride <= 5; stride++)
        for (int dil = 1; dil <= 3; dil++) {
            int K = 2 + (stride + dil) % 4, pad = (stride + dil) % 3;
            int opad = (stride > 1 || dil > 1) ? (stride + 2 * dil) % (stride > dil ? stride : dil) : 0;
            int groups = 1 + (stride + dil) % 2, tr = dil & 1;
            int64_t Cin = 8 * groups;
            wt_tensor *x;
            if (tr) {
                x = wt_transpose(ctx, rand_tensor(ctx, WT_F32, 3, (int64_t[]){2, 21, Cin}, &r), 1, 2);
            } else {
                x = rand_tensor(ctx, WT_F32, 3, (int64_t[]){2, Cin, 21}, &r);
            }
            wt_tensor *w = rand_tensor(ctx, WT_F32, 3, (int64_t[]){Cin, 9, K}, &r);
            wt_tensor *b = rand_tensor(ctx, WT_F32, 1, (int64_t[]){9 * groups}, &r);
            char what[128];
            snprintf(what, sizeof what, "convtr gemm K%d s%d p%d op%d d%d g%d tr%d", K, stride, pad, opad,
                     dil, groups, tr);
            check_convtr(ctx, x, w, b, stride, pad, opad, dil, groups, what);
            wt_ctx_reset(ctx);
        }
    check_convtr(ctx, rand_tensor(ctx, WT_F32, 3, (int64_t[]){1, 70, 300}, &r),
                 rand_tensor(ctx, WT_F32, 3, (int64_t[]){70, 66, 4}, &r), NULL, 2, 1, 1, 1, 1,
                 "convtr gemm 70->66 T300 k4 s2");
    check_convtr(ctx, wt_transpose(ctx, rand_tensor(ctx, WT_F32, 3, (int64_t[]){1, 300, 70}, &r), 1, 2),
                 rand_tensor(ctx, WT_F32, 3, (int64_t[]){70, 66, 3}, &r), NULL, 1, 1, 0, 1, 1,
                 "convtr gemm transposed 70->66 T300 k3 s1");
    wt_ctx_reset(ctx);
    /* Demucs-like decoder layer and a longer input */
    int64_t sx[3] = {1, 8, 300}, sw[3] = {8, 4, 8}, sb[1] = {4};
    check_convtr(ctx, rand_tensor(ctx, WT_F32, 3, sx, &r), rand_tensor(ctx, WT_F32, 3, sw, &r),
                 rand_tensor(ctx, WT_F32, 1, sb, &r), 4, 0, 0, 1, 1, "convtr k8 s4");
    wt_ctx_free(ctx);
}
END_TEST

/* ---- errors ---- */

static int error_names(wt_ctx *ctx, const char *s1, const char *s2) {
    const char *e = wt_ctx_error(ctx);
    return strstr(e, s1) != NULL && (s2 == NULL || strstr(e, s2) != NULL);
}

START_TEST(test_errors) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 20);
    int64_t s23[2] = {2, 3}, s45[2] = {4, 5}, s3[1] = {3};
    wt_tensor *a = rand_tensor(ctx, WT_F32, 2, s23, &r), *b = rand_tensor(ctx, WT_F32, 2, s45, &r);
    ck_assert_ptr_null(wt_matmul(ctx, a, b));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    ck_assert_msg(error_names(ctx, "[2, 3]", "[4, 5]"), "%s", wt_ctx_error(ctx));
    /* sticky: a valid op after the failure returns NULL too */
    int64_t s34[2] = {3, 4};
    wt_tensor *ok = wt_tensor_new(ctx, WT_F32, 2, s34);
    ck_assert_ptr_null(ok);
    wt_ctx_clear_error(ctx);
    ok = rand_tensor(ctx, WT_F32, 2, s34, &r);
    ck_assert_ptr_null(wt_matmul(ctx, a, wt_matmul(ctx, b, b))); /* NULL input propagates */
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_matmul(ctx, NULL, ok));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_clear_error(ctx);
    /* batch dims that do not broadcast */
    int64_t sb1[3] = {2, 2, 3}, sb2[3] = {3, 3, 4};
    ck_assert_ptr_null(wt_matmul(ctx, rand_tensor(ctx, WT_F32, 3, sb1, &r), rand_tensor(ctx, WT_F32, 3, sb2, &r)));
    ck_assert_msg(error_names(ctx, "[2, 2, 3]", "[3, 3, 4]"), "%s", wt_ctx_error(ctx));
    wt_ctx_clear_error(ctx);
    /* 1-D operands, integer dtypes */
    ck_assert_ptr_null(wt_matmul(ctx, rand_tensor(ctx, WT_F32, 1, s3, &r), ok));
    wt_ctx_clear_error(ctx);
    wt_tensor *ai = wt_tensor_new(ctx, WT_I64, 2, s23);
    ck_assert_ptr_null(wt_matmul(ctx, ai, ok));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_matmul(ctx, a, wt_tensor_new(ctx, WT_U8, 2, s34)));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_matmul(ctx, wt_to_dtype(ctx, a, WT_F16), ok));
    wt_ctx_clear_error(ctx);
    /* linear: K mismatch and wrong bias */
    int64_t sw[2] = {5, 4}, sbias[1] = {4};
    ck_assert_ptr_null(wt_linear(ctx, a, rand_tensor(ctx, WT_F32, 2, sw, &r), NULL));
    ck_assert_msg(error_names(ctx, "[2, 3]", "[5, 4]"), "%s", wt_ctx_error(ctx));
    wt_ctx_clear_error(ctx);
    int64_t sw3[2] = {5, 3};
    ck_assert_ptr_null(wt_linear(ctx, a, rand_tensor(ctx, WT_F32, 2, sw3, &r), rand_tensor(ctx, WT_F32, 1, sbias, &r)));
    ck_assert_msg(error_names(ctx, "[5, 3]", "[4]"), "%s", wt_ctx_error(ctx));
    wt_ctx_clear_error(ctx);
    /* conv1d: channel mismatch, groups, too short, bad parameters */
    int64_t sx[3] = {1, 4, 10}, swc[3] = {6, 3, 3}, swg[3] = {6, 2, 3}, swk[3] = {6, 4, 9};
    wt_tensor *x = rand_tensor(ctx, WT_F32, 3, sx, &r);
    ck_assert_ptr_null(wt_conv1d(ctx, x, rand_tensor(ctx, WT_F32, 3, swc, &r), NULL, 1, 0, 0, 1, 1));
    ck_assert_msg(error_names(ctx, "[1, 4, 10]", "[6, 3, 3]"), "%s", wt_ctx_error(ctx));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_conv1d(ctx, x, rand_tensor(ctx, WT_F32, 3, swg, &r), NULL, 1, 0, 0, 1, 3));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_nonnull(wt_conv1d(ctx, x, rand_tensor(ctx, WT_F32, 3, swg, &r), NULL, 1, 0, 0, 1, 2));
    ck_assert_ptr_null(wt_conv1d(ctx, x, rand_tensor(ctx, WT_F32, 3, swk, &r), NULL, 1, 0, 0, 2, 1));
    ck_assert_msg(error_names(ctx, "[1, 4, 10]", "[6, 4, 9]"), "%s", wt_ctx_error(ctx));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_conv1d(ctx, x, rand_tensor(ctx, WT_F32, 3, swc, &r), NULL, 0, 0, 0, 1, 1));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_conv1d(ctx, x, rand_tensor(ctx, WT_F32, 3, swk, &r), NULL, 1, -1, 0, 1, 1));
    wt_ctx_clear_error(ctx);
    int64_t sbad[1] = {5};
    ck_assert_ptr_null(wt_conv1d(ctx, x, rand_tensor(ctx, WT_F32, 3, (int64_t[]){6, 4, 3}, &r),
                                 rand_tensor(ctx, WT_F32, 1, sbad, &r), 1, 0, 0, 1, 1));
    ck_assert_msg(error_names(ctx, "[5]", NULL), "%s", wt_ctx_error(ctx));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_conv1d(ctx, x, wt_tensor_new(ctx, WT_I64, 3, (int64_t[]){6, 4, 3}), NULL, 1, 0, 0, 1, 1));
    wt_ctx_clear_error(ctx);
    /* conv_transpose1d: w is [Cin, Cout/groups, K] */
    int64_t st[3] = {6, 2, 4};
    ck_assert_ptr_null(wt_conv_transpose1d(ctx, x, rand_tensor(ctx, WT_F32, 3, st, &r), NULL, 2, 0, 0, 1, 1));
    ck_assert_msg(error_names(ctx, "[1, 4, 10]", "[6, 2, 4]"), "%s", wt_ctx_error(ctx));
    wt_ctx_clear_error(ctx);
    int64_t st2[3] = {4, 2, 4};
    ck_assert_ptr_null(wt_conv_transpose1d(ctx, x, rand_tensor(ctx, WT_F32, 3, st2, &r), NULL, 2, 0, 2, 1, 1));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_conv_transpose1d(ctx, x, rand_tensor(ctx, WT_F32, 3, st2, &r), NULL, 1, 40, 0, 1, 1));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_nonnull(wt_conv_transpose1d(ctx, x, rand_tensor(ctx, WT_F32, 3, st2, &r), NULL, 2, 1, 1, 1, 2));
    wt_ctx_free(ctx);
}
END_TEST

/* ---- allocation-free on an arena ---- */

START_TEST(test_arena_no_alloc) {
    wt_ctx *plan = wt_ctx_new_heap(NULL);
    wt_test_rng r;
    wt_test_rng_seed(&r, 21);
    int64_t sx[2] = {1, 64}, sw[2] = {96, 64}, sc[3] = {1, 8, 40}, swc[3] = {8, 8, 3}, sw1[3] = {8, 8, 1};
    wt_ctx *wctx = wt_ctx_new_heap(NULL);
    wt_tensor *x = rand_tensor(wctx, WT_F32, 2, sx, &r), *w = rand_tensor(wctx, WT_BF16, 2, sw, &r);
    wt_tensor *wf = rand_tensor(wctx, WT_F32, 2, sw, &r);
    wt_tensor *xc = rand_tensor(wctx, WT_F32, 3, sc, &r), *wc = rand_tensor(wctx, WT_F32, 3, swc, &r);
    wt_tensor *w1 = rand_tensor(wctx, WT_F32, 3, sw1, &r), *wt2 = rand_tensor(wctx, WT_F32, 3, swc, &r);
    /* the dry run also warms up OpenBLAS's own buffers */
    for (int i = 0; i < 2; i++) {
        wt_ctx_reset(plan);
        ck_assert_ptr_nonnull(wt_linear(plan, x, w, NULL));
        ck_assert_ptr_nonnull(wt_matmul(plan, x, wt_transpose(plan, wf, 0, 1)));
        ck_assert_ptr_nonnull(wt_conv1d(plan, xc, wc, NULL, 1, 2, 0, 1, 1));
        ck_assert_ptr_nonnull(wt_conv1d(plan, xc, w1, NULL, 1, 0, 0, 1, 1));
        ck_assert_ptr_nonnull(wt_conv_transpose1d(plan, xc, wt2, NULL, 2, 0, 0, 1, 1));
    }
    wt_ctx *arena = wt_ctx_new_arena_like(plan);
    ck_assert_ptr_nonnull(arena);
    int failures = 0;
    uint64_t before = wt_test_alloc_calls();
    for (int step = 0; step < 20; step++) {
        wt_ctx_reset(arena);
        failures += wt_linear(arena, x, w, NULL) == NULL;
        failures += wt_matmul(arena, x, wt_transpose(arena, wf, 0, 1)) == NULL;
        failures += wt_conv1d(arena, xc, wc, NULL, 1, 2, 0, 1, 1) == NULL;
        failures += wt_conv1d(arena, xc, w1, NULL, 1, 0, 0, 1, 1) == NULL;
        failures += wt_conv_transpose1d(arena, xc, wt2, NULL, 2, 0, 0, 1, 1) == NULL;
    }
    uint64_t after = wt_test_alloc_calls();
    ck_assert_int_eq(failures, 0);
    ck_assert_uint_eq(after, before);
    wt_ctx_free(arena);
    wt_ctx_free(plan);
    wt_ctx_free(wctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ops_linalg");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_matmul_2d);
    tcase_add_test(tc, test_matmul_larger);
    tcase_add_test(tc, test_matmul_batch);
    tcase_add_test(tc, test_matmul_strided);
    tcase_add_test(tc, test_matmul_empty);
    tcase_add_test(tc, test_linear);
    tcase_add_test(tc, test_conv1d_params);
    tcase_add_test(tc, test_conv1d_shapes);
    tcase_add_test(tc, test_conv_transpose1d);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_arena_no_alloc);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
