/* wt_attention_cached / wt_attention_ring against a double-precision
 * reference loop written here (softmax(q k^T * scale) v over the visible
 * keys): causal and windowed masks, GQA ratios 1/2/4, positions 0 ..
 * context-1, several queries, caches longer than one block of keys, the
 * three cache layouts with unit and non-unit slot strides, batches, rings
 * with empty and wrapped slots, threads, errors, and an allocation-free
 * arena replay at changing positions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wt_test.h"

/* One problem: q [B, n, H, hd], caches [B, KVH, hd, S] (logical), pos
 * [B, n], slot_pos [B, S] or NULL. */
typedef struct attn_case {
    int64_t B, n, H, KVH, hd, S, window;
    const wt_tensor *q, *k, *v, *pos, *slot_pos; /* as passed to the op */
    float scale;
} attn_case;

/* Element (b, g, d, s) of a cache passed as [KVH*hd, S], [KVH, hd, S] or
 * [B, KVH, hd, S]. */
static double cache_at(const attn_case *c, const wt_tensor *t, int64_t b, int64_t g, int64_t d,
                       int64_t s) {
    int64_t off;
    if (t->ndim == 2)
        off = (g * c->hd + d) * t->stride[0] + s * t->stride[1];
    else if (t->ndim == 3)
        off = g * t->stride[0] + d * t->stride[1] + s * t->stride[2];
    else
        off = b * t->stride[0] + g * t->stride[1] + d * t->stride[2] + s * t->stride[3];
    return ((const float *)t->data)[off];
}

static double q_at(const attn_case *c, int64_t b, int64_t i, int64_t h, int64_t d) {
    const wt_tensor *t = c->q;
    int64_t off = t->ndim == 3 ? i * t->stride[0] + h * t->stride[1] + d * t->stride[2]
                               : b * t->stride[0] + i * t->stride[1] + h * t->stride[2] + d * t->stride[3];
    return ((const float *)t->data)[off];
}

static int64_t vec_at(const wt_tensor *t, int64_t b, int64_t i) {
    const int64_t *p = t->data;
    return t->ndim == 1 ? p[i * t->stride[0]] : p[b * t->stride[0] + i * t->stride[1]];
}

/* The reference result [B, n, H*hd], written into out. */
static void ref_attention(const attn_case *c, double *out) {
    int64_t G = c->H / c->KVH;
    double w[1024];
    ck_assert(c->S <= 1024);
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t i = 0; i < c->n; i++)
            for (int64_t h = 0; h < c->H; h++) {
                int64_t g = h / G, p = vec_at(c->pos, b, i);
                double mx = -INFINITY, sum = 0;
                for (int64_t s = 0; s < c->S; s++) {
                    int64_t kp = c->slot_pos ? vec_at(c->slot_pos, b, s) : s;
                    bool vis = kp >= 0 && kp <= p && (c->window <= 0 || p - kp < c->window);
                    w[s] = -INFINITY;
                    if (!vis) continue;
                    double z = 0;
                    for (int64_t d = 0; d < c->hd; d++)
                        z += q_at(c, b, i, h, d) * cache_at(c, c->k, b, g, d, s);
                    w[s] = z * c->scale;
                    if (w[s] > mx) mx = w[s];
                }
                for (int64_t s = 0; s < c->S; s++) {
                    w[s] = w[s] == -INFINITY ? 0 : exp(w[s] - mx);
                    sum += w[s];
                }
                double *o = out + ((b * c->n + i) * c->H + h) * c->hd;
                for (int64_t d = 0; d < c->hd; d++) {
                    double acc = 0;
                    for (int64_t s = 0; s < c->S; s++)
                        if (w[s] != 0) acc += w[s] * cache_at(c, c->v, b, g, d, s);
                    o[d] = sum > 0 ? acc / sum : 0;
                }
            }
}

/* Runs the op on ctx and returns max |op - reference| (-1 when the op
 * failed: the message is in wt_ctx_error). */
