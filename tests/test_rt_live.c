/* Live codec and live denoise on a real JACK server, on the golden tiny
 * weights. Each test starts its own `jackd -d dummy` (unique name, stopped
 * by pid) at the model's rate, runs wavetensor's JACK host (wt_rt_jack_run,
 * the code behind `wavetensor live`) in a thread of this process, plays a
 * golden input into its input port from a source client and records its
 * output port from a recorder client, both placing samples by JACK frame
 * time, with the graph freewheeling (no deadlines on a loaded machine).
 *
 * The reference is the model run directly, offline, through its streaming
 * API (Mimi encoder -> decoder frame by frame; the Demucs streamer), with no
 * engine and no JACK, on the input the model really received: silence until
 * the source started, then the clip, then silence. How much silence (D
 * samples) is read from a tap on the processor's input, which must equal
 * that signal exactly. Then the recording, sample k after the first played
 * sample, must equal reference[D + k - L] exactly, with L the latency
 * wavetensor reported to JACK on its output port: the sample-accurate
 * alignment proves the figure. The test also searches every lag from 0 to
 * 2L and reports the one that matches (the measured latency): only L may.
 * Without jackd installed the tests say so and pass. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <jack/jack.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wavetensor/demucs.h"
#include "wavetensor/mimi.h"
#include "wavetensor/rt.h"
#include "wavetensor/rt_host.h"
#include "wavetensor/rt_models.h"
#include "wavetensor/safetensors.h"
#include "wt_test.h"
#include "wt_test_jack.h"
#include "wt_test_proc.h"

/* ---- the JACK server ---- */

/* Named per process and test (Check forks each test): two build trees may
 * run this suite at once, and JACK's table of servers is small. Up to 10 s
 * to answer. */
static bool start_server(wt_test_jack_server *s, const char *tag, const char *rate,
                         const char *period) {
    char name[64];
    wt_test_jack_name_tagged(name, sizeof name, "wt_live", tag);
    return wt_test_jack_start(s, name, rate, period, 10000);
}

/* ---- wavetensor's JACK host, in a thread, with a tap on the model input ---- */

typedef struct tap {
    wt_rt_processor inner;
    float *seen; /* the model-rate input of every step, in order */
    int64_t cap;
    _Atomic int64_t n;
    atomic_int resets;
} tap;

static wt_status tap_step(void *user, const float *in, float *out) {
    tap *t = user;
    int64_t k = atomic_load(&t->n);
    if (k + t->inner.frame <= t->cap) memcpy(t->seen + k, in, (size_t)t->inner.frame * sizeof(float));
    atomic_store(&t->n, k + t->inner.frame);
    return t->inner.step(t->inner.user, in, out);
}

static void tap_reset(void *user) {
    tap *t = user;
    atomic_fetch_add(&t->resets, 1);
    if (t->inner.reset) t->inner.reset(t->inner.user);
}

typedef struct live {
    tap t;
    wt_rt_processor proc; /* the tap */
    double headroom_ms;
    wt_rt_engine *_Atomic eng;
    atomic_bool done;
    wt_rt_host_opts o;
    pthread_t thread;
    wt_status st;
    char err[512];
} live;

static wt_status factory(void *user, int host_rate, int max_period, int rt_priority,
                         wt_rt_engine **out) {
    live *l = user;
    (void)rt_priority;
    wt_rt_config c = wt_rt_config_default(host_rate, max_period);
    /* Slack for the real-time cycles before the graph freewheels: the model
     * state must not be reset by an underrun on a loaded machine. */
    c.headroom = (int)(l->headroom_ms * host_rate / 1000.0 + 0.5);
    wt_status st = wt_rt_engine_new(&l->proc, &c, out);
    if (!st) atomic_store(&l->eng, *out);
    return st;
}

static bool finished(void *user) { return atomic_load(&((live *)user)->done); }

static void *host_thread(void *arg) {
    live *l = arg;
    l->st = wt_rt_jack_run(&l->o);
    if (l->st) snprintf(l->err, sizeof l->err, "%s", wt_last_error());
    return NULL;
}

static void live_start(live *l, const wt_test_jack_server *s, const wt_rt_processor *model,
                       int64_t seen_cap) {
    l->t.inner = *model;
    l->t.cap = seen_cap;
    l->t.seen = calloc((size_t)seen_cap, sizeof(float));
    l->proc = *model;
    l->proc.user = &l->t;
    l->proc.step = tap_step;
    l->proc.reset = tap_reset;
    l->o = (wt_rt_host_opts){.client_name = "wt_live", .server_name = s->name, .factory = factory,
                             .factory_user = l, .finished = finished, .finished_user = l};
    pthread_create(&l->thread, NULL, host_thread, l);
}

