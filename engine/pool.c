/* Persistent worker pool (see pool.h).
 * Hand-off: the caller publishes a job and bumps a generation counter; a
 * helper spins on the counter for a short while (decode issues mat-vecs a
 * few microseconds apart, and waking a sleeping thread costs more than the
 * work of one) and then sleeps on a condition variable. Completion is a
 * countdown the caller spins on, then sleeps on, the same way. */
#include "engine/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WT_POOL_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define WT_POOL_RELAX() __asm__ __volatile__("yield")
#else
#define WT_POOL_RELAX() ((void)0)
#endif

#define WT_POOL_MAX_THREADS 64
/* Polling time before sleeping: covers the gap between the heavy ops of one
 * decode step, not long idle periods. Measured in time, not iterations,
 * because a pause instruction costs 10 to 150 cycles depending on the CPU. */
#define WT_POOL_SPIN_NS 100000
/* Polls between clock reads. */
#define WT_POOL_SPIN_BATCH 64

typedef struct {
    wt_pool *pool;
    int index; /* 1.. (the caller runs chunk 0) */
    pthread_t tid;
} pool_worker;

struct wt_pool {
    int nthreads; /* caller + started helpers */
    pool_worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_uint_fast64_t gen;
    atomic_int pending; /* helpers yet to finish the current generation */
    atomic_int stop;
    /* the current job, written before gen is bumped */
    wt_pool_fn fn;
    void *arg;
    int64_t n, align, units;
    int nt;
};

static void run_chunk(const wt_pool *p, int i) {
    int64_t lo = p->units * i / p->nt * p->align, hi = p->units * (i + 1) / p->nt * p->align;
    if (hi > p->n) hi = p->n;
    if (lo < hi) p->fn(p->arg, lo, hi);
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Polls until *v differs from `from` or the spin time is over; returns the
 * last value read. */
static uint64_t spin_while_u64(atomic_uint_fast64_t *v, uint64_t from) {
    int64_t end = now_ns() + WT_POOL_SPIN_NS;
    for (;;) {
        for (int s = 0; s < WT_POOL_SPIN_BATCH; s++) {
            uint64_t x = atomic_load_explicit(v, memory_order_acquire);
            if (x != from) return x;
            WT_POOL_RELAX();
        }
        if (now_ns() > end) return from;
    }
}

static uint64_t wait_job(wt_pool *p, uint64_t seen) {
    uint64_t g0 = spin_while_u64(&p->gen, seen);
    if (g0 != seen) return g0;
    pthread_mutex_lock(&p->mu);
    uint64_t g;
    while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
        pthread_cond_wait(&p->wake, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *wp) {
    pool_worker *w = wp;
    wt_pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_job(p, seen);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) break;
        if (w->index < p->nt) run_chunk(p, w->index);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            /* under the lock so the caller cannot miss it between test and sleep */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

static void publish(wt_pool *p) {
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

static void wait_done(wt_pool *p) {
    int64_t end = now_ns() + WT_POOL_SPIN_NS;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) {
        if (now_ns() > end) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0)
                pthread_cond_wait(&p->done, &p->mu);
            pthread_mutex_unlock(&p->mu);
            return;
        }
        for (int s = 0; s < WT_POOL_SPIN_BATCH; s++) WT_POOL_RELAX();
    }
}

wt_pool *wt_pool_new(int n) {
    if (n <= 1) return NULL;
    if (n > WT_POOL_MAX_THREADS) n = WT_POOL_MAX_THREADS;
    wt_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->workers = calloc((size_t)(n - 1), sizeof *p->workers);
    if (!p->workers || pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->workers);
        free(p);
        return NULL;
    }
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    p->nthreads = 1;
    for (int i = 1; i < n; i++) {
        pool_worker *w = &p->workers[p->nthreads - 1];
        w->pool = p;
        w->index = p->nthreads;
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0) break;
        p->nthreads++;
    }
    return p;
}

void wt_pool_free(wt_pool *p) {
    if (!p) return;
    atomic_store_explicit(&p->pending, p->nthreads - 1, memory_order_relaxed);
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    publish(p);
    for (int i = 0; i < p->nthreads - 1; i++) pthread_join(p->workers[i].tid, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}

int wt_pool_threads(const wt_pool *pool) { return pool ? pool->nthreads : 1; }

void wt_pool_for(wt_pool *p, int most, int64_t n, int64_t align, wt_pool_fn fn, void *arg) {
    if (n <= 0) return;
    if (align < 1) align = 1;
    int64_t units = (n + align - 1) / align;
    int nt = wt_pool_threads(p);
    if (most < nt) nt = most;
    if (nt > units) nt = (int)units;
    if (nt <= 1) {
        fn(arg, 0, n);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->align = align;
    p->units = units;
    p->nt = nt;
    /* every helper acknowledges every job, so none can still be reading
     * these fields when the next job overwrites them */
    atomic_store_explicit(&p->pending, p->nthreads - 1, memory_order_relaxed);
    publish(p);
    run_chunk(p, 0);
    wait_done(p);
}
