/* Mimi codec: config, weights, whole-clip encode/decode (see wavetensor/mimi.h).
 * The SEANet, transformer and quantizer functions take an optional stream
 * state: with NULL they run on the whole clip, with a state they run one
 * streaming step (mimi_stream.c), so both modes share one description. */
#include "engine/models/mimi_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/ctx_impl.h"
#include "wavetensor/ops.h"

/* ---------------------------------------------------------------- config */

static wt_status cfg_int(const wt_config *c, const char *key, int *out, int lo, int hi) {
    int64_t v;
    wt_status s = wt_config_int(c, key, &v);
    if (s != WT_OK) {
        char msg[512]; /* wt_error rewrites the buffer wt_last_error points at */
        snprintf(msg, sizeof msg, "%s", wt_last_error());
        return wt_error(s, "mimi config: %s", msg);
    }
    if (v < lo || v > hi)
        return wt_error(WT_ERR_FORMAT, "mimi config: %s = %lld is outside %d..%d", key,
                        (long long)v, lo, hi);
    *out = (int)v;
    return WT_OK;
}

static wt_status cfg_expect(const wt_config *c, const char *key, const char *want) {
    const char *v = wt_config_string_or(c, key, want);
    if (strcmp(v, want) != 0)
        return wt_error(WT_ERR_UNSUPPORTED, "mimi config: %s = \"%s\" is not supported (only \"%s\")",
                        key, v, want);
    return WT_OK;
}

static wt_status cfg_expect_bool(const wt_config *c, const char *key, bool want) {
    if (wt_config_bool_or(c, key, want) != want)
        return wt_error(WT_ERR_UNSUPPORTED, "mimi config: %s = %s is not supported", key,
                        want ? "false" : "true");
    return WT_OK;
}

int wt_mimi_frame_size(const wt_mimi_config *cfg) {
    return (int)lround(cfg->sample_rate / cfg->frame_rate);
}

wt_status wt_mimi_config_from(const wt_config *c, wt_mimi_config *o) {
    memset(o, 0, sizeof *o);
    wt_status s;
    int d_model = 0, chans = 1, qin = 0, qout = 0;
    int64_t ratios[WT_MIMI_MAX_RATIOS];
#define TRY(x) do { if ((s = (x)) != WT_OK) return s; } while (0)
    TRY(cfg_int(c, "sample_rate", &o->sample_rate, 1, 1000000));
    if (wt_config_double(c, "frame_rate", &o->frame_rate) != WT_OK || !(o->frame_rate > 0))
        return wt_error(WT_ERR_FORMAT, "mimi config: frame_rate must be a positive number");
    TRY(cfg_int(c, "channels", &o->channels, 1, 1));
    TRY(cfg_int(c, "seanet.channels", &chans, 1, 1));
    TRY(cfg_int(c, "seanet.dimension", &o->dimension, 1, 1 << 16));
    TRY(cfg_int(c, "seanet.n_filters", &o->n_filters, 1, 1 << 16));
    TRY(cfg_int(c, "seanet.n_residual_layers", &o->n_residual_layers, 0, WT_MIMI_MAX_RES));
    if (wt_config_int_array(c, "seanet.ratios", ratios, WT_MIMI_MAX_RATIOS, &o->n_ratios) != WT_OK)
        return wt_error(WT_ERR_FORMAT, "mimi config: seanet.ratios must be an array of at most %d integers",
                        WT_MIMI_MAX_RATIOS);
    if (o->n_ratios != WT_MIMI_STAGES)
        return wt_error(WT_ERR_UNSUPPORTED, "mimi config: seanet.ratios needs %d entries, has %d",
                        WT_MIMI_STAGES, o->n_ratios);
    for (int i = 0; i < o->n_ratios; i++) {
        if (ratios[i] < 1 || ratios[i] > 64)
            return wt_error(WT_ERR_FORMAT, "mimi config: seanet.ratios[%d] = %lld is outside 1..64",
                            i, (long long)ratios[i]);
        o->ratios[i] = (int)ratios[i];
    }
    TRY(cfg_int(c, "seanet.kernel_size", &o->kernel_size, 1, 64));
    TRY(cfg_int(c, "seanet.residual_kernel_size", &o->residual_kernel_size, 1, 64));
    TRY(cfg_int(c, "seanet.last_kernel_size", &o->last_kernel_size, 1, 64));
    TRY(cfg_int(c, "seanet.dilation_base", &o->dilation_base, 1, 16));
    TRY(cfg_int(c, "seanet.compress", &o->compress, 1, 64));
    TRY(cfg_expect_bool(c, "seanet.causal", true));
    TRY(cfg_expect_bool(c, "seanet.true_skip", true));
    TRY(cfg_expect(c, "seanet.norm", "none"));
    TRY(cfg_expect(c, "seanet.pad_mode", "constant"));
    TRY(cfg_expect(c, "seanet.activation", "ELU"));
    TRY(cfg_int(c, "transformer.d_model", &d_model, 1, 1 << 16));
    TRY(cfg_int(c, "transformer.num_heads", &o->num_heads, 1, 1024));
    TRY(cfg_int(c, "transformer.num_layers", &o->num_layers, 0, WT_TRANSFORMER_MAX_LAYERS));
    TRY(cfg_int(c, "transformer.dim_feedforward", &o->dim_feedforward, 1, 1 << 20));
    TRY(cfg_int(c, "transformer.context", &o->context, 2, 1 << 20));
    o->max_period = wt_config_double_or(c, "transformer.max_period", 10000.0);
    TRY(cfg_expect_bool(c, "transformer.causal", true));
    TRY(cfg_expect(c, "transformer.norm", "layer_norm"));
    TRY(cfg_expect(c, "transformer.gating", "none"));
    TRY(cfg_expect(c, "transformer.positional_embedding", "rope"));
    TRY(cfg_int(c, "quantizer.dimension", &o->q_dimension, 1, 1 << 16));
    TRY(cfg_int(c, "quantizer.n_q", &o->n_q, 1, WT_MIMI_MAX_CODEBOOKS));
    TRY(cfg_int(c, "quantizer.bins", &o->bins, 2, 1 << 16));
    TRY(cfg_int(c, "num_codebooks", &o->num_codebooks, 1, o->n_q));
    qin = (int)wt_config_int_or(c, "quantizer.input_dimension", o->dimension);
    qout = (int)wt_config_int_or(c, "quantizer.output_dimension", o->dimension);
#undef TRY
    if (d_model != o->dimension || qin != o->dimension || qout != o->dimension)
        return wt_error(WT_ERR_UNSUPPORTED,
                        "mimi config: transformer.d_model (%d) and the quantizer's input/output "
                        "dimensions (%d, %d) must equal seanet.dimension (%d)",
                        d_model, qin, qout, o->dimension);
    if (o->dimension % o->num_heads || (o->dimension / o->num_heads) % 2)
        return wt_error(WT_ERR_FORMAT, "mimi config: d_model %d is not num_heads %d x an even head size",
                        o->dimension, o->num_heads);
    int hop = 2;
    for (int i = 0; i < o->n_ratios; i++) hop *= o->ratios[i];
    if (fabs(o->sample_rate / o->frame_rate - hop) > 1e-6)
        return wt_error(WT_ERR_FORMAT,
                        "mimi config: sample_rate / frame_rate = %g but 2 x the product of the "
                        "ratios is %d", o->sample_rate / o->frame_rate, hop);
    if ((o->n_filters << WT_MIMI_STAGES) % o->compress || o->n_filters % o->compress)
        return wt_error(WT_ERR_FORMAT, "mimi config: seanet.compress %d does not divide the widths",
                        o->compress);
    return WT_OK;
}

