/* `wavetensor selfcheck`: loads the stories260K Llama from the golden data
 * through the weight loader and runs one forward step (token 1 = BOS at
 * position 0) op by op with the public wt_* ops, printing every op's output
 * shape and checksum, then compares the logits with the reference row in
 * logits.safetensors (llama/README.md: absolute tolerance 1e-4) and the
 * argmax with the first generated id of expected.json. Exit 0 only on a match. */
#define _POSIX_C_SOURCE 200809L /* stat */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "wavetensor/wavetensor.h"

/* llama/README.md "Tolerances": stored greedy-case logits, absolute. */
#define SELFCHECK_LOGIT_TOL 1e-4

static void selfcheck_usage(FILE *f) {
    fprintf(f, "usage: wavetensor selfcheck [--golden DIR]\n"
               "  runs one Llama forward step (stories260K, token 1 at position 0) op by op\n"
               "  and compares the logits with the golden reference\n"
               "  --golden DIR   golden data folder (default: ../shared/golden from the current\n"
               "                 directory, then from the source tree)\n");
}

static bool is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The golden folder: the option, else ../shared/golden from the current
 * directory, else from the source tree this file was compiled from
 * (__FILE__ is the absolute path CMake passes to the compiler). */
static bool find_golden(const char *opt, char *out, size_t n) {
    if (opt) {
        snprintf(out, n, "%s", opt);
        return is_dir(out);
    }
    snprintf(out, n, "../shared/golden");
    if (is_dir(out)) return true;
    const char *src = __FILE__;
    const char *tail = strstr(src, "cli/cmd_selfcheck.c");
    if (tail && src[0] == '/') {
        snprintf(out, n, "%.*s../shared/golden", (int)(tail - src), src);
        if (is_dir(out)) return true;
    }
    snprintf(out, n, "../shared/golden");
    return false;
}

typedef struct {
    wt_ctx *ctx;
    int ok;
} run_state;

/* Prints one op's result: label, dtype, shape, the sum and a position-weighted
 * sum of |x| (which also catches sign flips and permutations the plain sum
 * would miss). */
static wt_tensor *show(run_state *s, const char *label, int layer, wt_tensor *t) {
    if (!s->ok) return NULL;
    if (!t) {
        s->ok = 0;
        return NULL;
    }
    char shape[96], name[64];
    double sum = 0, asum = 0;
    int64_t n = wt_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double v = wt_get_flat(t, i);
        sum += v;
        asum += fabs(v) * (double)((i % 7) + 1);
    }
    if (layer >= 0) snprintf(name, sizeof name, "layers.%d.%s", layer, label);
    else snprintf(name, sizeof name, "%s", label);
    printf("  %-34s %-4s %-11s sum %+.6e  wsum|x| %.6e\n", name, wt_dtype_name(t->dtype),
           wt_shape_str(t, shape, sizeof shape), sum, asum);
    return t;
}

typedef struct {
    int64_t dim, hidden, layers, heads, kv_heads, head_dim, vocab;
    double eps, theta;
} llama_dims;

static int read_dims(const char *path, llama_dims *d) {
    wt_config *c = wt_config_load(path);
    if (!c) return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    wt_status st = WT_OK;
    if (st == WT_OK) st = wt_config_int(c, "hidden_size", &d->dim);
    if (st == WT_OK) st = wt_config_int(c, "intermediate_size", &d->hidden);
    if (st == WT_OK) st = wt_config_int(c, "num_hidden_layers", &d->layers);
    if (st == WT_OK) st = wt_config_int(c, "num_attention_heads", &d->heads);
    if (st == WT_OK) st = wt_config_int(c, "vocab_size", &d->vocab);
    if (st == WT_OK) st = wt_config_double(c, "rms_norm_eps", &d->eps);
    if (st != WT_OK) {
        wt_config_free(c);
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    }
    d->kv_heads = wt_config_int_or(c, "num_key_value_heads", d->heads);
    d->theta = wt_config_double_or(c, "rope_theta", 10000.0);
    d->head_dim = wt_config_int_or(c, "head_dim", d->heads > 0 ? d->dim / d->heads : 0);
    bool tied = wt_config_bool_or(c, "tie_word_embeddings", false);
    wt_config_free(c);
    if (d->heads <= 0 || d->kv_heads <= 0 || d->heads % d->kv_heads || d->head_dim <= 0 ||
        d->head_dim % 2 || d->layers <= 0 || d->vocab <= 1)
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s: inconsistent head counts or sizes", path);
    if (!tied) return wt_cli_fail(WT_EXIT_RUNTIME, "%s: selfcheck expects tied embeddings", path);
    return WT_EXIT_OK;
}

