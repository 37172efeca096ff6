/* `wavetensor mimi encode|decode|roundtrip` (and `encode`/`decode` shorthands):
 * audio files <-> Mimi codes in a .wtok token file or a .safetensors file
 * holding one i64 tensor `codes` [1, K, frames]. Outputs are written to a
 * temporary name and renamed on success, so a failure never leaves a partial
 * file where one was asked for. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/audio_io.h"
#include "cli/cli.h"
#include "engine/backend.h"
#include "wavetensor/mimi.h"
#include "wavetensor/tokfile.h"
#include "wavetensor/wavetensor.h"

#define DEFAULT_CONFIG "presets/mimi-v0.1.json"
#define WEIGHTS_HINT                                                                              \
    "Mimi weights are needed: download tokenizer-e351c8d8-checkpoint125.safetensors from "       \
    "https://huggingface.co/kyutai/moshiko-pytorch-bf16 and pass it with --weights FILE"
/* A whole-clip pass holds ~50 MB per second of audio (SEANet layers at the
 * full rate, every 25 Hz step's attention scores); longer inputs run through
 * the streaming path (same model, bounded memory). */
#define OFFLINE_MAX_FRAMES 750

typedef struct codec_opts {
    const char *in, *out, *weights, *config;
    const char *device; /* backend name ("cpu", "cuda"); NULL: the CPU */
    int codebooks; /* 0: the config's num_codebooks */
    int streaming, force_float, threads;
} codec_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: wavetensor mimi encode IN.wav -o OUT.wtok|OUT.safetensors [options]\n"
            "       wavetensor mimi decode IN.wtok|IN.safetensors -o OUT.wav [options]\n"
            "       wavetensor mimi roundtrip IN.wav -o OUT.wav [options]\n"
            "\n"
            "options:\n"
            "  --weights FILE    Mimi weights (safetensors; published checkpoint names)\n"
            "  --config FILE     model config (default " DEFAULT_CONFIG ")\n"
            "  --codebooks N     codebooks to use, 1..n_q (default: the config's)\n"
            "  --streaming       run frame by frame exactly as the live path does\n"
            "  --float           write 32-bit float WAV (default: float only if the input was)\n"
            "  --threads N       threads for the whole-clip pass on the CPU (default 1)\n"
            "  --device cpu|cuda where the model runs (default cpu)\n"
            "Input audio may be any format libsndfile reads, any rate and channel count.\n");
}

static int parse_int(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 1 || v > 1 << 20) return -1;
    *out = (int)v;
    return 0;
}

static int parse_opts(int argc, char **argv, codec_opts *o, const char *sub) {
    memset(o, 0, sizeof *o);
    o->threads = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return -2;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!has) return wt_cli_fail(WT_EXIT_USAGE, "mimi %s: %s needs a file name", sub, a), -1;
            o->out = argv[++i];
        } else if (!strcmp(a, "--weights") || !strcmp(a, "--config")) {
            if (!has) return wt_cli_fail(WT_EXIT_USAGE, "mimi %s: %s needs a file name", sub, a), -1;
            if (!strcmp(a, "--weights")) o->weights = argv[++i];
            else o->config = argv[++i];
        } else if (!strcmp(a, "--device")) {
            if (!has || (strcmp(argv[i + 1], "cpu") && strcmp(argv[i + 1], "cuda")))
                return wt_cli_fail(WT_EXIT_USAGE, "mimi %s: --device needs cpu or cuda", sub), -1;
            o->device = argv[++i];
        } else if (!strcmp(a, "--codebooks") || !strcmp(a, "--threads")) {
            int v;
            if (!has || parse_int(argv[i + 1], &v))
                return wt_cli_fail(WT_EXIT_USAGE, "mimi %s: %s needs a positive integer", sub, a), -1;
            i++;
            if (!strcmp(a, "--codebooks")) o->codebooks = v;
            else o->threads = v;
        } else if (!strcmp(a, "--streaming")) {
            o->streaming = 1;
        } else if (!strcmp(a, "--float")) {
            o->force_float = 1;
        } else if (a[0] == '-' && a[1]) {
            return wt_cli_fail(WT_EXIT_USAGE, "mimi %s: unknown option '%s'", sub, a), -1;
        } else if (!o->in) {
            o->in = a;
        } else {
            return wt_cli_fail(WT_EXIT_USAGE, "mimi %s: unexpected argument '%s'", sub, a), -1;
        }
    }
    if (!o->in) return wt_cli_fail(WT_EXIT_USAGE, "mimi %s: no input file (see --help)", sub), -1;
    if (!o->out) return wt_cli_fail(WT_EXIT_USAGE, "mimi %s: no output file (-o FILE)", sub), -1;
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* The default preset: ./presets/ (a source tree), else the installed copy
 * beside the executable (<prefix>/bin/../share/wavetensor/presets). */
