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

/* A device copy of a host tensor. */
static wt_tensor *up(golden *g, const wt_tensor *h) {
    wt_tensor *d = wt_tensor_new(g->dev, h->dtype, h->ndim, h->shape);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(g->be->upload(d->data, h->data, wt_nbytes(h)), WT_OK);
    return d;
}

static const char *const CASES[] = {"tiny-speech", "tiny-batch2"};

START_TEST(test_offline_encode) {
    golden g;
    dev_golden_open(&g, CASES[_i]);
    wt_mimi_trace tr = {0};
    wt_tensor *codes = wt_mimi_encode(g.m, g.dev, up(&g, io_get(&g, "pcm")), (int)g.k, &tr);
    ck_assert_msg(codes != NULL, "%s", wt_ctx_error(g.dev));
    check_float(&g, tr.enc_seanet_out, "enc_seanet_out", 1e-4);
    check_float(&g, tr.enc_transformer_out, "enc_transformer_out", 1e-4);
    check_float(&g, tr.latent, "latent_pre_quant", 1e-4);
    check_float(&g, tr.semantic_proj_in, "semantic_proj_in", 1e-4);
    check_float(&g, tr.acoustic_proj_in, "acoustic_proj_in", 1e-4);
    check_codes(&g, codes, "codes");
    mimi_golden_close(&g);
}
END_TEST

START_TEST(test_offline_decode) {
    golden g;
    dev_golden_open(&g, CASES[_i]);
    wt_mimi_trace tr = {0};
    wt_tensor *codes = up(&g, io_get(&g, "codes"));
    wt_tensor *pcm = wt_mimi_decode(g.m, g.dev, codes, &tr);
    ck_assert_msg(pcm != NULL, "%s", wt_ctx_error(g.dev));
    check_float(&g, tr.quantized, "quantized", 1e-5);
    check_float(&g, tr.dec_upsample_out, "dec_upsample_out", 1e-4);
    check_float(&g, tr.dec_transformer_out, "dec_transformer_out", 1e-4);
    check_float(&g, pcm, "decoded", 1e-4);
    /* a code out of range is refused (checked on the host before any kernel) */
    wt_tensor *bad = wt_contiguous(g.cpu, io_get(&g, "codes"));
    ((int64_t *)bad->data)[wt_numel(bad) - 1] = g.cfg.bins;
    ck_assert_ptr_null(wt_mimi_decode(g.m, g.dev, up(&g, bad), NULL));
    ck_assert_int_eq(wt_ctx_status(g.dev), WT_ERR_INVALID);
    ck_assert_msg(strstr(wt_ctx_error(g.dev), "outside") != NULL, "%s", wt_ctx_error(g.dev));
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
    wt_mimi_encoder_stream *s = wt_mimi_encoder_stream_new(g.m, (int)g.b, (int)g.k, 1);
    ck_assert_msg(s != NULL, "%s", wt_last_error());
    wt_tensor *pcm = io_get(&g, "pcm");
    int64_t b = g.b, k = g.k, f = g.frames, fs = g.fs, d = g.cfg.dimension;
    wt_tensor *codes = wt_tensor_new3(g.cpu, WT_I64, b, k, f);
    wt_tensor *lat = wt_tensor_new3(g.cpu, WT_F32, b, d, f);
    float *in = malloc(sizeof(float) * (size_t)(b * fs));
    int64_t *out = malloc(sizeof(int64_t) * (size_t)(b * k));
    float *l = malloc(sizeof(float) * (size_t)(b * d));
    for (int64_t t = 0; t < f; t++) {
        for (int64_t i = 0; i < b; i++)
            memcpy(in + i * fs, (float *)pcm->data + i * f * fs + t * fs, sizeof(float) * (size_t)fs);
        ck_assert_msg(wt_mimi_encoder_stream_step(s, in, NULL, out) == WT_OK, "%s", wt_last_error());
        const wt_tensor *ld = wt_mimi_encoder_stream_latent(s);
        ck_assert_int_eq(g.be->download(l, ld->data, sizeof(float) * (size_t)(b * d)), WT_OK);
        for (int64_t i = 0; i < b; i++) {
            for (int64_t c = 0; c < k; c++) ((int64_t *)codes->data)[(i * k + c) * f + t] = out[i * k + c];
            for (int64_t c = 0; c < d; c++) ((float *)lat->data)[(i * d + c) * f + t] = l[i * d + c];
        }
    }
    check_float(&g, lat, "latent_pre_quant_stream", 1e-4);
    check_codes(&g, codes, "codes_stream");
    free(in);
    free(out);
    free(l);
    wt_mimi_encoder_stream_free(s);
    mimi_golden_close(&g);
}
END_TEST

