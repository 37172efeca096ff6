/* Causal Demucs against the reference's golden outputs
 * (../shared/golden/demucs): offline forward with every intermediate,
 * DemucsStreamer runs (stride chunks, ragged chunks, dry mix, no
 * normalization, flush), the trimmed look-ahead against the whole one for
 * every resampling factor, zero allocations per streaming step, bad input,
 * and the `wavetensor denoise` command end to end. */
#define _POSIX_C_SOURCE 200809L

#include <cjson/cJSON.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wavetensor/demucs.h"
#include "wt_test.h"
#include "wt_test_demucs.h"
#include "wt_test_proc.h"

/* ---- config ---- */

START_TEST(test_config_and_lengths) {
    golden g;
    demucs_golden_open(&g, _i, NULL);
    cJSON *kw = cJSON_GetObjectItem(g.meta, "config_kwargs");
    ck_assert_int_eq(g.cfg.hidden, cJSON_GetObjectItem(kw, "hidden")->valueint);
    ck_assert_int_eq(g.cfg.depth, cJSON_GetObjectItem(kw, "depth")->valueint);
    ck_assert_int_eq(wt_demucs_valid_length(&g.cfg, g.T), meta_int(&g, "valid_length", NULL, NULL));
    ck_assert_int_eq(wt_demucs_param_count(&g.cfg), meta_int(&g, "model_params", NULL, NULL));
    wt_demucs_stream *s = wt_demucs_stream_new(g.model, 0.0f, 1);
    ck_assert_msg(s != NULL, "%s", wt_last_error());
    const wt_demucs_stream_info *in = wt_demucs_stream_get_info(s);
    ck_assert_int_eq(in->frame_length, meta_int(&g, "streamer", NULL, "frame_length"));
    ck_assert_int_eq(in->total_length, meta_int(&g, "streamer", NULL, "total_length"));
    ck_assert_int_eq(in->stride, meta_int(&g, "streamer", NULL, "stride"));
    ck_assert_int_eq(in->total_stride, meta_int(&g, "streamer", NULL, "total_stride"));
    ck_assert_int_eq(in->resample_buffer, meta_int(&g, "streamer", NULL, "resample_buffer"));
    wt_demucs_stream_free(s);
    demucs_golden_close(&g);
}
END_TEST

/* ---- offline ---- */

typedef struct tap_check {
    golden *g;
    int matched;
    char worst[128];
} tap_check;

static void offline_tap(void *user, const char *name, const wt_tensor *t) {
    tap_check *tc = user;
    if (!wt_st_find(tc->g->io, name)) return;
    int64_t n;
    float *ref = io_f32(tc->g, name, &n);
    ck_assert_msg(n == wt_numel(t), "%s: %lld values, golden has %lld", name,
                  (long long)wt_numel(t), (long long)n);
    float *y = malloc((size_t)n * sizeof *y);
    for (int64_t i = 0; i < n; i++) y[i] = (float)wt_get_flat(t, i);
    double e = err_over_rms(y, ref, n), tol = tolerance(tc->g, name);
    if (getenv("WT_TEST_VERBOSE")) fprintf(stderr, "  %s: %.3g (tol %.3g)\n", name, e, tol);
    ck_assert_msg(e <= tol, "%s: max|err|/rms %.3g > %.3g", name, e, tol);
    tc->matched++;
    free(y);
    free(ref);
}

static void offline_case(int i, bool normalize) {
    golden g;
    demucs_golden_open(&g, i, NULL);
    wt_demucs *m = g.model;
    if (!normalize) {
        wt_demucs_config c = g.cfg;
        c.normalize = false;
        char path[1200];
        snprintf(path, sizeof path, "%s/model.safetensors", g.dir);
        m = wt_demucs_new(&c, path, WT_F32);
        ck_assert_ptr_nonnull(m);
    }
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    int64_t shape[3] = {1, 1, g.T};
    wt_tensor *x = wt_tensor_wrap(ctx, WT_F32, 3, shape, g.noisy);
    tap_check tc = {.g = &g};
    wt_tensor *y = wt_demucs_forward(m, ctx, x, normalize ? offline_tap : NULL, &tc);
    ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
    ck_assert_int_eq(y->shape[2], g.T);
    if (normalize) {
        /* every offline.* intermediate and the kernel were compared */
        int expected = 0;
        for (size_t k = 0; k < wt_st_count(g.io); k++) {
            const char *nm = wt_st_at(g.io, k)->name;
            expected += !strncmp(nm, "offline.", 8) || !strcmp(nm, "resample_kernel");
        }
        ck_assert_int_eq(tc.matched, expected);
    }
    const char *ref_name = normalize ? "enhanced" : "enhanced_nonorm";
    int64_t n;
    float *ref = io_f32(&g, ref_name, &n);
    ck_assert_int_eq(n, g.T);
    double e = err_over_rms(y->data, ref, n);
    ck_assert_msg(e <= tolerance(&g, ref_name), "%s: %.3g", ref_name, e);
    free(ref);
    wt_ctx_free(ctx);
    if (m != g.model) wt_demucs_free(m);
    demucs_golden_close(&g);
}

