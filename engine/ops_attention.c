/* Attention over a key/value cache (wt_attention_cached, wt_attention_ring):
 * checks dtypes and shapes, brings every operand to the backend's 4-D form
 * (q [B, n, H, hd], caches [B, KVH, hd, S], pos [B, n], slot_pos [B, S]) as
 * stack views, and allocates the result. Positions are data, read by the
 * backend when it runs: nothing here depends on their values. */
#include <stdio.h>

#include "engine/ops_impl.h"

/* The operands seen by the backend. */
typedef struct attn_views {
    wt_tensor q, k, v, pos, slot_pos;
    int64_t B, n, H, hd, KVH, S;
} attn_views;

/* t with a leading dimension of size B and stride 0 inserted. */
static wt_tensor lead_broadcast(const wt_tensor *t, int64_t B) {
    wt_tensor r = *t;
    for (int d = t->ndim; d > 0; d--) {
        r.shape[d] = t->shape[d - 1];
        r.stride[d] = t->stride[d - 1];
    }
    r.shape[0] = B;
    r.stride[0] = 0;
    r.ndim = t->ndim + 1;
    return r;
}

/* A cache as [B, KVH, hd, S]: from [KVH*hd, S] (rows split into heads),
 * [KVH, hd, S] (shared by the batch) or [B, KVH, hd, S]. */
static bool cache_view(wt_ctx *ctx, const char *op, const char *what, const wt_tensor *c,
                       const wt_tensor *q, int64_t B, int64_t hd, wt_tensor *out) {
    char sc[160], sq[160];
    bool ok = c->ndim >= 2 && c->ndim <= 4 && (c->ndim != 4 || q->ndim == 4);
    if (ok && c->ndim == 2) ok = c->shape[0] % hd == 0 && c->shape[0] > 0;
    if (ok && c->ndim >= 3) ok = c->shape[c->ndim - 2] == hd;
    if (ok && c->ndim == 4) ok = c->shape[0] == B;
    if (!ok) {
        wt_ctx_fail(ctx, WT_ERR_INVALID,
                    "%s: %s shape %s does not fit q shape %s (expected [KVH*%lld, S], "
                    "[KVH, %lld, S] or [%lld, KVH, %lld, S])",
                    op, what, wt_shape_str(c, sc, sizeof sc), wt_shape_str(q, sq, sizeof sq),
                    (long long)hd, (long long)hd, (long long)B, (long long)hd);
        return false;
    }
    wt_tensor t = *c;
    if (c->ndim == 2) { /* [KVH*hd, S] -> [KVH, hd, S] */
        t.ndim = 3;
        t.shape[0] = c->shape[0] / hd;
        t.stride[0] = c->stride[0] * hd;
        t.shape[1] = hd;
        t.stride[1] = c->stride[0];
        t.shape[2] = c->shape[1];
        t.stride[2] = c->stride[1];
    }
    *out = t.ndim == 3 ? lead_broadcast(&t, B) : t;
    return true;
}

/* An i64 [m] or [B, m] tensor as [B, m] (stride 0 on B when shared). */
static bool batched_vec(wt_ctx *ctx, const char *op, const char *what, const wt_tensor *t,
                        int64_t B, int64_t m, const wt_tensor *ref,
                        const char *ref_name, wt_tensor *out) {
    if (!wt_ops_dtype_(ctx, op, what, t, WT_I64)) return false;
    bool ok = (t->ndim == 1 && t->shape[0] == m) ||
              (t->ndim == 2 && t->shape[1] == m && (t->shape[0] == B || t->shape[0] == 1));
    if (!ok) {
        char why[96];
        snprintf(why, sizeof why, "do not match (%s must be [%lld] or [%lld, %lld])", what,
                 (long long)m, (long long)B, (long long)m);
        wt_ops_shape_error_(ctx, op, ref_name, ref, what, t, why);
        return false;
    }
    *out = t->ndim == 1 ? lead_broadcast(t, B) : *t;
    if (out->shape[0] == 1) {
        out->shape[0] = B;
        out->stride[0] = 0;
    }
    return true;
}

