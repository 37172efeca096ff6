/* wavetensor live on a real JACK server: each test starts its own
 * `jackd -d dummy` (unique name), runs `wavetensor live passthrough --jack`
 * as a child process, and checks from the test's own JACK clients that it
 * registered and that its output is its input delayed by exactly the
 * latency it reported to JACK (port latency range); then that SIGTERM stops
 * it cleanly, and that killing jackd ends it with an error, no hang.
 * Without jackd installed the tests say so and pass. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <jack/jack.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wavetensor/mimi.h"
#include "wavetensor/safetensors.h"
#include "wavetensor/tokfile.h"
#include "wt_test.h"
#include "wt_test_jack.h"
#include "wt_test_proc.h"

#define RATE 48000
#define REC_MAX (RATE * 6)

/* The server name is fixed per build tree: JACK keeps a small table of
 * servers (8) and frees a dead server's entry (after the SIGKILL test) only
 * when a server of the same name registers again; the tests in this suite
 * run one after another, so one name is enough, and two build trees
 * (release, sanitizer) may run at once. Period 256, up to 5 s to answer. */
static bool start_server_at(wt_test_jack_server *s, const char *rate) {
    char name[64];
    wt_test_jack_name_build(name, sizeof name, "wt_test");
    return wt_test_jack_start(s, name, rate, "256", 5000);
}

static bool start_server(wt_test_jack_server *s) { return start_server_at(s, "48000"); }

/* Runs `wavetensor live passthrough --jack` on the server. */
static pid_t start_cli(const wt_test_jack_server *s, const char *model_rate, const char *out,
                       const char *err) {
    const char *cli = getenv("WT_CLI");
    if (!cli) return -1;
    char *argv[] = {(char *)cli, "live", "passthrough", "--jack", "--server", (char *)s->name,
                    "--name", "wt_live", "--model-rate", (char *)model_rate, "--no-status", NULL};
    return wt_test_spawn(argv, out, err);
}

/* Waits until the CLI's ports exist (it connected and registered). */
static bool wait_ports(jack_client_t *c) {
    for (int t = 0; t < 200; t++) {
        if (jack_port_by_name(c, "wt_live:in") && jack_port_by_name(c, "wt_live:out")) return true;
        wt_test_msleep(25);
    }
    return false;
}

static double tones(double t) {
    return 0.3 * sin(2 * M_PI * 440.0 * t) + 0.3 * sin(2 * M_PI * 1250.0 * t + 0.7);
}

/* The signal at absolute frame time T (the same clock for every client). */
static float signal_at(int64_t T) { return (float)tones((double)(T % (RATE * 1000)) / RATE); }

/* A source client writing signal_at(frame time) and a recorder client
 * storing what reaches it with the frame time of each sample. Separate
 * clients, so the graph src -> wt_live -> rec has no cycle and no extra
 * period of delay. */
typedef struct probe {
    jack_client_t *src_c, *rec_c;
    jack_port_t *src, *rec;
    float *rec_buf;
    int64_t rec_t0;       /* frame time of rec_buf[0] */
    atomic_int rec_n;
    atomic_bool recording;
} probe;

static int src_process(jack_nframes_t n, void *arg) {
    probe *p = arg;
    float *out = jack_port_get_buffer(p->src, n);
    int64_t t = jack_last_frame_time(p->src_c);
    for (jack_nframes_t i = 0; i < n; i++) out[i] = signal_at(t + i);
    return 0;
}

static int rec_process(jack_nframes_t n, void *arg) {
    probe *p = arg;
    const float *in = jack_port_get_buffer(p->rec, n);
    if (!atomic_load(&p->recording)) return 0;
    int k = atomic_load(&p->rec_n);
    if (k == 0) p->rec_t0 = jack_last_frame_time(p->rec_c);
    if (k + (int)n > REC_MAX) return 0;
    memcpy(p->rec_buf + k, in, n * sizeof(float));
    atomic_store(&p->rec_n, k + (int)n);
    return 0;
}

