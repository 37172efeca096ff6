/* CPU attention over a key/value cache (wt_attention_cached / _ring, see
 * ops.h and engine/backend.h).
 *
 * The queries that read one kv head of one batch entry (n queries times the
 * H/KVH heads of its group) are processed in tiles of ROWS rows against
 * blocks of BK keys with an online softmax: per row a running maximum, a
 * running sum and the output row itself as the accumulator, rescaled when a
 * later block raises the maximum. So no scratch memory beyond the stack is
 * needed whatever the cache length, each block of keys and values is read
 * once per tile (not once per query head), and only blocks holding visible
 * keys are visited: a decode step at position p reads p+1 keys, not S.
 * With the slot index at unit stride (Llama's transposed cache) the score
 * and value loops run along contiguous slots and vectorise; other strides
 * (a [slot, hd] ring) take the plain loops. All sums are f32. */
#include <math.h>

#include "backends/cpu/cpu_math.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_parallel.h"

/* ROWS x BK scores (16 KiB) stay in L1 beside the key rows being read. */
enum { ROWS = 8, BK = 512 };

/* Multiply-adds below which a call stays on one thread (a thread start
 * costs tens of microseconds). */
#define WT_ATTN_PARALLEL_WORK (1 << 19)

typedef struct attn_job {
    const wt_tensor *dst, *q, *k, *v, *pos, *slot_pos;
    float scale;
    int64_t window;
    int64_t G;     /* query heads per kv head */
    int64_t tiles; /* tiles of ROWS rows per (batch entry, kv head) */
} attn_job;

/* out[0..3] += dot(p, v + i*vs) for i < 4 over n slots: four independent
 * chains sharing the loads of p. */
static void dot4(float *out, const float *p, const float *v, int64_t vs, int64_t n) {
    float a0[WT_CPU_LANES] = {0}, a1[WT_CPU_LANES] = {0}, a2[WT_CPU_LANES] = {0},
          a3[WT_CPU_LANES] = {0};
    const float *v0 = v, *v1 = v + vs, *v2 = v + 2 * vs, *v3 = v + 3 * vs;
    int64_t i = 0;
    for (; i + WT_CPU_LANES <= n; i += WT_CPU_LANES)
        for (int j = 0; j < WT_CPU_LANES; j++) {
            float pj = p[i + j];
            a0[j] += pj * v0[i + j];
            a1[j] += pj * v1[i + j];
            a2[j] += pj * v2[i + j];
            a3[j] += pj * v3[i + j];
        }
    for (int j = 0; i < n; i++, j++) {
        a0[j] += p[i] * v0[i];
        a1[j] += p[i] * v1[i];
        a2[j] += p[i] * v2[i];
        a3[j] += p[i] * v3[i];
    }
    out[0] += wt_cpu_lanes_total(a0);
    out[1] += wt_cpu_lanes_total(a1);
    out[2] += wt_cpu_lanes_total(a2);
    out[3] += wt_cpu_lanes_total(a3);
}

static int64_t at2(const wt_tensor *t, int64_t i, int64_t j) {
    return ((const int64_t *)t->data)[i * t->stride[0] + j * t->stride[1]];
}

/* One tile: rows r0..r0+nr-1 of (batch entry b, kv head g); row r is query
 * r / G, query head g*G + r % G. */
