/* Causal transformer, whole clip and streaming (see wavetensor/attention.h).
 *
 * The streaming KV cache is a ring of `context` slots per (stream, head),
 * stored flat as rows of [B*H*context + 1, hd] so that one scatter writes a
 * step's keys wherever each stream's cursor points; a frozen stream's rows
 * are sent to the extra last row instead. Which slot holds which position is
 * a state tensor (slot_pos), from which the additive attention mask is
 * computed: a key is visible iff its position <= the query's. Every ring
 * slot holds one of the last `context` positions written, so this is exactly
 * the reference's rule max(0, p-context+1, s+2-context) <= j <= p.
 *
 * Integer bookkeeping (positions, slots, row indices) is done with f32 ops,
 * exact below 2^24, i.e. 7.7 days of 25 Hz steps per stream. */
#include "wavetensor/attention.h"

#include <math.h>
#include <stdlib.h>

#include "engine/backend.h"
#include "wavetensor/ops.h"

#define EMPTY_SLOT 1e30f  /* position of a never-written slot: hidden from every query */

/* t[i] = i * step for a contiguous f32 or i64 tensor on any backend: built
 * on the host and uploaded (setup and whole-clip work only, never a step). */
static wt_status upload_ramp(wt_ctx *ctx, wt_tensor *t, double step) {
    if (!t) return wt_ctx_status(ctx);
    int64_t n = wt_numel(t);
    size_t es = wt_dtype_size(t->dtype);
    void *buf = malloc(es * (size_t)(n > 0 ? n : 1));
    if (!buf) return wt_ctx_fail(ctx, WT_ERR_NOMEM, "transformer: out of memory");
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == WT_I64) ((int64_t *)buf)[i] = (int64_t)((double)i * step);
        else ((float *)buf)[i] = (float)((double)i * step);
    }
    wt_status s = t->backend->upload(t->data, buf, es * (size_t)n);
    free(buf);
    if (s != WT_OK) return wt_ctx_fail(ctx, s, "transformer: upload failed: %s", wt_last_error());
    return WT_OK;
}

/* [B, T, 3D] -> q, k, v as [B, T, H, hd] views with RoPE applied to q and k. */
static void qkv_rope(wt_ctx *ctx, const wt_transformer *t, const wt_tlayer *l, const wt_tensor *h,
                     const wt_tensor *pos, wt_tensor **q, wt_tensor **k, wt_tensor **v) {
    int64_t d = t->d_model, nh = t->num_heads;
    wt_tensor *qkv = wt_linear(ctx, h, l->in_proj, NULL);
    int64_t shp[4] = {h->shape[0], h->shape[1], nh, d / nh};
    *q = wt_rope(ctx, wt_view(ctx, wt_narrow(ctx, qkv, -1, 0, d), 4, shp), pos, t->max_period,
                 WT_ROPE_INTERLEAVED);
    *k = wt_rope(ctx, wt_view(ctx, wt_narrow(ctx, qkv, -1, d, d), 4, shp), pos, t->max_period,
                 WT_ROPE_INTERLEAVED);
    *v = wt_view(ctx, wt_narrow(ctx, qkv, -1, 2 * d, d), 4, shp);
}

/* [B, T, H, hd] -> contiguous [B, H, T, hd]. */
static wt_tensor *heads_first(wt_ctx *ctx, const wt_tensor *x) {
    static const int perm[4] = {0, 2, 1, 3};
    return wt_contiguous(ctx, wt_permute(ctx, x, perm));
}

/* [B, H, T, hd] -> [B, T, D]. */
static wt_tensor *heads_merge(wt_ctx *ctx, const wt_tensor *o) {
    static const int perm[4] = {0, 2, 1, 3};
    int64_t shp[3] = {o->shape[0], o->shape[2], o->shape[1] * o->shape[3]};
    return wt_reshape(ctx, wt_permute(ctx, o, perm), 3, shp);
}

/* Residual MLP half of a layer, and the residual add of the attention half. */
static wt_tensor *residual(wt_ctx *ctx, const wt_tensor *x, wt_tensor *y, const wt_tensor *scale) {
    if (scale) y = wt_mul_(ctx, y, scale);
    return wt_add(ctx, x, y);
}

