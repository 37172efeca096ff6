/* Range split for the CPU backend's heavy ops over the context's pool.
 * Owns: nothing but the choice of how many chunks a heavy op uses; the
 * threads belong to the context's persistent pool (engine/pool.h), so a
 * dispatch never starts a thread or allocates, and a NULL or 1-thread pool
 * (the real-time path) runs everything inline on the caller. */
#ifndef WT_CPU_PARALLEL_H
#define WT_CPU_PARALLEL_H

#include <stdint.h>

#include "engine/pool.h"

/* Work on items [lo, hi) of a range; `arg` is the caller's shared state. */
typedef wt_pool_fn wt_cpu_range_fn;

/* Splits [0, n) into at most `most` chunks (bounded by the pool's threads)
 * whose starts are multiples of `align` (>= 1), runs the first on the calling
 * thread and the others on the pool's helpers, and returns when all are
 * done. The result never depends on the number of threads. */
void wt_cpu_parallel_for(wt_pool *pool, int most, int64_t n, int64_t align, wt_cpu_range_fn fn,
                         void *arg);

#endif
