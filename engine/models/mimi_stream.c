/* Mimi streaming encoder and decoder (see wavetensor/mimi.h).
 * Setup allocates the state (conv tails, KV rings, positions) on the model's
 * backend and plans the step arena by a dry run with every stream frozen,
 * which leaves the fresh state untouched. A step uploads its input and mask
 * into fixed tensors, then runs the step function (rewind the arena, the
 * same ops on the same addresses every frame, result copied into a fixed
 * output tensor) through a step graph, which replays it as one recorded
 * graph on a device; the host only downloads the fixed output afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/ctx_impl.h"
#include "engine/models/mimi_impl.h"
#include "wavetensor/graph.h"
#include "wavetensor/ops.h"

typedef struct mimi_stream {
    wt_mimi *m;
    int encoder, batch, k, fs;
    wt_ctx *sctx;     /* persistent state and step inputs */
    wt_ctx *arena;    /* step temporaries */
    wt_tensor *in;    /* encoder: f32 [B, 1, fs]; decoder: i64 [B, K, 1] */
    wt_tensor *mask;  /* f32 [B, 1, 1] */
    wt_tensor *out;   /* encoder: i64 [B, K, 1]; decoder: f32 [B, 1, fs] */
    wt_tensor *latent; /* encoder: the last step's latent f32 [B, D, 1] */
    float *mask_host; /* [B] */
    void *out_host;   /* encoder: i64 [B*K]; decoder: f32 [B*fs] */
    int64_t *codes_host;
    wt_step_graph *graph; /* how steps run: eagerly or replayed */
    mimi_stream_state st;
} mimi_stream;

struct wt_mimi_encoder_stream { mimi_stream s; };
struct wt_mimi_decoder_stream { mimi_stream s; };

static wt_status init_res(wt_sconv_state st[][WT_MIMI_MAX_RES][2], const mimi_res r[][WT_MIMI_MAX_RES],
                          int nres, wt_ctx *c, int b) {
    for (int i = 0; i < WT_MIMI_STAGES; i++)
        for (int j = 0; j < nres; j++) {
            wt_sconv_state_init(&st[i][j][0], &r[i][j].c1, c, b);
            wt_sconv_state_init(&st[i][j][1], &r[i][j].c2, c, b);
        }
    return wt_ctx_status(c);
}

static wt_status init_state(mimi_stream *s) {
    const wt_mimi *m = s->m;
    mimi_stream_state *st = &s->st;
    wt_ctx *c = s->sctx;
    int b = s->batch, nres = m->cfg.n_residual_layers;
    int steps = s->fs / (wt_mimi_frame_size(&m->cfg) / 2); /* 25 Hz steps per frame */
    if (s->encoder) {
        wt_sconv_state_init(&st->enc_in, &m->enc_in, c, b);
        init_res(st->enc_res, m->enc_res, nres, c, b);
        for (int i = 0; i < WT_MIMI_STAGES; i++) wt_sconv_state_init(&st->enc_down[i], &m->enc_down[i], c, b);
        wt_sconv_state_init(&st->enc_out, &m->enc_out, c, b);
        wt_sconv_state_init(&st->downsample, &m->downsample, c, b);
        if (wt_ctx_status(c) != WT_OK) return wt_ctx_status(c);
        return wt_transformer_state_init(&st->tr, &m->enc_tr, c, b, steps);
    }
    wt_sconvtr_state_init(&st->upsample, &m->upsample, c, b);
    wt_sconv_state_init(&st->dec_in, &m->dec_in, c, b);
    for (int i = 0; i < WT_MIMI_STAGES; i++) wt_sconvtr_state_init(&st->dec_up[i], &m->dec_up[i], c, b);
    init_res(st->dec_res, m->dec_res, nres, c, b);
    wt_sconv_state_init(&st->dec_out, &m->dec_out, c, b);
    if (wt_ctx_status(c) != WT_OK) return wt_ctx_status(c);
    return wt_transformer_state_init(&st->tr, &m->dec_tr, c, b, steps);
}

