/* Shared helpers for the Check suites: malloc counting (through the linker's
 * --wrap, see tests/CMakeLists.txt), paths to the golden data, a seeded RNG
 * and array comparison. */
#ifndef WT_TEST_H
#define WT_TEST_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>

#include "wavetensor/wavetensor.h"

/* Allocation calls (malloc, calloc, realloc, aligned_alloc, posix_memalign)
 * made by the library and the test since process start, on any thread. */
uint64_t wt_test_alloc_calls(void);
/* pthread_mutex_lock calls made by the library and the test, any thread. */
uint64_t wt_test_lock_calls(void);
/* Calls made by the calling thread only (for the audio-callback checks):
 * allocations as above, and calls that lock or wait (pthread_mutex_lock,
 * pthread_cond_wait, sem_wait, sem_timedwait, nanosleep, usleep). */
uint64_t wt_test_thread_alloc_calls(void);
uint64_t wt_test_thread_block_calls(void);

/* Path under ../shared/golden or ../shared/data (static buffer per call site
 * is not used: the result is written into buf). */
const char *wt_test_golden(char *buf, size_t n, const char *rel);
const char *wt_test_data(char *buf, size_t n, const char *rel);

/* Deterministic RNG (xorshift64*): uniform in [lo, hi). */
typedef struct { uint64_t s; } wt_test_rng;
void wt_test_rng_seed(wt_test_rng *r, uint64_t seed);
float wt_test_uniform(wt_test_rng *r, float lo, float hi);
/* Fill a CPU tensor (any strides, any float dtype) with uniform values. */
void wt_test_fill_uniform(wt_tensor *t, wt_test_rng *r, float lo, float hi);

/* Max |a-b| over n floats, and RMS of b. */
double wt_test_max_abs_diff(const float *a, const float *b, int64_t n);
double wt_test_rms(const float *a, int64_t n);
/* 10 log10(sum ref^2 / sum (a - ref)^2) over n floats (NaN: -infinity). */
double wt_test_snr_db(const float *a, const float *ref, int64_t n);
/* The SNR a model with weights held in dtype (bf16 or f16) must keep
 * against its float32 reference when `layers` weight layers lie on the
 * path, `convs` of them convolutions: rounding to p significant bits (bf16
 * 8, f16 11) errs uniformly by up to 2^-p of each weight, an RMS of 2^-p /
 * sqrt(3) of each product (bf16 -52.9 dB, f16 -71.0 dB); a bf16
 * convolution rounds its input the same way (cpu_kern.h), one more such
 * error; independent errors add in power (10 log10(count) dB). */
double wt_test_half_snr_floor(wt_dtype dtype, int layers, int convs);
/* x as the CPU backend's convolutions take it against weights of dtype
 * wdt: rounded to bf16 (nearest even) against bf16, as it is against f32
 * or f16 (cpu_kern.h; matrix products take it as it is). */
double wt_test_operand(double x, wt_dtype wdt);

/* Replays step(arena, user) `steps` times, rewinding the arena before each,
 * and returns the allocation calls made meanwhile (any thread); *failures
 * counts steps that returned non-zero. No Check assertion runs inside: its
 * bookkeeping allocates, so the caller asserts on the results. */
uint64_t wt_test_arena_allocs(wt_ctx *arena, int steps, int (*step)(wt_ctx *, const void *),
                              const void *user, int *failures);

/* Runs a suite with Check's normal runner; returns the process exit code. */
int wt_test_run(Suite *s);

#endif
