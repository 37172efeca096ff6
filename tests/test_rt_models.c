/* The model processors in the real-time engine, on the golden weights:
 * live denoise reproduces the reference DemucsStreamer output (golden
 * enhanced_stream) delayed by exactly the engine's reported latency, and
 * live codec reproduces Mimi's streaming encode -> decode run directly,
 * frame by frame, without the engine. Host periods that do not divide the
 * model frame; nothing in the process allocates once running. */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wavetensor/mimi.h"
#include "wavetensor/rt.h"
#include "wavetensor/rt_models.h"
#include "wavetensor/safetensors.h"
#include "wt_test.h"
#include "wt_test_proc.h"

static float *io_f32(wt_st_file *io, const char *name, int64_t *n) {
    const wt_st_entry *e = wt_st_find(io, name);
    ck_assert_msg(e != NULL, "golden tensor %s missing", name);
    ck_assert_int_eq(e->dtype, WT_F32);
    *n = (int64_t)(e->nbytes / 4);
    float *p = malloc(e->nbytes);
    memcpy(p, e->data, e->nbytes);
    return p;
}

/* Runs the whole input through the engine in `period` chunks, letting the
 * worker finish after each; counts allocations after the first 20 periods
 * (setup and first touches) on every thread. */
static void drive(wt_rt_engine *e, const float *in, float *out, int n, int period,
                  uint64_t *allocs) {
    uint64_t a0 = 0;
    for (int t = 0, k = 0; t < n; t += period, k++) {
        if (k == 20) a0 = wt_test_alloc_calls();
        int len = n - t < period ? n - t : period;
        wt_rt_engine_process(e, in + t, out + t, len);
        wt_rt_engine_sync(e);
    }
    *allocs = wt_test_alloc_calls() - a0;
}

START_TEST(test_live_denoise_matches_reference_streamer) {
    char cfg[1024], w[1024], io_path[1024], meta_path[1024];
    wt_test_golden(cfg, sizeof cfg, "demucs/configs/tiny.json");
    wt_test_golden(w, sizeof w, "demucs/tiny-noisy/model.safetensors");
    wt_test_golden(io_path, sizeof io_path, "demucs/tiny-noisy/io.safetensors");
    wt_test_golden(meta_path, sizeof meta_path, "demucs/tiny-noisy/case.json");
    char *meta_text = wt_test_read_text(meta_path);
    ck_assert_ptr_nonnull(meta_text);
    cJSON *meta = cJSON_Parse(meta_text);
    cJSON *run = cJSON_GetObjectItem(cJSON_GetObjectItem(meta, "stream_runs"), "enhanced_stream");
    int before_flush = cJSON_GetObjectItem(run, "samples_before_flush")->valueint;
    double tol = cJSON_GetObjectItem(
                     cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(meta, "tolerance"),
                                                             "per_tensor"),
                                         "enhanced_stream"),
                     "max_abs_over_rms")
                     ->valuedouble;

    wt_rt_processor p;
    wt_rt_model *m = NULL;
    ck_assert_msg(wt_rt_denoise_new(cfg, w, 0.0f, &p, &m) == WT_OK, "%s", wt_last_error());
    ck_assert_int_eq(p.model_rate, 16000);
    wt_st_file *io = wt_st_open(io_path);
    ck_assert_ptr_nonnull(io);
    int64_t T, n_ref;
    float *noisy = io_f32(io, "noisy", &T);
    float *ref = io_f32(io, "enhanced_stream", &n_ref);

    const int period = 100; /* the stride is 256 */
    wt_rt_config c = wt_rt_config_default(16000, period);
    wt_rt_engine *e = NULL;
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_OK);
    const wt_rt_latency lt = *wt_rt_engine_latency(e), *l = &lt; /* outlives the engine */
    int lat = l->host_frames;
    ck_assert_int_eq(l->lookahead, p.latency_samples);
    int n = (int)T + lat;
    float *in = calloc((size_t)n, sizeof(float)), *out = calloc((size_t)n, sizeof(float));
    memcpy(in, noisy, (size_t)T * sizeof(float));
    uint64_t allocs;
    drive(e, in, out, n, period, &allocs);

    /* Feed outputs of the reference cover input [0, before_flush). */
    double worst = 0, early = 0;
    for (int i = 0; i < before_flush; i++) {
        double d = fabs((double)out[lat + i] - ref[i]);
        if (d > worst) worst = d;
    }
    for (int t = 0; t < lat; t++)
        if (fabs(out[t]) > early) early = fabs(out[t]);
    double rms = wt_test_rms(ref, before_flush);
    wt_rt_stats s;
    wt_rt_engine_stats(e, &s);
    wt_rt_engine_free(e);
    wt_rt_model_free(m);
    ck_assert_msg(worst / rms <= tol, "max err %.3g x rms vs tolerance %.3g at latency %d", worst / rms,
                  tol, lat);
    ck_assert_double_eq(early, 0.0);
    ck_assert_uint_eq(s.underruns, 0);
    ck_assert_uint_eq(s.step_errors, 0);
    ck_assert_uint_eq(allocs, 0);
    fprintf(stderr, "test_rt_models: denoise latency %d samples (%.1f ms, lookahead %d), err %.2g x rms\n",
            lat, l->ms, l->lookahead, worst / rms);
    free(in);
    free(out);
    free(noisy);
    free(ref);
    wt_st_close(io);
    cJSON_Delete(meta);
    free(meta_text);
}
END_TEST

