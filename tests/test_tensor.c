/* Tensor descriptors, views and contexts (heap and arena). */
#include <string.h>

#include "engine/ctx_impl.h"
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

/* Packing a heap context's small tensors into one block keeps every
 * descriptor's contents and view offsets, and leaves large tensors alone. */
START_TEST(test_pack) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    enum { N = 40 };
    wt_tensor *t[N];
    for (int i = 0; i < N; i++) {
        t[i] = wt_tensor_new2(ctx, WT_F32, 3 + i % 5, 7 + i);
        ck_assert_ptr_nonnull(t[i]);
        float *p = t[i]->data;
        for (int64_t k = 0; k < wt_numel(t[i]); k++) p[k] = (float)(1000 * i + k);
    }
    wt_tensor *row = wt_narrow(ctx, t[5], 0, 2, 1);      /* row 2 of [3, 12] */
    wt_tensor *tail = wt_narrow(ctx, t[9], 1, 16, 0);    /* empty */
    int64_t big_n = (int64_t)(WT_CTX_PACK_MAX / sizeof(float)) + 16;
    wt_tensor *big = wt_tensor_new1(ctx, WT_F32, big_n);
    ck_assert_ptr_nonnull(row);
    ck_assert_ptr_nonnull(tail);
    ck_assert_ptr_nonnull(big);
    ((float *)big->data)[big_n - 1] = 7.0f;
    void *big_at = big->data;
    ptrdiff_t tail_at = (char *)tail->data - (char *)t[9]->data;
    ck_assert_int_eq(wt_ctx_pack_(ctx), WT_OK);
    ck_assert_ptr_eq(big->data, big_at);
    ck_assert_float_eq(((float *)big->data)[big_n - 1], 7.0f);
    for (int i = 0; i < N; i++) {
        const float *p = t[i]->data;
        int bad = 0;
        for (int64_t k = 0; k < wt_numel(t[i]); k++) bad += p[k] != (float)(1000 * i + k);
        ck_assert_msg(bad == 0, "tensor %d: %d values moved wrong", i, bad);
    }
    /* one block, in allocation order */
    ck_assert_ptr_eq((char *)t[1]->data, (char *)t[0]->data + 128); /* 21 floats, 64-aligned */
    ck_assert_ptr_eq((float *)row->data, (float *)t[5]->data + 2 * 12);
    ck_assert_float_eq(((float *)row->data)[0], 5000 + 24);
    ck_assert_int_eq((char *)tail->data - (char *)t[9]->data, tail_at);
    wt_ctx_free(ctx);
}
END_TEST

/* Releasing to a mark frees what came after it except the kept tensor. */
START_TEST(test_release) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_tensor *before = wt_tensor_new2(ctx, WT_F32, 4, 8);
    ck_assert_ptr_nonnull(before);
    for (int k = 0; k < 32; k++) ((float *)before->data)[k] = (float)k;
    size_t base = wt_ctx_used_bytes(ctx);
    wt_ctx_mark mark = wt_ctx_mark_(ctx);
    wt_tensor *a = wt_tensor_new2(ctx, WT_F32, 100, 100);
    wt_tensor *b = wt_tensor_new2(ctx, WT_F32, 3, 5);
    wt_tensor *c = wt_tensor_new2(ctx, WT_F32, 100, 100);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(c);
    for (int k = 0; k < 15; k++) ((float *)b->data)[k] = 0.5f * (float)k;
    ck_assert_ptr_eq(wt_ctx_release_(ctx, mark, b), b);
    ck_assert_uint_eq(wt_ctx_used_bytes(ctx), base + 64); /* 15 floats, 64-aligned */
    for (int k = 0; k < 15; k++) ck_assert_float_eq(((float *)b->data)[k], 0.5f * (float)k);
    /* a view of an older tensor keeps only its descriptor */
    mark = wt_ctx_mark_(ctx);
    wt_tensor *row = wt_narrow(ctx, before, 0, 1, 1);
    ck_assert_ptr_nonnull(wt_tensor_new1(ctx, WT_F32, 1000));
    ck_assert_ptr_eq(wt_ctx_release_(ctx, mark, row), row);
    ck_assert_uint_eq(wt_ctx_used_bytes(ctx), base + 64);
    ck_assert_float_eq(((float *)row->data)[0], 8.0f);
    /* keeping nothing frees everything since the mark; older tensors stay */
    mark = wt_ctx_mark_(ctx);
    ck_assert_ptr_nonnull(wt_tensor_new1(ctx, WT_F32, 1000));
    ck_assert_ptr_null(wt_ctx_release_(ctx, mark, NULL));
    ck_assert_uint_eq(wt_ctx_used_bytes(ctx), base + 64);
    ck_assert_float_eq(((float *)before->data)[31], 31.0f);
    ck_assert_float_eq(((float *)b->data)[14], 7.0f);
    /* a released large block serves the next allocation of about its size
     * (no new system allocation for its data), a much smaller one does not */
    mark = wt_ctx_mark_(ctx);
    wt_tensor *big = wt_tensor_new1(ctx, WT_F32, 100000);
    ck_assert_ptr_nonnull(big);
    void *block = big->data;
    wt_ctx_release_(ctx, mark, NULL);
    ck_assert_uint_eq(wt_ctx_used_bytes(ctx), base + 64);
    uint64_t calls = wt_ctx_sys_allocs(ctx);
    wt_tensor *again = wt_tensor_new1(ctx, WT_F32, 90000);
    ck_assert_ptr_eq(again->data, block);
    ck_assert_uint_eq(wt_ctx_sys_allocs(ctx), calls + 1); /* its descriptor only */
    mark = wt_ctx_mark_(ctx);
    big = wt_tensor_new1(ctx, WT_F32, 1000000);
    ck_assert_ptr_nonnull(big);
    block = big->data;
    wt_ctx_release_(ctx, mark, NULL);
    wt_tensor *small = wt_tensor_new1(ctx, WT_F32, 70000); /* would waste over half */
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_ne(small->data, block);
    wt_ctx_free(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_views);
    tcase_add_test(tc, test_arena_no_alloc);
    tcase_add_test(tc, test_pack);
    tcase_add_test(tc, test_release);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
