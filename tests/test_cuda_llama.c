/* wt_llama on the CUDA backend against ../shared/golden/llama: the greedy
 * cases of every weight file (ids exact, logits of the batched prefill and
 * of the decode step within the README's 1e-4), random-gqa, the
 * teacher-forced sequences, and the decode step replayed as a captured
 * graph: logits equal bit for bit to eager steps of the same weights, and
 * no host allocation per replayed step. The f16/bf16 files are converted
 * to f32 at load, the README's compute convention for their expectations:
 * kept in f16/bf16, the CUDA GEMM rounds the activations to that type too
 * (wavetensor/llama.h), which moves these logits by 0.03 (f16) and 0.24
 * (bf16); the replay test runs the kept-bf16 path.
 *
 * Without a device (or without a CUDA build) the program prints
 * "skipped: no CUDA device" and exits 77. Built with WT_TEST_CUDA_EMU
 * (tests/cuda_emu) the same suite runs on the emulated backend, where a
 * subset keeps it fast (the real GPU runs everything): the first cases of
 * each file cut after EMU_STEPS forward passes (a prefix of the greedy
 * path: the same ids up to there) with their first EMU_LOGIT_ROWS stored
 * logit rows, a short context, shorter sequences, fewer replayed steps. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "wavetensor/llama.h"
#include "wt_test.h"
#include "wt_test_json.h"
#include "wt_test_llama.h"
#include "wt_test_proc.h"

#include "wt_test_dev.h"

#ifdef WT_TEST_CUDA_EMU
enum { REPLAY_STEPS = 10, AFTER_PROMPT_STEPS = 4, EMU_STEPS = 12, EMU_CONTEXT = 32,
       EMU_LOGIT_ROWS = 4, STORIES_CASES = 2, VARIANT_CASES = 1, SEQ_TOKENS = 8 };
#else
enum { REPLAY_STEPS = 200, AFTER_PROMPT_STEPS = 64, EMU_STEPS = 0, EMU_CONTEXT = 0,
       EMU_LOGIT_ROWS = 0, STORIES_CASES = 1000, VARIANT_CASES = 1000, SEQ_TOKENS = 1024 };
#endif

enum { MAXTOK = 1024 };


/* A model of golden dir `dir` on the device; dtype WT_DTYPE_COUNT keeps
 * the file's; context 0 = max_position_embeddings. */
static wt_llama *load_model(const char *dir, const char *weights, wt_dtype dtype, bool graphs,
                            int64_t context) {
    char cpath[1024], wpath[1024], rel[512];
    wt_llama_config cfg;
    snprintf(rel, sizeof rel, "llama/%s/config.json", dir);
    ck_assert_msg(wt_llama_config_load(wt_test_golden(cpath, sizeof cpath, rel), &cfg) == WT_OK,
                  "%s", wt_last_error());
    snprintf(rel, sizeof rel, "llama/%s/%s", dir, weights);
    wt_llama_options opt = wt_llama_options_default();
    opt.backend = dev_backend();
    opt.dtype = dtype;
    opt.graphs = graphs;
    opt.context = context;
    opt.prefill_chunk = 16; /* several chunks on the longer prompts */
    wt_llama *m = wt_llama_new(&cfg, wt_test_golden(wpath, sizeof wpath, rel), &opt);
    ck_assert_msg(m != NULL, "%s", wt_last_error());
    ck_assert_ptr_eq(wt_llama_backend(m), dev_backend());
    return m;
}

/* ---- greedy cases ---- */

/* Every case of `cases` (at most max_cases) on `weights`: ids, n_forward,
 * stop, and the stored logits through the prefill and the decode step.
 * With max_steps > 0 a case of more forward passes runs only max_steps of
 * them: the first generated ids of its path. */