static const char *default_config(char *buf, size_t n) {
    if (access(DEFAULT_CONFIG, R_OK) == 0) return DEFAULT_CONFIG;
    char exe[2048];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(buf, n, "%s/../share/wavetensor/%s", exe, DEFAULT_CONFIG);
        if (access(buf, R_OK) == 0) return buf;
    }
    return DEFAULT_CONFIG;
}

/* Config, then weights; errors are one line with the fix. */
static wt_mimi *load_model(const codec_opts *o, wt_mimi_config *cfg, const char *sub, int *rc) {
    char buf[4096];
    const char *config = o->config ? o->config : default_config(buf, sizeof buf);
    if (!o->weights) {
        *rc = wt_cli_fail(WT_EXIT_USAGE, "mimi %s: %s", sub, WEIGHTS_HINT);
        return NULL;
    }
    if (wt_mimi_config_load(config, cfg) != WT_OK) {
        *rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
        return NULL;
    }
    if (o->codebooks > cfg->n_q) {
        *rc = wt_cli_fail(WT_EXIT_USAGE, "mimi %s: --codebooks %d, the model has 1..%d", sub, o->codebooks,
                    cfg->n_q);
        return NULL;
    }
    const wt_backend *be = wt_backend_by_name(o->device ? o->device : "cpu");
    if (!be) {
        *rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: --device %s is not available: %s", sub,
                          o->device, wt_last_error());
        return NULL;
    }
    wt_mimi *m = wt_mimi_load_on(be, cfg, o->weights, WT_F32);
    if (!m) *rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
    return m;
}

/* A tensor of ctx's backend holding the host values `host` (uploaded on a
 * device). */
static wt_tensor *ctx_tensor(wt_ctx *ctx, wt_dtype dt, int nd, const int64_t *shape,
                             const void *host) {
    wt_tensor *t = wt_tensor_new(ctx, dt, nd, shape);
    if (!t) return NULL;
    wt_status s = t->backend->upload(t->data, host, wt_nbytes(t));
    if (s != WT_OK) {
        wt_ctx_fail(ctx, s, "upload of %zu bytes failed: %s", wt_nbytes(t), wt_last_error());
        return NULL;
    }
    return t;
}

/* The values of a contiguous tensor of any backend, into host memory. */
static wt_status tensor_host(wt_ctx *ctx, const wt_tensor *t, void *host) {
    wt_status s = t->backend->download(host, t->data, wt_nbytes(t));
    return s == WT_OK ? WT_OK : wt_ctx_fail(ctx, s, "download failed: %s", wt_last_error());
}

static void progress(int64_t done, int64_t total, int show) {
    if (!show) return;
    int w = 40, n = (int)(w * done / (total ? total : 1));
    fprintf(stderr, "\r[%.*s%*s] %3d%%", n, "########################################", w - n, "",
            (int)(100 * done / (total ? total : 1)));
    if (done == total) fputc('\n', stderr);
}

/* Progress bars only on a terminal and for inputs over 10 s. */
static int want_progress(int64_t frames) { return isatty(2) && frames > 125; }

