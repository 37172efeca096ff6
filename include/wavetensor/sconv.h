/* wavetensor streamable causal convolutions: conv1d and conv-transpose1d with
 * per-stream state (conv tails, overlap-add tails).
 * Owns: the layer description (weights are borrowed from the model), the
 * offline (whole-clip) forward pass, and the streaming step with a stream
 * mask. A step only calls ops on the step's context and writes the state
 * tensors in place: it never allocates outside that context. */
#ifndef WAVETENSOR_SCONV_H
#define WAVETENSOR_SCONV_H

#include <stdbool.h>

#include "wavetensor/ctx.h"
#include "wavetensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Left padding of the first step of a causal conv. */
typedef enum wt_sconv_pad {
    WT_SCONV_PAD_ZERO,      /* zeros (SEANet convs) */
    WT_SCONV_PAD_REPLICATE, /* copies of the stream's first input frame (Mimi downsample) */
} wt_sconv_pad;

/* A causal conv1d: w [Cout, Cin/groups, K], bias [Cout] or NULL. Its state
 * is the last P = (K-1)*dilation + 1 - stride inputs. */
typedef struct wt_sconv {
    const wt_tensor *w, *bias;
    int stride, dilation, groups;
    wt_sconv_pad pad;
} wt_sconv;

/* A causal conv-transpose1d: w [Cin, Cout/groups, K], bias [Cout] or NULL.
 * Its state is the last K - stride outputs (without bias) of the previous
 * step, added into the first K - stride outputs of the next one. */
typedef struct wt_sconvtr {
    const wt_tensor *w, *bias;
    int stride, groups;
} wt_sconvtr;

/* Per-stream state of one layer (persistent tensors from the model's state
 * context). `tail` is [B, C, P] (NULL when P = 0); `fresh` [B, 1, 1] f32 is
 * 1 until the stream's first step (replicate padding only). */
typedef struct wt_sconv_state {
    wt_tensor *tail;
    wt_tensor *fresh;
} wt_sconv_state;

/* Inputs kept by a conv: (K-1)*dilation + 1 - stride (>= 0). */
int wt_sconv_tail_len(const wt_sconv *c);
/* Whole-clip causal conv: x [B, Cin, T] with T a multiple of the stride ->
 * [B, Cout, T/stride]. */
wt_tensor *wt_sconv_forward(wt_ctx *ctx, const wt_sconv *c, const wt_tensor *x);
/* Allocates the state for `batch` streams in `state_ctx` and resets it. */
wt_status wt_sconv_state_init(wt_sconv_state *st, const wt_sconv *c, wt_ctx *state_ctx, int batch);
/* Resets stream b (b < 0: all streams). Not part of a step: call between steps. */
void wt_sconv_state_reset(wt_sconv_state *st, wt_ctx *ctx, int b);
/* One step: x [B, Cin, L] (L a multiple of the stride) -> [B, Cout, L/stride].
 * mask [B, 1, 1] f32 (1 active, 0 frozen) or NULL (all active): the state
 * of an inactive stream is left bit-for-bit unchanged. */
wt_tensor *wt_sconv_step(wt_ctx *ctx, const wt_sconv *c, wt_sconv_state *st, const wt_tensor *x,
                         const wt_tensor *mask);

/* Outputs carried over by a conv-transpose: K - stride. */
int wt_sconvtr_tail_len(const wt_sconvtr *c);
/* Whole-clip causal conv-transpose: x [B, Cin, T] -> [B, Cout, T*stride]
 * (the trailing K - stride outputs are dropped). */
wt_tensor *wt_sconvtr_forward(wt_ctx *ctx, const wt_sconvtr *c, const wt_tensor *x);
wt_status wt_sconvtr_state_init(wt_sconv_state *st, const wt_sconvtr *c, wt_ctx *state_ctx,
                                int batch);
void wt_sconvtr_state_reset(wt_sconv_state *st, wt_ctx *ctx, int b);
/* One step: x [B, Cin, L] -> [B, Cout, L*stride]; mask as for wt_sconv_step. */
wt_tensor *wt_sconvtr_step(wt_ctx *ctx, const wt_sconvtr *c, wt_sconv_state *st,
                           const wt_tensor *x, const wt_tensor *mask);

/* state = mask ? fresh : state, per stream (mask [B,1,...] f32 of 0/1, NULL
 * = all): the masked state update every streaming layer uses. Written as
 * fresh*m + state*(1-m), which is exact for finite values and keeps the step
 * free of host-side branches (the same ops run whatever the mask). */
wt_tensor *wt_masked_update_(wt_ctx *ctx, wt_tensor *state, const wt_tensor *fresh,
                             const wt_tensor *mask);

#ifdef __cplusplus
}
#endif
#endif
