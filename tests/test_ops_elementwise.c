/* Elementwise ops and reductions against double-precision reference loops
 * written here: every unary op, every binary op with broadcasting, affine,
 * every reduction over every dim; strided inputs, sizes 0 and 1, odd lengths,
 * extreme values, errors and an allocation-free arena replay. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "wt_test.h"

static double ref_unary(wt_unary_op op, double v, double a) {
    switch (op) {
    case WT_UNARY_EXP: return exp(v);
    case WT_UNARY_LOG: return log(v);
    case WT_UNARY_SIN: return sin(v);
    case WT_UNARY_COS: return cos(v);
    case WT_UNARY_SQRT: return sqrt(v);
    case WT_UNARY_RSQRT: return 1 / sqrt(v);
    case WT_UNARY_TANH: return tanh(v);
    case WT_UNARY_SIGMOID: return 1 / (1 + exp(-v));
    case WT_UNARY_RELU: return v > 0 ? v : 0;
    case WT_UNARY_ELU: return v > 0 ? v : a * expm1(v);
    case WT_UNARY_GELU_ERF: return 0.5 * v * (1 + erf(v / sqrt(2.0)));
    case WT_UNARY_GELU_TANH:
        return 0.5 * v * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
    case WT_UNARY_SILU: return v / (1 + exp(-v));
    case WT_UNARY_ABS: return fabs(v);
    case WT_UNARY_NEG: return -v;
    case WT_UNARY_SQR: return v * v;
    case WT_UNARY_RECIP: return 1 / v;
    default: return NAN;
    }
}

/* f32 result vs a double reference: a few f32 ulps of the reference, with an
 * absolute floor for results that cancel to near zero. Values that overflow
 * f32 must be inf with the right sign; NaN must be NaN. */
static bool close_f32(double got, double want, double rel, double abs_floor) {
    if (isnan(want)) return isnan(got);
    if (fabs(want) > FLT_MAX) return isinf(got) && (got > 0) == (want > 0);
    return fabs(got - want) <= rel * fabs(want) + abs_floor;
}

START_TEST(test_unary_all) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 21);
    for (int op = 0; op < WT_UNARY_COUNT; op++) {
        bool positive = op == WT_UNARY_LOG || op == WT_UNARY_SQRT || op == WT_UNARY_RSQRT ||
                        op == WT_UNARY_RECIP;
        /* contiguous [5, 37] and its transposed, narrowed view [30, 5] */
        wt_tensor *x = wt_tensor_new2(ctx, WT_F32, 5, 37);
        wt_test_fill_uniform(x, &rng, positive ? 0.01f : -6, positive ? 10 : 6);
        const wt_tensor *inputs[2] = {x, wt_narrow(ctx, wt_transpose(ctx, x, 0, 1), 0, 3, 30)};
        for (int k = 0; k < 2; k++) {
            const wt_tensor *in = inputs[k];
            wt_tensor *y = wt_unary(ctx, (wt_unary_op)op, in, 0.7f);
            ck_assert_ptr_nonnull(y);
            ck_assert(wt_same_shape(y, in));
            int64_t n = wt_numel(in);
            for (int64_t i = 0; i < n; i++) {
                double v = wt_get_flat(in, i), got = wt_get_flat(y, i);
                double want = ref_unary((wt_unary_op)op, v, 0.7);
                ck_assert_msg(close_f32(got, want, 4e-7, 1e-7), "op %d x=%.9g: %.9g, want %.9g", op,
                              v, got, want);
            }
        }
    }
    wt_ctx_free(ctx);
}
END_TEST

/* Values at the edges of f32: overflow to inf, underflow to 0, no NaN where
 * the math has a limit. */