/* One decoder layer for a single token at position 0 (KV cache of one entry:
 * softmax over one key). x [1, D] -> [1, D]. */
static wt_tensor *layer_forward(run_state *s, wt_weights *w, const llama_dims *d, int l,
                                wt_tensor *x, const wt_tensor *pos) {
    wt_ctx *ctx = s->ctx;
    int64_t D = d->dim, H = d->heads, KV = d->kv_heads, hd = d->head_dim, G = H / KV;
    wt_weights_push(w, "model.layers.%d", l);
    wt_tensor *wn1 = wt_weights_get(w, "input_layernorm.weight", 1, (int64_t[]){D});
    wt_tensor *wq = wt_weights_get(w, "self_attn.q_proj.weight", 2, (int64_t[]){H * hd, D});
    wt_tensor *wk = wt_weights_get(w, "self_attn.k_proj.weight", 2, (int64_t[]){KV * hd, D});
    wt_tensor *wv = wt_weights_get(w, "self_attn.v_proj.weight", 2, (int64_t[]){KV * hd, D});
    wt_tensor *wo = wt_weights_get(w, "self_attn.o_proj.weight", 2, (int64_t[]){D, H * hd});
    wt_tensor *wn2 = wt_weights_get(w, "post_attention_layernorm.weight", 1, (int64_t[]){D});
    wt_tensor *wg = wt_weights_get(w, "mlp.gate_proj.weight", 2, (int64_t[]){d->hidden, D});
    wt_tensor *wu = wt_weights_get(w, "mlp.up_proj.weight", 2, (int64_t[]){d->hidden, D});
    wt_tensor *wd = wt_weights_get(w, "mlp.down_proj.weight", 2, (int64_t[]){D, d->hidden});
    wt_weights_pop(w);
    if (!wd) {
        s->ok = 0;
        return NULL;
    }

    wt_tensor *h = show(s, "input_layernorm", l, wt_rms_norm(ctx, x, wn1, (float)d->eps));
    wt_tensor *q = show(s, "q_proj", l, wt_linear(ctx, h, wq, NULL));
    wt_tensor *k = show(s, "k_proj", l, wt_linear(ctx, h, wk, NULL));
    wt_tensor *v = show(s, "v_proj", l, wt_linear(ctx, h, wv, NULL));
    /* [T=1, heads, hd] for rope; HF rotate_half pairs (j, j + hd/2) */
    q = show(s, "rope(q)", l, wt_rope(ctx, wt_reshape(ctx, q, 3, (int64_t[]){1, H, hd}), pos,
                                      (float)d->theta, WT_ROPE_HALVES));
    k = show(s, "rope(k)", l, wt_rope(ctx, wt_reshape(ctx, k, 3, (int64_t[]){1, KV, hd}), pos,
                                      (float)d->theta, WT_ROPE_HALVES));
    /* query head h uses kv head h / G: group the query heads per kv head */
    wt_tensor *qg = wt_reshape(ctx, q, 3, (int64_t[]){KV, G, hd});
    wt_tensor *kt = wt_transpose(ctx, wt_reshape(ctx, k, 3, (int64_t[]){KV, 1, hd}), -1, -2);
    wt_tensor *vg = wt_reshape(ctx, v, 3, (int64_t[]){KV, 1, hd});
    wt_tensor *scores = show(s, "q.k", l, wt_matmul(ctx, qg, kt)); /* [KV, G, 1] */
    wt_tensor *p = show(s, "softmax", l,
                        wt_softmax(ctx, scores, (float)(1.0 / sqrt((double)hd)), NULL,
                                   WT_MASK_NONE, 0));
    wt_tensor *att = show(s, "p.v", l, wt_matmul(ctx, p, vg)); /* [KV, G, hd] */
    att = wt_reshape(ctx, att, 2, (int64_t[]){1, H * hd});
    wt_tensor *o = show(s, "o_proj", l, wt_linear(ctx, att, wo, NULL));
    x = show(s, "residual_attn", l, wt_add(ctx, x, o));
    wt_tensor *h2 = show(s, "post_attention_layernorm", l, wt_rms_norm(ctx, x, wn2, (float)d->eps));
    wt_tensor *g = show(s, "gate_proj", l, wt_linear(ctx, h2, wg, NULL));
    wt_tensor *u = show(s, "up_proj", l, wt_linear(ctx, h2, wu, NULL));
    wt_tensor *a = show(s, "silu(gate)*up", l, wt_mul(ctx, wt_unary(ctx, WT_UNARY_SILU, g, 0), u));
    wt_tensor *dn = show(s, "down_proj", l, wt_linear(ctx, a, wd, NULL));
    return show(s, "residual_mlp", l, wt_add(ctx, x, dn));
}

