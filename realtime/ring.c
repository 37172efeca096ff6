/* SPSC float ring: the producer owns `head`, the consumer owns `tail`; each
 * publishes its counter with a release store and reads the other's with an
 * acquire load, so the samples written before a head store are visible to
 * the consumer that sees it (and space freed before a tail store is free). */
#include "wavetensor/ring.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct wt_ring {
    float *buf;
    size_t mask;
    /* Separate cache lines: the two threads each write one counter. */
    _Alignas(64) atomic_size_t head; /* total floats ever written */
    _Alignas(64) atomic_size_t tail; /* total floats ever read */
};

wt_status wt_ring_new(size_t min_capacity, wt_ring **out) {
    *out = NULL;
    if (min_capacity == 0 || min_capacity > ((size_t)1 << 30))
        return wt_error(WT_ERR_INVALID, "ring: capacity %zu out of range 1..2^30", min_capacity);
    size_t cap = 1;
    while (cap < min_capacity) cap <<= 1;
    wt_ring *r = aligned_alloc(64, sizeof *r);
    if (!r) return wt_error(WT_ERR_NOMEM, "ring: out of memory");
    r->buf = malloc(cap * sizeof(float));
    if (!r->buf) {
        free(r);
        return wt_error(WT_ERR_NOMEM, "ring: out of memory for %zu floats", cap);
    }
    memset(r->buf, 0, cap * sizeof(float)); /* touch every page now, not in a callback */
    r->mask = cap - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    *out = r;
    return WT_OK;
}

void wt_ring_free(wt_ring *r) {
    if (!r) return;
    free(r->buf);
    free(r);
}

size_t wt_ring_capacity(const wt_ring *r) { return r->mask + 1; }

size_t wt_ring_read_available(const wt_ring *r) {
    size_t h = atomic_load_explicit(&((wt_ring *)r)->head, memory_order_acquire);
    size_t t = atomic_load_explicit(&((wt_ring *)r)->tail, memory_order_acquire);
    return h - t;
}

size_t wt_ring_write_available(const wt_ring *r) {
    return wt_ring_capacity(r) - wt_ring_read_available(r);
}

/* Copies n floats in at most two pieces (the buffer's end wraps to 0). */
static void copy_in(wt_ring *r, size_t pos, const float *src, size_t n) {
    size_t i = pos & r->mask;
    size_t first = r->mask + 1 - i;
    if (first > n) first = n;
    if (src) {
        memcpy(r->buf + i, src, first * sizeof(float));
        memcpy(r->buf, src + first, (n - first) * sizeof(float));
    } else {
        memset(r->buf + i, 0, first * sizeof(float));
        memset(r->buf, 0, (n - first) * sizeof(float));
    }
}

static size_t produce(wt_ring *r, const float *src, size_t n) {
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t space = r->mask + 1 - (h - t);
    if (n > space) n = space;
    if (n == 0) return 0;
    copy_in(r, h, src, n);
    atomic_store_explicit(&r->head, h + n, memory_order_release);
    return n;
}

size_t wt_ring_write(wt_ring *r, const float *src, size_t n) { return produce(r, src, n); }
size_t wt_ring_write_zeros(wt_ring *r, size_t n) { return produce(r, NULL, n); }

/* How many the consumer may take now, at most n. */
static size_t consumable(const wt_ring *r, size_t *t_out, size_t n) {
    wt_ring *m = (wt_ring *)r;
    size_t t = atomic_load_explicit(&m->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&m->head, memory_order_acquire);
    *t_out = t;
    return n < h - t ? n : h - t;
}

size_t wt_ring_peek(const wt_ring *r, float *dst, size_t n) {
    size_t t;
    n = consumable(r, &t, n);
    size_t i = t & r->mask;
    size_t first = r->mask + 1 - i;
    if (first > n) first = n;
    memcpy(dst, r->buf + i, first * sizeof(float));
    memcpy(dst + first, r->buf, (n - first) * sizeof(float));
    return n;
}

size_t wt_ring_skip(wt_ring *r, size_t n) {
    size_t t;
    n = consumable(r, &t, n);
    atomic_store_explicit(&r->tail, t + n, memory_order_release);
    return n;
}

size_t wt_ring_read(wt_ring *r, float *dst, size_t n) {
    n = wt_ring_peek(r, dst, n);
    return wt_ring_skip(r, n);
}