static bool probe_open(probe *p, const wt_test_jack_server *s) {
    memset(p, 0, sizeof *p);
    p->rec_buf = calloc(REC_MAX, sizeof(float));
    p->src_c = wt_test_jack_open(s, "wt_src");
    p->rec_c = wt_test_jack_open(s, "wt_rec");
    if (!p->src_c || !p->rec_c) return false;
    p->src = jack_port_register(p->src_c, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    p->rec = jack_port_register(p->rec_c, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    jack_set_process_callback(p->src_c, src_process, p);
    jack_set_process_callback(p->rec_c, rec_process, p);
    return p->src && p->rec && !jack_activate(p->src_c) && !jack_activate(p->rec_c) &&
           !jack_connect(p->src_c, "wt_src:out", "wt_live:in") &&
           !jack_connect(p->rec_c, "wt_live:out", "wt_rec:in");
}

static void probe_close(probe *p) {
    if (p->src_c) jack_client_close(p->src_c);
    if (p->rec_c) jack_client_close(p->rec_c);
    free(p->rec_buf);
}

/* The CLI connects, its output equals its input delayed by the capture
 * latency it set on its output port, and SIGTERM ends it with status 0.
 * model_rate "48000": no resampling, bit-exact; "24000": through both
 * converters, within the converters' error (see test_rt_engine.c: 1e-3, while
 * a one-sample latency error at 48 kHz shows as >= 1.7e-2 here). */
static void check_live(const char *model_rate, bool exact) {
    if (wt_test_jack_missing("test_rt_jack")) return;
    wt_test_jack_server s;
    ck_assert_msg(start_server(&s), "jackd -d dummy did not start");
    char out[256], err[256];
    snprintf(out, sizeof out, "/tmp/wt_rt_jack_%d.out", (int)getpid());
    snprintf(err, sizeof err, "/tmp/wt_rt_jack_%d.err", (int)getpid());
    pid_t cli = start_cli(&s, model_rate, out, err);
    ck_assert_int_gt(cli, 0);
    probe p;
    jack_client_t *ctl = wt_test_jack_open(&s, "wt_ctl");
    bool ports = ctl && wait_ports(ctl);
    bool opened = ports && probe_open(&p, &s);
    jack_latency_range_t lr = {0, 0};
    if (opened) {
        wt_test_msleep(300); /* let the latency callback run after the connections */
        jack_port_get_latency_range(jack_port_by_name(ctl, "wt_live:out"), JackCaptureLatency, &lr);
        /* Freewheel (no deadlines; wavetensor then waits for its model):
         * a loaded test machine cannot drop cycles, so the comparison is
         * exact, not a matter of luck. */
        jack_set_freewheel(ctl, 1);
        atomic_store(&p.recording, true);
        for (int t = 0; t < 500 && atomic_load(&p.rec_n) < 2 * RATE; t++) wt_test_msleep(20);
        atomic_store(&p.recording, false);
        jack_set_freewheel(ctl, 0);
        wt_test_msleep(200); /* some real-time cycles again before SIGTERM */
    }
    kill(cli, SIGTERM);
    int status = 0;
    int waited = wt_test_wait_exit(cli, 5000, &status);
    if (waited) kill(cli, SIGKILL), waitpid(cli, &status, 0);
    /* Compare after the signal's start (plus converter settling) has
     * passed through: the source started before recording began. */
    int n = opened ? atomic_load(&p.rec_n) : 0;
    int lat = (int)lr.min, bad = 0, checked = 0;
    double worst = 0;
    for (int i = RATE / 10; i < n; i++) {
        float want = signal_at(p.rec_t0 + i - lat);
        double e = fabs((double)p.rec_buf[i] - want);
        if (e > worst) worst = e;
        if (exact ? p.rec_buf[i] != want : e > 1e-3) bad++;
        checked++;
    }
    if (ctl) jack_client_close(ctl);
    if (opened) probe_close(&p);
    wt_test_jack_stop(&s);
    fprintf(stderr, "test_rt_jack: model rate %s: JACK port latency %d frames, %d samples checked, worst error %g\n",
            model_rate, lat, checked, worst);
    ck_assert_msg(ports, "wavetensor's JACK ports did not appear");
    ck_assert_msg(opened, "test clients could not connect to wavetensor");
    ck_assert_msg(wt_test_file_contains(out, "JACK client 'wt_live' at 48000 Hz"), "no start line");
    ck_assert_int_eq(lr.min, lr.max);
    ck_assert_int_gt(lat, 256);
    ck_assert_int_gt(checked, RATE / 2);
    ck_assert_msg(bad == 0, "%d of %d samples off (worst %g) at reported latency %d", bad, checked,
                  worst, lat);
    ck_assert_msg(waited == 0, "wavetensor did not exit within 5 s of SIGTERM");
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_msg(wt_test_file_contains(out, "underruns"), "no summary line");
    unlink(out);
    unlink(err);
}

START_TEST(test_live_passthrough_same_rate_exact) { check_live("48000", true); }
END_TEST
START_TEST(test_live_passthrough_resampled) { check_live("24000", false); }
END_TEST

/* jackd killed under the client: a clear error, non-zero exit, no hang. */
START_TEST(test_server_vanishes) {
    if (wt_test_jack_missing("test_rt_jack")) return;
    wt_test_jack_server s;
    ck_assert_msg(start_server(&s), "jackd -d dummy did not start");
    char out[256], err[256];
    snprintf(out, sizeof out, "/tmp/wt_rt_jack_v%d.out", (int)getpid());
    snprintf(err, sizeof err, "/tmp/wt_rt_jack_v%d.err", (int)getpid());
    pid_t cli = start_cli(&s, "24000", out, err);
    jack_client_t *ctl = wt_test_jack_open(&s, "wt_ctl");
    bool ports = ctl && wait_ports(ctl);
    wt_test_msleep(300);
    kill(s.pid, SIGKILL);
    int st;
    waitpid(s.pid, &st, 0);
    s.pid = 0;
    int status = 0;
    int waited = wt_test_wait_exit(cli, 5000, &status);
    if (waited) kill(cli, SIGKILL), waitpid(cli, &status, 0);
    if (ctl) jack_client_close(ctl);
    ck_assert(ports);
    ck_assert_msg(waited == 0, "wavetensor hung after jackd died");
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 1);
    ck_assert_msg(wt_test_file_contains(err, "wavetensor: JACK server went away"), "no clear message");
    unlink(out);
    unlink(err);
}
END_TEST

/* No server: one line and exit 1, without starting one. */
START_TEST(test_no_server) {
    const char *cli = getenv("WT_CLI");
    ck_assert_ptr_nonnull(cli);
    char err[256];
    snprintf(err, sizeof err, "/tmp/wt_rt_jack_n%d.err", (int)getpid());
    char *argv[] = {(char *)cli, "live", "passthrough", "--jack", "--server", "wt_test_no_such_server",
                    "--seconds", "1", NULL};
    pid_t pid = wt_test_spawn(argv, NULL, err);
    int status = 0;
    int waited = wt_test_wait_exit(pid, 10000, &status);
    if (waited) kill(pid, SIGKILL), waitpid(pid, &status, 0);
    ck_assert_int_eq(waited, 0);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 1);
    ck_assert(wt_test_file_contains(err, "wavetensor: no JACK server running"));
    unlink(err);
}
END_TEST

