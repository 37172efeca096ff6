/* Llama: config, weights, KV cache, the batched forward (prefill) and the
 * allocation-free decode step. The forward pass reads top to bottom as the
 * Hugging Face LlamaForCausalLM does, in engine ops only. The cache is a
 * fixed buffer of `context` positions: positions < pos are valid, a step
 * writes position pos, and a position past the context is an error. The
 * decode step is static: the token and the position are i64 state tensors
 * read by the ops (embedding, rope, cache write, attention), so every token
 * runs the same ops on the same shapes and addresses, and on a backend that
 * records graphs the step is captured once and replayed (wt_step_graph).
 * Everything lives on the model's backend; the host only uploads the token
 * and position before a step and downloads the logits after it. */
#define _POSIX_C_SOURCE 200809L
#include "wavetensor/llama.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/backend.h"
#include "engine/ctx_impl.h"
#include "wavetensor/graph.h"
#include "wavetensor/ops.h"
#include "wavetensor/weights.h"

typedef struct llama_layer {
    wt_tensor *attn_norm, *ffn_norm;            /* [hidden] f32 */
    wt_tensor *wq, *wk, *wv;                    /* [heads*hd | kv_heads*hd, hidden] */
    wt_tensor *wo;                              /* [hidden, heads*hd] */
    wt_tensor *gate, *up;                       /* [intermediate, hidden] */
    wt_tensor *down;                            /* [hidden, intermediate] */
    /* Keys and values are cached transposed, [kv_heads*hd, context]: the
     * position index is the unit stride, so the scores q.k of all positions
     * and the value sums over positions run along contiguous rows in the
     * attention op. Views into the model's caches. */
    wt_tensor *kcache, *vcache;
} llama_layer;

struct wt_llama {
    wt_llama_config cfg;
    const wt_backend *be;  /* where every tensor below lives */
    int64_t context;
    int64_t chunk;
    int threads;
    wt_ctx *wctx;          /* weights, cache, state: persistent */
    wt_tensor *embed;      /* [vocab, hidden] */
    wt_tensor *norm;       /* [hidden] f32 */
    wt_tensor *lm_head;    /* [vocab, hidden]; == embed when tied */
    llama_layer *layer;
    wt_tensor *kc, *vc;    /* [layers, kv_heads*hd, context] f32 */
    wt_tensor *state;      /* i64 [2]: token, position; one upload per step */
    wt_tensor *tok, *pos;  /* i64 [1] views of state: the decode step's inputs */
    wt_tensor *logits;     /* [1, vocab] f32: last position's logits */
    float *logits_host;    /* [vocab]: their download (device backends only) */
    wt_ctx *step;          /* arena of the decode step */
    wt_step_graph *graph;  /* the decode step, replayed where the backend can */
    wt_ctx *pre;           /* device backends: arena of one prefill chunk */
    int64_t *pre_ids;      /* [2 * chunk]: ids then positions of a prefill chunk */
    int64_t n_past;
    size_t weight_bytes;
    bool op_attention;     /* attention composed of generic ops (not static) */
};

/* ---- config ---- */

static wt_status cfg_int(const wt_config *c, const char *name, const char *key, int64_t *out,
                         int64_t dflt, bool required) {
    if (!wt_config_has(c, key)) {
        if (required) return wt_error(WT_ERR_NOT_FOUND, "%s: missing key \"%s\"", name, key);
        *out = dflt;
        return WT_OK;
    }
    wt_status s = wt_config_int(c, key, out);
    if (s != WT_OK) return wt_error(s, "%s: \"%s\" must be an integer", name, key);
    return WT_OK;
}

