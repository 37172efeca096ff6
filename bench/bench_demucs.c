/* Streaming causal Demucs speed: milliseconds per stride frame against the
 * frame's duration (real-time factor) on real speech, random weights of a
 * config's shape (dns48 by default), one step per frame as a real-time
 * worker would run it. Also prints CPU time per frame (comparable on a loaded
 * machine), the streamer's algorithmic latency and the memory-bandwidth
 * floor (weight bytes per frame / read bandwidth); see demucs_bench_core.h.
 *
 *   bench_demucs [--config FILE] [--threads N] [--dtype f32|bf16|f16]
 *                [--frames N] [--seconds S] [--data DIR] [--json]
 *
 * --data defaults to $WT_DATA_DIR/speech16k/noisy, else the shared data
 * next to this source tree. */
#include "bench/demucs_bench_core.h"

#include <dirent.h>

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
    demucs_bench_result r;
    if (!m || demucs_bench_run(m, speech, n, threads, frames, seconds, &r) != 0) {
        fprintf(stderr, "bench_demucs: %s\n", wt_last_error());
        wt_demucs_free(m);
        free(speech);
        return 1;
    }
    demucs_bench_print(stdout, &cfg, &r, wt_dtype_name(dt), threads, frames, json);
    free(speech);
    wt_demucs_free(m);
    return 0;
}