static void reset_state(mimi_stream *s, wt_ctx *c, int b) {
    const wt_mimi *m = s->m;
    mimi_stream_state *st = &s->st;
    int nres = m->cfg.n_residual_layers;
    if (s->encoder) {
        wt_sconv_state_reset(&st->enc_in, c, b);
        for (int i = 0; i < WT_MIMI_STAGES; i++) {
            for (int j = 0; j < nres; j++) {
                wt_sconv_state_reset(&st->enc_res[i][j][0], c, b);
                wt_sconv_state_reset(&st->enc_res[i][j][1], c, b);
            }
            wt_sconv_state_reset(&st->enc_down[i], c, b);
        }
        wt_sconv_state_reset(&st->enc_out, c, b);
        wt_sconv_state_reset(&st->downsample, c, b);
        wt_transformer_state_reset(&st->tr, &m->enc_tr, c, b);
        return;
    }
    wt_sconvtr_state_reset(&st->upsample, c, b);
    wt_sconv_state_reset(&st->dec_in, c, b);
    for (int i = 0; i < WT_MIMI_STAGES; i++) {
        wt_sconvtr_state_reset(&st->dec_up[i], c, b);
        for (int j = 0; j < nres; j++) {
            wt_sconv_state_reset(&st->dec_res[i][j][0], c, b);
            wt_sconv_state_reset(&st->dec_res[i][j][1], c, b);
        }
    }
    wt_sconv_state_reset(&st->dec_out, c, b);
    wt_transformer_state_reset(&st->tr, &m->dec_tr, c, b);
}

/* The step's ops: encoder [B,1,fs] -> codes [B,K,1] (and the latent);
 * decoder codes -> [B,1,fs]; results copied into the fixed output tensors. */
static wt_status run_step(mimi_stream *s, wt_ctx *ctx) {
    const wt_mimi *m = s->m;
    mimi_stream_state *st = &s->st;
    if (s->encoder) {
        wt_tensor *x = mimi_seanet_encode(ctx, m, st, s->in, s->mask);
        x = mimi_transformer(ctx, &m->enc_tr, &st->tr, x, s->mask);
        x = mimi_conv(ctx, &m->downsample, &st->downsample, x, s->mask);
        wt_tensor *codes = mimi_quantize(ctx, m, x, s->k, NULL);
        if (codes) {
            wt_copy_(ctx, s->latent, x);
            wt_copy_(ctx, s->out, codes);
        }
    } else {
        wt_tensor *x = mimi_dequantize(ctx, m, s->in);
        x = mimi_convtr(ctx, &m->upsample, &st->upsample, x, s->mask);
        x = mimi_transformer(ctx, &m->dec_tr, &st->tr, x, s->mask);
        x = mimi_seanet_decode(ctx, m, st, x, s->mask);
        if (x) wt_copy_(ctx, s->out, x);
    }
    wt_status r = wt_ctx_status(ctx);
    return r == WT_OK ? WT_OK : wt_error(r, "%s", wt_ctx_error(ctx));
}

/* The step function of the step graph: the same ops on the same arena
 * addresses every call (rewound first). */
static wt_status step_fn(void *user) {
    mimi_stream *s = user;
    wt_ctx_reset(s->arena);
    return run_step(s, s->arena);
}

static void stream_deinit(mimi_stream *s) {
    wt_step_graph_free(s->graph);
    wt_ctx_free(s->arena);
    wt_ctx_free(s->sctx);
    free(s->mask_host);
    free(s->out_host);
    free(s->codes_host);
}