static void check_cases(const char *dir, const char *weights, wt_dtype dtype, const cJSON *cases,
                        int max_cases, int64_t max_steps, int64_t context) {
    wt_llama *m = load_model(dir, weights, dtype, true, context);
    const cJSON *cs;
    int done = 0;
    cJSON_ArrayForEach(cs, cases) {
        if (done++ == max_cases) break;
        const char *name = cJSON_GetObjectItem(cs, "name")->valuestring;
        int32_t prompt[MAXTOK], expect[MAXTOK], got[MAXTOK];
        int64_t np = wt_test_json_ids(cJSON_GetObjectItem(cs, "prompt"), prompt, MAXTOK);
        int64_t ne = wt_test_json_ids(cJSON_GetObjectItem(cs, "generated"), expect, MAXTOK);
        int64_t steps = cJSON_GetObjectItem(cs, "steps")->valueint;
        int64_t nfwd = cJSON_GetObjectItem(cs, "n_forward")->valueint;
        const char *stop = cJSON_GetObjectItem(cs, "stop")->valuestring;
        if (max_steps > 0 && nfwd > max_steps) {
            ck_assert_int_ge(max_steps, np);
            steps = nfwd = max_steps;
            ne = max_steps - np + 1;
            stop = "steps";
        }

        wt_test_llama_generate_check(m, name, prompt, np, steps, expect, ne, nfwd, stop, got, MAXTOK);

        const cJSON *lj = cJSON_GetObjectItem(cs, "logits");
        int64_t rows = cJSON_GetObjectItem(lj, "positions")->valueint;
        if (EMU_LOGIT_ROWS && rows > EMU_LOGIT_ROWS) rows = EMU_LOGIT_ROWS;
        int32_t toks[MAXTOK];
        memcpy(toks, prompt, (size_t)np * sizeof *toks);
        memcpy(toks + np, expect, (size_t)ne * sizeof *toks);
        ck_assert_int_le(rows, np + ne);
        ck_assert_int_le(rows, wt_llama_context(m));
        wt_test_llama_logits_check(m, name, dir, cJSON_GetObjectItem(lj, "tensor")->valuestring,
                                   toks, rows);
    }
    wt_llama_free(m);
}

START_TEST(test_stories_f32) {
    cJSON *j = wt_test_golden_json("llama/stories260K/expected.json");
    check_cases("stories260K", "model.safetensors", WT_DTYPE_COUNT, cJSON_GetObjectItem(j, "cases"),
                STORIES_CASES, EMU_STEPS, EMU_CONTEXT);
    cJSON_Delete(j);
}
END_TEST

/* The f16/bf16 files: their expectations follow the README's compute
 * convention (weights converted exactly to f32 at load, f32 arithmetic),
 * which is what dtype f32 asks of the loader. */
static void check_variant(const char *dtype) {
    cJSON *j = wt_test_golden_json("llama/stories260K/expected.json");
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "dtype_variants"), dtype);
    check_cases("stories260K", cJSON_GetObjectItem(v, "model")->valuestring, WT_F32,
                cJSON_GetObjectItem(v, "cases"), VARIANT_CASES, EMU_STEPS, EMU_CONTEXT);
    cJSON_Delete(j);
}

START_TEST(test_stories_bf16) { check_variant("bf16"); }
END_TEST

START_TEST(test_stories_f16) { check_variant("f16"); }
END_TEST

START_TEST(test_random_gqa) {
    cJSON *j = wt_test_golden_json("llama/random-gqa/expected.json");
    check_cases("random-gqa", "model.safetensors", WT_DTYPE_COUNT, cJSON_GetObjectItem(j, "cases"),
                1000, EMU_STEPS, EMU_CONTEXT);
    cJSON_Delete(j);
}
END_TEST

/* ---- teacher-forced sequences ---- */

