/* bench_ops: times the heavy CPU ops at the shapes our models use and puts
 * them next to this machine's memory bandwidth and a naive loop.
 *
 * First it measures copy bandwidth (memcpy of a 256 MiB buffer; reads plus
 * writes per second). Then each op runs on an arena context (no malloc in
 * the timed loop) and the best time of several runs is reported with its
 * GFLOP/s, its GB/s (bytes the op must read and write at least once) and
 * that traffic as a share of the copy bandwidth: a mat-vec near 100% is
 * memory bound and done. Matmuls also run a plain triple loop in the same
 * process so the speed-up is a ratio measured on the same machine state.
 * Usage: bench_ops [max_threads] (default 2). */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wavetensor/wavetensor.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Copy bandwidth in GB/s (bytes read + bytes written), best of 5 copies. */
static double copy_bandwidth(void) {
    size_t n = (size_t)256 << 20;
    char *src = malloc(n), *dst = malloc(n);
    if (!src || !dst) {
        free(src);
        free(dst);
        return NAN;
    }
    memset(src, 1, n);
    memset(dst, 2, n); /* fault every page in before timing */
    double best = INFINITY;
    for (int i = 0; i < 5; i++) {
        double t0 = now_s();
        memcpy(dst, src, n);
        double t = now_s() - t0;
        if (t < best) best = t;
        src[i] = dst[n - 1 - (size_t)i]; /* keep the copy observable */
    }
    free(src);
    free(dst);
    return 2.0 * (double)n / best / 1e9;
}

typedef wt_tensor *(*op_fn)(wt_ctx *ctx, void *arg);

/* Best seconds per call of fn over at least 3 runs and ~0.3 s, on an arena
 * planned by one heap run; NAN when the op fails (reported as n/a). */
static double time_op(op_fn fn, void *arg, int threads) {
    wt_ctx *plan = wt_ctx_new_heap(NULL);
    wt_ctx_set_threads(plan, threads);
    if (!fn(plan, arg)) {
        fprintf(stderr, "  (op failed: %s)\n", wt_ctx_error(plan));
        wt_ctx_free(plan);
        return NAN;
    }
    wt_ctx *arena = wt_ctx_new_arena_like(plan);
    wt_ctx_free(plan);
    if (!arena) return NAN;
    double best = INFINITY, start = now_s();
    for (int i = 0; i < 3 || (now_s() - start < 0.3 && i < 1000); i++) {
        wt_ctx_reset(arena);
        double t0 = now_s();
        wt_tensor *y = fn(arena, arg);
        double t = now_s() - t0;
        if (!y) {
            best = NAN;
            break;
        }
        if (t < best) best = t;
    }
    wt_ctx_free(arena);
    return best;
}

static double g_copy_gbs;

static void row(const char *op, const char *shape, int threads, double t, double flops,
                double bytes, double naive_t) {
    if (isnan(t)) {
        printf("%-22s %-26s %3d  %10s\n", op, shape, threads, "n/a");
        return;
    }
    double gbs = bytes / t / 1e9;
    printf("%-22s %-26s %3d %10.3f %9.2f %8.2f %7.1f%%", op, shape, threads, t * 1e3,
           flops / t / 1e9, gbs, 100.0 * gbs / g_copy_gbs);
    if (naive_t > 0)
        printf(" %10.3f %8.1fx", naive_t * 1e3, naive_t / t);
    printf("\n");
}

/* ---- matmul ---- */

typedef struct {
    wt_tensor *x, *w; /* x [M, K] f32, w [N, K] (y = x w^T) */
} mm_arg;

static wt_tensor *op_linear(wt_ctx *ctx, void *p) {
    mm_arg *a = p;
    return wt_linear(ctx, a->x, a->w, NULL);
}

/* The plain triple loop for y = x w^T, in the same layout. */
static double naive_linear(const wt_tensor *x, const wt_tensor *w, float *y) {
    int64_t M = x->shape[0], K = x->shape[1], N = w->shape[0];
    const float *xp = x->data;
    double t0 = now_s();
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            float s = 0;
            for (int64_t k = 0; k < K; k++) {
                float wv = w->dtype == WT_F32 ? ((const float *)w->data)[n * K + k]
                                              : wt_bf16_to_f32(((const uint16_t *)w->data)[n * K + k]);
                s += xp[m * K + k] * wv;
            }
            y[m * N + n] = s;
        }
    return now_s() - t0;
}

