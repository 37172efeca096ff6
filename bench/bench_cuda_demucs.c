/* Streaming causal Demucs on the CUDA backend (built only with WT_HAVE_CUDA).
 * Prints "skipped: no CUDA device" and exits 0 without a device.
 *
 * Rows: dns48 and dns64 shapes (the presets' configs: hidden 48 / 64, depth
 * 5, resample 4; random weights from a fixed seed), weights held in f32 and
 * bf16, the streaming step run eagerly (every op launched from the host)
 * and as a replayed CUDA graph. One frame per step: 256 samples = 16 ms of
 * 16 kHz audio. A timed step is one wt_demucs_stream_feed of 256 samples:
 * host bookkeeping, upload of the window, the network, download of the
 * output (which waits for the device), dry/wet mix. Reported: mean, p50 and
 * p99 wall ms per frame and the real-time factor (mean / 16 ms); `same`
 * says whether the graph row's output equals the eager row's bit for bit
 * over the timed steps (the same input from a fresh streamer). bf16 rows
 * round activations to bf16 inside the GEMMs (cuBLAS takes one input type).
 *
 * Usage: bench_cuda_demucs [--steps N] [--json]   (default 400 timed steps
 * per row after 8 warm-up steps; 8 rows) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wavetensor/demucs.h"
#include "wavetensor/wavetensor.h"

enum { WARM_STEPS = 8, MAX_ROWS = 8 };

typedef struct row {
    const char *model, *dtype, *mode;
    int64_t steps;
    double ms, p50, p99, stride_ms;
    int same; /* graph rows: output equal to the eager row's (-1: not compared) */
} row;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Deterministic speech-like input (timing does not depend on it). */
static void make_signal(float *x, int64_t n, int rate) {
    uint64_t s = 0x2545F4914F6CDD1Dull;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double noise = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.02;
        x[i] = (float)(0.1 * (0.5 + 0.5 * sin(6.2831853 * 3.0 * t)) *
                           (sin(6.2831853 * 220.0 * t) + 0.5 * sin(6.2831853 * 660.0 * t)) +
                       noise);
    }
}

/* Streams `steps` frames of pcm through a fresh streamer of m with graphs
 * on or off; the timed steps' output goes to out (steps * stride). */
static int run_row(wt_demucs *m, bool graphs, const float *pcm, int64_t n, int64_t steps,
                   float *out, row *r) {
    wt_demucs_stream *s = wt_demucs_stream_new(m, 0.0f, 1);
    if (!s) return -1;
    int rc = wt_demucs_stream_set_graphs(s, graphs) == WT_OK ? 0 : -1;
    const wt_demucs_stream_info *info = wt_demucs_stream_get_info(s);
    int64_t stride = info->stride, got;
    int64_t pos = info->total_length - stride;
    double *t = malloc((size_t)steps * sizeof *t);
    float *tmp = malloc((size_t)stride * sizeof *tmp);
    if (!t || !tmp) rc = -1;
    /* fill the window so that every later feed runs exactly one step */
    if (!rc && wt_demucs_stream_feed(s, pcm, pos, tmp, stride, &got) != WT_OK) rc = -1;
    for (int64_t k = 0; !rc && k < steps + WARM_STEPS; k++) {
        if (pos + stride > n) pos = 0;
        float *dst = k >= WARM_STEPS ? out + (k - WARM_STEPS) * stride : tmp;
        double t0 = now_s();
        wt_status st = wt_demucs_stream_feed(s, pcm + pos, stride, dst, stride, &got);
        double dt = now_s() - t0;
        if (st != WT_OK || got != stride) rc = -1;
        if (k >= WARM_STEPS) t[k - WARM_STEPS] = dt;
        pos += stride;
    }
    if (!rc) {
        double sum = 0;
        for (int64_t k = 0; k < steps; k++) sum += t[k];
        qsort(t, (size_t)steps, sizeof *t, cmp_double);
        r->steps = steps;
        r->ms = 1e3 * sum / (double)steps;
        r->p50 = 1e3 * t[steps / 2];
        r->p99 = 1e3 * t[(steps * 99) / 100];
        r->stride_ms = 1e3 * (double)stride / wt_demucs_get_config(m)->sample_rate;
        r->mode = wt_demucs_stream_graphs(s) ? "graph" : "eager";
    }
    free(t);
    free(tmp);
    wt_demucs_stream_free(s);
    return rc;
}