static wt_tensor *mlp_block(wt_ctx *ctx, const wt_transformer *t, const wt_tlayer *l,
                            const wt_tensor *x) {
    wt_tensor *h = wt_layer_norm(ctx, x, l->norm2_w, l->norm2_b, t->norm_eps);
    h = wt_unary_(ctx, WT_UNARY_GELU_ERF, wt_linear(ctx, h, l->linear1, NULL), 0.0f);
    return residual(ctx, x, wt_linear(ctx, h, l->linear2, NULL), l->scale2);
}

static float attn_scale(const wt_transformer *t) {
    return 1.0f / sqrtf((float)(t->d_model / t->num_heads));
}

wt_tensor *wt_transformer_forward(wt_ctx *ctx, const wt_transformer *t, const wt_tensor *x) {
    if (!x) return NULL;
    int64_t tlen = x->shape[1];
    wt_tensor *pos = wt_tensor_new1(ctx, WT_I64, tlen);
    if (upload_ramp(ctx, pos, 1.0) != WT_OK) return NULL;
    wt_tensor *cur = (wt_tensor *)x;
    for (int li = 0; li < t->num_layers; li++) {
        const wt_tlayer *l = &t->layers[li];
        wt_tensor *q, *k, *v;
        wt_tensor *h = wt_layer_norm(ctx, cur, l->norm1_w, l->norm1_b, t->norm_eps);
        qkv_rope(ctx, t, l, h, pos, &q, &k, &v);
        wt_tensor *kh = heads_first(ctx, k);
        wt_tensor *s = wt_matmul(ctx, heads_first(ctx, q), wt_transpose(ctx, kh, -1, -2));
        s = wt_softmax_(ctx, s, attn_scale(t), NULL, WT_MASK_CAUSAL, t->context);
        wt_tensor *o = heads_merge(ctx, wt_matmul(ctx, s, heads_first(ctx, v)));
        cur = residual(ctx, cur, wt_linear(ctx, o, l->out_proj, NULL), l->scale1);
        cur = mlp_block(ctx, t, l, cur);
    }
    return cur;
}

/* The rings are held in the dtype of the weights when those are f16 or
 * bf16: a step reads every ring whole (1 MiB a layer for Mimi in f32,
 * memory-bound), and keys and values rounded as the weights that made them
 * were cost no more accuracy than those weights did. */
static wt_dtype kv_dtype(const wt_transformer *t) {
    wt_dtype dt = t->num_layers > 0 ? t->layers[0].in_proj->dtype : WT_F32;
    return dt == WT_F16 || dt == WT_BF16 ? dt : WT_F32;
}

wt_status wt_transformer_state_init(wt_transformer_state *st, const wt_transformer *t,
                                    wt_ctx *sctx, int batch, int steps) {
    int64_t nh = t->num_heads, hd = t->d_model / t->num_heads, c = t->context;
    if (steps < 1 || steps > t->context || t->num_layers > WT_TRANSFORMER_MAX_LAYERS)
        return wt_ctx_fail(sctx, WT_ERR_INVALID,
                           "transformer stream: %d steps per call need a context >= %d (have %d) "
                           "and at most %d layers", steps, steps, t->context,
                           WT_TRANSFORMER_MAX_LAYERS);
    st->batch = batch;
    st->steps = steps;
    st->pos = wt_tensor_new1(sctx, WT_I64, batch);
    st->cursor = wt_tensor_new2(sctx, WT_F32, batch, 1);
    st->slot_pos = wt_tensor_new2(sctx, WT_F32, batch * c + 1, 1);
    /* every layer's ring in one block each for keys and values: a step reads
     * all of them, and a block this size goes on huge pages where the host
     * has them (a ring on 4 KiB pages streamed at 13-17 GB/s, 25 on 2 MiB) */
    int64_t nl = t->num_layers, rows_l = batch * nh * c + 1;
    wt_dtype kvdt = kv_dtype(t);
    wt_tensor *k_all = wt_tensor_new2(sctx, kvdt, nl * rows_l, hd);
    wt_tensor *v_all = wt_tensor_new2(sctx, kvdt, nl * rows_l, hd);
    wt_fill_(sctx, k_all, 0.0);
    wt_fill_(sctx, v_all, 0.0);
    for (int li = 0; li < t->num_layers; li++) {
        st->k[li] = wt_narrow(sctx, k_all, 0, li * rows_l, rows_l);
        st->v[li] = wt_narrow(sctx, v_all, 0, li * rows_l, rows_l);
    }
    st->ones = wt_fill_(sctx, wt_tensor_new3(sctx, WT_F32, batch, 1, 1), 1.0);
    st->arange = wt_tensor_new2(sctx, WT_F32, 1, steps);
    st->kv_base = wt_tensor_new3(sctx, WT_F32, batch, nh, 1);
    st->pos_base = wt_tensor_new2(sctx, WT_F32, batch, 1);
    if (wt_ctx_status(sctx) != WT_OK) return wt_ctx_status(sctx);
    /* 0..steps-1; first row of each stream's slots; of each (stream, head) ring */
    upload_ramp(sctx, st->arange, 1.0);
    upload_ramp(sctx, st->pos_base, (double)c);
    upload_ramp(sctx, st->kv_base, (double)c);
    wt_transformer_state_reset(st, t, sctx, -1);
    return wt_ctx_status(sctx);
}

