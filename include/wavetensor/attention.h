/* wavetensor causal transformer (Mimi's encoder/decoder transformer): pre-norm
 * layers with multi-head self-attention, RoPE, layer scale and a GELU MLP,
 * whole-clip and streaming with a fixed key/value ring.
 * Owns: the layer description (weights borrowed from the model) and the
 * streaming state (KV rings, slot positions, stream positions) allocated once
 * at setup. A streaming step runs the same ops on the same shapes and state
 * addresses every frame: positions and ring cursors are state tensors read by
 * the ops, never kernel arguments. Never allocates outside the step context.
 * Any backend: setup uploads the state's constants from the host; a step or
 * a reset only launches ops (no host access to the state's memory), so a
 * step can be recorded and replayed as a graph. */
#ifndef WAVETENSOR_ATTENTION_H
#define WAVETENSOR_ATTENTION_H

#include "wavetensor/ctx.h"
#include "wavetensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WT_TRANSFORMER_MAX_LAYERS 64

/* One layer: x += s1 * Attn(LN1(x)); x += s2 * W2 GELU(W1 LN2(x)). */
typedef struct wt_tlayer {
    const wt_tensor *norm1_w, *norm1_b, *norm2_w, *norm2_b; /* [D] */
    const wt_tensor *in_proj;  /* [3D, D]: q, k, v rows */
    const wt_tensor *out_proj; /* [D, D] */
    const wt_tensor *linear1;  /* [F, D] */
    const wt_tensor *linear2;  /* [D, F] */
    const wt_tensor *scale1, *scale2; /* layer scale [D], or NULL */
} wt_tlayer;

typedef struct wt_transformer {
    int d_model, num_heads, num_layers, dim_ff;
    int context;      /* a query sees keys at most context-1 steps back */
    float max_period; /* RoPE base */
    float norm_eps;
    wt_tlayer *layers; /* num_layers entries, owned by the model */
} wt_transformer;

/* Whole clip: x [B, T, D] at positions 0..T-1 -> [B, T, D]. */
wt_tensor *wt_transformer_forward(wt_ctx *ctx, const wt_transformer *t, const wt_tensor *x);

/* Streaming state for `batch` streams and `steps` positions per step. */
typedef struct wt_transformer_state {
    int batch, steps;
    wt_tensor *pos;      /* i64 [B]: absolute position of the next step's first query */
    wt_tensor *cursor;   /* f32 [B, 1]: ring slot the next position is written to */
    wt_tensor *slot_pos; /* f32 [B*context + 1, 1]: position held by each ring slot
                            (+huge when empty); the last row takes masked writes */
    wt_tensor *k[WT_TRANSFORMER_MAX_LAYERS]; /* per layer [B*H*context + 1, hd], f32 or the
                            weights' f16 / bf16: rings in [B, H, ctx] order plus one
                            row that takes masked writes */
    wt_tensor *v[WT_TRANSFORMER_MAX_LAYERS];
    /* constants built at setup */
    wt_tensor *ones;     /* f32 [B, 1, 1] (mask when the caller passes NULL) */
    wt_tensor *arange;   /* f32 [1, steps]: 0..steps-1 */
    wt_tensor *kv_base;  /* f32 [B, H, 1]: first row of each (stream, head) ring */
    wt_tensor *pos_base; /* f32 [B, 1]: first row of each stream in slot_pos */
} wt_transformer_state;

/* Allocates the state in state_ctx (persistent, on any backend) and resets
 * every stream. Needs 1 <= steps <= context. */
wt_status wt_transformer_state_init(wt_transformer_state *st, const wt_transformer *t,
                                    wt_ctx *state_ctx, int batch, int steps);
/* Resets stream b (b < 0: all) to position 0 with an empty ring. Between
 * steps only; allocation free. */
void wt_transformer_state_reset(wt_transformer_state *st, const wt_transformer *t, wt_ctx *ctx,
                                int b);
/* One step: x [B, steps, D] -> [B, steps, D]. Each layer writes the step's
 * keys/values into its ring before attending, so a query at position p sees
 * the ring's keys at positions <= p (the last `context` written, this step's
 * included). mask [B, 1, 1] f32 (1 active, 0 frozen) or NULL: a frozen
 * stream's state is unchanged and its output meaningless. */
wt_tensor *wt_transformer_step(wt_ctx *ctx, const wt_transformer *t, wt_transformer_state *st,
                               const wt_tensor *x, const wt_tensor *mask);

#ifdef __cplusplus
}
#endif
#endif
