/* Weight loader: prefixes, shape checks and their messages, missing and
 * optional tensors, dtype conversion, weight-norm folding (both PyTorch
 * naming forms) against a reference computed here. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wt_test.h"

static const char *stories(char *buf, size_t n, const char *file) {
    char rel[256];
    snprintf(rel, sizeof rel, "llama/stories260K/%s", file);
    return wt_test_golden(buf, n, rel);
}

START_TEST(test_prefix_and_get) {
    char p[1024];
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_weights *w = wt_weights_open(stories(p, sizeof p, "model.safetensors"), ctx, WT_F32);
    ck_assert_msg(w != NULL, "%s", wt_last_error());
    wt_st_file *ref = wt_st_open(p);
    ck_assert_ptr_nonnull(ref);

    wt_weights_push(w, "model");
    wt_weights_push(w, "layers.%d", 3);
    wt_weights_push(w, "self_attn");
    wt_tensor *q = wt_weights_get(w, "q_proj.weight", 2, (int64_t[]){64, 64});
    ck_assert_msg(q != NULL, "%s", wt_ctx_error(ctx));
    const wt_st_entry *e = wt_st_find(ref, "model.layers.3.self_attn.q_proj.weight");
    ck_assert(memcmp(q->data, e->data, e->nbytes) == 0);
    ck_assert(wt_weights_has(w, "k_proj.weight"));
    ck_assert(!wt_weights_has(w, "x_proj.weight"));
    wt_weights_pop(w);
    wt_weights_pop(w);
    /* back at "model": -1 matches any size */
    wt_tensor *emb = wt_weights_get(w, "embed_tokens.weight", 2, (int64_t[]){-1, 64});
    ck_assert_ptr_nonnull(emb);
    ck_assert_int_eq(emb->shape[0], 512);
    wt_weights_pop(w);
    wt_weights_pop(w); /* extra pop at the root is harmless */
    ck_assert(wt_weights_has(w, "model.norm.weight"));
    ck_assert_ptr_nonnull(wt_weights_file(w));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_OK);
    wt_weights_close(w);
    wt_st_close(ref);
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_shape_mismatch_message) {
    char p[1024];
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_weights *w = wt_weights_open(stories(p, sizeof p, "model.safetensors"), ctx, WT_F32);
    ck_assert_ptr_nonnull(w);
    wt_weights_push(w, "model.layers.0");
    wt_tensor *t = wt_weights_get(w, "self_attn.k_proj.weight", 2, (int64_t[]){64, 64});
    ck_assert_ptr_null(t);
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    const char *msg = wt_ctx_error(ctx);
    ck_assert_ptr_nonnull(strstr(msg, "model.safetensors"));
    ck_assert_ptr_nonnull(strstr(msg, "model.layers.0.self_attn.k_proj.weight"));
    ck_assert_ptr_nonnull(strstr(msg, "expected shape [64, 64], found [32, 64]"));
    ck_assert_str_eq(wt_last_error(), msg);
    ck_assert_ptr_null(strchr(msg, '\n'));
    /* sticky: later gets fail until the error is cleared */
    ck_assert_ptr_null(wt_weights_get(w, "input_layernorm.weight", 1, (int64_t[]){64}));
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_nonnull(wt_weights_get(w, "input_layernorm.weight", 1, (int64_t[]){64}));
    /* rank mismatch */
    ck_assert_ptr_null(wt_weights_get(w, "input_layernorm.weight", 2, (int64_t[]){64, 1}));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "expected shape [64, 1], found [64]"));
    wt_weights_close(w);
    wt_ctx_free(ctx);
}
END_TEST

START_TEST(test_missing_and_optional) {
    char p[1024];
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_weights *w = wt_weights_open(stories(p, sizeof p, "model.safetensors"), ctx, WT_F32);
    ck_assert_ptr_nonnull(w);
    /* tied embeddings: no lm_head (stories260K README) */
    ck_assert(!wt_weights_has(w, "lm_head.weight"));
    ck_assert_ptr_null(wt_weights_get_opt(w, "lm_head.weight", 2, (int64_t[]){512, 64}));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_OK);
    wt_weights_push(w, "model.layers.1.self_attn");
    ck_assert_ptr_null(wt_weights_get_opt(w, "q_proj.bias", 1, (int64_t[]){64}));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_OK);
    /* a present optional tensor still has its shape checked */
    ck_assert_ptr_null(wt_weights_get_opt(w, "q_proj.weight", 1, (int64_t[]){64}));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_clear_error(ctx);
    ck_assert_ptr_null(wt_weights_get(w, "q_proj.bias", 1, (int64_t[]){64}));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "'model.layers.1.self_attn.q_proj.bias' not found"));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "model.safetensors"));
    wt_weights_close(w);

    /* a missing file: NULL and a message naming it */
    ck_assert_ptr_null(wt_weights_open("/nonexistent/m.safetensors", ctx, WT_F32));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "/nonexistent/m.safetensors"));
    wt_ctx_free(ctx);
}
END_TEST