START_TEST(test_offline) { offline_case(_i, true); }
END_TEST
START_TEST(test_offline_nonorm) { offline_case(_i, false); }
END_TEST

/* ---- streaming ---- */

typedef struct stream_obs {
    golden *g;
    wt_demucs_stream *s;
    float variance[4096];
    int n_frames;
    int64_t flush_frame; /* 1-based frame index of the first frame inside flush() */
    int checked;
} stream_obs;

static void stream_tap(void *user, const char *name, const wt_tensor *t) {
    stream_obs *o = user;
    int64_t k = wt_demucs_stream_frames(o->s);
    if (!strcmp(name, "stream.input") && k <= 4096) {
        o->variance[k - 1] = wt_demucs_stream_variance(o->s);
        o->n_frames = (int)k;
    }
    char ref_name[64];
    if (k == 1 || k == 2)
        snprintf(ref_name, sizeof ref_name, "stream.frame%d.%s", (int)k - 1, name + 7);
    else if (k == o->flush_frame)
        snprintf(ref_name, sizeof ref_name, "stream.flush_frame0.%s", name + 7);
    else
        return;
    int64_t n;
    float *ref = io_f32(o->g, ref_name, &n);
    ck_assert_int_eq(n, wt_numel(t));
    float *y = malloc((size_t)n * sizeof *y);
    for (int64_t i = 0; i < n; i++) y[i] = (float)wt_get_flat(t, i);
    double e = err_over_rms(y, ref, n), tol = tolerance(o->g, ref_name);
    if (getenv("WT_TEST_VERBOSE")) fprintf(stderr, "  %s: %.3g (tol %.3g)\n", ref_name, e, tol);
    ck_assert_msg(e <= tol, "%s: %.3g > %.3g", ref_name, e, tol);
    o->checked++;
    free(y);
    free(ref);
}

/* Feeds g->noisy in the given chunk lengths (stride-sized when chunks is
 * NULL), then flushes; returns T output samples and each call's count. */
static float *run_stream(wt_demucs *m, const golden *g, float dry, const int64_t *chunks,
                         int64_t n_chunks, int64_t *lens, int64_t *n_lens, stream_obs *obs) {
    wt_demucs_stream *s = wt_demucs_stream_new(m, dry, 1);
    ck_assert_msg(s != NULL, "%s", wt_last_error());
    if (obs) {
        obs->s = s;
        wt_demucs_stream_set_tap(s, stream_tap, obs);
    }
    int64_t stride = wt_demucs_stream_get_info(s)->stride;
    float *out = calloc((size_t)g->T + 1, sizeof *out);
    float *buf = malloc(((size_t)g->T + 4096) * sizeof *buf);
    int64_t pos = 0, written = 0, calls = 0;
    for (int64_t k = 0; pos < g->T; k++) {
        int64_t len = chunks ? chunks[k % n_chunks] : stride;
        if (len > g->T - pos) len = g->T - pos;
        int64_t got;
        wt_status st = wt_demucs_stream_feed(s, g->noisy + pos, len, buf, g->T + 4096, &got);
        ck_assert_msg(st == WT_OK, "%s", wt_last_error());
        ck_assert_int_le(written + got, g->T);
        memcpy(out + written, buf, (size_t)got * sizeof *buf);
        written += got;
        pos += len;
        if (lens) lens[calls] = got;
        calls++;
    }
    if (obs) obs->flush_frame = wt_demucs_stream_frames(s) + 1;
    int64_t got;
    ck_assert_int_eq(wt_demucs_stream_pending(s), g->T - written);
    ck_assert(wt_demucs_stream_flush(s, buf, g->T + 4096, &got) == WT_OK);
    ck_assert_int_eq(written + got, g->T);
    memcpy(out + written, buf, (size_t)got * sizeof *buf);
    if (lens) lens[calls] = got;
    if (n_lens) *n_lens = calls + 1;
    free(buf);
    wt_demucs_stream_free(s);
    return out;
}