/* Streaming decode of the golden codes alone, one frame per step. */
START_TEST(test_stream_decode) {
    golden g;
    dev_golden_open(&g, CASES[_i]);
    wt_mimi_decoder_stream *s = wt_mimi_decoder_stream_new(g.m, (int)g.b, (int)g.k, 1);
    ck_assert_msg(s != NULL, "%s", wt_last_error());
    wt_tensor *codes = io_get(&g, "codes");
    int64_t b = g.b, k = g.k, f = g.frames, fs = g.fs;
    wt_tensor *pcm = wt_tensor_new3(g.cpu, WT_F32, b, 1, f * fs);
    int64_t *in = malloc(sizeof(int64_t) * (size_t)(b * k));
    float *out = malloc(sizeof(float) * (size_t)(b * fs));
    for (int64_t t = 0; t < f; t++) {
        for (int64_t i = 0; i < b; i++)
            for (int64_t c = 0; c < k; c++) in[i * k + c] = ((int64_t *)codes->data)[(i * k + c) * f + t];
        ck_assert_msg(wt_mimi_decoder_stream_step(s, in, NULL, out) == WT_OK, "%s", wt_last_error());
        for (int64_t i = 0; i < b; i++)
            memcpy((float *)pcm->data + i * f * fs + t * fs, out + i * fs, sizeof(float) * (size_t)fs);
    }
    check_float(&g, pcm, "decoded_stream", 1e-4);
    /* a code out of range is refused on the host: device kernels would read
     * a zero row instead of failing */
    in[0] = g.cfg.bins;
    ck_assert_int_eq(wt_mimi_decoder_stream_step(s, in, NULL, out), WT_ERR_INVALID);
    in[0] = -1;
    ck_assert_int_eq(wt_mimi_decoder_stream_step(s, in, NULL, out), WT_ERR_INVALID);
    free(in);
    free(out);
    wt_mimi_decoder_stream_free(s);
    mimi_golden_close(&g);
}
END_TEST

/* The batch-2 schedule: per-step active masks and a reset of entry 1, with
 * the steps replayed as a graph (mask and reset between replays). */