static void bench_matmul(wt_ctx *ctx, int64_t M, int64_t K, int64_t N, wt_dtype wdt, int max_threads) {
    mm_arg a;
    a.x = wt_tensor_new2(ctx, WT_F32, M, K);
    a.w = wt_tensor_new2(ctx, wdt, N, K);
    if (!a.x || !a.w) return;
    for (int64_t i = 0; i < M * K; i++) wt_set_flat(a.x, i, sin(0.1 * (double)i));
    for (int64_t i = 0; i < N * K; i++) wt_set_flat(a.w, i, cos(0.37 * (double)i) * 0.1);
    float *yn = malloc(sizeof(float) * (size_t)(M * N));
    double naive = 0;
    if (yn) {
        naive = naive_linear(a.x, a.w, yn);
        double again = naive_linear(a.x, a.w, yn);
        if (again < naive) naive = again;
    }
    char op[32], shape[48];
    snprintf(op, sizeof op, "matmul x.W^T %s", wt_dtype_name(wdt));
    snprintf(shape, sizeof shape, "%lldx%lld . %lldx%lld", (long long)M, (long long)K, (long long)K,
             (long long)N);
    double flops = 2.0 * (double)(M * N * K);
    double bytes = (double)(N * K) * (double)wt_dtype_size(wdt) + 4.0 * (double)(M * K + M * N);
    for (int th = 1; th <= max_threads; th *= 2) {
        double t = time_op(op_linear, &a, th);
        row(op, shape, th, t, flops, bytes, naive);
    }
    /* check the fast result against the naive loop */
    wt_tensor *y = wt_linear(ctx, a.x, a.w, NULL);
    if (y && yn) {
        double d = 0, m = 0;
        for (int64_t i = 0; i < M * N; i++) {
            d = fmax(d, fabs((double)((float *)y->data)[i] - yn[i]));
            m = fmax(m, fabs((double)yn[i]));
        }
        if (d > 1e-4 * fmax(m, 1e-3)) printf("  !! differs from the naive loop: %g\n", d);
    }
    free(yn);
}

/* ---- conv1d ---- */

typedef struct {
    wt_tensor *x, *w, *b;
    int stride, pl;
} conv_arg;

static wt_tensor *op_conv(wt_ctx *ctx, void *p) {
    conv_arg *a = p;
    return wt_conv1d(ctx, a->x, a->w, a->b, a->stride, a->pl, 0, 1, 1);
}

static void bench_conv(wt_ctx *ctx, int64_t cin, int64_t cout, int64_t T, int64_t K, int stride,
                       int max_threads) {
    conv_arg a;
    a.x = wt_tensor_new3(ctx, WT_F32, 1, cin, T);
    a.w = wt_tensor_new3(ctx, WT_F32, cout, cin, K);
    a.b = wt_tensor_new1(ctx, WT_F32, cout);
    if (!a.x || !a.w || !a.b) return;
    for (int64_t i = 0; i < cin * T; i++) wt_set_flat(a.x, i, sin(0.01 * (double)i));
    for (int64_t i = 0; i < cout * cin * K; i++) wt_set_flat(a.w, i, cos(0.3 * (double)i) * 0.1);
    for (int64_t i = 0; i < cout; i++) wt_set_flat(a.b, i, 0.01 * (double)i);
    a.stride = stride;
    a.pl = (int)(K - stride); /* causal padding as in Mimi's streaming convs */
    int64_t To = (T + a.pl - K) / stride + 1;
    char shape[64];
    snprintf(shape, sizeof shape, "%lld->%lldch k%lld s%d T%lld", (long long)cin, (long long)cout,
             (long long)K, stride, (long long)T);
    double flops = 2.0 * (double)(cout * To * cin * K);
    double bytes = 4.0 * (double)(cin * T + cout * To + cout * cin * K);
    for (int th = 1; th <= max_threads; th *= 2) row("conv1d f32", shape, th, time_op(op_conv, &a, th), flops, bytes, 0);
}

static wt_tensor *op_convtr(wt_ctx *ctx, void *p) {
    conv_arg *a = p;
    return wt_conv_transpose1d(ctx, a->x, a->w, a->b, a->stride, 0, 0, 1, 1);
}