wt_status wt_llama_config_from(const wt_config *c, const char *name, wt_llama_config *o) {
    memset(o, 0, sizeof *o);
    wt_status s;
    if ((s = cfg_int(c, name, "hidden_size", &o->hidden, 0, true)) ||
        (s = cfg_int(c, name, "intermediate_size", &o->intermediate, 0, true)) ||
        (s = cfg_int(c, name, "num_hidden_layers", &o->layers, 0, true)) ||
        (s = cfg_int(c, name, "num_attention_heads", &o->heads, 0, true)) ||
        (s = cfg_int(c, name, "vocab_size", &o->vocab, 0, true)) ||
        (s = cfg_int(c, name, "max_position_embeddings", &o->max_pos, 2048, false)) ||
        (s = cfg_int(c, name, "num_key_value_heads", &o->kv_heads, o->heads, false)) ||
        (s = cfg_int(c, name, "bos_token_id", &o->bos, 1, false)) ||
        (s = cfg_int(c, name, "eos_token_id", &o->eos, 2, false)))
        return s;
    if (o->hidden <= 0 || o->intermediate <= 0 || o->layers <= 0 || o->heads <= 0 ||
        o->vocab <= 0 || o->max_pos <= 0 || o->kv_heads <= 0)
        return wt_error(WT_ERR_FORMAT, "%s: sizes must be positive", name);
    if ((s = cfg_int(c, name, "head_dim", &o->head_dim, o->hidden / o->heads, false))) return s;
    if (o->head_dim <= 0 || o->head_dim % 2)
        return wt_error(WT_ERR_FORMAT, "%s: head_dim %lld must be positive and even", name,
                        (long long)o->head_dim);
    if (!wt_config_has(c, "head_dim") && o->hidden % o->heads)
        return wt_error(WT_ERR_FORMAT, "%s: hidden_size %lld is not a multiple of %lld heads",
                        name, (long long)o->hidden, (long long)o->heads);
    if (o->heads % o->kv_heads)
        return wt_error(WT_ERR_FORMAT,
                        "%s: num_attention_heads %lld is not a multiple of num_key_value_heads %lld",
                        name, (long long)o->heads, (long long)o->kv_heads);
    if (wt_config_has(c, "rms_norm_eps") && wt_config_double(c, "rms_norm_eps", &o->rms_eps))
        return wt_error(WT_ERR_FORMAT, "%s: \"rms_norm_eps\" must be a number", name);
    if (!wt_config_has(c, "rms_norm_eps")) o->rms_eps = 1e-6;
    if (wt_config_has(c, "rope_theta") && wt_config_double(c, "rope_theta", &o->rope_theta))
        return wt_error(WT_ERR_FORMAT, "%s: \"rope_theta\" must be a number", name);
    if (!wt_config_has(c, "rope_theta")) o->rope_theta = 10000.0;
    if (!(o->rms_eps >= 0) || !(o->rope_theta > 0))
        return wt_error(WT_ERR_FORMAT, "%s: rms_norm_eps must be >= 0 and rope_theta > 0", name);
    o->tie_embeddings = wt_config_bool_or(c, "tie_word_embeddings", false);
    /* A rope_scaling object changes the angles; refusing it beats silently
     * producing a different model. */
    const char *act = wt_config_string_or(c, "hidden_act", "silu");
    if (strcmp(act, "silu"))
        return wt_error(WT_ERR_UNSUPPORTED, "%s: hidden_act \"%s\" (only silu)", name, act);
    if (wt_config_has(c, "rope_scaling.type") || wt_config_has(c, "rope_scaling.rope_type") ||
        wt_config_has(c, "rope_scaling.factor"))
        return wt_error(WT_ERR_UNSUPPORTED, "%s: rope_scaling is not supported", name);
    if (wt_config_bool_or(c, "attention_bias", false) || wt_config_bool_or(c, "mlp_bias", false))
        return wt_error(WT_ERR_UNSUPPORTED, "%s: attention/mlp biases are not supported", name);
    return WT_OK;
}

wt_status wt_llama_config_load(const char *path, wt_llama_config *out) {
    wt_config *c = wt_config_load(path);
    if (!c) return WT_ERR_IO; /* wt_config_load recorded the message */
    wt_status s = wt_llama_config_from(c, path, out);
    wt_config_free(c);
    return s;
}

int64_t wt_llama_param_count(const wt_llama_config *c) {
    int64_t qd = c->heads * c->head_dim, kvd = c->kv_heads * c->head_dim;
    int64_t per_layer = 2 * c->hidden + c->hidden * (qd + 2 * kvd) + qd * c->hidden +
                        3 * c->hidden * c->intermediate;
    return c->vocab * c->hidden * (c->tie_embeddings ? 1 : 2) + c->layers * per_layer + c->hidden;
}

wt_llama_options wt_llama_options_default(void) {
    wt_llama_options o = {.dtype = WT_DTYPE_COUNT, .context = 0, .threads = 1,
                          .prefill_chunk = 128, .op_attention = false, .backend = NULL,
                          .graphs = true};
    return o;
}

/* ---- loading ---- */

const wt_llama_config *wt_llama_cfg(const wt_llama *m) { return &m->cfg; }
int64_t wt_llama_context(const wt_llama *m) { return m->context; }
size_t wt_llama_weight_bytes(const wt_llama *m) { return m->weight_bytes; }
int64_t wt_llama_pos(const wt_llama *m) { return m->n_past; }
const wt_backend *wt_llama_backend(const wt_llama *m) { return m->be; }
bool wt_llama_graphs(const wt_llama *m) { return wt_step_graph_enabled(m->graph); }

wt_status wt_llama_set_graphs(wt_llama *m, bool on) {
    wt_step_graph *g = wt_step_graph_new(m->be, on && !m->op_attention);
    if (!g) return WT_ERR_NOMEM;
    wt_step_graph_free(m->graph);
    m->graph = g;
    return WT_OK;
}

const float *wt_llama_logits(const wt_llama *m) {
    return m->logits_host ? m->logits_host : (const float *)m->logits->data;
}

