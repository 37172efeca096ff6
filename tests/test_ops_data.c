/* Data movement ops (fill, copy, to_dtype, contiguous, reshape, cat) on
 * every dtype, strided views and broadcasts, against plain reference loops
 * over wt_get_flat; errors, the sticky error, and an arena replay with zero
 * allocations. */
#include <math.h>
#include <string.h>

#include "wt_test.h"

static const wt_dtype k_all[] = {WT_F32, WT_F16, WT_BF16, WT_I64, WT_U8};
#define N_ALL 5

/* What storing v into dtype t must give (reference written apart from the
 * library's copy kernels): float types round through f32, integer types
 * truncate toward zero and saturate. */
static double ref_store(wt_dtype t, double v) {
    switch (t) {
    case WT_F32: return (float)v;
    case WT_F16: return wt_f16_to_f32(wt_f32_to_f16((float)v));
    case WT_BF16: return wt_bf16_to_f32(wt_f32_to_bf16((float)v));
    case WT_I64: return trunc(v);
    case WT_U8: return v <= 0 ? 0 : v >= 255 ? 255 : trunc(v);
    default: return NAN;
    }
}

/* Multi-index -> flat row-major index helpers for the reference loops. */
static int64_t flat3(const int64_t *shape, int64_t i, int64_t j, int64_t k) {
    return (i * shape[1] + j) * shape[2] + k;
}

START_TEST(test_fill_views) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    for (int di = 0; di < N_ALL; di++) {
        wt_dtype t = k_all[di];
        wt_tensor *x = wt_tensor_new3(ctx, t, 3, 4, 5);
        ck_assert_ptr_nonnull(wt_fill_(ctx, x, 7));
        /* fill a transposed, narrowed window with -2.75 (u8: saturates to 0) */
        wt_tensor *v = wt_narrow(ctx, wt_transpose(ctx, x, 0, 2), 1, 1, 2); /* [5, 2, 3] */
        ck_assert_ptr_nonnull(wt_fill_(ctx, v, -2.75));
        for (int64_t i = 0; i < 3; i++)
            for (int64_t j = 0; j < 4; j++)
                for (int64_t k = 0; k < 5; k++) {
                    double want = (j == 1 || j == 2) ? ref_store(t, -2.75) : 7;
                    ck_assert_double_eq(wt_get_flat(x, (i * 4 + j) * 5 + k), want);
                }
        /* empty and scalar tensors */
        wt_tensor *e = wt_tensor_new2(ctx, t, 0, 3);
        ck_assert_ptr_nonnull(wt_fill_(ctx, e, 1));
        wt_tensor *s = wt_tensor_new(ctx, t, 0, (const int64_t[]){1});
        ck_assert_ptr_nonnull(wt_fill_(ctx, s, 3));
        ck_assert_double_eq(wt_get_flat(s, 0), 3);
    }
    wt_tensor *h = wt_tensor_new1(ctx, WT_F16, 2);
    wt_fill_(ctx, h, 1e6); /* overflow to inf */
    ck_assert(isinf(wt_get_flat(h, 1)));
    wt_tensor *u = wt_tensor_new1(ctx, WT_U8, 2);
    wt_fill_(ctx, u, 300.5);
    ck_assert_double_eq(wt_get_flat(u, 0), 255);
    ck_assert_int_eq(wt_ctx_status(ctx), WT_OK);
    wt_ctx_free(ctx);
}
END_TEST