START_TEST(test_unary_extremes) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    const float xs[] = {-1e4f, -100, -88.8f, -20, -1e-30f, 0, 1e-30f, 20, 88.8f, 100, 1e4f, INFINITY, -INFINITY};
    const int n = (int)(sizeof xs / sizeof xs[0]);
    wt_tensor *x = wt_tensor_new1(ctx, WT_F32, n);
    for (int i = 0; i < n; i++) wt_set_flat(x, i, xs[i]);
    const wt_unary_op ops[] = {WT_UNARY_EXP, WT_UNARY_TANH, WT_UNARY_SIGMOID, WT_UNARY_SILU,
                               WT_UNARY_GELU_ERF, WT_UNARY_GELU_TANH, WT_UNARY_ELU, WT_UNARY_RELU};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        wt_tensor *y = wt_unary(ctx, ops[k], x, 1.0f);
        for (int i = 0; i < n; i++) {
            double got = wt_get_flat(y, i), want = ref_unary(ops[k], xs[i], 1.0);
            /* silu(-inf) and gelu(-inf) are -inf * 0: NaN as in PyTorch */
            ck_assert_msg(!isnan(got) || isnan(want), "op %d x=%g gave nan", (int)ops[k], xs[i]);
            if (isnan(got)) continue;
            ck_assert_msg(close_f32(got, want, 4e-7, 1e-30), "op %d x=%g: %.9g, want %.9g",
                          (int)ops[k], xs[i], got, want);
        }
    }
    wt_ctx_free(ctx);
}
END_TEST

/* The polynomial activations over magnitudes from 1e-8 to 30, both signs,
 * relative to double libm with no absolute floor: near 0, where ELU and
 * tanh go through expm1 of a tiny argument, a truncated or cancelling
 * polynomial shows here and not in a uniform draw. */
START_TEST(test_unary_sweep_relative) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    enum { N = 4001 };
    wt_tensor *x = wt_tensor_new1(ctx, WT_F32, 2 * N);
    for (int i = 0; i < N; i++) {
        float m = (float)pow(10.0, -8.0 + 9.5 * i / (N - 1)); /* 1e-8 .. ~31.6 */
        wt_set_flat(x, 2 * i, m);
        wt_set_flat(x, 2 * i + 1, -m);
    }
    const wt_unary_op ops[] = {WT_UNARY_EXP, WT_UNARY_TANH, WT_UNARY_SIGMOID, WT_UNARY_ELU};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        wt_tensor *y = wt_unary(ctx, ops[k], x, 1.0f);
        double worst = 0;
        for (int64_t i = 0; i < 2 * N; i++) {
            double v = wt_get_flat(x, i), got = wt_get_flat(y, i), want = ref_unary(ops[k], v, 1.0);
            double e = fabs(got - want) / fabs(want);
            if (e > worst) worst = e;
            ck_assert_msg(e <= 3e-7, "op %d x=%.9g: %.9g, want %.9g (rel %.2g)", (int)ops[k], v, got,
                          want, e);
        }
        ck_assert(worst > 0); /* the comparison saw rounding: it ran on real values */
    }
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_unary_inplace_and_errors) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_tensor *x = wt_tensor_new2(ctx, WT_F32, 4, 6);
    for (int64_t i = 0; i < 24; i++) wt_set_flat(x, i, (double)i - 12);
    wt_tensor *v = wt_narrow(ctx, wt_transpose(ctx, x, 0, 1), 0, 1, 3); /* columns 1..3 */
    ck_assert_ptr_eq(wt_unary_(ctx, WT_UNARY_SQR, v, 0), v);
    for (int64_t r = 0; r < 4; r++)
        for (int64_t c = 0; c < 6; c++) {
            double o = (double)(r * 6 + c) - 12;
            ck_assert_double_eq(wt_get_flat(x, r * 6 + c), (c >= 1 && c <= 3) ? o * o : o);
        }
    /* empty and scalar */
    wt_tensor *e = wt_tensor_new2(ctx, WT_F32, 0, 5);
    ck_assert_ptr_nonnull(wt_unary(ctx, WT_UNARY_EXP, e, 0));
    wt_tensor *s = wt_tensor_new(ctx, WT_F32, 0, (const int64_t[]){1});
    wt_set_flat(s, 0, 2);
    ck_assert_double_eq(wt_get_flat(wt_unary(ctx, WT_UNARY_NEG, s, 0), 0), -2);
    /* f16 input is rejected */
    wt_tensor *h = wt_tensor_new1(ctx, WT_F16, 3);
    ck_assert_ptr_null(wt_unary(ctx, WT_UNARY_EXP, h, 0));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "f16"));
    /* sticky: the next valid op returns NULL */
    ck_assert_ptr_null(wt_unary(ctx, WT_UNARY_EXP, x, 0));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_unary(ctx, WT_UNARY_COUNT, x, 0));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_free(ctx);
}
END_TEST

