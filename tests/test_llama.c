/* Llama against ../shared/golden/llama: greedy ids (f32, f16, bf16 weights,
 * random-gqa), logits of the batched prefill and of the decode step,
 * teacher-forced sequences, zero allocations per decode step, sampling,
 * bad input, and the CLI. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wavetensor/llama.h"
#include "wt_test.h"
#include "wt_test_json.h"
#include "wt_test_llama.h"
#include "wt_test_proc.h"

static bool g_op_attention; /* decode attention through the generic ops */

static wt_llama *load_model(const char *dir, const char *weights, int64_t context) {
    char cpath[1024], wpath[1024], rel[512];
    wt_llama_config cfg;
    snprintf(rel, sizeof rel, "llama/%s/config.json", dir);
    ck_assert_msg(wt_llama_config_load(wt_test_golden(cpath, sizeof cpath, rel), &cfg) == WT_OK,
                  "%s", wt_last_error());
    snprintf(rel, sizeof rel, "llama/%s/%s", dir, weights);
    wt_llama_options opt = wt_llama_options_default();
    opt.context = context;
    opt.prefill_chunk = 16; /* several chunks on the longer prompts */
    opt.op_attention = g_op_attention;
    wt_llama *m = wt_llama_new(&cfg, wt_test_golden(wpath, sizeof wpath, rel), &opt);
    ck_assert_msg(m != NULL, "%s", wt_last_error());
    return m;
}

/* ---- greedy cases ---- */

static void check_sequence(const char *dir, const char *seqname, double tol_all, double tol_first8);

enum { MAXTOK = 1024 };

/* Runs every greedy case of `cases` on `weights`: ids, n_forward, stop,
 * and the stored logits through both the prefill and the decode path. */
static void check_cases(const char *dir, const char *weights, const cJSON *cases) {
    wt_llama *m = load_model(dir, weights, 0);
    const cJSON *cs;
    cJSON_ArrayForEach(cs, cases) {
        const char *name = cJSON_GetObjectItem(cs, "name")->valuestring;
        int32_t prompt[MAXTOK], expect[MAXTOK], got[MAXTOK];
        int64_t np = wt_test_json_ids(cJSON_GetObjectItem(cs, "prompt"), prompt, MAXTOK);
        int64_t ne = wt_test_json_ids(cJSON_GetObjectItem(cs, "generated"), expect, MAXTOK);
        int64_t steps = cJSON_GetObjectItem(cs, "steps")->valueint;
        int64_t nfwd = cJSON_GetObjectItem(cs, "n_forward")->valueint;
        const char *stop = cJSON_GetObjectItem(cs, "stop")->valuestring;

        wt_test_llama_generate_check(m, name, prompt, np, steps, expect, ne, nfwd, stop, got, MAXTOK);

        /* logits of the first positions of prompt + generated */
        const cJSON *lj = cJSON_GetObjectItem(cs, "logits");
        int64_t rows = cJSON_GetObjectItem(lj, "positions")->valueint;
        int32_t toks[MAXTOK];
        memcpy(toks, prompt, (size_t)np * sizeof *toks);
        memcpy(toks + np, expect, (size_t)ne * sizeof *toks);
        ck_assert_int_le(rows, np + ne);
        wt_test_llama_logits_check(m, name, dir, cJSON_GetObjectItem(lj, "tensor")->valuestring,
                                   toks, rows);
    }
    wt_llama_free(m);
}

START_TEST(test_stories_f32) {
    cJSON *j = wt_test_golden_json("llama/stories260K/expected.json");
    check_cases("stories260K", "model.safetensors", cJSON_GetObjectItem(j, "cases"));
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_stories_bf16) {
    cJSON *j = wt_test_golden_json("llama/stories260K/expected.json");
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "dtype_variants"), "bf16");
    check_cases("stories260K", cJSON_GetObjectItem(v, "model")->valuestring,
                cJSON_GetObjectItem(v, "cases"));
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_stories_f16) {
    cJSON *j = wt_test_golden_json("llama/stories260K/expected.json");
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "dtype_variants"), "f16");
    check_cases("stories260K", cJSON_GetObjectItem(v, "model")->valuestring,
                cJSON_GetObjectItem(v, "cases"));
    cJSON_Delete(j);
}
END_TEST

