/* The LV2 plugins (plugin/), in real hosts and in this process.
 *
 * Hosts (the build-tree bundle through LV2_PATH, the golden tiny models
 * through WT_LV2_*_WEIGHTS or saved state): lv2ls/lv2info parse the bundle;
 * lv2apply (no host features, one sample per call) and lv2proc (512-sample
 * blocks, compensating the reported latency itself) render WAV files; jalv
 * runs the plugin on a dummy JACK server this test starts, with the model
 * given as saved state, and a JACK client here plays and records. Each
 * output must equal the model run directly (streaming, no engine) on the
 * same input once shifted by the latency the plugin reported, and match the
 * reference streamer's golden output within the golden tolerance; in jalv
 * the input is preceded by the whole periods of silence the plugin ran on
 * before it. In jalv, jack_iodelay measures the round trip through the
 * denoiser set fully dry: the reported latency plus the one period JACK
 * adds to close the loop.
 *
 * In process (the plugin objects are linked into this test, so the
 * linker-wrapped malloc sees the plugin's allocations): run() allocates,
 * locks and waits nothing; a missing or malformed model passes the input
 * through bit for bit and says so on the status port; state saves and
 * restores the model paths; host rate and block size changes between
 * activations work.
 *
 * Hosts are skipped (with a message) when a tool is missing or
 * WT_LV2_NO_HOSTS is set (the sanitizer build: an uninstrumented host cannot
 * load an ASan plugin). */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <jack/jack.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/options/options.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>

#include "wavetensor/demucs.h"
#include "wavetensor/mimi.h"
#include "wavetensor/safetensors.h"
#include "wt_test.h"

#define DENOISE_URI "urn:wavetensor:lv2:denoise"
#define CODEC_URI "urn:wavetensor:lv2:codec"
enum { P_IN, P_OUT, P_MIX, P_ENABLED, P_FREEWHEEL, P_LATENCY, P_STATUS, P_CODEBOOKS };

/* ---- golden data and the model run directly ---- */

typedef struct golden {
    float *in, *ref; /* input, reference streamer output */
    int64_t n, n_ref;
    int rate;
    double tol; /* max |err| / rms(ref) */
} golden;

static float *st_f32(wt_st_file *io, const char *name, int64_t *n) {
    const wt_st_entry *e = wt_st_find(io, name);
    ck_assert_msg(e != NULL, "golden tensor %s missing", name);
    *n = (int64_t)(e->nbytes / 4);
    float *p = malloc(e->nbytes);
    memcpy(p, e->data, e->nbytes);
    return p;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc((size_t)n + 1, 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

static void denoise_paths(char *cfg, char *w) {
    wt_test_golden(cfg, 1024, "demucs/configs/tiny.json");
    wt_test_golden(w, 1024, "demucs/tiny-noisy/model.safetensors");
}

static void codec_paths(char *cfg, char *w) {
    wt_test_golden(cfg, 1024, "mimi/tiny-speech/config.json");
    wt_test_golden(w, 1024, "mimi/tiny-speech/model.safetensors");
}

/* Demucs tiny-noisy: the noisy input and the reference DemucsStreamer
 * output before its flush (what a stream without end produces). */
static golden load_denoise_golden(void) {
    char p[1024];
    golden g = {.rate = 16000};
    wt_st_file *io = wt_st_open(wt_test_golden(p, sizeof p, "demucs/tiny-noisy/io.safetensors"));
    ck_assert_ptr_nonnull(io);
    g.in = st_f32(io, "noisy", &g.n);
    g.ref = st_f32(io, "enhanced_stream", &g.n_ref);
    wt_st_close(io);
    char *text = read_text(wt_test_golden(p, sizeof p, "demucs/tiny-noisy/case.json"));
    cJSON *meta = cJSON_Parse(text);
    cJSON *run = cJSON_GetObjectItem(cJSON_GetObjectItem(meta, "stream_runs"), "enhanced_stream");
    g.n_ref = cJSON_GetObjectItem(run, "samples_before_flush")->valueint;
    cJSON *tol = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(meta, "tolerance"), "per_tensor"),
                                     "enhanced_stream");
    g.tol = cJSON_GetObjectItem(tol, "max_abs_over_rms")->valuedouble;
    cJSON_Delete(meta);
    free(text);
    return g;
}

/* Mimi tiny-speech: 2 s of speech. The golden decoded_stream decodes the
 * whole-clip codes, not a streaming round trip, so the codec's reference is
 * the model's streaming run directly (test_mimi checks that against the
 * golden codes_stream and decoded_stream). */
static golden load_codec_golden(void) {
    char p[1024];
    golden g = {.rate = 24000};
    wt_st_file *io = wt_st_open(wt_test_golden(p, sizeof p, "mimi/tiny-speech/io.safetensors"));
    ck_assert_ptr_nonnull(io);
    g.in = st_f32(io, "pcm", &g.n);
    wt_st_close(io);
    return g;
}

static void golden_free(golden *g) {
    free(g->in);
    free(g->ref);
}

/* The same model run directly: Demucs streaming over the whole input (what
 * a stream without end has produced), or Mimi encode -> decode frame by
 * frame with k codebooks. Returns the samples produced. */
static wt_demucs *load_denoise_model(void) {
    char cfg_path[1024], w[1024];
    denoise_paths(cfg_path, w);
    wt_demucs_config cfg;
    ck_assert_int_eq(wt_demucs_config_load(cfg_path, &cfg), WT_OK);
    wt_demucs *m = wt_demucs_new(&cfg, w, WT_F32);
    ck_assert_ptr_nonnull(m);
    return m;
}

/* One stream from a fresh state over x[0..n), fed in chunks of `chunk`;
 * stops early (returning what it has) once its output so far differs from
 * `expect` at an index >= `from` (NULL: never). */
static int64_t stream_denoise(wt_demucs *m, const float *x, int64_t n, int64_t chunk, float **out,
                              const float *expect, int64_t from) {
    wt_demucs_stream *s = wt_demucs_stream_new(m, 0.0f, 1);
    ck_assert_ptr_nonnull(s);
    wt_demucs_stream_set_threads(s, 1);
    int64_t cap = wt_demucs_stream_out_count(s, n);
    *out = calloc((size_t)cap + 1, sizeof(float));
    int64_t got = 0;
    bool same = true;
    for (int64_t t = 0; t < n && same; t += chunk) {
        int64_t len = n - t < chunk ? n - t : chunk, k = 0;
        ck_assert_int_eq(wt_demucs_stream_feed(s, x + t, len, *out + got, cap - got, &k), WT_OK);
        for (int64_t i = got > from ? got : from; expect && i < got + k; i++)
            same = same && (*out)[i] == expect[i];
        got += k;
    }
    wt_demucs_stream_free(s);
    return got;
}

static int64_t direct_denoise(const golden *g, float **out) {
    wt_demucs *m = load_denoise_model();
    int64_t got = stream_denoise(m, g->in, g->n, g->n, out, NULL, 0);
    wt_demucs_free(m);
    return got;
}

static wt_mimi *load_codec_model(void) {
    char cfg_path[1024], w[1024];
    codec_paths(cfg_path, w);
    wt_mimi_config mc;
    ck_assert_int_eq(wt_mimi_config_load(cfg_path, &mc), WT_OK);
    wt_mimi *mm = wt_mimi_load(&mc, w, WT_F32);
    ck_assert_ptr_nonnull(mm);
    return mm;
}

/* Encode -> decode frame by frame with k codebooks from a fresh state over
 * x[0..n); stops early like stream_denoise. */