static double ref_binary(wt_binary_op op, double u, double v) {
    switch (op) {
    case WT_BINARY_ADD: return u + v;
    case WT_BINARY_SUB: return u - v;
    case WT_BINARY_MUL: return u * v;
    case WT_BINARY_DIV: return u / v;
    case WT_BINARY_MAX: return u > v ? u : v;
    case WT_BINARY_MIN: return u < v ? u : v;
    default: return NAN;
    }
}

/* Flat index of `i` in a result of shape (nd, shape) mapped to an operand
 * of shape t (right-aligned, size-1 dims broadcast). */
static int64_t bcast_index(const wt_tensor *t, int nd, const int64_t *shape, int64_t i) {
    int64_t idx[WT_MAX_DIMS] = {0};
    for (int d = nd - 1; d >= 0; d--) {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    int64_t f = 0;
    for (int d = 0; d < t->ndim; d++) {
        int od = d + nd - t->ndim;
        f = f * t->shape[d] + (t->shape[d] == 1 || od < 0 ? 0 : idx[od]);
    }
    return f;
}

static void check_binary(wt_ctx *ctx, wt_binary_op op, const wt_tensor *a, const wt_tensor *b,
                         int nd, const int64_t *shape) {
    wt_tensor *y = wt_binary(ctx, op, a, b);
    ck_assert_msg(y != NULL, "binary %d: %s", (int)op, wt_ctx_error(ctx));
    ck_assert_int_eq(y->ndim, nd);
    for (int d = 0; d < nd; d++) ck_assert_int_eq(y->shape[d], shape[d]);
    int64_t n = wt_numel(y);
    for (int64_t i = 0; i < n; i++) {
        float u = (float)wt_get_flat(a, bcast_index(a, nd, shape, i));
        float v = (float)wt_get_flat(b, bcast_index(b, nd, shape, i));
        float want = (float)ref_binary(op, u, v); /* one f32 rounding, as the op */
        ck_assert_msg(wt_get_flat(y, i) == want, "op %d at %lld: %g vs %g", (int)op, (long long)i,
                      wt_get_flat(y, i), (double)want);
    }
}

START_TEST(test_binary_broadcast) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 8);
    wt_tensor *a = wt_tensor_new3(ctx, WT_F32, 2, 3, 37);
    wt_tensor *b31 = wt_tensor_new2(ctx, WT_F32, 3, 1);
    wt_tensor *c37 = wt_tensor_new1(ctx, WT_F32, 37);
    wt_tensor *d = wt_tensor_new3(ctx, WT_F32, 2, 1, 37);
    wt_tensor *traw = wt_tensor_new3(ctx, WT_F32, 2, 37, 3);
    wt_tensor *t = wt_transpose(ctx, traw, 1, 2); /* [2, 3, 37] strided */
    wt_tensor *s = wt_tensor_new(ctx, WT_F32, 0, (const int64_t[]){1});
    wt_tensor *e = wt_tensor_new2(ctx, WT_F32, 0, 37);
    wt_tensor *tensors[] = {a, b31, c37, d, traw, s};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
        wt_test_fill_uniform(tensors[i], &rng, 0.5f, 3);
    for (int op = 0; op < WT_BINARY_COUNT; op++) {
        int64_t s3[3] = {2, 3, 37}, s2[2] = {0, 37};
        check_binary(ctx, op, a, b31, 3, s3);
        check_binary(ctx, op, b31, a, 3, s3);
        check_binary(ctx, op, a, c37, 3, s3);
        check_binary(ctx, op, c37, d, 3, (int64_t[]){2, 1, 37});
        check_binary(ctx, op, b31, d, 3, s3);
        check_binary(ctx, op, t, a, 3, s3);
        check_binary(ctx, op, a, t, 3, s3);
        check_binary(ctx, op, s, t, 3, s3);
        check_binary(ctx, op, t, s, 3, s3);
        check_binary(ctx, op, e, c37, 2, s2);
        check_binary(ctx, op, s, s, 0, s3);
    }
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_binary_inplace_and_errors) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_tensor *a = wt_tensor_new2(ctx, WT_F32, 3, 5);
    wt_tensor *b = wt_tensor_new1(ctx, WT_F32, 5);
    for (int64_t i = 0; i < 15; i++) wt_set_flat(a, i, (double)i);
    for (int64_t i = 0; i < 5; i++) wt_set_flat(b, i, (double)(10 * i));
    ck_assert_ptr_eq(wt_add_(ctx, a, b), a);
    for (int64_t i = 0; i < 15; i++) ck_assert_double_eq(wt_get_flat(a, i), (double)(i + 10 * (i % 5)));
    ck_assert_ptr_eq(wt_mul_(ctx, a, b), a);
    for (int64_t i = 0; i < 15; i++)
        ck_assert_double_eq(wt_get_flat(a, i), (double)((i + 10 * (i % 5)) * 10 * (i % 5)));
    /* shorthands */
    wt_tensor *s = wt_sub(ctx, b, b), *m = wt_mul(ctx, b, b), *p = wt_add(ctx, b, b);
    for (int64_t i = 0; i < 5; i++) {
        ck_assert_double_eq(wt_get_flat(s, i), 0);
        ck_assert_double_eq(wt_get_flat(m, i), 100.0 * i * i);
        ck_assert_double_eq(wt_get_flat(p, i), 20.0 * i);
    }
    /* in place into a strided view, b broadcast along rows */
    wt_tensor *col = wt_tensor_new2(ctx, WT_F32, 5, 1);
    wt_fill_(ctx, col, 1);
    wt_tensor *at = wt_transpose(ctx, a, 0, 1); /* [5, 3] */
    wt_fill_(ctx, a, 2);
    ck_assert_ptr_nonnull(wt_binary_(ctx, WT_BINARY_SUB, at, col));
    for (int64_t i = 0; i < 15; i++) ck_assert_double_eq(wt_get_flat(a, i), 1);
    /* b must broadcast to a's shape, not the other way round */
    ck_assert_ptr_null(wt_add_(ctx, b, a));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_clear_error(ctx);
    /* shapes that do not broadcast: the message names both */
    wt_tensor *q = wt_tensor_new2(ctx, WT_F32, 4, 5);
    ck_assert_ptr_null(wt_add(ctx, a, q));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[3, 5]"));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[4, 5]"));
    ck_assert_ptr_null(wt_add(ctx, a, a)); /* sticky */
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_add(ctx, a, NULL));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_clear_error(ctx);
    wt_tensor *i64 = wt_tensor_new1(ctx, WT_I64, 5);
    ck_assert_ptr_null(wt_mul(ctx, b, i64));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "i64"));
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_affine) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 4);
    wt_tensor *x = wt_tensor_new2(ctx, WT_F32, 7, 9);
    wt_test_fill_uniform(x, &rng, -5, 5);
    wt_tensor *xt = wt_transpose(ctx, x, 0, 1);
    wt_tensor *y = wt_affine(ctx, xt, 1.5f, -0.25f);
    for (int64_t i = 0; i < 63; i++) {
        float want = (float)wt_get_flat(xt, i) * 1.5f + -0.25f;
        ck_assert(fabs(wt_get_flat(y, i) - want) <= 1e-6 * fabs(want) + 1e-7);
    }
    wt_tensor *c = wt_contiguous(ctx, x);
    ck_assert_ptr_eq(wt_affine_(ctx, xt, 2, 1), xt);
    for (int64_t i = 0; i < 63; i++)
        ck_assert(fabs(wt_get_flat(x, i) - (wt_get_flat(c, i) * 2 + 1)) <= 1e-6);
    wt_ctx_free(ctx);
}
END_TEST