/* Whether this pass streams: asked for, or too long for a whole-clip pass
 * (said on stderr, as the codes then follow the streaming rules). */
static bool streams(const codec_opts *o, int64_t frames, const char *sub) {
    if (o->streaming) return true;
    if (frames <= OFFLINE_MAX_FRAMES) return false;
    fprintf(stderr,
            "mimi %s: %lld frames, more than the %d (%d s) a whole-clip pass holds in memory; "
            "streaming (as --streaming)\n",
            sub, (long long)frames, OFFLINE_MAX_FRAMES, OFFLINE_MAX_FRAMES * 2 / 25);
    return true;
}

/* codes [F][K] host array from audio; returns 0 or an exit code. */
static int encode_audio(wt_mimi *m, const codec_opts *o, const float *pcm, int64_t n, int k,
                        int64_t **codes_out, int64_t *frames_out, const char *sub) {
    const wt_mimi_config *cfg = wt_mimi_get_config(m);
    int fs = wt_mimi_frame_size(cfg);
    int64_t frames = (n + fs - 1) / fs;
    int64_t *codes = malloc(sizeof(int64_t) * (size_t)(frames * k));
    float *padded = calloc((size_t)(frames * fs), sizeof(float));
    if (!codes || !padded) {
        free(codes);
        free(padded);
        return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: out of memory", sub);
    }
    memcpy(padded, pcm, sizeof(float) * (size_t)n);
    int rc = 0;
    if (streams(o, frames, sub)) {
        wt_mimi_encoder_stream *s = wt_mimi_encoder_stream_new(m, 1, k, 1);
        if (!s) rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
        int show = want_progress(frames);
        for (int64_t t = 0; !rc && t < frames; t++) {
            if (wt_mimi_encoder_stream_step(s, padded + t * fs, NULL, codes + t * k) != WT_OK)
                rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
            progress(t + 1, frames, show);
        }
        wt_mimi_encoder_stream_free(s);
    } else {
        wt_ctx *ctx = wt_ctx_new_heap(wt_mimi_backend(m));
        if (wt_mimi_backend(m)->host) wt_ctx_set_threads(ctx, o->threads);
        int64_t shp[3] = {1, 1, frames * fs};
        wt_tensor *c = wt_mimi_encode(m, ctx, ctx_tensor(ctx, WT_F32, 3, shp, padded), k, NULL);
        int64_t *kf = c ? malloc(wt_nbytes(c)) : NULL; /* [K][F] */
        if (!c || !kf || tensor_host(ctx, c, kf) != WT_OK) {
            rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub,
                             c && !kf ? "out of memory" : wt_ctx_error(ctx));
        } else {
            for (int64_t t = 0; t < frames; t++)
                for (int i = 0; i < k; i++) codes[t * k + i] = kf[i * frames + t];
        }
        free(kf);
        wt_ctx_free(ctx);
    }
    free(padded);
    if (rc) {
        free(codes);
        return rc;
    }
    *codes_out = codes;
    *frames_out = frames;
    return 0;
}

/* pcm [F * fs] from codes [F][K]. */
static int decode_codes(wt_mimi *m, const codec_opts *o, const int64_t *codes, int64_t frames,
                        int k, float **pcm_out, const char *sub) {
    int fs = wt_mimi_frame_size(wt_mimi_get_config(m));
    float *pcm = malloc(sizeof(float) * (size_t)(frames * fs));
    if (!pcm) return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: out of memory", sub);
    int rc = 0;
    if (streams(o, frames, sub)) {
        wt_mimi_decoder_stream *s = wt_mimi_decoder_stream_new(m, 1, k, 1);
        if (!s) rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
        int show = want_progress(frames);
        for (int64_t t = 0; !rc && t < frames; t++) {
            if (wt_mimi_decoder_stream_step(s, codes + t * k, NULL, pcm + t * fs) != WT_OK)
                rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
            progress(t + 1, frames, show);
        }
        wt_mimi_decoder_stream_free(s);
    } else {
        wt_ctx *ctx = wt_ctx_new_heap(wt_mimi_backend(m));
        if (wt_mimi_backend(m)->host) wt_ctx_set_threads(ctx, o->threads);
        int64_t *kf = malloc(sizeof(int64_t) * (size_t)(frames * k)); /* [K][F] */
        if (!kf) {
            rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: out of memory", sub);
        } else {
            for (int64_t t = 0; t < frames; t++)
                for (int i = 0; i < k; i++) kf[i * frames + t] = codes[t * k + i];
            int64_t shp[3] = {1, k, frames};
            wt_tensor *y = wt_mimi_decode(m, ctx, ctx_tensor(ctx, WT_I64, 3, shp, kf), NULL);
            if (!y || tensor_host(ctx, y, pcm) != WT_OK)
                rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_ctx_error(ctx));
        }
        free(kf);
        wt_ctx_free(ctx);
    }
    if (rc) {
        free(pcm);
        return rc;
    }
    *pcm_out = pcm;
    return 0;
}

