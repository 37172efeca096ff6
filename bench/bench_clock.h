/* Clocks and memory-bandwidth probes shared by the model benchmarks
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
 * what streaming weights from memory can reach on one thread. */
static double wt_bench_read_gbs(void) {
    size_t n = ((size_t)256 << 20) / sizeof(uint64_t);
    uint64_t *a = malloc(n * sizeof *a);
    if (!a) return 0;
    for (size_t i = 0; i < n; i++) a[i] = i;
    double best = 0;
    volatile uint64_t sink = 0;
    for (int r = 0; r < 3; r++) {
        uint64_t acc[16] = {0};
        double t0 = wt_bench_now();
        for (size_t i = 0; i + 16 <= n; i += 16)
            for (int j = 0; j < 16; j++) acc[j] += a[i + j];
        double dt = wt_bench_now() - t0;
        for (int j = 0; j < 16; j++) sink += acc[j];
        double gbs = (double)(n * sizeof *a) / dt / 1e9;
        if (gbs > best) best = gbs;
    }
    (void)sink;
    free(a);
    return best;
}

#endif
