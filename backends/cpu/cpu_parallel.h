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

/* Threads for a product bound by reading `bytes` of weights once (few
 * columns): split by bytes, not multiply-adds. A second core adds
 * bandwidth (a 9 MB LSTM matrix streams in ~0.35 ms; handing a range to a
 * spinning helper costs microseconds), so 512 KiB a thread is worth it. */
#define WT_CPU_MIN_BYTES_PER_THREAD ((int64_t)512 << 10)
static inline int wt_cpu_threads_for_bytes(int nthreads, int64_t bytes) {
    int64_t most = bytes / WT_CPU_MIN_BYTES_PER_THREAD;
    if (most < 1) most = 1;
    return nthreads < most ? nthreads : (int)most;
}

#endif