/* Attention composed of generic ops (matmul, softmax) instead of the
 * wt_attention_cached op, prefill and decode alike. */
START_TEST(test_op_attention) {
    g_op_attention = true;
    cJSON *j = wt_test_golden_json("llama/stories260K/expected.json");
    check_cases("stories260K", "model.safetensors", cJSON_GetObjectItem(j, "cases"));
    cJSON_Delete(j);
    j = wt_test_golden_json("llama/random-gqa/expected.json");
    check_cases("random-gqa", "model.safetensors", cJSON_GetObjectItem(j, "cases"));
    cJSON_Delete(j);
    check_sequence("stories260K", "greedy_path_512", 1e-3, 1e-4);
    g_op_attention = false;
}
END_TEST

START_TEST(test_random_gqa) {
    cJSON *j = wt_test_golden_json("llama/random-gqa/expected.json");
    check_cases("random-gqa", "model.safetensors", cJSON_GetObjectItem(j, "cases"));
    cJSON_Delete(j);
}
END_TEST

/* ---- teacher-forced sequences ---- */

static void check_sequence(const char *dir, const char *seqname, double tol_all, double tol_first8) {
    char rel[256];
    snprintf(rel, sizeof rel, "llama/%s/expected.json", dir);
    cJSON *j = wt_test_golden_json(rel);
    const cJSON *seq = NULL, *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "sequences"))
        if (!strcmp(cJSON_GetObjectItem(it, "name")->valuestring, seqname)) seq = it;
    ck_assert_ptr_nonnull(seq);
    int32_t ids[MAXTOK];
    int64_t n = wt_test_json_ids(cJSON_GetObjectItem(seq, "ids"), ids, MAXTOK);
    wt_llama *m = load_model(dir, "model.safetensors", 0);
    int64_t V = wt_llama_cfg(m)->vocab;
    float *ref = wt_test_llama_logits(dir, seqname, n, V);
    float *all = malloc((size_t)(n * V) * sizeof *all);
    ck_assert_msg(wt_llama_prefill(m, ids, n, all) == WT_OK, "%s", wt_last_error());
    double d8 = wt_test_max_abs_diff(all, ref, 8 * V), dall = wt_test_max_abs_diff(all, ref, n * V);
    wt_llama_reset(m);
    double s8 = 0, sall = 0;
    for (int64_t p = 0; p < n; p++) {
        ck_assert(wt_llama_step(m, ids[p]) == WT_OK);
        double d = wt_test_max_abs_diff(wt_llama_logits(m), ref + p * V, V);
        if (d > sall) sall = d;
        if (p < 8 && d > s8) s8 = d;
    }
    ck_assert_msg(d8 <= tol_first8 && dall <= tol_all, "%s prefill: %g (first 8), %g (all)",
                  seqname, d8, dall);
    ck_assert_msg(s8 <= tol_first8 && sall <= tol_all, "%s steps: %g (first 8), %g (all)", seqname,
                  s8, sall);
    free(all);
    free(ref);
    wt_llama_free(m);
    cJSON_Delete(j);
}

START_TEST(test_sequence_512) { check_sequence("stories260K", "greedy_path_512", 1e-3, 1e-4); }
END_TEST

START_TEST(test_sequence_random) { check_sequence("random-gqa", "random_seq_64", 1e-4, 1e-4); }
END_TEST

/* ---- zero allocations per decode step ---- */

START_TEST(test_step_no_alloc) {
    wt_llama *m = load_model("stories260K", "model-bf16.safetensors", 0);
    int32_t tok = 1;
    int fails = 0;
    for (int i = 0; i < 4; i++) { /* warm-up */
        fails += wt_llama_step(m, tok) != WT_OK;
        tok = wt_llama_argmax(wt_llama_logits(m), 512);
    }
    uint64_t before = wt_test_alloc_calls();
    for (int i = 0; i < 300; i++) {
        fails += wt_llama_step(m, tok) != WT_OK;
        tok = wt_llama_argmax(wt_llama_logits(m), 512);
    }
    uint64_t after = wt_test_alloc_calls();
    /* the same with two matmul threads (after their own warm-up) */
    wt_llama_set_threads(m, 2);
    for (int i = 0; i < 4; i++) {
        fails += wt_llama_step(m, tok) != WT_OK;
        tok = wt_llama_argmax(wt_llama_logits(m), 512);
    }
    uint64_t before2 = wt_test_alloc_calls();
    for (int i = 0; i < 100; i++) {
        fails += wt_llama_step(m, tok) != WT_OK;
        tok = wt_llama_argmax(wt_llama_logits(m), 512);
    }
    uint64_t after2 = wt_test_alloc_calls();
    ck_assert_int_eq(fails, 0);
    ck_assert_uint_eq(after - before, 0);
    ck_assert_uint_eq(after2 - before2, 0);
    ck_assert_int_eq(wt_llama_pos(m), 408);
    wt_llama_free(m);
}
END_TEST