static void mimi_paths(char *cfg, char *w, size_t n) {
    wt_test_golden(cfg, n, "mimi/tiny-speech/config.json");
    wt_test_golden(w, n, "mimi/tiny-speech/model.safetensors");
}

/* `wavetensor record` killed with SIGKILL mid-run: the file holds every
 * complete frame, and they are the codes of what it heard (nothing is
 * connected: silence), as Mimi's streaming encoder gives them directly. */
START_TEST(test_record_survives_sigkill) {
    if (wt_test_jack_missing("test_rt_jack")) return;
    const char *cli = getenv("WT_CLI");
    ck_assert_ptr_nonnull(cli);
    char cfg[1024], w[1024], tok[256];
    mimi_paths(cfg, w, sizeof cfg);
    snprintf(tok, sizeof tok, "/tmp/wt_rt_rec_%d.wtok", (int)getpid());
    wt_test_jack_server s;
    ck_assert_msg(start_server(&s), "jackd -d dummy did not start");
    char *argv[] = {(char *)cli, "record", "-o", tok, "--jack", "--server", s.name, "--name", "wt_live",
                    "--weights", w, "--config", cfg, "--no-status", NULL};
    pid_t pid = wt_test_spawn(argv, NULL, NULL);
    jack_client_t *ctl = wt_test_jack_open(&s, "wt_ctl");
    bool ports = ctl && wait_ports(ctl);
    wt_test_msleep(1500);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    if (ctl) jack_client_close(ctl);
    wt_test_jack_stop(&s);
    ck_assert(ports);
    wt_tok_file f;
    ck_assert_msg(wt_tok_read(tok, &f) == WT_OK, "%s", wt_last_error());
    ck_assert_int_ge(f.frames, 5); /* 12.5 frames/s for ~1.5 s, less the latency */
    /* Reference: the streaming encoder on silent frames. */
    wt_mimi_config mc;
    ck_assert_int_eq(wt_mimi_config_load(cfg, &mc), WT_OK);
    wt_mimi *m = wt_mimi_load(&mc, w, WT_F32);
    ck_assert_ptr_nonnull(m);
    int K = (int)f.h.codebooks;
    wt_mimi_encoder_stream *enc = wt_mimi_encoder_stream_new(m, 1, K, 1);
    float *zeros = calloc(1920, sizeof(float));
    int64_t codes[64];
    int mismatched = 0;
    for (int64_t i = 0; i < f.frames; i++) {
        ck_assert_int_eq(wt_mimi_encoder_stream_step(enc, zeros, NULL, codes), WT_OK);
        for (int k = 0; k < K; k++)
            if (codes[k] != f.codes[i * K + k]) mismatched++;
    }
    ck_assert_int_eq(mismatched, 0);
    ck_assert_int_eq((int64_t)f.h.model_id, (int64_t)wt_mimi_model_id(m));
    free(zeros);
    wt_mimi_encoder_stream_free(enc);
    wt_mimi_free(m);
    wt_tok_file_free(&f);
    unlink(tok);
}
END_TEST