/* Compares logits with row 0 of the reference case and the argmax with the
 * case's first generated id. */
static int compare(const char *golden, const float *logits, int64_t vocab, int64_t argmax) {
    char path[1200];
    snprintf(path, sizeof path, "%s/llama/stories260K/expected.json", golden);
    wt_config *c = wt_config_load(path);
    if (!c) return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    const char *tensor = NULL;
    int64_t prompt0 = -1, first = -1;
    wt_status st = wt_config_string(c, "cases.0.logits.tensor", &tensor);
    if (st == WT_OK) st = wt_config_int(c, "cases.0.prompt.0", &prompt0);
    if (st == WT_OK) st = wt_config_int(c, "cases.0.generated.0", &first);
    if (st != WT_OK) {
        wt_config_free(c);
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    }
    bool single_bos = !wt_config_has(c, "cases.0.prompt.1") && prompt0 == 1;
    char tname[128];
    snprintf(tname, sizeof tname, "%s", tensor);
    wt_config_free(c);
    if (!single_bos)
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s: case 0 is not the BOS-only prompt", path);

    snprintf(path, sizeof path, "%s/llama/stories260K/logits.safetensors", golden);
    wt_st_file *f = wt_st_open(path);
    if (!f) return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    const wt_st_entry *e = wt_st_find(f, tname);
    if (!e || e->dtype != WT_F32 || e->ndim != 2 || e->shape[1] != vocab || e->shape[0] < 1) {
        wt_st_close(f);
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s: no F32 [positions, %lld] tensor '%s'", path,
                           (long long)vocab, tname);
    }
    double worst = 0;
    int64_t worst_i = 0;
    for (int64_t i = 0; i < vocab; i++) {
        float r;
        memcpy(&r, (const char *)e->data + 4 * i, 4);
        double dlt = fabs((double)logits[i] - (double)r);
        if (!(dlt <= worst)) {
            worst = dlt;
            worst_i = i;
        }
    }
    wt_st_close(f);
    printf("argmax %lld (expected %lld), max |logit - reference| %.3e at %lld (tolerance %.0e)\n",
           (long long)argmax, (long long)first, worst, (long long)worst_i, SELFCHECK_LOGIT_TOL);
    if (!(worst <= SELFCHECK_LOGIT_TOL))
        return wt_cli_fail(WT_EXIT_RUNTIME, "selfcheck failed: logit %lld differs by %.3e from the reference",
                           (long long)worst_i, worst);
    if (argmax != first)
        return wt_cli_fail(WT_EXIT_RUNTIME, "selfcheck failed: argmax %lld, expected %lld",
                           (long long)argmax, (long long)first);
    printf("selfcheck ok\n");
    return WT_EXIT_OK;
}