/* ---- sampling ---- */

START_TEST(test_sampler) {
    float logits[4] = {0.0f, logf(3.0f), -INFINITY, logf(0.5f)};
    /* greedy */
    wt_llama_sampler *g = wt_llama_sampler_new(4, 0.0f, 0.9f, 7);
    ck_assert_int_eq(wt_llama_sample(g, logits), 1);
    wt_llama_sampler_free(g);
    /* temperature 1: probabilities 1/4.5, 3/4.5, 0, 0.5/4.5 */
    wt_llama_sampler *s = wt_llama_sampler_new(4, 1.0f, 1.0f, 42);
    int count[4] = {0};
    const int N = 20000;
    for (int i = 0; i < N; i++) count[wt_llama_sample(s, logits)]++;
    wt_llama_sampler_free(s);
    ck_assert_int_eq(count[2], 0);
    /* 5 standard deviations of a binomial count */
    const double p[4] = {1 / 4.5, 3 / 4.5, 0, 0.5 / 4.5};
    for (int k = 0; k < 4; k++)
        ck_assert_msg(fabs(count[k] - N * p[k]) <= 5 * sqrt(N * p[k] * (1 - p[k])) + 1e-9,
                      "id %d: %d of %d", k, count[k], N);
    /* top-p 0.7: the nucleus is {1, 0} (mass 0.667 < 0.7 <= 0.889) */
    s = wt_llama_sampler_new(4, 1.0f, 0.7f, 42);
    int c2[4] = {0};
    for (int i = 0; i < N; i++) c2[wt_llama_sample(s, logits)]++;
    wt_llama_sampler_free(s);
    ck_assert_int_eq(c2[2] + c2[3], 0);
    ck_assert(fabs(c2[0] - N * 0.25) <= 5 * sqrt(N * 0.25 * 0.75));
    /* the same seed gives the same tokens; another seed other tokens */
    wt_llama_sampler *a = wt_llama_sampler_new(4, 0.8f, 0.95f, 5),
                     *b = wt_llama_sampler_new(4, 0.8f, 0.95f, 5),
                     *c = wt_llama_sampler_new(4, 0.8f, 0.95f, 6);
    int same = 0, diff = 0;
    for (int i = 0; i < 200; i++) {
        int x = wt_llama_sample(a, logits), y = wt_llama_sample(b, logits),
            z = wt_llama_sample(c, logits);
        same += x == y;
        diff += x != z;
    }
    ck_assert_int_eq(same, 200);
    ck_assert_int_gt(diff, 0);
    wt_llama_sampler_free(a);
    wt_llama_sampler_free(b);
    wt_llama_sampler_free(c);
    ck_assert_ptr_null(wt_llama_sampler_new(4, -1.0f, 0.9f, 1));
}
END_TEST

/* ---- bad input ---- */

static char g_tmpdir[256];

/* g_tmpdir is made by main before Check forks the tests. */
static const char *tmp_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", g_tmpdir, name);
    return buf;
}

/* The stories260K config with one key replaced. */
static wt_status config_with(const char *key, const char *value, wt_llama_config *cfg) {
    char path[1024];
    char *text =
        wt_test_read_text(wt_test_golden(path, sizeof path, "llama/stories260K/config.json"));
    cJSON *j = cJSON_Parse(text);
    free(text);
    cJSON_ReplaceItemInObject(j, key, cJSON_Parse(value));
    char *out = cJSON_Print(j);
    wt_config *c = wt_config_parse(out, "config.json");
    wt_status s = c ? wt_llama_config_from(c, "config.json", cfg) : WT_ERR_FORMAT;
    wt_config_free(c);
    free(out);
    cJSON_Delete(j);
    return s;
}