static wt_tok_header model_header(wt_mimi *m, int k) {
    const wt_mimi_config *cfg = wt_mimi_get_config(m);
    wt_tok_header h = {.version = WT_TOK_VERSION, .sample_rate = (uint32_t)cfg->sample_rate,
                       .frame_rate_num = (uint32_t)(cfg->frame_rate * 1000 + 0.5),
                       .frame_rate_den = 1000, .frame_samples = (uint32_t)wt_mimi_frame_size(cfg),
                       .codebooks = (uint32_t)k, .codebook_size = (uint32_t)cfg->bins,
                       .model_id = wt_mimi_model_id(m)};
    return h;
}

/* Writes codes to a temp name beside `path`, renamed over it on success. */
static int write_codes(wt_mimi *m, const char *path, const int64_t *codes, int64_t frames, int k,
                       const char *sub) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    wt_status s;
    if (ends_with(path, ".safetensors")) {
        wt_ctx *ctx = wt_ctx_new_heap(NULL);
        wt_tensor *t = wt_tensor_new3(ctx, WT_I64, 1, k, frames);
        if (t)
            for (int64_t f = 0; f < frames; f++)
                for (int i = 0; i < k; i++) ((int64_t *)t->data)[i * frames + f] = codes[f * k + i];
        char id[32];
        snprintf(id, sizeof id, "%016llx", (unsigned long long)wt_mimi_model_id(m));
        const char *names[1] = {"codes"}, *keys[1] = {"model_id"}, *vals[1] = {id};
        const wt_tensor *ts[1] = {t};
        s = t ? wt_st_write(path, 1, names, ts, 1, keys, vals) : WT_ERR_NOMEM;
        wt_ctx_free(ctx);
        if (s != WT_OK) return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
        return 0;
    }
    wt_tok_header h = model_header(m, k);
    wt_tok_writer *w = wt_tok_writer_open(tmp, &h);
    if (!w) return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
    s = WT_OK;
    for (int64_t f = 0; s == WT_OK && f < frames; f++) s = wt_tok_writer_append(w, codes + f * k);
    wt_status sc = wt_tok_writer_close(w);
    if (s == WT_OK) s = sc;
    if (s == WT_OK && rename(tmp, path) != 0)
        s = wt_error(WT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (s != WT_OK) {
        unlink(tmp);
        return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
    }
    return 0;
}

