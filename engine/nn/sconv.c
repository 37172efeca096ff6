/* Streamable causal conv1d / conv-transpose1d (see wavetensor/sconv.h).
 * Whole-clip and streaming paths share the weights and produce the same
 * numbers: the streaming path feeds the kept tail in front of each step
 * instead of padding. */
#include "wavetensor/sconv.h"

#include "wavetensor/ops.h"

int wt_sconv_tail_len(const wt_sconv *c) {
    int k = (int)c->w->shape[2];
    int p = (k - 1) * c->dilation + 1 - c->stride;
    return p > 0 ? p : 0;
}

int wt_sconvtr_tail_len(const wt_sconvtr *c) {
    int p = (int)c->w->shape[2] - c->stride;
    return p > 0 ? p : 0;
}

/* Stack view of batch entry b of a state tensor (dimension 0), so a reset
 * between steps needs no descriptor from any context. Only the address is
 * computed on the host, so this holds for device state too (the fill that
 * follows is an op). */
static wt_tensor batch_slice(const wt_tensor *t, int b) {
    wt_tensor v = *t;
    v.shape[0] = 1;
    v.data = (char *)t->data + (size_t)((int64_t)b * t->stride[0]) * wt_dtype_size(t->dtype);
    return v;
}

/* Fills entry b (all when b < 0) of t with v. */
static void fill_entries(wt_ctx *ctx, wt_tensor *t, int b, double v) {
    if (!t) return;
    if (b < 0) {
        wt_fill_(ctx, t, v);
        return;
    }
    wt_tensor s = batch_slice(t, b);
    wt_fill_(ctx, &s, v);
}

static wt_tensor *blend(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *b, const wt_tensor *m) {
    wt_tensor *inv = wt_affine(ctx, m, -1.0f, 1.0f);
    wt_tensor *x = wt_mul(ctx, a, m);
    return wt_add_(ctx, x, wt_mul(ctx, b, inv));
}

wt_tensor *wt_masked_update_(wt_ctx *ctx, wt_tensor *state, const wt_tensor *fresh,
                             const wt_tensor *mask) {
    if (!mask) return wt_copy_(ctx, state, fresh);
    return wt_copy_(ctx, state, blend(ctx, fresh, state, mask));
}

wt_tensor *wt_sconv_forward(wt_ctx *ctx, const wt_sconv *c, const wt_tensor *x) {
    int p = wt_sconv_tail_len(c);
    if (c->pad == WT_SCONV_PAD_REPLICATE && p > 0) {
        wt_tensor *xp = wt_pad(ctx, x, -1, p, 0, WT_PAD_REPLICATE, 0.0);
        return wt_conv1d(ctx, xp, c->w, c->bias, c->stride, 0, 0, c->dilation, c->groups);
    }
    return wt_conv1d(ctx, x, c->w, c->bias, c->stride, p, 0, c->dilation, c->groups);
}

wt_status wt_sconv_state_init(wt_sconv_state *st, const wt_sconv *c, wt_ctx *state_ctx, int batch) {
    int p = wt_sconv_tail_len(c);
    st->tail = NULL;
    st->fresh = NULL;
    if (p > 0) {
        int64_t cin = c->w->shape[1] * c->groups;
        st->tail = wt_tensor_new3(state_ctx, WT_F32, batch, cin, p);
        if (c->pad == WT_SCONV_PAD_REPLICATE)
            st->fresh = wt_tensor_new3(state_ctx, WT_F32, batch, 1, 1);
        if (!st->tail || (c->pad == WT_SCONV_PAD_REPLICATE && !st->fresh))
            return wt_ctx_status(state_ctx);
    }
    wt_sconv_state_reset(st, state_ctx, -1);
    return wt_ctx_status(state_ctx);
}

void wt_sconv_state_reset(wt_sconv_state *st, wt_ctx *ctx, int b) {
    fill_entries(ctx, st->tail, b, 0.0);
    fill_entries(ctx, st->fresh, b, 1.0);
}

