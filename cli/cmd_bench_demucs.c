/* `wavetensor bench demucs`: streaming Demucs speed (see
 * bench/demucs_bench_core.h) on a synthetic test signal, with random weights
 * of the config's shapes unless --weights names a checkpoint. */
#include "bench/demucs_bench_core.h"

#include <errno.h>

#include "cli/cli.h"

static int bench_int(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 1 || v > 1024) return -1;
    *out = (int)v;
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: wavetensor bench demucs [--config FILE] [--weights FILE] [--threads N]\n"
               "                               [--dtype f32|bf16|f16] [--frames-per-step N]\n"
               "                               [--seconds S] [--json]\n"
               "  --config FILE          model config JSON (default: dns48)\n"
               "  --weights FILE         safetensors checkpoint (default: random weights)\n"
               "  --threads N            threads per step (default 1)\n"
               "  --dtype T              dtype weights are held in (default f32)\n"
               "  --frames-per-step N    stride frames per streaming step (default 1)\n"
               "  --seconds S            audio streamed (default 10)\n"
               "  --json                 one JSON object on stdout\n");
}

int wt_cmd_bench_demucs(int argc, char **argv) {
    const char *config = NULL, *weights = NULL, *dt = "f32";
    int threads = 1, fps = 1, json = 0;
    double seconds = 10.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return WT_EXIT_OK;
        } else if (has && !strcmp(a, "--config")) {
            config = argv[++i];
        } else if (has && !strcmp(a, "--weights")) {
            weights = argv[++i];
        } else if (has && !strcmp(a, "--dtype")) {
            dt = argv[++i];
        } else if (!strcmp(a, "--seconds")) {
            char *end = NULL;
            seconds = has ? strtod(argv[i + 1], &end) : 0;
            if (!has || !end || *end || !(seconds > 0 && seconds <= 3600))
                return wt_cli_fail(WT_EXIT_USAGE, "bench demucs: --seconds needs a number in (0, 3600]");
            i++;
        } else if (!strcmp(a, "--threads") || !strcmp(a, "--frames-per-step")) {
            int v;
            if (!has || bench_int(argv[i + 1], &v))
                return wt_cli_fail(WT_EXIT_USAGE, "bench demucs: %s needs an integer in 1..1024", a);
            i++;
            if (!strcmp(a, "--threads")) threads = v;
            else fps = v;
        } else {
            return wt_cli_fail(WT_EXIT_USAGE, "bench demucs: unknown option '%s' (see --help)", a);
        }
    }
    wt_dtype dtype;
    if (wt_dtype_parse(dt, &dtype) || (dtype != WT_F32 && dtype != WT_F16 && dtype != WT_BF16))
        return wt_cli_fail(WT_EXIT_USAGE, "bench demucs: --dtype must be f32, bf16 or f16");
    wt_demucs_config cfg;
    wt_demucs_config_default(&cfg);
    if (config && wt_demucs_config_load(config, &cfg) != WT_OK)
        return wt_cli_fail(WT_EXIT_RUNTIME, "bench demucs: %s", wt_last_error());
    wt_demucs *m = weights ? wt_demucs_new(&cfg, weights, dtype) : wt_demucs_new_random(&cfg, 1234, dtype);
    if (!m) return wt_cli_fail(WT_EXIT_RUNTIME, "bench demucs: %s", wt_last_error());
    /* a few seconds of signal, looped */
    int64_t n = (int64_t)cfg.sample_rate * 4;
    float *pcm = malloc((size_t)n * sizeof *pcm);
    if (!pcm) {
        wt_demucs_free(m);
        return wt_cli_fail(WT_EXIT_RUNTIME, "bench demucs: out of memory");
    }
    demucs_bench_signal(pcm, n, cfg.sample_rate);
    demucs_bench_result r;
    int rc = demucs_bench_run(m, pcm, n, threads, fps, seconds, &r);
    free(pcm);
    if (rc) {
        wt_demucs_free(m);
        return wt_cli_fail(WT_EXIT_RUNTIME, "bench demucs: %s", wt_last_error());
    }
    demucs_bench_print(stdout, wt_demucs_get_config(m), &r, wt_dtype_name(dtype), threads, fps, json);
    wt_demucs_free(m);
    return WT_EXIT_OK;
}