static double run_case(wt_ctx *ctx, const attn_case *c) {
    wt_tensor *y = c->slot_pos
                       ? wt_attention_ring(ctx, c->q, c->k, c->v, c->pos, c->slot_pos, c->scale, c->window)
                       : wt_attention_cached(ctx, c->q, c->k, c->v, c->pos, c->scale, c->window);
    if (!y) return -1;
    int64_t total = c->B * c->n * c->H * c->hd;
    ck_assert_int_eq(wt_numel(y), total);
    ck_assert_int_eq(y->shape[y->ndim - 1], c->H * c->hd);
    ck_assert_int_eq(y->ndim, c->q->ndim - 1);
    double *ref = malloc((size_t)total * sizeof *ref), diff = 0;
    ref_attention(c, ref);
    for (int64_t e = 0; e < total; e++) {
        double d = fabs(((const float *)y->data)[e] - ref[e]);
        if (!(d <= diff)) diff = d; /* NaN propagates */
    }
    free(ref);
    return diff;
}

/* Llama's layout: q [n, H, hd], caches [KVH*hd, S] with the slot at unit
 * stride, linear cache, positions given. */
static double llama_case(wt_ctx *ctx, wt_test_rng *rng, int64_t H, int64_t KVH, int64_t hd,
                         int64_t S, int64_t window, int64_t n, const int64_t *pos) {
    wt_tensor *q = wt_tensor_new3(ctx, WT_F32, n, H, hd);
    wt_tensor *k = wt_tensor_new2(ctx, WT_F32, KVH * hd, S), *v = wt_tensor_new2(ctx, WT_F32, KVH * hd, S);
    wt_tensor *p = wt_tensor_new1(ctx, WT_I64, n);
    wt_test_fill_uniform(q, rng, -1.5f, 1.5f);
    wt_test_fill_uniform(k, rng, -1.5f, 1.5f);
    wt_test_fill_uniform(v, rng, -1, 1);
    for (int64_t i = 0; i < n; i++) wt_set_flat(p, i, (double)pos[i]);
    attn_case c = {1, n, H, KVH, hd, S, window, q, k, v, p, NULL, 1.0f / sqrtf((float)hd)};
    return run_case(ctx, &c);
}

START_TEST(test_llama_layout) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 11);
    const int64_t ratios[3][2] = {{4, 4}, {4, 2}, {8, 2}}; /* H, KVH: GQA 1, 2, 4 */
    for (int r = 0; r < 3; r++) {
        int64_t H = ratios[r][0], KVH = ratios[r][1];
        for (int64_t hd = 5; hd <= 16; hd += 11) { /* odd and lane-sized head dims */
            /* one query at 0, inside, and at context-1; a cache of one and
             * of several blocks of keys */
            const int64_t S_list[2] = {37, 600};
            for (int si = 0; si < 2; si++) {
                int64_t S = S_list[si];
                const int64_t ps[4] = {0, 1, S / 2, S - 1};
                for (int pi = 0; pi < 4; pi++)
                    for (int64_t win = 0; win <= 7; win += 7) {
                        double d = llama_case(ctx, &rng, H, KVH, hd, S, win, 1, &ps[pi]);
                        ck_assert_msg(d >= 0 && d <= 2e-6, "H %lld KVH %lld hd %lld S %lld pos %lld win %lld: %g (%s)",
                                      (long long)H, (long long)KVH, (long long)hd, (long long)S,
                                      (long long)ps[pi], (long long)win, d, wt_ctx_error(ctx));
                    }
                /* several queries: a prefill chunk and arbitrary positions */
                int64_t chunk[20], mixed[5] = {3, 0, S - 1, 10, 10};
                for (int i = 0; i < 20; i++) chunk[i] = S - 20 + i;
                for (int64_t win = 0; win <= 300; win += 300) {
                    double d1 = llama_case(ctx, &rng, H, KVH, hd, S, win, 20, chunk);
                    double d2 = llama_case(ctx, &rng, H, KVH, hd, S, win, 5, mixed);
                    ck_assert_msg(d1 >= 0 && d1 <= 2e-6 && d2 >= 0 && d2 <= 2e-6,
                                  "n>1, H %lld KVH %lld hd %lld S %lld win %lld: %g %g (%s)",
                                  (long long)H, (long long)KVH, (long long)hd, (long long)S,
                                  (long long)win, d1, d2, wt_ctx_error(ctx));
                }
                wt_ctx_reset(ctx);
            }
        }
    }
    wt_ctx_free(ctx);
}
END_TEST

