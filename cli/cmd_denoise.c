/* `wavetensor denoise`: speech enhancement of an audio file with causal
 * Demucs, offline (the reference's model(noisy)) or through the streamer
 * (DemucsStreamer, as a real-time run would hear it). Any input
 * format/rate/channels; the output is mono WAV at the input's rate. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/audio_io.h"
#include "cli/cli.h"
#include "engine/backend.h"
#include "wavetensor/demucs.h"
#include "wavetensor/wavetensor.h"

/* An offline pass holds the encoder's outputs at 4x the model rate for the
 * whole input (~22 MB per second of 16 kHz audio for dns48): longer inputs
 * run through the streamer, whose memory does not grow with the input. */
#define OFFLINE_MAX_SECONDS 60

typedef struct denoise_opts {
    const char *in, *out, *weights, *config, *device;
    bool streaming, force_float;
    int64_t chunk;
    int frames;
    double dry;
} denoise_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: wavetensor denoise IN -o OUT.wav --weights FILE [options]\n"
            "\n"
            "Speech enhancement with causal Demucs (facebookresearch/denoiser).\n"
            "IN may be any format, rate and channel count libsndfile reads; it is\n"
            "mixed to mono, resampled to the model's rate, and OUT is written back\n"
            "at IN's rate (32-bit float when IN is float or with --float).\n"
            "\n"
            "  -o, --output FILE  output WAV (written atomically)\n"
            "  --weights FILE     model.safetensors (tools/demucs_convert.py makes one)\n"
            "  --config FILE      model config JSON (default: the weights' metadata,\n"
            "                     else presets/demucs-dns48.json's values)\n"
            "  --streaming        run the streamer (DemucsStreamer) instead of offline\n"
            "                     (inputs over 60 s always stream, to bound memory)\n"
            "  --chunk N          streaming: feed N samples per call (any N gives the\n"
            "                     same output; implies --streaming)\n"
            "  --frames N         streaming: network frames per step (default 1)\n"
            "  --dry X            dry/wet mix, 0..1: X * noisy + (1 - X) * enhanced\n"
            "  --device D         cpu (default) or cuda: where the model runs\n"
            "  --float            write 32-bit float WAV\n");
}

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Returns -1 on success, else the exit code. */
static int parse_args(int argc, char **argv, denoise_opts *o) {
    *o = (denoise_opts){.chunk = 0, .frames = 1, .dry = 0.0, .device = "cpu"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return WT_EXIT_OK;
        } else if (!strcmp(a, "--streaming")) {
            o->streaming = true;
        } else if (!strcmp(a, "--float")) {
            o->force_float = true;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--weights") ||
                   !strcmp(a, "--config") || !strcmp(a, "--chunk") || !strcmp(a, "--frames") ||
                   !strcmp(a, "--dry") || !strcmp(a, "--device")) {
            if (!has_val) return wt_cli_fail(WT_EXIT_USAGE, "denoise: %s needs a value", a);
            const char *v = argv[++i];
            int64_t n;
            if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
                o->out = v;
            } else if (!strcmp(a, "--weights")) {
                o->weights = v;
            } else if (!strcmp(a, "--device")) {
                if (strcmp(v, "cpu") && strcmp(v, "cuda"))
                    return wt_cli_fail(WT_EXIT_USAGE, "denoise: --device wants cpu or cuda, got '%s'", v);
                o->device = v;
            } else if (!strcmp(a, "--config")) {
                o->config = v;
            } else if (!strcmp(a, "--chunk")) {
                if (!parse_int(v, 1, (int64_t)1 << 40, &n))
                    return wt_cli_fail(WT_EXIT_USAGE, "denoise: --chunk wants a positive integer, got '%s'", v);
                o->chunk = n;
                o->streaming = true;
            } else if (!strcmp(a, "--frames")) {
                if (!parse_int(v, 1, 1024, &n))
                    return wt_cli_fail(WT_EXIT_USAGE, "denoise: --frames wants an integer in 1..1024, got '%s'", v);
                o->frames = (int)n;
                o->streaming = true;
            } else {
                char *end;
                errno = 0;
                double d = strtod(v, &end);
                if (errno || end == v || *end || !(d >= 0.0 && d <= 1.0))
                    return wt_cli_fail(WT_EXIT_USAGE, "denoise: --dry wants a number in 0..1, got '%s'", v);
                o->dry = d;
            }
        } else if (a[0] == '-' && a[1]) {
            return wt_cli_fail(WT_EXIT_USAGE, "denoise: unknown option '%s' (see wavetensor denoise --help)", a);
        } else if (!o->in) {
            o->in = a;
        } else {
            return wt_cli_fail(WT_EXIT_USAGE, "denoise: one input file only ('%s' is extra)", a);
        }
    }
    if (!o->in) return wt_cli_fail(WT_EXIT_USAGE, "denoise: no input file (see wavetensor denoise --help)");
    if (!o->out) return wt_cli_fail(WT_EXIT_USAGE, "denoise: no output file: pass -o OUT.wav");
    if (!o->weights)
        return wt_cli_fail(WT_EXIT_USAGE,
                           "denoise: --weights FILE is required (tools/demucs_convert.py converts the official checkpoints)");
    return -1;
}

