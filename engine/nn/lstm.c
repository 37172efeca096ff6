/* LSTM layer on engine ops (see include/wavetensor/lstm.h). The input
 * projection of a whole sequence is one matmul per layer and direction; the
 * recurrence is one small matmul plus the gate math per time step. */
#include "wavetensor/lstm.h"

#include <stdio.h>

#include "wavetensor/ops.h"

static wt_status load_dir(wt_lstm *l, wt_weights *w, int layer, int dir, wt_dtype wdtype) {
    int H = l->hidden_size;
    int dirs = l->bidirectional ? 2 : 1;
    int64_t in = layer == 0 ? l->input_size : (int64_t)dirs * H;
    const char *sfx = dir ? "_reverse" : "";
    char name[64];
    int k = layer * dirs + dir;
    int64_t s_ih[2] = {4 * (int64_t)H, in}, s_hh[2] = {4 * (int64_t)H, H}, s_b[1] = {4 * (int64_t)H};
    wt_weights_set_dtype(w, wdtype);
    snprintf(name, sizeof name, "weight_ih_l%d%s", layer, sfx);
    l->w_ih[k] = wt_weights_get(w, name, 2, s_ih);
    snprintf(name, sizeof name, "weight_hh_l%d%s", layer, sfx);
    l->w_hh[k] = wt_weights_get(w, name, 2, s_hh);
    if (!l->w_ih[k] || !l->w_hh[k]) return WT_ERR_NOT_FOUND;
    /* Biases are kept in f32 whatever the weights' dtype: they are added
     * to f32 activations. */
    wt_weights_set_dtype(w, WT_F32);
    const wt_tensor **bias[2] = {&l->b_ih[k], &l->b_hh[k]};
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "bias_%s_l%d%s", i ? "hh" : "ih", layer, sfx);
        *bias[i] = wt_weights_get_opt(w, name, 1, s_b);
        /* Present but unloadable (wrong shape) is an error; absent is not. */
        if (!*bias[i] && wt_weights_has(w, name)) {
            wt_weights_set_dtype(w, wdtype);
            return WT_ERR_INVALID;
        }
    }
    wt_weights_set_dtype(w, wdtype);
    return WT_OK;
}

wt_status wt_lstm_load(wt_lstm *l, wt_weights *w, int input_size, int hidden_size,
                       int num_layers, bool bidirectional, wt_dtype weight_dtype) {
    if (input_size < 1 || hidden_size < 1 || num_layers < 1 || num_layers > WT_LSTM_MAX_LAYERS)
        return wt_error(WT_ERR_INVALID, "lstm: invalid sizes (input %d, hidden %d, layers %d)",
                        input_size, hidden_size, num_layers);
    *l = (wt_lstm){.input_size = input_size, .hidden_size = hidden_size,
                   .num_layers = num_layers, .bidirectional = bidirectional};
    for (int layer = 0; layer < num_layers; layer++)
        for (int dir = 0; dir < (bidirectional ? 2 : 1); dir++) {
            wt_status s = load_dir(l, w, layer, dir, weight_dtype);
            if (s != WT_OK) return s;
        }
    return WT_OK;
}

/* One direction of one layer: xproj [T, B, 4H] holds x W_ih^T + b_ih for
 * every step; h0/c0 [B, H] (or NULL for zeros) the initial state. Writes
 * out [T, B, H] and the final state into hN/cN (when not NULL). */
