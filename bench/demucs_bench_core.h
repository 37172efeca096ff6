/* Streaming Demucs benchmark core, shared by bench/bench_demucs.c and
 * `wavetensor bench demucs` (header-only: both programs compile it in; not
 * part of the library). Feeds one stride per call, as a real-time worker
 * would, and reports ms per frame (wall and CPU time), the real-time factor,
 * the streamer's algorithmic latency and the memory-bandwidth floor (weight
 * bytes read per frame / bandwidth measured in the same run). */
#ifndef WT_BENCH_DEMUCS_CORE_H
#define WT_BENCH_DEMUCS_CORE_H

#include "bench/bench_clock.h" /* first: it sets the POSIX feature level */

#include <math.h>
#include <stdio.h>

#include "wavetensor/demucs.h"
#include "wavetensor/wavetensor.h"

typedef struct demucs_bench_result {
    int64_t steps;
    double ms, p50, p99; /* wall ms per step */
    double cpu_ms;       /* process CPU ms per step */
    double stride_ms, latency_ms;
    double weight_mb;          /* weights read per step */
    double copy_gbs, read_gbs; /* memcpy (read + write) and read-loop bandwidth */
    double floor_ms;           /* weight_mb / read bandwidth */
} demucs_bench_result;

static int demucs_bench_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* memcpy bandwidth, read + write counted (best of 5 over 128 MB). */
static double demucs_bench_copy_gbs(void) {
    size_t bytes = (size_t)128 << 20;
    char *a = malloc(bytes), *b = malloc(bytes);
    double best = 0;
    if (a && b) {
        memset(a, 1, bytes);
        memset(b, 2, bytes);
        for (int r = 0; r < 5; r++) {
            double t0 = wt_bench_now();
            memcpy(b, a, bytes);
            double t = wt_bench_now() - t0;
            a[r] = b[bytes - 1 - (size_t)r]; /* keep the copies observable */
            if (2.0 * (double)bytes / t / 1e9 > best) best = 2.0 * (double)bytes / t / 1e9;
        }
    }
    free(a);
    free(b);
    return best;
}

/* Deterministic speech-like test signal (timing does not depend on it):
 * a few partials with a slow envelope plus a little noise. */
static inline void demucs_bench_signal(float *x, int64_t n, int rate) {
    uint64_t s = 0x2545F4914F6CDD1Dull;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        double env = 0.5 + 0.5 * sin(6.2831853 * 3.0 * t);
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double noise = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.02;
        x[i] = (float)(0.1 * env * (sin(6.2831853 * 220.0 * t) +
                                    0.5 * sin(6.2831853 * 660.0 * t)) + noise);
    }
}

/* Streams `seconds` of `pcm` (looped) through a fresh streamer with
 * frames_per_step frames per step. 0 on success, -1 with wt_last_error(). */