/* Every float file loads into every float dtype with the scalar conversions:
 * f16 file -> f32 exact, f32 file -> bf16 equals the bf16 file (README:
 * the variants are the f32 weights rounded to nearest even). */
START_TEST(test_dtype_conversion) {
    char p[1024], q[1024];
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_weights *w16 = wt_weights_open(stories(p, sizeof p, "model-f16.safetensors"), ctx, WT_F32);
    wt_weights *w32 = wt_weights_open(stories(q, sizeof q, "model.safetensors"), ctx, WT_BF16);
    ck_assert(w16 && w32);
    wt_st_file *bf = wt_st_open(stories(p, sizeof p, "model-bf16.safetensors"));
    wt_st_file *hf = wt_st_open(stories(q, sizeof q, "model-f16.safetensors"));
    const char *name = "model.layers.2.mlp.down_proj.weight";
    wt_tensor *a = wt_weights_get(w16, name, 2, (int64_t[]){64, 172});
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->dtype, WT_F32);
    const wt_st_entry *eh = wt_st_find(hf, name);
    for (int64_t i = 0; i < 64 * 172; i++) {
        uint16_t h;
        memcpy(&h, (const char *)eh->data + 2 * i, 2);
        ck_assert_float_eq(((float *)a->data)[i], wt_f16_to_f32(h));
    }
    wt_tensor *b = wt_weights_get(w32, name, 2, (int64_t[]){64, 172});
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(b->dtype, WT_BF16);
    ck_assert(memcmp(b->data, wt_st_find(bf, name)->data, 64 * 172 * 2) == 0);
    wt_weights_set_dtype(w32, WT_F16);
    wt_tensor *c = wt_weights_get(w32, name, 2, (int64_t[]){64, 172});
    ck_assert(memcmp(c->data, eh->data, 64 * 172 * 2) == 0);
    wt_weights_close(w16);
    wt_weights_close(w32);
    wt_st_close(bf);
    wt_st_close(hf);

    /* integer tensors keep their dtype whatever the loader's float dtype */
    wt_weights *io = wt_weights_open(wt_test_golden(p, sizeof p, "demucs/tiny-noisy/io.safetensors"),
                                     ctx, WT_F16);
    ck_assert_ptr_nonnull(io);
    wt_tensor *r = wt_weights_get(io, "ragged_chunks", 1, (int64_t[]){-1});
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->dtype, WT_I64);
    wt_weights_close(io);
    wt_ctx_free(ctx);
}
END_TEST

/* Reference weight norm: w[o, ...] = g[o] * v[o, ...] / sqrt(sum over the
 * row of v^2), in double. */
static void ref_weight_norm(const float *g, const float *v, int64_t out, int64_t inner, double *w) {
    for (int64_t o = 0; o < out; o++) {
        double s = 0;
        for (int64_t i = 0; i < inner; i++) s += (double)v[o * inner + i] * (double)v[o * inner + i];
        for (int64_t i = 0; i < inner; i++) w[o * inner + i] = g[o] * (double)v[o * inner + i] / sqrt(s);
    }
}