START_TEST(test_bad_config) {
    char wpath[1024];
    wt_test_golden(wpath, sizeof wpath, "llama/stories260K/model.safetensors");
    wt_llama_config cfg;
    /* hidden size that does not match the tensors */
    ck_assert_int_eq(config_with("hidden_size", "128", &cfg), WT_OK);
    ck_assert_ptr_null(wt_llama_new(&cfg, wpath, NULL));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "model.embed_tokens.weight"));
    /* fewer layers than the file */
    ck_assert_int_eq(config_with("num_hidden_layers", "4", &cfg), WT_OK);
    ck_assert_ptr_null(wt_llama_new(&cfg, wpath, NULL));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "layers"));
    /* more layers than the file */
    ck_assert_int_eq(config_with("num_hidden_layers", "6", &cfg), WT_OK);
    ck_assert_ptr_null(wt_llama_new(&cfg, wpath, NULL));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "model.layers.5"));
    /* an untied head that the file does not have */
    ck_assert_int_eq(config_with("tie_word_embeddings", "false", &cfg), WT_OK);
    ck_assert_ptr_null(wt_llama_new(&cfg, wpath, NULL));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "lm_head.weight"));
    /* kv heads that do not divide the heads */
    ck_assert_int_ne(config_with("num_key_value_heads", "3", &cfg), WT_OK);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "num_key_value_heads"));
    ck_assert_int_ne(config_with("rope_scaling", "{\"type\": \"linear\", \"factor\": 2.0}", &cfg),
                     WT_OK);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "rope_scaling"));
    /* a missing file */
    ck_assert_int_eq(config_with("hidden_size", "64", &cfg), WT_OK);
    ck_assert_ptr_null(wt_llama_new(&cfg, "/nonexistent/model.safetensors", NULL));
    ck_assert_int_ne(wt_llama_config_load("/nonexistent/config.json", &cfg), WT_OK);
}
END_TEST

START_TEST(test_bad_tokens_and_context) {
    wt_llama *m = load_model("stories260K", "model.safetensors", 16);
    int32_t ids[20] = {1, 5, 600};
    /* ids outside the vocabulary */
    ck_assert_int_eq(wt_llama_prefill(m, ids, 3, NULL), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "600"));
    ck_assert_int_eq(wt_llama_step(m, -1), WT_ERR_INVALID);
    ck_assert_int_eq(wt_llama_step(m, 512), WT_ERR_INVALID);
    ck_assert_int_eq(wt_llama_pos(m), 0);
    /* prompt longer than the context */
    for (int i = 0; i < 20; i++) ids[i] = 1 + i;
    ck_assert_int_eq(wt_llama_prefill(m, ids, 17, NULL), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "context"));
    ck_assert_int_ne(wt_llama_generate(m, ids, 17, 17, NULL, false, NULL, 0, NULL, NULL, NULL),
                     WT_OK);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "longer than the context"));
    ck_assert_int_ne(wt_llama_generate(m, ids, 4, 17, NULL, false, NULL, 0, NULL, NULL, NULL),
                     WT_OK);
    /* filling the context exactly works; one more step is an error */
    wt_llama_reset(m);
    ck_assert_int_eq(wt_llama_prefill(m, ids, 15, NULL), WT_OK);
    ck_assert_int_eq(wt_llama_step(m, 3), WT_OK);
    ck_assert_int_eq(wt_llama_step(m, 3), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "past the context"));
    ck_assert_int_eq(wt_llama_prefill(m, ids, 0, NULL), WT_ERR_INVALID);
    wt_llama_free(m);
    /* a context above max_position_embeddings */
    char cpath[1024];
    wt_llama_config cfg;
    ck_assert_int_eq(wt_llama_config_load(
                         wt_test_golden(cpath, sizeof cpath, "llama/stories260K/config.json"), &cfg),
                     WT_OK);
    wt_llama_options o = wt_llama_options_default();
    o.context = 513;
    ck_assert_ptr_null(wt_llama_new_random(&cfg, 1, &o));
}
END_TEST

/* ---- tokenizers (tiny hand-made vocabularies, expectations worked out by hand) ---- */

