/* `wavetensor llama generate`: text or token ids in, tokens out, from a
 * Hugging Face style Llama checkpoint directory. Statistics go to stderr so
 * that stdout holds only the generated text (or ids with --ids). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cmd_llama.h"
#include "wavetensor/llama.h"
#include "wavetensor/wavetensor.h"

bool wt_cli_parse_i64(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0') return false;
    *out = v;
    return true;
}

bool wt_cli_parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v)) return false;
    *out = v;
    return true;
}

static void generate_usage(FILE *f) {
    fprintf(f,
            "usage: wavetensor llama generate --model DIR [options]\n"
            "  --model DIR         directory with config.json and model.safetensors\n"
            "                      (and tokenizer.json or tokenizer.bin for text)\n"
            "  --weights FILE      weights file instead of DIR/model.safetensors\n"
            "  --config FILE       config instead of DIR/config.json\n"
            "  --tokenizer FILE    tokenizer.json or llama2.c tokenizer.bin\n"
            "  --prompt TEXT       prompt text (BOS is prepended)\n"
            "  --prompt-ids \"1 2\"  prompt token ids (used as given); default: BOS\n"
            "  -n N                tokens to generate (default 64)\n"
            "  --temperature T     0 = greedy (default 0)\n"
            "  --top-p P           nucleus mass when T > 0 (default 0.9)\n"
            "  --seed S            sampling seed (default 1)\n"
            "  --threads N         matmul threads (default 1)\n"
            "  --context N         KV cache length (default max_position_embeddings)\n"
            "  --dtype D           f32, f16 or bf16 weights (default: as stored)\n"
            "  --device D          cpu or cuda (default cpu)\n"
            "  --ids               print the generated ids on one line, nothing else\n"
            "generation stops after N tokens, or on BOS or EOS (not printed);\n"
            "prompt and decode speed (tok/s) are printed on stderr\n");
}

typedef struct gen_args {
    const char *model, *weights, *config, *tokenizer, *prompt, *prompt_ids, *device;
    int64_t n, seed, threads, context;
    double temperature, top_p;
    wt_dtype dtype;
    bool ids;
} gen_args;

/* Parses argv into a; returns -1 when ok, else the exit code (after printing). */
static int parse_generate(int argc, char **argv, gen_args *a) {
    *a = (gen_args){NULL, NULL, NULL, NULL, NULL, NULL, "cpu", 64, 1, 1, 0, 0.0, 0.9, WT_DTYPE_COUNT, false};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            generate_usage(stdout);
            return WT_EXIT_OK;
        }
        if (!strcmp(o, "--ids")) {
            a->ids = true;
            continue;
        }
        if (o[0] != '-')
            return wt_cli_fail(WT_EXIT_USAGE, "llama generate: unexpected argument '%s'", o);
        if (i + 1 >= argc)
            return wt_cli_fail(WT_EXIT_USAGE, "llama generate: option %s needs a value", o);
        const char *v = argv[++i];
        int64_t iv;
        double dv;
        if (!strcmp(o, "--model")) a->model = v;
        else if (!strcmp(o, "--weights")) a->weights = v;
        else if (!strcmp(o, "--config")) a->config = v;
        else if (!strcmp(o, "--tokenizer")) a->tokenizer = v;
        else if (!strcmp(o, "--prompt")) a->prompt = v;
        else if (!strcmp(o, "--prompt-ids")) a->prompt_ids = v;
        else if (!strcmp(o, "-n") || !strcmp(o, "--tokens")) {
            if (!wt_cli_parse_i64(v, &iv) || iv < 1)
                return wt_cli_fail(WT_EXIT_USAGE, "llama generate: -n needs a positive integer, got '%s'", v);
            a->n = iv;
        } else if (!strcmp(o, "--seed")) {
            if (!wt_cli_parse_i64(v, &iv) || iv < 0)
                return wt_cli_fail(WT_EXIT_USAGE, "llama generate: --seed needs an integer >= 0, got '%s'", v);
            a->seed = iv;
        } else if (!strcmp(o, "--threads")) {
            if (!wt_cli_parse_i64(v, &iv) || iv < 1 || iv > 256)
                return wt_cli_fail(WT_EXIT_USAGE, "llama generate: --threads needs 1..256, got '%s'", v);
            a->threads = iv;
        } else if (!strcmp(o, "--context")) {
            if (!wt_cli_parse_i64(v, &iv) || iv < 1)
                return wt_cli_fail(WT_EXIT_USAGE, "llama generate: --context needs a positive integer, got '%s'", v);
            a->context = iv;
        } else if (!strcmp(o, "--temperature")) {
            if (!wt_cli_parse_double(v, &dv) || dv < 0)
                return wt_cli_fail(WT_EXIT_USAGE, "llama generate: --temperature needs a number >= 0, got '%s'", v);
            a->temperature = dv;
        } else if (!strcmp(o, "--top-p")) {
            if (!wt_cli_parse_double(v, &dv) || dv <= 0 || dv > 1)
                return wt_cli_fail(WT_EXIT_USAGE, "llama generate: --top-p needs a number in (0, 1], got '%s'", v);
            a->top_p = dv;
        } else if (!strcmp(o, "--dtype")) {
            if (wt_dtype_parse(v, &a->dtype) || (a->dtype != WT_F32 && a->dtype != WT_F16 && a->dtype != WT_BF16))
                return wt_cli_fail(WT_EXIT_USAGE, "llama generate: --dtype must be f32, f16 or bf16, got '%s'", v);
        } else if (!strcmp(o, "--device")) {
            if (strcmp(v, "cpu") && strcmp(v, "cuda"))
                return wt_cli_fail(WT_EXIT_USAGE, "llama generate: --device must be cpu or cuda, got '%s'", v);
            a->device = v;
        } else {
            return wt_cli_fail(WT_EXIT_USAGE, "llama generate: unknown option '%s' (see --help)", o);
        }
    }
    if (!a->model && !(a->config && a->weights))
        return wt_cli_fail(WT_EXIT_USAGE, "llama generate: --model DIR is required (or --config and --weights)");
    if (a->prompt && a->prompt_ids)
        return wt_cli_fail(WT_EXIT_USAGE, "llama generate: give --prompt or --prompt-ids, not both");
    return -1;
}