void wt_llama_set_threads(wt_llama *m, int threads) {
    m->threads = threads < 1 ? 1 : threads;
    if (m->step) wt_ctx_set_threads(m->step, m->threads);
    if (m->pre) wt_ctx_set_threads(m->pre, m->threads);
}

void wt_llama_reset(wt_llama *m) { m->n_past = 0; }

void wt_llama_free(wt_llama *m) {
    if (!m) return;
    wt_step_graph_free(m->graph);
    wt_ctx_free(m->step);
    wt_ctx_free(m->pre);
    wt_ctx_free(m->wctx);
    free(m->logits_host);
    free(m->pre_ids);
    free(m->layer);
    free(m);
}

static wt_llama *model_alloc(const wt_llama_config *cfg, const wt_llama_options *opt) {
    wt_llama_options o = opt ? *opt : wt_llama_options_default();
    if (o.context < 0 || o.context > cfg->max_pos) {
        wt_error(WT_ERR_INVALID, "context %lld outside 1..%lld (max_position_embeddings)",
                 (long long)o.context, (long long)cfg->max_pos);
        return NULL;
    }
    if (o.dtype != WT_F32 && o.dtype != WT_F16 && o.dtype != WT_BF16 && o.dtype != WT_DTYPE_COUNT) {
        wt_error(WT_ERR_INVALID, "llama weights must be f32, f16 or bf16 (got %s)",
                 wt_dtype_name(o.dtype));
        return NULL;
    }
    const wt_backend *be = o.backend ? o.backend : wt_cpu_backend();
    int64_t chunk = o.prefill_chunk > 0 ? o.prefill_chunk : 128;
    wt_llama *m = calloc(1, sizeof *m);
    if (m) m->layer = calloc((size_t)cfg->layers, sizeof *m->layer);
    if (m) m->wctx = wt_ctx_new_heap(be);
    if (m && m->wctx) wt_ctx_hold_weights_(m->wctx);
    if (m) m->pre_ids = malloc(2 * (size_t)chunk * sizeof *m->pre_ids);
    if (m && !be->host) m->logits_host = calloc((size_t)cfg->vocab, sizeof *m->logits_host);
    if (m) m->graph = wt_step_graph_new(be, o.graphs && !o.op_attention);
    if (!m || !m->layer || !m->wctx || !m->pre_ids || (!be->host && !m->logits_host) ||
        !m->graph) {
        wt_llama_free(m);
        wt_error(WT_ERR_NOMEM, "out of memory creating a llama model");
        return NULL;
    }
    m->cfg = *cfg;
    m->be = be;
    m->context = o.context ? o.context : cfg->max_pos;
    m->chunk = chunk;
    m->threads = o.threads < 1 ? 1 : o.threads;
    m->op_attention = o.op_attention;
    return m;
}

/* Loads one matrix [rows, cols] keeping the file's float dtype (want ==
 * WT_DTYPE_COUNT) or converting to `want`. */
static wt_tensor *load_mat(wt_weights *w, const char *name, int64_t rows, int64_t cols,
                           wt_dtype want) {
    wt_dtype dt = want;
    if (dt == WT_DTYPE_COUNT) {
        const wt_st_entry *e = wt_st_find(wt_weights_file(w), name);
        dt = (e && (e->dtype == WT_F16 || e->dtype == WT_BF16)) ? e->dtype : WT_F32;
    }
    wt_weights_set_dtype(w, dt);
    int64_t shape[2] = {rows, cols};
    return wt_weights_get(w, name, 2, shape);
}

static wt_tensor *load_vec(wt_weights *w, const char *name, int64_t n) {
    wt_weights_set_dtype(w, WT_F32);
    return wt_weights_get(w, name, 1, &n);
}