/* ---- the source and the recorder (frame-time placement, as playrec) ---- */

typedef struct probe {
    jack_client_t *src_c, *rec_c;
    jack_port_t *src, *rec;
    const float *sig;
    int64_t n;
    float *rec_buf;
    int64_t rec_cap;
    atomic_bool go;
    _Atomic int64_t start; /* frame time of sig[0], -1 before */
    _Atomic int64_t rec_until;
} probe;

static int src_process(jack_nframes_t nf, void *arg) {
    probe *p = arg;
    float *out = jack_port_get_buffer(p->src, nf);
    int64_t t = jack_last_frame_time(p->src_c);
    int64_t s = atomic_load(&p->start);
    if (s < 0 && atomic_load(&p->go)) atomic_store(&p->start, s = t);
    for (jack_nframes_t i = 0; i < nf; i++) {
        int64_t k = s < 0 ? -1 : t + (int64_t)i - s;
        out[i] = k >= 0 && k < p->n ? p->sig[k] : 0.0f;
    }
    return 0;
}

static int rec_process(jack_nframes_t nf, void *arg) {
    probe *p = arg;
    const float *in = jack_port_get_buffer(p->rec, nf);
    int64_t s = atomic_load(&p->start);
    if (s < 0) return 0;
    int64_t k0 = jack_last_frame_time(p->rec_c) - s, hi = atomic_load(&p->rec_until);
    for (jack_nframes_t i = 0; i < nf; i++) {
        int64_t k = k0 + (int64_t)i;
        if (k < 0 || k >= p->rec_cap) continue;
        p->rec_buf[k] = in[i];
        if (k + 1 > hi) hi = k + 1;
    }
    atomic_store(&p->rec_until, hi);
    return 0;
}

static bool wait_ports(jack_client_t *c) {
    for (int t = 0; t < 400; t++) {
        if (jack_port_by_name(c, "wt_live:in") && jack_port_by_name(c, "wt_live:out")) return true;
        wt_test_msleep(25);
    }
    return false;
}