/* Reads codes from .safetensors (i64 `codes` [1, K, F]) or .wtok; host [F][K]. */
static int read_codes(wt_mimi *m, const char *path, int64_t **codes_out, int64_t *frames, int *k,
                      const char *sub) {
    const wt_mimi_config *cfg = wt_mimi_get_config(m);
    FILE *f = fopen(path, "rb");
    if (!f) return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s: cannot open: %s", sub, path, strerror(errno));
    unsigned char magic[4] = {0};
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    if (got == 4 && !memcmp(magic, "WTOK", 4)) {
        wt_tok_file tf;
        if (wt_tok_read(path, &tf) != WT_OK)
            return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
        wt_tok_header want = model_header(m, (int)tf.h.codebooks);
        if (wt_tok_check(&tf.h, &want, (uint32_t)cfg->n_q) != WT_OK) {
            wt_tok_file_free(&tf);
            return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s: %s", sub, path, wt_last_error());
        }
        if (tf.truncated)
            fprintf(stderr, "wavetensor: warning: %s: skipped a truncated last frame (%u bytes)\n",
                    path, tf.partial_bytes);
        if (tf.frames == 0) {
            wt_tok_file_free(&tf);
            return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s holds no complete frame", sub, path);
        }
        *codes_out = tf.codes;
        *frames = tf.frames;
        *k = (int)tf.h.codebooks;
        return 0;
    }
    wt_st_file *st = wt_st_open(path);
    if (!st)
        return wt_cli_fail(WT_EXIT_RUNTIME,
                           "mimi %s: %s is neither a .wtok token file nor a safetensors file (%s)",
                           sub, path, wt_last_error());
    const wt_st_entry *e = wt_st_find(st, "codes");
    int rc = 0;
    if (!e || e->dtype != WT_I64 || e->ndim != 3 || e->shape[0] != 1 || e->shape[1] < 1 ||
        e->shape[1] > cfg->n_q || e->shape[2] < 1) {
        rc = wt_cli_fail(WT_EXIT_RUNTIME,
                         "mimi %s: %s: needs an i64 tensor 'codes' of shape [1, 1..%d, frames>0]",
                         sub, path, cfg->n_q);
    } else {
        *k = (int)e->shape[1];
        *frames = e->shape[2];
        int64_t *codes = malloc(sizeof(int64_t) * (size_t)(*frames * *k));
        if (!codes) {
            rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: out of memory", sub);
        } else {
            for (int64_t t = 0; t < *frames; t++)
                for (int i = 0; i < *k; i++) {
                    int64_t v;
                    memcpy(&v, (const char *)e->data + sizeof v * (size_t)(i * *frames + t), sizeof v);
                    codes[t * *k + i] = v;
                    if (!rc && (v < 0 || v >= cfg->bins))
                        rc = wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s: code %lld outside 0..%d",
                                         sub, path, (long long)v, cfg->bins - 1);
                }
            if (rc) free(codes);
            else *codes_out = codes;
        }
    }
    wt_st_close(st);
    return rc;
}

static int read_audio(const char *path, int rate, wt_audio *a, const char *sub) {
    if (wt_audio_read_mono(path, rate, a) != WT_OK)
        return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
    if (a->frames <= 0) {
        wt_audio_free(a);
        return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s holds no audio", sub, path);
    }
    return 0;
}

static int write_audio(const char *path, const float *pcm, int64_t n, int rate, int fl,
                       const char *sub) {
    if (wt_audio_write_wav(path, pcm, n, rate, fl) != WT_OK)
        return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s", sub, wt_last_error());
    return 0;
}

static int run(const char *sub, int argc, char **argv) {
    codec_opts o;
    int rc = parse_opts(argc, argv, &o, sub);
    if (rc == -2) return WT_EXIT_OK;
    if (rc) return WT_EXIT_USAGE;
    int is_enc = !strcmp(sub, "encode"), is_dec = !strcmp(sub, "decode");
    /* check the input exists before the (slow) model load */
    if (access(o.in, R_OK) != 0)
        return wt_cli_fail(WT_EXIT_RUNTIME, "mimi %s: %s: cannot open: %s", sub, o.in, strerror(errno));
    wt_mimi_config cfg;
    wt_mimi *m = load_model(&o, &cfg, sub, &rc);
    if (!m) return rc;
    int k = o.codebooks ? o.codebooks : cfg.num_codebooks;
    int64_t *codes = NULL, frames = 0;
    float *pcm = NULL;
    wt_audio a = {0};
    if (is_dec) {
        rc = read_codes(m, o.in, &codes, &frames, &k, sub);
        if (!rc) rc = decode_codes(m, &o, codes, frames, k, &pcm, sub);
        if (!rc) rc = write_audio(o.out, pcm, frames * wt_mimi_frame_size(&cfg), cfg.sample_rate,
                                  o.force_float, sub);
    } else {
        rc = read_audio(o.in, cfg.sample_rate, &a, sub);
        if (!rc) rc = encode_audio(m, &o, a.data, a.frames, k, &codes, &frames, sub);
        if (!rc && is_enc) rc = write_codes(m, o.out, codes, frames, k, sub);
        if (!rc && !is_enc) rc = decode_codes(m, &o, codes, frames, k, &pcm, sub);
        /* the round trip is as long as the input */
        if (!rc && !is_enc)
            rc = write_audio(o.out, pcm, a.frames, cfg.sample_rate, o.force_float || a.file_is_float, sub);
        if (a.data) wt_audio_free(&a);
    }
    free(codes);
    free(pcm);
    wt_mimi_free(m);
    return rc;
}

