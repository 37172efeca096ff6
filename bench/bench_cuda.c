/* GPU benchmarks of the CUDA backend (built only with WT_HAVE_CUDA).
 * Prints "skipped: no CUDA device" and exits 0 without a device.
 *
 * What it measures today: a Llama decode step of the TinyLlama 1.1B shape
 * (22 layers, dim 2048, 32 heads, 4 kv heads, FFN 5632, vocab 32000) in
 * bf16 weights, built from wavetensor ops on the CUDA backend (random
 * weights; f32 activations, KV cache f32 [KVH*hd, S] per layer), eager.
 * What it cannot measure yet, and why, is printed line by line: the
 * models (Mimi, Demucs dns48, wt_llama) put their weights and streaming
 * contexts on the CPU backend and touch host memory directly, so there is
 * no Mimi/dns48 step on the GPU to time, with or without graph replay.
 * No number here is estimated: a row is measured or says it is blocked.
 *
 * Usage: bench_cuda [tokens]   (default 64 timed tokens after 8 warm-up) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/cuda/cuda_backend.h"
#include "wavetensor/wavetensor.h"

enum { L = 22, D = 2048, NH = 32, KVH = 4, HD = 64, F = 5632, V = 32000, S = 2048 };

typedef struct layer {
    wt_tensor *an, *fn;                 /* rms weights [D] f32 */
    wt_tensor *wq, *wk, *wv, *wo;       /* bf16 [out, in] */
    wt_tensor *wg, *wu, *wd;
    wt_tensor *kc, *vc;                 /* f32 [KVH*HD, S] */
} layer;

typedef struct net {
    wt_ctx *hold;
    layer l[L];
    wt_tensor *onorm, *wout, *x, *pos, *logits;
} net;

/* A device tensor with the first numel values of a host buffer. */
static wt_tensor *dev_from(wt_ctx *c, const wt_backend *be, wt_dtype dt, int nd, const int64_t *shape,
                           const void *host) {
    wt_tensor *t = wt_tensor_new(c, dt, nd, shape);
    if (t && be->upload(t->data, host, wt_nbytes(t)) != WT_OK) return NULL;
    return t;
}

static int net_init(net *n, const wt_backend *be) {
    size_t big = (size_t)V * D;
    uint16_t *w16 = malloc(big * sizeof *w16);
    float *ones = malloc(sizeof(float) * D);
    float *zeros = calloc((size_t)KVH * HD * S, sizeof(float));
    if (!w16 || !ones || !zeros) return -1;
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < big; i++) { /* uniform in +-0.03, as bf16 */
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        w16[i] = wt_f32_to_bf16(((float)(s >> 40) / (float)(1 << 24) - 0.5f) * 0.06f);
    }
    for (int i = 0; i < D; i++) ones[i] = 1.0f;
    n->hold = wt_ctx_new_heap(be);
    int64_t sd[1] = {D}, sqo[2] = {D, D}, skv[2] = {KVH * HD, D}, sgu[2] = {F, D}, sdn[2] = {D, F},
            sc[2] = {KVH * HD, S}, sv[2] = {V, D}, sx[2] = {1, D}, sp[1] = {1};
    for (int i = 0; i < L; i++) {
        layer *l = &n->l[i];
        l->an = dev_from(n->hold, be, WT_F32, 1, sd, ones);
        l->fn = dev_from(n->hold, be, WT_F32, 1, sd, ones);
        l->wq = dev_from(n->hold, be, WT_BF16, 2, sqo, w16);
        l->wk = dev_from(n->hold, be, WT_BF16, 2, skv, w16 + 1);
        l->wv = dev_from(n->hold, be, WT_BF16, 2, skv, w16 + 2);
        l->wo = dev_from(n->hold, be, WT_BF16, 2, sqo, w16 + 3);
        l->wg = dev_from(n->hold, be, WT_BF16, 2, sgu, w16 + 4);
        l->wu = dev_from(n->hold, be, WT_BF16, 2, sgu, w16 + 5);
        l->wd = dev_from(n->hold, be, WT_BF16, 2, sdn, w16 + 6);
        l->kc = dev_from(n->hold, be, WT_F32, 2, sc, zeros);
        l->vc = dev_from(n->hold, be, WT_F32, 2, sc, zeros);
    }
    n->onorm = dev_from(n->hold, be, WT_F32, 1, sd, ones);
    n->wout = dev_from(n->hold, be, WT_BF16, 2, sv, w16);
    n->x = dev_from(n->hold, be, WT_F32, 2, sx, ones);
    n->pos = wt_tensor_new(n->hold, WT_I64, 1, sp);
    n->logits = wt_tensor_new2(n->hold, WT_F32, 1, V);
    free(w16);
    free(ones);
    free(zeros);
    return wt_ctx_status(n->hold) == WT_OK && n->logits ? 0 : -1;
}

/* One decode token at position p (the KV write addresses depend on p: an
 * eager step, not a capturable one). */
