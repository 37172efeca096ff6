/* Mimi streaming encoder and decoder (see wavetensor/mimi.h).
 * Setup allocates the state (conv tails, KV rings, positions) and plans the
 * step arena by a dry run with every stream frozen, which leaves the fresh
 * state untouched. A step then uploads its input into fixed tensors, rewinds
 * the arena and runs the same ops on the same addresses every frame. */
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/models/mimi_impl.h"
#include "wavetensor/ops.h"

typedef struct mimi_stream {
    wt_mimi *m;
    int encoder, batch, k, fs;
    wt_ctx *sctx;     /* persistent state and step inputs */
    wt_ctx *arena;    /* step temporaries */
    wt_tensor *in;    /* encoder: f32 [B, 1, fs]; decoder: i64 [B, K, 1] */
    wt_tensor *mask;  /* f32 [B, 1, 1] */
    float *mask_host; /* [B] */
    void *out_host;   /* encoder: i64 [B*K]; decoder: f32 [B*fs] */
    int64_t *codes_host;
    wt_tensor *latent; /* encoder: the last step's latent [B, D, 1] (in the arena) */
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

/* The step's ops: encoder [B,1,fs] -> codes [B,K,1]; decoder codes -> [B,1,fs]. */
static wt_tensor *run_step(mimi_stream *s, wt_ctx *ctx) {
    const wt_mimi *m = s->m;
    mimi_stream_state *st = &s->st;
    if (s->encoder) {
        wt_tensor *x = mimi_seanet_encode(ctx, m, st, s->in, s->mask);
        x = mimi_transformer(ctx, &m->enc_tr, &st->tr, x, s->mask);
        x = mimi_conv(ctx, &m->downsample, &st->downsample, x, s->mask);
        s->latent = x;
        return mimi_quantize(ctx, m, x, s->k, NULL);
    }
    wt_tensor *x = mimi_dequantize(ctx, m, s->in);
    x = mimi_convtr(ctx, &m->upsample, &st->upsample, x, s->mask);
    x = mimi_transformer(ctx, &m->dec_tr, &st->tr, x, s->mask);
    return mimi_seanet_decode(ctx, m, st, x, s->mask);
}

static void stream_deinit(mimi_stream *s) {
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
    s->sctx = wt_ctx_new_heap(NULL);
    s->mask_host = malloc(sizeof(float) * (size_t)batch);
    s->codes_host = malloc(sizeof(int64_t) * (size_t)batch * (size_t)k);
    s->out_host = malloc(encoder ? sizeof(int64_t) * (size_t)batch * (size_t)k
                                 : sizeof(float) * (size_t)batch * (size_t)s->fs);
    if (!s->sctx || !s->mask_host || !s->codes_host || !s->out_host)
        return wt_error(WT_ERR_NOMEM, "mimi stream: out of memory");
    s->in = encoder ? wt_tensor_new3(s->sctx, WT_F32, batch, 1, s->fs)
                    : wt_tensor_new3(s->sctx, WT_I64, batch, k, 1);
    s->mask = wt_tensor_new3(s->sctx, WT_F32, batch, 1, 1);
    wt_fill_(s->sctx, s->in, 0.0);
    /* dry run with every stream frozen: plans the arena, leaves the state as is */
    wt_fill_(s->sctx, s->mask, 0.0);
    wt_status st = wt_ctx_status(s->sctx);
    if (st == WT_OK) st = init_state(s);
    if (st != WT_OK) return wt_error(st, "mimi stream: %s", wt_ctx_error(s->sctx));
    wt_ctx *plan = wt_ctx_new_heap(NULL);
    if (!plan) return WT_ERR_NOMEM;
    wt_ctx_set_threads(plan, threads);
    wt_tensor *y = run_step(s, plan);
    st = wt_ctx_status(plan);
    if (!y || st != WT_OK) {
        st = wt_error(st ? st : WT_ERR_INVALID, "mimi stream: planning step failed: %s",
                      wt_ctx_error(plan));
        wt_ctx_free(plan);
        return st;
    }
    s->arena = wt_ctx_new_arena_like(plan);
    wt_ctx_free(plan);
    if (!s->arena) return WT_ERR_NOMEM;
    wt_ctx_set_threads(s->arena, threads);
    return WT_OK;
}

/* Mask upload: 1 for active streams, 0 for frozen ones. */
static void upload_mask(mimi_stream *s, const uint8_t *active) {
    for (int b = 0; b < s->batch; b++) s->mask_host[b] = (!active || active[b]) ? 1.0f : 0.0f;
    s->mask->backend->upload(s->mask->data, s->mask_host, sizeof(float) * (size_t)s->batch);
}

static wt_status step_fail(mimi_stream *s, const char *what) {
    return wt_error(wt_ctx_status(s->arena) ? wt_ctx_status(s->arena) : WT_ERR_INVALID,
                    "mimi %s step: %s", what, wt_ctx_error(s->arena));
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
    s->in->backend->upload(s->in->data, pcm, sizeof(float) * (size_t)s->batch * (size_t)s->fs);
    upload_mask(s, active);
    wt_ctx_reset(s->arena);
    wt_tensor *y = run_step(s, s->arena);
    if (!y) return step_fail(s, "encoder");
    int64_t *out = s->out_host;
    y->backend->download(out, y->data, sizeof(int64_t) * (size_t)s->batch * (size_t)s->k);
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
    s->in->backend->upload(s->in->data, s->codes_host, sizeof(int64_t) * (size_t)s->batch * n);
    upload_mask(s, active);
    wt_ctx_reset(s->arena);
    wt_tensor *y = run_step(s, s->arena);
    if (!y) return step_fail(s, "decoder");
    float *out = s->out_host;
    y->backend->download(out, y->data, sizeof(float) * (size_t)s->batch * (size_t)s->fs);
    for (int b = 0; b < s->batch; b++)
        if (!active || active[b])
            memcpy(pcm + (size_t)b * s->fs, out + (size_t)b * s->fs, sizeof(float) * (size_t)s->fs);
    return WT_OK;
}

void wt_mimi_decoder_stream_reset(wt_mimi_decoder_stream *d, int b) {
    wt_ctx_reset(d->s.arena);
    reset_state(&d->s, d->s.arena, b);
}

const wt_ctx *wt_mimi_decoder_stream_ctx(const wt_mimi_decoder_stream *d) { return d->s.arena; }