static void compare_output(const golden *g, const char *name, const float *y) {
    int64_t n;
    float *ref = io_f32(g, name, &n);
    ck_assert_int_eq(n, g->T);
    double e = err_over_rms(y, ref, n), tol = tolerance(g, name);
    if (getenv("WT_TEST_VERBOSE")) fprintf(stderr, "%s %s: %.3g (tol %.3g)\n", strrchr(g->dir, '/') + 1, name, e, tol);
    ck_assert_msg(e <= tol, "%s: max|err|/rms %.3g > %.3g", name, e, tol);
    free(ref);
}

START_TEST(test_stream_stride_chunks) {
    golden g;
    demucs_golden_open(&g, _i, NULL);
    stream_obs *obs = calloc(1, sizeof *obs);
    obs->g = &g;
    int64_t *lens = malloc(sizeof(int64_t) * (size_t)(g.T / 256 + 8)), n_lens;
    float *y = run_stream(g.model, &g, 0.0f, NULL, 0, lens, &n_lens, obs);
    compare_output(&g, "enhanced_stream", y);
    int64_t n_ref;
    int64_t *ref_lens = io_i64(&g, "stream_out_lengths", &n_ref);
    ck_assert_int_eq(n_lens, n_ref);
    for (int64_t k = 0; k < n_ref; k++) ck_assert_int_eq(lens[k], ref_lens[k]);
    /* the running variance after every frame, flush frames included */
    int64_t n_var;
    float *var = io_f32(&g, "stream.variance", &n_var);
    ck_assert_int_eq(obs->n_frames, n_var);
    ck_assert_int_eq(obs->flush_frame - 1, meta_int(&g, "stream_runs", "enhanced_stream", "frames_feed"));
    double e = err_over_rms(obs->variance, var, n_var);
    ck_assert_msg(e <= tolerance(&g, "stream.variance"), "variance %.3g", e);
    ck_assert_int_eq(obs->checked, 9); /* frames 0, 1 and the first flush frame */
    free(var);
    free(ref_lens);
    free(lens);
    free(y);
    free(obs);
    demucs_golden_close(&g);
}
END_TEST

START_TEST(test_stream_ragged) {
    golden g;
    demucs_golden_open(&g, _i, NULL);
    int64_t n_chunks, n_ref;
    int64_t *chunks = io_i64(&g, "ragged_chunks", &n_chunks);
    int64_t *ref_lens = io_i64(&g, "ragged_out_lengths", &n_ref);
    int64_t *lens = malloc(sizeof(int64_t) * (size_t)(n_chunks + 2)), n_lens;
    float *y = run_stream(g.model, &g, 0.0f, chunks, n_chunks, lens, &n_lens, NULL);
    compare_output(&g, "enhanced_stream_ragged", y);
    ck_assert_int_eq(n_lens, n_ref);
    for (int64_t k = 0; k < n_ref; k++) ck_assert_int_eq(lens[k], ref_lens[k]);
    free(lens);
    free(ref_lens);
    free(chunks);
    free(y);
    demucs_golden_close(&g);
}
END_TEST

START_TEST(test_stream_dry) {
    golden g;
    demucs_golden_open(&g, _i, NULL);
    float *y = run_stream(g.model, &g, 0.04f, NULL, 0, NULL, NULL, NULL);
    compare_output(&g, "enhanced_stream_dry", y);
    free(y);
    demucs_golden_close(&g);
}
END_TEST

START_TEST(test_stream_nonorm) {
    golden g;
    demucs_golden_open(&g, _i, NULL);
    wt_demucs_config c = g.cfg;
    c.normalize = false;
    char path[1200];
    snprintf(path, sizeof path, "%s/model.safetensors", g.dir);
    wt_demucs *m = wt_demucs_new(&c, path, WT_F32);
    ck_assert_ptr_nonnull(m);
    float *y = run_stream(m, &g, 0.0f, NULL, 0, NULL, NULL, NULL);
    compare_output(&g, "enhanced_stream_nonorm", y);
    free(y);
    wt_demucs_free(m);
    demucs_golden_close(&g);
}
END_TEST

/* Chunking never changes the output: 1-sample feeds and one whole-signal
 * feed give exactly the stride-chunk output. */