wt_tensor *wt_sconv_step(wt_ctx *ctx, const wt_sconv *c, wt_sconv_state *st, const wt_tensor *x,
                         const wt_tensor *mask) {
    if (!x) return NULL;
    int p = wt_sconv_tail_len(c);
    if (p == 0) return wt_conv1d(ctx, x, c->w, c->bias, c->stride, 0, 0, c->dilation, c->groups);
    const wt_tensor *tail = st->tail;
    if (st->fresh) {
        /* A fresh stream pads with its first frame instead of the (zero) tail. */
        int64_t shp[3] = {x->shape[0], x->shape[1], p};
        wt_tensor *first = wt_broadcast_to(ctx, wt_narrow(ctx, x, -1, 0, 1), 3, shp);
        tail = blend(ctx, first, st->tail, st->fresh);
    }
    const wt_tensor *parts[2] = {tail, x};
    wt_tensor *xc = wt_cat(ctx, parts, 2, -1);
    wt_tensor *y = wt_conv1d(ctx, xc, c->w, c->bias, c->stride, 0, 0, c->dilation, c->groups);
    if (!y) return NULL;
    wt_masked_update_(ctx, st->tail, wt_narrow(ctx, xc, -1, x->shape[2], p), mask);
    if (st->fresh) {
        if (mask)
            wt_mul_(ctx, st->fresh, wt_affine(ctx, mask, -1.0f, 1.0f));
        else
            wt_fill_(ctx, st->fresh, 0.0);
    }
    return wt_ctx_status(ctx) == WT_OK ? y : NULL;
}

wt_tensor *wt_sconvtr_forward(wt_ctx *ctx, const wt_sconvtr *c, const wt_tensor *x) {
    if (!x) return NULL;
    wt_tensor *y = wt_conv_transpose1d(ctx, x, c->w, c->bias, c->stride, 0, 0, 1, c->groups);
    return wt_contiguous(ctx, wt_narrow(ctx, y, -1, 0, x->shape[2] * c->stride));
}

wt_status wt_sconvtr_state_init(wt_sconv_state *st, const wt_sconvtr *c, wt_ctx *state_ctx,
                                int batch) {
    int p = wt_sconvtr_tail_len(c);
    st->tail = NULL;
    st->fresh = NULL;
    if (p > 0) {
        int64_t cout = c->w->shape[1] * c->groups;
        st->tail = wt_tensor_new3(state_ctx, WT_F32, batch, cout, p);
        if (!st->tail) return wt_ctx_status(state_ctx);
    }
    wt_sconvtr_state_reset(st, state_ctx, -1);
    return wt_ctx_status(state_ctx);
}

void wt_sconvtr_state_reset(wt_sconv_state *st, wt_ctx *ctx, int b) {
    fill_entries(ctx, st->tail, b, 0.0);
}

wt_tensor *wt_sconvtr_step(wt_ctx *ctx, const wt_sconvtr *c, wt_sconv_state *st,
                           const wt_tensor *x, const wt_tensor *mask) {
    if (!x) return NULL;
    int p = wt_sconvtr_tail_len(c);
    int64_t n = x->shape[2] * c->stride;
    if (p > n) {
        wt_ctx_fail(ctx, WT_ERR_INVALID,
                    "conv-transpose step: %lld outputs per step cannot carry a tail of %d",
                    (long long)n, p);
        return NULL;
    }
    /* Bias is added after the overlap-add so the carried tail holds raw sums. */
    wt_tensor *y = wt_conv_transpose1d(ctx, x, c->w, NULL, c->stride, 0, 0, 1, c->groups);
    if (!y) return NULL;
    if (p > 0) {
        wt_add_(ctx, wt_narrow(ctx, y, -1, 0, p), st->tail);
        wt_masked_update_(ctx, st->tail, wt_narrow(ctx, y, -1, n, p), mask);
    }
    wt_tensor *out = wt_narrow(ctx, y, -1, 0, n);
    if (c->bias) {
        int64_t bs[2] = {c->bias->shape[0], 1};
        out = wt_add(ctx, out, wt_view(ctx, c->bias, 2, bs));
    } else {
        out = wt_contiguous(ctx, out);
    }
    return wt_ctx_status(ctx) == WT_OK ? out : NULL;
}