static wt_status load_weights(wt_llama *m, const char *path, wt_dtype want) {
    const wt_llama_config *c = &m->cfg;
    wt_weights *w = wt_weights_open(path, m->wctx, WT_F32);
    if (!w) return WT_ERR_IO; /* wt_weights_open recorded the message */
    int64_t D = c->hidden, qd = c->heads * c->head_dim, kvd = c->kv_heads * c->head_dim;
    char name[160];
    m->embed = load_mat(w, "model.embed_tokens.weight", c->vocab, D, want);
    m->norm = load_vec(w, "model.norm.weight", D);
    m->lm_head = c->tie_embeddings ? m->embed : load_mat(w, "lm_head.weight", c->vocab, D, want);
    for (int64_t l = 0; l < c->layers && wt_ctx_status(m->wctx) == WT_OK; l++) {
        llama_layer *L = &m->layer[l];
#define NAME(fmt) (snprintf(name, sizeof name, "model.layers.%lld." fmt, (long long)l), name)
        L->attn_norm = load_vec(w, NAME("input_layernorm.weight"), D);
        L->ffn_norm = load_vec(w, NAME("post_attention_layernorm.weight"), D);
        L->wq = load_mat(w, NAME("self_attn.q_proj.weight"), qd, D, want);
        L->wk = load_mat(w, NAME("self_attn.k_proj.weight"), kvd, D, want);
        L->wv = load_mat(w, NAME("self_attn.v_proj.weight"), kvd, D, want);
        L->wo = load_mat(w, NAME("self_attn.o_proj.weight"), D, qd, want);
        L->gate = load_mat(w, NAME("mlp.gate_proj.weight"), c->intermediate, D, want);
        L->up = load_mat(w, NAME("mlp.up_proj.weight"), c->intermediate, D, want);
        L->down = load_mat(w, NAME("mlp.down_proj.weight"), D, c->intermediate, want);
#undef NAME
    }
    wt_status s = wt_ctx_status(m->wctx);
    if (s == WT_OK) {
        /* A checkpoint with more layers than the config is a different model. */
        snprintf(name, sizeof name, "model.layers.%lld.input_layernorm.weight", (long long)c->layers);
        if (wt_weights_has(w, name))
            s = wt_error(WT_ERR_FORMAT, "%s: has more layers than the config's %lld (found %s)",
                         path, (long long)c->layers, name);
    } else {
        s = wt_error(s, "%s", wt_ctx_error(m->wctx));
    }
    wt_weights_close(w);
    return s;
}

/* xorshift64*, uniform in [-1, 1) */
static float rand_sym(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    uint64_t x = *s * 2685821657736338717ull;
    return (float)((double)(x >> 40) / 8388608.0 - 1.0);
}

/* A tensor of uniform(-amp, amp) values, drawn on the host (into `host`,
 * room for the largest tensor, when the backend's memory is not host
 * memory) and uploaded. */
static wt_tensor *random_tensor(wt_ctx *ctx, void *host, wt_dtype dt, int64_t rows, int64_t cols,
                                float amp, uint64_t *seed) {
    wt_tensor *t = rows ? wt_tensor_new2(ctx, dt, rows, cols) : wt_tensor_new1(ctx, dt, cols);
    if (!t) return NULL;
    const wt_backend *be = wt_ctx_backend(ctx);
    void *out = be->host ? t->data : host;
    int64_t n = wt_numel(t);
    if (dt == WT_F32) {
        float *p = out;
        for (int64_t i = 0; i < n; i++) p[i] = amp * rand_sym(seed);
    } else {
        uint16_t *p = out;
        for (int64_t i = 0; i < n; i++) {
            float v = amp * rand_sym(seed);
            p[i] = dt == WT_F16 ? wt_f32_to_f16(v) : wt_f32_to_bf16(v);
        }
    }
    if (!be->host) {
        wt_status s = be->upload(t->data, out, wt_nbytes(t));
        if (s != WT_OK) {
            wt_ctx_fail(ctx, s, "random weights: upload failed: %s", wt_last_error());
            return NULL;
        }
    }
    return t;
}

static wt_status random_weights(wt_llama *m, wt_dtype dt, uint64_t seed) {
    const wt_llama_config *c = &m->cfg;
    int64_t D = c->hidden, qd = c->heads * c->head_dim, kvd = c->kv_heads * c->head_dim;
    uint64_t s = seed ? seed : 0x9E3779B97F4A7C15ull;
    wt_ctx *x = m->wctx;
    /* host staging for a device: the largest matrix */
    void *h = NULL;
    if (!m->be->host) {
        int64_t big = c->vocab * D;
        if (qd * D > big) big = qd * D;
        if (c->intermediate * D > big) big = c->intermediate * D;
        h = malloc((size_t)big * sizeof(float));
        if (!h) return wt_error(WT_ERR_NOMEM, "out of memory staging random llama weights");
    }
    /* uniform(-a, a) with a = sqrt(3 / fan_in): unit-variance activations */
    float aD = sqrtf(3.0f / (float)D), aQ = sqrtf(3.0f / (float)qd),
          aI = sqrtf(3.0f / (float)c->intermediate);
    m->embed = random_tensor(x, h, dt, c->vocab, D, 1.0f, &s);
    m->norm = random_tensor(x, h, WT_F32, 0, D, 0.0f, &s);
    m->lm_head = c->tie_embeddings ? m->embed : random_tensor(x, h, dt, c->vocab, D, aD, &s);
    for (int64_t l = 0; l < c->layers; l++) {
        llama_layer *L = &m->layer[l];
        L->attn_norm = random_tensor(x, h, WT_F32, 0, D, 0.0f, &s);
        L->ffn_norm = random_tensor(x, h, WT_F32, 0, D, 0.0f, &s);
        L->wq = random_tensor(x, h, dt, qd, D, aD, &s);
        L->wk = random_tensor(x, h, dt, kvd, D, aD, &s);
        L->wv = random_tensor(x, h, dt, kvd, D, aD, &s);
        L->wo = random_tensor(x, h, dt, D, qd, aQ, &s);
        L->gate = random_tensor(x, h, dt, c->intermediate, D, aD, &s);
        L->up = random_tensor(x, h, dt, c->intermediate, D, aD, &s);
        L->down = random_tensor(x, h, dt, D, c->intermediate, aI, &s);
        wt_fill_(x, L->attn_norm, 1.0); /* norms of ones */
        wt_fill_(x, L->ffn_norm, 1.0);
        if (wt_ctx_status(x) != WT_OK) break;
    }
    wt_fill_(x, m->norm, 1.0);
    free(h);
    return wt_ctx_status(x) == WT_OK ? WT_OK : wt_error(wt_ctx_status(x), "%s", wt_ctx_error(x));
}