/* The config: --config, else the weights file's "config" metadata (written
 * by tools/demucs_convert.py), else the reference defaults (dns48). */
static int load_config(const denoise_opts *o, wt_demucs_config *cfg) {
    if (o->config) {
        if (wt_demucs_config_load(o->config, cfg) != WT_OK)
            return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
        return -1;
    }
    wt_demucs_config_default(cfg);
    wt_st_file *f = wt_st_open(o->weights);
    if (!f) return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    int rc = -1;
    for (size_t i = 0; i < wt_st_meta_count(f); i++) {
        if (strcmp(wt_st_meta_key(f, i), "config")) continue;
        wt_config *j = wt_config_parse(wt_st_meta_value(f, i), o->weights);
        if (!j || wt_demucs_config_from_json(j, cfg) != WT_OK)
            rc = wt_cli_fail(WT_EXIT_RUNTIME, "%s: bad config metadata: %s", o->weights, wt_last_error());
        wt_config_free(j);
    }
    wt_st_close(f);
    return rc;
}

static void progress(bool on, int64_t done, int64_t total) {
    if (!on || total <= 0) return;
    int width = 40, fill = (int)(width * done / total);
    fprintf(stderr, "\r[%.*s%*s] %3d%%", fill, "========================================",
            width - fill, "", (int)(100 * done / total));
    if (done >= total) fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* The offline pass on the model's backend: the input is uploaded and the
 * result downloaded (plain copies on the CPU). */
static wt_status run_offline(wt_demucs *m, const float *x, int64_t n, float dry, float *y) {
    const wt_backend *be = wt_demucs_get_backend(m);
    wt_ctx *ctx = wt_ctx_new_heap(be);
    if (!ctx) return WT_ERR_NOMEM;
    int64_t shape[3] = {1, 1, n};
    wt_tensor *in = wt_tensor_new(ctx, WT_F32, 3, shape);
    wt_status st = in ? be->upload(in->data, x, (size_t)n * sizeof *x) : WT_ERR_NOMEM;
    wt_tensor *out = st == WT_OK ? wt_demucs_forward(m, ctx, in, NULL, NULL) : NULL;
    if (!out) {
        st = wt_error(wt_ctx_status(ctx) ? wt_ctx_status(ctx) : st, "%s",
                      wt_ctx_status(ctx) ? wt_ctx_error(ctx) : wt_last_error());
    } else if ((st = be->download(y, out->data, (size_t)n * sizeof *y)) == WT_OK) {
        /* out is contiguous [1, 1, n]; the reference enhance.py's mix:
         * (1 - dry) * estimate + dry * noisy */
        for (int64_t i = 0; i < n; i++) y[i] = (float)((1.0 - dry) * y[i] + dry * x[i]);
    }
    wt_ctx_free(ctx);
    return st;
}

static wt_status run_streaming(wt_demucs *m, const denoise_opts *o, const float *x, int64_t n,
                               float *y, bool bar) {
    wt_demucs_stream *s = wt_demucs_stream_new(m, (float)o->dry, o->frames);
    if (!s) return WT_ERR_INVALID;
    int64_t chunk = o->chunk ? o->chunk : wt_demucs_stream_get_info(s)->stride;
    int64_t cap = wt_demucs_stream_out_count(s, chunk) + wt_demucs_stream_get_info(s)->total_length;
    float *buf = malloc((size_t)cap * sizeof *buf);
    wt_status st = buf ? WT_OK : wt_error(WT_ERR_NOMEM, "out of memory");
    int64_t pos = 0, written = 0, got = 0;
    while (st == WT_OK && pos < n) {
        int64_t len = n - pos < chunk ? n - pos : chunk;
        st = wt_demucs_stream_feed(s, x + pos, len, buf, cap, &got);
        if (st == WT_OK) {
            memcpy(y + written, buf, (size_t)got * sizeof *buf);
            written += got;
            pos += len;
            progress(bar, pos, n);
        }
    }
    if (st == WT_OK) st = wt_demucs_stream_flush(s, buf, cap, &got);
    if (st == WT_OK) memcpy(y + written, buf, (size_t)got * sizeof *buf);
    free(buf);
    wt_demucs_stream_free(s);
    return st;
}

int wt_cmd_denoise(int argc, char **argv) {
    denoise_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    wt_demucs_config cfg;
    if ((rc = load_config(&o, &cfg)) >= 0) return rc;
    wt_audio a;
    if (wt_audio_read_mono(o.in, cfg.sample_rate, &a) != WT_OK)
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    if (cfg.normalize && a.frames < 2) {
        wt_audio_free(&a);
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s: too short to denoise", o.in);
    }
    const wt_backend *be = wt_backend_by_name(o.device);
    if (!be) {
        wt_audio_free(&a);
        return wt_cli_fail(WT_EXIT_RUNTIME,
                           "denoise: device '%s' is not available (no device, or built without it)",
                           o.device);
    }
    wt_demucs *m = wt_demucs_new_on(be, &cfg, o.weights, WT_F32);
    if (!m) {
        wt_audio_free(&a);
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    }
    float *y = malloc((size_t)a.frames * sizeof *y);
    wt_status st = y ? WT_OK : wt_error(WT_ERR_NOMEM, "out of memory");
    bool bar = isatty(STDERR_FILENO);
    if (!o.streaming && a.frames > (int64_t)OFFLINE_MAX_SECONDS * cfg.sample_rate) {
        fprintf(stderr,
                "denoise: %s is %.0f s, longer than the %d s an offline pass holds in memory; "
                "running the streamer (as --streaming)\n",
                o.in, (double)a.frames / cfg.sample_rate, OFFLINE_MAX_SECONDS);
        o.streaming = true;
    }
    if (st == WT_OK)
        st = o.streaming ? run_streaming(m, &o, a.data, a.frames, y, bar)
                         : run_offline(m, a.data, a.frames, (float)o.dry, y);
    wt_demucs_free(m);
    float *back = y;
    int64_t n_back = a.frames;
    if (st == WT_OK && a.rate != a.file_rate) {
        st = wt_audio_resample(y, a.frames, a.rate, a.file_rate, &back, &n_back);
        free(y);
        y = NULL;
    }
    if (st == WT_OK)
        st = wt_audio_write_wav(o.out, back, n_back, a.file_rate, a.file_is_float || o.force_float);
    if (back != y) free(back);
    free(y);
    wt_audio_free(&a);
    if (st != WT_OK) return wt_cli_fail(WT_EXIT_RUNTIME, "denoise: %s", wt_last_error());
    return WT_EXIT_OK;
}