static int64_t stream_codec(wt_mimi *mm, int k, const float *x, int64_t n, float **out,
                            const float *expect, int64_t from) {
    wt_mimi_encoder_stream *enc = wt_mimi_encoder_stream_new(mm, 1, k, 1);
    wt_mimi_decoder_stream *dec = wt_mimi_decoder_stream_new(mm, 1, k, 1);
    ck_assert_ptr_nonnull(enc);
    ck_assert_ptr_nonnull(dec);
    *out = calloc((size_t)n + 1, sizeof(float));
    int64_t codes[64], f = 0;
    bool same = true;
    for (; f + 1920 <= n && same; f += 1920) {
        ck_assert_int_eq(wt_mimi_encoder_stream_step(enc, x + f, NULL, codes), WT_OK);
        ck_assert_int_eq(wt_mimi_decoder_stream_step(dec, codes, NULL, *out + f), WT_OK);
        for (int64_t i = f > from ? f : from; expect && i < f + 1920; i++)
            same = same && (*out)[i] == expect[i];
    }
    wt_mimi_encoder_stream_free(enc);
    wt_mimi_decoder_stream_free(dec);
    return f;
}

static int64_t direct_codec(const golden *g, int k, float **out) {
    wt_mimi *mm = load_codec_model();
    int64_t got = stream_codec(mm, k, g->in, g->n, out, NULL, 0);
    wt_mimi_free(mm);
    return got;
}

/* Compares y[lat + i] with want[i] (exactly) and ref[i] (tolerance) for
 * i < n; out-of-range y counts as a mismatch. */
static void check_aligned(const char *what, const float *y, int64_t ny, int64_t lat,
                          const float *want, int64_t n, const golden *g) {
    int64_t bad = 0, first_bad = -1;
    double worst = 0;
    int64_t nr = !g->ref ? 0 : n < g->n_ref ? n : g->n_ref;
    for (int64_t i = 0; i < n; i++) {
        float v = lat + i < ny ? y[lat + i] : NAN;
        if (!(v == want[i])) {
            if (first_bad < 0) first_bad = i;
            bad++;
        }
        if (i < nr) {
            double d = fabs((double)v - g->ref[i]);
            if (!(d <= worst)) worst = isnan(d) ? INFINITY : d;
        }
    }
    double rel = nr ? worst / wt_test_rms(g->ref, nr) : 0;
    fprintf(stderr, "test_lv2: %s: latency %lld, %lld samples, %lld differ from direct, err %.2g x rms\n",
            what, (long long)lat, (long long)n, (long long)bad, rel);
    ck_assert_msg(bad == 0, "%s: %lld of %lld samples differ from the model run directly (first at %lld)",
                  what, (long long)bad, (long long)n, (long long)first_bad);
    ck_assert_msg(!nr || rel <= g->tol, "%s: err %.3g x rms vs golden tolerance %.3g", what, rel, g->tol);
    ck_assert_double_gt(wt_test_rms(want, n), 1e-3);
}

/* ---- files and processes ---- */

static char g_tmp[256];

static const char *tmp_path(char *buf, const char *name) {
    if (!g_tmp[0]) {
        snprintf(g_tmp, sizeof g_tmp, "/tmp/wt_test_lv2_%d", (int)getpid());
        mkdir(g_tmp, 0755);
    }
    snprintf(buf, 1024, "%s/%s", g_tmp, name);
    return buf;
}

static void write_wav(const char *path, const float *x, int64_t n, int rate) {
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    ck_assert_msg(f != NULL, "%s: %s", path, sf_strerror(NULL));
    ck_assert_int_eq(sf_writef_float(f, x, n), n);
    sf_close(f);
}

static float *read_wav(const char *path, int64_t *n, int *rate) {
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    ck_assert_msg(f != NULL, "%s: %s", path, sf_strerror(NULL));
    ck_assert_int_eq(info.channels, 1);
    float *x = calloc((size_t)info.frames + 1, sizeof(float));
    *n = sf_readf_float(f, x, info.frames);
    *rate = info.samplerate;
    sf_close(f);
    return x;
}

static bool have_tool(const char *name) {
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
    for (char *dir = strtok(buf, ":"); dir; dir = strtok(NULL, ":")) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        if (access(p, X_OK) == 0) return true;
    }
    return false;
}

static bool hosts_ok(const char *tool) {
    const char *no = getenv("WT_LV2_NO_HOSTS");
    if (no && no[0] && strcmp(no, "0")) {
        fprintf(stderr, "test_lv2: hosts skipped (WT_LV2_NO_HOSTS: sanitizer build)\n");
        return false;
    }
    if (!have_tool(tool)) {
        fprintf(stderr, "test_lv2: %s not installed: skipped (tools/setup.sh installs it)\n", tool);
        return false;
    }
    return true;
}

/* Starts argv with stdout/stderr to files; stdin from a pipe kept open in
 * *stdin_fd when asked (jalv quits at end of input). */
static pid_t spawn(char *const argv[], const char *out_path, const char *err_path, int *stdin_fd) {
    int fds[2] = {-1, -1};
    if (stdin_fd) ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, STDOUT_FILENO);
        dup2(e, STDERR_FILENO);
        if (stdin_fd) {
            dup2(fds[0], STDIN_FILENO);
            close(fds[1]);
        }
        setpgid(0, 0);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (stdin_fd) {
        close(fds[0]);
        *stdin_fd = fds[1];
    }
    return pid;
}

