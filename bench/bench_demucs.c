/* Streaming causal Demucs speed: milliseconds per stride frame against the
 * frame's duration (real-time factor) on real speech, random weights of a
 * config's shape (dns48 by default), one step per frame as a real-time
 * worker would run it. Also prints the streamer's algorithmic latency and
 * the memory-bandwidth floor (weight bytes per frame / copy bandwidth).
 *
 *   bench_demucs [--config FILE] [--threads N] [--dtype f32|bf16|f16]
 *                [--frames N] [--seconds S] [--data DIR] [--json]
 *
 * --data defaults to $WT_DATA_DIR/speech16k/noisy, else the shared data
 * next to this source tree. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wavetensor/demucs.h"
#include "wavetensor/wavetensor.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Appends the samples of a 16-bit PCM WAV (channels averaged) to *buf.
 * The bench links only the library, so it reads the plain RIFF layout
 * itself; other files are skipped. */
static void append_wav(const char *path, float **buf, int64_t *n, int *rate) {
    FILE *f = fopen(path, "rb");
    if (!f) return;
    unsigned char h[12];
    if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) {
        fclose(f);
        return;
    }
    int channels = 0, bits = 0;
    for (;;) {
        unsigned char ch[8];
        if (fread(ch, 1, 8, f) != 8) break;
        uint32_t size = le32(ch + 4);
        if (!memcmp(ch, "fmt ", 4) && size >= 16 && size < 4096) {
            unsigned char fmt[4096];
            if (fread(fmt, 1, size, f) != size) break;
            channels = fmt[2] | fmt[3] << 8;
            *rate = (int)le32(fmt + 4);
            bits = fmt[14] | fmt[15] << 8;
        } else if (!memcmp(ch, "data", 4) && channels > 0 && bits == 16) {
            int64_t frames = size / (2 * (uint32_t)channels);
            int16_t *pcm = malloc((size_t)size);
            float *grown = realloc(*buf, (size_t)(*n + frames) * sizeof **buf);
            if (!pcm || !grown) {
                free(pcm);
                break;
            }
            *buf = grown;
            frames = (int64_t)fread(pcm, 2 * (size_t)channels, (size_t)frames, f);
            for (int64_t i = 0; i < frames; i++) {
                double s = 0;
                for (int c = 0; c < channels; c++) s += pcm[i * channels + c];
                (*buf)[*n + i] = (float)(s / channels / 32768.0);
            }
            *n += frames;
            free(pcm);
            break;
        } else if (fseek(f, (long)size + (size & 1), SEEK_CUR)) {
            break;
        }
    }
    fclose(f);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static float *load_speech(const char *dir, int64_t *n, int *rate) {
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char *names[256];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < 256) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".wav")) names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)count, sizeof *names, cmp_str);
    float *buf = NULL;
    *n = 0;
    for (int i = 0; i < count; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%.4000s/%.4000s", dir, names[i]);
        append_wav(path, &buf, n, rate);
        free(names[i]);
    }
    return buf;
}