wt_status wt_mimi_config_load(const char *path, wt_mimi_config *out) {
    wt_config *c = wt_config_load(path);
    if (!c) return WT_ERR_FORMAT; /* the loader's message names the file */
    wt_status s = wt_mimi_config_from(c, out);
    if (s != WT_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", wt_last_error());
        wt_error(s, "%s: %s", path, msg);
    }
    wt_config_free(c);
    return s;
}

/* ---------------------------------------------------------------- weights */

/* Where tensors come from: a checkpoint, or random values (benchmarks). */
typedef struct src {
    wt_weights *w;
    wt_ctx *ctx;
    wt_ctx *host; /* random weights on a device: generated here, then uploaded */
    uint64_t rng;
    size_t *bytes; /* weight bytes of the part being loaded */
    wt_dtype conv_dt; /* conv and transformer matrices (and the codebooks' copy for
                         distances); norms, biases, codebooks stay f32 */
} src;

typedef enum init_kind { INIT_FAN_IN, INIT_ONE, INIT_ZERO, INIT_SCALE, INIT_USAGE } init_kind;

static double rng_uniform(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Random values of a host tensor: fan-in uniform, constants, or usages. */
static void random_fill(src *s, wt_tensor *t, init_kind init, int ndim, const int64_t *shape) {
    int64_t n = wt_numel(t), fan = ndim > 1 ? n / shape[0] : 1;
    double a = 1.0 / sqrt((double)(fan > 0 ? fan : 1));
    for (int64_t i = 0; i < n; i++) {
        double v = 0;
        switch (init) {
        case INIT_FAN_IN: v = a * (2 * rng_uniform(&s->rng) - 1); break;
        case INIT_ONE: v = 1; break;
        case INIT_ZERO: v = 0; break;
        case INIT_SCALE: v = 0.01; break;
        case INIT_USAGE: v = 1 + rng_uniform(&s->rng); break;
        }
        wt_set_flat(t, i, v);
    }
}

static wt_tensor *get(src *s, wt_dtype dt, init_kind init, int ndim, const int64_t *shape,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static wt_tensor *get(src *s, wt_dtype dt, init_kind init, int ndim, const int64_t *shape,
                      const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (wt_ctx_status(s->ctx) != WT_OK) return NULL;
    wt_tensor *t;
    if (s->w) {
        wt_weights_set_dtype(s->w, dt);
        t = wt_weights_get(s->w, name, ndim, shape);
    } else {
        /* values are drawn on the host in the same order on every backend */
        bool host = wt_ctx_backend(s->ctx)->host;
        wt_tensor *h = wt_tensor_new(host ? s->ctx : s->host, dt, ndim, shape);
        if (!h) {
            if (!host) wt_ctx_fail(s->ctx, wt_ctx_status(s->host), "%s", wt_ctx_error(s->host));
            return NULL;
        }
        random_fill(s, h, init, ndim, shape);
        t = host ? h : wt_tensor_new(s->ctx, dt, ndim, shape);
        if (!host && t) {
            wt_status st = t->backend->upload(t->data, h->data, wt_nbytes(h));
            if (st != WT_OK) wt_ctx_fail(s->ctx, st, "mimi: upload of %s failed: %s", name, wt_last_error());
        }
        if (!host) wt_ctx_reset(s->host);
    }
    if (t && s->bytes) *s->bytes += wt_nbytes(t);
    return t;
}

static wt_status load_conv(src *s, wt_sconv *c, const char *pfx, int idx, const char *sub,
                           int cout, int cin, int k, int stride, int dilation) {
    int64_t ws[3] = {cout, cin, k}, bs[1] = {cout};
    c->w = get(s, s->conv_dt, INIT_FAN_IN, 3, ws, "%s.model.%d.%sconv.conv.weight", pfx, idx, sub);
    c->bias = get(s, WT_F32, INIT_ZERO, 1, bs, "%s.model.%d.%sconv.conv.bias", pfx, idx, sub);
    c->stride = stride;
    c->dilation = dilation;
    c->groups = 1;
    c->pad = WT_SCONV_PAD_ZERO;
    return wt_ctx_status(s->ctx);
}

static wt_status load_res(src *s, mimi_res *r, const char *pfx, int idx, int dim,
                          const wt_mimi_config *cfg, int j) {
    int hidden = dim / cfg->compress, dil = 1;
    for (int i = 0; i < j; i++) dil *= cfg->dilation_base;
    load_conv(s, &r->c1, pfx, idx, "block.1.", hidden, dim, cfg->residual_kernel_size, 1, dil);
    return load_conv(s, &r->c2, pfx, idx, "block.3.", dim, hidden, 1, 1, 1);
}

static wt_status load_transformer(src *s, wt_transformer *t, wt_tlayer *layers, const char *pfx,
                                  const wt_mimi_config *cfg, wt_dtype mdt) {
    int64_t d = cfg->dimension, f = cfg->dim_feedforward;
    int64_t v1[1] = {d}, qkv[2] = {3 * d, d}, dd[2] = {d, d}, fd[2] = {f, d}, df[2] = {d, f};
    t->d_model = cfg->dimension;
    t->num_heads = cfg->num_heads;
    t->num_layers = cfg->num_layers;
    t->dim_ff = cfg->dim_feedforward;
    t->context = cfg->context;
    t->max_period = (float)cfg->max_period;
    t->norm_eps = 1e-5f;
    t->layers = layers;
    for (int i = 0; i < cfg->num_layers; i++) {
        wt_tlayer *l = &layers[i];
        char lp[128];
        snprintf(lp, sizeof lp, "%s.transformer.layers.%d", pfx, i);
        /* the current PyTorch module tree names the attention matrices
         * in_projs.0 / out_projs.0; the published checkpoint does not */
        char in_name[160], out_name[160];
        snprintf(in_name, sizeof in_name, "%s.self_attn.in_proj_weight", lp);
        snprintf(out_name, sizeof out_name, "%s.self_attn.out_proj.weight", lp);
        if (s->w && !wt_weights_has(s->w, in_name)) {
            char a[160];
            snprintf(a, sizeof a, "%s.self_attn.in_projs.0.weight", lp);
            if (wt_weights_has(s->w, a)) {
                snprintf(in_name, sizeof in_name, "%s", a);
                snprintf(out_name, sizeof out_name, "%s.self_attn.out_projs.0.weight", lp);
            }
        }
        l->in_proj = get(s, mdt, INIT_FAN_IN, 2, qkv, "%s", in_name);
        l->out_proj = get(s, mdt, INIT_FAN_IN, 2, dd, "%s", out_name);
        l->norm1_w = get(s, WT_F32, INIT_ONE, 1, v1, "%s.norm1.weight", lp);
        l->norm1_b = get(s, WT_F32, INIT_ZERO, 1, v1, "%s.norm1.bias", lp);
        l->norm2_w = get(s, WT_F32, INIT_ONE, 1, v1, "%s.norm2.weight", lp);
        l->norm2_b = get(s, WT_F32, INIT_ZERO, 1, v1, "%s.norm2.bias", lp);
        l->linear1 = get(s, mdt, INIT_FAN_IN, 2, fd, "%s.linear1.weight", lp);
        l->linear2 = get(s, mdt, INIT_FAN_IN, 2, df, "%s.linear2.weight", lp);
        l->scale1 = get(s, WT_F32, INIT_SCALE, 1, v1, "%s.layer_scale_1.scale", lp);
        l->scale2 = get(s, WT_F32, INIT_SCALE, 1, v1, "%s.layer_scale_2.scale", lp);
    }
    return wt_ctx_status(s->ctx);
}

/* 1x1 conv weight [out, in, 1] kept as a [out, in] matrix for wt_linear. */
static const wt_tensor *load_proj(src *s, const char *name, int out, int in) {
    int64_t ws[3] = {out, in, 1}, ms[2] = {out, in};
    wt_tensor *w = get(s, WT_F32, INIT_FAN_IN, 3, ws, "%s", name);
    return wt_view(s->ctx, w, 2, ms);
}

/* Codebook vectors e = embedding_sum / max(cluster_usage, eps) and |e|^2. */
static wt_status load_codebook(src *s, mimi_codebook *cb, const char *part, int k,
                               const wt_mimi_config *cfg) {
    int64_t es[2] = {cfg->bins, cfg->q_dimension}, us[1] = {cfg->bins}, u2[2] = {cfg->bins, 1};
    wt_tensor *sum = get(s, WT_F32, INIT_FAN_IN, 2, es,
                         "quantizer.%s.vq.layers.%d._codebook.embedding_sum", part, k);
    wt_tensor *usage = get(s, WT_F32, INIT_USAGE, 1, us,
                           "quantizer.%s.vq.layers.%d._codebook.cluster_usage", part, k);
    wt_tensor *eps = wt_fill_(s->ctx, wt_tensor_new1(s->ctx, WT_F32, 1), WT_MIMI_CODEBOOK_EPS);
    wt_tensor *den = wt_binary(s->ctx, WT_BINARY_MAX, wt_view(s->ctx, usage, 2, u2), eps);
    cb->e = wt_binary(s->ctx, WT_BINARY_DIV, sum, den);
    cb->norm2 = wt_reduce(s->ctx, WT_REDUCE_SUM, wt_unary(s->ctx, WT_UNARY_SQR, cb->e, 0), -1,
                          false);
    /* an encoder step reads every codebook in use whole for the distances:
     * with half weights that read is halved too (the vectors a code adds
     * back, one row each, stay f32) */
    cb->e_dot = s->conv_dt == WT_F32 ? cb->e : wt_to_dtype(s->ctx, cb->e, s->conv_dt);
    return wt_ctx_status(s->ctx);
}

static wt_status load_all(wt_mimi *m, src *s, wt_dtype mdt) {
    const wt_mimi_config *cfg = &m->cfg;
    int nf = cfg->n_filters, d = cfg->dimension, nres = cfg->n_residual_layers;
    int mult = 1;
    s->conv_dt = mdt;
    /* encoder: conv, then per stage (residual blocks, ELU, strided conv), ELU, conv */
    s->bytes = &m->enc_bytes;
    load_conv(s, &m->enc_in, "encoder", 0, "", nf, 1, cfg->kernel_size, 1, 1);
    for (int i = 0; i < WT_MIMI_STAGES; i++) {
        int r = cfg->ratios[WT_MIMI_STAGES - 1 - i], base = 1 + i * (nres + 2), c = mult * nf;
        for (int j = 0; j < nres; j++) load_res(s, &m->enc_res[i][j], "encoder", base + j, c, cfg, j);
        load_conv(s, &m->enc_down[i], "encoder", base + nres + 1, "", 2 * c, c, 2 * r, r, 1);
        mult *= 2;
    }
    load_conv(s, &m->enc_out, "encoder", 1 + WT_MIMI_STAGES * (nres + 2) + 1, "", d, mult * nf,
              cfg->last_kernel_size, 1, 1);
    load_transformer(s, &m->enc_tr, m->enc_layers, "encoder_transformer", cfg, mdt);
    int64_t ds[3] = {d, d, 4};
    m->downsample.w = get(s, s->conv_dt, INIT_FAN_IN, 3, ds, "downsample.conv.conv.conv.weight");
    m->downsample.bias = NULL;
    m->downsample.stride = 2;
    m->downsample.dilation = 1;
    m->downsample.groups = 1;
    m->downsample.pad = WT_SCONV_PAD_REPLICATE;
    m->sem_in = load_proj(s, "quantizer.rvq_first.input_proj.weight", cfg->q_dimension, d);
    m->ac_in = load_proj(s, "quantizer.rvq_rest.input_proj.weight", cfg->q_dimension, d);
    /* quantizer: an encode step reads the distance copy and norms of every
     * codebook in use whole; a decode step only the rows of its codes (and
     * the raw sums are never read), so neither of those is counted */
    size_t *enc = s->bytes;
    s->bytes = NULL;
    for (int k = 0; k < cfg->n_q; k++) {
        load_codebook(s, &m->cb[k], k == 0 ? "rvq_first" : "rvq_rest", k == 0 ? 0 : k - 1, cfg);
        if (k < cfg->num_codebooks && m->cb[k].e_dot && m->cb[k].norm2)
            m->enc_bytes += wt_nbytes(m->cb[k].e_dot) + wt_nbytes(m->cb[k].norm2);
    }
    s->bytes = enc;

    s->bytes = &m->dec_bytes;
    m->sem_out = load_proj(s, "quantizer.rvq_first.output_proj.weight", d, cfg->q_dimension);
    m->ac_out = load_proj(s, "quantizer.rvq_rest.output_proj.weight", d, cfg->q_dimension);
    int64_t us[3] = {d, 1, 4};
    m->upsample.w = get(s, s->conv_dt, INIT_FAN_IN, 3, us, "upsample.convtr.convtr.convtr.weight");
    m->upsample.bias = NULL;
    m->upsample.stride = 2;
    m->upsample.groups = d;
    load_transformer(s, &m->dec_tr, m->dec_layers, "decoder_transformer", cfg, mdt);
    mult = 1 << WT_MIMI_STAGES;
    load_conv(s, &m->dec_in, "decoder", 0, "", mult * nf, d, cfg->kernel_size, 1, 1);
    for (int i = 0; i < WT_MIMI_STAGES; i++) {
        int r = cfg->ratios[i], base = 1 + i * (nres + 2), c = mult * nf;
        int64_t ws[3] = {c, c / 2, 2 * r}, bs[1] = {c / 2};
        m->dec_up[i].w = get(s, s->conv_dt, INIT_FAN_IN, 3, ws, "decoder.model.%d.convtr.convtr.weight",
                             base + 1);
        m->dec_up[i].bias = get(s, WT_F32, INIT_ZERO, 1, bs, "decoder.model.%d.convtr.convtr.bias",
                                base + 1);
        m->dec_up[i].stride = r;
        m->dec_up[i].groups = 1;
        for (int j = 0; j < nres; j++)
            load_res(s, &m->dec_res[i][j], "decoder", base + 2 + j, c / 2, cfg, j);
        mult /= 2;
    }
    load_conv(s, &m->dec_out, "decoder", 1 + WT_MIMI_STAGES * (nres + 2) + 1, "", 1, nf,
              cfg->last_kernel_size, 1, 1);
    s->bytes = NULL;
    return wt_ctx_status(s->ctx);
}

/* 64-bit hash of the checkpoint's tensors (names, dtypes, shapes, bytes). */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t hash_file(const wt_st_file *f) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < wt_st_count(f); i++) {
        const wt_st_entry *e = wt_st_at(f, i);
        int32_t dt = (int32_t)e->dtype;
        h = hash_bytes(h, e->name, strlen(e->name) + 1);
        h = hash_bytes(h, &dt, sizeof dt);
        h = hash_bytes(h, e->shape, sizeof(int64_t) * (size_t)e->ndim);
        h = hash_bytes(h, e->data, e->nbytes);
    }
    return h;
}

