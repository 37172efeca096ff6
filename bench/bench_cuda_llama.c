/* GPU benchmark of wt_llama on the CUDA backend (the model itself, not a
 * copy of its forward pass). Prints "skipped: no CUDA device" and exits 0
 * without a device or without a CUDA build.
 *
 * Rows: TinyLlama-1.1B shapes (22 layers, dim 2048, 32 heads, 4 kv heads,
 * FFN 5632, vocab 32000) with random weights in bf16, f16 and f32: the
 * prefill rate of a 512-token prompt (one batched chunk), then decode steps
 * after that prompt, eager and replayed as a CUDA graph, with the GB/s of
 * weights one step streams; and stories260K from ../shared/golden/llama
 * (its f32 file), decode eager and replayed. A decode step is timed as a
 * caller sees it: upload of token and position, the step, download of the
 * logits (so a step ends synchronised). Nothing is estimated.
 *
 * Usage: bench_cuda_llama [--tokens N] [--prompt N] [--dtype D] [--golden DIR] [--json]
 * (--dtype bf16|f16|f32 keeps one TinyLlama row; --prompt sets its prompt,
 * default 512). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wavetensor/llama.h"
#include "wavetensor/wavetensor.h"

typedef struct row {
    char name[64];
    const char *dtype;
    double load_s, prefill_tok_s, eager_tok_s, graph_tok_s, weight_gb, eager_gb_s, graph_gb_s;
    int64_t prompt, tokens;
    bool graphs; /* replay really used (false with WT_GRAPHS=0) */
} row;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static wt_llama_config tinyllama_shapes(void) {
    wt_llama_config c = {.hidden = 2048, .intermediate = 5632, .layers = 22, .heads = 32,
                         .kv_heads = 4, .head_dim = 64, .vocab = 32000, .max_pos = 2048,
                         .rms_eps = 1e-5, .rope_theta = 10000.0, .tie_embeddings = false,
                         .bos = 1, .eos = 2};
    return c;
}

/* A prompt of n ids: BOS then pseudo-random ids of the vocabulary. */
static void make_prompt(int32_t *ids, int64_t n, int64_t vocab) {
    uint64_t r = 88172645463325252ull;
    for (int64_t i = 0; i < n; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        ids[i] = i == 0 ? 1 : (int32_t)(3 + r % (uint64_t)(vocab - 3));
    }
}

/* tokens greedy decode steps after a prefill of ids[0..np); tok/s. */
static double time_decode(wt_llama *m, const int32_t *ids, int64_t np, int64_t tokens) {
    int64_t V = wt_llama_cfg(m)->vocab;
    wt_llama_reset(m);
    if (wt_llama_prefill(m, ids, np, NULL) != WT_OK) return -1;
    int32_t tok = wt_llama_argmax(wt_llama_logits(m), V);
    /* warm-up and capture: the first two steps of a graph run the step eagerly */
    for (int i = 0; i < 2; i++) {
        if (wt_llama_step(m, tok) != WT_OK) return -1;
        tok = wt_llama_argmax(wt_llama_logits(m), V);
    }
    double t0 = now_s();
    for (int64_t i = 0; i < tokens; i++) {
        if (wt_llama_step(m, tok) != WT_OK) return -1;
        tok = wt_llama_argmax(wt_llama_logits(m), V);
    }
    return (double)tokens / (now_s() - t0);
}

/* Prefill rate of np tokens (after one untimed prefill: library warm-up). */
static double time_prefill(wt_llama *m, const int32_t *ids, int64_t np) {
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        wt_llama_reset(m);
        double t0 = now_s();
        if (wt_llama_prefill(m, ids, np, NULL) != WT_OK) return -1;
        double r = (double)np / (now_s() - t0);
        if (rep > 0 && r > best) best = r;
    }
    return best;
}

/* One model: load, prefill of np tokens, decode eager then replayed. */
static int bench_model(const wt_backend *be, const wt_llama_config *cfg, const char *weights,
                       wt_dtype dtype, int64_t np, int64_t tokens, row *r) {
    wt_llama_options o = wt_llama_options_default();
    o.backend = be;
    o.dtype = dtype;
    o.context = np + tokens + 2;
    o.prefill_chunk = np;
    o.graphs = false;
    double t0 = now_s();
    wt_llama *m = weights ? wt_llama_new(cfg, weights, &o) : wt_llama_new_random(cfg, 1234, &o);
    if (!m) return -1;
    r->load_s = now_s() - t0;
    int32_t *ids = malloc((size_t)np * sizeof *ids);
    if (!ids) {
        wt_llama_free(m);
        return -1;
    }
    make_prompt(ids, np, cfg->vocab);
    r->prompt = np;
    r->tokens = tokens;
    r->weight_gb = (double)wt_llama_weight_bytes(m) / 1e9;
    r->prefill_tok_s = time_prefill(m, ids, np);
    r->eager_tok_s = time_decode(m, ids, np, tokens);
    int ok = r->prefill_tok_s > 0 && r->eager_tok_s > 0 && wt_llama_set_graphs(m, true) == WT_OK;
    r->graphs = wt_llama_graphs(m);
    r->graph_tok_s = ok ? time_decode(m, ids, np, tokens) : -1;
    ok = ok && r->graph_tok_s > 0;
    r->eager_gb_s = r->weight_gb * r->eager_tok_s;
    r->graph_gb_s = r->weight_gb * r->graph_tok_s;
    free(ids);
    wt_llama_free(m);
    return ok ? 0 : -1;
}