/* Runs argv to completion (120 s at most); returns its exit code. */
static int run_tool(char *const argv[], const char *out_path, const char *err_path) {
    pid_t pid = spawn(argv, out_path, err_path, NULL);
    int st = 0;
    for (int t = 0; t < 120000; t += 10) {
        if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static void stop_child(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int st;
    for (int t = 0; t < 5000; t += 20) {
        if (waitpid(pid, &st, WNOHANG) == pid) return;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

static void set_golden_env(void) {
    char cfg[1024], w[1024];
    denoise_paths(cfg, w);
    setenv("WT_LV2_DENOISE_WEIGHTS", w, 1);
    setenv("WT_LV2_DENOISE_CONFIG", cfg, 1);
    codec_paths(cfg, w);
    setenv("WT_LV2_CODEC_WEIGHTS", w, 1); /* config.json beside it */
    unsetenv("WT_LV2_CODEC_CONFIG");
}

/* ---- the plugin in this process ---- */

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index);

static const LV2_Descriptor *descriptor(const char *uri) {
    for (uint32_t i = 0;; i++) {
        const LV2_Descriptor *d = lv2_descriptor(i);
        if (!d) return NULL;
        if (!strcmp(d->URI, uri)) return d;
    }
}

/* A tiny urid:map (the host side of state and options). */
#define MAX_URIS 64
typedef struct uri_table {
    char uris[MAX_URIS][160];
    int n;
} uri_table;

static LV2_URID map_uri(LV2_URID_Map_Handle h, const char *uri) {
    uri_table *t = h;
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->uris[i], uri)) return (LV2_URID)i + 1;
    if (t->n == MAX_URIS) return 0;
    snprintf(t->uris[t->n], sizeof t->uris[0], "%s", uri);
    return (LV2_URID)++t->n;
}

typedef struct inst {
    const LV2_Descriptor *d;
    LV2_Handle h;
    float mix, enabled, freewheel, latency, status, codebooks;
} inst;

static void inst_open(inst *p, const char *uri, double rate, const LV2_Feature *const *features) {
    memset(p, 0, sizeof *p);
    p->d = descriptor(uri);
    ck_assert_ptr_nonnull(p->d);
    p->h = p->d->instantiate(p->d, rate, "/nonexistent-bundle/", features);
    ck_assert_ptr_nonnull(p->h);
    p->mix = 1;
    p->enabled = 1;
    p->codebooks = 8;
    p->latency = p->status = -1;
    p->d->connect_port(p->h, P_MIX, &p->mix);
    p->d->connect_port(p->h, P_ENABLED, &p->enabled);
    p->d->connect_port(p->h, P_FREEWHEEL, &p->freewheel);
    p->d->connect_port(p->h, P_LATENCY, &p->latency);
    p->d->connect_port(p->h, P_STATUS, &p->status);
    if (!strcmp(uri, CODEC_URI)) p->d->connect_port(p->h, P_CODEBOOKS, &p->codebooks);
}

static void inst_run(inst *p, const float *in, float *out, int n) {
    p->d->connect_port(p->h, P_IN, (void *)in);
    p->d->connect_port(p->h, P_OUT, out);
    p->d->run(p->h, (uint32_t)n);
}

static void inst_close(inst *p) {
    p->d->cleanup(p->h);
}

/* Renders x in blocks of `block` (free-wheeling: the model's exact output). */
static float *render(inst *p, const float *x, int64_t n, int block) {
    float *y = calloc((size_t)n, sizeof(float));
    for (int64_t t = 0; t < n; t += block) {
        int len = n - t < block ? (int)(n - t) : block;
        inst_run(p, x + t, y + t, len);
    }
    return y;
}

/* The latency the plugin reports with no host features at this rate (what
 * lv2apply gets: it prints nothing, so the test asks the same plugin). */
static int reported_latency(const char *uri, double rate) {
    inst p;
    inst_open(&p, uri, rate, NULL);
    p.d->activate(p.h);
    float x[16] = {0}, y[16];
    inst_run(&p, x, y, 16);
    int lat = (int)p.latency;
    float status = p.status;
    p.d->deactivate(p.h);
    inst_close(&p);
    ck_assert_msg(status == 0, "the plugin has no model (status %g)", status);
    return lat;
}

/* The latency the plugin reports when the host announces its block size
 * through options (what jalv does, with JACK's period). */
static int planned_latency(const char *uri, double rate, int32_t block) {
    uri_table t = {0};
    LV2_URID_Map map = {&t, map_uri};
    LV2_Options_Option opts[] = {
        {LV2_OPTIONS_INSTANCE, 0, map_uri(&t, LV2_BUF_SIZE__maxBlockLength), sizeof(int32_t),
         map_uri(&t, LV2_ATOM__Int), &block},
        {LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL}};
    LV2_Feature fmap = {LV2_URID__map, &map}, fopt = {LV2_OPTIONS__options, opts};
    const LV2_Feature *features[] = {&fmap, &fopt, NULL};
    inst p;
    inst_open(&p, uri, rate, features);
    p.d->activate(p.h);
    int lat = (int)p.latency;
    p.d->deactivate(p.h);
    inst_close(&p);
    return lat;
}

/* ---- hosts ---- */

START_TEST(test_lv2ls_lv2info_parse_bundle) {
    if (!hosts_ok("lv2info")) return;
    char out[1024], err[1024];
    char *ls[] = {"lv2ls", NULL};
    ck_assert_int_eq(run_tool(ls, tmp_path(out, "ls.out"), tmp_path(err, "ls.err")), 0);
    char *text = read_text(out);
    ck_assert_msg(strstr(text, DENOISE_URI) && strstr(text, CODEC_URI), "lv2ls: %s", text);
    free(text);
    const char *uris[] = {DENOISE_URI, CODEC_URI};
    for (int i = 0; i < 2; i++) {
        char *info[] = {"lv2info", (char *)uris[i], NULL};
        ck_assert_int_eq(run_tool(info, tmp_path(out, "info.out"), tmp_path(err, "info.err")), 0);
        text = read_text(out);
        char *errs = read_text(err);
        ck_assert_msg(errs[0] == 0, "lv2info %s complained: %s", uris[i], errs);
        ck_assert_msg(strstr(text, "Has latency:       yes, reported by port 5"), "%s", text);
        ck_assert_msg(strstr(text, "http://lv2plug.in/ns/lv2core#enabled"), "no lv2:enabled port");
        ck_assert_msg(strstr(text, "http://lv2plug.in/ns/ext/state#interface"), "no state");
        ck_assert_msg(!strstr(text, "Required Features"), "requires features: %s", text);
        /* two presets each */
        ck_assert_msg(i == 0 ? strstr(text, "Gentle") && strstr(text, "Strong")
                             : strstr(text, "Low-bitrate") && strstr(text, "High-bitrate"),
                      "presets missing: %s", text);
        free(text);
        free(errs);
    }
}
END_TEST

/* lv2apply: one sample per call, no features; free-wheeling set by -c. */
static void lv2apply_case(const char *uri, golden *g, const float *want, int64_t n_want,
                          const char *extra_sym, const char *extra_val, const char *label) {
    char in[1024], out[1024], err[1024];
    write_wav(tmp_path(in, "in.wav"), g->in, g->n, g->rate);
    tmp_path(out, "out.wav");
    char *argv[] = {"lv2apply", "-i", in, "-o", out, "-c", "freewheel", "1", "-c",
                    (char *)(extra_sym ? extra_sym : "mix"), (char *)(extra_val ? extra_val : "1"),
                    (char *)uri, NULL};
    int rc = run_tool(argv, NULL, tmp_path(err, "apply.err"));
    char *errs = read_text(err);
    ck_assert_msg(rc == 0, "lv2apply exit %d: %s", rc, errs);
    free(errs);
    int64_t ny;
    int rate;
    float *y = read_wav(out, &ny, &rate);
    ck_assert_int_eq(rate, g->rate);
    ck_assert_int_eq(ny, g->n);
    int lat = reported_latency(uri, g->rate);
    ck_assert_int_gt(lat, 0);
    int64_t n = n_want < ny - lat ? n_want : ny - lat;
    ck_assert_int_gt(n, g->rate / 2);
    /* before the latency: silence from the model's prefill */
    double early = 0;
    for (int t = 0; t < lat; t++) early = fmax(early, fabs(y[t]));
    ck_assert_double_eq(early, 0.0);
    check_aligned(label, y, ny, lat, want, n, g);
    free(y);
}

START_TEST(test_lv2apply_denoise_matches_model) {
    if (!hosts_ok("lv2apply")) return;
    set_golden_env();
    golden g = load_denoise_golden();
    float *want;
    int64_t n = direct_denoise(&g, &want);
    lv2apply_case(DENOISE_URI, &g, want, n, NULL, NULL, "lv2apply denoise");
    free(want);
    golden_free(&g);
}
END_TEST

START_TEST(test_lv2apply_codec_matches_model) {
    if (!hosts_ok("lv2apply")) return;
    set_golden_env();
    golden g = load_codec_golden();
    float *want;
    int64_t n = direct_codec(&g, 8, &want);
    lv2apply_case(CODEC_URI, &g, want, n, "codebooks", "8", "lv2apply codec k=8");
    free(want);
    n = direct_codec(&g, 4, &want);
    lv2apply_case(CODEC_URI, &g, want, n, "codebooks", "4", "lv2apply codec k=4");
    free(want);
    golden_free(&g);
}
END_TEST

/* lv2proc: 512-sample blocks; lv2proc (Debian 12) leaves the reported delay
 * in its output. */
static void lv2proc_case(const char *uri, golden *g, const float *want, int64_t n_want) {
    char in[1024], out[1024], err[1024];
    write_wav(tmp_path(in, "in.wav"), g->in, g->n, g->rate);
    tmp_path(out, "out.wav");
    char *argv[] = {"lv2proc", "-n", "512", "-c", "freewheel:1", "-i", in, "-o", out, (char *)uri, NULL};
    int rc = run_tool(argv, NULL, tmp_path(err, "proc.err"));
    char *errs = read_text(err);
    ck_assert_msg(rc == 0, "lv2proc exit %d: %s", rc, errs);
    free(errs);
    int64_t ny;
    int rate;
    float *y = read_wav(out, &ny, &rate);
    ck_assert_int_eq(rate, g->rate);
    int lat = reported_latency(uri, g->rate);
    int64_t n = n_want < ny - lat ? n_want : ny - lat;
    ck_assert_int_gt(n, g->rate / 2);
    check_aligned(uri, y, ny, lat, want, n, g);
    free(y);
}

START_TEST(test_lv2proc_block512_compensates_reported_latency) {
    if (!hosts_ok("lv2proc")) return;
    set_golden_env();
    golden g = load_denoise_golden();
    float *want;
    int64_t n = direct_denoise(&g, &want);
    lv2proc_case(DENOISE_URI, &g, want, n);
    free(want);
    golden_free(&g);
    g = load_codec_golden();
    n = direct_codec(&g, 8, &want);
    lv2proc_case(CODEC_URI, &g, want, n);
    free(want);
    golden_free(&g);
}
END_TEST

START_TEST(test_lv2bench_runs_both) {
    if (!hosts_ok("lv2bench")) return;
    set_golden_env();
    const char *uris[] = {DENOISE_URI, CODEC_URI};
    for (int i = 0; i < 2; i++) {
        char out[1024], err[1024];
        char *argv[] = {"lv2bench", "-b", "512", "-n", "48000", (char *)uris[i], NULL};
        int rc = run_tool(argv, tmp_path(out, "bench.out"), tmp_path(err, "bench.err"));
        char *text = read_text(out);
        ck_assert_msg(rc == 0 && strstr(text, uris[i]), "lv2bench %s: exit %d: %s", uris[i], rc, text);
        fprintf(stderr, "test_lv2: lv2bench: %s", text);
        free(text);
    }
}
END_TEST

/* ---- jalv on a dummy JACK server ---- */

/* Two JACK clients, so the graph player -> plugin -> recorder has no
 * cycle (one client both playing and recording would hear the plugin a
 * period late). Both index by JACK frame time from the player's first
 * cycle after `go`. */
typedef struct recorder {
    jack_client_t *pc, *rc;
    jack_port_t *play, *rec;
    const float *x;
    int64_t n;
    float *y;
    int64_t cap;
    atomic_bool go, started;
    _Atomic uint32_t start;
    _Atomic int64_t recorded;
} recorder;

static int play_process(jack_nframes_t nf, void *arg) {
    recorder *r = arg;
    float *o = jack_port_get_buffer(r->play, nf);
    memset(o, 0, nf * sizeof(float));
    if (!atomic_load(&r->go)) return 0;
    uint32_t now = jack_last_frame_time(r->pc);
    if (!atomic_load(&r->started)) {
        atomic_store(&r->start, now);
        atomic_store(&r->started, true);
    }
    int64_t p = (int64_t)(uint32_t)(now - atomic_load(&r->start));
    for (jack_nframes_t k = 0; k < nf; k++)
        if (p + k < r->n) o[k] = r->x[p + k];
    return 0;
}

static int rec_process(jack_nframes_t nf, void *arg) {
    recorder *r = arg;
    const float *i = jack_port_get_buffer(r->rec, nf);
    if (!atomic_load(&r->started)) return 0;
    int64_t p = (int64_t)(uint32_t)(jack_last_frame_time(r->rc) - atomic_load(&r->start));
    for (jack_nframes_t k = 0; k < nf; k++)
        if (p + k < r->cap) r->y[p + k] = i[k];
    atomic_store(&r->recorded, p + nf);
    return 0;
}

static void quiet(const char *m) { (void)m; }

/* A server name per build tree and test process: a server left behind by a
 * failed test (its child exits at the failed assertion, the server lives in
 * its own process group) must not block the next test from starting one.
 * These tests stop their servers with SIGTERM, which frees JACK's table
 * entry, so unique names do not fill the table. */
static void server_name(char *buf, size_t n) {
    uint32_t h = 2166136261u;
    for (const char *p = WT_BINARY_DIR; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(buf, n, "wt_lv2_%08x_%ld", h, (long)getpid());
}

/* The model path goes in as a saved state (the state file jalv -l reads). */
static void write_state_dir(const char *dir, const char *uri, const char *weights,
                            const char *config) {
    mkdir(dir, 0755);
    char p[1200];
    snprintf(p, sizeof p, "%s/manifest.ttl", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "@prefix lv2: <http://lv2plug.in/ns/lv2core#> .\n"
               "@prefix pset: <http://lv2plug.in/ns/ext/presets#> .\n"
               "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
               "<state.ttl> a pset:Preset ; lv2:appliesTo <%s> ; rdfs:seeAlso <state.ttl> .\n", uri);
    fclose(f);
    snprintf(p, sizeof p, "%s/state.ttl", dir);
    f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "@prefix lv2: <http://lv2plug.in/ns/lv2core#> .\n"
               "@prefix pset: <http://lv2plug.in/ns/ext/presets#> .\n"
               "@prefix state: <http://lv2plug.in/ns/ext/state#> .\n"
               "<> a pset:Preset ; lv2:appliesTo <%s> ;\n"
               "  state:state [ <urn:wavetensor:lv2:weights> <file://%s>", uri, weights);
    if (config) fprintf(f, " ;\n    <urn:wavetensor:lv2:config> <file://%s>", config);
    fprintf(f, " ] .\n");
    fclose(f);
}

/* The stream the plugin in jalv saw is known up to one count: K silent
 * samples (its input unconnected, then our player's silence; JACK refuses
 * connections to a client before it is active, so some cycles always run
 * first), then the input, then silence. The plugin runs once per JACK
 * cycle, from a cycle start, and our input starts at a cycle start, so K is
 * a whole number of periods, at most the frames from just before jalv was
 * started to our first sample (`bound`). The model run directly on that
 * stream, for each such K, must equal y (the recording from our first
 * sample, shifted by the reported latency) sample for sample for exactly
 * one K: the model state (the denoiser's LSTM and running variance,
 * counted in frames; the codec's transformer and convolution histories)
 * and the frame phase depend on K, so a wrong K does not match. */
static void jalv_exact(const char *uri, const golden *g, const float *y, int64_t ny, int lat,
                       uint32_t bound) {
    enum { PERIOD = 256 };
    bool denoise = !strcmp(uri, DENOISE_URI);
    wt_demucs *m = denoise ? load_denoise_model() : NULL;
    wt_mimi *mm = denoise ? NULL : load_codec_model();
    int64_t n_max = (int64_t)bound + g->n;
    float *x = calloc((size_t)n_max, sizeof(float));
    /* y[lat + i] answers stream sample k + i: expect[k + i] = y[lat + i] */
    float *expect = calloc((size_t)n_max + (size_t)ny, sizeof(float));
    int matches = 0;
    int64_t k_match = -1, n_cmp = 0;
    for (int64_t k = 0; k <= (int64_t)bound; k += PERIOD) {
        memset(x, 0, (size_t)k * sizeof(float));
        memcpy(x + k, g->in, (size_t)g->n * sizeof(float));
        memcpy(expect + k, y + lat, (size_t)(ny - lat) * sizeof(float));
        float *out;
        /* a wrong K shows within the first chunks of the input: stop there */
        int64_t got = denoise ? stream_denoise(m, x, k + g->n, 2048, &out, expect, k)
                              : stream_codec(mm, 8, x, k + g->n, &out, expect, k);
        int64_t n = got - k < ny - lat ? got - k : ny - lat;
        bool same = n > g->rate;
        for (int64_t i = 0; same && i < n; i++) same = y[lat + i] == out[k + i];
        free(out);
        if (same) {
            matches++;
            k_match = k;
            n_cmp = n;
        }
    }
    free(x);
    free(expect);
    wt_demucs_free(m);
    wt_mimi_free(mm);
    fprintf(stderr,
            "test_lv2: jalv %s: equals the model run directly on %lld silent samples (%lld "
            "periods, of %u possible frames) + the input, %lld samples exact; %d K match\n",
            uri, (long long)k_match, (long long)(k_match / PERIOD), bound, (long long)n_cmp, matches);
    ck_assert_msg(matches == 1, "jalv %s: %d silent-prefix lengths in 0..%u make the output "
                  "equal the model run directly (want exactly 1)", uri, matches, bound);
}

/* jack_connect, retried for up to 5 s: a host registers its ports before it
 * activates its client, and JACK refuses connections to an inactive
 * client's ports, so seeing the ports is not enough. */
static int connect_when_active(jack_client_t *c, const char *src, const char *dst) {
    int rc = jack_connect(c, src, dst);
    for (int t = 0; t < 200 && rc != 0; t++) {
        usleep(25000);
        rc = jack_connect(c, src, dst);
    }
    return rc;
}

static void jalv_case(const char *uri, golden *g, const float *want, const char *label) {
    char name[64], rate[16], out[1024], err[1024], state[1024];
    server_name(name, sizeof name);
    snprintf(rate, sizeof rate, "%d", g->rate);
    jack_set_error_function(quiet);
    jack_set_info_function(quiet);
    char *jargv[] = {"jackd", "-n", name, "-d", "dummy", "-r", rate, "-p", "256", NULL};
    pid_t jackd = spawn(jargv, NULL, NULL, NULL);
    jack_client_t *c = NULL, *c2 = NULL;
    for (int t = 0; t < 100 && !c; t++) {
        usleep(50000);
        jack_status_t js;
        c = jack_client_open("wt_lv2_play", JackNoStartServer | JackServerName, &js, name);
    }
    ck_assert_msg(c != NULL, "jackd -d dummy did not start");
    jack_status_t js;
    c2 = jack_client_open("wt_lv2_rec", JackNoStartServer | JackServerName, &js, name);
    ck_assert_ptr_nonnull(c2);

    char cfg[1024], w[1024];
    bool denoise = !strcmp(uri, DENOISE_URI);
    if (denoise) denoise_paths(cfg, w);
    else codec_paths(cfg, w);
    write_state_dir(tmp_path(state, "state"), uri, w, denoise ? cfg : NULL);
    /* no env model: the state must bring it */
    unsetenv("WT_LV2_DENOISE_WEIGHTS");
    unsetenv("WT_LV2_CODEC_WEIGHTS");
    setenv("JACK_DEFAULT_SERVER", name, 1);
    int in_fd = -1;
    /* Free-wheeling: run() waits for the model, so a loaded machine cannot
     * turn a late step into dry fill (live mode: test_run_allocates_locks_nothing). */
    char *argv[] = {"jalv", "-x", "-n", "wt_plug", "-c", "freewheel=1", "-l", state, (char *)uri, NULL};
    /* jalv's plugin runs from a JACK cycle after this frame */
    uint32_t before_jalv = jack_frame_time(c);
    pid_t jalv = spawn(argv, tmp_path(out, "jalv.out"), tmp_path(err, "jalv.err"), &in_fd);

    recorder r = {.x = g->in, .n = g->n, .cap = g->n + g->rate, .pc = c, .rc = c2};
    r.y = calloc((size_t)r.cap, sizeof(float));
    r.play = jack_port_register(c, "play", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    r.rec = jack_port_register(c2, "rec", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    jack_set_process_callback(c, play_process, &r);
    jack_set_process_callback(c2, rec_process, &r);
    ck_assert_int_eq(jack_activate(c), 0);
    ck_assert_int_eq(jack_activate(c2), 0);
    bool ports = false;
    for (int t = 0; t < 400 && !ports; t++) {
        usleep(25000);
        ports = jack_port_by_name(c, "wt_plug:in") && jack_port_by_name(c, "wt_plug:out");
    }
    char *errs = read_text(err);
    ck_assert_msg(ports, "jalv did not register its ports: %s", errs);
    free(errs);
    ck_assert_int_eq(connect_when_active(c, "wt_lv2_play:play", "wt_plug:in"), 0);
    ck_assert_int_eq(connect_when_active(c, "wt_plug:out", "wt_lv2_rec:rec"), 0);
    usleep(300000); /* jalv has run and published the plugin's latency */
    jack_recompute_total_latencies(c);
    usleep(100000);
    /* What jalv told JACK the plugin adds (our own output adds none). It
     * belongs on wt_plug:out's capture latency; jalv 1.6 swaps the port
     * directions and puts it on wt_plug:in instead: take whichever has it. */
    jack_latency_range_t range, r_in, r_out;
    jack_port_get_latency_range(jack_port_by_name(c, "wt_plug:in"), JackCaptureLatency, &r_in);
    jack_port_get_latency_range(jack_port_by_name(c, "wt_plug:out"), JackCaptureLatency, &r_out);
    range = r_out.max > 0 ? r_out : r_in;
    atomic_store(&r.go, true);
    for (int t = 0; t < 3000 && atomic_load(&r.recorded) < r.cap; t++) usleep(10000);
    jack_deactivate(c2);
    jack_deactivate(c);
    jack_client_close(c2);
    jack_client_close(c);
    close(in_fd);
    stop_child(jalv);
    stop_child(jackd);
    ck_assert_int_ge(atomic_load(&r.recorded), r.cap);
    /* the JACK port latency is jalv's copy of the plugin's latency port */
    int lat = (int)range.max;
    ck_assert_int_gt(lat, 0);
    ck_assert_int_eq(range.min, range.max);
    /* The plugin has streamed silence for some cycles before our input
     * arrives (jalv runs it from its start), so the model state and, for
     * the codec, the frame phase differ from a run from a fresh state on
     * our input alone. What must hold: the reported latency is the one the
     * plugin plans for JACK's period, the output is the model's (not dry),
     * for the denoiser the best alignment with the direct run is the
     * reported latency, and the output equals the model run directly on
     * the silence + our input exactly (jalv_exact). */
    set_golden_env();
    ck_assert_int_eq(lat, planned_latency(uri, g->rate, 256));
    double err_at = 0, best = INFINITY;
    int best_lag = -1;
    for (int L = lat - 1500; L <= lat + 1500; L++) {
        double m = 0;
        for (int i = 4000; i < 12000; i++) m = fmax(m, fabs(r.y[L + i] - want[i]));
        if (m < best) {
            best = m;
            best_lag = L;
        }
        if (L == lat) err_at = m;
    }
    double dry = 0;
    for (int i = 4000; i < 12000; i++) dry = fmax(dry, fabs(r.y[lat + i] - g->in[i]));
    fprintf(stderr, "test_lv2: %s: JACK latency %d, best lag %d, max diff %.3g (dry %.3g)\n", label,
            lat, best_lag, err_at, dry);
    ck_assert_double_gt(dry, 0.05); /* the model ran: not the input */
    if (!strcmp(uri, DENOISE_URI)) {
        ck_assert_int_eq(best_lag, lat);
        ck_assert_double_lt(err_at, 0.1 * dry);
    }
    jalv_exact(uri, g, r.y, r.cap, lat, (uint32_t)(atomic_load(&r.start) - before_jalv));
    free(r.y);
}

START_TEST(test_jalv_dummy_jack_denoise_from_state) {
    if (!hosts_ok("jalv") || !hosts_ok("jackd")) return;
    golden g = load_denoise_golden();
    float *want;
    int64_t n = direct_denoise(&g, &want);
    ck_assert_int_gt(n, 12000);
    jalv_case(DENOISE_URI, &g, want, "jalv denoise");
    free(want);
    golden_free(&g);
}
END_TEST

START_TEST(test_jalv_dummy_jack_codec_from_state) {
    if (!hosts_ok("jalv") || !hosts_ok("jackd")) return;
    golden g = load_codec_golden();
    float *want;
    int64_t n = direct_codec(&g, 8, &want);
    ck_assert_int_gt(n, 12000);
    jalv_case(CODEC_URI, &g, want, "jalv codec");
    free(want);
    golden_free(&g);
}
END_TEST

/* The latest readings jack_iodelay printed ("<frames> frames <ms> ms total
 * roundtrip latency"), at most `max`; returns how many. */
static int iodelay_readings(const char *path, double *v, int max) {
    char *text = read_text(path);
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        double frames;
        if (!strstr(line, "total roundtrip latency") || sscanf(line, "%lf", &frames) != 1) continue;
        if (n == max) {
            memmove(v, v + 1, (size_t)(max - 1) * sizeof *v);
            n--;
        }
        v[n++] = frames;
    }
    free(text);
    return n;
}

/* jack_iodelay measures the latency jalv's plugin reports: the denoiser
 * fully dry is the input delayed by exactly its reported latency (it mixes
 * the input through a delay line of that length), so the tones jack_iodelay
 * sends through it come back whole. Its loop jack_delay:out -> plugin ->
 * jack_delay:in is a cycle in the JACK graph, which JACK breaks with one
 * period of delay: the round trip is the latency plus one period. The
 * server free-wheels while measuring (every client runs every cycle, in
 * graph order, with no deadline), so a loaded machine cannot shift it. */
START_TEST(test_jalv_jack_iodelay_measures_reported_latency) {
    if (!hosts_ok("jalv") || !hosts_ok("jackd") || !hosts_ok("jack_iodelay") || !hosts_ok("stdbuf"))
        return;
    enum { RATE = 16000, PERIOD = 256 };
    char name[64], out[1024], err[1024], iod[1024], state[1024], rate[16], period[16];
    server_name(name, sizeof name);
    snprintf(rate, sizeof rate, "%d", RATE);
    snprintf(period, sizeof period, "%d", PERIOD);
    jack_set_error_function(quiet);
    jack_set_info_function(quiet);
    char *jargv[] = {"jackd", "-n", name, "-d", "dummy", "-r", rate, "-p", period, NULL};
    pid_t jackd = spawn(jargv, NULL, NULL, NULL);
    jack_client_t *c = NULL;
    for (int t = 0; t < 200 && !c; t++) {
        usleep(50000);
        jack_status_t js;
        c = jack_client_open("wt_lv2_ctl", JackNoStartServer | JackServerName, &js, name);
    }
    ck_assert_msg(c != NULL, "jackd -d dummy did not start");
    ck_assert_int_eq(jack_activate(c), 0);

    char cfg[1024], w[1024];
    denoise_paths(cfg, w);
    write_state_dir(tmp_path(state, "state"), DENOISE_URI, w, cfg);
    unsetenv("WT_LV2_DENOISE_WEIGHTS");
    setenv("JACK_DEFAULT_SERVER", name, 1);
    int in_fd = -1;
    char *argv[] = {"jalv", "-x", "-n", "wt_plug", "-c", "mix=0", "-l", state, DENOISE_URI, NULL};
    pid_t jalv = spawn(argv, tmp_path(out, "jalv.out"), tmp_path(err, "jalv.err"), &in_fd);
    /* line-buffered: its readings reach the file as it prints them */
    char *iargv[] = {"stdbuf", "-oL", "jack_iodelay", NULL};
    pid_t iodelay = spawn(iargv, tmp_path(iod, "iodelay.out"), NULL, NULL);
    bool ports = false;
    for (int t = 0; t < 1200 && !ports; t++) {
        usleep(25000);
        ports = jack_port_by_name(c, "wt_plug:in") && jack_port_by_name(c, "wt_plug:out") &&
                jack_port_by_name(c, "jack_delay:in") && jack_port_by_name(c, "jack_delay:out");
    }
    char *errs = read_text(err);
    ck_assert_msg(ports, "jalv or jack_iodelay did not register its ports: %s", errs);
    free(errs);
    ck_assert_int_eq(connect_when_active(c, "jack_delay:out", "wt_plug:in"), 0);
    ck_assert_int_eq(connect_when_active(c, "wt_plug:out", "jack_delay:in"), 0);
    ck_assert_int_eq(jack_set_freewheel(c, 1), 0);
    /* jack_iodelay prints a reading a few times a second once it has
     * locked on; the last three must agree (the first may be mid-lock). */
    double v[3] = {0};
    int n = 0;
    bool stable = false;
    for (int t = 0; t < 1200 && !stable; t++) { /* 60 s at most */
        usleep(50000);
        n = iodelay_readings(iod, v, 3);
        stable = n == 3 && v[0] == v[1] && v[1] == v[2];
    }
    /* the latency jalv told JACK (jalv 1.6 puts it on the input port) */
    jack_recompute_total_latencies(c);
    jack_latency_range_t r_in, r_out;
    jack_port_get_latency_range(jack_port_by_name(c, "wt_plug:in"), JackCaptureLatency, &r_in);
    jack_port_get_latency_range(jack_port_by_name(c, "wt_plug:out"), JackCaptureLatency, &r_out);
    jack_latency_range_t range = r_out.max > 0 ? r_out : r_in;
    jack_set_freewheel(c, 0);
    stop_child(iodelay);
    close(in_fd);
    stop_child(jalv);
    jack_deactivate(c);
    jack_client_close(c);
    stop_child(jackd);
    char *text = read_text(iod);
    ck_assert_msg(stable, "jack_iodelay gave no stable reading in 60 s: %s", text);
    free(text);
    set_golden_env();
    int lat = planned_latency(DENOISE_URI, RATE, PERIOD);
    fprintf(stderr,
            "test_lv2: jalv + jack_iodelay denoise dry, %d Hz period %d: plugin reports %d frames "
            "(JACK port %u), round trip %.3f = %d + one period\n",
            RATE, PERIOD, lat, range.max, v[2], (int)v[2] - PERIOD);
    ck_assert_int_gt(lat, 0);
    ck_assert_int_eq((int)range.max, lat);
    /* jack_iodelay prints 3 decimals: the reading is this integer exactly */
    ck_assert_msg(fabs(v[2] - (double)(lat + PERIOD)) < 5e-4,
                  "jack_iodelay round trip %.3f frames, want reported latency %d + period %d", v[2],
                  lat, PERIOD);
}
END_TEST

START_TEST(test_lv2apply_bad_weights_passes_dry) {
    if (!hosts_ok("lv2apply")) return;
    setenv("WT_LV2_DENOISE_WEIGHTS", "/nonexistent/model.safetensors", 1);
    golden g = load_denoise_golden();
    char in[1024], out[1024], err[1024];
    write_wav(tmp_path(in, "in.wav"), g.in, g.n, g.rate);
    char *argv[] = {"lv2apply", "-i", in, "-o", (char *)tmp_path(out, "out.wav"), DENOISE_URI, NULL};
    int rc = run_tool(argv, NULL, tmp_path(err, "apply.err"));
    char *errs = read_text(err);
    ck_assert_msg(rc == 0, "lv2apply exit %d: %s", rc, errs);
    ck_assert_msg(strstr(errs, "/nonexistent/model.safetensors"), "no message naming the file: %s", errs);
    free(errs);
    int64_t ny;
    int rate;
    float *y = read_wav(out, &ny, &rate);
    ck_assert_int_eq(ny, g.n);
    ck_assert_int_eq(memcmp(y, g.in, (size_t)g.n * sizeof(float)), 0);
    free(y);
    golden_free(&g);
}
END_TEST

/* ---- in process ---- */

/* run() in live mode: no allocation, lock or wait on the calling thread,
 * counted after the engine's first periods. */
static void rt_safe_case(const char *uri, double rate, int block) {
    set_golden_env();
    inst p;
    inst_open(&p, uri, rate, NULL);
    p.d->activate(p.h);
    int n = block * 300;
    float *x = calloc((size_t)n, sizeof(float)), *y = calloc((size_t)n, sizeof(float));
    wt_test_rng rng;
    wt_test_rng_seed(&rng, 7);
    for (int i = 0; i < n; i++) x[i] = wt_test_uniform(&rng, -0.3f, 0.3f);
    uint64_t a = 0, b = 0;
    for (int t = 0, k = 0; t < n; t += block, k++) {
        /* controls moving while running: dry/wet and bypass ramps */
        p.mix = (k / 50) % 2 ? 0.3f : 1.0f;
        p.enabled = (k / 70) % 2 ? 0.0f : 1.0f;
        uint64_t a0 = wt_test_thread_alloc_calls(), b0 = wt_test_thread_block_calls();
        inst_run(&p, x + t, y + t, block);
        if (k >= 20) {
            a += wt_test_thread_alloc_calls() - a0;
            b += wt_test_thread_block_calls() - b0;
        }
        usleep(200); /* give the worker time, as a real period would */
    }
    bool finite = true;
    for (int i = 0; i < n; i++) finite = finite && isfinite(y[i]);
    float status = p.status;
    p.d->deactivate(p.h);
    inst_close(&p);
    ck_assert_msg(status == 0 || status == 2, "status %g", status);
    ck_assert_uint_eq(a, 0);
    ck_assert_uint_eq(b, 0);
    ck_assert(finite);
    free(x);
    free(y);
}

START_TEST(test_run_allocates_locks_nothing) {
    rt_safe_case(DENOISE_URI, 16000, 256);
    rt_safe_case(CODEC_URI, 48000, 128);
}
END_TEST

/* A wrong path, an unreadable config or a malformed weights file: the
 * plugin loads, passes the input through bit for bit, says "no model". */
START_TEST(test_bad_model_passes_dry) {
    char junk[1024];
    FILE *f = fopen(tmp_path(junk, "junk.safetensors"), "w");
    fputs("not a safetensors file", f);
    fclose(f);
    const char *weights[] = {"/nonexistent/model.safetensors", junk, ""};
    for (int c = 0; c < 2; c++) {
        for (int i = 0; i < 3; i++) {
            const char *uri = c ? CODEC_URI : DENOISE_URI;
            setenv(c ? "WT_LV2_CODEC_WEIGHTS" : "WT_LV2_DENOISE_WEIGHTS", weights[i], 1);
            setenv(c ? "WT_LV2_CODEC_CONFIG" : "WT_LV2_DENOISE_CONFIG", "/nonexistent.json", 1);
            inst p;
            inst_open(&p, uri, 44100, NULL);
            p.d->activate(p.h);
            float x[300], y[300];
            for (int k = 0; k < 300; k++) x[k] = sinf(0.01f * (float)k);
            inst_run(&p, x, y, 300);
            inst_run(&p, x, x, 300); /* in place */
            ck_assert_int_eq(memcmp(x, y, sizeof x), 0);
            ck_assert_float_eq(p.status, 1.0f);
            ck_assert_float_eq(p.latency, 0.0f);
            p.d->deactivate(p.h);
            inst_close(&p);
        }
    }
}
END_TEST

typedef struct saved {
    uri_table *t;
    LV2_URID key[4];
    char val[4][1100];
    uint32_t type[4];
    int n;
} saved;

static LV2_State_Status store_fn(LV2_State_Handle h, uint32_t key, const void *value, size_t size,
                                 uint32_t type, uint32_t flags) {
    saved *s = h;
    if (s->n == 4 || size > sizeof s->val[0]) return LV2_STATE_ERR_UNKNOWN;
    s->key[s->n] = key;
    memcpy(s->val[s->n], value, size);
    s->type[s->n++] = type;
    return LV2_STATE_SUCCESS;
}

static const void *retrieve_fn(LV2_State_Handle h, uint32_t key, size_t *size, uint32_t *type,
                               uint32_t *flags) {
    saved *s = h;
    for (int i = 0; i < s->n; i++)
        if (s->key[i] == key) {
            *size = strlen(s->val[i]) + 1;
            *type = s->type[i];
            *flags = LV2_STATE_IS_POD;
            return s->val[i];
        }
    return NULL;
}

/* State: restore brings the model in (from "no model" to running), save
 * writes the paths back, a restored bad path falls back to dry. */
START_TEST(test_state_restores_weights_path) {
    setenv("WT_LV2_CODEC_WEIGHTS", "/nonexistent/codec.safetensors", 1);
    unsetenv("WT_LV2_CODEC_CONFIG");
    uri_table t = {0};
    LV2_URID_Map map = {&t, map_uri};
    LV2_Feature fmap = {LV2_URID__map, &map};
    const LV2_Feature *features[] = {&fmap, NULL};
    inst p;
    inst_open(&p, CODEC_URI, 24000, features);
    const LV2_State_Interface *si = p.d->extension_data(LV2_STATE__interface);
    ck_assert_ptr_nonnull(si);
    p.d->activate(p.h);
    float x[256] = {0}, y[256];
    inst_run(&p, x, y, 256);
    ck_assert_float_eq(p.status, 1.0f);

    char cfg[1024], w[1024];
    codec_paths(cfg, w);
    saved s = {.t = &t, .n = 1};
    s.key[0] = map_uri(&t, "urn:wavetensor:lv2:weights");
    s.type[0] = map_uri(&t, LV2_ATOM__Path);
    snprintf(s.val[0], sizeof s.val[0], "%s", w);
    ck_assert_int_eq(si->restore(p.h, retrieve_fn, &s, 0, NULL), LV2_STATE_SUCCESS);
    inst_run(&p, x, y, 256);
    ck_assert_float_eq(p.status, 0.0f);
    ck_assert_float_gt(p.latency, 1920.0f);

    saved back = {.t = &t};
    ck_assert_int_eq(si->save(p.h, store_fn, &back, 0, NULL), LV2_STATE_SUCCESS);
    ck_assert_int_eq(back.n, 1);
    ck_assert_int_eq(back.key[0], s.key[0]);
    ck_assert_int_eq(back.type[0], s.type[0]);
    ck_assert_str_eq(back.val[0], w);

    snprintf(s.val[0], sizeof s.val[0], "/nonexistent/other.safetensors");
    ck_assert_int_eq(si->restore(p.h, retrieve_fn, &s, 0, NULL), LV2_STATE_SUCCESS);
    float z[256];
    for (int k = 0; k < 256; k++) z[k] = 0.001f * (float)k;
    inst_run(&p, z, y, 256);
    ck_assert_float_eq(p.status, 1.0f);
    ck_assert_int_eq(memcmp(y, z, sizeof z), 0);
    p.d->deactivate(p.h);
    inst_close(&p);
}
END_TEST

/* Free-wheeling renders equal the model run directly, also after the
 * block size changes between activations (options, then larger blocks
 * than announced); a new instance at another host rate runs and reports a
 * latency in that rate. */
START_TEST(test_block_and_rate_changes_between_activations) {
    set_golden_env();
    golden g = load_codec_golden();
    float *want;
    int64_t n_want = direct_codec(&g, 8, &want);
    uri_table t = {0};
    LV2_URID_Map map = {&t, map_uri};
    int32_t max_block = 64;
    LV2_Options_Option opts[] = {
        {LV2_OPTIONS_INSTANCE, 0, map_uri(&t, LV2_BUF_SIZE__maxBlockLength), sizeof(int32_t),
         map_uri(&t, LV2_ATOM__Int), &max_block},
        {LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL}};
    LV2_Feature fmap = {LV2_URID__map, &map}, fopt = {LV2_OPTIONS__options, opts};
    const LV2_Feature *features[] = {&fmap, &fopt, NULL};
    inst p;
    inst_open(&p, CODEC_URI, g.rate, features);
    p.freewheel = 1;
    const int blocks[] = {64, 333, 4000}; /* 4000: over the announced maximum */
    int lat0 = -1;
    for (int k = 0; k < 3; k++) {
        p.d->activate(p.h);
        int64_t n = g.n + 8192;
        float *x = calloc((size_t)n, sizeof(float));
        memcpy(x, g.in, (size_t)g.n * sizeof(float));
        float *y = render(&p, x, n, blocks[k]);
        int lat = (int)p.latency;
        if (k == 0) lat0 = lat;
        ck_assert_int_eq(lat, lat0); /* planned for the announced block */
        char label[64];
        snprintf(label, sizeof label, "in process codec, block %d", blocks[k]);
        check_aligned(label, y, n, lat, want, n_want, &g);
        p.d->deactivate(p.h);
        free(x);
        free(y);
    }
    inst_close(&p);
    /* Another host rate: a new instance (LV2 fixes the rate per instance). */
    inst q;
    inst_open(&q, DENOISE_URI, 44100, NULL);
    q.freewheel = 1;
    q.d->activate(q.h);
    int n = 44100;
    float *x = calloc((size_t)n, sizeof(float));
    for (int i = 0; i < n; i++) x[i] = 0.1f * sinf(0.05f * (float)i);
    float *y = render(&q, x, n, 100);
    ck_assert_float_eq(q.status, 0.0f);
    ck_assert_float_gt(q.latency, 0.0f);
    bool finite = true;
    for (int i = 0; i < n; i++) finite = finite && isfinite(y[i]);
    ck_assert(finite);
    ck_assert_double_gt(wt_test_rms(y + (int)q.latency, n - (int)q.latency), 1e-4);
    q.d->deactivate(q.h);
    inst_close(&q);
    free(x);
    free(y);
    free(want);
    golden_free(&g);
}
END_TEST

/* Bypass (lv2:enabled) is click-free: switching it off mid-stream moves the
 * output from the wet signal to the input delayed by the latency along a
 * linear 20 ms ramp, sample by sample, then stays exactly dry; switching it
 * back on ramps the other way. The expected output is computed here from
 * that rule, an all-wet render of a second instance, and the input. */
START_TEST(test_bypass_ramps_without_click) {
    set_golden_env();
    golden g = load_denoise_golden();
    const int block = 256, ramp = g.rate / 50; /* 20 ms */
    int64_t n = g.n;
    inst w, b;
    inst_open(&w, DENOISE_URI, g.rate, NULL);
    inst_open(&b, DENOISE_URI, g.rate, NULL);
    w.freewheel = b.freewheel = 1;
    w.d->activate(w.h);
    b.d->activate(b.h);
    float *wet = render(&w, g.in, n, block);
    int lat = (int)b.latency;
    int64_t off_at = 40 * block, on_at = 80 * block; /* block starts */
    float *y = calloc((size_t)n, sizeof(float));
    for (int64_t t = 0; t < n; t += block) {
        b.enabled = (t >= off_at && t < on_at) ? 0.0f : 1.0f;
        int len = n - t < block ? (int)(n - t) : block;
        inst_run(&b, g.in + t, y + t, len);
    }
    double worst = 0, worst_jump = 0, signal_jump = 0;
    int64_t worst_at = -1;
    float gain = 1.0f, step = 1.0f / (float)ramp;
    for (int64_t t = 0; t < n; t++) {
        float target = (t >= off_at && t < on_at) ? 0.0f : 1.0f;
        if (gain < target) gain = fminf(gain + step, target);
        else if (gain > target) gain = fmaxf(gain - step, target);
        float dry = t >= lat ? g.in[t - lat] : 0.0f;
        double want = (double)gain * wet[t] + (1.0 - gain) * dry;
        double err = fabs(want - y[t]);
        if (err > worst) {
            worst = err;
            worst_at = t;
        }
        if (t > 0) {
            float dry1 = t - 1 >= lat ? g.in[t - 1 - lat] : 0.0f;
            worst_jump = fmax(worst_jump, fabs((double)y[t] - y[t - 1]));
            signal_jump = fmax(signal_jump, fmax(fabs((double)wet[t] - wet[t - 1]), fabs((double)dry - dry1)));
        }
    }
    w.d->deactivate(w.h);
    b.d->deactivate(b.h);
    inst_close(&w);
    inst_close(&b);
    ck_assert_msg(lat > 0 && lat < off_at, "latency %d", lat);
    ck_assert_msg(worst < 1e-6, "bypass output off the 20 ms ramp rule by %g at sample %lld", worst,
                  (long long)worst_at);
    /* no step larger than the signals' own steps plus one ramp increment of
     * their difference: nothing a listener would hear as a click */
    ck_assert_msg(worst_jump <= signal_jump + 2.0 / ramp + 1e-6, "jump %g vs signal %g", worst_jump,
                  signal_jump);
    free(wet);
    free(y);
    golden_free(&g);
}
END_TEST

/* Each test (a forked child) has its own folder; removed after it. */
static void remove_tmp(void) {
    if (!g_tmp[0]) return;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "test_lv2: could not remove %s\n", g_tmp);
}

static Suite *suite(void) {
    Suite *s = suite_create("lv2");
    TCase *tc = tcase_create("lv2");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, NULL, remove_tmp);
    tcase_add_test(tc, test_lv2ls_lv2info_parse_bundle);
    tcase_add_test(tc, test_lv2apply_denoise_matches_model);
    tcase_add_test(tc, test_lv2apply_codec_matches_model);
    tcase_add_test(tc, test_lv2proc_block512_compensates_reported_latency);
    tcase_add_test(tc, test_lv2bench_runs_both);
    tcase_add_test(tc, test_jalv_dummy_jack_denoise_from_state);
    tcase_add_test(tc, test_jalv_dummy_jack_codec_from_state);
    tcase_add_test(tc, test_jalv_jack_iodelay_measures_reported_latency);
    tcase_add_test(tc, test_lv2apply_bad_weights_passes_dry);
    tcase_add_test(tc, test_run_allocates_locks_nothing);
    tcase_add_test(tc, test_bad_model_passes_dry);
    tcase_add_test(tc, test_state_restores_weights_path);
    tcase_add_test(tc, test_block_and_rate_changes_between_activations);
    tcase_add_test(tc, test_bypass_ramps_without_click);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return wt_test_run(suite()); }