static bool attn_args(wt_ctx *ctx, const char *op, const wt_tensor *q, const wt_tensor *k,
                      const wt_tensor *v, const wt_tensor *pos, const wt_tensor *slot_pos,
                      attn_views *a) {
    if (!wt_ops_dtype_(ctx, op, "q", q, WT_F32) || !wt_ops_dtype_(ctx, op, "kcache", k, WT_F32) ||
        !wt_ops_dtype_(ctx, op, "vcache", v, WT_F32))
        return false;
    char s1[160];
    if ((q->ndim != 3 && q->ndim != 4) || q->shape[q->ndim - 1] <= 0 || q->shape[q->ndim - 2] <= 0) {
        wt_ctx_fail(ctx, WT_ERR_INVALID, "%s: q shape %s is not [n, H, hd] or [B, n, H, hd]", op,
                    wt_shape_str(q, s1, sizeof s1));
        return false;
    }
    a->q = q->ndim == 3 ? lead_broadcast(q, 1) : *q;
    a->B = a->q.shape[0];
    a->n = a->q.shape[1];
    a->H = a->q.shape[2];
    a->hd = a->q.shape[3];
    if (!wt_ops_same_dims_(k, v)) {
        wt_ops_shape_error_(ctx, op, "kcache", k, "vcache", v, "differ");
        return false;
    }
    if (!cache_view(ctx, op, "kcache", k, q, a->B, a->hd, &a->k) ||
        !cache_view(ctx, op, "vcache", v, q, a->B, a->hd, &a->v))
        return false;
    a->KVH = a->k.shape[1];
    a->S = a->k.shape[3];
    if (a->H % a->KVH != 0 || a->S <= 0) {
        wt_ops_shape_error_(ctx, op, "q", q, "kcache", k,
                            a->S <= 0 ? "do not match (the cache has no slot)"
                                      : "do not match (query heads are not a multiple of kv heads)");
        return false;
    }
    if (!batched_vec(ctx, op, "pos", pos, a->B, a->n, q, "q", &a->pos)) return false;
    if (slot_pos && !batched_vec(ctx, op, "slot_pos", slot_pos, a->B, a->S, k, "kcache",
                                 &a->slot_pos))
        return false;
    return true;
}

static wt_tensor *attention(wt_ctx *ctx, const char *op, const wt_tensor *q, const wt_tensor *k,
                            const wt_tensor *v, const wt_tensor *pos, const wt_tensor *slot_pos,
                            float scale, int64_t window) {
    if (!wt_ops_ready_named_(ctx, op, 4, (const wt_tensor *const[]){q, k, v, pos})) return NULL;
    if (slot_pos && !wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){slot_pos}))
        return NULL;
    attn_views a;
    if (!attn_args(ctx, op, q, k, v, pos, slot_pos, &a)) return NULL;
    const wt_backend *be = wt_ops_be_(ctx);
    if (!be->attention) {
        wt_ctx_fail(ctx, WT_ERR_UNSUPPORTED, "%s: not implemented by the %s backend", op, be->name);
        return NULL;
    }
    int64_t shape[3] = {a.B, a.n, a.H * a.hd};
    wt_tensor *y = q->ndim == 4 ? wt_ops_out_(ctx, WT_F32, 3, shape)
                                : wt_ops_out_(ctx, WT_F32, 2, shape + 1);
    if (!y) return NULL;
    if (wt_numel(y) == 0) return y;
    /* the backend sees y as [B, n, H, hd] */
    wt_tensor y4 = *y;
    y4.ndim = 4;
    y4.shape[0] = a.B;
    y4.shape[1] = a.n;
    y4.shape[2] = a.H;
    y4.shape[3] = a.hd;
    y4.stride[3] = 1;
    y4.stride[2] = a.hd;
    y4.stride[1] = a.H * a.hd;
    y4.stride[0] = a.n * a.H * a.hd;
    wt_status s = be->attention(&y4, &a.q, &a.k, &a.v, &a.pos, slot_pos ? &a.slot_pos : NULL,
                                scale, window, wt_ctx_pool_(ctx));
    return wt_ops_check_(ctx, op, s) ? y : NULL;
}

wt_tensor *wt_attention_cached(wt_ctx *ctx, const wt_tensor *q, const wt_tensor *kcache,
                               const wt_tensor *vcache, const wt_tensor *pos, float scale,
                               int64_t window) {
    return attention(ctx, "wt_attention_cached", q, kcache, vcache, pos, NULL, scale, window);
}

wt_tensor *wt_attention_ring(wt_ctx *ctx, const wt_tensor *q, const wt_tensor *kcache,
                             const wt_tensor *vcache, const wt_tensor *pos,
                             const wt_tensor *slot_pos, float scale, int64_t window) {
    const char *op = "wt_attention_ring";
    if (!slot_pos) {
        /* a NULL input is an error like any other (sticky errors stay first) */
        wt_ops_ready_named_(ctx, op, 1, (const wt_tensor *const[]){slot_pos});
        return NULL;
    }
    return attention(ctx, op, q, kcache, vcache, pos, slot_pos, scale, window);
}