/* ---- the forward pass ---- */

static wt_tensor *linear(wt_ctx *c, const wt_tensor *x, const wt_tensor *w) {
    return wt_linear(c, x, w, NULL);
}

/* Attention of n queries (positions pos = p0..p0+n-1, already in the
 * cache) over the cache: q [n, heads*hd] -> [n, heads*hd]. One op that reads
 * the positions at run time, so the decode step has the same shapes at
 * every position. */
static wt_tensor *attention(const wt_llama *m, wt_ctx *c, const llama_layer *L, const wt_tensor *q,
                            const wt_tensor *pos) {
    const wt_llama_config *cf = &m->cfg;
    int64_t qs[3] = {wt_size(q, 0), cf->heads, cf->head_dim};
    return wt_attention_cached(c, wt_view(c, q, 3, qs), L->kcache, L->vcache, pos,
                               1.0f / sqrtf((float)cf->head_dim), 0);
}

/* The same composed from generic ops over the T = p0 + n valid cache rows
 * (shapes grow with the position, so not a static step: a cross-check of
 * the op, and a path for backends without it). Query head h reads kv head
 * h / G, so the G query heads of one kv head form one batch entry and K, V
 * broadcast over them (no copies of the cache). */
static wt_tensor *attention_by_ops(const wt_llama *m, wt_ctx *c, const llama_layer *L, wt_tensor *q,
                                   int64_t p0, int64_t n) {
    const wt_llama_config *cf = &m->cfg;
    int64_t KVH = cf->kv_heads, hd = cf->head_dim, G = cf->heads / KVH, T = p0 + n;
    int64_t qs[4] = {n, KVH, G, hd}, ks[3] = {KVH, hd, T}, os[2] = {n, cf->heads * hd};
    static const int q_perm[4] = {1, 2, 0, 3}, o_perm[4] = {2, 0, 1, 3};
    wt_tensor *Q = wt_permute(c, wt_view(c, q, 4, qs), q_perm);                  /* [KVH, G, n, hd] */
    wt_tensor *K = wt_view(c, wt_narrow(c, L->kcache, 1, 0, T), 3, ks);         /* [KVH, hd, T] */
    K = wt_unsqueeze(c, K, 1);                                                  /* [KVH, 1, hd, T] */
    wt_tensor *V = wt_view(c, wt_narrow(c, L->vcache, 1, 0, T), 3, ks);         /* [KVH, hd, T] */
    V = wt_unsqueeze(c, wt_transpose(c, V, 1, 2), 1);                           /* [KVH, 1, T, hd] */
    wt_tensor *s = wt_matmul(c, Q, K);                                          /* [KVH, G, n, T] */
    s = wt_softmax_(c, s, 1.0f / sqrtf((float)hd), NULL, WT_MASK_CAUSAL, 0);
    wt_tensor *o = wt_matmul(c, s, V);                                          /* [KVH, G, n, hd] */
    return wt_reshape(c, wt_permute(c, o, o_perm), 2, os);                      /* [n, heads*hd] */
}

/* n tokens (tok, pos: i64 [n]) at positions p0..p0+n-1: writes their keys
 * and values into the cache and returns the logits [n or 1, vocab] (only the
 * last row unless all_rows). Only the op-composed attention uses p0 (its
 * shapes follow it); the default path reads the positions from pos. Errors
 * are sticky on c. */