static void print_row(const row *r) {
    printf("%-6s %-5s %-6s %6lld steps  %8.3f ms/frame  p50 %8.3f  p99 %8.3f  RTF %.4f%s\n",
           r->model, r->dtype, r->mode, (long long)r->steps, r->ms, r->p50, r->p99,
           r->ms / r->stride_ms,
           r->same < 0 ? "" : r->same ? "  same as eager" : "  DIFFERS from eager");
}

static void print_json(const row *rows, int n) {
    printf("{\"bench\": \"cuda_demucs\", \"rows\": [");
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        printf("%s{\"model\": \"%s\", \"dtype\": \"%s\", \"mode\": \"%s\", \"steps\": %lld, "
               "\"ms_per_frame\": %.4f, \"ms_p50\": %.4f, \"ms_p99\": %.4f, \"stride_ms\": %.4f, "
               "\"rtf\": %.5f, \"same_as_eager\": %s}",
               i ? ", " : "", r->model, r->dtype, r->mode, (long long)r->steps, r->ms, r->p50,
               r->p99, r->stride_ms, r->ms / r->stride_ms,
               r->same < 0 ? "null" : r->same ? "true" : "false");
    }
    printf("]}\n");
}

int main(int argc, char **argv) {
    int64_t steps = 400;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            char *end;
            steps = strtoll(argv[++i], &end, 10);
            if (*end || steps < 1 || steps > 100000) {
                fprintf(stderr, "bench_cuda_demucs: --steps must be 1..100000\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_cuda_demucs [--steps N] [--json]\n");
            return 2;
        }
    }
    const wt_backend *be = wt_backend_by_name("cuda");
    if (!be) {
        printf("skipped: no CUDA device\n");
        return 0;
    }
    if (!json)
        printf("Demucs streaming on the CUDA backend (device %d), one 16 ms frame per step, %lld "
               "timed steps per row\n",
               getenv("WT_CUDA_DEVICE") ? atoi(getenv("WT_CUDA_DEVICE")) : 0, (long long)steps);
    int64_t n = 16000 * 20;
    float *pcm = malloc((size_t)n * sizeof *pcm);
    float *eager = malloc((size_t)steps * 256 * sizeof *eager);
    float *graph = malloc((size_t)steps * 256 * sizeof *graph);
    if (!pcm || !eager || !graph) {
        fprintf(stderr, "bench_cuda_demucs: out of memory\n");
        return 1;
    }
    make_signal(pcm, n, 16000);
    static const struct { const char *name; int hidden; } models[] = {{"dns48", 48}, {"dns64", 64}};
    static const struct { const char *name; wt_dtype dt; } dtypes[] = {{"f32", WT_F32},
                                                                       {"bf16", WT_BF16}};
    row rows[MAX_ROWS];
    int nrows = 0, rc = 0;
    for (size_t mi = 0; mi < 2 && !rc; mi++)
        for (size_t di = 0; di < 2 && !rc; di++) {
            wt_demucs_config cfg;
            wt_demucs_config_default(&cfg); /* dns48's shape */
            cfg.hidden = models[mi].hidden;
            wt_demucs *m = wt_demucs_new_random_on(be, &cfg, 1, dtypes[di].dt);
            if (!m) {
                fprintf(stderr, "bench_cuda_demucs: %s %s: %s\n", models[mi].name, dtypes[di].name,
                        wt_last_error());
                rc = 1;
                break;
            }
            for (int g = 0; g < 2 && !rc; g++) {
                row *r = &rows[nrows];
                memset(r, 0, sizeof *r);
                r->model = models[mi].name;
                r->dtype = dtypes[di].name;
                if (run_row(m, g == 1, pcm, n, steps, g ? graph : eager, r) != 0) {
                    fprintf(stderr, "bench_cuda_demucs: %s %s %s: %s\n", r->model, r->dtype,
                            g ? "graph" : "eager", wt_last_error());
                    rc = 1;
                    break;
                }
                r->same = g ? memcmp(eager, graph, (size_t)steps * 256 * sizeof *eager) == 0 : -1;
                if (!json) print_row(r);
                nrows++;
            }
            wt_demucs_free(m);
        }
    if (json && !rc) print_json(rows, nrows);
    free(pcm);
    free(eager);
    free(graph);
    return rc;
}