/* ids 0..2 specials, 3..258 the byte tokens <0x00>..<0xFF>, then these */
static const char *const k_pieces[] = {" ", "a", "b", " a", "ab", " ab", "c"};
static const float k_scores[] = {-5.0f, -5.0f, -5.0f, -1.0f, -2.0f, -0.5f, -5.0f};

static void write_tokenizer_bin(const char *path, int extra_trunc) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    int32_t maxlen = 8;
    fwrite(&maxlen, 4, 1, f);
    char piece[16];
    for (int i = 0; i < 266 - extra_trunc; i++) {
        float sc = 0;
        if (i < 3) snprintf(piece, sizeof piece, "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
        else if (i < 259) snprintf(piece, sizeof piece, "<0x%02X>", i - 3);
        else {
            snprintf(piece, sizeof piece, "%s", k_pieces[i - 259]);
            sc = k_scores[i - 259];
        }
        int32_t len = (int32_t)strlen(piece);
        fwrite(&sc, 4, 1, f);
        fwrite(&len, 4, 1, f);
        fwrite(piece, 1, (size_t)len, f);
    }
    fclose(f);
}

static void expect_ids(const wt_llama_tokenizer *t, const char *text, bool bos, const int32_t *want,
                       int64_t nwant) {
    int32_t got[32];
    int64_t n = -1;
    ck_assert_msg(wt_llama_encode(t, text, bos, got, 32, &n) == WT_OK, "%s", wt_last_error());
    ck_assert_msg(n == nwant, "'%s': %lld ids, expected %lld", text, (long long)n, (long long)nwant);
    for (int64_t i = 0; i < n; i++) ck_assert_msg(got[i] == want[i], "'%s': id %lld is %d, expected %d",
                                                  text, (long long)i, got[i], want[i]);
}

static void expect_piece(const wt_llama_tokenizer *t, int32_t prev, int32_t id, const char *want,
                         size_t wlen) {
    size_t len = 99;
    const char *p = wt_llama_decode(t, prev, id, &len);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(len, wlen);
    ck_assert(memcmp(p, want, wlen) == 0);
}

START_TEST(test_tokenizer_bin) {
    char path[512];
    write_tokenizer_bin(tmp_path(path, sizeof path, "tok.bin"), 0);
    wt_llama_tokenizer *t = wt_llama_tokenizer_load_bin(path, 266);
    ck_assert_msg(t != NULL, "%s", wt_last_error());
    /* " ab": " "+"a" (score -1) beats "a"+"b" (-2); then " a"+"b" = " ab" */
    expect_ids(t, "ab", true, (const int32_t[]){1, 264}, 2);
    expect_ids(t, "abc", false, (const int32_t[]){264, 265}, 2);
    /* nothing merges */
    expect_ids(t, "ba", false, (const int32_t[]){259, 261, 260}, 3);
    /* U+00E9 is not a piece: its UTF-8 bytes C3 A9 become byte tokens 3 + byte */
    expect_ids(t, "\xC3\xA9", false, (const int32_t[]){259, 3 + 0xC3, 3 + 0xA9}, 3);
    expect_ids(t, "", true, (const int32_t[]){1}, 1);
    /* decoding: the first piece after BOS loses its space, byte tokens give bytes */
    expect_piece(t, 1, 264, "ab", 2);
    expect_piece(t, 264, 262, " a", 2);
    expect_piece(t, 264, 3 + 0x0A, "\n", 1);
    expect_piece(t, 264, 3, "\0", 1);
    size_t len;
    ck_assert_ptr_null(wt_llama_decode(t, 1, 266, &len));
    int32_t small[1];
    int64_t n;
    ck_assert_int_ne(wt_llama_encode(t, "ba", true, small, 1, &n), WT_OK);
    wt_llama_tokenizer_free(t);
    /* vocabulary size different from the file's, truncated file */
    ck_assert_ptr_null(wt_llama_tokenizer_load_bin(path, 300));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "tok.bin"));
    ck_assert_ptr_null(wt_llama_tokenizer_load_bin(path, 200));
    write_tokenizer_bin(path, 3);
    ck_assert_ptr_null(wt_llama_tokenizer_load_bin(path, 266));
    ck_assert_ptr_null(wt_llama_tokenizer_load_bin("/nonexistent/tok.bin", 266));
}
END_TEST