static wt_tensor *forward(const wt_llama *m, wt_ctx *c, const wt_tensor *tok, const wt_tensor *pos,
                          int64_t p0, int64_t n, bool all_rows) {
    const wt_llama_config *cf = &m->cfg;
    float eps = (float)cf->rms_eps, theta = (float)cf->rope_theta;
    int64_t qs[3] = {n, cf->heads, cf->head_dim}, ks[3] = {n, cf->kv_heads, cf->head_dim};
    wt_tensor *x = wt_index_select(c, m->embed, 0, tok); /* [n, hidden] f32 */
    for (int64_t l = 0; l < cf->layers; l++) {
        const llama_layer *L = &m->layer[l];
        wt_tensor *h = wt_rms_norm(c, x, L->attn_norm, eps);
        wt_tensor *q = linear(c, h, L->wq), *k = linear(c, h, L->wk), *v = linear(c, h, L->wv);
        wt_rope_(c, wt_view(c, q, 3, qs), pos, theta, WT_ROPE_HALVES);
        wt_rope_(c, wt_view(c, k, 3, ks), pos, theta, WT_ROPE_HALVES);
        wt_scatter_set_(c, L->kcache, 1, pos, wt_transpose(c, k, 0, 1));
        wt_scatter_set_(c, L->vcache, 1, pos, wt_transpose(c, v, 0, 1));
        wt_tensor *a = m->op_attention ? attention_by_ops(m, c, L, q, p0, n)
                                       : attention(m, c, L, q, pos);
        x = wt_add_(c, x, linear(c, a, L->wo));
        h = wt_rms_norm(c, x, L->ffn_norm, eps);
        wt_tensor *g = wt_unary_(c, WT_UNARY_SILU, linear(c, h, L->gate), 0.0f);
        g = wt_mul_(c, g, linear(c, h, L->up));
        x = wt_add_(c, x, linear(c, g, L->down));
    }
    if (!all_rows && n > 1) x = wt_narrow(c, x, 0, n - 1, 1);
    x = wt_rms_norm(c, x, m->norm, eps);
    return linear(c, x, m->lm_head);
}

static wt_status check_ids(const wt_llama *m, const int32_t *ids, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab)
            return wt_error(WT_ERR_INVALID, "token id %d (at %lld) is outside the vocabulary of %lld ids",
                            (int)ids[i], (long long)i, (long long)m->cfg.vocab);
    return WT_OK;
}

static wt_status check_room(const wt_llama *m, int64_t n) {
    if (m->n_past + n > m->context)
        return wt_error(WT_ERR_INVALID,
                        "position %lld is past the context of %lld tokens (%lld cached, %lld more asked)",
                        (long long)(m->n_past + n - 1), (long long)m->context,
                        (long long)m->n_past, (long long)n);
    return WT_OK;
}

/* The decode step on context c at position p (the state tensors hold the
 * token and the position). */
static wt_status run_step(wt_llama *m, wt_ctx *c, int64_t p) {
    wt_tensor *lg = forward(m, c, m->tok, m->pos, p, 1, false);
    wt_copy_(c, m->logits, lg);
    wt_status s = wt_ctx_status(c);
    return s == WT_OK ? WT_OK : wt_error(s, "llama step: %s", wt_ctx_error(c));
}

/* The step function of the graph: the same ops on the same addresses at
 * every position (the position is read from m->pos on the backend). */
static wt_status step_fn(void *user) {
    wt_llama *m = user;
    wt_ctx_reset(m->step);
    return run_step(m, m->step, m->n_past);
}

/* Writes the decode step's token and position into the state tensor. */
static wt_status put_state(wt_llama *m, int64_t token, int64_t pos) {
    int64_t tp[2] = {token, pos};
    return m->be->upload(m->state->data, tp, sizeof tp);
}

/* The last position's logits to the host buffer (device backends); the
 * download waits for the step, so it also reports a failed kernel. */
static wt_status fetch_logits(wt_llama *m) {
    if (!m->logits_host) return WT_OK;
    return m->be->download(m->logits_host, m->logits->data, sizeof(float) * (size_t)m->cfg.vocab);
}

wt_status wt_llama_step(wt_llama *m, int32_t token) {
    wt_status s = check_ids(m, &token, 1);
    if (s == WT_OK) s = check_room(m, 1);
    if (s == WT_OK) s = put_state(m, token, m->n_past);
    if (s == WT_OK) s = wt_step_graph_run(m->graph, step_fn, m);
    if (s == WT_OK) s = fetch_logits(m);
    if (s == WT_OK) m->n_past++;
    return s;
}

/* One chunk of cn tokens at positions p0..: ids and positions uploaded into
 * fresh tensors of c, then the batched forward. */
static wt_tensor *prefill_chunk(wt_llama *m, wt_ctx *c, const int32_t *ids, int64_t cn, int64_t p0,
                                bool all_rows) {
    wt_tensor *tok = wt_tensor_new1(c, WT_I64, cn), *pos = wt_tensor_new1(c, WT_I64, cn);
    if (!tok || !pos) return NULL;
    int64_t *hi = m->pre_ids, *hp = m->pre_ids + cn;
    for (int64_t i = 0; i < cn; i++) {
        hi[i] = ids ? ids[i] : 0;
        hp[i] = p0 + i;
    }
    wt_status s = m->be->upload(tok->data, hi, sizeof(int64_t) * (size_t)cn);
    if (s == WT_OK) s = m->be->upload(pos->data, hp, sizeof(int64_t) * (size_t)cn);
    if (s != WT_OK) {
        wt_ctx_fail(c, s, "prefill upload: %s", wt_last_error());
        return NULL;
    }
    return forward(m, c, tok, pos, p0, cn, all_rows);
}