static bool run_dir(wt_ctx *ctx, const wt_lstm *l, int k, bool reverse, const wt_tensor *xproj,
                    const wt_tensor *h0, const wt_tensor *c0, wt_tensor *out, wt_tensor *hN,
                    wt_tensor *cN) {
    int64_t T = xproj->shape[0], H = l->hidden_size;
    const wt_tensor *h = h0, *c = c0;
    const wt_tensor *whh_t = wt_transpose(ctx, l->w_hh[k], 0, 1);
    for (int64_t step = 0; step < T; step++) {
        int64_t t = reverse ? T - 1 - step : step;
        wt_tensor *xt = wt_squeeze(ctx, wt_narrow(ctx, xproj, 0, t, 1), 0); /* [B, 4H] */
        wt_tensor *g;
        if (h) {
            /* PyTorch's order: (h W_hh^T + b_hh) + (x W_ih^T + b_ih). */
            g = wt_matmul(ctx, h, whh_t);
            if (l->b_hh[k]) wt_add_(ctx, g, l->b_hh[k]);
            wt_add_(ctx, g, xt);
        } else {
            /* Zero state: h W_hh^T is exactly 0. */
            g = l->b_hh[k] ? wt_add(ctx, xt, l->b_hh[k]) : wt_contiguous(ctx, xt);
        }
        if (!g) return false;
        wt_tensor *ig = wt_unary(ctx, WT_UNARY_SIGMOID, wt_narrow(ctx, g, 1, 0, H), 0);
        wt_tensor *fg = wt_unary(ctx, WT_UNARY_SIGMOID, wt_narrow(ctx, g, 1, H, H), 0);
        wt_tensor *gg = wt_unary(ctx, WT_UNARY_TANH, wt_narrow(ctx, g, 1, 2 * H, H), 0);
        wt_tensor *og = wt_unary(ctx, WT_UNARY_SIGMOID, wt_narrow(ctx, g, 1, 3 * H, H), 0);
        wt_tensor *cn = wt_mul(ctx, ig, gg);
        if (c) {
            wt_tensor *fc = wt_mul(ctx, fg, c);
            /* c' = f*c + i*g, summed in that order as PyTorch does. */
            cn = wt_add_(ctx, fc, cn);
        }
        wt_tensor *hn = wt_mul(ctx, og, wt_unary(ctx, WT_UNARY_TANH, cn, 0));
        if (!hn) return false;
        wt_copy_(ctx, wt_squeeze(ctx, wt_narrow(ctx, out, 0, t, 1), 0), hn);
        h = hn;
        c = cn;
    }
    if (hN && h) wt_copy_(ctx, hN, h);
    if (cN && c) wt_copy_(ctx, cN, c);
    if (hN && !h) wt_fill_(ctx, hN, 0.0); /* T == 0 with zero state */
    if (cN && !c) wt_fill_(ctx, cN, 0.0);
    return wt_ctx_status(ctx) == WT_OK;
}

wt_tensor *wt_lstm_forward(wt_ctx *ctx, const wt_lstm *l, const wt_tensor *x, wt_tensor *h,
                           wt_tensor *c) {
    if (wt_ctx_status(ctx) != WT_OK) return NULL;
    int dirs = l->bidirectional ? 2 : 1;
    int64_t H = l->hidden_size;
    if (!x || x->ndim != 3 || x->dtype != WT_F32 || x->shape[2] != l->input_size) {
        char buf[64] = "NULL";
        if (x) wt_shape_str(x, buf, sizeof buf);
        wt_ctx_fail(ctx, WT_ERR_INVALID, "lstm: input must be f32 [T, B, %d], got %s",
                    l->input_size, buf);
        return NULL;
    }
    int64_t T = x->shape[0], B = x->shape[1];
    if ((h == NULL) != (c == NULL)) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "lstm: pass both h and c, or neither");
        return NULL;
    }
    if (h) {
        int64_t want[3] = {(int64_t)l->num_layers * dirs, B, H};
        for (int i = 0; i < 2; i++) {
            const wt_tensor *s = i ? c : h;
            if (s->ndim != 3 || s->dtype != WT_F32 || s->shape[0] != want[0] ||
                s->shape[1] != want[1] || s->shape[2] != want[2]) {
                char buf[64];
                wt_ctx_fail(ctx, WT_ERR_INVALID,
                            "lstm: state %s must be f32 [%lld, %lld, %lld], got %s", i ? "c" : "h",
                            (long long)want[0], (long long)want[1], (long long)want[2],
                            wt_shape_str(s, buf, sizeof buf));
                return NULL;
            }
        }
    }
    const wt_tensor *in = x;
    wt_tensor *out = NULL;
    for (int layer = 0; layer < l->num_layers; layer++) {
        wt_tensor *douts[2] = {NULL, NULL};
        for (int dir = 0; dir < dirs; dir++) {
            int k = layer * dirs + dir;
            /* [T, B, in] -> [T, B, 4H] in one matmul for the whole sequence. */
            wt_tensor *xproj = wt_linear(ctx, in, l->w_ih[k], l->b_ih[k]);
            douts[dir] = wt_tensor_new3(ctx, WT_F32, T, B, H);
            wt_tensor *h0 = h ? wt_squeeze(ctx, wt_narrow(ctx, h, 0, k, 1), 0) : NULL;
            wt_tensor *c0 = c ? wt_squeeze(ctx, wt_narrow(ctx, c, 0, k, 1), 0) : NULL;
            if (!xproj || !douts[dir] || (h && (!h0 || !c0))) return NULL;
            /* The final state overwrites h/c only after the step used them:
             * run_dir reads h0/c0 at step 0 and writes hN/cN at the end. */
            if (!run_dir(ctx, l, k, dir == 1, xproj, h0, c0, douts[dir], h0, c0)) return NULL;
        }
        out = dirs == 2 ? wt_cat(ctx, (const wt_tensor *const *)douts, 2, 2) : douts[0];
        if (!out) return NULL;
        in = out;
    }
    return out;
}
