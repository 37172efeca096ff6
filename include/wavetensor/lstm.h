/* wavetensor LSTM layer: PyTorch nn.LSTM semantics (gates i, f, g, o; both
 * biases; multi-layer; unidirectional or bidirectional), built on engine ops.
 * Owns: the layer description (weights are borrowed from the model's
 * context) and the forward pass over a sequence with optional carried state.
 * It never allocates outside the context it is given: on an arena context a
 * step is allocation-free. Not thread safe per context; not callback safe. */
#ifndef WAVETENSOR_LSTM_H
#define WAVETENSOR_LSTM_H

#include <stdbool.h>

#include "wavetensor/ctx.h"
#include "wavetensor/tensor.h"
#include "wavetensor/weights.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WT_LSTM_MAX_LAYERS 8

/* Index [layer * dirs + dir] (dir 1 = reverse), as PyTorch orders h and c. */
typedef struct wt_lstm {
    int input_size, hidden_size, num_layers;
    bool bidirectional;
    const wt_tensor *w_ih[2 * WT_LSTM_MAX_LAYERS]; /* [4H, in] (in = 2H above layer 0 when bi) */
    const wt_tensor *w_hh[2 * WT_LSTM_MAX_LAYERS]; /* [4H, H] */
    const wt_tensor *b_ih[2 * WT_LSTM_MAX_LAYERS]; /* [4H] or NULL */
    const wt_tensor *b_hh[2 * WT_LSTM_MAX_LAYERS]; /* [4H] or NULL */
} wt_lstm;

/* Loads weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (and the
 * _reverse set when bidirectional) under the weights' current prefix, checking
 * shapes. Matrices are loaded as weight_dtype (f32, f16 or bf16), biases as
 * f32; the weights' dtype is left at weight_dtype. Biases are optional
 * (bias=False checkpoints). Errors name the tensor. */
wt_status wt_lstm_load(wt_lstm *l, wt_weights *w, int input_size, int hidden_size,
                       int num_layers, bool bidirectional, wt_dtype weight_dtype);

/* Runs the layer over x [T, B, input_size] (f32; time first, as nn.LSTM
 * without batch_first) and returns [T, B, dirs * hidden_size] allocated from
 * ctx. h and c ([layers * dirs, B, hidden_size], f32, contiguous) hold the
 * initial state and receive the final state; pass NULL for both to start
 * from zeros and drop the final state. NULL on error (recorded on ctx). */
wt_tensor *wt_lstm_forward(wt_ctx *ctx, const wt_lstm *l, const wt_tensor *x, wt_tensor *h,
                           wt_tensor *c);

#ifdef __cplusplus
}
#endif
#endif