static wt_status stream_init(mimi_stream *s, wt_mimi *m, int encoder, int batch, int k,
                             int threads) {
    memset(s, 0, sizeof *s);
    s->m = m;
    s->encoder = encoder;
    s->batch = batch;
    s->k = k;
    s->fs = wt_mimi_frame_size(&m->cfg);
    if (batch < 1 || k < 1 || k > m->cfg.n_q)
        return wt_error(WT_ERR_INVALID, "mimi stream: batch %d / %d codebooks (model has 1..%d)",
                        batch, k, m->cfg.n_q);
    const wt_backend *be = m->be;
    s->sctx = wt_ctx_new_heap(be);
    /* the state is read every step for the stream's whole life, as weights are */
    if (s->sctx) wt_ctx_hold_weights_(s->sctx);
    s->mask_host = malloc(sizeof(float) * (size_t)batch);
    s->codes_host = malloc(sizeof(int64_t) * (size_t)batch * (size_t)k);
    s->out_host = malloc(encoder ? sizeof(int64_t) * (size_t)batch * (size_t)k
                                 : sizeof(float) * (size_t)batch * (size_t)s->fs);
    if (!s->sctx || !s->mask_host || !s->codes_host || !s->out_host)
        return wt_error(WT_ERR_NOMEM, "mimi stream: out of memory");
    s->in = encoder ? wt_tensor_new3(s->sctx, WT_F32, batch, 1, s->fs)
                    : wt_tensor_new3(s->sctx, WT_I64, batch, k, 1);
    s->mask = wt_tensor_new3(s->sctx, WT_F32, batch, 1, 1);
    s->out = encoder ? wt_tensor_new3(s->sctx, WT_I64, batch, k, 1)
                     : wt_tensor_new3(s->sctx, WT_F32, batch, 1, s->fs);
    if (encoder) s->latent = wt_tensor_new3(s->sctx, WT_F32, batch, m->cfg.dimension, 1);
    wt_fill_(s->sctx, s->in, 0.0);
    /* dry run with every stream frozen: plans the arena, leaves the state as is */
    wt_fill_(s->sctx, s->mask, 0.0);
    wt_status st = wt_ctx_status(s->sctx);
    if (st == WT_OK) st = init_state(s);
    if (st != WT_OK) return wt_error(st, "mimi stream: %s", wt_ctx_error(s->sctx));
    wt_ctx *plan = wt_ctx_new_heap(be);
    if (!plan) return WT_ERR_NOMEM;
    /* worker threads only help ops that run on this process's cores */
    if (be->host) wt_ctx_set_threads(plan, threads);
    st = run_step(s, plan);
    if (st != WT_OK) {
        st = wt_error(st, "mimi stream: planning step failed: %s", wt_ctx_error(plan));
        wt_ctx_free(plan);
        return st;
    }
    s->arena = wt_ctx_new_arena_like(plan);
    wt_ctx_free(plan);
    if (!s->arena) return WT_ERR_NOMEM;
    if (be->host) wt_ctx_set_threads(s->arena, threads);
    s->graph = wt_step_graph_new(be, true);
    return s->graph ? WT_OK : WT_ERR_NOMEM;
}

/* One step: input (already in host memory `in`, `in_bytes`) and mask
 * uploaded into their fixed tensors, the step run (eager or replayed), the
 * fixed output downloaded into out_host. */
static wt_status stream_run(mimi_stream *s, const void *in, size_t in_bytes,
                            const uint8_t *active, const char *what) {
    const wt_backend *be = s->m->be;
    size_t out_bytes = wt_nbytes(s->out);
    for (int b = 0; b < s->batch; b++) s->mask_host[b] = (!active || active[b]) ? 1.0f : 0.0f;
    wt_status r = be->upload(s->in->data, in, in_bytes);
    if (r == WT_OK) r = be->upload(s->mask->data, s->mask_host, sizeof(float) * (size_t)s->batch);
    if (r == WT_OK) r = wt_step_graph_run(s->graph, step_fn, s);
    if (r == WT_OK) r = be->download(s->out_host, s->out->data, out_bytes);
    if (r != WT_OK) {
        char msg[512]; /* wt_error rewrites the buffer wt_last_error points at */
        snprintf(msg, sizeof msg, "%s", wt_last_error());
        return wt_error(r, "mimi %s step: %s", what, msg);
    }
    return WT_OK;
}

static wt_status set_graphs(mimi_stream *s, bool on) {
    wt_step_graph *g = wt_step_graph_new(s->m->be, on);
    if (!g) return WT_ERR_NOMEM;
    wt_step_graph_free(s->graph);
    s->graph = g;
    return WT_OK;
}

/* ---------------------------------------------------------------- encoder */

wt_mimi_encoder_stream *wt_mimi_encoder_stream_new(wt_mimi *m, int batch, int k, int threads) {
    wt_mimi_encoder_stream *e = calloc(1, sizeof *e);
    if (!e) {
        wt_error(WT_ERR_NOMEM, "mimi stream: out of memory");
        return NULL;
    }
    if (stream_init(&e->s, m, 1, batch, k, threads) != WT_OK) {
        wt_mimi_encoder_stream_free(e);
        return NULL;
    }
    return e;
}