/* All rows of chunk logits lg [cn, vocab] into out (host floats). */
static void chunk_logits_out(wt_llama *m, wt_ctx *c, const wt_tensor *lg, float *out, int64_t cn) {
    if (!lg) return;
    if (m->be->host) {
        int64_t shape[2] = {cn, m->cfg.vocab};
        wt_copy_(c, wt_tensor_wrap(c, WT_F32, 2, shape, out), lg);
        return;
    }
    const wt_tensor *g = wt_is_contiguous(lg) ? lg : wt_contiguous(c, lg);
    if (!g) return;
    wt_status s = m->be->download(out, g->data, sizeof(float) * (size_t)(cn * m->cfg.vocab));
    if (s != WT_OK) wt_ctx_fail(c, s, "logits download: %s", wt_last_error());
}

wt_status wt_llama_prefill(wt_llama *m, const int32_t *ids, int64_t n, float *all_logits) {
    if (n <= 0) return wt_error(WT_ERR_INVALID, "prefill: no tokens");
    wt_status s = check_ids(m, ids, n);
    if (s == WT_OK) s = check_room(m, n);
    if (s != WT_OK) return s;
    /* a device runs the chunks in the arena planned at load (a heap context
     * would allocate device memory per tensor); the host as it always did */
    wt_ctx *c = m->pre ? m->pre : wt_ctx_new_heap(m->be);
    if (!c) return WT_ERR_NOMEM;
    if (!m->pre) wt_ctx_set_threads(c, m->threads);
    for (int64_t off = 0; off < n && s == WT_OK; off += m->chunk) {
        int64_t cn = n - off < m->chunk ? n - off : m->chunk;
        wt_ctx_reset(c);
        wt_tensor *lg = prefill_chunk(m, c, ids + off, cn, m->n_past, all_logits != NULL);
        if (all_logits) {
            chunk_logits_out(m, c, lg, all_logits + off * m->cfg.vocab, cn);
            lg = wt_narrow(c, lg, 0, cn - 1, 1);
        }
        wt_copy_(c, m->logits, lg);
        s = wt_ctx_status(c);
        if (s != WT_OK) s = wt_error(s, "llama prefill: %s", wt_ctx_error(c));
        else m->n_past += cn;
    }
    if (c != m->pre) wt_ctx_free(c);
    else wt_ctx_reset(c);
    if (s == WT_OK) s = fetch_logits(m);
    return s;
}

/* A heap context on the model's backend that ran `run` once: the plan of
 * an arena for the same work. */
static wt_status plan_arena(wt_llama *m, wt_status (*run)(wt_llama *, wt_ctx *), wt_ctx **arena) {
    wt_ctx *plan = wt_ctx_new_heap(m->be);
    if (!plan) return wt_error(WT_ERR_NOMEM, "out of memory planning a llama arena");
    wt_ctx_set_threads(plan, m->threads);
    wt_status s = run(m, plan);
    if (s == WT_OK && m->be->sync) s = m->be->sync();
    if (s == WT_OK) {
        *arena = wt_ctx_new_arena_like(plan);
        if (!*arena) s = wt_error(WT_ERR_NOMEM, "out of memory for a llama arena");
    }
    wt_ctx_free(plan);
    return s;
}

/* Position of the dry runs at load. Every position needs the same arena
 * (with op_attention the last step is the largest). On a device the
 * position is one past the context: its kernels then skip the cache write
 * and the attention (engine/backend.h), so planning costs no attention
 * work and leaves the cache as it was. A host backend rejects such a
 * position; there the dry run writes position 0 (or the last), which the
 * next prompt overwrites before reading it. */
static int64_t plan_pos(const wt_llama *m) {
    if (m->op_attention) return m->context - 1;
    return m->be->host ? 0 : m->context;
}

/* The decode step, and on a device a full prefill chunk with every row's
 * logits (smaller chunks fit in its arena). */
static wt_status plan_step(wt_llama *m, wt_ctx *c) {
    wt_status s = put_state(m, 0, plan_pos(m));
    return s == WT_OK ? run_step(m, c, plan_pos(m)) : s;
}

static wt_status plan_prefill(wt_llama *m, wt_ctx *c) {
    int64_t cn = m->chunk < m->context ? m->chunk : m->context;
    wt_tensor *lg = prefill_chunk(m, c, NULL, cn, plan_pos(m), true);
    wt_copy_(c, m->logits, wt_narrow(c, lg, 0, cn - 1, 1));
    wt_status s = wt_ctx_status(c);
    return s == WT_OK ? WT_OK : wt_error(s, "llama prefill: %s", wt_ctx_error(c));
}

