/* `wavetensor devices`, `wavetensor live passthrough|codec|denoise`,
 * `wavetensor record` and `wavetensor play`: argument parsing, the model
 * (processor) factory and the choice of host (JACK when a server runs,
 * PortAudio otherwise). The real-time work is in realtime/. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "wavetensor/rt.h"
#include "wavetensor/rt_host.h"
#include "wavetensor/rt_models.h"

typedef enum { HOST_AUTO, HOST_JACK, HOST_PORTAUDIO } host_kind;

typedef struct live_args {
    const char *mode; /* passthrough, codec, denoise, record, play */
    host_kind host;
    wt_rt_host_opts host_opts;
    double headroom_ms;
    wt_rt_fallback fallback;
    int model_rate, frame; /* passthrough */
    int codebooks;         /* codec, record */
    double dry;            /* denoise */
    const char *weights, *config, *file; /* file: record -o / play FILE */
} live_args;

/* A processor plus the model that owns its state (NULL for passthrough). */
typedef struct live_model {
    wt_rt_processor proc;
    wt_rt_model *model;
} live_model;

static void usage(FILE *f) {
    fprintf(f,
            "usage: wavetensor live passthrough|codec|denoise [options]\n"
            "       wavetensor record -o FILE [options]\n"
            "       wavetensor play FILE [options]\n"
            "       wavetensor devices\n"
            "\n"
            "host:\n"
            "  --jack | --portaudio   audio host (default: JACK when a server runs)\n"
            "  --server NAME          JACK server name\n"
            "  --name NAME            JACK client name (default wavetensor)\n"
            "  --in X, --out X        JACK port to connect, or PortAudio device (index or name)\n"
            "  --connect              JACK: connect to the physical ports\n"
            "  --rate HZ, --period N  PortAudio sample rate and frames per period\n"
            "  --seconds S            stop after S seconds (default: at Ctrl-C / SIGTERM)\n"
            "  --headroom MS          extra output buffering for model compute time\n"
            "  --fallback silence|dry output while the model is behind (default silence)\n"
            "  --no-status            no live status line\n"
            "models:\n"
            "  passthrough [--model-rate HZ] [--frame N]   copies input to output (plumbing test)\n"
            "  codec [--codebooks N] --weights F --config F  Mimi encode -> decode\n"
            "  denoise [--dry X] --weights F --config F      streaming Demucs\n");
}

/* ---- argument parsing ---- */

