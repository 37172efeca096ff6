/* wavetensor lock-free single-producer/single-consumer ring of floats.
 * Owns: a power-of-two buffer and two monotonically increasing counters
 * (C11 atomics, acquire/release). Allocates only in wt_ring_new; reads and
 * writes never allocate, lock, block or wait, so one side may be the audio
 * thread. Exactly one producer thread and one consumer thread at a time. */
#ifndef WAVETENSOR_RING_H
#define WAVETENSOR_RING_H

#include <stddef.h>

#include "wavetensor/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wt_ring wt_ring;

/* A ring holding at least min_capacity floats (rounded up to a power of
 * two, 1 .. 2^30). The buffer is written once here so no page fault lands
 * in a callback later. Not callback safe. */
wt_status wt_ring_new(size_t min_capacity, wt_ring **out);
void wt_ring_free(wt_ring *r);

/* Capacity in floats. Any thread. */
size_t wt_ring_capacity(const wt_ring *r);
/* Floats ready to read. Exact for the consumer; for the producer an upper
 * bound (the consumer may have read more since). Callback safe. */
size_t wt_ring_read_available(const wt_ring *r);
/* Free space. Exact for the producer; a lower bound for the consumer. */
size_t wt_ring_write_available(const wt_ring *r);

/* Producer side. Write up to n floats (src) or zeros; returns how many were
 * written (less than n when full). Callback safe. */
size_t wt_ring_write(wt_ring *r, const float *src, size_t n);
size_t wt_ring_write_zeros(wt_ring *r, size_t n);

/* Consumer side. Read (and remove), peek (copy without removing) or skip
 * (remove without copying) up to n floats; returns how many. Callback safe. */
size_t wt_ring_read(wt_ring *r, float *dst, size_t n);
size_t wt_ring_peek(const wt_ring *r, float *dst, size_t n);
size_t wt_ring_skip(wt_ring *r, size_t n);

#ifdef __cplusplus
}
#endif
#endif