START_TEST(test_stream_any_chunks) {
    golden g;
    demucs_golden_open(&g, 0, NULL);
    float *ref = run_stream(g.model, &g, 0.0f, NULL, 0, NULL, NULL, NULL);
    int64_t one = 1, all = g.T, odd[3] = {7, 1000, 3};
    float *a = run_stream(g.model, &g, 0.0f, &one, 1, NULL, NULL, NULL);
    float *b = run_stream(g.model, &g, 0.0f, &all, 1, NULL, NULL, NULL);
    float *c = run_stream(g.model, &g, 0.0f, odd, 3, NULL, NULL, NULL);
    ck_assert(memcmp(a, ref, (size_t)g.T * sizeof *a) == 0);
    ck_assert(memcmp(b, ref, (size_t)g.T * sizeof *b) == 0);
    ck_assert(memcmp(c, ref, (size_t)g.T * sizeof *c) == 0);
    free(a);
    free(b);
    free(c);
    free(ref);
    demucs_golden_close(&g);
}
END_TEST

static void ignore_tap(void *user, const char *name, const wt_tensor *t) {
    (void)user;
    (void)name;
    (void)t;
}

/* The streamer computes only the look-ahead samples its output resampler
 * reads; a tap makes it compute all of them, as the reference does. Both
 * must emit the same samples (to rounding) for every resampling factor and
 * frame count (the golden cases all resample by 4 with one frame), here
 * with random weights at depth 5, where the trimming cuts each decoder's
 * look-ahead to a quarter. Keeping 2 steps too few shows as 4e-8 of rms
 * (one step too few touches only the sinc's last taps, below rounding). */
START_TEST(test_stream_trimmed_lookahead) {
    static const int ups[3] = {1, 2, 4};
    wt_demucs_config cfg;
    wt_demucs_config_default(&cfg);
    cfg.hidden = 4;
    cfg.depth = 5;
    cfg.resample = ups[_i % 3];
    int frames = 1 + _i / 3;
    wt_demucs *m = wt_demucs_new_random(&cfg, 7, WT_F32);
    ck_assert_msg(m != NULL, "%s", wt_last_error());
    int64_t T = 16000;
    float *x = malloc(sizeof(float) * (size_t)T), *y[2];
    wt_test_rng r;
    wt_test_rng_seed(&r, 3);
    for (int64_t i = 0; i < T; i++) x[i] = 0.1f * wt_test_uniform(&r, -1.0f, 1.0f);
    int64_t got[2];
    for (int k = 0; k < 2; k++) {
        wt_demucs_stream *s = wt_demucs_stream_new(m, 0.0f, frames);
        ck_assert_msg(s != NULL, "%s", wt_last_error());
        if (k) wt_demucs_stream_set_tap(s, ignore_tap, NULL);
        y[k] = calloc((size_t)T + 4096, sizeof(float));
        ck_assert(wt_demucs_stream_feed(s, x, T, y[k], T + 4096, &got[k]) == WT_OK);
        wt_demucs_stream_free(s);
    }
    ck_assert_int_eq(got[0], got[1]);
    ck_assert_int_gt(got[0], 0);
    double err = wt_test_max_abs_diff(y[0], y[1], got[0]), rms = wt_test_rms(y[1], got[0]);
    ck_assert_msg(rms > 0 && err <= 1e-6 * rms, "resample %d, %d frames: max|err| %.3g, rms %.3g",
                  cfg.resample, frames, err, rms);
    free(x);
    free(y[0]);
    free(y[1]);
    wt_demucs_free(m);
}
END_TEST

/* Weights held in bf16 and f16 (--dtype), both cases: offline and
 * streaming output stay within the SNR that rounding the weights (and a
 * bf16 convolution's input) allows (wt_test_half_snr_floor) of the float32
 * golden outputs; 24 weight layers lie on the path (5 encoders and 5
 * decoders of 2 convolutions, 2 LSTM layers of 2 products). */