static void check_sequence(const char *dir, const char *seqname, int64_t max_n, double tol_all,
                           double tol_first8) {
    char rel[256];
    snprintf(rel, sizeof rel, "llama/%s/expected.json", dir);
    cJSON *j = wt_test_golden_json(rel);
    const cJSON *seq = NULL, *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "sequences"))
        if (!strcmp(cJSON_GetObjectItem(it, "name")->valuestring, seqname)) seq = it;
    ck_assert_ptr_nonnull(seq);
    int32_t ids[MAXTOK];
    int64_t n = wt_test_json_ids(cJSON_GetObjectItem(seq, "ids"), ids, MAXTOK);
    if (n > max_n) n = max_n;
    wt_llama *m = load_model(dir, "model.safetensors", WT_DTYPE_COUNT, true, n);
    int64_t V = wt_llama_cfg(m)->vocab;
    float *ref = wt_test_llama_logits(dir, seqname, n, V);
    float *all = malloc((size_t)(n * V) * sizeof *all);
    ck_assert_msg(wt_llama_prefill(m, ids, n, all) == WT_OK, "%s", wt_last_error());
    int64_t n8 = n < 8 ? n : 8;
    double d8 = wt_test_max_abs_diff(all, ref, n8 * V), dall = wt_test_max_abs_diff(all, ref, n * V);
    wt_llama_reset(m);
    double s8 = 0, sall = 0;
    for (int64_t p = 0; p < n; p++) {
        ck_assert_msg(wt_llama_step(m, ids[p]) == WT_OK, "%s", wt_last_error());
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

START_TEST(test_sequence_512) {
    check_sequence("stories260K", "greedy_path_512", SEQ_TOKENS, 1e-3, 1e-4);
}
END_TEST

START_TEST(test_sequence_random) {
    check_sequence("random-gqa", "random_seq_64", SEQ_TOKENS, 1e-4, 1e-4);
}
END_TEST

/* ---- graph replay ---- */

typedef struct replay_run {
    int fails;
    int32_t tok;
    float *logits; /* [steps, vocab] */
} replay_run;

/* `steps` greedy decode steps from BOS; with logits != NULL they are kept.
 * No Check assertion inside: the allocation count spans it. */
static void greedy_steps(wt_llama *m, int steps, replay_run *r) {
    int64_t V = wt_llama_cfg(m)->vocab;
    for (int i = 0; i < steps; i++) {
        r->fails += wt_llama_step(m, r->tok) != WT_OK;
        const float *lg = wt_llama_logits(m);
        if (r->logits) memcpy(r->logits + (size_t)i * (size_t)V, lg, sizeof(float) * (size_t)V);
        r->tok = wt_llama_argmax(lg, V);
    }
}

/* Graph replay against eager steps of the same weights: every logit equal
 * bit for bit over REPLAY_STEPS decode steps, from BOS and again after a
 * prefill, and no allocation during the replayed steps. bf16 weights
 * exercise the GEMM scratch conversion inside the graph. */
static void check_replay(const char *dir, const char *weights, wt_dtype dtype) {
    wt_llama *eager = load_model(dir, weights, dtype, false, EMU_CONTEXT);
    wt_llama *graph = load_model(dir, weights, dtype, true, EMU_CONTEXT);
    ck_assert(!wt_llama_graphs(eager));
    if (!wt_llama_graphs(graph)) {
        /* WT_GRAPHS=0 in the environment: nothing to compare */
        wt_llama_free(eager);
        wt_llama_free(graph);
        return;
    }
    int64_t V = wt_llama_cfg(eager)->vocab, ctx = wt_llama_context(eager);
    /* as many steps as the context holds, up to REPLAY_STEPS */
    int n = REPLAY_STEPS < ctx ? REPLAY_STEPS : (int)ctx;
    int after = AFTER_PROMPT_STEPS < ctx - 5 ? AFTER_PROMPT_STEPS : (int)ctx - 5;
    if (after > n) after = n;
    size_t bytes = sizeof(float) * (size_t)(n * V);
    replay_run e = {0, 1, malloc(bytes)}, g = {0, 1, malloc(bytes)};
    greedy_steps(eager, n, &e);
    /* the warm-up and the capture run the step function; replays from the third */
    greedy_steps(graph, 2, &g);
    replay_run gr = {0, g.tok, g.logits + 2 * V};
    uint64_t a0 = wt_test_alloc_calls();
    greedy_steps(graph, n - 2, &gr);
    uint64_t allocs = wt_test_alloc_calls() - a0;
    ck_assert_int_eq(e.fails + g.fails + gr.fails, 0);
    ck_assert_uint_eq(allocs, 0);
    ck_assert_int_eq(wt_llama_pos(graph), n);
    ck_assert_int_eq(e.tok, gr.tok);
    for (int i = 0; i < n; i++)
        ck_assert_msg(!memcmp(e.logits + (size_t)i * (size_t)V, g.logits + (size_t)i * (size_t)V,
                              sizeof(float) * (size_t)V),
                      "step %d: replayed logits differ from eager ones", i);
    /* after a prompt (the prefill writes the cache the graph reads) */
    int32_t prompt[5] = {1, 203, 207, 61, 178}; /* within both vocabularies */
    wt_llama_reset(eager);
    wt_llama_reset(graph);
    ck_assert_int_eq(wt_llama_prefill(eager, prompt, 5, NULL), WT_OK);
    ck_assert_int_eq(wt_llama_prefill(graph, prompt, 5, NULL), WT_OK);
    e = (replay_run){0, wt_llama_argmax(wt_llama_logits(eager), V), e.logits};
    g = (replay_run){0, wt_llama_argmax(wt_llama_logits(graph), V), g.logits};
    ck_assert_int_eq(e.tok, g.tok);
    greedy_steps(eager, after, &e);
    greedy_steps(graph, after, &g);
    ck_assert_int_eq(e.fails + g.fails, 0);
    ck_assert(!memcmp(e.logits, g.logits, sizeof(float) * (size_t)(after * V)));
    free(e.logits);
    free(g.logits);
    wt_llama_free(eager);
    wt_llama_free(graph);
}

START_TEST(test_graph_replay_f32) { check_replay("random-gqa", "model.safetensors", WT_DTYPE_COUNT); }
END_TEST

START_TEST(test_graph_replay_bf16) {
    check_replay("stories260K", "model-bf16.safetensors", WT_DTYPE_COUNT);
}
END_TEST

/* ---- bad input: checked on the host, nothing reaches the device ---- */

START_TEST(test_bad_tokens_and_context) {
    char cpath[1024], wpath[1024];
    wt_llama_config cfg;
    ck_assert_int_eq(wt_llama_config_load(
                         wt_test_golden(cpath, sizeof cpath, "llama/stories260K/config.json"), &cfg),
                     WT_OK);
    wt_llama_options o = wt_llama_options_default();
    o.backend = dev_backend();
    o.context = 6;
    wt_llama *m = wt_llama_new(
        &cfg, wt_test_golden(wpath, sizeof wpath, "llama/stories260K/model.safetensors"), &o);
    ck_assert_msg(m != NULL, "%s", wt_last_error());
    int32_t ids[8] = {1, 5, 600, 7, 8, 9, 10, 11};
    ck_assert_int_eq(wt_llama_prefill(m, ids, 3, NULL), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "600"));
    ck_assert_int_eq(wt_llama_step(m, -1), WT_ERR_INVALID);
    ck_assert_int_eq(wt_llama_step(m, 512), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "vocabulary"));
    ck_assert_int_eq(wt_llama_pos(m), 0);
    ids[2] = 6;
    ck_assert_int_eq(wt_llama_prefill(m, ids, 7, NULL), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "context"));
    ck_assert_int_eq(wt_llama_prefill(m, ids, 5, NULL), WT_OK);
    ck_assert_int_eq(wt_llama_step(m, 3), WT_OK);
    ck_assert_int_eq(wt_llama_step(m, 3), WT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "past the context"));
    ck_assert_int_eq(wt_llama_pos(m), 6);
    wt_llama_free(m);
}
END_TEST

int main(void) {
    if (!dev_suite_start()) return SKIP_CODE;
    Suite *s = suite_create("cuda_llama");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, test_stories_f32);
    tcase_add_test(tc, test_stories_bf16);
    tcase_add_test(tc, test_stories_f16);
    tcase_add_test(tc, test_random_gqa);
    tcase_add_test(tc, test_sequence_512);
    tcase_add_test(tc, test_sequence_random);
    tcase_add_test(tc, test_graph_replay_f32);
    tcase_add_test(tc, test_graph_replay_bf16);
    tcase_add_test(tc, test_bad_tokens_and_context);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