/* "1 2 3" (spaces, tabs, commas) -> ids; false on anything else. */
static bool parse_ids(const char *s, int32_t **ids, int64_t *n) {
    int64_t cap = 16, k = 0;
    int32_t *v = malloc((size_t)cap * sizeof *v);
    if (!v) return false;
    while (*s) {
        if (*s == ' ' || *s == '\t' || *s == ',' || *s == '\n') {
            s++;
            continue;
        }
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (end == s || errno || x < INT32_MIN || x > INT32_MAX ||
            (*end && *end != ' ' && *end != '\t' && *end != ',' && *end != '\n')) {
            free(v);
            return false;
        }
        if (k == cap) {
            int32_t *nv = realloc(v, (size_t)(cap *= 2) * sizeof *v);
            if (!nv) {
                free(v);
                return false;
            }
            v = nv;
        }
        v[k++] = (int32_t)x;
        s = end;
    }
    *ids = v;
    *n = k;
    return k > 0;
}

static bool file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

typedef struct emit_state {
    const wt_llama_tokenizer *tok;
    int32_t prev;
    bool ids;
} emit_state;

static bool emit_text(void *user, int32_t id) {
    emit_state *e = user;
    if (e->ids) return true;
    if (e->tok) {
        size_t len;
        const char *piece = wt_llama_decode(e->tok, e->prev, id, &len);
        if (piece) fwrite(piece, 1, len, stdout);
    } else {
        printf("%d ", id);
    }
    fflush(stdout);
    e->prev = id;
    return true;
}

static wt_llama_tokenizer *open_tokenizer(const gen_args *a, int64_t vocab, bool *tried) {
    char path[4096];
    *tried = false;
    if (a->tokenizer) {
        *tried = true;
        size_t l = strlen(a->tokenizer);
        if (l >= 5 && !strcmp(a->tokenizer + l - 5, ".json"))
            return wt_llama_tokenizer_load_json(a->tokenizer);
        return wt_llama_tokenizer_load_bin(a->tokenizer, vocab);
    }
    if (!a->model) return NULL;
    snprintf(path, sizeof path, "%s/tokenizer.json", a->model);
    if (file_exists(path)) {
        *tried = true;
        return wt_llama_tokenizer_load_json(path);
    }
    snprintf(path, sizeof path, "%s/tokenizer.bin", a->model);
    if (file_exists(path)) {
        *tried = true;
        return wt_llama_tokenizer_load_bin(path, vocab);
    }
    return NULL;
}

