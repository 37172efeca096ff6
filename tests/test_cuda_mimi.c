/* Mimi codec on the CUDA backend against the reference's golden vectors
 * (../shared/golden/mimi): whole-clip encode/decode with every intermediate,
 * streaming encode/decode (steps replayed as a recorded graph), the batch-2
 * masked/reset schedule, graph replay equal bit for bit to eager steps with
 * no allocation per replayed step, random weights on the device equal to
 * those on the CPU, and inputs on the wrong backend refused. Tolerances are
 * those of the golden README (f32 weights; cuBLAS runs f32 GEMMs in f32).
 * Device tensors are only read through the backend's download.
 *
 * Without a device (or without a CUDA build) the program prints
 * "skipped: no CUDA device" and exits 77. Built with WT_TEST_CUDA_EMU
 * (tests/cuda_emu) the same suite runs on the emulated backend. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wavetensor/mimi.h"
#include "wt_test.h"
#include "wt_test_mimi.h"

#include "wt_test_dev.h"

/* The emulation runs every kernel thread as a fiber (about 100 ms per
 * tiny-model step), so under it the suite keeps to what a step can break:
 * fewer graph-vs-eager steps; the masked schedule up to and past the reset
 * and the frozen run of entry 0; and streaming of the batch-2 case only
 * through the masked schedule, whose active steps are compared with that
 * case's streaming codes and audio. A real GPU runs everything. */
#if defined(WT_TEST_CUDA_EMU)
#define REPLAY_STEPS 6
#define MASKED_STEPS 16
#define STREAM_CASES 1
#else
#define REPLAY_STEPS 200
#define MASKED_STEPS 1000
#define STREAM_CASES 2
#endif

/* A golden case with its model on the device. */
static void dev_golden_open(golden *g, const char *name) {
    mimi_golden_open(g, name, dev_backend());
    ck_assert_ptr_eq(g->be, dev_backend());
}

static const char *const CASES[] = {"tiny-speech", "tiny-batch2"};

START_TEST(test_offline_encode) {
    golden g;
    dev_golden_open(&g, CASES[_i]);
    mimi_check_offline_encode(&g);
    mimi_golden_close(&g);
}
END_TEST

START_TEST(test_offline_decode) {
    golden g;
    dev_golden_open(&g, CASES[_i]);
    mimi_check_offline_decode(&g);
    mimi_golden_close(&g);
}
END_TEST

/* Inputs on another backend than the model's are refused with both named. */
START_TEST(test_wrong_backend) {
    golden g;
    dev_golden_open(&g, "tiny-speech");
    wt_tensor *pcm = io_get(&g, "pcm");
    ck_assert_ptr_null(wt_mimi_encode(g.m, g.cpu, pcm, (int)g.k, NULL));
    ck_assert_msg(strstr(wt_ctx_error(g.cpu), "backend") != NULL, "%s", wt_ctx_error(g.cpu));
    wt_ctx_clear_error(g.cpu);
    ck_assert_ptr_null(wt_mimi_encode(g.m, g.dev, pcm, (int)g.k, NULL));
    ck_assert_msg(strstr(wt_ctx_error(g.dev), "input is on cpu") != NULL, "%s", wt_ctx_error(g.dev));
    wt_ctx_clear_error(g.dev);
    ck_assert_ptr_null(wt_mimi_decode(g.m, g.dev, io_get(&g, "codes"), NULL));
    ck_assert_int_eq(wt_ctx_status(g.dev), WT_ERR_INVALID);
    mimi_golden_close(&g);
}
END_TEST

/* Streaming encode, one frame per step (graph replay from the third step). */
START_TEST(test_stream_encode) {
    golden g;
    dev_golden_open(&g, CASES[_i]);
    mimi_check_stream_encode(&g);
    mimi_golden_close(&g);
}
END_TEST

/* Streaming decode of the golden codes alone, one frame per step. */
START_TEST(test_stream_decode) {
    golden g;
    dev_golden_open(&g, CASES[_i]);
    mimi_check_stream_decode(&g);
    mimi_golden_close(&g);
}
END_TEST

/* The batch-2 schedule: per-step active masks and a reset of entry 1, with
 * the steps replayed as a graph (mask and reset between replays). */
START_TEST(test_stream_masked_reset) {
    golden g;
    dev_golden_open(&g, "tiny-batch2");
    mimi_check_stream_masked(&g, MASKED_STEPS);
    mimi_golden_close(&g);
}
END_TEST

/* A pair of streams (encoder feeding decoder) run for the replay test. */
typedef struct pair {
    wt_mimi_encoder_stream *enc;
    wt_mimi_decoder_stream *dec;
} pair;

/* Step t of the schedule: entry 1 frozen every third step, reset at the
 * middle; input frames cycle through the golden stream input. Returns the
 * failed calls. */
static int pair_step(pair *p, const golden *g, const float *pin, int64_t avail, int t, float *pcm,
                     int64_t *codes, float *out) {
    int64_t b = g->b, fs = g->fs;
    uint8_t mask[2] = {1, (uint8_t)(t % 3 != 1)};
    if (t == REPLAY_STEPS / 2) {
        wt_mimi_encoder_stream_reset(p->enc, 1);
        wt_mimi_decoder_stream_reset(p->dec, 1);
    }
    for (int64_t i = 0; i < b; i++)
        memcpy(pcm + i * fs, pin + i * avail * fs + (t % avail) * fs, sizeof(float) * (size_t)fs);
    int bad = wt_mimi_encoder_stream_step(p->enc, pcm, mask, codes) != WT_OK;
    bad += wt_mimi_decoder_stream_step(p->dec, codes, mask, out) != WT_OK;
    return bad;
}