/* Reference reduction of x along d at the result's flat index j (keepdim layout). */
static double ref_reduce(wt_reduce_op op, const wt_tensor *x, int d, int64_t j) {
    int64_t idx[WT_MAX_DIMS];
    for (int k = x->ndim - 1; k >= 0; k--) {
        int64_t n = k == d ? 1 : x->shape[k];
        idx[k] = j % n;
        j /= n;
    }
    double acc = 0, best = 0;
    int64_t at = 0;
    for (int64_t r = 0; r < x->shape[d]; r++) {
        idx[d] = r;
        int64_t f = 0;
        for (int k = 0; k < x->ndim; k++) f = f * x->shape[k] + idx[k];
        double v = wt_get_flat(x, f);
        acc += v;
        bool better = op == WT_REDUCE_MAX || op == WT_REDUCE_ARGMAX ? v > best : v < best;
        if (r == 0 || better) {
            best = v;
            at = r;
        }
    }
    switch (op) {
    case WT_REDUCE_SUM: return acc;
    case WT_REDUCE_MEAN: return acc / (double)x->shape[d];
    case WT_REDUCE_MAX:
    case WT_REDUCE_MIN: return best;
    default: return (double)at;
    }
}

START_TEST(test_reduce_all) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 13);
    wt_tensor *raw = wt_tensor_new3(ctx, WT_F32, 5, 33, 4);
    wt_test_fill_uniform(raw, &rng, -10, 10);
    /* coarse values so the arg ops meet ties */
    for (int64_t i = 0; i < 5 * 33 * 4; i++) wt_set_flat(raw, i, round(wt_get_flat(raw, i)));
    wt_tensor *xt = wt_permute(ctx, raw, (const int[]){2, 0, 1}); /* [4, 5, 33] strided */
    const wt_tensor *inputs[2] = {raw, xt};
    for (int k = 0; k < 2; k++) {
        const wt_tensor *x = inputs[k];
        for (int op = 0; op < WT_REDUCE_COUNT; op++) {
            for (int dim = -3; dim < 3; dim++) {
                int d = dim < 0 ? dim + 3 : dim;
                for (int keep = 0; keep < 2; keep++) {
                    wt_tensor *y = wt_reduce(ctx, op, x, dim, keep);
                    ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
                    ck_assert_int_eq(y->ndim, keep ? 3 : 2);
                    ck_assert_int_eq(y->dtype, op >= WT_REDUCE_ARGMAX ? WT_I64 : WT_F32);
                    if (keep) ck_assert_int_eq(y->shape[d], 1);
                    int64_t n = wt_numel(y);
                    ck_assert_int_eq(n, wt_numel(x) / x->shape[d]);
                    for (int64_t j = 0; j < n; j++) {
                        double want = ref_reduce(op, x, d, j), got = wt_get_flat(y, j);
                        ck_assert_msg(fabs(got - want) <= 1e-6 * fabs(want) + 1e-6,
                                      "op %d dim %d: %g vs %g", op, dim, got, want);
                    }
                }
            }
        }
    }
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_reduce_edges) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    /* first index among equal extremes */
    wt_tensor *x = wt_tensor_new1(ctx, WT_F32, 6);
    const double v[6] = {1, 5, 5, -2, -2, 5};
    for (int i = 0; i < 6; i++) wt_set_flat(x, i, v[i]);
    ck_assert_double_eq(wt_get_flat(wt_reduce(ctx, WT_REDUCE_ARGMAX, x, 0, false), 0), 1);
    ck_assert_double_eq(wt_get_flat(wt_reduce(ctx, WT_REDUCE_ARGMIN, x, -1, false), 0), 3);
    ck_assert_int_eq(wt_reduce(ctx, WT_REDUCE_ARGMAX, x, 0, false)->ndim, 0);
    /* a long row: sum accurate to f32 rounding of the exact sum */
    wt_tensor *l = wt_tensor_new2(ctx, WT_F32, 2, 100003);
    double exact = 0;
    for (int64_t i = 0; i < 100003; i++) {
        float f = (float)(0.1 + 1e-6 * (double)i);
        wt_set_flat(l, i, f);
        wt_set_flat(l, 100003 + i, 1);
        exact += f;
    }
    wt_tensor *ls = wt_reduce(ctx, WT_REDUCE_SUM, l, 1, false);
    ck_assert(fabs(wt_get_flat(ls, 0) - exact) <= 1e-7 * exact);
    ck_assert_double_eq(wt_get_flat(ls, 1), 100003);
    ck_assert_double_eq(wt_get_flat(wt_reduce(ctx, WT_REDUCE_MEAN, l, 0, true), 5), (float)((1 + (double)(float)(0.1 + 5e-6)) / 2));
    /* empty dimension: sum 0, mean NaN, max an error */
    wt_tensor *e = wt_tensor_new2(ctx, WT_F32, 3, 0);
    wt_tensor *es = wt_reduce(ctx, WT_REDUCE_SUM, e, 1, false);
    ck_assert_int_eq(es->shape[0], 3);
    ck_assert_double_eq(wt_get_flat(es, 2), 0);
    ck_assert(isnan(wt_get_flat(wt_reduce(ctx, WT_REDUCE_MEAN, e, 1, false), 0)));
    ck_assert_int_eq(wt_numel(wt_reduce(ctx, WT_REDUCE_MAX, e, 0, false)), 0); /* [0]: fine */
    ck_assert_ptr_null(wt_reduce(ctx, WT_REDUCE_MAX, e, 1, false));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_reduce(ctx, WT_REDUCE_SUM, e, 2, false));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[3, 0]"));
    wt_ctx_free(ctx);
}
END_TEST

