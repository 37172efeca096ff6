/* Mimi streaming on the CUDA backend: ms per 80 ms frame of a streaming
 * encode step and decode step (Mimi v0.1 shape, random weights) at batch 1,
 * 8 and 64 streams, eager and replayed as a graph, with f32 and bf16
 * weights; then how many concurrent real-time streams one GPU sustains: the
 * largest batch whose encode + decode step (graph replay) stays under one
 * frame (80 ms), searched by doubling from 64 up to 1024 (halving below 64
 * when 64 is too slow) and bisecting.
 * A step is timed as a caller sees it: pcm/codes uploaded, the step run,
 * the outputs downloaded (which waits for the device).
 * Prints "skipped: no CUDA device" and exits 0 without a device (or in a
 * build without CUDA: it only needs the backend by name).
 *
 * Usage: bench_cuda_mimi [--config presets/mimi-v0.1.json] [--quick] [--json] */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wavetensor/mimi.h"
#include "wavetensor/wavetensor.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct opts {
    const char *config;
    bool quick, json;
} opts;

typedef struct row {
    const char *dtype;
    int batch;
    bool graphs;
    double enc_ms, dec_ms; /* per frame (one step for every stream) */
} row;

/* One streaming encoder and decoder of `batch` streams, their host buffers. */
typedef struct rig {
    wt_mimi_encoder_stream *enc;
    wt_mimi_decoder_stream *dec;
    float *pcm, *out;
    int64_t *codes;
    int batch, fs, k;
} rig;

static void rig_free(rig *r) {
    wt_mimi_encoder_stream_free(r->enc);
    wt_mimi_decoder_stream_free(r->dec);
    free(r->pcm);
    free(r->out);
    free(r->codes);
    memset(r, 0, sizeof *r);
}

static int rig_init(rig *r, wt_mimi *m, int batch, bool graphs) {
    const wt_mimi_config *cfg = wt_mimi_get_config(m);
    memset(r, 0, sizeof *r);
    r->batch = batch;
    r->fs = wt_mimi_frame_size(cfg);
    r->k = cfg->num_codebooks;
    size_t n = (size_t)batch * (size_t)r->fs;
    r->pcm = malloc(sizeof(float) * n);
    r->out = malloc(sizeof(float) * n);
    r->codes = malloc(sizeof(int64_t) * (size_t)batch * (size_t)r->k);
    r->enc = wt_mimi_encoder_stream_new(m, batch, r->k, 1);
    r->dec = r->enc ? wt_mimi_decoder_stream_new(m, batch, r->k, 1) : NULL;
    if (!r->pcm || !r->out || !r->codes || !r->enc || !r->dec ||
        wt_mimi_encoder_stream_set_graphs(r->enc, graphs) != WT_OK ||
        wt_mimi_decoder_stream_set_graphs(r->dec, graphs) != WT_OK) {
        rig_free(r);
        return -1;
    }
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) { /* quiet noise, as a microphone gives */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        r->pcm[i] = 0.1f * (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
    }
    return 0;
}

/* `warm` untimed steps (graph warm-up and capture), then `steps` timed:
 * mean ms per encode and decode step. */
static int rig_time(rig *r, int warm, int steps, double *enc_ms, double *dec_ms) {
    double te = 0, td = 0;
    for (int t = 0; t < warm + steps; t++) {
        double t0 = now_s();
        if (wt_mimi_encoder_stream_step(r->enc, r->pcm, NULL, r->codes) != WT_OK) return -1;
        double t1 = now_s();
        if (wt_mimi_decoder_stream_step(r->dec, r->codes, NULL, r->out) != WT_OK) return -1;
        double t2 = now_s();
        if (t >= warm) {
            te += t1 - t0;
            td += t2 - t1;
        }
    }
    *enc_ms = 1000.0 * te / steps;
    *dec_ms = 1000.0 * td / steps;
    return 0;
}

static void print_row(const opts *o, const row *w, double frame_ms) {
    double both = w->enc_ms + w->dec_ms;
    if (o->json) {
        printf("{\"bench\": \"cuda_mimi\", \"model\": \"mimi-v0.1\", \"dtype\": \"%s\", "
               "\"batch\": %d, \"graphs\": %s, \"enc_ms_per_frame\": %.3f, "
               "\"dec_ms_per_frame\": %.3f, \"both_ms_per_frame\": %.3f, \"frame_ms\": %.1f, "
               "\"rtf\": %.4f}\n",
               w->dtype, w->batch, w->graphs ? "true" : "false", w->enc_ms, w->dec_ms, both,
               frame_ms, both / frame_ms);
    } else {
        printf("mimi-v0.1 %-4s batch %4d %-6s  encode %8.3f  decode %8.3f  both %8.3f ms/frame  "
               "RTF %.3f  (%.3f ms per stream-frame)\n",
               w->dtype, w->batch, w->graphs ? "graph" : "eager", w->enc_ms, w->dec_ms, both,
               both / frame_ms, both / w->batch);
    }
    fflush(stdout);
}