static int run_forward(const char *golden) {
    char path[1200];
    llama_dims d;
    snprintf(path, sizeof path, "%s/llama/stories260K/config.json", golden);
    int rc = read_dims(path, &d);
    if (rc != WT_EXIT_OK) return rc;
    wt_ctx *wctx = wt_ctx_new_heap(NULL); /* weights */
    wt_ctx *ctx = wt_ctx_new_heap(NULL);  /* activations */
    if (!wctx || !ctx) {
        wt_ctx_free(wctx);
        wt_ctx_free(ctx);
        return wt_cli_fail(WT_EXIT_RUNTIME, "out of memory");
    }
    snprintf(path, sizeof path, "%s/llama/stories260K/model.safetensors", golden);
    wt_weights *w = wt_weights_open(path, wctx, WT_F32);
    if (!w) {
        wt_ctx_free(wctx);
        wt_ctx_free(ctx);
        return wt_cli_fail(WT_EXIT_RUNTIME, "%s", wt_last_error());
    }
    printf("stories260K: dim %lld, hidden %lld, %lld layers, %lld heads (%lld kv), head_dim %lld, vocab %lld\n",
           (long long)d.dim, (long long)d.hidden, (long long)d.layers, (long long)d.heads,
           (long long)d.kv_heads, (long long)d.head_dim, (long long)d.vocab);
    printf("forward: token 1 at position 0\n");
    run_state s = {ctx, 1};
    wt_tensor *emb = wt_weights_get(w, "model.embed_tokens.weight", 2, (int64_t[]){d.vocab, d.dim});
    wt_tensor *norm = wt_weights_get(w, "model.norm.weight", 1, (int64_t[]){d.dim});
    wt_tensor *ids = wt_tensor_new1(ctx, WT_I64, 1);
    wt_tensor *pos = wt_tensor_new1(ctx, WT_I64, 1);
    int64_t argmax = -1;
    if (emb && norm && ids && pos) {
        ((int64_t *)ids->data)[0] = 1;
        ((int64_t *)pos->data)[0] = 0;
        wt_tensor *x = show(&s, "embed_tokens", -1, wt_index_select(ctx, emb, 0, ids)); /* [1, D] */
        for (int l = 0; l < d.layers && s.ok; l++) x = layer_forward(&s, w, &d, l, x, pos);
        x = show(&s, "norm", -1, wt_rms_norm(ctx, x, norm, (float)d.eps));
        /* tied classifier: logits = x E^T */
        wt_tensor *logits = show(&s, "logits (tied embed)", -1, wt_linear(ctx, x, emb, NULL));
        wt_tensor *am = show(&s, "argmax", -1, wt_reduce(ctx, WT_REDUCE_ARGMAX, logits, -1, false));
        if (s.ok) {
            argmax = ((const int64_t *)am->data)[0];
            wt_tensor *lc = wt_contiguous(ctx, logits);
            if (lc) rc = compare(golden, lc->data, d.vocab, argmax);
            else s.ok = 0;
        }
    } else {
        s.ok = 0;
    }
    if (!s.ok) {
        const char *why = wt_ctx_status(wctx) != WT_OK ? wt_ctx_error(wctx) : wt_ctx_error(ctx);
        rc = wt_cli_fail(WT_EXIT_RUNTIME, "selfcheck failed: %s", why[0] ? why : wt_last_error());
    }
    wt_weights_close(w);
    wt_ctx_free(ctx);
    wt_ctx_free(wctx);
    return rc;
}

int wt_cmd_selfcheck(int argc, char **argv) {
    const char *golden_opt = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            selfcheck_usage(stdout);
            return WT_EXIT_OK;
        }
        if (!strcmp(argv[i], "--golden")) {
            if (i + 1 >= argc) return wt_cli_fail(WT_EXIT_USAGE, "selfcheck: --golden needs a folder");
            golden_opt = argv[++i];
            continue;
        }
        if (!strncmp(argv[i], "--golden=", 9)) {
            golden_opt = argv[i] + 9;
            continue;
        }
        return wt_cli_fail(WT_EXIT_USAGE, "selfcheck: unknown argument '%s' (see wavetensor selfcheck --help)",
                           argv[i]);
    }
    char golden[1024];
    if (!find_golden(golden_opt, golden, sizeof golden))
        return wt_cli_fail(WT_EXIT_RUNTIME, "selfcheck: golden data folder '%s' not found (use --golden DIR)",
                           golden);
    printf("golden data: %s\n", golden);
    return run_forward(golden);
}