static int ew_step(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *b);
/* u: the pair {x, b} */
static int ew_step_any(wt_ctx *ctx, const void *u) {
    const wt_tensor *const *xb = u;
    return ew_step(ctx, xb[0], xb[1]);
}

static int ew_step(wt_ctx *ctx, const wt_tensor *x, const wt_tensor *b) {
    wt_tensor *h = wt_unary(ctx, WT_UNARY_GELU_ERF, wt_transpose(ctx, x, 0, 1), 0);
    h = wt_add(ctx, h, b);
    wt_unary_(ctx, WT_UNARY_TANH, h, 0);
    wt_tensor *m = wt_reduce(ctx, WT_REDUCE_MEAN, h, -1, true);
    h = wt_sub(ctx, h, m);
    wt_affine_(ctx, h, 2, 1);
    wt_tensor *am = wt_reduce(ctx, WT_REDUCE_ARGMAX, h, 0, false);
    return (am == NULL) + (wt_ctx_status(ctx) != WT_OK);
}

START_TEST(test_arena_no_alloc) {
    wt_ctx *heap = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 2);
    wt_tensor *x = wt_tensor_new2(heap, WT_F32, 24, 16);
    wt_tensor *b = wt_tensor_new1(heap, WT_F32, 24);
    wt_test_fill_uniform(x, &rng, -1, 1);
    wt_test_fill_uniform(b, &rng, -1, 1);
    wt_ctx *plan = wt_ctx_new_heap(NULL);
    ck_assert_int_eq(ew_step(plan, x, b), 0);
    wt_ctx *arena = wt_ctx_new_arena_like(plan);
    const wt_tensor *xb[2] = {x, b};
    int failures = 0;
    uint64_t allocs = wt_test_arena_allocs(arena, 100, ew_step_any, xb, &failures);
    ck_assert_int_eq(failures, 0);
    ck_assert_uint_eq(allocs, 0);
    wt_ctx_free(arena);
    wt_ctx_free(plan);
    wt_ctx_free(heap);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ops_elementwise");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_unary_all);
    tcase_add_test(tc, test_unary_extremes);
    tcase_add_test(tc, test_unary_sweep_relative);
    tcase_add_test(tc, test_unary_inplace_and_errors);
    tcase_add_test(tc, test_binary_broadcast);
    tcase_add_test(tc, test_binary_inplace_and_errors);
    tcase_add_test(tc, test_affine);
    tcase_add_test(tc, test_reduce_all);
    tcase_add_test(tc, test_reduce_edges);
    tcase_add_test(tc, test_arena_no_alloc);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