static int demucs_bench_run(wt_demucs *m, const float *pcm, int64_t n, int threads,
                            int frames_per_step, double seconds, demucs_bench_result *r) {
    const wt_demucs_config *cfg = wt_demucs_get_config(m);
    memset(r, 0, sizeof *r);
    wt_demucs_stream *s = wt_demucs_stream_new(m, 0.0f, frames_per_step);
    if (!s) return -1;
    wt_demucs_stream_set_threads(s, threads);
    const wt_demucs_stream_info *info = wt_demucs_stream_get_info(s);
    int64_t stride = info->stride;
    if (n < info->total_length + stride) {
        wt_demucs_stream_free(s);
        wt_error(WT_ERR_INVALID, "bench demucs: input shorter than two windows");
        return -1;
    }
    int64_t steps = (int64_t)(seconds * cfg->sample_rate / (double)stride);
    if (steps < 1) steps = 1;
    double *t_step = malloc((size_t)steps * sizeof *t_step);
    float *out = malloc((size_t)(stride + info->total_length) * sizeof *out);
    int rc = (!t_step || !out) ? -1 : 0;
    int64_t got, pos = info->total_length - stride;
    /* fill the window so every timed feed runs exactly one step */
    if (!rc) rc = wt_demucs_stream_feed(s, pcm, pos, out, stride, &got) != WT_OK;
    double cpu = 0;
    for (int64_t k = 0; !rc && k < steps + 5; k++) {
        if (pos + stride > n) pos = 0; /* loop over the input */
        double c0 = wt_bench_cpu_now(), t0 = wt_bench_now();
        wt_status st = wt_demucs_stream_feed(s, pcm + pos, stride, out, stride, &got);
        double t = wt_bench_now() - t0, c = wt_bench_cpu_now() - c0;
        if (st != WT_OK || got != stride) rc = -1;
        if (k >= 5) { /* the first steps warm caches */
            t_step[k - 5] = t;
            cpu += c;
        }
        pos += stride;
    }
    if (!rc) {
        double sum = 0;
        for (int64_t k = 0; k < steps; k++) sum += t_step[k];
        qsort(t_step, (size_t)steps, sizeof *t_step, demucs_bench_cmp);
        r->steps = steps;
        r->ms = 1e3 * sum / (double)steps;
        r->cpu_ms = 1e3 * cpu / (double)steps;
        r->p50 = 1e3 * t_step[steps / 2];
        r->p99 = 1e3 * t_step[(steps * 99) / 100];
        r->stride_ms = 1e3 * (double)stride / cfg->sample_rate;
        r->latency_ms = 1e3 * (double)info->total_length / cfg->sample_rate;
        r->weight_mb = (double)wt_demucs_weight_bytes(m) / 1e6;
        r->copy_gbs = demucs_bench_copy_gbs();
        r->read_gbs = wt_bench_read_gbs();
        if (r->read_gbs > 0) r->floor_ms = r->weight_mb / r->read_gbs;
    }
    free(t_step);
    free(out);
    wt_demucs_stream_free(s);
    return rc;
}

static void demucs_bench_print(FILE *f, const wt_demucs_config *cfg, const demucs_bench_result *r,
                               const char *dtype, int threads, int frames_per_step, int json) {
    if (json) {
        fprintf(f,
                "{\"model\": \"demucs\", \"hidden\": %d, \"depth\": %d, \"threads\": %d, "
                "\"dtype\": \"%s\", \"frames_per_step\": %d, \"steps\": %lld, "
                "\"ms_per_frame\": %.4f, \"cpu_ms_per_frame\": %.4f, \"ms_p50\": %.4f, "
                "\"ms_p99\": %.4f, \"stride_ms\": %.4f, \"rtf\": %.4f, \"cpu_rtf\": %.4f, "
                "\"latency_ms\": %.4f, \"weights_mb_per_frame\": %.2f, \"copy_gb_per_s\": %.2f, "
                "\"read_gb_per_s\": %.2f, \"bandwidth_floor_ms\": %.4f, "
                "\"bandwidth_floor_rtf\": %.4f}\n",
                cfg->hidden, cfg->depth, threads, dtype, frames_per_step, (long long)r->steps, r->ms,
                r->cpu_ms, r->p50, r->p99, r->stride_ms, r->ms / r->stride_ms,
                r->cpu_ms / r->stride_ms, r->latency_ms, r->weight_mb, r->copy_gbs, r->read_gbs,
                r->floor_ms, r->floor_ms / r->stride_ms);
        return;
    }
    fprintf(f, "demucs hidden %d depth %d, %s weights, %d thread(s), %d frame(s)/step, %lld steps\n",
            cfg->hidden, cfg->depth, dtype, threads, frames_per_step, (long long)r->steps);
    fprintf(f, "  %.3f ms per %.1f ms frame (p50 %.3f, p99 %.3f): RTF %.3f\n", r->ms, r->stride_ms,
            r->p50, r->p99, r->ms / r->stride_ms);
    fprintf(f, "  CPU time %.3f ms per frame: RTF %.3f (unaffected by other load)\n", r->cpu_ms,
            r->cpu_ms / r->stride_ms);
    fprintf(f, "  algorithmic latency %.1f ms\n", r->latency_ms);
    fprintf(f, "  weights %.1f MB per frame; read %.1f GB/s (copy %.1f GB/s r+w); "
               "bandwidth floor %.3f ms (RTF %.3f)\n",
            r->weight_mb, r->read_gbs, r->copy_gbs, r->floor_ms, r->floor_ms / r->stride_ms);
}

#endif