static bool parse_double(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

static bool parse_int(const char *s, int lo, int hi, int *out) {
    double v;
    if (!parse_double(s, lo, hi, &v) || v != (int)v) return false;
    *out = (int)v;
    return true;
}

/* Parses argv[first..]; returns 0 or WT_EXIT_USAGE after printing why. */
static int parse_args(int argc, char **argv, int first, live_args *a) {
    for (int i = first; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        bool ok = true;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return -1;
        } else if (!strcmp(o, "--jack")) {
            a->host = HOST_JACK, takes = false;
        } else if (!strcmp(o, "--portaudio")) {
            a->host = HOST_PORTAUDIO, takes = false;
        } else if (!strcmp(o, "--connect")) {
            a->host_opts.connect = true, takes = false;
        } else if (!strcmp(o, "--no-status")) {
            a->host_opts.status = false, takes = false;
        } else if (!v) {
            return wt_cli_fail(WT_EXIT_USAGE, "%s: unknown option or missing value '%s'", a->mode, o);
        } else if (!strcmp(o, "--server")) {
            a->host_opts.server_name = v;
        } else if (!strcmp(o, "--name")) {
            a->host_opts.client_name = v;
        } else if (!strcmp(o, "--in")) {
            a->host_opts.in = v;
        } else if (!strcmp(o, "--out")) {
            a->host_opts.out = v;
        } else if (!strcmp(o, "--seconds")) {
            ok = parse_double(v, 0, 1e7, &a->host_opts.seconds);
        } else if (!strcmp(o, "--rate")) {
            ok = parse_int(v, 8000, 192000, &a->host_opts.pa_rate);
        } else if (!strcmp(o, "--period")) {
            ok = parse_int(v, 16, 8192, &a->host_opts.pa_period);
        } else if (!strcmp(o, "--headroom")) {
            ok = parse_double(v, 0, 5000, &a->headroom_ms);
        } else if (!strcmp(o, "--fallback")) {
            ok = !strcmp(v, "silence") || !strcmp(v, "dry");
            a->fallback = !strcmp(v, "dry") ? WT_RT_FALLBACK_DRY : WT_RT_FALLBACK_SILENCE;
        } else if (!strcmp(o, "--model-rate")) {
            ok = parse_int(v, 8000, 192000, &a->model_rate);
        } else if (!strcmp(o, "--frame")) {
            ok = parse_int(v, 1, 1 << 20, &a->frame);
        } else if (!strcmp(o, "--codebooks")) {
            ok = parse_int(v, 1, 64, &a->codebooks);
        } else if (!strcmp(o, "--dry")) {
            ok = parse_double(v, 0, 1, &a->dry);
        } else if (!strcmp(o, "--weights")) {
            a->weights = v;
        } else if (!strcmp(o, "--config")) {
            a->config = v;
        } else if (!strcmp(o, "-o") || !strcmp(o, "--output")) {
            a->file = v;
        } else {
            return wt_cli_fail(WT_EXIT_USAGE, "%s: unknown option '%s' (see wavetensor live --help)",
                               a->mode, o);
        }
        if (!ok) return wt_cli_fail(WT_EXIT_USAGE, "%s: bad value '%s' for %s", a->mode, v, o);
        if (takes) i++;
    }
    return 0;
}

static void defaults(live_args *a, const char *mode) {
    memset(a, 0, sizeof *a);
    a->mode = mode;
    a->host_opts.status = true;
    a->model_rate = 24000;
    a->frame = 480;
    a->codebooks = 0; /* the model's default */
}

/* ---- processors ---- */

static wt_status make_model(const live_args *a, live_model *m) {
    memset(m, 0, sizeof *m);
    if (!strcmp(a->mode, "passthrough")) {
        wt_rt_passthrough_init(&m->proc, a->model_rate, a->frame);
        return WT_OK;
    }
    if (!strcmp(a->mode, "denoise"))
        return wt_rt_denoise_new(a->config, a->weights, (float)a->dry, &m->proc, &m->model);
    if (!strcmp(a->mode, "codec"))
        return wt_rt_codec_new(a->config, a->weights, a->codebooks, &m->proc, &m->model);
    if (!strcmp(a->mode, "record"))
        return wt_rt_record_new(a->config, a->weights, a->codebooks, a->file, &m->proc, &m->model);
    return wt_rt_play_new(a->config, a->weights, a->file, &m->proc, &m->model);
}

static bool play_finished(void *user) { return wt_rt_model_finished(user); }

static void free_model(live_model *m) { wt_rt_model_free(m->model); }

typedef struct engine_ctx {
    const live_args *args;
    live_model *model;
} engine_ctx;

/* Called by the host once its rate and period are known. */
static wt_status build_engine(void *user, int host_rate, int max_period, int rt_priority,
                              wt_rt_engine **out) {
    engine_ctx *c = user;
    wt_rt_config cfg = wt_rt_config_default(host_rate, max_period);
    cfg.headroom = (int)(c->args->headroom_ms * host_rate / 1000.0 + 0.5);
    cfg.fallback = c->args->fallback;
    /* Below the host's audio thread, so a slow model never delays it. */
    cfg.worker_priority = rt_priority > 1 ? rt_priority - 1 : 0;
    wt_status st = wt_rt_engine_new(&c->model->proc, &cfg, out);
    if (st) return st;
    /* Where the latency comes from (see README, Live audio). */
    const wt_rt_latency *l = wt_rt_engine_latency(*out);
    printf("latency budget (model samples at %d Hz): frame %d + period %d + resampler %d + "
           "lookahead %d + headroom %d = %d (%d host frames at %d Hz, %.2f ms)\n",
           c->model->proc.model_rate, l->frame, l->period, l->resampler, l->lookahead, l->headroom,
           l->total_model, l->host_frames, host_rate, l->ms);
    return WT_OK;
}