void wt_mimi_encoder_stream_free(wt_mimi_encoder_stream *e) {
    if (!e) return;
    stream_deinit(&e->s);
    free(e);
}

wt_status wt_mimi_encoder_stream_step(wt_mimi_encoder_stream *e, const float *pcm,
                                      const uint8_t *active, int64_t *codes) {
    mimi_stream *s = &e->s;
    wt_status r = stream_run(s, pcm, sizeof(float) * (size_t)s->batch * (size_t)s->fs, active,
                             "encoder");
    if (r != WT_OK) return r;
    const int64_t *out = s->out_host;
    for (int b = 0; b < s->batch; b++)
        if (!active || active[b])
            memcpy(codes + (size_t)b * s->k, out + (size_t)b * s->k, sizeof(int64_t) * (size_t)s->k);
    return WT_OK;
}

void wt_mimi_encoder_stream_reset(wt_mimi_encoder_stream *e, int b) {
    /* the arena holds nothing live between steps, so the reset may use it */
    wt_ctx_reset(e->s.arena);
    reset_state(&e->s, e->s.arena, b);
}

wt_status wt_mimi_encoder_stream_set_graphs(wt_mimi_encoder_stream *e, bool on) {
    return set_graphs(&e->s, on);
}

const wt_ctx *wt_mimi_encoder_stream_ctx(const wt_mimi_encoder_stream *e) { return e->s.arena; }

const wt_tensor *wt_mimi_encoder_stream_latent(const wt_mimi_encoder_stream *e) {
    return e->s.latent;
}

/* ---------------------------------------------------------------- decoder */

wt_mimi_decoder_stream *wt_mimi_decoder_stream_new(wt_mimi *m, int batch, int k, int threads) {
    wt_mimi_decoder_stream *d = calloc(1, sizeof *d);
    if (!d) {
        wt_error(WT_ERR_NOMEM, "mimi stream: out of memory");
        return NULL;
    }
    if (stream_init(&d->s, m, 0, batch, k, threads) != WT_OK) {
        wt_mimi_decoder_stream_free(d);
        return NULL;
    }
    return d;
}

void wt_mimi_decoder_stream_free(wt_mimi_decoder_stream *d) {
    if (!d) return;
    stream_deinit(&d->s);
    free(d);
}

wt_status wt_mimi_decoder_stream_step(wt_mimi_decoder_stream *d, const int64_t *codes,
                                      const uint8_t *active, float *pcm) {
    mimi_stream *s = &d->s;
    size_t n = (size_t)s->k;
    /* frozen entries decode code 0 (their output is dropped); checked before any state moves */
    for (int b = 0; b < s->batch; b++) {
        bool on = !active || active[b];
        for (size_t i = 0; on && i < n; i++)
            if (codes[b * n + i] < 0 || codes[b * n + i] >= s->m->cfg.bins)
                return wt_error(WT_ERR_INVALID, "mimi decoder step: stream %d: code %lld outside 0..%d",
                                b, (long long)codes[b * n + i], s->m->cfg.bins - 1);
        for (size_t i = 0; i < n; i++) s->codes_host[b * n + i] = on ? codes[b * n + i] : 0;
    }
    wt_status r = stream_run(s, s->codes_host, sizeof(int64_t) * (size_t)s->batch * n, active,
                             "decoder");
    if (r != WT_OK) return r;
    const float *out = s->out_host;
    for (int b = 0; b < s->batch; b++)
        if (!active || active[b])
            memcpy(pcm + (size_t)b * s->fs, out + (size_t)b * s->fs, sizeof(float) * (size_t)s->fs);
    return WT_OK;
}

void wt_mimi_decoder_stream_reset(wt_mimi_decoder_stream *d, int b) {
    wt_ctx_reset(d->s.arena);
    reset_state(&d->s, d->s.arena, b);
}

wt_status wt_mimi_decoder_stream_set_graphs(wt_mimi_decoder_stream *d, bool on) {
    return set_graphs(&d->s, on);
}

const wt_ctx *wt_mimi_decoder_stream_ctx(const wt_mimi_decoder_stream *d) { return d->s.arena; }