/* enc+dec ms per frame at `batch` streams with graph replay; < 0 when the
 * streams cannot be made (out of device memory) or a step fails. */
static double capacity_trial(wt_mimi *m, int batch, int steps) {
    rig r;
    if (rig_init(&r, m, batch, true) != 0) return -1;
    double e, d;
    int rc = rig_time(&r, 3, steps, &e, &d);
    rig_free(&r);
    return rc ? -1 : e + d;
}

static int capacity_probe(const opts *o, wt_mimi *m, const char *dt, int b, int steps,
                          double frame_ms) {
    double ms = capacity_trial(m, b, steps);
    bool ok = ms >= 0 && ms < frame_ms;
    if (!o->json)
        printf("  capacity %-4s batch %4d: %s %.2f ms per frame\n", dt, b,
               ms < 0 ? "failed" : ok ? "ok" : "over", ms < 0 ? 0.0 : ms);
    return ok;
}

/* Largest batch up to 1024 whose step stays under frame_ms: doubling from
 * 64 (halving when 64 is already too slow), then bisection to a multiple of
 * `grain` (of 1 below 64). 0 when even one stream is too slow. */
static int capacity(const opts *o, wt_mimi *m, const char *dt, double frame_ms) {
    int steps = o->quick ? 3 : 6;
    int ok = 0, bad = 0;
    for (int b = 64; b <= 1024; b *= 2) {
        if (!capacity_probe(o, m, dt, b, steps, frame_ms)) {
            bad = b;
            break;
        }
        ok = b;
    }
    for (int b = 32; !ok && b >= 1; b /= 2) {
        if (capacity_probe(o, m, dt, b, steps, frame_ms)) ok = b;
        else bad = b;
    }
    int grain = ok >= 64 ? (o->quick ? 64 : 16) : (o->quick ? 8 : 1);
    while (bad && ok && bad - ok > grain) {
        int mid = (ok + bad) / 2 / grain * grain;
        if (mid <= ok) break;
        if (capacity_probe(o, m, dt, mid, steps, frame_ms)) ok = mid;
        else bad = mid;
    }
    return ok;
}

static int parse(int argc, char **argv, opts *o) {
    o->config = "presets/mimi-v0.1.json";
    o->quick = o->json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) o->quick = true;
        else if (!strcmp(argv[i], "--json")) o->json = true;
        else if (!strcmp(argv[i], "--config") && i + 1 < argc) o->config = argv[++i];
        else {
            fprintf(stderr, "usage: bench_cuda_mimi [--config FILE] [--quick] [--json]\n");
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    opts o;
    if (parse(argc, argv, &o) != 0) return 2;
    const wt_backend *be = wt_backend_by_name("cuda");
    if (!be) {
        printf("skipped: no CUDA device\n");
        return 0;
    }
    wt_mimi_config cfg;
    if (wt_mimi_config_load(o.config, &cfg) != WT_OK) {
        fprintf(stderr, "bench_cuda_mimi: %s\n", wt_last_error());
        return 1;
    }
    double frame_ms = 1000.0 * wt_mimi_frame_size(&cfg) / cfg.sample_rate;
    static const int batches[3] = {1, 8, 64};
    static const wt_dtype dts[2] = {WT_F32, WT_BF16};
    int steps = o.quick ? 5 : 20;
    for (int di = 0; di < 2; di++) {
        const char *dn = wt_dtype_name(dts[di]);
        wt_mimi *m = wt_mimi_new_random_on(be, &cfg, dts[di], 1);
        if (!m) {
            fprintf(stderr, "bench_cuda_mimi: %s weights: %s\n", dn, wt_last_error());
            return 1;
        }
        for (int bi = 0; bi < 3; bi++)
            for (int g = 0; g < 2; g++) {
                row w = {.dtype = dn, .batch = batches[bi], .graphs = g == 1};
                rig r;
                if (rig_init(&r, m, w.batch, w.graphs) != 0 ||
                    rig_time(&r, 3, steps, &w.enc_ms, &w.dec_ms) != 0) {
                    fprintf(stderr, "bench_cuda_mimi: %s batch %d: %s\n", dn, w.batch, wt_last_error());
                    rig_free(&r);
                    wt_mimi_free(m);
                    return 1;
                }
                rig_free(&r);
                print_row(&o, &w, frame_ms);
            }
        int cap = capacity(&o, m, dn, frame_ms);
        if (o.json)
            printf("{\"bench\": \"cuda_mimi\", \"model\": \"mimi-v0.1\", \"dtype\": \"%s\", "
                   "\"realtime_streams\": %d, \"frame_ms\": %.1f, \"searched\": \"1..1024\"}\n",
                   dn, cap, frame_ms);
        else
            printf("mimi-v0.1 %-4s real-time streams per GPU (enc+dec step < %.0f ms, graphs): %d%s\n",
                   dn, frame_ms, cap, cap == 1024 ? " (the search's upper end)" : "");
        fflush(stdout);
        wt_mimi_free(m);
    }
    return 0;
}