static void print_row(const row *r, bool json, bool first) {
    if (json) {
        printf("%s{\"model\": \"%s\", \"dtype\": \"%s\", \"load_s\": %.3f, \"prompt_tokens\": %lld, "
               "\"prefill_tok_s\": %.1f, \"decode_tokens\": %lld, \"decode_eager_tok_s\": %.2f, "
               "\"decode_graph_tok_s\": %.2f, \"graphs\": %s, \"weight_gb_per_token\": %.4f, "
               "\"eager_weights_gb_s\": %.2f, \"graph_weights_gb_s\": %.2f}",
               first ? "" : ",\n  ", r->name, r->dtype, r->load_s, (long long)r->prompt,
               r->prefill_tok_s, (long long)r->tokens, r->eager_tok_s, r->graph_tok_s,
               r->graphs ? "true" : "false", r->weight_gb, r->eager_gb_s, r->graph_gb_s);
        return;
    }
    printf("%-22s %-5s prefill %5lld tok: %9.1f tok/s | decode eager %8.1f tok/s (%6.1f GB/s) | "
           "graph%s %8.1f tok/s (%6.1f GB/s) | %.3f GB/token, load %.1f s\n",
           r->name, r->dtype, (long long)r->prompt, r->prefill_tok_s, r->eager_tok_s, r->eager_gb_s,
           r->graphs ? "" : " (off)", r->graph_tok_s, r->graph_gb_s, r->weight_gb, r->load_s);
    fflush(stdout);
}

/* ../shared/golden next to the source tree this file was built from. */
static void default_golden(char *buf, size_t n) {
    const char *src = __FILE__, *slash = strrchr(src, '/');
    if (!slash) {
        snprintf(buf, n, "../shared/golden");
        return;
    }
    snprintf(buf, n, "%.*s/../../shared/golden", (int)(slash - src), src);
}

int main(int argc, char **argv) {
    int64_t tokens = 128, prompt = 512;
    const char *only = NULL;
    bool json = false;
    char golden[1024];
    default_golden(golden, sizeof golden);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) tokens = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--prompt") && i + 1 < argc) prompt = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--dtype") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--golden") && i + 1 < argc) snprintf(golden, sizeof golden, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: bench_cuda_llama [--tokens N] [--prompt N] [--dtype D] [--golden DIR] [--json]\n");
            return 2;
        }
    }
    if (tokens < 1 || tokens > 1024 || prompt < 1 || prompt > 1024) {
        fprintf(stderr, "bench_cuda_llama: --tokens and --prompt must be 1..1024\n");
        return 2;
    }
    if (only && strcmp(only, "bf16") && strcmp(only, "f16") && strcmp(only, "f32")) {
        fprintf(stderr, "bench_cuda_llama: --dtype must be bf16, f16 or f32\n");
        return 2;
    }
    const wt_backend *be = wt_backend_by_name("cuda");
    if (!be) {
        printf("skipped: no CUDA device\n");
        return 0;
    }
    if (!json) printf("wt_llama on CUDA (device %s); TinyLlama decode timed after a %lld-token prompt\n",
                      getenv("WT_CUDA_DEVICE") ? getenv("WT_CUDA_DEVICE") : "0", (long long)prompt);
    else printf("{\"rows\": [");

    int rc = 0, nrows = 0;
    wt_llama_config tl = tinyllama_shapes();
    const wt_dtype dts[3] = {WT_BF16, WT_F16, WT_F32};
    for (int i = 0; i < 3; i++) {
        if (only && strcmp(only, wt_dtype_name(dts[i]))) continue;
        row r = {.dtype = wt_dtype_name(dts[i])};
        snprintf(r.name, sizeof r.name, "tinyllama-1.1b-shapes");
        if (bench_model(be, &tl, NULL, dts[i], prompt, tokens, &r) != 0) {
            fprintf(stderr, "bench_cuda_llama: tinyllama %s: %s\n", r.dtype, wt_last_error());
            rc = 1;
            continue;
        }
        print_row(&r, json, nrows++ == 0);
    }

    char cpath[1200], wpath[1200];
    snprintf(cpath, sizeof cpath, "%s/llama/stories260K/config.json", golden);
    snprintf(wpath, sizeof wpath, "%s/llama/stories260K/model.safetensors", golden);
    wt_llama_config sc;
    if (only) {
        /* one TinyLlama row asked for */
    } else if (wt_llama_config_load(cpath, &sc) != WT_OK) {
        fprintf(stderr, "bench_cuda_llama: stories260K skipped: %s (use --golden DIR)\n", wt_last_error());
    } else {
        /* its context is 512: a shorter prompt leaves room for the steps */
        int64_t np = 64, nt = tokens < sc.max_pos - np - 2 ? tokens : sc.max_pos - np - 2;
        row r = {.dtype = "f32"};
        snprintf(r.name, sizeof r.name, "stories260K");
        if (bench_model(be, &sc, wpath, WT_F32, np, nt, &r) != 0) {
            fprintf(stderr, "bench_cuda_llama: stories260K: %s\n", wt_last_error());
            rc = 1;
        } else {
            print_row(&r, json, nrows++ == 0);
        }
    }
    if (json) printf("]}\n");
    return rc;
}
