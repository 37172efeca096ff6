#define _DEFAULT_SOURCE
#include "wt_test.h"

#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic uint64_t g_alloc_calls;
static _Atomic uint64_t g_lock_calls;
/* Per-thread counts: initial-exec TLS in the executable, no allocation. */
static _Thread_local uint64_t t_alloc_calls;
static _Thread_local uint64_t t_block_calls;

static void count_alloc(void) {
    atomic_fetch_add(&g_alloc_calls, 1);
    t_alloc_calls++;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);

void *__wrap_malloc(size_t n) { count_alloc(); return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { count_alloc(); return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { count_alloc(); return __real_realloc(p, n); }
void __wrap_free(void *p) { __real_free(p); }
void *__wrap_aligned_alloc(size_t a, size_t n) { count_alloc(); return __real_aligned_alloc(a, n); }
int __wrap_posix_memalign(void **p, size_t a, size_t n) { count_alloc(); return __real_posix_memalign(p, a, n); }

/* Locking and waiting calls, wrapped by the linker like malloc. */
int __real_pthread_mutex_lock(pthread_mutex_t *m);
int __real_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int __real_sem_wait(sem_t *s);
int __real_sem_timedwait(sem_t *s, const struct timespec *t);
int __real_nanosleep(const struct timespec *req, struct timespec *rem);
int __real_usleep(useconds_t us);

int __wrap_pthread_mutex_lock(pthread_mutex_t *m) {
    atomic_fetch_add(&g_lock_calls, 1);
    t_block_calls++;
    return __real_pthread_mutex_lock(m);
}
int __wrap_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) { t_block_calls++; return __real_pthread_cond_wait(c, m); }
int __wrap_sem_wait(sem_t *s) { t_block_calls++; return __real_sem_wait(s); }
int __wrap_sem_timedwait(sem_t *s, const struct timespec *t) { t_block_calls++; return __real_sem_timedwait(s, t); }
int __wrap_nanosleep(const struct timespec *req, struct timespec *rem) { t_block_calls++; return __real_nanosleep(req, rem); }
int __wrap_usleep(useconds_t us) { t_block_calls++; return __real_usleep(us); }

uint64_t wt_test_alloc_calls(void) { return atomic_load(&g_alloc_calls); }
uint64_t wt_test_lock_calls(void) { return atomic_load(&g_lock_calls); }
uint64_t wt_test_thread_alloc_calls(void) { return t_alloc_calls; }
uint64_t wt_test_thread_block_calls(void) { return t_block_calls; }

const char *wt_test_golden(char *buf, size_t n, const char *rel) {
    /* WT_GOLDEN_DIR in the environment serves runs of a build on another
     * machine (GPU runs), where the configured path does not exist */
    const char *dir = getenv("WT_GOLDEN_DIR");
    snprintf(buf, n, "%s/%s", dir && *dir ? dir : WT_GOLDEN_DIR, rel);
    return buf;
}

const char *wt_test_data(char *buf, size_t n, const char *rel) {
    snprintf(buf, n, "%s/%s", WT_DATA_DIR, rel);
    return buf;
}

void wt_test_rng_seed(wt_test_rng *r, uint64_t seed) { r->s = seed ? seed : 0x9E3779B97F4A7C15ull; }

float wt_test_uniform(wt_test_rng *r, float lo, float hi) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    uint64_t x = r->s * 2685821657736338717ull;
    double u = (double)(x >> 11) / 9007199254740992.0;
    return (float)(lo + (hi - lo) * u);
}

void wt_test_fill_uniform(wt_tensor *t, wt_test_rng *r, float lo, float hi) {
    int64_t n = wt_numel(t);
    for (int64_t i = 0; i < n; i++) wt_set_flat(t, i, wt_test_uniform(r, lo, hi));
}

double wt_test_max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || isnan(d)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

double wt_test_rms(const float *a, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * a[i];
    return n ? sqrt(s / (double)n) : 0;
}

double wt_test_snr_db(const float *a, const float *ref, int64_t n) {
    double sig = 0, err = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)ref[i];
        sig += (double)ref[i] * ref[i];
        err += d * d;
    }
    if (isnan(err)) return -INFINITY;
    return err > 0 ? 10.0 * log10(sig / err) : INFINITY;
}

double wt_test_half_snr_floor(wt_dtype dtype, int layers, int convs) {
    int p = dtype == WT_BF16 ? 8 : 11, errors = layers + (dtype == WT_BF16 ? convs : 0);
    return 20.0 * log10(sqrt(3.0) * ldexp(1.0, p)) - 10.0 * log10((double)errors);
}

double wt_test_operand(double x, wt_dtype wdt) {
    return wdt == WT_BF16 ? wt_bf16_to_f32(wt_f32_to_bf16((float)x)) : x;
}

uint64_t wt_test_arena_allocs(wt_ctx *arena, int steps, int (*step)(wt_ctx *, const void *),
                              const void *user, int *failures) {
    int failed = 0;
    uint64_t before = wt_test_alloc_calls();
    for (int i = 0; i < steps; i++) {
        wt_ctx_reset(arena);
        failed += step(arena, user) != 0;
    }
    uint64_t after = wt_test_alloc_calls();
    *failures = failed;
    return after - before;
}

int wt_test_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