static void decode(net *n, wt_ctx *c, int64_t p) {
    const int64_t q3[3] = {1, NH, HD}, q4[4] = {1, 1, NH, HD}, k4[4] = {1, 1, KVH, HD}, kcol[2] = {KVH * HD, 1};
    wt_tensor *x = n->x;
    for (int i = 0; i < L; i++) {
        layer *l = &n->l[i];
        wt_tensor *h = wt_rms_norm(c, x, l->an, 1e-5f);
        wt_tensor *q = wt_rope(c, wt_view(c, wt_linear(c, h, l->wq, NULL), 4, q4), n->pos, 10000.0f, WT_ROPE_HALVES);
        wt_tensor *k = wt_rope(c, wt_view(c, wt_linear(c, h, l->wk, NULL), 4, k4), n->pos, 10000.0f, WT_ROPE_HALVES);
        wt_tensor *v = wt_linear(c, h, l->wv, NULL);
        wt_copy_(c, wt_narrow(c, l->kc, 1, p, 1), wt_view(c, k, 2, kcol));
        wt_copy_(c, wt_narrow(c, l->vc, 1, p, 1), wt_view(c, v, 2, kcol));
        wt_tensor *a = wt_attention_cached(c, wt_view(c, q, 3, q3), l->kc, l->vc, n->pos, 0.125f, 0);
        x = wt_add(c, x, wt_linear(c, a, l->wo, NULL));
        h = wt_rms_norm(c, x, l->fn, 1e-5f);
        wt_tensor *g = wt_mul(c, wt_unary(c, WT_UNARY_SILU, wt_linear(c, h, l->wg, NULL), 0),
                              wt_linear(c, h, l->wu, NULL));
        x = wt_add(c, x, wt_linear(c, g, l->wd, NULL));
    }
    wt_copy_(c, n->logits, wt_linear(c, wt_rms_norm(c, x, n->onorm, 1e-5f), n->wout, NULL));
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void blocked(const char *row, const char *why) { printf("%-44s blocked: %s\n", row, why); }

int main(int argc, char **argv) {
    int tokens = argc > 1 ? atoi(argv[1]) : 64;
    if (tokens < 1 || tokens > S - 16) {
        fprintf(stderr, "bench_cuda: tokens must be 1..%d\n", S - 16);
        return 2;
    }
    const wt_backend *be = wt_backend_by_name("cuda");
    if (!be) {
        printf("skipped: no CUDA device\n");
        return 0;
    }
    printf("CUDA backend benchmarks (device %d; one stream)\n\n", getenv("WT_CUDA_DEVICE") ? atoi(getenv("WT_CUDA_DEVICE")) : 0);

    const char *mimi_why =
        "engine/models/mimi.c puts the weights on the CPU backend (wt_ctx_new_heap(NULL)), "
        "mimi_stream.c creates its step contexts on the CPU, engine/nn/attention.c writes "
        "positions with wt_set_flat and ->data (host memory); no backend parameter exists";
    for (int b = 1; b <= 64; b *= 8) {
        char row[64];
        snprintf(row, sizeof row, "Mimi v0.1 encode+decode, batch %d, eager", b);
        blocked(row, mimi_why);
        snprintf(row, sizeof row, "Mimi v0.1 encode+decode, batch %d, graph", b);
        blocked(row, "as eager, and index_select/scatter_set check indices by a download (a sync) in "
                     "engine/ops_nn.c, which spoils a capture");
    }
    blocked("Demucs dns48 frame, eager and graph",
            "engine/models/demucs.c and demucs_stream.c keep weights and step contexts on the CPU "
            "and read/write frame_in/out through ->data");
    blocked("concurrent real-time Mimi streams", "needs the Mimi step on the GPU (above)");
    blocked("wt_llama decode (the model itself)",
            "engine/models/llama.c writes tok/pos through ->data and keeps weights on the CPU");

    net n;
    if (net_init(&n, be) != 0) {
        fprintf(stderr, "bench_cuda: cannot set up the 1.1B-shaped decoder: %s\n", wt_last_error());
        return 1;
    }
    wt_ctx *plan = wt_ctx_new_heap(be);
    int64_t p0 = 0;
    be->upload(n.pos->data, &p0, sizeof p0);
    decode(&n, plan, 0);
    if (wt_ctx_status(plan) != WT_OK || wt_cuda_sync() != WT_OK) {
        fprintf(stderr, "bench_cuda: decode step failed: %s\n", wt_ctx_status(plan) ? wt_ctx_error(plan) : wt_last_error());
        return 1;
    }
    wt_ctx *arena = wt_ctx_new_arena_like(plan);
    wt_ctx_free(plan);
    double t0 = 0;
    for (int t = 0; t < tokens + 8; t++) {
        if (t == 8) {
            wt_cuda_sync();
            t0 = now_s();
        }
        int64_t p = t;
        be->upload(n.pos->data, &p, sizeof p); /* synchronises: part of the eager cost */
        wt_ctx_reset(arena);
        decode(&n, arena, p);
        if (wt_ctx_status(arena) != WT_OK) {
            fprintf(stderr, "bench_cuda: decode step failed: %s\n", wt_ctx_error(arena));
            return 1;
        }
    }
    wt_status st = wt_cuda_sync();
    double dt = now_s() - t0;
    if (st != WT_OK) {
        fprintf(stderr, "bench_cuda: %s\n", wt_last_error());
        return 1;
    }
    printf("\n%-44s %8.2f ms/token  %8.1f tok/s  (positions 8..%d, eager, no graph)\n",
           "Llama 1.1B-shaped decode, bf16 weights", 1e3 * dt / tokens, tokens / dt, tokens + 7);
    blocked("Llama 1.1B-shaped decode, graph replay",
            "the KV write address depends on the position (no device-side scatter without a host "
            "index check yet)");
    wt_ctx_free(arena);
    wt_ctx_free(n.hold);
    return 0;
}