static int run_live(live_args *a) {
    live_model m;
    if (make_model(a, &m)) return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    engine_ctx ctx = {a, &m};
    a->host_opts.factory = build_engine;
    a->host_opts.factory_user = &ctx;
    if (!strcmp(a->mode, "play")) {
        a->host_opts.finished = play_finished;
        a->host_opts.finished_user = m.model;
    }
    host_kind host = a->host;
    if (host == HOST_AUTO)
        host = wt_rt_jack_available(a->host_opts.server_name) ? HOST_JACK : HOST_PORTAUDIO;
    wt_status st = host == HOST_JACK ? wt_rt_jack_run(&a->host_opts) : wt_rt_pa_run(&a->host_opts);
    if (!strcmp(a->mode, "record")) {
        wt_status cst = wt_rt_model_finish(m.model);
        int64_t written = wt_rt_model_frames_written(m.model);
        int64_t dropped = wt_rt_model_frames_dropped(m.model);
        if (!st && cst) st = cst;
        if (!cst)
            printf("recorded %lld frames to %s (%lld dropped)\n", (long long)written, a->file,
                   (long long)dropped);
    }
    free_model(&m);
    if (st == WT_ERR_NOT_FOUND && a->host == HOST_AUTO && host == HOST_PORTAUDIO)
        return wt_cli_fail(WT_EXIT_RUNTIME, "no JACK server running and %s", wt_last_error());
    if (st) return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    return WT_EXIT_OK;
}

/* ---- commands ---- */

int wt_cmd_live(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return WT_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return WT_EXIT_OK;
    }
    live_args a;
    defaults(&a, argv[1]);
    if (strcmp(a.mode, "passthrough") && strcmp(a.mode, "codec") && strcmp(a.mode, "denoise"))
        return wt_cli_fail(WT_EXIT_USAGE, "live: unknown mode '%s' (passthrough, codec, denoise)", a.mode);
    int rc = parse_args(argc, argv, 2, &a);
    if (rc) return rc < 0 ? WT_EXIT_OK : rc;
    if (strcmp(a.mode, "passthrough") && (!a.weights || !a.config))
        return wt_cli_fail(WT_EXIT_USAGE, "live %s: --weights and --config are required", a.mode);
    return run_live(&a);
}

int wt_cmd_record(int argc, char **argv) {
    live_args a;
    defaults(&a, "record");
    int rc = parse_args(argc, argv, 1, &a);
    if (rc) return rc < 0 ? WT_EXIT_OK : rc;
    if (!a.file) return wt_cli_fail(WT_EXIT_USAGE, "record: -o FILE is required");
    if (!a.weights || !a.config)
        return wt_cli_fail(WT_EXIT_USAGE, "record: --weights and --config are required");
    return run_live(&a);
}

int wt_cmd_play(int argc, char **argv) {
    live_args a;
    defaults(&a, "play");
    int first = 1;
    if (argc > 1 && argv[1][0] != '-') a.file = argv[first++];
    int rc = parse_args(argc, argv, first, &a);
    if (rc) return rc < 0 ? WT_EXIT_OK : rc;
    if (!a.file) return wt_cli_fail(WT_EXIT_USAGE, "play: a tokenized-audio FILE is required");
    if (!a.weights || !a.config)
        return wt_cli_fail(WT_EXIT_USAGE, "play: --weights and --config are required");
    return run_live(&a);
}

int wt_cmd_devices(int argc, char **argv) {
    (void)argv;
    if (argc > 1) return wt_cli_fail(WT_EXIT_USAGE, "devices: takes no arguments");
    bool jack = wt_rt_jack_available(NULL);
    printf("JACK server: %s\n", jack ? "running (use --jack)" : "not running");
    if (wt_rt_pa_list_devices(stdout)) return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    return WT_EXIT_OK;
}