START_TEST(test_half_weights) {
    const wt_dtype dt = _i / WT_TEST_DEMUCS_N_CASES ? WT_F16 : WT_BF16;
    golden g;
    demucs_golden_open(&g, _i % WT_TEST_DEMUCS_N_CASES, NULL);
    char path[1200];
    snprintf(path, sizeof path, "%s/model.safetensors", g.dir);
    wt_demucs *m = wt_demucs_new(&g.cfg, path, dt);
    ck_assert_msg(m != NULL, "%s", wt_last_error());
    double floor = wt_test_half_snr_floor(dt, 24, 20);
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    int64_t shape[3] = {1, 1, g.T};
    wt_tensor *y = wt_demucs_forward(m, ctx, wt_tensor_wrap(ctx, WT_F32, 3, shape, g.noisy), NULL, NULL);
    ck_assert_msg(y != NULL, "%s", wt_ctx_error(ctx));
    int64_t n;
    float *ref = io_f32(&g, "enhanced", &n), *ref_s = io_f32(&g, "enhanced_stream", &n);
    float *ys = run_stream(m, &g, 0.0f, NULL, 0, NULL, NULL, NULL);
    double off = wt_test_snr_db(y->data, ref, n), st = wt_test_snr_db(ys, ref_s, n);
    if (getenv("WT_TEST_VERBOSE"))
        fprintf(stderr, "%s %s weights: offline %.1f dB, streaming %.1f dB (floor %.1f)\n",
                strrchr(g.dir, '/') + 1, wt_dtype_name(dt), off, st, floor);
    ck_assert_msg(off >= floor && st >= floor, "%s weights: SNR %.1f / %.1f dB < %.1f",
                  wt_dtype_name(dt), off, st, floor);
    free(ys);
    free(ref_s);
    free(ref);
    wt_ctx_free(ctx);
    wt_demucs_free(m);
    demucs_golden_close(&g);
}
END_TEST

/* 100 steps, a flush and a ragged chunk allocate nothing: with f32 weights
 * and with bf16 ones (whose convolutions take the bf16-product kernels). */
START_TEST(test_stream_zero_alloc) {
    golden g;
    demucs_golden_open(&g, 1, NULL);
    wt_demucs *bf = NULL;
    if (_i) {
        char path[1200];
        snprintf(path, sizeof path, "%s/model.safetensors", g.dir);
        bf = wt_demucs_new(&g.cfg, path, WT_BF16);
        ck_assert_msg(bf != NULL, "%s", wt_last_error());
    }
    wt_demucs_stream *s = wt_demucs_stream_new(bf ? bf : g.model, 0.04f, 1);
    ck_assert_ptr_nonnull(s);
    static float out[8192];
    int64_t got, pos = 0;
    /* warm-up: first frame and a few steady ones */
    ck_assert(wt_demucs_stream_feed(s, g.noisy, 2048, out, 8192, &got) == WT_OK);
    pos = 2048;
    int failures = 0;
    int64_t produced = 0;
    uint64_t before = wt_test_alloc_calls();
    for (int k = 0; k < 100; k++) {
        failures += wt_demucs_stream_feed(s, g.noisy + pos, 256, out, 8192, &got) != WT_OK;
        produced += got;
        pos += 256;
    }
    failures += wt_demucs_stream_flush(s, out, 8192, &got) != WT_OK;
    failures += wt_demucs_stream_feed(s, g.noisy + pos, 1000, out, 8192, &got) != WT_OK;
    uint64_t after = wt_test_alloc_calls();
    ck_assert_int_eq(failures, 0);
    ck_assert_int_eq(produced, 100 * 256);
    ck_assert_uint_eq(after - before, 0);
    wt_demucs_stream_free(s);
    wt_demucs_free(bf);
    demucs_golden_close(&g);
}
END_TEST

/* ---- bad input ---- */

START_TEST(test_bad_weights_and_config) {
    wt_demucs_config c;
    wt_demucs_config_default(&c);
    ck_assert_ptr_null(wt_demucs_new(&c, "/nonexistent/model.safetensors", WT_F32));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "/nonexistent/model.safetensors"));
    /* the tiny case's weights under the small-h12 shapes */
    char path[1200], cfg[1200];
    wt_test_golden(cfg, sizeof cfg, "demucs/configs/small-h12.json");
    ck_assert(wt_demucs_config_load(cfg, &c) == WT_OK);
    wt_test_golden(path, sizeof path, "demucs/tiny-noisy/model.safetensors");
    ck_assert_ptr_null(wt_demucs_new(&c, path, WT_F32));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "encoder.0.0.weight"));
    ck_assert_ptr_nonnull(strstr(wt_last_error(), "expected shape"));
    /* a non-safetensors file */
    ck_assert_ptr_null(wt_demucs_new(&c, cfg, WT_F32));
    const char *bad[] = {"{\"resample\": 3}", "{\"hidden\": \"wide\"}", "{\"depth\": 0}",
                         "{\"causal\": 1.5}", "[1, 2]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wt_config *j = wt_config_parse(bad[i], "bad.json");
        if (!j) continue; /* rejected by the parser: also fine */
        ck_assert_msg(wt_demucs_config_from_json(j, &c) != WT_OK, "accepted %s", bad[i]);
        wt_config_free(j);
    }
    wt_config *j = wt_config_parse("{\"hidden\": 64}", "ok.json");
    ck_assert(wt_demucs_config_from_json(j, &c) == WT_OK);
    ck_assert_int_eq(c.hidden, 64);
    ck_assert_int_eq(c.depth, 5);
    wt_config_free(j);
}
END_TEST

