/* Clocks, memory-bandwidth and arithmetic probes shared by the model benchmarks
 * (header-only: compiled into bench programs and `wavetensor bench`; not
 * part of the library). Never touches model code. */
#ifndef WT_BENCH_CLOCK_H
#define WT_BENCH_CLOCK_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

static double wt_bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds used by the whole process: unlike wall time it does not grow
 * while other programs hold the cores, so it stays comparable on a loaded
 * machine (with N threads it counts all of them). */
static double wt_bench_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Bytes read per second by a summing loop over a 256 MB buffer (best of 3):
 * what streaming weights from memory can reach on one thread. The buffer
 * is read as 8 streams side by side, 64 bytes of each in turn: one core
 * reads ~25% more that way than front to back (20 -> 25 GB/s here), and
 * the kernels read weights as several streams for that reason, so a floor
 * from one stream would not be a floor. */
typedef uint64_t wt_bench_v8 __attribute__((vector_size(64)));
static double wt_bench_read_gbs(void) {
    enum { STREAMS = 8 };
    size_t n = ((size_t)256 << 20) / sizeof(wt_bench_v8), h = n / STREAMS;
    wt_bench_v8 *a = aligned_alloc(64, n * sizeof *a);
    if (!a) return 0;
    for (size_t i = 0; i < n; i++) a[i] = (wt_bench_v8){0} + i;
    double best = 0;
    volatile uint64_t sink = 0;
    for (int r = 0; r < 3; r++) {
        wt_bench_v8 acc[STREAMS] = {{0}};
        double t0 = wt_bench_now();
        for (size_t i = 0; i < h; i++)
            for (int s = 0; s < STREAMS; s++) acc[s] += a[(size_t)s * h + i];
        double dt = wt_bench_now() - t0;
        for (int s = 0; s < STREAMS; s++)
            for (int j = 0; j < 8; j++) sink += acc[s][j];
        double gbs = (double)(h * STREAMS * sizeof *a) / dt / 1e9;
        if (gbs > best) best = gbs;
    }
    (void)sink;
    free(a);
    return best;
}

/* Multiply-adds per second one thread reaches with 12 independent sums in
 * registers (best of 3 runs of ~10 ms): the arithmetic ceiling of the
 * compute-bound convolutions. With `bf16` the kernels' bf16 pair products
 * (AVX512-BF16's dot instruction, 32 multiply-adds each) where this build
 * has them; otherwise, and for f32 or f16 weights (widened to f32), f32
 * multiply-adds. Without AVX-512 a scalar loop: a floor, not the machine's
 * peak. */
static inline double wt_bench_peak_gmacs(int bf16) {
    const long n = 1000000;
    double best = 0;
    volatile float sink = 0;
    for (int run = 0; run < 3; run++) {
        double macs = 0, t0 = wt_bench_now();
#if defined(__AVX512F__)
        /* distinct starts, or the compiler computes one chain for all twelve */
#define PEAK_INIT(j) _mm512_set1_ps(0.5f + (float)(j) / 64.0f)
        __m512 a0 = PEAK_INIT(0), a1 = PEAK_INIT(1), a2 = PEAK_INIT(2), a3 = PEAK_INIT(3),
               a4 = PEAK_INIT(4), a5 = PEAK_INIT(5), a6 = PEAK_INIT(6), a7 = PEAK_INIT(7),
               a8 = PEAK_INIT(8), a9 = PEAK_INIT(9), a10 = PEAK_INIT(10), a11 = PEAK_INIT(11), out;
#undef PEAK_INIT
/* n rounds of one multiply-add into each of the twelve sums */
#define PEAK_LOOP(STEP)                                                                            \
    for (long i = 0; i < n; i++) {                                                                 \
        STEP(a0); STEP(a1); STEP(a2); STEP(a3); STEP(a4); STEP(a5);                                \
        STEP(a6); STEP(a7); STEP(a8); STEP(a9); STEP(a10); STEP(a11);                              \
    }
#if defined(__AVX512BF16__)
        if (bf16) {
            __m512bh x = (__m512bh)_mm512_set1_epi32(0x3c003c00), y = x; /* 2^-7 pairs */
#define PEAK_BF16(a) a = _mm512_dpbf16_ps(a, x, y)
            PEAK_LOOP(PEAK_BF16)
#undef PEAK_BF16
            macs = 12.0 * 32.0 * (double)n;
        } else
#endif
        {
            const __m512 x = _mm512_set1_ps(0.5f), y = _mm512_set1_ps(0.25f);
#define PEAK_F32(a) a = _mm512_fmadd_ps(a, x, y)
            PEAK_LOOP(PEAK_F32)
#undef PEAK_F32
            macs = 12.0 * 16.0 * (double)n;
        }
#undef PEAK_LOOP
        out = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        sink += _mm512_reduce_add_ps(out);
#else
        float a[12];
        (void)bf16;
        for (int j = 0; j < 12; j++) a[j] = (float)j / 64.0f;
        for (long i = 0; i < n; i++)
            for (int j = 0; j < 12; j++) a[j] = a[j] * 0.5f + 0.25f;
        for (int j = 0; j < 12; j++) sink += a[j];
        macs = 12.0 * (double)n;
#endif
        double gmacs = macs / (wt_bench_now() - t0) / 1e9;
        if (gmacs > best) best = gmacs;
    }
    (void)sink;
    return best;
}

#endif