static void attend_tile(const attn_job *jb, int64_t b, int64_t g, int64_t r0, int64_t nr) {
    const wt_tensor *q = jb->q, *k = jb->k, *v = jb->v, *dst = jb->dst, *sp = jb->slot_pos;
    int64_t hd = q->shape[3], S = k->shape[3], G = jb->G, W = jb->window;
    int64_t qs = q->stride[3], ks = k->stride[2], kt = k->stride[3], vs = v->stride[2],
            vt = v->stride[3];
    const float *qp[ROWS];
    float *op[ROWS], mx[ROWS], sum[ROWS];
    int64_t p[ROWS], lo[ROWS];
    int64_t first = S, last = -1; /* slots any row of the tile may see */
    for (int64_t r = 0; r < nr; r++) {
        int64_t i = (r0 + r) / G, h = g * G + (r0 + r) % G;
        qp[r] = (const float *)q->data + b * q->stride[0] + i * q->stride[1] + h * q->stride[2];
        op[r] = (float *)dst->data + b * dst->stride[0] + i * dst->stride[1] + h * dst->stride[2];
        p[r] = at2(jb->pos, b, i);
        lo[r] = W > 0 && p[r] - W + 1 > 0 ? p[r] - W + 1 : 0;
        first = lo[r] < first ? lo[r] : first;
        last = p[r] > last ? p[r] : last;
        mx[r] = -INFINITY;
        sum[r] = 0.0f;
        for (int64_t d = 0; d < hd; d++) op[r][d] = 0.0f;
    }
    if (sp) { /* a ring: any slot may hold a visible position */
        first = 0;
        last = S - 1;
    }
    const float *kb = (const float *)k->data + b * k->stride[0] + g * k->stride[1];
    const float *vb = (const float *)v->data + b * v->stride[0] + g * v->stride[1];
    float s[ROWS][BK];
    int64_t kpos[BK];
    bool active[ROWS];

    for (int64_t t0 = first; t0 <= last; t0 += BK) {
        int64_t nb = last + 1 - t0 < BK ? last + 1 - t0 : BK;
        /* scores q.k for every row and slot of the block */
        if (kt == 1) {
            /* row by row along each key dimension: every load streams along
             * a contiguous run of slots (a chunk of all hd rows at once
             * would hit one cache set when the cache length is a power of
             * two), and the block's row stays in L1 for the tile's rows */
            for (int64_t r = 0; r < nr; r++)
                for (int64_t t = 0; t < nb; t++) s[r][t] = 0.0f;
            int64_t d = 0;
            for (; d + 4 <= hd; d += 4) { /* four dimensions per pass over the scores */
                const float *k0 = kb + d * ks + t0, *k1 = k0 + ks, *k2 = k1 + ks, *k3 = k2 + ks;
                for (int64_t r = 0; r < nr; r++) {
                    const float *qr = qp[r] + d * qs;
                    float q0 = qr[0], q1 = qr[qs], q2 = qr[2 * qs], q3 = qr[3 * qs], *sr = s[r];
                    for (int64_t t = 0; t < nb; t++)
                        sr[t] += q0 * k0[t] + q1 * k1[t] + q2 * k2[t] + q3 * k3[t];
                }
            }
            for (; d < hd; d++) {
                const float *krow = kb + d * ks + t0; /* dimension d of the block's slots */
                for (int64_t r = 0; r < nr; r++) {
                    float qv = qp[r][d * qs], *sr = s[r];
                    for (int64_t t = 0; t < nb; t++) sr[t] += qv * krow[t];
                }
            }
        } else {
            for (int64_t r = 0; r < nr; r++)
                for (int64_t t = 0; t < nb; t++) {
                    const float *key = kb + (t0 + t) * kt;
                    float acc = 0.0f;
                    for (int64_t d = 0; d < hd; d++) acc += qp[r][d * qs] * key[d * ks];
                    s[r][t] = acc;
                }
        }
        if (sp)
            for (int64_t t = 0; t < nb; t++) kpos[t] = at2(sp, b, t0 + t);
        /* masks, scale and the online softmax update */
        for (int64_t r = 0; r < nr; r++) {
            float *sr = s[r];
            if (sp) {
                for (int64_t t = 0; t < nb; t++) {
                    int64_t kp = kpos[t];
                    bool vis = kp >= 0 && kp <= p[r] && (W <= 0 || p[r] - kp < W);
                    sr[t] = vis ? sr[t] * jb->scale : -INFINITY;
                }
            } else { /* visible slots lo..p are one run inside the block */
                int64_t a = lo[r] - t0, e = p[r] + 1 - t0;
                a = a < 0 ? 0 : a > nb ? nb : a;
                e = e < a ? a : e > nb ? nb : e;
                for (int64_t t = 0; t < a; t++) sr[t] = -INFINITY;
                for (int64_t t = a; t < e; t++) sr[t] *= jb->scale;
                for (int64_t t = e; t < nb; t++) sr[t] = -INFINITY;
            }
            float bm = wt_cpu_max(sr, nb);
            active[r] = bm != -INFINITY;
            if (!active[r]) continue;
            float m = bm > mx[r] ? bm : mx[r];
            float corr = wt_cpu_exp_nonpos(mx[r] - m); /* 0 on the first visible block */
            mx[r] = m;
            for (int64_t t = 0; t < nb; t++) sr[t] = wt_cpu_exp_nonpos(sr[t] - m);
            sum[r] = sum[r] * corr + wt_cpu_sum(sr, nb);
            if (corr != 1.0f)
                for (int64_t d = 0; d < hd; d++) op[r][d] *= corr;
        }
        /* out += p v over the block */
        if (vt == 1) {
            for (int64_t r = 0; r < nr; r++) {
                if (!active[r]) continue;
                int64_t d = 0;
                for (; d + 4 <= hd; d += 4) dot4(op[r] + d, s[r], vb + d * vs + t0, vs, nb);
                for (; d < hd; d++) op[r][d] += wt_cpu_dot(s[r], vb + d * vs + t0, nb);
            }
        } else {
            for (int64_t r = 0; r < nr; r++) {
                if (!active[r]) continue;
                for (int64_t t = 0; t < nb; t++) {
                    float w = s[r][t];
                    if (w == 0.0f) continue;
                    const float *val = vb + (t0 + t) * vt;
                    for (int64_t d = 0; d < hd; d++) op[r][d] += w * val[d * vs];
                }
            }
        }
    }
    for (int64_t r = 0; r < nr; r++) {
        float inv = sum[r] > 0.0f ? 1.0f / sum[r] : 0.0f; /* no visible key: zeros */
        for (int64_t d = 0; d < hd; d++) op[r][d] *= inv;
    }
}