START_TEST(test_bad_calls) {
    golden g;
    demucs_golden_open(&g, 0, NULL);
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    wt_tensor *x = wt_tensor_new3(ctx, WT_F32, 1, 2, 100); /* chin is 1 */
    ck_assert_ptr_null(wt_demucs_forward(g.model, ctx, x, NULL, NULL));
    ck_assert_int_eq(wt_ctx_status(ctx), WT_ERR_INVALID);
    wt_ctx_free(ctx);
    wt_demucs_stream *s = wt_demucs_stream_new(g.model, 0.0f, 1);
    float out[16];
    int64_t got;
    /* 1000 samples give 256 outputs: a 16-sample buffer is refused, nothing consumed */
    ck_assert_int_eq(wt_demucs_stream_feed(s, g.noisy, 1000, out, 16, &got), WT_ERR_INVALID);
    ck_assert_int_eq(wt_demucs_stream_pending(s), 0);
    ck_assert_ptr_null(wt_demucs_stream_new(g.model, 0.0f, 0));
    wt_demucs_stream_free(s);
    demucs_golden_close(&g);
}
END_TEST

/* ---- the denoise command ---- */

static char g_tmp[512];

static int run_cli(const char *args, char *err, size_t n) {
    const char *cli = getenv("WT_CLI");
    char cmd[8192], errf[600];
    snprintf(errf, sizeof errf, "%s/stderr.txt", g_tmp);
    snprintf(cmd, sizeof cmd, "%s %s 2>%s >/dev/null", cli, args, errf);
    int rc = system(cmd);
    char *text = wt_test_read_text(errf);
    snprintf(err, n, "%s", text ? text : "");
    free(text);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void write_wav(const char *path, const float *x, int64_t n, int rate, int ch, int fmt) {
    SF_INFO info = {.samplerate = rate, .channels = ch, .format = SF_FORMAT_WAV | fmt};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    ck_assert_ptr_nonnull(f);
    float *inter = malloc((size_t)n * (size_t)ch * sizeof *inter);
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) inter[i * ch + c] = x[i];
    ck_assert_int_eq(sf_writef_float(f, inter, n), n);
    sf_close(f);
    free(inter);
}

static float *read_wav(const char *path, SF_INFO *info) {
    memset(info, 0, sizeof *info);
    SNDFILE *f = sf_open(path, SFM_READ, info);
    ck_assert_msg(f != NULL, "%s: %s", path, sf_strerror(NULL));
    float *x = malloc((size_t)info->frames * (size_t)info->channels * sizeof *x);
    ck_assert_int_eq(sf_readf_float(f, x, info->frames), info->frames);
    sf_close(f);
    return x;
}

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void cli_setup(void) {
    snprintf(g_tmp, sizeof g_tmp, "/tmp/wt-test-demucs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_tmp));
}

static void cli_teardown(void) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
}

