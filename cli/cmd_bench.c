/* `wavetensor bench <model>`: throughput benchmarks. `bench llama` times the
 * batched prompt (prefill) and the decode steps of a Llama, reports the
 * decode rate also as GB/s of weights streamed, next to the memory
 * bandwidth of a plain copy loop measured in the same run. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cmd_llama.h"
#include "wavetensor/llama.h"
#include "wavetensor/wavetensor.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- memory bandwidth: memcpy of a buffer far larger than the caches ---- */

typedef struct copy_job {
    char *dst;
    const char *src;
    size_t n;
    int reps;
} copy_job;

static void *copy_worker(void *p) {
    copy_job *j = p;
    for (int r = 0; r < j->reps; r++) memcpy(j->dst, j->src, j->n);
    return NULL;
}

/* GB/s of bytes read plus bytes written (STREAM "copy" convention), best of
 * a few runs, with `threads` threads on disjoint slices. 0 on failure. */
static double copy_bandwidth(int threads, size_t bytes) {
    char *src = malloc(bytes), *dst = malloc(bytes);
    if (!src || !dst) {
        free(src);
        free(dst);
        return 0;
    }
    memset(src, 1, bytes);
    memset(dst, 2, bytes); /* fault the pages in before timing */
    copy_job jobs[64];
    pthread_t tid[64];
    if (threads > 64) threads = 64;
    size_t slice = bytes / (size_t)threads;
    double best = 0;
    for (int run = 0; run < 3; run++) {
        double t0 = now_s();
        for (int t = 0; t < threads; t++) {
            jobs[t] = (copy_job){dst + (size_t)t * slice, src + (size_t)t * slice, slice, 2};
            if (t > 0) pthread_create(&tid[t], NULL, copy_worker, &jobs[t]);
        }
        copy_worker(&jobs[0]);
        for (int t = 1; t < threads; t++) pthread_join(tid[t], NULL);
        double gbs = 2.0 * 2.0 * (double)(slice * (size_t)threads) / (now_s() - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    free(src);
    free(dst);
    return best;
}

/* ---- bench llama ---- */

static void bench_llama_usage(FILE *f) {
    fprintf(f,
            "usage: wavetensor bench llama [options]\n"
            "  --config FILE     Hugging Face config.json (default: TinyLlama-1.1B shapes)\n"
            "  --weights FILE    safetensors weights (default: random weights of the config's shapes)\n"
            "  --threads N       matmul threads (default 1)\n"
            "  --dtype D         f32, bf16 or f16 weights (default: f32, or as stored with --weights)\n"
            "  --tokens N        decode steps to time (default 32)\n"
            "  --prompt N        prompt tokens for the prefill timing (default 16)\n"
            "  --device D        cpu or cuda (default cpu; cuda replays the decode step as a graph)\n"
            "  --json            one JSON object on stdout\n");
}

/* TinyLlama-1.1B (Llama 2 architecture, GQA 32/4). */
static wt_llama_config tinyllama_shapes(void) {
    wt_llama_config c = {2048, 5632, 22, 32, 4, 64, 32000, 2048, 1e-5, 10000.0, false, 1, 2};
    return c;
}

static int bench_llama(int argc, char **argv) {
    const char *config = NULL, *weights = NULL, *device = "cpu";
    int64_t threads = 1, tokens = 32, prompt = 16;
    wt_dtype dtype = WT_DTYPE_COUNT;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            bench_llama_usage(stdout);
            return WT_EXIT_OK;
        }
        if (!strcmp(o, "--json")) {
            json = true;
            continue;
        }
        if (o[0] != '-') return wt_cli_fail(WT_EXIT_USAGE, "bench llama: unexpected argument '%s'", o);
        if (i + 1 >= argc) return wt_cli_fail(WT_EXIT_USAGE, "bench llama: option %s needs a value", o);
        const char *v = argv[++i];
        int64_t iv;
        if (!strcmp(o, "--config")) config = v;
        else if (!strcmp(o, "--weights")) weights = v;
        else if (!strcmp(o, "--device")) {
            if (strcmp(v, "cpu") && strcmp(v, "cuda"))
                return wt_cli_fail(WT_EXIT_USAGE, "bench llama: --device must be cpu or cuda, got '%s'", v);
            device = v;
        }
        else if (!strcmp(o, "--dtype")) {
            if (wt_dtype_parse(v, &dtype) || (dtype != WT_F32 && dtype != WT_F16 && dtype != WT_BF16))
                return wt_cli_fail(WT_EXIT_USAGE, "bench llama: --dtype must be f32, bf16 or f16, got '%s'", v);
        } else if (!strcmp(o, "--threads") || !strcmp(o, "--tokens") || !strcmp(o, "--prompt")) {
            if (!wt_cli_parse_i64(v, &iv) || iv < 1 || iv > 1000000)
                return wt_cli_fail(WT_EXIT_USAGE, "bench llama: %s needs a positive integer, got '%s'", o, v);
            if (!strcmp(o, "--threads")) threads = iv;
            else if (!strcmp(o, "--tokens")) tokens = iv;
            else prompt = iv;
        } else {
            return wt_cli_fail(WT_EXIT_USAGE, "bench llama: unknown option '%s' (see --help)", o);
        }
    }
    if (threads > 64) return wt_cli_fail(WT_EXIT_USAGE, "bench llama: --threads above 64");

    wt_llama_config cfg = tinyllama_shapes();
    if (config && wt_llama_config_load(config, &cfg) != WT_OK)
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    /* The cache only needs the benchmarked positions; a short context keeps
     * the dry run that plans the step arena cheap. */
    int64_t need = prompt + tokens;
    if (need > cfg.max_pos)
        return wt_cli_fail(WT_EXIT_USAGE, "bench llama: --prompt + --tokens = %lld exceeds the context of %lld",
                           (long long)need, (long long)cfg.max_pos);
    wt_llama_options opt = wt_llama_options_default();
    opt.context = need;
    opt.threads = (int)threads;
    opt.dtype = weights ? dtype : (dtype == WT_DTYPE_COUNT ? WT_F32 : dtype);
    opt.backend = wt_backend_by_name(device);
    if (!opt.backend)
        return wt_cli_fail(WT_EXIT_RUNTIME, "bench llama: device '%s' is not available (no CUDA build or no device)",
                           device);
    bool host = !strcmp(device, "cpu");
    double t0 = now_s();
    wt_llama *m = weights ? wt_llama_new(&cfg, weights, &opt) : wt_llama_new_random(&cfg, 1234, &opt);
    if (!m) return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    double load_s = now_s() - t0;

    int32_t *ids = malloc((size_t)prompt * sizeof *ids);
    if (!ids) {
        wt_llama_free(m);
        return wt_cli_fail(WT_EXIT_RUNTIME, "out of memory");
    }
    uint64_t r = 88172645463325252ull;
    for (int64_t i = 0; i < prompt; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        ids[i] = i == 0 ? (int32_t)cfg.bos : (int32_t)(3 + r % (uint64_t)(cfg.vocab > 3 ? cfg.vocab - 3 : 1));
    }
    t0 = now_s();
    wt_status st = wt_llama_prefill(m, ids, prompt, NULL);
    double prefill_s = now_s() - t0;
    int32_t tok = wt_llama_argmax(wt_llama_logits(m), cfg.vocab);
    t0 = now_s();
    for (int64_t i = 0; i < tokens && st == WT_OK; i++) {
        st = wt_llama_step(m, tok);
        tok = wt_llama_argmax(wt_llama_logits(m), cfg.vocab);
    }
    double decode_s = now_s() - t0;
    free(ids);
    if (st != WT_OK) {
        wt_llama_free(m);
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    }
    double wbytes = (double)wt_llama_weight_bytes(m);
    bool graphs = wt_llama_graphs(m);
    wt_llama_free(m);
    /* the host copy loop is the CPU's bound only */
    double bw = host ? copy_bandwidth((int)threads, (size_t)256 << 20) : 0.0;

    double prefill_tps = (double)prompt / prefill_s, decode_tps = (double)tokens / decode_s;
    double wgbs = wbytes * decode_tps / 1e9;
    const char *dname = opt.dtype == WT_DTYPE_COUNT ? "stored" : wt_dtype_name(opt.dtype);
    if (json) {
        printf("{\"model\": \"%s\", \"weights\": \"%s\", \"dtype\": \"%s\", \"device\": \"%s\", "
               "\"graphs\": %s, \"threads\": %lld, "
               "\"params\": %lld, \"weight_bytes\": %.0f, \"load_s\": %.3f, "
               "\"prompt_tokens\": %lld, \"decode_tokens\": %lld, "
               "\"prefill_tok_s\": %.3f, \"decode_tok_s\": %.3f, \"decode_ms_per_tok\": %.4f, "
               "\"weights_gb_s\": %.3f, \"mem_copy_gb_s\": %.3f, \"bandwidth_fraction\": %.3f}\n",
               config ? config : "tinyllama-1.1b-shapes", weights ? weights : "random", dname, device,
               graphs ? "true" : "false", (long long)threads, (long long)wt_llama_param_count(&cfg), wbytes, load_s,
               (long long)prompt, (long long)tokens, prefill_tps, decode_tps, 1e3 / decode_tps, wgbs,
               bw, bw > 0 ? wgbs / bw : 0.0);
    } else {
        printf("llama %s, %s weights (%s), %lld params, %.1f MB of weights per token, ",
               config ? config : "tinyllama-1.1b shapes", weights ? weights : "random", dname,
               (long long)wt_llama_param_count(&cfg), wbytes / 1e6);
        if (host) printf("%lld thread%s\n", (long long)threads, threads > 1 ? "s" : "");
        else printf("%s, %s\n", device, graphs ? "decode replayed as a graph" : "eager decode");
        printf("  prefill: %lld tokens, %.1f tok/s\n", (long long)prompt, prefill_tps);
        printf("  decode:  %lld tokens, %.1f tok/s (%.3f ms/token)\n", (long long)tokens, decode_tps,
               1e3 / decode_tps);
        if (host)
            printf("  weights streamed: %.2f GB/s; memory copy loop: %.2f GB/s (read+write); %.0f%%\n",
                   wgbs, bw, bw > 0 ? 100 * wgbs / bw : 0.0);
        else
            printf("  weights streamed: %.2f GB/s\n", wgbs);
    }
    return WT_EXIT_OK;
}

int wt_cmd_bench(int argc, char **argv) {
    if (argc < 2) return wt_cli_fail(WT_EXIT_USAGE, "bench: which model? (usage: wavetensor bench llama|mimi|demucs [options])");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        printf("usage: wavetensor bench llama|mimi|demucs [options] (see bench MODEL --help)\n");
        return WT_EXIT_OK;
    }
    if (!strcmp(argv[1], "llama")) return bench_llama(argc - 1, argv + 1);
    if (!strcmp(argv[1], "mimi")) return wt_cmd_bench_mimi(argc - 1, argv + 1);
    if (!strcmp(argv[1], "demucs")) return wt_cmd_bench_demucs(argc - 1, argv + 1);
    return wt_cli_fail(WT_EXIT_USAGE, "bench: unknown model '%s' (try: llama, mimi, demucs)", argv[1]);
}