START_TEST(test_stream_masked_reset) {
    golden g;
    dev_golden_open(&g, "tiny-batch2");
    wt_tensor *act = io_get(&g, "stream_active"), *rst = io_get(&g, "stream_reset");
    wt_tensor *chunk = io_get(&g, "stream_chunk_index");
    wt_tensor *pin = io_get(&g, "stream_pcm_in"), *cin = io_get(&g, "stream_codes_in");
    wt_tensor *cout_e = io_get(&g, "stream_codes_out"), *dout_e = io_get(&g, "stream_decoded_out");
    wt_tensor *cstream = io_get(&g, "codes_stream");
    int64_t b = g.b, k = g.k, fs = g.fs, all = act->shape[0];
    int64_t steps = all < MASKED_STEPS ? all : MASKED_STEPS;
    ck_assert_int_le(b, 2);
    wt_mimi_encoder_stream *enc = wt_mimi_encoder_stream_new(g.m, (int)b, (int)k, 1);
    wt_mimi_decoder_stream *dec = wt_mimi_decoder_stream_new(g.m, (int)b, (int)k, 1);
    ck_assert_ptr_nonnull(enc);
    ck_assert_ptr_nonnull(dec);
    int64_t *cout = calloc((size_t)(b * k * steps), sizeof(int64_t));
    float *dout = calloc((size_t)(b * steps * fs), sizeof(float));
    float *pcm = malloc(sizeof(float) * (size_t)(b * fs));
    int64_t codes[128];
    ck_assert_int_le(b * k, (int64_t)(sizeof codes / sizeof codes[0]));
    uint8_t mask[2];
    int resets = 0, replayed = 0;
    for (int64_t t = 0; t < steps; t++) {
        for (int64_t i = 0; i < b; i++) {
            mask[i] = ((uint8_t *)act->data)[t * b + i];
            if (((uint8_t *)rst->data)[t * b + i]) {
                wt_mimi_encoder_stream_reset(enc, (int)i);
                wt_mimi_decoder_stream_reset(dec, (int)i);
                resets++;
            }
            memcpy(pcm + i * fs, (float *)pin->data + i * all * fs + t * fs, sizeof(float) * (size_t)fs);
            for (int64_t c = 0; c < k; c++) codes[i * k + c] = ((int64_t *)cin->data)[(i * k + c) * all + t];
        }
        int64_t got[128];
        ck_assert_int_eq(wt_mimi_encoder_stream_step(enc, pcm, mask, got), WT_OK);
        for (int64_t i = 0; i < b; i++)
            if (mask[i])
                for (int64_t c = 0; c < k; c++) cout[(i * k + c) * steps + t] = got[i * k + c];
        ck_assert_int_eq(wt_mimi_decoder_stream_step(dec, codes, mask, pcm), WT_OK);
        for (int64_t i = 0; i < b; i++)
            if (mask[i]) memcpy(dout + i * steps * fs + t * fs, pcm + i * fs, sizeof(float) * (size_t)fs);
        /* an active step of entry i equals plain streaming of that chunk */
        for (int64_t i = 0; i < b; i++) {
            int64_t ch = ((int64_t *)chunk->data)[t * b + i];
            if (!mask[i] || ch < 0) continue;
            replayed++;
            for (int64_t c = 0; c < k; c++)
                ck_assert_int_eq(got[i * k + c], ((int64_t *)cstream->data)[(i * k + c) * g.frames + ch]);
        }
    }
    ck_assert_int_eq(resets, 1);
    ck_assert_int_gt(replayed, 0);
    /* the golden outputs of the steps run, in the [B, K, steps] layout */
    int64_t *ce = malloc(sizeof(int64_t) * (size_t)(b * k * steps));
    for (int64_t r = 0; r < b * k; r++)
        memcpy(ce + r * steps, (int64_t *)cout_e->data + r * all, sizeof(int64_t) * (size_t)steps);
    check_codes_arr(cout, ce, b, k, steps, act->data, "stream_codes_out");
    free(ce);
    /* decoded: active steps only, rms over those steps */
    double m = 0, s2 = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < b; i++)
        for (int64_t t = 0; t < steps; t++) {
            if (!((uint8_t *)act->data)[t * b + i]) continue;
            for (int64_t j = 0; j < fs; j++) {
                int64_t o = i * steps * fs + t * fs + j;
                double e = ((float *)dout_e->data)[i * all * fs + t * fs + j], d = fabs(dout[o] - e);
                if (!(d <= m)) m = isnan(d) ? INFINITY : d;
                s2 += e * e;
                n++;
            }
        }
    double err = m / sqrt(s2 / (double)n);
    ck_assert_msg(err <= 1e-4, "stream_decoded_out: err %.3g", err);
    free(cout);
    free(dout);
    free(pcm);
    wt_mimi_encoder_stream_free(enc);
    wt_mimi_decoder_stream_free(dec);
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