static wt_mimi *mimi_alloc(const wt_backend *be, const wt_mimi_config *cfg, wt_dtype mdt) {
    if (mdt != WT_F32 && mdt != WT_F16 && mdt != WT_BF16) {
        wt_error(WT_ERR_INVALID, "mimi: weights dtype must be f32, f16 or bf16");
        return NULL;
    }
    wt_mimi *m = calloc(1, sizeof *m);
    if (!m) {
        wt_error(WT_ERR_NOMEM, "mimi: out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    m->be = be ? be : wt_cpu_backend();
    m->ctx = wt_ctx_new_heap(m->be);
    if (!m->ctx) {
        free(m);
        return NULL;
    }
    wt_ctx_hold_weights_(m->ctx);
    return m;
}

wt_mimi *wt_mimi_load_on(const wt_backend *be, const wt_mimi_config *cfg, const char *path,
                         wt_dtype mdt) {
    wt_mimi *m = mimi_alloc(be, cfg, mdt);
    if (!m) return NULL;
    wt_weights *w = wt_weights_open(path, m->ctx, WT_F32);
    if (!w) {
        wt_mimi_free(m);
        return NULL;
    }
    src s = {.w = w, .ctx = m->ctx};
    wt_status st = load_all(m, &s, mdt);
    if (st == WT_OK) m->id = hash_file(wt_weights_file(w));
    else wt_error(st, "%s", wt_ctx_error(m->ctx));
    wt_weights_close(w);
    if (st == WT_OK && (st = wt_ctx_pack_(m->ctx)) != WT_OK) wt_error(st, "%s", wt_ctx_error(m->ctx));
    if (st != WT_OK) {
        wt_mimi_free(m);
        return NULL;
    }
    return m;
}

wt_mimi *wt_mimi_load(const wt_mimi_config *cfg, const char *path, wt_dtype mdt) {
    return wt_mimi_load_on(NULL, cfg, path, mdt);
}

wt_mimi *wt_mimi_new_random_on(const wt_backend *be, const wt_mimi_config *cfg, wt_dtype mdt,
                               uint64_t seed) {
    wt_mimi *m = mimi_alloc(be, cfg, mdt);
    if (!m) return NULL;
    src s = {.w = NULL, .ctx = m->ctx, .rng = seed * 0x9E3779B97F4A7C15ull + 1};
    if (!m->be->host && !(s.host = wt_ctx_new_heap(NULL))) {
        wt_mimi_free(m);
        return NULL;
    }
    wt_status st = load_all(m, &s, mdt);
    wt_ctx_free(s.host);
    if (st == WT_OK) st = wt_ctx_pack_(m->ctx);
    if (st != WT_OK) {
        wt_error(wt_ctx_status(m->ctx), "%s", wt_ctx_error(m->ctx));
        wt_mimi_free(m);
        return NULL;
    }
    m->id = hash_bytes(0x72616e646f6dull, &seed, sizeof seed);
    return m;
}

void wt_mimi_free(wt_mimi *m) {
    if (!m) return;
    wt_ctx_free(m->ctx);
    free(m);
}

wt_mimi *wt_mimi_new_random(const wt_mimi_config *cfg, wt_dtype mdt, uint64_t seed) {
    return wt_mimi_new_random_on(NULL, cfg, mdt, seed);
}

const wt_mimi_config *wt_mimi_get_config(const wt_mimi *m) { return &m->cfg; }
const wt_backend *wt_mimi_backend(const wt_mimi *m) { return m->be; }
uint64_t wt_mimi_model_id(const wt_mimi *m) { return m->id; }
size_t wt_mimi_weight_bytes(const wt_mimi *m, int encoder) {
    return encoder ? m->enc_bytes : m->dec_bytes;
}

/* ---------------------------------------------------------------- layers */

wt_tensor *mimi_conv(wt_ctx *ctx, const wt_sconv *c, wt_sconv_state *st, const wt_tensor *x,
                     const wt_tensor *mask) {
    return st ? wt_sconv_step(ctx, c, st, x, mask) : wt_sconv_forward(ctx, c, x);
}

wt_tensor *mimi_convtr(wt_ctx *ctx, const wt_sconvtr *c, wt_sconv_state *st, const wt_tensor *x,
                       const wt_tensor *mask) {
    return st ? wt_sconvtr_step(ctx, c, st, x, mask) : wt_sconvtr_forward(ctx, c, x);
}

static wt_tensor *elu(wt_ctx *ctx, const wt_tensor *x) {
    return wt_unary(ctx, WT_UNARY_ELU, x, 1.0f);
}

/* In place, for a layer output nothing else reads. */
static wt_tensor *elu_(wt_ctx *ctx, wt_tensor *x) {
    return x ? wt_unary_(ctx, WT_UNARY_ELU, x, 1.0f) : NULL;
}

/* x + conv1x1(ELU(conv_k(ELU(x)))); the inner ELU and the sum overwrite
 * the conv outputs they consume (x itself is still the skip). */
static wt_tensor *res_block(wt_ctx *ctx, const mimi_res *r, wt_sconv_state *st, const wt_tensor *x,
                            const wt_tensor *mask) {
    wt_tensor *h = mimi_conv(ctx, &r->c1, st ? &st[0] : NULL, elu(ctx, x), mask);
    h = mimi_conv(ctx, &r->c2, st ? &st[1] : NULL, elu_(ctx, h), mask);
    return h ? wt_add_(ctx, h, x) : NULL;
}

#define ST(p) (ss ? (p) : NULL)

/* Offline (no stream state), each layer's temporaries and the previous
 * layer's output are freed once the next output exists: a whole clip's
 * SEANet at full rate would otherwise hold every intermediate at once
 * (~160 MB per second of audio). A step's arena ignores this. */
#define LAYER(expr) (ss ? (expr) : wt_ctx_release_(ctx, mark, (expr)))

wt_tensor *mimi_seanet_encode(wt_ctx *ctx, const wt_mimi *m, mimi_stream_state *ss,
                              const wt_tensor *in, const wt_tensor *mask) {
    int nres = m->cfg.n_residual_layers;
    wt_ctx_mark mark = wt_ctx_mark_(ctx);
    wt_tensor *x = LAYER(mimi_conv(ctx, &m->enc_in, ST(&ss->enc_in), in, mask));
    for (int i = 0; i < WT_MIMI_STAGES; i++) {
        for (int j = 0; j < nres; j++)
            x = LAYER(res_block(ctx, &m->enc_res[i][j], ST(ss->enc_res[i][j]), x, mask));
        x = LAYER(mimi_conv(ctx, &m->enc_down[i], ST(&ss->enc_down[i]), elu_(ctx, x), mask));
    }
    return LAYER(mimi_conv(ctx, &m->enc_out, ST(&ss->enc_out), elu_(ctx, x), mask));
}

wt_tensor *mimi_seanet_decode(wt_ctx *ctx, const wt_mimi *m, mimi_stream_state *ss,
                              const wt_tensor *in, const wt_tensor *mask) {
    int nres = m->cfg.n_residual_layers;
    wt_ctx_mark mark = wt_ctx_mark_(ctx);
    wt_tensor *x = LAYER(mimi_conv(ctx, &m->dec_in, ST(&ss->dec_in), in, mask));
    for (int i = 0; i < WT_MIMI_STAGES; i++) {
        x = LAYER(mimi_convtr(ctx, &m->dec_up[i], ST(&ss->dec_up[i]), elu_(ctx, x), mask));
        for (int j = 0; j < nres; j++)
            x = LAYER(res_block(ctx, &m->dec_res[i][j], ST(ss->dec_res[i][j]), x, mask));
    }
    return LAYER(mimi_conv(ctx, &m->dec_out, ST(&ss->dec_out), elu_(ctx, x), mask));
}

#undef LAYER

/* [B, D, T] through a transformer (whole clip, or one step with state). */
wt_tensor *mimi_transformer(wt_ctx *ctx, const wt_transformer *t, wt_transformer_state *st,
                            const wt_tensor *x, const wt_tensor *mask) {
    wt_tensor *xt = wt_contiguous(ctx, wt_transpose(ctx, x, 1, 2));
    wt_tensor *y = st ? wt_transformer_step(ctx, t, st, xt, mask) : wt_transformer_forward(ctx, t, xt);
    return wt_contiguous(ctx, wt_transpose(ctx, y, 1, 2));
}

/* Nearest codebook entry of each row of x [B, F, Dq]: argmin |e|^2 - 2 x.e. */
static wt_tensor *nearest(wt_ctx *ctx, const wt_tensor *x, const mimi_codebook *cb) {
    wt_tensor *d = wt_affine_(ctx, wt_linear(ctx, x, cb->e_dot, NULL), -2.0f, 0.0f);
    return wt_reduce(ctx, WT_REDUCE_ARGMIN, wt_add_(ctx, d, cb->norm2), -1, false);
}

wt_tensor *mimi_quantize(wt_ctx *ctx, const wt_mimi *m, const wt_tensor *latent, int k,
                         wt_mimi_trace *tr) {
    if (!latent) return NULL;
    int64_t b = latent->shape[0], f = latent->shape[2];
    wt_tensor *xt = wt_contiguous(ctx, wt_transpose(ctx, latent, 1, 2)); /* [B, F, D] */
    wt_tensor *codes = wt_tensor_new3(ctx, WT_I64, b, k, f);
    int64_t one[3] = {b, 1, f};
    wt_tensor *x1 = wt_linear(ctx, xt, m->sem_in, NULL);
    wt_copy_(ctx, wt_narrow(ctx, codes, 1, 0, 1), wt_view(ctx, nearest(ctx, x1, &m->cb[0]), 3, one));
    wt_tensor *r = NULL;
    if (k > 1 || (tr && tr->acoustic_proj_in)) r = wt_linear(ctx, xt, m->ac_in, NULL);
    if (tr) {
        tr->semantic_proj_in = wt_contiguous(ctx, wt_transpose(ctx, x1, 1, 2));
        if (r) tr->acoustic_proj_in = wt_contiguous(ctx, wt_transpose(ctx, r, 1, 2));
    }
    for (int i = 1; i < k; i++) {
        wt_tensor *c = nearest(ctx, r, &m->cb[i]);
        wt_copy_(ctx, wt_narrow(ctx, codes, 1, i, 1), wt_view(ctx, c, 3, one));
        if (i + 1 < k) r = wt_sub(ctx, r, wt_index_select(ctx, m->cb[i].e, 0, c));
    }
    return wt_ctx_status(ctx) == WT_OK ? codes : NULL;
}

wt_tensor *mimi_dequantize(wt_ctx *ctx, const wt_mimi *m, const wt_tensor *codes) {
    if (!codes) return NULL;
    int k = (int)codes->shape[1];
    int64_t b = codes->shape[0], f = codes->shape[2];
    wt_tensor *ac = NULL;
    for (int i = 1; i < k; i++) {
        wt_tensor *c = wt_contiguous(ctx, wt_narrow(ctx, codes, 1, i, 1));
        wt_tensor *e = wt_index_select(ctx, m->cb[i].e, 0, c); /* [B, 1, F, Dq] */
        ac = ac ? wt_add_(ctx, ac, e) : e;
    }
    wt_tensor *c0 = wt_contiguous(ctx, wt_narrow(ctx, codes, 1, 0, 1));
    wt_tensor *q = wt_linear(ctx, wt_index_select(ctx, m->cb[0].e, 0, c0), m->sem_out, NULL);
    if (ac) q = wt_add_(ctx, q, wt_linear(ctx, ac, m->ac_out, NULL));
    int64_t shp[3] = {b, f, m->cfg.dimension};
    return wt_contiguous(ctx, wt_transpose(ctx, wt_view(ctx, q, 3, shp), 1, 2)); /* [B, D, F] */
}

/* ---------------------------------------------------------------- whole clip */

wt_status mimi_check_codes(const wt_mimi *m, const int64_t *codes, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (codes[i] < 0 || codes[i] >= m->cfg.bins)
            return wt_error(WT_ERR_INVALID, "mimi: code %lld is outside 0..%d", (long long)codes[i],
                            m->cfg.bins - 1);
    return WT_OK;
}

/* A NULL input, or a context or input on another backend than the weights. */
static bool bad_input(const wt_mimi *m, wt_ctx *ctx, const wt_tensor *t, const char *what) {
    if (!t) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "mimi %s: NULL tensor", what);
        return true;
    }
    const wt_backend *cb = wt_ctx_backend(ctx);
    if (cb != m->be || t->backend != m->be) {
        wt_ctx_fail(ctx, WT_ERR_INVALID,
                    "mimi %s: the model is on the %s backend but the %s is on %s (upload the "
                    "input to a context of the model's backend)",
                    what, m->be->name, cb != m->be ? "context" : "input",
                    cb != m->be ? cb->name : t->backend->name);
        return true;
    }
    return false;
}