static void write_tokenizer_json(const char *path, const char *type, bool array_merges) {
    cJSON *root = cJSON_CreateObject(), *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", type);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    char piece[16];
    for (int i = 3; i < 259; i++) {
        snprintf(piece, sizeof piece, "<0x%02X>", i - 3);
        cJSON_AddNumberToObject(vocab, piece, i);
    }
    /* U+2581 is the SentencePiece space */
    const char *pieces[] = {"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab", "\xE2\x96\x81" "ab", "c"};
    for (int i = 0; i < 7; i++) cJSON_AddNumberToObject(vocab, pieces[i], 259 + i);
    cJSON_AddNumberToObject(vocab, "<unk>", 0);
    /* rank 0 "a b", rank 1 "▁ a", rank 2 "▁a b" */
    const char *m[3][2] = {{"a", "b"}, {"\xE2\x96\x81", "a"}, {"\xE2\x96\x81" "a", "b"}};
    cJSON *merges = cJSON_AddArrayToObject(model, "merges");
    for (int i = 0; i < 3; i++) {
        if (array_merges) {
            cJSON *pair = cJSON_CreateArray();
            cJSON_AddItemToArray(pair, cJSON_CreateString(m[i][0]));
            cJSON_AddItemToArray(pair, cJSON_CreateString(m[i][1]));
            cJSON_AddItemToArray(merges, pair);
        } else {
            char s[32];
            snprintf(s, sizeof s, "%s %s", m[i][0], m[i][1]);
            cJSON_AddItemToArray(merges, cJSON_CreateString(s));
        }
    }
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    const char *specials[3] = {"<unk>", "<s>", "</s>"};
    for (int i = 0; i < 3; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", i);
        cJSON_AddStringToObject(a, "content", specials[i]);
        cJSON_AddItemToArray(added, a);
    }
    char *text = cJSON_Print(root);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(text);
    cJSON_Delete(root);
}

START_TEST(test_tokenizer_json) {
    char path[512];
    tmp_path(path, sizeof path, "tokenizer.json");
    for (int form = 0; form < 2; form++) {
        write_tokenizer_json(path, "BPE", form == 1);
        wt_llama_tokenizer *t = wt_llama_tokenizer_load_json(path);
        ck_assert_msg(t != NULL, "%s", wt_last_error());
        ck_assert_int_eq(wt_llama_tokenizer_vocab(t), 266);
        /* merge ranks, not piece scores: "a b" (rank 0) goes first, and
         * "▁ ab" is no merge, so "ab" -> [▁, ab] */
        expect_ids(t, "ab", true, (const int32_t[]){1, 259, 263}, 3);
        /* "▁a▁b": "▁ a" (rank 1) merges, nothing else does */
        expect_ids(t, "a b", false, (const int32_t[]){262, 259, 261}, 3);
        /* "▁ac": "▁ a" merges, "▁a c" is no merge */
        expect_ids(t, "ac", false, (const int32_t[]){262, 265}, 2);
        expect_ids(t, "\xC3\xA9", false, (const int32_t[]){259, 3 + 0xC3, 3 + 0xA9}, 3);
        expect_piece(t, 1, 262, "a", 1);
        expect_piece(t, 262, 259, " ", 1);
        expect_piece(t, 262, 264, " ab", 3);
        wt_llama_tokenizer_free(t);
    }
    write_tokenizer_json(path, "Unigram", false);
    ck_assert_ptr_null(wt_llama_tokenizer_load_json(path));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "BPE"));
    FILE *f = fopen(path, "wb");
    fputs("{\"model\": ", f);
    fclose(f);
    ck_assert_ptr_null(wt_llama_tokenizer_load_json(path));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "tokenizer.json"));
}
END_TEST

/* The Llama 2 tokenizer (llama2.c's tokenizer.bin, 32000 pieces) on the
 * prompts of llama2.c's own tokenizer test, with the ids that test lists
 * (they come from the reference SentencePiece). Runs only when
 * WT_LLAMA2_TOKENIZER_BIN names that file; it is not part of ../shared. */
