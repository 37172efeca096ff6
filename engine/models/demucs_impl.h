/* Private to engine/models/demucs*.c: the model's layout and the building
 * blocks shared by the offline pass and the streamer. Never allocates
 * outside the context a function is given. */
#ifndef WT_ENGINE_MODELS_DEMUCS_IMPL_H
#define WT_ENGINE_MODELS_DEMUCS_IMPL_H

#include "wavetensor/demucs.h"
#include "wavetensor/lstm.h"

/* Taps per side of the reference's windowed-sinc half-band filter. */
#define WT_DEMUCS_SINC_ZEROS 56

typedef struct wt_demucs_enc {
    const wt_tensor *conv_w, *conv_b; /* [h, cin, K], [h] */
    const wt_tensor *pw_w, *pw_b;     /* [h * (glu ? 2 : 1), h, 1], [...] */
} wt_demucs_enc;

typedef struct wt_demucs_dec {
    const wt_tensor *pw_w, *pw_b;     /* [h * (glu ? 2 : 1), h, 1] */
    const wt_tensor *convtr_w, *convtr_b; /* [h, cout, K], [cout] */
    wt_tensor *convtr_packed;             /* [cout * K, h]: convtr_w as a matrix, for matmul */
    int cout;
    bool relu; /* every decoder but the last (outermost) one */
} wt_demucs_dec;

struct wt_demucs {
    wt_demucs_config cfg;
    const wt_backend *be;                  /* where weights live and ops run */
    wt_ctx *wctx;                          /* owns weights and the sinc kernel (on be) */
    wt_demucs_enc enc[WT_DEMUCS_MAX_DEPTH]; /* enc[0] sees the audio */
    wt_demucs_dec dec[WT_DEMUCS_MAX_DEPTH]; /* dec[0] is the deepest */
    wt_lstm lstm;
    const wt_tensor *lin_w, *lin_b;        /* bidirectional only: [C, 2C], [C] */
    wt_tensor *sinc;                       /* [1, 1, 2 * zeros] f32 */
    size_t weight_bytes;
};

/* y = upsample2(x) and downsample2(x) of the reference for x [N, 1, T]. */
wt_tensor *wt_demucs_upsample2(wt_ctx *ctx, const wt_demucs *m, const wt_tensor *x);
wt_tensor *wt_demucs_downsample2(wt_ctx *ctx, const wt_demucs *m, const wt_tensor *x);
/* One encoder block: conv(K, S) -> ReLU -> 1x1 conv -> GLU (or ReLU).
 * `short_input` marks a streaming step's few output steps: on a device the
 * convs then run as matrix products over a strided view of the input (its
 * few-row kernel reads each weight once); the CPU's conv ops do that
 * themselves, so there it changes nothing. */
wt_tensor *wt_demucs_encode(wt_ctx *ctx, const wt_demucs *m, int i, const wt_tensor *x,
                            bool short_input);
/* The 1x1 conv and activation that open decoder j. */
wt_tensor *wt_demucs_decode_pw(wt_ctx *ctx, const wt_demucs *m, int j, const wt_tensor *x,
                               bool short_input);
/* Decoder j's transposed conv (no activation). */
wt_tensor *wt_demucs_decode_tr(wt_ctx *ctx, const wt_demucs *m, int j, const wt_tensor *x,
                               bool short_input);
/* The LSTM (and the linear layer of a bidirectional one) on x [B, C, L]. */
wt_tensor *wt_demucs_lstm(wt_ctx *ctx, const wt_demucs *m, const wt_tensor *x, wt_tensor *h,
                          wt_tensor *c);

#endif
