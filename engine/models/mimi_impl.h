/* Private layout of the Mimi model and its streaming state (engine/models only).
 * Owns: the struct shared by mimi.c (weights, whole clip) and mimi_stream.c. */
#ifndef WT_MIMI_IMPL_H
#define WT_MIMI_IMPL_H

#include "wavetensor/attention.h"
#include "wavetensor/mimi.h"
#include "wavetensor/sconv.h"
#include "wavetensor/weights.h"

#define WT_MIMI_STAGES 4          /* SEANet ratios */
#define WT_MIMI_MAX_RES 4         /* residual blocks per stage */
#define WT_MIMI_MAX_CODEBOOKS 64
#define WT_MIMI_CODEBOOK_EPS 1e-5 /* cluster_usage clamp */

typedef struct mimi_res {
    wt_sconv c1, c2; /* k conv (C -> C/compress), 1x1 conv back */
} mimi_res;

typedef struct mimi_codebook {
    wt_tensor *e;     /* f32 [bins, Dq]: what a code stands for */
    wt_tensor *e_dot; /* e in the model's matrix dtype, for the distances */
    wt_tensor *norm2; /* f32 [bins]: |e|^2 */
} mimi_codebook;

struct wt_mimi {
    wt_mimi_config cfg;
    const wt_backend *be; /* where the weights live and every pass runs */
    wt_ctx *ctx; /* weights and derived constants (on be) */
    uint64_t id;
    size_t enc_bytes, dec_bytes;
    /* encoder */
    wt_sconv enc_in, enc_down[WT_MIMI_STAGES], enc_out;
    mimi_res enc_res[WT_MIMI_STAGES][WT_MIMI_MAX_RES];
    wt_tlayer enc_layers[WT_TRANSFORMER_MAX_LAYERS];
    wt_transformer enc_tr;
    wt_sconv downsample;
    /* quantizer */
    const wt_tensor *sem_in, *ac_in;   /* [Dq, D] */
    const wt_tensor *sem_out, *ac_out; /* [D, Dq] */
    mimi_codebook cb[WT_MIMI_MAX_CODEBOOKS];
    /* decoder */
    wt_sconvtr upsample;
    wt_tlayer dec_layers[WT_TRANSFORMER_MAX_LAYERS];
    wt_transformer dec_tr;
    wt_sconv dec_in, dec_out;
    wt_sconvtr dec_up[WT_MIMI_STAGES];
    mimi_res dec_res[WT_MIMI_STAGES][WT_MIMI_MAX_RES];
};

/* Conv states of one direction (the other half stays unused). */
typedef struct mimi_stream_state {
    wt_sconv_state enc_in, enc_down[WT_MIMI_STAGES], enc_out, downsample;
    wt_sconv_state enc_res[WT_MIMI_STAGES][WT_MIMI_MAX_RES][2];
    wt_sconv_state upsample, dec_in, dec_out, dec_up[WT_MIMI_STAGES];
    wt_sconv_state dec_res[WT_MIMI_STAGES][WT_MIMI_MAX_RES][2];
    wt_transformer_state tr;
} mimi_stream_state;

/* Shared by both modes: a NULL stream state means whole clip. */
wt_tensor *mimi_conv(wt_ctx *ctx, const wt_sconv *c, wt_sconv_state *st, const wt_tensor *x,
                     const wt_tensor *mask);
wt_tensor *mimi_convtr(wt_ctx *ctx, const wt_sconvtr *c, wt_sconv_state *st, const wt_tensor *x,
                       const wt_tensor *mask);
wt_tensor *mimi_seanet_encode(wt_ctx *ctx, const wt_mimi *m, mimi_stream_state *ss,
                              const wt_tensor *x, const wt_tensor *mask);
wt_tensor *mimi_seanet_decode(wt_ctx *ctx, const wt_mimi *m, mimi_stream_state *ss,
                              const wt_tensor *x, const wt_tensor *mask);
wt_tensor *mimi_transformer(wt_ctx *ctx, const wt_transformer *t, wt_transformer_state *st,
                            const wt_tensor *x, const wt_tensor *mask);
/* latent [B, D, F] -> codes i64 [B, k, F]; fills the trace's projections. */
wt_tensor *mimi_quantize(wt_ctx *ctx, const wt_mimi *m, const wt_tensor *latent, int k,
                         wt_mimi_trace *tr);
/* codes i64 [B, K, F] (contiguous, in range) -> [B, D, F]. */
wt_tensor *mimi_dequantize(wt_ctx *ctx, const wt_mimi *m, const wt_tensor *codes);
/* WT_OK when every code is in 0..bins-1 (error message otherwise). */
wt_status mimi_check_codes(const wt_mimi *m, const int64_t *codes, int64_t n);

#endif
