/* Mimi streaming and offline speed at a config's full size with random
 * weights: bench_mimi [--config FILE] [--threads N] [--dtype f32|bf16|f16]
 * [--frames N] [--json]. Reports ms per 80 ms frame and real-time factors
 * next to the memory-bandwidth floor. */
#include "bench/mimi_bench_core.h"

int main(int argc, char **argv) {
    const char *config = "presets/mimi-v0.1.json", *dt = "f32";
    int threads = 1, frames = 50, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (i + 1 < argc && !strcmp(argv[i], "--config")) config = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--dtype")) dt = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--threads")) threads = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--frames")) frames = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_mimi [--config FILE] [--threads N] [--dtype f32|bf16|f16] "
                            "[--frames N] [--json]\n");
            return 2;
        }
    }
    wt_dtype dtype;
    if (wt_dtype_parse(dt, &dtype) || threads < 1 || frames < 1) {
        fprintf(stderr, "bench_mimi: bad --dtype, --threads or --frames\n");
        return 2;
    }
    wt_mimi_config cfg;
    if (wt_mimi_config_load(config, &cfg) != WT_OK) {
        fprintf(stderr, "bench_mimi: %s\n", wt_last_error());
        return 1;
    }
    wt_mimi *m = wt_mimi_new_random(&cfg, dtype, 1);
    mimi_bench_result r;
    if (!m || mimi_bench_run(m, dtype, frames, threads, &r) != 0) {
        fprintf(stderr, "bench_mimi: %s\n", wt_last_error());
        wt_mimi_free(m);
        return 1;
    }
    mimi_bench_print(stdout, &r, wt_dtype_name(dtype), threads, frames, json);
    wt_mimi_free(m);
    return 0;
}