START_TEST(test_tokenizer_llama2) {
    const char *path = getenv("WT_LLAMA2_TOKENIZER_BIN");
    if (!path || !path[0]) return;
    wt_llama_tokenizer *t = wt_llama_tokenizer_load_bin(path, 32000);
    ck_assert_msg(t != NULL, "%s", wt_last_error());
    expect_ids(t, "I believe the meaning of life is", true,
               (const int32_t[]){1, 306, 4658, 278, 6593, 310, 2834, 338}, 8);
    expect_ids(t, "Simply put, the theory of relativity states that ", true,
               (const int32_t[]){1, 3439, 17632, 1925, 29892, 278, 6368, 310, 14215, 537, 5922, 393, 29871}, 13);
    expect_ids(t, "A brief message congratulating the team on the launch:\n\n        Hi everyone,\n\n        I just ",
               true,
               (const int32_t[]){1, 319, 11473, 2643, 378, 629, 271, 18099, 278, 3815, 373, 278, 6826,
                                 29901, 13, 13, 4706, 6324, 14332, 29892, 13, 13, 4706, 306, 925, 29871},
               26);
    wt_llama_tokenizer_free(t);
}
END_TEST

/* ---- CLI ---- */

/* Runs the CLI with `args` (a shell word list); stdout and stderr go to
 * files; returns the exit status. */