static bool probe_open(probe *p, const wt_test_jack_server *s) {
    p->src_c = wt_test_jack_open(s, "wt_src");
    p->rec_c = wt_test_jack_open(s, "wt_rec");
    if (!p->src_c || !p->rec_c || !wait_ports(p->src_c)) return false;
    p->src = jack_port_register(p->src_c, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    p->rec = jack_port_register(p->rec_c, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    jack_set_process_callback(p->src_c, src_process, p);
    jack_set_process_callback(p->rec_c, rec_process, p);
    return p->src && p->rec && !jack_activate(p->src_c) && !jack_activate(p->rec_c) &&
           !jack_connect(p->src_c, "wt_src:out", "wt_live:in") &&
           !jack_connect(p->rec_c, "wt_live:out", "wt_rec:in");
}

/* ---- offline references: the models' streaming APIs, no engine ---- */

/* Mimi encode -> decode, frame by frame; returns the samples produced. */
static int64_t codec_reference(const char *cfg_path, const char *w, const float *in, int64_t n,
                               float *out) {
    wt_mimi_config mc;
    ck_assert_int_eq(wt_mimi_config_load(cfg_path, &mc), WT_OK);
    wt_mimi *m = wt_mimi_load(&mc, w, WT_F32);
    ck_assert_ptr_nonnull(m);
    int K = mc.num_codebooks, F = wt_mimi_frame_size(&mc);
    wt_mimi_encoder_stream *enc = wt_mimi_encoder_stream_new(m, 1, K, 1);
    wt_mimi_decoder_stream *dec = wt_mimi_decoder_stream_new(m, 1, K, 1);
    ck_assert_ptr_nonnull(dec);
    int64_t codes[64], done = 0;
    for (; done + F <= n; done += F) {
        ck_assert_int_eq(wt_mimi_encoder_stream_step(enc, in + done, NULL, codes), WT_OK);
        ck_assert_int_eq(wt_mimi_decoder_stream_step(dec, codes, NULL, out + done), WT_OK);
    }
    wt_mimi_encoder_stream_free(enc);
    wt_mimi_decoder_stream_free(dec);
    wt_mimi_free(m);
    return done;
}

/* The Demucs streamer fed in one piece: output sample j is the enhanced
 * input sample j (any chunking gives the same output). */
static int64_t denoise_reference(const char *cfg_path, const char *w, const float *in, int64_t n,
                                 float *out, int64_t out_cap) {
    wt_demucs_config dc;
    ck_assert_int_eq(wt_demucs_config_load(cfg_path, &dc), WT_OK);
    wt_demucs *m = wt_demucs_new(&dc, w, WT_F32);
    ck_assert_ptr_nonnull(m);
    wt_demucs_stream *s = wt_demucs_stream_new(m, 0.0f, 1);
    ck_assert_ptr_nonnull(s);
    wt_demucs_stream_set_threads(s, 1);
    int64_t got = 0;
    ck_assert_int_eq(wt_demucs_stream_feed(s, in, n, out, out_cap, &got), WT_OK);
    wt_demucs_stream_free(s);
    wt_demucs_free(m);
    return got;
}

/* ---- the test ---- */

typedef enum { CODEC, DENOISE } mode;

static float *golden_f32(const char *rel, const char *name, int64_t *n) {
    char path[1024];
    wt_test_golden(path, sizeof path, rel);
    wt_st_file *io = wt_st_open(path);
    ck_assert_ptr_nonnull(io);
    const wt_st_entry *e = wt_st_find(io, name);
    ck_assert_ptr_nonnull(e);
    *n = (int64_t)(e->nbytes / 4);
    float *p = malloc(e->nbytes);
    memcpy(p, e->data, e->nbytes);
    wt_st_close(io);
    return p;
}

static int64_t first_nonzero(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (x[i] != 0.0f) return i;
    return -1;
}

/* The recording against ref at lag `lag`: rec[k] answers model input
 * D + k - lag (silence before the model's first output). Counts mismatches
 * over the samples the reference covers; *checked gets how many. */
static int64_t mismatches(const float *rec, int64_t rec_n, const float *ref, int64_t ref_n,
                          int64_t D, int64_t lag, bool stop_early, int64_t *checked) {
    int64_t bad = 0, c = 0;
    /* Backwards: a wrong lag fails on the first (non-silent) sample. */
    for (int64_t k = rec_n - 1; k >= 0; k--) {
        int64_t j = D + k - lag;
        if (j >= ref_n) continue;
        float want = j < 0 ? 0.0f : ref[j];
        c++;
        if (rec[k] != want && ++bad && stop_early) break;
    }
    if (checked) *checked = c;
    return bad;
}

static void check_live_model(mode md, const char *rate, const char *period) {
    if (wt_test_jack_missing("test_rt_live")) return;
    const char *name = md == CODEC ? "codec" : "denoise";
    char cfg[1024], w[1024];
    int64_t n;
    float *sig;
    wt_rt_processor proc;
    wt_rt_model *model = NULL;
    if (md == CODEC) {
        wt_test_golden(cfg, sizeof cfg, "mimi/tiny-speech/config.json");
        wt_test_golden(w, sizeof w, "mimi/tiny-speech/model.safetensors");
        sig = golden_f32("mimi/tiny-speech/io.safetensors", "pcm", &n);
        ck_assert_msg(wt_rt_codec_new(cfg, w, 0, &proc, &model) == WT_OK, "%s", wt_last_error());
    } else {
        wt_test_golden(cfg, sizeof cfg, "demucs/configs/tiny.json");
        wt_test_golden(w, sizeof w, "demucs/tiny-noisy/model.safetensors");
        sig = golden_f32("demucs/tiny-noisy/io.safetensors", "noisy", &n);
        ck_assert_msg(wt_rt_denoise_new(cfg, w, 0.0f, &proc, &model) == WT_OK, "%s", wt_last_error());
    }
    ck_assert_int_eq(proc.model_rate, atoi(rate));
    ck_assert_int_ge(first_nonzero(sig, n), 0);

    wt_test_jack_server s;
    ck_assert_msg(start_server(&s, name, rate, period), "jackd -d dummy did not start");
    const int64_t seen_cap = 60 * (int64_t)proc.model_rate;
    live *l = calloc(1, sizeof *l);
    l->headroom_ms = 500;
    live_start(l, &s, &proc, seen_cap);
    probe p = {0};
    atomic_store(&p.start, -1);
    p.sig = sig;
    p.n = n;
    bool opened = probe_open(&p, &s);
    jack_latency_range_t lr = {0, 0};
    int L_engine = -1;
    bool recorded = false;
    wt_rt_stats stats = {0};
    if (opened) {
        jack_recompute_total_latencies(p.rec_c);
        wt_test_msleep(300); /* the latency callbacks run after the connections */
        jack_port_get_latency_range(jack_port_by_name(p.rec_c, "wt_live:out"), JackCaptureLatency, &lr);
        wt_rt_engine *e = atomic_load(&l->eng);
        L_engine = e ? wt_rt_engine_latency(e)->host_frames : -1;
        p.rec_cap = n + 3 * (int64_t)lr.max + 2 * proc.frame;
        p.rec_buf = calloc((size_t)p.rec_cap, sizeof(float));
        jack_set_freewheel(p.src_c, 1);
        atomic_store(&p.go, true);
        for (int t = 0; t < 3000 && atomic_load(&p.rec_until) < p.rec_cap; t++) wt_test_msleep(10);
        recorded = atomic_load(&p.rec_until) >= p.rec_cap;
        if (e) wt_rt_engine_stats(e, &stats); /* before real time resumes */
        jack_set_freewheel(p.src_c, 0);
    }
    atomic_store(&l->done, true);
    pthread_join(l->thread, NULL);
    if (p.src_c) jack_client_close(p.src_c);
    if (p.rec_c) jack_client_close(p.rec_c);
    wt_test_jack_stop(&s);
    ck_assert_msg(opened, "test clients could not reach wavetensor's ports");
    ck_assert_msg(l->st == WT_OK, "wavetensor's JACK host failed: %s", l->err);
    ck_assert_msg(recorded, "the recording did not complete");
    ck_assert_int_eq(lr.min, lr.max);
    int64_t L = lr.max;
    ck_assert_int_eq(L, L_engine);

    /* What the model received: D samples of silence, the clip, silence. */
    int64_t seen_n = atomic_load(&l->t.n);
    if (seen_n > seen_cap) seen_n = seen_cap;
    int64_t D = first_nonzero(l->t.seen, seen_n) - first_nonzero(sig, n);
    ck_assert_int_ge(D, 0);
    int64_t in_bad = 0;
    for (int64_t j = 0; j < seen_n; j++) {
        float want = j < D || j >= D + n ? 0.0f : sig[j - D];
        if (l->t.seen[j] != want) in_bad++;
    }
    ck_assert_msg(in_bad == 0, "%lld model input samples differ from the played clip",
                  (long long)in_bad);
    ck_assert_int_eq(atomic_load(&l->t.resets), 0);
    ck_assert_uint_eq(stats.underruns, 0);
    ck_assert_uint_eq(stats.frames_dropped, 0);
    ck_assert_uint_eq(stats.step_errors, 0);

    /* The offline reference on that input. */
    int64_t ref_in_n = D + p.rec_cap + 4 * (int64_t)proc.frame;
    float *ref_in = calloc((size_t)ref_in_n, sizeof(float));
    memcpy(ref_in + D, sig, (size_t)n * sizeof(float));
    float *ref = calloc((size_t)ref_in_n, sizeof(float));
    int64_t ref_n = md == CODEC ? codec_reference(cfg, w, ref_in, ref_in_n, ref)
                                : denoise_reference(cfg, w, ref_in, ref_in_n, ref, ref_in_n);
    ck_assert_int_ge(ref_n, D + n);
    ck_assert_double_gt(wt_test_rms(ref + D, n), 1e-4);

    int64_t checked = 0;
    int64_t bad = mismatches(p.rec_buf, p.rec_cap, ref, ref_n, D, L, false, &checked);
    /* The measured latency: every lag whose alignment is exact. */
    int64_t found = -1, matches = 0;
    for (int64_t lag = 0; lag <= 2 * L; lag++)
        if (mismatches(p.rec_buf, p.rec_cap, ref, ref_n, D, lag, true, NULL) == 0) found = lag, matches++;
    fprintf(stderr,
            "test_rt_live: live %s at %s Hz, period %s: reported latency %lld frames, "
            "measured %lld (%lld lag(s) in 0..%lld match), %lld samples compared, %lld differ, "
            "%lld samples of silence before the clip\n",
            name, rate, period, (long long)L, (long long)found, (long long)matches, (long long)(2 * L),
            (long long)checked, (long long)bad, (long long)D);
    ck_assert_int_ge(checked, n + L);
    ck_assert_msg(bad == 0, "%lld of %lld recorded samples differ from the offline run at latency %lld",
                  (long long)bad, (long long)checked, (long long)L);
    ck_assert_int_eq(matches, 1);
    ck_assert_int_eq(found, L);

    free(ref);
    free(ref_in);
    free(p.rec_buf);
    free(l->t.seen);
    free(l);
    wt_rt_model_free(model);
    free(sig);
}

/* Periods that do not divide the model frame (1920; Demucs stride 256). */
START_TEST(test_live_codec_matches_offline) { check_live_model(CODEC, "24000", "200"); }
END_TEST
START_TEST(test_live_denoise_matches_offline) { check_live_model(DENOISE, "16000", "200"); }
END_TEST


/* ---- `wavetensor playrec` (the demo's player and recorder) ---- */

/* playrec through `wavetensor live passthrough` at the clip's rate (no
 * resampling anywhere): the file it writes, shifted by the latency
 * passthrough reports, is the clip itself, sample for sample. */
START_TEST(test_playrec_passthrough_exact) {
    if (wt_test_jack_missing("test_rt_live")) return;
    const char *cli = getenv("WT_CLI");
    ck_assert_ptr_nonnull(cli);
    char clip[1024], out[256], log[256], err[256];
    snprintf(clip, sizeof clip, "%s/data/speech/p287_002.wav", WT_SOURCE_DIR);
    snprintf(out, sizeof out, "/tmp/wt_rt_live_%d.wav", (int)getpid());
    snprintf(log, sizeof log, "/tmp/wt_rt_live_%d.out", (int)getpid());
    snprintf(err, sizeof err, "/tmp/wt_rt_live_%d.err", (int)getpid());
    wt_test_jack_server s;
    ck_assert_msg(start_server(&s, "playrec", "16000", "256"), "jackd -d dummy did not start");
    char *live_argv[] = {(char *)cli, "live", "passthrough", "--jack", "--server", s.name, "--name",
                         "wt_live", "--model-rate", "16000", "--frame", "320", "--no-status", NULL};
    pid_t lp = wt_test_spawn(live_argv, NULL, NULL);
    jack_client_t *ctl = wt_test_jack_open(&s, "wt_ctl");
    bool ports = ctl && wait_ports(ctl);
    char *pr_argv[] = {(char *)cli, "playrec", clip, "-o", out, "--server", s.name, "--to", "wt_live:in",
                       "--from", "wt_live:out", "--freewheel", NULL};
    int rc = ports ? wt_test_run_wait(pr_argv, log, err, 60000) : -3;
    kill(lp, SIGTERM);
    int st;
    waitpid(lp, &st, 0);
    if (ctl) jack_client_close(ctl);
    /* No server: one line, exit 1. Missing arguments: exit 2. */
    char *none_argv[] = {(char *)cli, "playrec", clip, "-o", out, "--server", "wt_live_no_such_server",
                         "--to", "a:b", "--from", "c:d", NULL};
    int rc_none = wt_test_run_wait(none_argv, NULL, err, 20000);
    bool none_msg = wt_test_file_contains(err, "wavetensor: playrec: no JACK server running");
    char *usage_argv[] = {(char *)cli, "playrec", clip, NULL};
    int rc_usage = wt_test_run_wait(usage_argv, NULL, NULL, 20000);
    wt_test_jack_stop(&s);
    ck_assert(ports);
    ck_assert_int_eq(rc, 0);
    ck_assert(wt_test_file_contains(log, "(reported latency 576 frames")); /* frame 320 + period 256 */
    int64_t n_in, n_out;
    int r_in, r_out;
    float *in = wt_test_read_wav(clip, &n_in, &r_in), *rec = wt_test_read_wav(out, &n_out, &r_out);
    ck_assert_int_eq(r_in, 16000);
    ck_assert_int_eq(r_out, 16000);
    ck_assert_int_eq(n_out, n_in);
    int64_t bad = 0;
    for (int64_t i = 0; i < n_in; i++)
        if (rec[i] != in[i]) bad++;
    ck_assert_msg(bad == 0, "%lld of %lld samples differ", (long long)bad, (long long)n_in);
    ck_assert_int_eq(rc_none, 1);
    ck_assert(none_msg);
    ck_assert_int_eq(rc_usage, 2);
    free(in);
    free(rec);
    unlink(out);
    unlink(log);
    unlink(err);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("rt_live");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_live_codec_matches_offline);
    tcase_add_test(tc, test_live_denoise_matches_offline);
    tcase_add_test(tc, test_playrec_passthrough_exact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return wt_test_run(suite()); }