/* `wavetensor play` of a file of golden codes through a 24 kHz JACK server
 * (no resampling): the recorded output is, sample for sample, the streaming
 * decoder's output for those codes, and the command ends by itself. */
START_TEST(test_play_matches_offline_decode) {
    if (wt_test_jack_missing("test_rt_jack")) return;
    const char *cli = getenv("WT_CLI");
    ck_assert_ptr_nonnull(cli);
    char cfg[1024], w[1024], io_path[1024], tok[256];
    mimi_paths(cfg, w, sizeof cfg);
    wt_test_golden(io_path, sizeof io_path, "mimi/tiny-speech/io.safetensors");
    snprintf(tok, sizeof tok, "/tmp/wt_rt_play_%d.wtok", (int)getpid());

    /* The file: golden whole-clip codes [1, K, F], written frame by frame. */
    wt_mimi_config mc;
    ck_assert_int_eq(wt_mimi_config_load(cfg, &mc), WT_OK);
    wt_mimi *m = wt_mimi_load(&mc, w, WT_F32);
    ck_assert_ptr_nonnull(m);
    wt_st_file *io = wt_st_open(io_path);
    const wt_st_entry *ce = wt_st_find(io, "codes");
    ck_assert_ptr_nonnull(ce);
    int K = (int)ce->shape[1], F = (int)ce->shape[2];
    int64_t *golden_codes = malloc(ce->nbytes); /* the mapping may be unaligned */
    memcpy(golden_codes, ce->data, ce->nbytes);
    wt_tok_header h = {.version = WT_TOK_VERSION, .sample_rate = 24000, .frame_rate_num = 12500,
                       .frame_rate_den = 1000, .frame_samples = 1920, .codebooks = (uint32_t)K,
                       .codebook_size = (uint32_t)mc.bins, .model_id = wt_mimi_model_id(m)};
    wt_tok_writer *tw = wt_tok_writer_open(tok, &h);
    ck_assert_ptr_nonnull(tw);
    int64_t frame_codes[64];
    for (int f = 0; f < F; f++) {
        for (int k = 0; k < K; k++) frame_codes[k] = golden_codes[k * F + f];
        ck_assert_int_eq(wt_tok_writer_append(tw, frame_codes), WT_OK);
    }
    ck_assert_int_eq(wt_tok_writer_close(tw), WT_OK);
    /* Reference: the streaming decoder, frame by frame. */
    wt_mimi_decoder_stream *dec = wt_mimi_decoder_stream_new(m, 1, K, 1);
    float *direct = calloc((size_t)F * 1920, sizeof(float));
    for (int f = 0; f < F; f++) {
        for (int k = 0; k < K; k++) frame_codes[k] = golden_codes[k * F + f];
        ck_assert_int_eq(wt_mimi_decoder_stream_step(dec, frame_codes, NULL, direct + f * 1920), WT_OK);
    }

    wt_test_jack_server s;
    ck_assert_msg(start_server_at(&s, "24000"), "jackd -d dummy did not start");
    probe p;
    memset(&p, 0, sizeof p);
    p.rec_buf = calloc(REC_MAX, sizeof(float));
    p.rec_c = wt_test_jack_open(&s, "wt_rec");
    ck_assert_ptr_nonnull(p.rec_c);
    p.rec = jack_port_register(p.rec_c, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    jack_set_process_callback(p.rec_c, rec_process, &p);
    ck_assert_int_eq(jack_activate(p.rec_c), 0);
    atomic_store(&p.recording, true);
    /* --out connects to our recorder right after activation, well within
     * the latency, so nothing it plays is missed; headroom keeps a loaded
     * machine from underrunning in the real-time start. */
    char *argv[] = {(char *)cli, "play", tok, "--jack", "--server", s.name, "--name", "wt_live",
                    "--out", "wt_rec:in", "--headroom", "200", "--weights", w, "--config", cfg,
                    "--no-status", NULL};
    pid_t pid = wt_test_spawn(argv, NULL, NULL);
    int status = 0;
    int waited = wt_test_wait_exit(pid, 20000, &status);
    if (waited) kill(pid, SIGKILL), waitpid(pid, &status, 0);
    atomic_store(&p.recording, false);
    jack_client_close(p.rec_c);
    p.rec_c = NULL;
    wt_test_jack_stop(&s);
    int n = atomic_load(&p.rec_n);
    int r0 = 0, d0 = 0;
    while (r0 < n && p.rec_buf[r0] == 0.0f) r0++;
    while (d0 < F * 1920 && direct[d0] == 0.0f) d0++;
    int bad = 0, compared = 0;
    for (int i = d0; i < F * 1920 && r0 + (i - d0) < n; i++, compared++)
        if (p.rec_buf[r0 + (i - d0)] != direct[i]) bad++;
    ck_assert_msg(waited == 0, "play did not end by itself");
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_int_eq(compared, F * 1920 - d0);
    ck_assert_msg(bad == 0, "%d of %d samples differ from the offline streaming decode", bad, compared);
    free(p.rec_buf);
    free(direct);
    free(golden_codes);
    wt_mimi_decoder_stream_free(dec);
    wt_st_close(io);
    wt_mimi_free(m);
    unlink(tok);
}
END_TEST

/* PortAudio through its JACK host API on the dummy server: the device is
 * listed, selected by name, runs and stops cleanly; a device that does not
 * exist is a one-line error and exit 1. */
START_TEST(test_portaudio_via_jack) {
    if (wt_test_jack_missing("test_rt_jack")) return;
    const char *cli = getenv("WT_CLI");
    ck_assert_ptr_nonnull(cli);
    wt_test_jack_server s;
    ck_assert_msg(start_server(&s), "jackd -d dummy did not start");
    setenv("JACK_DEFAULT_SERVER", s.name, 1); /* PortAudio's JACK backend reads it */
    char out[256], err[256];
    snprintf(out, sizeof out, "/tmp/wt_rt_pa_%d.out", (int)getpid());
    snprintf(err, sizeof err, "/tmp/wt_rt_pa_%d.err", (int)getpid());
    char *list[] = {(char *)cli, "devices", NULL};
    int st_list = 0, st_run = 0, st_bad = 0;
    waitpid(wt_test_spawn(list, out, err), &st_list, 0);
    bool listed = wt_test_file_contains(out, "JACK Audio Connection Kit");
    char *run[] = {(char *)cli, "live", "passthrough", "--portaudio", "--in", "system", "--out", "system",
                   "--seconds", "1", "--no-status", NULL};
    pid_t pid = wt_test_spawn(run, out, err);
    int waited = wt_test_wait_exit(pid, 15000, &st_run);
    if (waited) kill(pid, SIGKILL), waitpid(pid, &st_run, 0);
    bool ran = wt_test_file_contains(out, "PortAudio 'system' -> 'system' at 48000 Hz");
    char *bad[] = {(char *)cli, "live", "passthrough", "--portaudio", "--in", "no such device",
                   "--seconds", "1", NULL};
    waitpid(wt_test_spawn(bad, NULL, err), &st_bad, 0);
    bool bad_msg = wt_test_file_contains(err, "wavetensor: no PortAudio device matches 'no such device'");
    wt_test_jack_stop(&s);
    ck_assert(WIFEXITED(st_list) && WEXITSTATUS(st_list) == 0);
    ck_assert_msg(listed, "the JACK host API's device is not listed");
    ck_assert_int_eq(waited, 0);
    ck_assert(WIFEXITED(st_run));
    ck_assert_int_eq(WEXITSTATUS(st_run), 0);
    ck_assert(ran);
    ck_assert(WIFEXITED(st_bad));
    ck_assert_int_eq(WEXITSTATUS(st_bad), 1);
    ck_assert(bad_msg);
    unlink(out);
    unlink(err);
}
END_TEST

/* Usage errors exit 2. */
START_TEST(test_usage_errors) {
    const char *cli = getenv("WT_CLI");
    ck_assert_ptr_nonnull(cli);
    char *bad[][6] = {
        {(char *)cli, "live", NULL},
        {(char *)cli, "live", "karaoke", NULL},
        {(char *)cli, "live", "passthrough", "--period", "3", NULL},
        {(char *)cli, "live", "passthrough", "--bogus", NULL},
        {(char *)cli, "live", "codec", "--codebooks", "0", NULL},
        {(char *)cli, "record", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pid_t pid = wt_test_spawn(bad[i], NULL, NULL);
        int status = 0;
        waitpid(pid, &status, 0);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 2);
    }
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("rt_jack");
    TCase *tc = tcase_create("jack");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_live_passthrough_same_rate_exact);
    tcase_add_test(tc, test_live_passthrough_resampled);
    tcase_add_test(tc, test_server_vanishes);
    tcase_add_test(tc, test_no_server);
    tcase_add_test(tc, test_record_survives_sigkill);
    tcase_add_test(tc, test_play_matches_offline_decode);
    tcase_add_test(tc, test_portaudio_via_jack);
    tcase_add_test(tc, test_usage_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return wt_test_run(suite()); }