/* Batched q [B, n, H, hd] against caches stored [B, KVH, S, hd] and passed
 * as permuted views (slot stride hd: the plain loops), pos [B, n]. */
START_TEST(test_batched_strided) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 12);
    const int64_t B = 2, n = 3, H = 6, KVH = 3, hd = 7, S = 300;
    /* q stored [B, H, n, hd] and permuted: strided queries too */
    wt_tensor *qraw = wt_tensor_new4(ctx, WT_F32, B, H, n, hd);
    wt_tensor *kraw = wt_tensor_new4(ctx, WT_F32, B, KVH, S, hd), *vraw = wt_tensor_new4(ctx, WT_F32, B, KVH, S, hd);
    wt_test_fill_uniform(qraw, &rng, -1.5f, 1.5f);
    wt_test_fill_uniform(kraw, &rng, -1.5f, 1.5f);
    wt_test_fill_uniform(vraw, &rng, -1, 1);
    static const int perm_q[4] = {0, 2, 1, 3}, perm_kv[4] = {0, 1, 3, 2};
    wt_tensor *q = wt_permute(ctx, qraw, perm_q);
    wt_tensor *k = wt_permute(ctx, kraw, perm_kv), *v = wt_permute(ctx, vraw, perm_kv);
    wt_tensor *pos = wt_tensor_new2(ctx, WT_I64, B, n);
    const int64_t pv[6] = {0, 150, 299, 298, 7, 256};
    for (int i = 0; i < 6; i++) wt_set_flat(pos, i, (double)pv[i]);
    for (int64_t win = 0; win <= 40; win += 40) {
        attn_case c = {B, n, H, KVH, hd, S, win, q, k, v, pos, NULL, 0.3f};
        double d = run_case(ctx, &c);
        ck_assert_msg(d >= 0 && d <= 2e-6, "window %lld: %g (%s)", (long long)win, d, wt_ctx_error(ctx));
    }
    /* a [n] pos is shared by the batch; a [KVH, hd, S] cache too */
    wt_tensor *pos1 = wt_tensor_new1(ctx, WT_I64, n);
    for (int i = 0; i < n; i++) wt_set_flat(pos1, i, (double)(100 * i));
    wt_tensor *k3 = wt_squeeze(ctx, wt_narrow(ctx, k, 0, 1, 1), 0);
    wt_tensor *v3 = wt_squeeze(ctx, wt_narrow(ctx, v, 0, 1, 1), 0);
    attn_case c = {B, n, H, KVH, hd, S, 0, q, k3, v3, pos1, NULL, 0.3f};
    double d = run_case(ctx, &c);
    ck_assert_msg(d >= 0 && d <= 2e-6, "shared: %g (%s)", d, wt_ctx_error(ctx));
    wt_ctx_free(ctx);
}
END_TEST

/* A ring of S slots whose positions are state: empty slots (-1), wrapped
 * positions above S, a window, a query that sees nothing. */