/* Cache, state tensors and the arenas. */
static wt_status setup_runtime(wt_llama *m) {
    const wt_llama_config *c = &m->cfg;
    wt_ctx *x = m->wctx;
    int64_t kvd = c->kv_heads * c->head_dim;
    m->kc = wt_tensor_new3(x, WT_F32, c->layers, kvd, m->context);
    m->vc = wt_tensor_new3(x, WT_F32, c->layers, kvd, m->context);
    wt_fill_(x, m->kc, 0.0);
    wt_fill_(x, m->vc, 0.0);
    m->state = wt_tensor_new1(x, WT_I64, 2);
    m->tok = wt_narrow(x, m->state, 0, 0, 1);
    m->pos = wt_narrow(x, m->state, 0, 1, 1);
    m->logits = wt_tensor_new2(x, WT_F32, 1, c->vocab);
    for (int64_t l = 0; l < c->layers; l++) {
        m->layer[l].kcache = wt_squeeze(x, wt_narrow(x, m->kc, 0, l, 1), 0);
        m->layer[l].vcache = wt_squeeze(x, wt_narrow(x, m->vc, 0, l, 1), 0);
    }
    if (wt_ctx_status(x) != WT_OK) return wt_error(wt_ctx_status(x), "%s", wt_ctx_error(x));

    /* one embedding row is read per token: count the classifier and the rest */
    m->weight_bytes = wt_nbytes(m->norm) + wt_nbytes(m->lm_head);
    for (int64_t l = 0; l < c->layers; l++) {
        const llama_layer *L = &m->layer[l];
        const wt_tensor *ws[9] = {L->attn_norm, L->ffn_norm, L->wq, L->wk, L->wv,
                                  L->wo, L->gate, L->up, L->down};
        for (int i = 0; i < 9; i++) m->weight_bytes += wt_nbytes(ws[i]);
    }

    wt_status s = plan_arena(m, plan_step, &m->step);
    if (s == WT_OK && !m->be->host && !m->op_attention) s = plan_arena(m, plan_prefill, &m->pre);
    m->n_past = 0;
    return s;
}

wt_llama *wt_llama_new(const wt_llama_config *cfg, const char *weights_path,
                       const wt_llama_options *opt) {
    wt_llama *m = model_alloc(cfg, opt);
    if (!m) return NULL;
    wt_dtype want = opt ? opt->dtype : WT_DTYPE_COUNT;
    if (load_weights(m, weights_path, want) != WT_OK || setup_runtime(m) != WT_OK) {
        wt_llama_free(m);
        return NULL;
    }
    return m;
}

wt_llama *wt_llama_new_random(const wt_llama_config *cfg, uint64_t seed,
                              const wt_llama_options *opt) {
    wt_llama *m = model_alloc(cfg, opt);
    if (!m) return NULL;
    wt_dtype dt = (opt && opt->dtype != WT_DTYPE_COUNT) ? opt->dtype : WT_F32;
    if (random_weights(m, dt, seed) != WT_OK || setup_runtime(m) != WT_OK) {
        wt_llama_free(m);
        return NULL;
    }
    return m;
}

/* ---- generation ---- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

wt_status wt_llama_generate(wt_llama *m, const int32_t *prompt, int64_t n_prompt, int64_t steps,
                            wt_llama_sampler *smp, bool stop_on_eos, int32_t *out, int64_t cap,
                            wt_llama_emit_fn emit, void *user, wt_llama_gen *res) {
    wt_llama_gen r = {0, 0, WT_LLAMA_STOP_STEPS, 0, 0};
    if (res) *res = r;
    if (n_prompt <= 0) return wt_error(WT_ERR_INVALID, "generate: empty prompt");
    if (n_prompt > m->context)
        return wt_error(WT_ERR_INVALID, "prompt of %lld tokens is longer than the context of %lld",
                        (long long)n_prompt, (long long)m->context);
    if (steps < n_prompt || steps > m->context)
        return wt_error(WT_ERR_INVALID,
                        "generate: %lld steps outside %lld (prompt length)..%lld (context)",
                        (long long)steps, (long long)n_prompt, (long long)m->context);
    wt_llama_reset(m);
    double t0 = now_s();
    wt_status s = wt_llama_prefill(m, prompt, n_prompt, NULL);
    double t1 = now_s();
    r.prefill_s = t1 - t0;
    r.n_forward = n_prompt;
    while (s == WT_OK) {
        int32_t next = smp ? wt_llama_sample(smp, wt_llama_logits(m))
                           : wt_llama_argmax(wt_llama_logits(m), m->cfg.vocab);
        if (next == m->cfg.bos) { r.stop = WT_LLAMA_STOP_BOS; break; }
        if (stop_on_eos && next == m->cfg.eos) { r.stop = WT_LLAMA_STOP_EOS; break; }
        if (out && r.n_generated < cap) out[r.n_generated] = next;
        r.n_generated++;
        if (emit && !emit(user, next)) break;
        if (r.n_forward >= steps) break;
        s = wt_llama_step(m, next);
        r.n_forward++;
    }
    r.decode_s = now_s() - t1;
    if (res) *res = r;
    return s;
}
