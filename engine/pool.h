/* A persistent worker pool that a context owns (engine-internal).
 * Owns: n-1 helper threads started once by wt_pool_new and joined by
 * wt_pool_free, and the hand-off of one range job at a time to them.
 * Never allocates or starts a thread while dispatching (wt_pool_for), so a
 * multi-threaded context keeps zero-allocation steps; a NULL or 1-thread
 * pool runs every job inline on the caller and owns no thread at all (the
 * real-time path). Not thread safe: one caller at a time, like its context. */
#ifndef WT_ENGINE_POOL_H
#define WT_ENGINE_POOL_H

#include <stdint.h>

typedef struct wt_pool wt_pool;

/* Work on items [lo, hi) of a range; `arg` is the caller's shared state. */
typedef void (*wt_pool_fn)(void *arg, int64_t lo, int64_t hi);

/* A pool of n threads in all (the caller counts as one). Returns NULL for
 * n <= 1 (inline execution) and on failure; helpers that cannot be started
 * only make the pool smaller. */
wt_pool *wt_pool_new(int n);
void wt_pool_free(wt_pool *pool);

/* Threads a job may use (1 for NULL). */
int wt_pool_threads(const wt_pool *pool);

/* Splits [0, n) into at most `most` chunks (and no more than the pool's
 * threads) whose starts are multiples of `align` (>= 1); the caller runs the
 * first chunk and helpers the others; returns when all are done. */
void wt_pool_for(wt_pool *pool, int most, int64_t n, int64_t align, wt_pool_fn fn, void *arg);

#endif