START_TEST(test_live_codec_matches_direct_streaming) {
    char cfg_path[1024], w[1024], io_path[1024];
    wt_test_golden(cfg_path, sizeof cfg_path, "mimi/tiny-speech/config.json");
    wt_test_golden(w, sizeof w, "mimi/tiny-speech/model.safetensors");
    wt_test_golden(io_path, sizeof io_path, "mimi/tiny-speech/io.safetensors");
    wt_rt_processor p;
    wt_rt_model *m = NULL;
    ck_assert_msg(wt_rt_codec_new(cfg_path, w, 0, &p, &m) == WT_OK, "%s", wt_last_error());
    ck_assert_int_eq(p.model_rate, 24000);
    ck_assert_int_eq(p.frame, 1920);
    wt_st_file *io = wt_st_open(io_path);
    ck_assert_ptr_nonnull(io);
    int64_t T;
    float *pcm = io_f32(io, "pcm", &T);

    /* Direct streaming, no engine: a second model and streams. */
    wt_mimi_config mc;
    ck_assert_int_eq(wt_mimi_config_load(cfg_path, &mc), WT_OK);
    wt_mimi *mm = wt_mimi_load(&mc, w, WT_F32);
    ck_assert_ptr_nonnull(mm);
    int K = mc.num_codebooks;
    wt_mimi_encoder_stream *enc = wt_mimi_encoder_stream_new(mm, 1, K, 1);
    wt_mimi_decoder_stream *dec = wt_mimi_decoder_stream_new(mm, 1, K, 1);
    ck_assert_ptr_nonnull(dec);
    float *direct = calloc((size_t)T, sizeof(float));
    int64_t codes[64];
    for (int64_t f = 0; f + 1920 <= T; f += 1920) {
        ck_assert_int_eq(wt_mimi_encoder_stream_step(enc, pcm + f, NULL, codes), WT_OK);
        ck_assert_int_eq(wt_mimi_decoder_stream_step(dec, codes, NULL, direct + f), WT_OK);
    }

    const int period = 333;
    wt_rt_config c = wt_rt_config_default(24000, period);
    wt_rt_engine *e = NULL;
    ck_assert_int_eq(wt_rt_engine_new(&p, &c, &e), WT_OK);
    int lat = wt_rt_engine_latency(e)->host_frames;
    ck_assert_int_eq(lat, 1920 + period); /* frame + period, no lookahead */
    int n = (int)T + lat;
    float *in = calloc((size_t)n, sizeof(float)), *out = calloc((size_t)n, sizeof(float));
    memcpy(in, pcm, (size_t)T * sizeof(float));
    uint64_t allocs;
    drive(e, in, out, n, period, &allocs);
    int bad = 0;
    for (int i = 0; i < T; i++)
        if (out[lat + i] != direct[i]) bad++;
    wt_rt_stats s;
    wt_rt_engine_stats(e, &s);
    wt_rt_engine_free(e);
    wt_rt_model_free(m);
    ck_assert_msg(bad == 0, "%d of %d samples differ from direct streaming", bad, (int)T);
    ck_assert_double_gt(wt_test_rms(direct, T), 1e-3);
    ck_assert_uint_eq(s.underruns, 0);
    ck_assert_uint_eq(allocs, 0);
    wt_mimi_encoder_stream_free(enc);
    wt_mimi_decoder_stream_free(dec);
    wt_mimi_free(mm);
    free(direct);
    free(in);
    free(out);
    free(pcm);
    wt_st_close(io);
}
END_TEST

START_TEST(test_bad_model_files) {
    char cfg[1024];
    wt_rt_processor p;
    wt_rt_model *m = NULL;
    wt_test_golden(cfg, sizeof cfg, "demucs/configs/tiny.json");
    ck_assert_int_ne(wt_rt_denoise_new(cfg, "/nonexistent.safetensors", 0.0f, &p, &m), WT_OK);
    ck_assert_ptr_null(m);
    ck_assert_str_ne(wt_last_error(), "");
    ck_assert_int_ne(wt_rt_codec_new("/nonexistent.json", "/x", 0, &p, &m), WT_OK);
    ck_assert_ptr_null(m);
    wt_test_golden(cfg, sizeof cfg, "mimi/tiny-speech/config.json");
    char w[1024];
    wt_test_golden(w, sizeof w, "mimi/tiny-speech/model.safetensors");
    ck_assert_int_eq(wt_rt_codec_new(cfg, w, 99, &p, &m), WT_ERR_INVALID);
    ck_assert_ptr_null(m);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("rt_models");
    TCase *tc = tcase_create("models");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_live_denoise_matches_reference_streamer);
    tcase_add_test(tc, test_live_codec_matches_direct_streaming);
    tcase_add_test(tc, test_bad_model_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return wt_test_run(suite()); }