/* Every dtype pair, a transposed source into a narrowed destination. */
START_TEST(test_copy_all_dtypes) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 3);
    double vals[4 * 6];
    for (int i = 0; i < 24; i++) vals[i] = round(wt_test_uniform(&rng, -300, 300) * 8) / 8;
    vals[0] = 0.5;
    vals[1] = -0.5;
    vals[2] = 255.9;
    for (int si = 0; si < N_ALL; si++) {
        for (int di = 0; di < N_ALL; di++) {
            wt_dtype st = k_all[si], dt = k_all[di];
            wt_tensor *src = wt_tensor_new2(ctx, st, 6, 4); /* transposed below to [4, 6] */
            for (int64_t i = 0; i < 4; i++)
                for (int64_t j = 0; j < 6; j++) wt_set_flat(src, j * 4 + i, ref_store(st, vals[i * 6 + j]));
            wt_tensor *srct = wt_transpose(ctx, src, 0, 1);
            wt_tensor *big = wt_tensor_new2(ctx, dt, 4, 9);
            wt_fill_(ctx, big, 1);
            wt_tensor *dst = wt_narrow(ctx, big, 1, 2, 6);
            ck_assert_ptr_nonnull(wt_copy_(ctx, dst, srct));
            for (int64_t i = 0; i < 4; i++)
                for (int64_t j = 0; j < 9; j++) {
                    double got = wt_get_flat(big, i * 9 + j);
                    double want = 1;
                    if (j >= 2 && j < 8) {
                        double sv = ref_store(st, vals[i * 6 + j - 2]);
                        want = ref_store(dt, sv);
                    }
                    ck_assert_msg(got == want, "%s -> %s at (%lld, %lld): %g, want %g",
                                  wt_dtype_name(st), wt_dtype_name(dt), (long long)i, (long long)j,
                                  got, want);
                }
        }
    }
    ck_assert_int_eq(wt_ctx_status(ctx), WT_OK);
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_copy_broadcast) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_tensor *src = wt_tensor_new2(ctx, WT_F32, 3, 1);
    for (int i = 0; i < 3; i++) wt_set_flat(src, i, i + 0.25);
    wt_tensor *dst = wt_tensor_new3(ctx, WT_F16, 2, 3, 5);
    ck_assert_ptr_nonnull(wt_copy_(ctx, dst, src));
    for (int64_t b = 0; b < 2; b++)
        for (int64_t i = 0; i < 3; i++)
            for (int64_t k = 0; k < 5; k++)
                ck_assert_double_eq(wt_get_flat(dst, (b * 3 + i) * 5 + k), i + 0.25);
    /* an explicit stride-0 source (wt_broadcast_to) into an i64 tensor */
    int64_t shp[2] = {4, 3};
    wt_tensor *row = wt_tensor_new1(ctx, WT_F32, 3);
    for (int i = 0; i < 3; i++) wt_set_flat(row, i, -1.5 * i);
    wt_tensor *bc = wt_broadcast_to(ctx, row, 2, shp);
    wt_tensor *di = wt_tensor_new2(ctx, WT_I64, 4, 3);
    ck_assert_ptr_nonnull(wt_copy_(ctx, di, bc));
    for (int64_t r = 0; r < 4; r++)
        for (int64_t c = 0; c < 3; c++) ck_assert_double_eq(wt_get_flat(di, r * 3 + c), trunc(-1.5 * c));
    /* a scalar source fills */
    wt_tensor *sc = wt_tensor_new(ctx, WT_F32, 0, (const int64_t[]){1});
    wt_set_flat(sc, 0, 9);
    ck_assert_ptr_nonnull(wt_copy_(ctx, dst, sc));
    ck_assert_double_eq(wt_get_flat(dst, 29), 9);
    /* a shape that does not broadcast names both shapes */
    wt_tensor *bad = wt_tensor_new2(ctx, WT_F32, 3, 2);
    ck_assert_ptr_null(wt_copy_(ctx, dst, bad));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[2, 3, 5]"));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[3, 2]"));
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_to_dtype_contiguous) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 5);
    wt_tensor *x = wt_tensor_new3(ctx, WT_F32, 3, 5, 7);
    wt_test_fill_uniform(x, &rng, -70000, 70000); /* beyond f16's range */
    wt_tensor *p = wt_permute(ctx, x, (const int[]){2, 0, 1}); /* [7, 3, 5] */
    for (int di = 0; di < 3; di++) {
        wt_tensor *y = wt_to_dtype(ctx, p, k_all[di]);
        ck_assert_ptr_nonnull(y);
        ck_assert(wt_is_contiguous(y));
        ck_assert_int_eq(y->dtype, k_all[di]);
        int64_t ys[3] = {7, 3, 5};
        for (int64_t a = 0; a < 7; a++)
            for (int64_t b = 0; b < 3; b++)
                for (int64_t c = 0; c < 5; c++) {
                    double xv = wt_get_flat(x, (b * 5 + c) * 7 + a);
                    ck_assert(wt_get_flat(y, flat3(ys, a, b, c)) == ref_store(k_all[di], xv));
                }
    }
    wt_tensor *c = wt_contiguous(ctx, p);
    ck_assert_ptr_nonnull(c);
    ck_assert(wt_is_contiguous(c) && c->dtype == WT_F32 && c->data != x->data);
    for (int64_t i = 0; i < 105; i++) ck_assert(wt_get_flat(c, i) == wt_get_flat(p, i));
    /* transposes big enough for the blocked copy, odd sizes, with conversion */
    wt_tensor *big = wt_tensor_new3(ctx, WT_F32, 3, 45, 70);
    wt_test_fill_uniform(big, &rng, -100, 100);
    wt_tensor *bt = wt_permute(ctx, big, (const int[]){2, 0, 1}); /* [70, 3, 45] */
    wt_tensor *b2 = wt_transpose(ctx, big, 1, 2);                   /* [3, 70, 45] */
    for (int di = 0; di < 2; di++) {
        wt_tensor *y1 = wt_to_dtype(ctx, bt, k_all[di * 2]), *y2 = wt_to_dtype(ctx, b2, k_all[di * 2]);
        int bad = 0;
        for (int64_t a = 0; a < 70; a++)
            for (int64_t b = 0; b < 3; b++)
                for (int64_t k = 0; k < 45; k++) {
                    double xv = wt_get_flat(big, (b * 45 + k) * 70 + a);
                    double want = ref_store(k_all[di * 2], xv);
                    bad += wt_get_flat(y1, (a * 3 + b) * 45 + k) != want;
                    bad += wt_get_flat(y2, (b * 70 + a) * 45 + k) != want;
                }
        ck_assert_int_eq(bad, 0);
    }
    /* bf16 -> f16 -> i64 chain and empty tensors */
    wt_tensor *e = wt_tensor_new3(ctx, WT_BF16, 2, 0, 3);
    wt_tensor *e2 = wt_to_dtype(ctx, e, WT_F16);
    ck_assert_ptr_nonnull(e2);
    ck_assert_int_eq(e2->shape[1], 0);
    ck_assert_ptr_null(wt_to_dtype(ctx, x, (wt_dtype)99));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_reshape) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_tensor *x = wt_tensor_new3(ctx, WT_I64, 2, 3, 4);
    for (int64_t i = 0; i < 24; i++) wt_set_flat(x, i, (double)i);
    int64_t s1[2] = {-1, 6};
    wt_tensor *v = wt_reshape(ctx, x, 2, s1);
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_eq(v->data, x->data); /* a view */
    ck_assert_int_eq(v->shape[0], 4);
    /* transposed: needs a copy; values in the transposed order */
    wt_tensor *t = wt_transpose(ctx, x, 1, 2); /* [2, 4, 3] */
    int64_t s2[1] = {24};
    wt_tensor *f = wt_reshape(ctx, t, 1, s2);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(wt_ctx_status(ctx), WT_OK);
    for (int64_t b = 0; b < 2; b++)
        for (int64_t j = 0; j < 4; j++)
            for (int64_t i = 0; i < 3; i++)
                ck_assert_double_eq(wt_get_flat(f, (b * 4 + j) * 3 + i), (double)((b * 3 + i) * 4 + j));
    /* a narrowed tensor that can still be a view */
    wt_tensor *n = wt_narrow(ctx, x, 0, 1, 1); /* [1, 3, 4] */
    int64_t s3[2] = {3, 4};
    wt_tensor *nv = wt_reshape(ctx, n, 2, s3);
    ck_assert_ptr_eq(nv->data, n->data);
    ck_assert_double_eq(wt_get_flat(nv, 0), 12);
    /* wrong element count fails, for a contiguous and a strided source */
    int64_t bad[2] = {5, 5};
    ck_assert_ptr_null(wt_reshape(ctx, t, 2, bad));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_reshape(ctx, x, 2, bad));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_cat) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    for (int di = 0; di < N_ALL; di++) {
        wt_dtype dt = k_all[di];
        wt_tensor *a = wt_tensor_new3(ctx, dt, 2, 3, 2);
        wt_tensor *braw = wt_tensor_new3(ctx, dt, 2, 3, 3);
        wt_tensor *b = wt_transpose(ctx, braw, 1, 2); /* [2, 3, 3] strided */
        wt_tensor *e = wt_tensor_new3(ctx, dt, 2, 3, 0);
        wt_tensor *c = wt_tensor_new3(ctx, dt, 2, 3, 1);
        for (int64_t i = 0; i < 12; i++) wt_set_flat(a, i, (double)i);
        for (int64_t i = 0; i < 18; i++) wt_set_flat(braw, i, (double)(100 + i));
        for (int64_t i = 0; i < 6; i++) wt_set_flat(c, i, (double)(50 + i));
        const wt_tensor *parts[4] = {a, e, b, c};
        wt_tensor *y = wt_cat(ctx, parts, 4, -1);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(y->shape[2], 6);
        ck_assert_int_eq(y->dtype, dt);
        for (int64_t i = 0; i < 2; i++)
            for (int64_t j = 0; j < 3; j++)
                for (int64_t k = 0; k < 6; k++) {
                    double want;
                    if (k < 2) want = (double)((i * 3 + j) * 2 + k);
                    else if (k < 5) want = (double)(100 + (i * 3 + (k - 2)) * 3 + j);
                    else want = (double)(50 + i * 3 + j);
                    ck_assert_double_eq(wt_get_flat(y, (i * 3 + j) * 6 + k), ref_store(dt, want));
                }
        /* along dim 0 */
        const wt_tensor *two[2] = {a, a};
        wt_tensor *z = wt_cat(ctx, two, 2, 0);
        ck_assert_int_eq(z->shape[0], 4);
        ck_assert_double_eq(wt_get_flat(z, 12 + 5), 5);
    }
    /* mismatched shapes: error naming both */
    wt_tensor *p = wt_tensor_new2(ctx, WT_F32, 2, 3);
    wt_tensor *q = wt_tensor_new2(ctx, WT_F32, 4, 4);
    const wt_tensor *pq[2] = {p, q};
    ck_assert_ptr_null(wt_cat(ctx, pq, 2, 1));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[2, 3]"));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "[4, 4]"));
    wt_ctx_clear_error(ctx);
    /* mismatched dtypes, bad dim, nothing to concatenate */
    wt_tensor *h = wt_tensor_new2(ctx, WT_F16, 2, 3);
    const wt_tensor *ph[2] = {p, h};
    ck_assert_ptr_null(wt_cat(ctx, ph, 2, 0));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_cat(ctx, pq, 2, 2));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "dimension 2"));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_cat(ctx, pq, 0, 0));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_sticky_error) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_tensor *x = wt_tensor_new2(ctx, WT_F32, 2, 3);
    wt_fill_(ctx, x, 1);
    /* a NULL input is an error and poisons the context */
    ck_assert_ptr_null(wt_contiguous(ctx, NULL));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    const char *first = wt_ctx_error(ctx);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", first);
    /* later ops return NULL without touching data, and keep the first message */
    ck_assert_ptr_null(wt_fill_(ctx, x, 5));
    ck_assert_ptr_null(wt_to_dtype(ctx, x, WT_F16));
    ck_assert_ptr_null(wt_copy_(ctx, x, x));
    ck_assert_double_eq(wt_get_flat(x, 0), 1);
    ck_assert_str_eq(wt_ctx_error(ctx), msg);
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_nonnull(wt_fill_(ctx, x, 5));
    ck_assert_double_eq(wt_get_flat(x, 5), 5);
    wt_ctx_free(ctx);
}
END_TEST