/* Stack view of rows [r0, r0+n) of a 2-D state tensor (an address computed
 * on the host; valid for device state, which is then written by ops). */
static wt_tensor rows(const wt_tensor *t, int64_t r0, int64_t n) {
    wt_tensor v = *t;
    v.shape[0] = n;
    v.data = (char *)t->data + (size_t)(r0 * t->stride[0]) * wt_dtype_size(t->dtype);
    return v;
}

void wt_transformer_state_reset(wt_transformer_state *st, const wt_transformer *t, wt_ctx *ctx,
                                int b) {
    int64_t c = t->context;
    int64_t b0 = b < 0 ? 0 : b, nb = b < 0 ? st->batch : 1;
    wt_tensor r;
    r = rows(st->pos, b0, nb);
    wt_fill_(ctx, &r, 0.0);
    r = rows(st->cursor, b0, nb);
    wt_fill_(ctx, &r, 0.0);
    /* Emptying the slot positions is enough: stale keys are never visible. */
    r = rows(st->slot_pos, b0 * c, nb * c);
    wt_fill_(ctx, &r, EMPTY_SLOT);
}

/* x in [0, 2c) -> x mod c, for integer-valued f32 x. */
static wt_tensor *wrap(wt_ctx *ctx, wt_tensor *x, int64_t c) {
    /* over = 1 when x >= c: clamp(x - c + 1, 0, 1) */
    wt_tensor *over = wt_affine(ctx, x, 1.0f, (float)(1 - c));
    wt_tensor *zero = wt_affine(ctx, over, 0.0f, 0.0f);
    over = wt_binary(ctx, WT_BINARY_MAX, over, zero);
    over = wt_binary(ctx, WT_BINARY_MIN, over, wt_affine(ctx, zero, 0.0f, 1.0f));
    return wt_sub(ctx, x, wt_affine_(ctx, over, (float)c, 0.0f));
}

/* m*a + (1-m)*trash: a row index, or the masked-write row for frozen streams. */
static wt_tensor *row_or_trash(wt_ctx *ctx, const wt_tensor *a, const wt_tensor *m, float trash) {
    wt_tensor *inv = wt_affine(ctx, m, -trash, trash);
    return wt_add_(ctx, wt_mul(ctx, a, m), inv);
}