/* Graph replay equals eager steps bit for bit (codes and audio, frozen
 * entries and a reset included), and a replayed step allocates nothing. */
START_TEST(test_graph_replay_equals_eager) {
    golden g;
    dev_golden_open(&g, "tiny-batch2");
    wt_tensor *pin = io_get(&g, "stream_pcm_in");
    int64_t b = g.b, k = g.k, fs = g.fs, avail = pin->shape[2] / fs;
    size_t nc = (size_t)(REPLAY_STEPS * b * k), na = (size_t)(REPLAY_STEPS * b * fs);
    int64_t *codes[2] = {calloc(nc, sizeof(int64_t)), calloc(nc, sizeof(int64_t))};
    float *audio[2] = {calloc(na, sizeof(float)), calloc(na, sizeof(float))};
    float *pcm = malloc(sizeof(float) * (size_t)(b * fs));
    int bad = 0;
    uint64_t replay_allocs = 0;
    for (int graphs = 0; graphs < 2; graphs++) {
        pair p = {wt_mimi_encoder_stream_new(g.m, (int)b, (int)k, 1),
                  wt_mimi_decoder_stream_new(g.m, (int)b, (int)k, 1)};
        ck_assert_msg(p.enc && p.dec, "%s", wt_last_error());
        ck_assert_int_eq(wt_mimi_encoder_stream_set_graphs(p.enc, graphs), WT_OK);
        ck_assert_int_eq(wt_mimi_decoder_stream_set_graphs(p.dec, graphs), WT_OK);
        /* warm-up and capture: the first two steps */
        for (int t = 0; t < 2; t++)
            bad += pair_step(&p, &g, pin->data, avail, t, pcm, codes[graphs] + t * b * k,
                             audio[graphs] + t * b * fs);
        uint64_t before = wt_test_alloc_calls();
        for (int t = 2; t < REPLAY_STEPS; t++)
            bad += pair_step(&p, &g, pin->data, avail, t, pcm, codes[graphs] + t * b * k,
                             audio[graphs] + t * b * fs);
        if (graphs) replay_allocs = wt_test_alloc_calls() - before;
        wt_mimi_encoder_stream_free(p.enc);
        wt_mimi_decoder_stream_free(p.dec);
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_uint_eq(replay_allocs, 0);
    ck_assert_int_eq(memcmp(codes[0], codes[1], nc * sizeof(int64_t)), 0);
    ck_assert_int_eq(memcmp(audio[0], audio[1], na * sizeof(float)), 0);
    /* the replayed steps really follow their inputs: the first frames equal
     * the golden streaming codes of entry 0 */
    wt_tensor *cs = io_get(&g, "codes_stream");
    wt_tensor *chunk = io_get(&g, "stream_chunk_index");
    for (int t = 0; t < REPLAY_STEPS && t < avail; t++) {
        int64_t ch = ((int64_t *)chunk->data)[t * b];
        if (ch != t) break; /* entry 0 plays frames 0.. in order at first */
        for (int64_t c = 0; c < k; c++)
            ck_assert_int_eq(codes[1][t * b * k + c], ((int64_t *)cs->data)[c * g.frames + t]);
    }
    free(codes[0]);
    free(codes[1]);
    free(audio[0]);
    free(audio[1]);
    free(pcm);
    mimi_golden_close(&g);
}
END_TEST

/* Random weights drawn on the host and uploaded: the device model decodes
 * the golden codes as the CPU model with the same seed does. */
START_TEST(test_random_weights_match_cpu) {
    golden g;
    dev_golden_open(&g, "tiny-speech");
    wt_mimi *md = wt_mimi_new_random_on(g.be, &g.cfg, WT_F32, 42);
    wt_mimi *mc = wt_mimi_new_random(&g.cfg, WT_F32, 42);
    ck_assert_msg(md && mc, "%s", wt_last_error());
    ck_assert_uint_eq(wt_mimi_model_id(md), wt_mimi_model_id(mc));
    wt_tensor *codes = wt_contiguous(g.cpu, wt_narrow(g.cpu, io_get(&g, "codes"), 2, 0, 4));
    wt_tensor *yc = wt_mimi_decode(mc, g.cpu, codes, NULL);
    wt_tensor *yd = wt_mimi_decode(md, g.dev, up(&g, codes), NULL);
    ck_assert_msg(yc != NULL, "%s", wt_ctx_error(g.cpu));
    wt_tensor *h = down(&g, yd, "decoded");
    ck_assert_int_eq(wt_numel(h), wt_numel(yc));
    double err = rel_err_arr(h->data, yc->data, wt_numel(yc));
    ck_assert_msg(err <= 1e-4, "device vs cpu random model: err %.3g", err);
    wt_mimi_free(md);
    wt_mimi_free(mc);
    mimi_golden_close(&g);
}
END_TEST

int main(void) {
    if (!dev_suite_start()) return SKIP_CODE;
    Suite *s = suite_create("cuda_mimi");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 1200);
    tcase_add_loop_test(tc, test_offline_encode, 0, 2);
    tcase_add_loop_test(tc, test_offline_decode, 0, 2);
    tcase_add_test(tc, test_wrong_backend);
    tcase_add_loop_test(tc, test_stream_encode, 0, STREAM_CASES);
    tcase_add_loop_test(tc, test_stream_decode, 0, STREAM_CASES);
    tcase_add_test(tc, test_stream_masked_reset);
    tcase_add_test(tc, test_graph_replay_equals_eager);
    tcase_add_test(tc, test_random_weights_match_cpu);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