static void bench_convtr(wt_ctx *ctx, int64_t cin, int64_t cout, int64_t T, int64_t K, int stride) {
    conv_arg a;
    a.x = wt_tensor_new3(ctx, WT_F32, 1, cin, T);
    a.w = wt_tensor_new3(ctx, WT_F32, cin, cout, K);
    a.b = wt_tensor_new1(ctx, WT_F32, cout);
    if (!a.x || !a.w || !a.b) return;
    for (int64_t i = 0; i < cin * T; i++) wt_set_flat(a.x, i, sin(0.01 * (double)i));
    for (int64_t i = 0; i < cout * cin * K; i++) wt_set_flat(a.w, i, cos(0.3 * (double)i) * 0.1);
    for (int64_t i = 0; i < cout; i++) wt_set_flat(a.b, i, 0.01 * (double)i);
    a.stride = stride;
    int64_t To = (T - 1) * stride + K;
    char shape[64];
    snprintf(shape, sizeof shape, "%lld->%lldch k%lld s%d T%lld", (long long)cin, (long long)cout,
             (long long)K, stride, (long long)T);
    double flops = 2.0 * (double)(cout * T * cin * K);
    double bytes = 4.0 * (double)(cin * T + cout * To + cout * cin * K);
    row("conv_transpose1d f32", shape, 1, time_op(op_convtr, &a, 1), flops, bytes, 0);
}

/* ---- softmax, layer_norm ---- */

typedef struct {
    wt_tensor *x, *w, *b;
} norm_arg;

static wt_tensor *op_softmax(wt_ctx *ctx, void *p) {
    norm_arg *a = p;
    return wt_softmax(ctx, a->x, 0.125f, NULL, WT_MASK_CAUSAL, 0);
}

static wt_tensor *op_layer_norm(wt_ctx *ctx, void *p) {
    norm_arg *a = p;
    return wt_layer_norm(ctx, a->x, a->w, a->b, 1e-5f);
}

int main(int argc, char **argv) {
    int max_threads = argc > 1 ? atoi(argv[1]) : 2;
    if (max_threads < 1) max_threads = 1;
    g_copy_gbs = copy_bandwidth();
    printf("copy bandwidth (memcpy 256 MiB, read+write): %.2f GB/s\n\n", g_copy_gbs);
    printf("%-22s %-26s %3s %10s %9s %8s %8s %10s %9s\n", "op", "shape", "thr", "time ms", "GFLOP/s",
           "GB/s", "%copy", "naive ms", "speed-up");
    wt_ctx *ctx = wt_ctx_new_heap(NULL);
    static const struct {
        int64_t M, K, N;
    } mm[] = {{1, 512, 2048}, {1, 2048, 512}, {250, 512, 512}, {1, 4096, 4096},
              {1, 2048, 5632} /* a Llama-1.1B FFN mat-vec */};
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++) {
        bench_matmul(ctx, mm[i].M, mm[i].K, mm[i].N, WT_F32, max_threads);
        bench_matmul(ctx, mm[i].M, mm[i].K, mm[i].N, WT_BF16, max_threads);
        wt_ctx_reset(ctx);
    }
    bench_conv(ctx, 64, 64, 24000, 7, 1, max_threads);
    bench_conv(ctx, 64, 64, 24000, 3, 1, max_threads);
    bench_conv(ctx, 64, 128, 24000, 8, 4, max_threads);
    bench_conv(ctx, 64, 64, 24000, 1, 1, max_threads);
    bench_convtr(ctx, 128, 64, 6000, 8, 4);
    bench_convtr(ctx, 64, 64, 24000, 3, 1);
    wt_ctx_reset(ctx);

    norm_arg s = {wt_tensor_new3(ctx, WT_F32, 8, 250, 250), NULL, NULL};
    if (s.x) {
        for (int64_t i = 0; i < wt_numel(s.x); i++) wt_set_flat(s.x, i, sin(0.05 * (double)i));
        double n = (double)wt_numel(s.x);
        row("softmax causal", "[8, 250, 250]", 1, time_op(op_softmax, &s, 1), 5.0 * n, 8.0 * n, 0);
    }
    norm_arg ln = {wt_tensor_new2(ctx, WT_F32, 250, 512), wt_tensor_new1(ctx, WT_F32, 512),
                   wt_tensor_new1(ctx, WT_F32, 512)};
    if (ln.x && ln.w && ln.b) {
        for (int64_t i = 0; i < wt_numel(ln.x); i++) wt_set_flat(ln.x, i, sin(0.05 * (double)i));
        for (int64_t i = 0; i < 512; i++) {
            wt_set_flat(ln.w, i, 1.0 + 0.001 * (double)i);
            wt_set_flat(ln.b, i, 0.01);
        }
        double n = (double)wt_numel(ln.x);
        row("layer_norm", "[250, 512]", 1, time_op(op_layer_norm, &ln, 1), 8.0 * n, 8.0 * n, 0);
    }
    wt_ctx_free(ctx);
    return 0;
}