int wt_cmd_mimi(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? WT_EXIT_USAGE : WT_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "encode") && strcmp(sub, "decode") && strcmp(sub, "roundtrip"))
        return wt_cli_fail(WT_EXIT_USAGE, "mimi: unknown subcommand '%s' (encode, decode, roundtrip)", sub);
    return run(sub, argc - 2, argv + 2);
}

int wt_cmd_encode(int argc, char **argv) { return run("encode", argc - 1, argv + 1); }
int wt_cmd_decode(int argc, char **argv) { return run("decode", argc - 1, argv + 1); }

/* ---- `wavetensor bench mimi` ---- */
#include "bench/mimi_bench_core.h"

int wt_cmd_bench_mimi(int argc, char **argv) {
    char buf[4096];
    const char *config = default_config(buf, sizeof buf), *weights = NULL, *dt = "f32";
    int threads = 1, frames = 50, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--json")) json = 1;
        else if (has && !strcmp(a, "--config")) config = argv[++i];
        else if (has && !strcmp(a, "--weights")) weights = argv[++i];
        else if (has && !strcmp(a, "--dtype")) dt = argv[++i];
        else if (!strcmp(a, "--threads") || !strcmp(a, "--frames")) {
            int v;
            if (!has || parse_int(argv[i + 1], &v))
                return wt_cli_fail(WT_EXIT_USAGE, "bench mimi: %s needs a positive integer", a);
            i++;
            if (!strcmp(a, "--threads")) threads = v;
            else frames = v;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: wavetensor bench mimi [--config FILE] [--weights FILE] [--threads N] "
                   "[--dtype f32|bf16|f16] [--frames N] [--json]\n");
            return WT_EXIT_OK;
        } else {
            return wt_cli_fail(WT_EXIT_USAGE, "bench mimi: unknown option '%s'", a);
        }
    }
    wt_dtype dtype;
    if (wt_dtype_parse(dt, &dtype) || (dtype != WT_F32 && dtype != WT_F16 && dtype != WT_BF16))
        return wt_cli_fail(WT_EXIT_USAGE, "bench mimi: --dtype must be f32, bf16 or f16");
    wt_mimi_config cfg;
    if (wt_mimi_config_load(config, &cfg) != WT_OK)
        return wt_cli_fail(WT_EXIT_RUNTIME, "bench mimi: %s", wt_last_error());
    wt_mimi *m = weights ? wt_mimi_load(&cfg, weights, dtype) : wt_mimi_new_random(&cfg, dtype, 1);
    if (!m) return wt_cli_fail(WT_EXIT_RUNTIME, "bench mimi: %s", wt_last_error());
    mimi_bench_result r;
    int rc = mimi_bench_run(m, dtype, frames, threads, &r);
    wt_mimi_free(m);
    if (rc) return wt_cli_fail(WT_EXIT_RUNTIME, "bench mimi: %s", wt_last_error());
    mimi_bench_print(stdout, &r, wt_dtype_name(dtype), threads, frames, json);
    return WT_EXIT_OK;
}