/* Bytes per second of a large memcpy (read + write counted as 2x). */
static double copy_bandwidth(void) {
    size_t bytes = (size_t)128 << 20;
    char *a = malloc(bytes), *b = malloc(bytes);
    if (!a || !b) {
        free(a);
        free(b);
        return 0;
    }
    memset(a, 1, bytes);
    memset(b, 2, bytes);
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        memcpy(b, a, bytes);
        double t = now_s() - t0;
        if (t < best) best = t;
        a[r] = b[bytes - 1 - (size_t)r]; /* keep the copies observable */
    }
    free(a);
    free(b);
    return 2.0 * (double)bytes / best;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *config = NULL, *data = NULL, *dtype_name = "f32";
    int threads = 1, frames = 1;
    double seconds = 20.0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) { json = 1; continue; }
        if (!v) {
            fprintf(stderr, "bench_demucs: %s needs a value (or unknown option)\n", a);
            return 2;
        }
        if (!strcmp(a, "--config")) config = v;
        else if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--dtype")) dtype_name = v;
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--frames")) frames = atoi(v);
        else if (!strcmp(a, "--seconds")) seconds = atof(v);
        else {
            fprintf(stderr, "bench_demucs: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    wt_dtype dt;
    if (wt_dtype_parse(dtype_name, &dt) || threads < 1 || frames < 1 || seconds <= 0) {
        fprintf(stderr, "bench_demucs: bad --dtype, --threads, --frames or --seconds\n");
        return 2;
    }
    wt_demucs_config cfg;
    wt_demucs_config_default(&cfg);
    if (config && wt_demucs_config_load(config, &cfg) != WT_OK) {
        fprintf(stderr, "bench_demucs: %s\n", wt_last_error());
        return 1;
    }
    char dirbuf[4096];
    if (!data) {
        const char *env = getenv("WT_DATA_DIR");
        if (env) {
            snprintf(dirbuf, sizeof dirbuf, "%s/speech16k/noisy", env);
        } else {
            /* __FILE__ is bench/bench_demucs.c under the repository */
            const char *src = __FILE__;
            const char *cut = strstr(src, "/bench/bench_demucs.c");
            snprintf(dirbuf, sizeof dirbuf, "%.*s/../shared/data/speech16k/noisy",
                     cut ? (int)(cut - src) : 1, cut ? src : ".");
        }
        data = dirbuf;
    }
    int rate = 0;
    int64_t n = 0;
    float *speech = load_speech(data, &n, &rate);
    if (!speech || n == 0) {
        fprintf(stderr, "bench_demucs: no 16-bit WAV speech in %s (use --data DIR)\n", data);
        return 1;
    }
    if (rate != cfg.sample_rate)
        fprintf(stderr, "bench_demucs: note: speech is %d Hz, model %d Hz (timing only)\n", rate,
                cfg.sample_rate);
    wt_demucs *m = wt_demucs_new_random(&cfg, 1234, dt);
    wt_demucs_stream *s = m ? wt_demucs_stream_new(m, 0.0f, frames) : NULL;
    if (!s) {
        fprintf(stderr, "bench_demucs: %s\n", wt_last_error());
        return 1;
    }
    wt_demucs_stream_set_threads(s, threads);
    const wt_demucs_stream_info *info = wt_demucs_stream_get_info(s);
    int64_t stride = info->stride;
    int64_t steps = (int64_t)(seconds * cfg.sample_rate / (double)stride);
    double *t_step = malloc((size_t)(steps + 1) * sizeof *t_step);
    float *out = malloc((size_t)(stride + info->total_length) * sizeof *out);
    int64_t got, pos = 0;
    /* fill the window so every timed feed runs exactly one step */
    wt_demucs_stream_feed(s, speech, info->total_length - stride, out, stride, &got);
    pos = info->total_length - stride;
    for (int64_t k = 0; k < steps + 5; k++) {
        if (pos + stride > n) pos = 0; /* loop over the speech */
        double t0 = now_s();
        wt_status st = wt_demucs_stream_feed(s, speech + pos, stride, out, stride, &got);
        double t = now_s() - t0;
        if (st != WT_OK || got != stride) {
            fprintf(stderr, "bench_demucs: step failed: %s\n", wt_last_error());
            return 1;
        }
        if (k >= 5) t_step[k - 5] = t; /* the first steps warm caches */
        pos += stride;
    }
    double sum = 0;
    for (int64_t k = 0; k < steps; k++) sum += t_step[k];
    qsort(t_step, (size_t)steps, sizeof *t_step, cmp_double);
    double ms = 1e3 * sum / (double)steps;
    double p50 = 1e3 * t_step[steps / 2], p99 = 1e3 * t_step[(steps * 99) / 100];
    double stride_ms = 1e3 * (double)stride / cfg.sample_rate;
    double latency_ms = 1e3 * (double)info->total_length / cfg.sample_rate;
    double bw = copy_bandwidth();
    double wbytes = (double)wt_demucs_weight_bytes(m);
    double floor_ms = bw > 0 ? 1e3 * wbytes / bw : 0;
    if (json) {
        printf("{\"model\": \"demucs\", \"hidden\": %d, \"depth\": %d, \"threads\": %d, "
               "\"dtype\": \"%s\", \"frames_per_step\": %d, \"steps\": %lld, "
               "\"ms_per_frame\": %.4f, \"ms_p50\": %.4f, \"ms_p99\": %.4f, \"stride_ms\": %.4f, "
               "\"rtf\": %.4f, \"latency_ms\": %.4f, \"weight_bytes\": %.0f, "
               "\"copy_gb_s\": %.2f, \"bandwidth_floor_ms\": %.4f, \"bandwidth_floor_rtf\": %.4f}\n",
               cfg.hidden, cfg.depth, threads, wt_dtype_name(dt), frames, (long long)steps, ms, p50,
               p99, stride_ms, ms / stride_ms, latency_ms, wbytes, bw / 1e9, floor_ms,
               floor_ms / stride_ms);
    } else {
        printf("demucs hidden %d depth %d, %s LSTM weights, %d thread(s), %d frame(s)/step, %lld steps\n",
               cfg.hidden, cfg.depth, wt_dtype_name(dt), threads, frames, (long long)steps);
        printf("  %.3f ms per %.1f ms frame (p50 %.3f, p99 %.3f): RTF %.3f\n", ms, stride_ms, p50,
               p99, ms / stride_ms);
        printf("  algorithmic latency %.1f ms (window of %lld samples)\n", latency_ms,
               (long long)info->total_length);
        printf("  weights %.1f MB; copy bandwidth %.1f GB/s; bandwidth floor %.3f ms (RTF %.3f)\n",
               wbytes / 1e6, bw / 1e9, floor_ms, floor_ms / stride_ms);
    }
    free(t_step);
    free(out);
    free(speech);
    wt_demucs_stream_free(s);
    wt_demucs_free(m);
    return 0;
}