wt_tensor *wt_transformer_step(wt_ctx *ctx, const wt_transformer *t, wt_transformer_state *st,
                               const wt_tensor *x, const wt_tensor *mask) {
    if (!x) return NULL;
    int64_t bsz = st->batch, tn = st->steps, c = t->context, nh = t->num_heads;
    int64_t hd = t->d_model / nh;
    if (x->ndim != 3 || x->shape[0] != bsz || x->shape[1] != tn || x->shape[2] != t->d_model) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "transformer step: expected input [%lld, %lld, %d]",
                    (long long)bsz, (long long)tn, t->d_model);
        return NULL;
    }
    const wt_tensor *m = mask ? mask : st->ones;                 /* [B, 1, 1] */
    int64_t b1[2] = {bsz, 1};
    const wt_tensor *m2 = wt_view(ctx, m, 2, b1);                /* [B, 1] */

    /* positions of this step's queries, and the ring slots they go to */
    wt_tensor *p0 = wt_view(ctx, wt_to_dtype(ctx, st->pos, WT_F32), 2, b1);
    wt_tensor *qpos = wt_add(ctx, p0, st->arange);               /* [B, T] f32 */
    wt_tensor *qpos_i = wt_to_dtype(ctx, qpos, WT_I64);
    wt_tensor *slot = wrap(ctx, wt_add(ctx, st->cursor, st->arange), c); /* [B, T] */

    int64_t s3[3] = {bsz, 1, tn};
    wt_tensor *kv_row = row_or_trash(ctx, wt_add(ctx, st->kv_base, wt_view(ctx, slot, 3, s3)), m,
                                     (float)(bsz * nh * c));     /* [B, H, T] */
    int64_t flat[1] = {-1};
    wt_tensor *kv_idx = wt_view(ctx, wt_to_dtype(ctx, kv_row, WT_I64), 1, flat);
    wt_tensor *pos_row = row_or_trash(ctx, wt_add(ctx, st->pos_base, slot), m2, (float)(bsz * c));
    wt_tensor *pos_idx = wt_view(ctx, wt_to_dtype(ctx, pos_row, WT_I64), 1, flat);

    /* slot positions are written before attending, then the additive mask */
    int64_t col[2] = {bsz * tn, 1};
    wt_scatter_set_(ctx, st->slot_pos, 0, pos_idx, wt_view(ctx, qpos, 2, col));
    int64_t ks[4] = {bsz, 1, 1, c}, qs[4] = {bsz, 1, tn, 1};
    wt_tensor *kpos = wt_view(ctx, wt_narrow(ctx, st->slot_pos, 0, 0, bsz * c), 4, ks);
    wt_tensor *vis = wt_sub(ctx, wt_view(ctx, qpos, 4, qs), kpos); /* [B, 1, T, ctx] */
    wt_affine_(ctx, vis, 1.0f, 1.0f);
    wt_tensor *zero = wt_affine(ctx, vis, 0.0f, 0.0f);
    vis = wt_binary(ctx, WT_BINARY_MAX, vis, zero);
    vis = wt_binary(ctx, WT_BINARY_MIN, vis, wt_affine(ctx, zero, 0.0f, 1.0f));
    wt_tensor *amask = wt_affine(ctx, vis, EMPTY_SLOT, -EMPTY_SLOT); /* 0 or -1e30 */

    int64_t ring4[4] = {bsz, nh, c, hd}, rows2[2] = {bsz * nh * tn, hd};
    wt_tensor *cur = (wt_tensor *)x;
    for (int li = 0; li < t->num_layers; li++) {
        const wt_tlayer *l = &t->layers[li];
        wt_tensor *q, *k, *v;
        wt_tensor *h = wt_layer_norm(ctx, cur, l->norm1_w, l->norm1_b, t->norm_eps);
        qkv_rope(ctx, t, l, h, qpos_i, &q, &k, &v);
        wt_scatter_set_(ctx, st->k[li], 0, kv_idx, wt_view(ctx, heads_first(ctx, k), 2, rows2));
        wt_scatter_set_(ctx, st->v[li], 0, kv_idx, wt_view(ctx, heads_first(ctx, v), 2, rows2));
        wt_tensor *kr = wt_view(ctx, wt_narrow(ctx, st->k[li], 0, 0, bsz * nh * c), 4, ring4);
        wt_tensor *vr = wt_view(ctx, wt_narrow(ctx, st->v[li], 0, 0, bsz * nh * c), 4, ring4);
        wt_tensor *s = wt_matmul(ctx, heads_first(ctx, q), wt_transpose(ctx, kr, -1, -2));
        s = wt_softmax_(ctx, s, attn_scale(t), amask, WT_MASK_NONE, 0);
        wt_tensor *o = heads_merge(ctx, wt_matmul(ctx, s, vr));
        cur = residual(ctx, cur, wt_linear(ctx, o, l->out_proj, NULL), l->scale1);
        cur = mlp_block(ctx, t, l, cur);
    }

    /* advance active streams */
    wt_tensor *adv = wt_affine(ctx, m2, (float)tn, 0.0f);
    wt_copy_(ctx, st->pos, wt_view(ctx, wt_add(ctx, p0, adv), 1, flat));
    wt_copy_(ctx, st->cursor, wrap(ctx, wt_add(ctx, st->cursor, adv), c));
    return wt_ctx_status(ctx) == WT_OK ? cur : NULL;
}