static int cmd_generate(int argc, char **argv) {
    gen_args a;
    int rc = parse_generate(argc, argv, &a);
    if (rc >= 0) return rc;
    int32_t *prompt = NULL;
    int64_t np = 0;
    if (a.prompt_ids && !parse_ids(a.prompt_ids, &prompt, &np))
        return wt_cli_fail(WT_EXIT_USAGE, "llama generate: --prompt-ids needs integers separated by spaces, got '%s'",
                           a.prompt_ids);

    char cpath[4096], wpath[4096];
    if (a.config) snprintf(cpath, sizeof cpath, "%s", a.config);
    else snprintf(cpath, sizeof cpath, "%s/config.json", a.model);
    if (a.weights) snprintf(wpath, sizeof wpath, "%s", a.weights);
    else snprintf(wpath, sizeof wpath, "%s/model.safetensors", a.model);

    wt_llama_config cfg;
    wt_llama *m = NULL;
    wt_llama_tokenizer *tok = NULL;
    wt_llama_sampler *smp = NULL;
    int32_t *out = NULL;
    rc = WT_EXIT_OK;
    if (wt_llama_config_load(cpath, &cfg) != WT_OK) {
        rc = wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
        goto done;
    }
    bool tried;
    tok = open_tokenizer(&a, cfg.vocab, &tried);
    if (tried && !tok) {
        rc = wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
        goto done;
    }
    if (a.prompt) {
        if (!tok) {
            rc = wt_cli_fail(WT_EXIT_RUNTIME,
                             "llama generate: --prompt needs a tokenizer (tokenizer.json or tokenizer.bin in the model directory, or --tokenizer)");
            goto done;
        }
        int64_t cap = (int64_t)strlen(a.prompt) * 4 + 8;
        prompt = malloc((size_t)cap * sizeof *prompt);
        if (!prompt || wt_llama_encode(tok, a.prompt, true, prompt, cap, &np) != WT_OK) {
            rc = wt_cli_fail(WT_EXIT_RUNTIME, "%s", prompt ? wt_last_error() : "out of memory");
            goto done;
        }
    }
    if (!prompt) {
        prompt = malloc(sizeof *prompt);
        if (!prompt) {
            rc = wt_cli_fail(WT_EXIT_RUNTIME, "out of memory");
            goto done;
        }
        prompt[0] = (int32_t)cfg.bos;
        np = 1;
    }
    int64_t context = a.context ? a.context : cfg.max_pos;
    if (context > cfg.max_pos) {
        rc = wt_cli_fail(WT_EXIT_USAGE, "llama generate: --context %lld is above max_position_embeddings %lld",
                         (long long)context, (long long)cfg.max_pos);
        goto done;
    }
    int64_t steps = np + a.n - 1;
    if (np > context || steps > context) {
        rc = wt_cli_fail(WT_EXIT_RUNTIME,
                         "llama generate: prompt of %lld tokens + %lld new tokens does not fit the context of %lld",
                         (long long)np, (long long)a.n, (long long)context);
        goto done;
    }
    wt_llama_options opt = wt_llama_options_default();
    opt.dtype = a.dtype;
    opt.context = context;
    opt.threads = (int)a.threads;
    opt.backend = wt_backend_by_name(a.device);
    if (!opt.backend) {
        rc = wt_cli_fail(WT_EXIT_RUNTIME, "llama generate: device '%s' is not available (no CUDA build or no device)",
                         a.device);
        goto done;
    }
    m = wt_llama_new(&cfg, wpath, &opt);
    smp = wt_llama_sampler_new(cfg.vocab, (float)a.temperature, (float)a.top_p, (uint64_t)a.seed);
    out = malloc((size_t)a.n * sizeof *out);
    if (!m || !smp || !out) {
        rc = wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
        goto done;
    }
    emit_state es = {tok, prompt[np - 1], a.ids};
    wt_llama_gen r;
    if (wt_llama_generate(m, prompt, np, steps, smp, true, out, a.n, emit_text, &es, &r) != WT_OK) {
        if (!a.ids) putchar('\n');
        rc = wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
        goto done;
    }
    if (a.ids) {
        for (int64_t i = 0; i < r.n_generated; i++) printf(i ? " %d" : "%d", out[i]);
    }
    putchar('\n');
    fflush(stdout);
    int64_t ndec = r.n_generated > 1 ? r.n_generated - 1 : 0;
    if (strcmp(a.device, "cpu"))
        fprintf(stderr, "prompt: %lld tokens, %.1f tok/s; generated: %lld tokens, %.1f tok/s (%s%s)\n",
                (long long)np, r.prefill_s > 0 ? (double)np / r.prefill_s : 0.0, (long long)r.n_generated,
                r.decode_s > 0 ? (double)ndec / r.decode_s : 0.0, a.device,
                wt_llama_graphs(m) ? ", graph replay" : ", eager");
    else
        fprintf(stderr, "prompt: %lld tokens, %.1f tok/s; generated: %lld tokens, %.1f tok/s (%d thread%s)\n",
                (long long)np, r.prefill_s > 0 ? (double)np / r.prefill_s : 0.0, (long long)r.n_generated,
                r.decode_s > 0 ? (double)ndec / r.decode_s : 0.0, (int)a.threads, a.threads > 1 ? "s" : "");
done:
    free(out);
    free(prompt);
    wt_llama_sampler_free(smp);
    wt_llama_tokenizer_free(tok);
    wt_llama_free(m);
    return rc;
}

int wt_cmd_llama(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: wavetensor llama generate --model DIR [options] (see llama generate --help)\n");
        return argc < 2 ? WT_EXIT_USAGE : WT_EXIT_OK;
    }
    if (!strcmp(argv[1], "generate")) return cmd_generate(argc - 1, argv + 1);
    return wt_cli_fail(WT_EXIT_USAGE, "llama: unknown subcommand '%s' (try: generate)", argv[1]);
}