START_TEST(test_ring) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 13);
    const int64_t B = 2, n = 2, H = 4, KVH = 2, hd = 6, S = 10;
    wt_tensor *q = wt_tensor_new4(ctx, WT_F32, B, n, H, hd);
    /* Mimi-like storage: rows [B, KVH, S] of hd, seen as [B, KVH, hd, S] */
    wt_tensor *kraw = wt_tensor_new4(ctx, WT_F32, B, KVH, S, hd), *vraw = wt_tensor_new4(ctx, WT_F32, B, KVH, S, hd);
    wt_test_fill_uniform(q, &rng, -1.5f, 1.5f);
    wt_test_fill_uniform(kraw, &rng, -1.5f, 1.5f);
    wt_test_fill_uniform(vraw, &rng, -1, 1);
    static const int perm[4] = {0, 1, 3, 2};
    wt_tensor *k = wt_permute(ctx, kraw, perm), *v = wt_permute(ctx, vraw, perm);
    /* stream 0 has written positions 0..5 (slots 0..5, rest empty); stream 1
     * has wrapped: positions 14..23 in slots 4..9, 0..3 */
    wt_tensor *sp = wt_tensor_new2(ctx, WT_I64, B, S);
    for (int64_t s = 0; s < S; s++) {
        wt_set_flat(sp, s, s <= 5 ? (double)s : -1.0);
        wt_set_flat(sp, S + s, (double)(s >= 4 ? 10 + s : 20 + s));
    }
    wt_tensor *pos = wt_tensor_new2(ctx, WT_I64, B, n);
    const int64_t pv[4] = {4, 5, 22, 23};
    for (int i = 0; i < 4; i++) wt_set_flat(pos, i, (double)pv[i]);
    for (int64_t win = 0; win <= 3; win += 3) {
        attn_case c = {B, n, H, KVH, hd, S, win, q, k, v, pos, sp, 0.4f};
        double d = run_case(ctx, &c);
        ck_assert_msg(d >= 0 && d <= 2e-6, "window %lld: %g (%s)", (long long)win, d, wt_ctx_error(ctx));
    }
    /* a query before every stored position sees nothing: zeros */
    wt_set_flat(pos, 2, 3.0);
    attn_case c = {B, n, H, KVH, hd, S, 0, q, k, v, pos, sp, 0.4f};
    wt_tensor *y = wt_attention_ring(ctx, q, k, v, pos, sp, 0.4f, 0);
    ck_assert_ptr_nonnull(y);
    for (int64_t e = 0; e < H * hd; e++) ck_assert(wt_get_flat(y, 2 * H * hd + e) == 0.0);
    double d = run_case(ctx, &c);
    ck_assert_msg(d >= 0 && d <= 2e-6, "%g", d);
    wt_ctx_free(ctx);
}
END_TEST

/* A prefill-sized call on two threads gives the reference too. */
START_TEST(test_threads) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_ctx_set_threads(ctx, 2);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 14);
    int64_t pos[64];
    for (int i = 0; i < 64; i++) pos[i] = 448 + i;
    double d = llama_case(ctx, &rng, 8, 2, 32, 512, 0, 64, pos);
    ck_assert_msg(d >= 0 && d <= 2e-6, "%g (%s)", d, wt_ctx_error(ctx));
    wt_ctx_free(ctx);
}
END_TEST

/* Expects the call to fail with a message containing `what`. */
static void expect_error(wt_ctx *ctx, wt_tensor *y, const char *what) {
    ck_assert_ptr_null(y);
    ck_assert_msg(strstr(wt_ctx_error(ctx), what) != NULL, "message \"%s\" lacks \"%s\"",
                  wt_ctx_error(ctx), what);
    wt_ctx_clear_error(ctx);
}

START_TEST(test_errors) {
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_tensor *q = wt_fill_(ctx, wt_tensor_new3(ctx, WT_F32, 1, 4, 8), 0.5);
    wt_tensor *k = wt_fill_(ctx, wt_tensor_new2(ctx, WT_F32, 16, 6), 0.5);
    wt_tensor *pos = wt_tensor_new1(ctx, WT_I64, 1);
    /* the position is checked when the op runs: context-1 is fine, context is not */
    wt_set_flat(pos, 0, 5);
    ck_assert_ptr_nonnull(wt_attention_cached(ctx, q, k, k, pos, 1.0f, 0));
    wt_set_flat(pos, 0, 6);
    expect_error(ctx, wt_attention_cached(ctx, q, k, k, pos, 1.0f, 0), "position 6 of query 0 is outside the cache of 6 slots");
    wt_set_flat(pos, 0, -1);
    expect_error(ctx, wt_attention_cached(ctx, q, k, k, pos, 1.0f, 0), "position -1");
    wt_tensor *sp = wt_fill_(ctx, wt_tensor_new1(ctx, WT_I64, 6), 0);
    expect_error(ctx, wt_attention_ring(ctx, q, k, k, pos, sp, 1.0f, 0), "position -1");
    wt_set_flat(pos, 0, 60); /* a ring position may exceed the slots */
    ck_assert_ptr_nonnull(wt_attention_ring(ctx, q, k, k, pos, sp, 1.0f, 0));
    wt_set_flat(pos, 0, 0);
    /* shapes and dtypes */
    wt_tensor *k12 = wt_tensor_new2(ctx, WT_F32, 12, 6); /* 12 rows: not KVH * 8 */
    expect_error(ctx, wt_attention_cached(ctx, q, k12, k12, pos, 1.0f, 0), "kcache shape [12, 6]");
    wt_tensor *k24 = wt_tensor_new2(ctx, WT_F32, 24, 6); /* 3 kv heads for 4 query heads */
    expect_error(ctx, wt_attention_cached(ctx, q, k24, k24, pos, 1.0f, 0), "multiple of kv heads");
    expect_error(ctx, wt_attention_cached(ctx, q, k, wt_tensor_new2(ctx, WT_F32, 16, 7), pos, 1.0f, 0),
                 "vcache shape [16, 7]");
    wt_tensor *pos2 = wt_tensor_new1(ctx, WT_I64, 2);
    expect_error(ctx, wt_attention_cached(ctx, q, k, k, pos2, 1.0f, 0), "pos shape [2]");
    expect_error(ctx, wt_attention_cached(ctx, q, k, k, wt_tensor_new1(ctx, WT_F32, 1), 1.0f, 0), "pos");
    expect_error(ctx, wt_attention_cached(ctx, wt_tensor_new2(ctx, WT_F32, 4, 8), k, k, pos, 1.0f, 0),
                 "q shape [4, 8]");
    expect_error(ctx, wt_attention_ring(ctx, q, k, k, pos, wt_tensor_new1(ctx, WT_I64, 5), 1.0f, 0),
                 "slot_pos shape [5]");
    expect_error(ctx, wt_attention_ring(ctx, q, k, k, pos, NULL, 1.0f, 0), "NULL");
    wt_tensor *kb = wt_tensor_new2(ctx, WT_BF16, 16, 6);
    expect_error(ctx, wt_attention_cached(ctx, q, kb, kb, pos, 1.0f, 0), "kcache");
    wt_ctx_free(ctx);
}
END_TEST

