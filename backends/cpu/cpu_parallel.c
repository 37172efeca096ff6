/* Range split for the CPU backend's heavy ops (see cpu_parallel.h). */
#include "backends/cpu/cpu_parallel.h"

void wt_cpu_parallel_for(wt_pool *pool, int most, int64_t n, int64_t align, wt_cpu_range_fn fn,
                         void *arg) {
    wt_pool_for(pool, most, n, align, fn, arg);
}
