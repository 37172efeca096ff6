/* A minimal fork-join split of an index range over threads for the CPU backend.
 * Owns: starting and joining up to nthreads-1 helper threads for one heavy op.
 * Never used with nthreads == 1 paths (those run inline and create nothing), so
 * a real-time step on a 1-thread context never starts a thread. Creating
 * threads is not allocation-free at the system level: multi-threaded contexts
 * are for batch work (offline encode, prefill, benchmarks). */
#ifndef WT_CPU_PARALLEL_H
#define WT_CPU_PARALLEL_H

#include <stdint.h>

/* Work on items [lo, hi) of a range; `arg` is the caller's shared state. */
typedef void (*wt_cpu_range_fn)(void *arg, int64_t lo, int64_t hi);

/* Splits [0, n) into at most nthreads chunks whose starts are multiples of
 * `align` (>= 1), runs the first on the calling thread and the others on
 * helper threads, and returns when all are done. A helper that cannot be
 * started has its chunk run inline, so the result never depends on threads. */
void wt_cpu_parallel_for(int nthreads, int64_t n, int64_t align, wt_cpu_range_fn fn, void *arg);

#endif