static int run_cli(const char *args, char **out, char **err) {
    const char *cli = getenv("WT_CLI");
    ck_assert_msg(cli != NULL, "WT_CLI is not set");
    char o[512], e[512], cmd[4096];
    tmp_path(o, sizeof o, "stdout.txt");
    tmp_path(e, sizeof e, "stderr.txt");
    /* redirections first: some cases end in a shell comment */
    snprintf(cmd, sizeof cmd, "'%s' >'%s' 2>'%s' %s", cli, o, e, args);
    int st = system(cmd);
    *out = wt_test_read_text(o);
    *err = wt_test_read_text(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

START_TEST(test_cli_generate_ids) {
    cJSON *j = wt_test_golden_json("llama/stories260K/expected.json");
    const cJSON *cs = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "cases"), 2); /* long_prompt_200 */
    int32_t prompt[MAXTOK], expect[MAXTOK];
    int64_t np = wt_test_json_ids(cJSON_GetObjectItem(cs, "prompt"), prompt, MAXTOK);
    int64_t ne = wt_test_json_ids(cJSON_GetObjectItem(cs, "generated"), expect, MAXTOK);
    char args[8192], dir[1024];
    int k = snprintf(args, sizeof args, "llama generate --model '%s' --prompt-ids '",
                     wt_test_golden(dir, sizeof dir, "llama/stories260K"));
    for (int64_t i = 0; i < np; i++) k += snprintf(args + k, sizeof args - (size_t)k, "%d ", prompt[i]);
    snprintf(args + k, sizeof args - (size_t)k, "' -n %lld --ids", (long long)ne);
    char *out, *err;
    int rc = run_cli(args, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    char want[8192];
    int w = 0;
    for (int64_t i = 0; i < ne; i++)
        w += snprintf(want + w, sizeof want - (size_t)w, i ? " %d" : "%d", expect[i]);
    snprintf(want + w, sizeof want - (size_t)w, "\n");
    ck_assert_str_eq(out, want);
    ck_assert_ptr_nonnull(strstr(err, "tok/s"));
    free(out);
    free(err);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_cli_errors) {
    char dir[1024], args[2048];
    wt_test_golden(dir, sizeof dir, "llama/stories260K");
    struct { const char *fmt; int code; const char *needle; } cases[] = {
        {"llama generate --model '%s' --prompt-ids '1 5 700' -n 4 --ids", 1, "vocabulary"},
        {"llama generate --model '%s' --prompt-ids '1 2 x' -n 4 --ids", 2, "prompt-ids"},
        {"llama generate --model '%s' --prompt-ids '1 5' -n 600 --ids", 1, "context"},
        {"llama generate --model '%s' --prompt-ids '1' -n -3 --ids", 2, "-n"},
        {"llama generate --model '%s' --prompt-ids '1' -n 4 --temperature -1", 2, "temperature"},
        {"llama generate --model '%s' --prompt-ids '1' -n 4 --bogus", 2, "--bogus"},
        {"llama generate --model '%s/nope' --prompt-ids '1' -n 4", 1, "config.json"},
        {"llama generate --model '%s' --weights '%s/config.json' --prompt-ids '1' -n 4", 1, "config.json"},
        {"llama generate --prompt-ids '1' -n 4 #%s", 2, "--model"},
        {"llama frobnicate #%s", 2, "frobnicate"},
        {"bench llama --dtype f8 #%s", 2, "dtype"},
        {"llama generate --model '%s' --context 4 --prompt-ids '1 5 6 7 8' -n 1 --ids", 1, "context"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(args, sizeof args, cases[i].fmt, dir, dir);
        char *out, *err;
        int rc = run_cli(args, &out, &err);
        ck_assert_msg(rc == cases[i].code, "%s: exit %d, expected %d (%s)", args, rc, cases[i].code, err);
        ck_assert_msg(count_lines(err) == 1 && !strncmp(err, "wavetensor: ", 12),
                      "%s: stderr is not one line: %s", args, err);
        ck_assert_msg(strstr(err, cases[i].needle) != NULL, "%s: %s", args, err);
        ck_assert_str_eq(out, "");
        free(out);
        free(err);
    }
    /* a config whose hidden size does not match the weights */
    char cfg[512];
    char *text = wt_test_read_text(wt_test_golden(args, sizeof args, "llama/stories260K/config.json"));
    ck_assert_ptr_nonnull(text);
    cJSON *j = cJSON_Parse(text);
    free(text);
    cJSON_ReplaceItemInObject(j, "hidden_size", cJSON_CreateNumber(128));
    text = cJSON_Print(j);
    FILE *f = fopen(tmp_path(cfg, sizeof cfg, "bad_config.json"), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(text);
    cJSON_Delete(j);
    snprintf(args, sizeof args, "llama generate --config '%s' --weights '%s/model.safetensors' --prompt-ids 1 -n 2",
             cfg, dir);
    char *out, *err;
    int rc = run_cli(args, &out, &err);
    ck_assert_msg(rc == 1 && count_lines(err) == 1 && strstr(err, "model.embed_tokens.weight"), "%d: %s", rc, err);
    ck_assert_str_eq(out, "");
    free(out);
    free(err);
    unlink(cfg);
}
END_TEST

START_TEST(test_cli_bench_json) {
    char dir[1024], args[2048];
    wt_test_golden(dir, sizeof dir, "llama/stories260K");
    snprintf(args, sizeof args, "bench llama --config '%s/config.json' --tokens 8 --dtype bf16 --json", dir);
    char *out, *err;
    int rc = run_cli(args, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(j != NULL, "not JSON: %s", out);
    const char *keys[3] = {"prefill_tok_s", "decode_tok_s", "weights_gb_s"};
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItem(j, keys[i]);
        ck_assert_msg(cJSON_IsNumber(v) && v->valuedouble > 0, "%s", keys[i]);
    }
    cJSON_Delete(j);
    free(out);
    free(err);
}
END_TEST

int main(void) {
    strcpy(g_tmpdir, "/tmp/wt_llama_test_XXXXXX");
    if (!mkdtemp(g_tmpdir)) return EXIT_FAILURE;
    Suite *s = suite_create("llama");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_stories_f32);
    tcase_add_test(tc, test_stories_bf16);
    tcase_add_test(tc, test_stories_f16);
    tcase_add_test(tc, test_random_gqa);
    tcase_add_test(tc, test_op_attention);
    tcase_add_test(tc, test_sequence_512);
    tcase_add_test(tc, test_sequence_random);
    tcase_add_test(tc, test_step_no_alloc);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("input");
    tcase_set_timeout(tb, 600);
    tcase_add_test(tb, test_sampler);
    tcase_add_test(tb, test_bad_config);
    tcase_add_test(tb, test_bad_tokens_and_context);
    tcase_add_test(tb, test_tokenizer_bin);
    tcase_add_test(tb, test_tokenizer_json);
    tcase_add_test(tb, test_tokenizer_llama2);
    tcase_add_test(tb, test_cli_generate_ids);
    tcase_add_test(tb, test_cli_errors);
    tcase_add_test(tb, test_cli_bench_json);
    suite_add_tcase(s, tb);
    int rc = wt_test_run(s);
    char path[300];
    unlink(tmp_path(path, sizeof path, "stdout.txt"));
    unlink(tmp_path(path, sizeof path, "stderr.txt"));
    unlink(tmp_path(path, sizeof path, "tok.bin"));
    unlink(tmp_path(path, sizeof path, "tokenizer.json"));
    rmdir(g_tmpdir);
    return rc;
}