/* One "step" of data ops; returns the number of failures. */
static int data_step(wt_ctx *ctx, const wt_tensor *in);
static int data_step_any(wt_ctx *ctx, const void *in) { return data_step(ctx, in); }

static int data_step(wt_ctx *ctx, const wt_tensor *in) {
    wt_tensor *t = wt_transpose(ctx, in, 0, 1);
    wt_tensor *c = wt_contiguous(ctx, t);
    wt_tensor *h = wt_to_dtype(ctx, c, WT_F16);
    int64_t shp[1] = {-1};
    wt_tensor *r = wt_reshape(ctx, t, 1, shp);
    const wt_tensor *parts[2] = {c, wt_to_dtype(ctx, h, WT_F32)};
    wt_tensor *cat = wt_cat(ctx, parts, 2, 0);
    wt_tensor *z = wt_fill_(ctx, wt_tensor_new1(ctx, WT_I64, 8), 3);
    wt_copy_(ctx, wt_narrow(ctx, cat, 0, 0, 1), wt_transpose(ctx, wt_narrow(ctx, in, 1, 0, 1), 0, 1));
    return (r == NULL) + (cat == NULL) + (z == NULL) + (wt_ctx_status(ctx) != WT_OK);
}

START_TEST(test_arena_no_alloc) {
    wt_ctx *heap = wt_ctx_new_heap(NULL);
    wt_tensor *in = wt_tensor_new2(heap, WT_F32, 16, 12);
    for (int64_t i = 0; i < 192; i++) wt_set_flat(in, i, (double)i * 0.5);
    wt_ctx *plan = wt_ctx_new_heap(NULL);
    ck_assert_int_eq(data_step(plan, in), 0);
    wt_ctx *arena = wt_ctx_new_arena_like(plan);
    ck_assert_ptr_nonnull(arena);
    int failures = 0;
    uint64_t allocs = wt_test_arena_allocs(arena, 100, data_step_any, in, &failures);
    ck_assert_int_eq(failures, 0);
    ck_assert_uint_eq(allocs, 0);
    wt_ctx_free(arena);
    wt_ctx_free(plan);
    wt_ctx_free(heap);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ops_data");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fill_views);
    tcase_add_test(tc, test_copy_all_dtypes);
    tcase_add_test(tc, test_copy_broadcast);
    tcase_add_test(tc, test_to_dtype_contiguous);
    tcase_add_test(tc, test_reshape);
    tcase_add_test(tc, test_cat);
    tcase_add_test(tc, test_sticky_error);
    tcase_add_test(tc, test_arena_no_alloc);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
