/* Fork-join range split for the CPU backend's heavy ops (see cpu_parallel.h). */
#include "backends/cpu/cpu_parallel.h"

#include <pthread.h>

#define WT_CPU_MAX_THREADS 64

typedef struct {
    wt_cpu_range_fn fn;
    void *arg;
    int64_t lo, hi;
} range_job;

static void *run_job(void *p) {
    range_job *j = p;
    j->fn(j->arg, j->lo, j->hi);
    return NULL;
}

void wt_cpu_parallel_for(int nthreads, int64_t n, int64_t align, wt_cpu_range_fn fn, void *arg) {
    if (n <= 0) return;
    if (align < 1) align = 1;
    int64_t units = (n + align - 1) / align;
    int nt = nthreads < 1 ? 1 : nthreads > WT_CPU_MAX_THREADS ? WT_CPU_MAX_THREADS : nthreads;
    if (nt > units) nt = (int)units;
    if (nt <= 1) {
        fn(arg, 0, n);
        return;
    }
    range_job jobs[WT_CPU_MAX_THREADS];
    pthread_t tids[WT_CPU_MAX_THREADS];
    int started[WT_CPU_MAX_THREADS] = {0};
    for (int i = 0; i < nt; i++) {
        int64_t lo = units * i / nt * align, hi = units * (i + 1) / nt * align;
        jobs[i] = (range_job){fn, arg, lo, hi < n ? hi : n};
    }
    for (int i = 1; i < nt; i++) started[i] = pthread_create(&tids[i], NULL, run_job, &jobs[i]) == 0;
    run_job(&jobs[0]);
    for (int i = 1; i < nt; i++) {
        if (started[i])
            pthread_join(tids[i], NULL);
        else
            run_job(&jobs[i]);
    }
}