/* A decode-like step on an arena: the same call at changing positions
 * allocates nothing and stays exact. */
START_TEST(test_arena_no_alloc) {
    wt_ctx *heap = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 15);
    const int64_t H = 8, KVH = 2, hd = 16, S = 300;
    wt_tensor *q = wt_tensor_new3(heap, WT_F32, 1, H, hd);
    wt_tensor *k = wt_tensor_new2(heap, WT_F32, KVH * hd, S), *v = wt_tensor_new2(heap, WT_F32, KVH * hd, S);
    wt_tensor *pos = wt_tensor_new1(heap, WT_I64, 1);
    wt_test_fill_uniform(q, &rng, -1.5f, 1.5f);
    wt_test_fill_uniform(k, &rng, -1.5f, 1.5f);
    wt_test_fill_uniform(v, &rng, -1, 1);
    wt_set_flat(pos, 0, S - 1);
    wt_ctx *plan = wt_ctx_new_heap(NULL);
    ck_assert_ptr_nonnull(wt_attention_cached(plan, q, k, v, pos, 0.25f, 0));
    wt_ctx *arena = wt_ctx_new_arena_like(plan);
    ck_assert_ptr_nonnull(arena);
    int failures = 0;
    const float *data[S];
    uint64_t before = wt_test_alloc_calls();
    for (int64_t p = 0; p < S; p++) {
        ((int64_t *)pos->data)[0] = p;
        wt_ctx_reset(arena);
        wt_tensor *y = wt_attention_cached(arena, q, k, v, pos, 0.25f, 0);
        failures += y == NULL;
        data[p] = y ? y->data : NULL;
    }
    uint64_t after = wt_test_alloc_calls();
    ck_assert_int_eq(failures, 0);
    ck_assert_uint_eq(after, before);
    /* a static step: the result lands at the same address every time */
    for (int64_t p = 1; p < S; p++) ck_assert_ptr_eq(data[p], data[0]);
    /* and it holds the last position's attention */
    attn_case c = {1, 1, H, KVH, hd, S, 0, q, k, v, pos, NULL, 0.25f};
    double ref[H * hd], d = 0;
    ref_attention(&c, ref);
    for (int64_t e = 0; e < H * hd; e++) d = fmax(d, fabs(data[S - 1][e] - ref[e]));
    ck_assert_msg(d <= 2e-6, "%g", d);
    wt_ctx_free(arena);
    wt_ctx_free(plan);
    wt_ctx_free(heap);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ops_attention");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_llama_layout);
    tcase_add_test(tc, test_batched_strided);
    tcase_add_test(tc, test_ring);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_arena_no_alloc);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