START_TEST(test_cli_golden) {
    if (!getenv("WT_CLI")) return;
    cli_setup();
    golden g;
    demucs_golden_open(&g, 0, NULL);
    char in[700], out[700], args[4096], err[4096], cfg[1200];
    snprintf(in, sizeof in, "%s/noisy.wav", g_tmp);
    snprintf(out, sizeof out, "%s/out.wav", g_tmp);
    write_wav(in, g.noisy, g.T, 16000, 1, SF_FORMAT_FLOAT);
    wt_test_golden(cfg, sizeof cfg, "demucs/configs/tiny.json");
    const struct { const char *flags, *ref; } runs[] = {
        {"", "enhanced"},
        {"--device cpu", "enhanced"},
        {"--streaming", "enhanced_stream"},
        {"--streaming --chunk 37", "enhanced_stream"},
        {"--streaming --dry 0.04", "enhanced_stream_dry"},
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        snprintf(args, sizeof args, "denoise %s -o %s --weights %s/model.safetensors --config %s %s",
                 in, out, g.dir, cfg, runs[r].flags);
        int rc = run_cli(args, err, sizeof err);
        ck_assert_msg(rc == 0, "%s -> %d: %s", args, rc, err);
        SF_INFO info;
        float *y = read_wav(out, &info);
        ck_assert_int_eq(info.frames, g.T);
        ck_assert_int_eq(info.samplerate, 16000);
        ck_assert_int_eq(info.format & SF_FORMAT_SUBMASK, SF_FORMAT_FLOAT); /* float in, float out */
        compare_output(&g, runs[r].ref, y);
        free(y);
    }
    /* 16-bit stereo at 8 kHz: mixed, resampled, written back as 16-bit at 8 kHz */
    float *x8 = malloc(8000 * sizeof *x8);
    for (int i = 0; i < 8000; i++) x8[i] = g.noisy[2 * i];
    write_wav(in, x8, 8000, 8000, 2, SF_FORMAT_PCM_16);
    snprintf(args, sizeof args, "denoise %s -o %s --weights %s/model.safetensors --config %s",
             in, out, g.dir, cfg);
    int rc = run_cli(args, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    SF_INFO info;
    float *y = read_wav(out, &info);
    ck_assert_int_eq(info.frames, 8000);
    ck_assert_int_eq(info.samplerate, 8000);
    ck_assert_int_eq(info.channels, 1);
    ck_assert_int_eq(info.format & SF_FORMAT_SUBMASK, SF_FORMAT_PCM_16);
    free(y);
    /* --float forces float output */
    snprintf(args, sizeof args, "denoise %s -o %s --weights %s/model.safetensors --config %s --float",
             in, out, g.dir, cfg);
    ck_assert_int_eq(run_cli(args, err, sizeof err), 0);
    y = read_wav(out, &info);
    ck_assert_int_eq(info.format & SF_FORMAT_SUBMASK, SF_FORMAT_FLOAT);
    free(y);
    free(x8);
    demucs_golden_close(&g);
    cli_teardown();
}
END_TEST

/* Over a minute of input runs the streamer (the offline pass would hold
 * every layer's output for the whole file), says so, and gives exactly
 * what --streaming gives. */
START_TEST(test_cli_long_input_streams) {
    if (!getenv("WT_CLI")) return;
    cli_setup();
    golden g;
    demucs_golden_open(&g, 0, NULL);
    char in[700], out[700], out2[700], args[4096], err[4096], cfg[1200];
    snprintf(in, sizeof in, "%s/long.wav", g_tmp);
    snprintf(out, sizeof out, "%s/out.wav", g_tmp);
    snprintf(out2, sizeof out2, "%s/out2.wav", g_tmp);
    int64_t n = 61 * 16000;
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = g.noisy[i % g.T];
    write_wav(in, x, n, 16000, 1, SF_FORMAT_FLOAT);
    wt_test_golden(cfg, sizeof cfg, "demucs/configs/tiny.json");
    snprintf(args, sizeof args, "denoise %s -o %s --weights %s/model.safetensors --config %s", in,
             out, g.dir, cfg);
    int rc = run_cli(args, err, sizeof err);
    ck_assert_msg(rc == 0, "%s -> %d: %s", args, rc, err);
    ck_assert_msg(strstr(err, "running the streamer") != NULL, "no note: %s", err);
    snprintf(args, sizeof args, "denoise %s -o %s --weights %s/model.safetensors --config %s --streaming",
             in, out2, g.dir, cfg);
    ck_assert_int_eq(run_cli(args, err, sizeof err), 0);
    SF_INFO i1, i2;
    float *y1 = read_wav(out, &i1), *y2 = read_wav(out2, &i2);
    ck_assert_int_eq(i1.frames, n);
    ck_assert_int_eq(i2.frames, n);
    ck_assert_int_eq(memcmp(y1, y2, (size_t)n * sizeof *y1), 0);
    free(y1);
    free(y2);
    free(x);
    demucs_golden_close(&g);
    cli_teardown();
}
END_TEST

START_TEST(test_cli_bad_input) {
    if (!getenv("WT_CLI")) return;
    cli_setup();
    golden g;
    demucs_golden_open(&g, 0, NULL);
    char in[700], txt[700], out[700], w[1200], cfg[1200], args[4096], err[4096];
    snprintf(in, sizeof in, "%s/noisy.wav", g_tmp);
    snprintf(txt, sizeof txt, "%s/notes.wav", g_tmp);
    snprintf(out, sizeof out, "%s/out.wav", g_tmp);
    snprintf(w, sizeof w, "%s/model.safetensors", g.dir);
    wt_test_golden(cfg, sizeof cfg, "demucs/configs/tiny.json");
    write_wav(in, g.noisy, 4000, 16000, 1, SF_FORMAT_PCM_16);
    FILE *f = fopen(txt, "w");
    fputs("this is not audio\n", f);
    fclose(f);
    const struct { const char *fmt; int code; } cases[] = {
        {"denoise %s/missing.wav -o %s --weights %s --config %s", 1},
        {"denoise %s/notes.wav -o %s --weights %s --config %s", 1},
        {"denoise %s/noisy.wav -o %s --weights %s/nope --config %s", 1},
        {"denoise %s/noisy.wav -o %s --weights %s --config %s --chunk 0", 2},
        {"denoise %s/noisy.wav -o %s --weights %s --config %s --dry abc", 2},
        {"denoise %s/noisy.wav -o %s --weights %s --config %s --frames 0", 2},
        {"denoise %s/noisy.wav -o %s --weights %s --config %s --device tpu", 2},
        {"denoise %s/noisy.wav -o %s --weights %s --config %s --bogus", 2},
        {"denoise %s/noisy.wav -o %s --weights %s --config %s extra.wav", 2},
        {"denoise %s/noisy.wav -o %s --weights %s --config %s.missing", 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(args, sizeof args, cases[k].fmt, g_tmp, out, w, cfg);
        int rc = run_cli(args, err, sizeof err);
        ck_assert_msg(rc == cases[k].code, "%s -> %d (want %d): %s", args, rc, cases[k].code, err);
        ck_assert_msg(!strncmp(err, "wavetensor: ", 12), "%s: stderr '%s'", args, err);
        ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "not one line: '%s'", err);
        ck_assert_msg(!exists(out), "%s left %s", args, out);
    }
    /* no -o, no input */
    snprintf(args, sizeof args, "denoise %s/noisy.wav --weights %s", g_tmp, w);
    ck_assert_int_eq(run_cli(args, err, sizeof err), 2);
    ck_assert_int_eq(run_cli("denoise", err, sizeof err), 2);
    /* unwritable output: no file appears, the directory is unchanged */
    snprintf(args, sizeof args, "denoise %s/noisy.wav -o %s/no/such/dir/out.wav --weights %s --config %s",
             g_tmp, g_tmp, w, cfg);
    ck_assert_int_eq(run_cli(args, err, sizeof err), 1);
    ck_assert(!strncmp(err, "wavetensor: ", 12));
    char dir_out[800];
    snprintf(dir_out, sizeof dir_out, "%s/no", g_tmp);
    ck_assert(!exists(dir_out));
    /* output onto a directory: refused, nothing created */
    snprintf(args, sizeof args, "denoise %s/noisy.wav -o %s --weights %s --config %s", g_tmp,
             g_tmp, w, cfg);
    ck_assert_int_eq(run_cli(args, err, sizeof err), 1);
    /* a failing run leaves an existing output untouched */
    f = fopen(out, "w");
    fputs("keep", f);
    fclose(f);
    snprintf(args, sizeof args, "denoise %s/notes.wav -o %s --weights %s --config %s", g_tmp, out,
             w, cfg);
    ck_assert_int_eq(run_cli(args, err, sizeof err), 1);
    char *kept = wt_test_read_text(out);
    ck_assert_str_eq(kept, "keep");
    free(kept);
    demucs_golden_close(&g);
    cli_teardown();
}
END_TEST

int main(void) {
    Suite *s = suite_create("demucs");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_config_and_lengths, 0, WT_TEST_DEMUCS_N_CASES);
    tcase_add_loop_test(tc, test_offline, 0, WT_TEST_DEMUCS_N_CASES);
    tcase_add_loop_test(tc, test_offline_nonorm, 0, WT_TEST_DEMUCS_N_CASES);
    tcase_add_loop_test(tc, test_stream_stride_chunks, 0, WT_TEST_DEMUCS_N_CASES);
    tcase_add_loop_test(tc, test_stream_ragged, 0, WT_TEST_DEMUCS_N_CASES);
    tcase_add_loop_test(tc, test_stream_dry, 0, WT_TEST_DEMUCS_N_CASES);
    tcase_add_loop_test(tc, test_stream_nonorm, 0, WT_TEST_DEMUCS_N_CASES);
    tcase_add_test(tc, test_stream_any_chunks);
    tcase_add_loop_test(tc, test_stream_trimmed_lookahead, 0, 6);
    tcase_add_loop_test(tc, test_half_weights, 0, 2 * WT_TEST_DEMUCS_N_CASES);
    tcase_add_loop_test(tc, test_stream_zero_alloc, 0, 2);
    tcase_add_test(tc, test_bad_weights_and_config);
    tcase_add_test(tc, test_bad_calls);
    tcase_add_test(tc, test_cli_golden);
    tcase_add_test(tc, test_cli_bad_input);
    tcase_add_test(tc, test_cli_long_input_streams);
    suite_add_tcase(s, tc);
    return wt_test_run(s);
}