/* Range check of codes on the host: a device index op would silently read
 * zero rows for a bad code (engine/backend.h), so device codes are
 * downloaded first (whole-clip work may synchronise). */
static wt_status check_tensor_codes(const wt_mimi *m, const wt_tensor *c) {
    int64_t n = wt_numel(c);
    if (c->backend->host) return mimi_check_codes(m, c->data, n);
    int64_t *buf = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!buf) return wt_error(WT_ERR_NOMEM, "mimi decode: out of memory");
    wt_status s = c->backend->download(buf, c->data, sizeof(int64_t) * (size_t)n);
    if (s == WT_OK) s = mimi_check_codes(m, buf, n);
    free(buf);
    return s;
}

wt_tensor *wt_mimi_encode(wt_mimi *m, wt_ctx *ctx, const wt_tensor *pcm, int k, wt_mimi_trace *tr) {
    if (wt_ctx_status(ctx) != WT_OK || bad_input(m, ctx, pcm, "encode")) return NULL;
    int fs = wt_mimi_frame_size(&m->cfg);
    if (pcm->ndim != 3 || pcm->shape[1] != 1 || pcm->dtype != WT_F32 || pcm->shape[2] <= 0 ||
        pcm->shape[2] % fs) {
        char s[96];
        wt_ctx_fail(ctx, WT_ERR_INVALID,
                    "mimi encode: audio must be f32 [B, 1, T] with T a positive multiple of %d, got %s",
                    fs, wt_shape_str(pcm, s, sizeof s));
        return NULL;
    }
    if (k < 1 || k > m->cfg.n_q) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "mimi encode: %d codebooks asked, the model has 1..%d", k,
                    m->cfg.n_q);
        return NULL;
    }
    wt_tensor *x = mimi_seanet_encode(ctx, m, NULL, pcm, NULL);
    if (tr) tr->enc_seanet_out = x;
    x = mimi_transformer(ctx, &m->enc_tr, NULL, x, NULL);
    if (tr) tr->enc_transformer_out = x;
    x = mimi_conv(ctx, &m->downsample, NULL, x, NULL);
    if (tr) tr->latent = x;
    return mimi_quantize(ctx, m, x, k, tr);
}

