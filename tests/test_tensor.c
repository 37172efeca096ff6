/* Tensor descriptors, views and contexts (heap and arena). */
#include <string.h>

#include "wt_test.h"

START_TEST(test_views) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_tensor *t = wt_tensor_new3(ctx, WT_F32, 2, 3, 4);
    ck_assert_ptr_nonnull(t);
    for (int64_t i = 0; i < 24; i++) wt_set_flat(t, i, (double)i);
    wt_tensor *tr = wt_transpose(ctx, t, 0, -1); /* [4, 3, 2] */
    ck_assert_int_eq(tr->shape[0], 4);
    ck_assert_int_eq(tr->shape[2], 2);
    /* tr[a][b][c] = t[c][b][a] = c*12 + b*4 + a */
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 2; c++)
                ck_assert_double_eq(wt_get_flat(tr, (a * 3 + b) * 2 + c), c * 12 + b * 4 + a);
    ck_assert(!wt_is_contiguous(tr));
    wt_tensor *n = wt_narrow(ctx, t, -1, 1, 2); /* [2, 3, 2] */
    ck_assert_double_eq(wt_get_flat(n, 0), 1);
    ck_assert_double_eq(wt_get_flat(n, 11), 22); /* t[1][2][2] */
    int64_t shp[2] = {-1, 4};
    wt_tensor *v = wt_view(ctx, t, 2, shp);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->shape[0], 6);
    /* a transposed tensor cannot be flattened as a view */
    int64_t flat[1] = {-1};
    ck_assert_ptr_null(wt_view(ctx, tr, 1, flat));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_arena_no_alloc) {
    wt_ctx *plan = wt_ctx_new_heap(NULL);
    for (int i = 0; i < 10; i++) ck_assert_ptr_nonnull(wt_tensor_new2(plan, WT_F32, 7, 13));
    wt_ctx *arena = wt_ctx_new_arena_like(plan);
    ck_assert_ptr_nonnull(arena);
    /* no ck_assert inside the counted region: Check's bookkeeping allocates */
    int failures = 0;
    uint64_t before = wt_test_alloc_calls();
    for (int step = 0; step < 100; step++) {
        wt_ctx_reset(arena);
        for (int i = 0; i < 10; i++) failures += wt_tensor_new2(arena, WT_F32, 7, 13) == NULL;
    }
    uint64_t after = wt_test_alloc_calls();
    ck_assert_int_eq(failures, 0);
    ck_assert_uint_eq(after, before);
    /* overflowing the plan is an error, not a malloc */
    wt_ctx_reset(arena);
    before = wt_test_alloc_calls();
    wt_tensor *big = wt_tensor_new2(arena, WT_F32, 1000, 1000);
    after = wt_test_alloc_calls();
    ck_assert_ptr_null(big);
    ck_assert_int_eq(wt_ctx_status(arena), WT_ERR_NOMEM);
    ck_assert_uint_eq(after, before);
    wt_ctx_free(arena);
    wt_ctx_free(plan);
}
END_TEST

int main(void) {
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_views);
    tcase_add_test(tc, test_arena_no_alloc);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