/* Items lo..hi-1 of (batch entry, kv head, tile). */
static void attend_range(void *arg, int64_t lo, int64_t hi) {
    const attn_job *jb = arg;
    int64_t rows = jb->q->shape[1] * jb->G, KVH = jb->k->shape[1];
    for (int64_t it = lo; it < hi; it++) {
        int64_t tile = it % jb->tiles, bg = it / jb->tiles;
        int64_t r0 = tile * ROWS, nr = rows - r0 < ROWS ? rows - r0 : ROWS;
        attend_tile(jb, bg / KVH, bg % KVH, r0, nr);
    }
}

wt_status wt_cpu_attention(wt_tensor *dst, const wt_tensor *q, const wt_tensor *k,
                           const wt_tensor *v, const wt_tensor *pos, const wt_tensor *slot_pos,
                           float scale, int64_t window, wt_pool *pool) {
    int64_t B = q->shape[0], n = q->shape[1], H = q->shape[2], hd = q->shape[3];
    int64_t KVH = k->shape[1], S = k->shape[3];
    /* positions are data: check them here, before any work */
    int64_t keys = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < n; i++) {
            int64_t p = at2(pos, b, i);
            if (p < 0 || (!slot_pos && p >= S)) {
                if (B > 1)
                    return wt_error(WT_ERR_INVALID,
                                    "position %lld of query %lld of batch entry %lld is outside "
                                    "the cache of %lld slots",
                                    (long long)p, (long long)i, (long long)b, (long long)S);
                return wt_error(WT_ERR_INVALID,
                                "position %lld of query %lld is outside the cache of %lld slots",
                                (long long)p, (long long)i, (long long)S);
            }
            int64_t seen = slot_pos ? S : p + 1;
            if (window > 0 && seen > window) seen = window;
            keys = seen > keys ? seen : keys;
        }
    attn_job jb = {dst, q, k, v, pos, slot_pos, scale, window, H / KVH, 0};
    jb.tiles = (n * jb.G + ROWS - 1) / ROWS;
    int64_t items = B * KVH * jb.tiles;
    double work = (double)B * (double)n * (double)H * (double)hd * (double)keys;
    wt_cpu_parallel_for(pool, work < WT_ATTN_PARALLEL_WORK ? 1 : wt_pool_threads(pool), items, 1, attend_range, &jb);
    return WT_OK;
}