wt_tensor *wt_mimi_decode(wt_mimi *m, wt_ctx *ctx, const wt_tensor *codes, wt_mimi_trace *tr) {
    if (wt_ctx_status(ctx) != WT_OK || bad_input(m, ctx, codes, "decode")) return NULL;
    if (codes->ndim != 3 || codes->dtype != WT_I64 || codes->shape[1] < 1 ||
        codes->shape[1] > m->cfg.n_q || codes->shape[2] < 1) {
        char s[96];
        wt_ctx_fail(ctx, WT_ERR_INVALID, "mimi decode: codes must be i64 [B, 1..%d, F>0], got %s",
                    m->cfg.n_q, wt_shape_str(codes, s, sizeof s));
        return NULL;
    }
    wt_tensor *c = wt_contiguous(ctx, codes);
    if (!c) return NULL;
    if (check_tensor_codes(m, c) != WT_OK) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s", wt_last_error());
        return NULL;
    }
    wt_tensor *x = mimi_dequantize(ctx, m, c);
    if (tr) tr->quantized = x;
    x = mimi_convtr(ctx, &m->upsample, NULL, x, NULL);
    if (tr) tr->dec_upsample_out = x;
    x = mimi_transformer(ctx, &m->dec_tr, NULL, x, NULL);
    if (tr) tr->dec_transformer_out = x;
    return mimi_seanet_decode(ctx, m, NULL, x, NULL);
}