START_TEST(test_weight_norm_folding) {
    char dir[] = "/tmp/wt_wn_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[1024];
    snprintf(path, sizeof path, "%s/wn.safetensors", dir);
    wt_ctx *mk = wt_ctx_new_heap(NULL);
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 11);
    enum { OUT = 6, IN = 4, K = 3 };
    wt_tensor *g_old = wt_tensor_new3(mk, WT_F32, OUT, 1, 1);
    wt_tensor *v_old = wt_tensor_new3(mk, WT_F32, OUT, IN, K);
    wt_tensor *g_new = wt_tensor_new3(mk, WT_F32, OUT, 1, 1);
    wt_tensor *v_new = wt_tensor_new3(mk, WT_F16, OUT, IN, K); /* folding also converts */
    wt_tensor *plain = wt_tensor_new1(mk, WT_F32, OUT);
    wt_test_fill_uniform(g_old, &rng, 0.5f, 2);
    wt_test_fill_uniform(v_old, &rng, -1, 1);
    wt_test_fill_uniform(g_new, &rng, -2, 2);
    wt_test_fill_uniform(v_new, &rng, -1, 1);
    wt_test_fill_uniform(plain, &rng, -1, 1);
    const char *names[] = {"enc.conv.weight_g", "enc.conv.weight_v",
                           "dec.conv.parametrizations.weight.original0",
                           "dec.conv.parametrizations.weight.original1", "dec.conv.bias"};
    const wt_tensor *ts[] = {g_old, v_old, g_new, v_new, plain};
    ck_assert_int_eq(wt_st_write(path, 5, names, ts, 0, NULL, NULL), WT_OK);

    double ref[OUT * IN * K];
    float vf[OUT * IN * K];
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_weights *w = wt_weights_open(path, ctx, WT_F32);
    ck_assert_msg(w != NULL, "%s", wt_last_error());

    /* old style: weight_g / weight_v */
    ck_assert(wt_weights_has(w, "enc.conv.weight"));
    wt_weights_push(w, "enc.conv");
    wt_tensor *a = wt_weights_get(w, "weight", 3, (int64_t[]){OUT, IN, K});
    ck_assert_msg(a != NULL, "%s", wt_ctx_error(ctx));
    wt_weights_pop(w);
    ref_weight_norm(g_old->data, v_old->data, OUT, IN * K, ref);
    for (int i = 0; i < OUT * IN * K; i++)
        ck_assert_double_le(fabs(((float *)a->data)[i] - ref[i]), 1e-6 * fabs(ref[i]) + 1e-7);

    /* parametrizations form, v stored as f16 */
    ck_assert(wt_weights_has(w, "dec.conv.weight"));
    wt_tensor *b = wt_weights_get(w, "dec.conv.weight", 3, (int64_t[]){OUT, IN, K});
    ck_assert_msg(b != NULL, "%s", wt_ctx_error(ctx));
    for (int i = 0; i < OUT * IN * K; i++) vf[i] = wt_f16_to_f32(((uint16_t *)v_new->data)[i]);
    ref_weight_norm(g_new->data, vf, OUT, IN * K, ref);
    for (int i = 0; i < OUT * IN * K; i++)
        ck_assert_double_le(fabs(((float *)b->data)[i] - ref[i]), 1e-6 * fabs(ref[i]) + 1e-7);
    /* a plain tensor next to them is untouched */
    wt_tensor *bias = wt_weights_get(w, "dec.conv.bias", 1, (int64_t[]){OUT});
    ck_assert(memcmp(bias->data, plain->data, OUT * 4) == 0);

    /* folded into bf16: the f32 fold rounded once */
    wt_weights_set_dtype(w, WT_BF16);
    wt_tensor *c = wt_weights_get(w, "enc.conv.weight", 3, (int64_t[]){OUT, IN, K});
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->dtype, WT_BF16);
    for (int i = 0; i < OUT * IN * K; i++)
        ck_assert_uint_eq(((uint16_t *)c->data)[i], wt_f32_to_bf16(((float *)a->data)[i]));

    /* shape check applies to the folded weight and names it */
    ck_assert_ptr_null(wt_weights_get(w, "dec.conv.weight", 3, (int64_t[]){OUT, IN, K + 1}));
    ck_assert_ptr_nonnull(strstr(wt_ctx_error(ctx), "dec.conv.weight: expected shape [6, 4, 4], found [6, 4, 3]"));
    wt_ctx_clear_error(ctx);
    ck_assert(!wt_weights_has(w, "dec.conv.other"));
    ck_assert_ptr_null(wt_weights_get_opt(w, "enc.conv.bias", 1, (int64_t[]){OUT}));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_OK);

    wt_weights_close(w);
    wt_ctx_free(ctx);
    wt_ctx_free(mk);
    unlink(path);
    rmdir(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("weights");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_prefix_and_get);
    tcase_add_test(tc, test_shape_mismatch_message);
    tcase_add_test(tc, test_missing_and_optional);
    tcase_add_test(tc, test_dtype_conversion);
    tcase_add_test(tc, test_weight_norm_folding);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
